"""Hourly rollups against a real InfluxDB: what recompute writes is each station-hour's
sums, counts and last state as computed here in Python, and reconcile finds exactly the
hours whose raw points changed."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from core import rollups
from core.influx import InfluxClient
from core.lineprotocol import format_point
from core.readings import FieldValue
from core.registry import StationKind
from tests.support import InfluxQuery

FIRST_HOUR = 493_000  # 2026-03-28, hours since the epoch
HOURS = 30
STATES = ["dry", "wet", "slush", "snow", "ice"]


def _random_points(seed: int) -> list[tuple[str, StationKind, int, dict[str, FieldValue]]]:
    """Readings of two gauges and two road sensors at random instants, fields optional."""
    rng = random.Random(seed)
    points = []
    for station, kind in [("r-1", StationKind.RIVER), ("r-2", StationKind.RIVER),
                          ("d-1", StationKind.ROAD), ("d-2", StationKind.ROAD)]:
        instants = rng.sample(range(FIRST_HOUR * 3600, (FIRST_HOUR + HOURS) * 3600), 300)
        for second in sorted(instants):
            values: dict[str, FieldValue] = {}
            if kind is StationKind.RIVER:
                values["level_m"] = round(rng.uniform(-1, 12), 3)
                if rng.random() < 0.5:
                    values["rain_mm"] = float(rng.randint(0, 40))  # integral: 1.x sends 4
            else:
                if rng.random() < 0.7:
                    values["water_depth_cm"] = round(rng.uniform(0, 80), 1)
                if rng.random() < 0.7:
                    values["surface_state"] = rng.choice(STATES)
            if rng.random() < 0.3:
                values["battery_v"] = round(rng.uniform(10, 14), 2)
            if values:
                points.append((station, kind, second * 1_000_000_000, values))
    return points


def _expected(points: list[tuple[str, StationKind, int, dict[str, FieldValue]]]
              ) -> dict[tuple[str, int], dict[str, Any]]:
    """Per (station, hour start ns): what the rollup point must hold."""
    expected: dict[tuple[str, int], dict[str, Any]] = {}
    for station, _, ns, values in points:  # in time order per station
        fields = expected.setdefault((station, ns // rollups.HOUR_NS * rollups.HOUR_NS), {})
        for name, value in values.items():
            fields[f"{name}_count"] = fields.get(f"{name}_count", 0) + 1
            if isinstance(value, str):
                fields[name] = value
            else:
                fields[f"{name}_sum"] = fields.get(f"{name}_sum", 0.0) + value
    return expected


def _stored(influx: InfluxQuery) -> dict[tuple[str, int], dict[str, Any]]:
    stored = {}
    for measurement in ("river_1h", "road_1h"):
        for row in influx.rows(f'SELECT * FROM "{measurement}"'):
            stored[(row["station"], row["time"])] = {
                key: value for key, value in row.items()
                if value is not None and key not in ("time", "station", "_measurement")}
    return stored


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recompute_writes_each_station_hour_exactly(influx: InfluxQuery, seed: int) -> None:
    points = _random_points(seed)

    async def scenario() -> int:
        async with InfluxClient(influx.url, influx.database) as client:
            await client.create_database()
            await client.write([format_point(kind.value, {"station": station, "basin": "b"},
                                             values, ns)
                                for station, kind, ns, values in points])
            assert sorted(await rollups.stale_hours(client, StationKind.ROAD, FIRST_HOUR,
                                                    FIRST_HOUR + HOURS)) == sorted(
                {ns // rollups.HOUR_NS for _, kind, ns, _ in points
                 if kind is StationKind.ROAD})
            return await rollups.reconcile(client, FIRST_HOUR, FIRST_HOUR + HOURS)

    recomputed = asyncio.run(scenario())
    expected = _expected(points)
    stored = _stored(influx)
    assert set(stored) == set(expected)
    for key, fields in expected.items():
        assert set(stored[key]) == set(fields), key
        for name, value in fields.items():
            if isinstance(value, str):
                assert stored[key][name] == value, (key, name)
            else:
                assert stored[key][name] == pytest.approx(value, rel=1e-12), (key, name)
    assert recomputed == len({(kind, ns // rollups.HOUR_NS) for _, kind, ns, _ in points})


def test_reconcile_finds_only_the_hours_that_changed(influx: InfluxQuery) -> None:
    points = _random_points(4)
    late_hour = FIRST_HOUR + 7

    async def scenario() -> tuple[list[int], list[int], int]:
        async with InfluxClient(influx.url, influx.database) as client:
            await client.create_database()
            await client.write([format_point(kind.value, {"station": station}, values, ns)
                                for station, kind, ns, values in points])
            await rollups.reconcile(client, FIRST_HOUR, FIRST_HOUR + HOURS)
            settled = await rollups.stale_hours(client, StationKind.RIVER, FIRST_HOUR,
                                                FIRST_HOUR + HOURS)
            # A late reading, a minute into an hour that was rolled up already.
            await client.write([format_point("river", {"station": "r-1"},
                                             {"level_m": 99.0},
                                             late_hour * rollups.HOUR_NS + 60 * 10**9)])
            late = await rollups.stale_hours(client, StationKind.RIVER, FIRST_HOUR,
                                             FIRST_HOUR + HOURS)
            return settled, late, await rollups.reconcile(client, FIRST_HOUR,
                                                          FIRST_HOUR + HOURS)

    settled, late, recomputed = asyncio.run(scenario())
    assert settled == []
    assert late == [late_hour]
    assert recomputed == 1
    row = _stored(influx)[("r-1", late_hour * rollups.HOUR_NS)]
    before = _expected(points).get(("r-1", late_hour * rollups.HOUR_NS), {})
    assert row["level_m_count"] == before.get("level_m_count", 0) + 1
    assert row["level_m_sum"] == pytest.approx(before.get("level_m_sum", 0.0) + 99.0)


def test_hour_runs_groups_consecutive_hours() -> None:
    assert rollups.hour_runs([5, 3, 4, 9, 3, 11, 10]) == [(3, 6), (9, 12)]
    assert rollups.hour_runs([]) == []


def test_readers_take_hours_ended_long_enough_ago() -> None:
    hour = 493_000 * 3600
    assert rollups.rolled_until_s(hour + rollups.ROLLED_AFTER_S) == hour
    assert rollups.rolled_until_s(hour + rollups.ROLLED_AFTER_S - 1) == hour - 3600
