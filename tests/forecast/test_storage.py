"""The forecast points' line protocol: the cached formatter writes what format_point
writes, tags sorted and escaped, one line per lead at the issue time."""

from __future__ import annotations

from datetime import timedelta

from floodwatch.core import bus
from floodwatch.core.lineprotocol import format_point
from floodwatch.core.readings import format_ts
from floodwatch.core.registry import StationRegistry
from floodwatch.forecast.model import LEADS_MIN
from floodwatch.forecast.storage import ForecastLines, time_ns
from tests.forecast.stage_support import REGISTRY_YAML, T0


def message(method: str, shift: float) -> bus.ForecastMessage:
    return bus.ForecastMessage(
        station="down", issued_at=format_ts(T0), made_at=format_ts(T0), level_m=1.0,
        method="model" if method == "model" else "trend", inputs=[], crossings=[],
        points=[bus.ForecastPointMessage(
            lead_min=lead, at=format_ts(T0 + timedelta(minutes=lead)),
            level_m=1.0 + shift * lead, low_m=0.9 + shift * lead, high_m=1.2 + shift * lead)
            for lead in LEADS_MIN])


def test_the_cached_lines_are_format_points_lines() -> None:
    # A tag value that needs escaping ("a b,c") goes through the same escapes.
    registry = StationRegistry.from_yaml_text(REGISTRY_YAML.replace(
        "basin: abukuma, location: {lat: 37.5", "basin: 'a b,c', location: {lat: 37.5"))
    station = registry.get("down")
    assert station is not None
    assert station.basin == "a b,c"
    lines = ForecastLines()
    for method, shift in (("trend", 0.001), ("model", 0.0137)):
        forecast = message(method, shift)
        expected = [format_point("forecast", {**station.tags, "lead_min": str(p.lead_min)}, {
            "level_m": p.level_m, "low_m": p.low_m, "high_m": p.high_m, "method": method},
            time_ns(T0)) for p in forecast.points]
        assert lines(forecast, station) == expected
    assert expected[0].startswith(
        r"forecast,basin=a\ b\,c,lead_min=10,river=abukuma,station=down level_m=")
