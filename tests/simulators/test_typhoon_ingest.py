"""The typhoon, published by the simulator, through a real broker and ``floodwatch
ingest`` into InfluxDB: the stations cross their reference levels, upstream first."""

from __future__ import annotations

from collections.abc import Callable

from floodwatch.core.registry import StationRegistry
from floodwatch.services.servers import MosquittoServer
from floodwatch.simulators.runner import run_scenario
from tests.support import InfluxQuery, IngestProcess, wait_for

MAIN_STEM_UPSTREAM_FIRST = ["sukagawa", "akutsu", "motomiya", "fushiguro", "marumori"]


def first_time_at_or_above(influx: InfluxQuery, station: str, level: float) -> int | None:
    rows = influx.rows(f"SELECT \"level_m\" FROM \"river\" WHERE station = '{station}' "
                       f"AND level_m >= {level} ORDER BY time LIMIT 1")
    return int(rows[0]["time"]) if rows else None


def test_typhoon_fills_influxdb_in_upstream_to_downstream_order(
    mosquitto: MosquittoServer, influx: InfluxQuery, sample_registry: StationRegistry,
    start_ingest: Callable[..., IngestProcess],
) -> None:
    start_ingest()
    report = run_scenario(mosquitto.url, sample_registry, "typhoon", seed=1, speed=0,
                          scenario_faults=False)
    print(f"\n{report.summary()}")
    assert report.unacknowledged == 0
    expected = report.acknowledged
    wait_for(lambda: influx.count("river", "level_m") + influx.count("road", "surface_state")
             >= expected, 60, "every simulated reading stored")

    for station_id in MAIN_STEM_UPSTREAM_FIRST:
        station = sample_registry.get(station_id)
        assert station is not None
        assert station.levels_m is not None
        levels = station.levels_m
        crossings = [first_time_at_or_above(influx, station_id, level)
                     for level in (levels.standby, levels.caution, levels.evacuation,
                                   levels.danger)]
        reached = [moment for moment in crossings if moment is not None]
        assert len(reached) == 4, f"{station_id} did not reach every level: {crossings}"
        assert reached == sorted(reached), station_id

    danger_crossings = []
    for station_id in MAIN_STEM_UPSTREAM_FIRST:
        station = sample_registry.get(station_id)
        assert station is not None
        assert station.levels_m is not None
        crossed = first_time_at_or_above(influx, station_id, station.levels_m.danger)
        assert crossed is not None
        danger_crossings.append(crossed)
    assert danger_crossings == sorted(danger_crossings), "upstream must reach danger first"
    sukagawa = sample_registry.get("sukagawa")
    assert sukagawa is not None
    assert sukagawa.levels_m is not None
    assert sukagawa.levels_m.flooding is not None
    assert first_time_at_or_above(influx, "sukagawa", sukagawa.levels_m.flooding) is not None
