"""The forecast stage as a real subprocess, and what its tests read back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from floodwatch.core.readings import Reading, parse_ts
from floodwatch.services.servers import MosquittoServer
from tests.support import Collected, FloodwatchProcess, InfluxQuery, bus_stage_env


class ForecastProcess(FloodwatchProcess):
    SUBCOMMAND = ("forecast",)
    READY = ("forecast running",)


def stage_env(tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery,
              registry: Path, **extra: str) -> dict[str, str]:
    return {
        **bus_stage_env(mosquitto.url, influx, registry, tmp_path / "state"),
        "FLOODWATCH_FORECAST_CLIENT_ID": f"forecast-{uuid.uuid4().hex[:8]}",
        **extra,
    }


def device(readings: Iterable[Reading]) -> list[tuple[str, bytes]]:
    """The readings as their gauges send them (sensors/river/{station})."""
    return [(f"sensors/river/{r.station}",
             json.dumps({"ts": r.ts.isoformat(), **r.values}).encode()) for r in readings]


def forecasts(got: Collected) -> list[dict[str, Any]]:
    return got.payloads("floodwatch/forecasts/")


def issued(got: Collected) -> set[tuple[str, str]]:
    """(station, issue time) of every forecast received, times normalised."""
    return {(f["station"], parse_ts(f["issued_at"]).isoformat()) for f in forecasts(got)}


def keys(readings: Iterable[Reading]) -> set[tuple[str, str]]:
    return {(r.station, r.ts.isoformat()) for r in readings}
