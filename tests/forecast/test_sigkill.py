"""SIGKILL in the middle of a stream, readings on while the stage is down, restart: every
reading gets its forecast, the first ones after the restart from the histories read back
from InfluxDB."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from floodwatch.core.quality_rules import river_quality
from floodwatch.core.readings import Reading, parse_ts
from floodwatch.core.registry import StationRegistry
from floodwatch.forecast.forecaster import Forecast, Forecaster
from floodwatch.forecast.gauges import Gauges
from floodwatch.services.servers import MosquittoServer
from tests.alerts.process import publish_all
from tests.forecast.process import ForecastProcess, device, forecasts, issued, keys, stage_env
from tests.forecast.stage_support import RULES_FILE, river, write_registry
from tests.support import InfluxQuery, IngestProcess, collect, wait_for

pytestmark = pytest.mark.slow


def storm(base: datetime) -> list[Reading]:
    """Two gauges of one river rising faster and faster, then falling: a trend that
    changes at every reading, so a forecast tells which history it was made from."""
    readings = []
    for step in range(36):
        rise = 0.002 * step * step if step < 24 else 1.152 - 0.05 * (step - 24)
        readings.append(river("up", 10 * step, round(1.5 + rise, 3), base=base))
        readings.append(river("down", 10 * step, round(1.0 + 0.8 * rise, 3), base=base))
    return readings


def expected(registry: Path, readings: list[Reading]) -> dict[tuple[str, str], Forecast]:
    """Each reading's forecast as an uninterrupted stage issues it."""
    stations = StationRegistry.load(registry)
    gauges = Gauges(stations, river_quality(RULES_FILE, stations),
                    Forecaster(stations, None))
    made = {}
    for reading in readings:
        for forecast in gauges.on_reading(reading).forecasts:
            made[(forecast.station, forecast.issued_at.isoformat())] = forecast
    return made


def test_sigkill_then_restart_forecasts_every_reading_from_the_warmed_history(
        tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery,
        start_ingest: Callable[..., IngestProcess]) -> None:
    registry = write_registry(tmp_path)
    # Ingest refuses readings older than FLOODWATCH_MAX_AGE_DAYS: the storm is recent.
    base = (datetime.now(UTC) - timedelta(hours=8)).replace(second=0, microsecond=0)
    readings = storm(base)
    want = expected(registry, readings)
    start_ingest(registry)
    env = stage_env(tmp_path, mosquitto, influx, registry)
    first = ForecastProcess(env, tmp_path / "forecast-1.log").start()
    half = len(readings) // 2
    with collect(mosquitto.port, "floodwatch/forecasts/+") as got:
        publish_all(mosquitto.port, device(readings[:half]))
        wait_for(lambda: len(issued(got)) >= half // 2, 60, "forecasts before the kill")
        rest = threading.Thread(target=publish_all,
                                args=(mosquitto.port, device(readings[half:])))
        rest.start()
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
        rest.join()
        # Everything is stored (ingest) before the stage comes back.
        wait_for(lambda: influx.count("river", "level_m") >= len(readings), 60,
                 "ingest to store every reading")
        killed_at = len(forecasts(got))
        second = ForecastProcess(env, tmp_path / "forecast-2.log").start()
        wait_for(lambda: issued(got) >= keys(readings), 60, "a forecast of every reading")
    assert second.stop() == 0
    # Each forecast (the last one of its reading, were it issued twice) is the one the
    # uninterrupted stage makes: same levels, band and inputs -- the first ones after
    # the restart too, which an empty history would have made flat.
    last: dict[tuple[str, str], dict[str, object]] = {}
    for message in forecasts(got):
        last[(str(message["station"]), parse_ts(str(message["issued_at"])).isoformat())] = \
            message
    assert set(last) == set(want)
    for key, forecast in want.items():
        message = last[key]
        assert message["level_m"] == forecast.level_m, key
        assert [(p["lead_min"], p["level_m"], p["low_m"], p["high_m"])
                for p in message["points"]] == [   # type: ignore[attr-defined]
            (p.lead_min, p.level_m, p.low_m, p.high_m) for p in forecast.points], key
    after_restart = forecasts(got)[killed_at:]
    first_after = next(m for m in after_restart if m["station"] == "up")
    assert first_after["inputs"][0]["value"] != 0.0  # a trend: the pre-kill readings
    assert not any("fewer than two readings" in str(m["fallback"]) for m in after_restart)
    warmed = second.log_events("histories warmed from InfluxDB")
    assert warmed
    assert warmed[0]["readings"] > 0
