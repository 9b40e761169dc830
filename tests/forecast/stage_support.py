"""Shared pieces of the forecast stage's tests: a two-gauge river, readings, models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.forecast.inputs import InputKind, InputSpec
from floodwatch.forecast.model import LEADS_MIN, FittedModels, GaugeModel, StationModels
from tests.support import ALERT_RULES_FILE, write_stations

RULES_FILE = ALERT_RULES_FILE
T0 = datetime(2026, 10, 12, 0, 0, tzinfo=UTC)

# "up" flows into "down"; "side" is a gauge of its own.
REGISTRY_YAML = """
rivers: {abukuma: {ja: 阿武隈川, en: Abukuma River}}
stations:
  - {id: up, kind: river, name: {ja: 上流, en: Upstream}, river: abukuma, basin: abukuma,
     location: {lat: 37.3, lon: 140.3}, interval_s: 600, downstream: down,
     levels_m: {standby: 1.0, caution: 2.0, evacuation: 3.0, danger: 4.0}}
  - {id: down, kind: river, name: {ja: 下流, en: Downstream}, river: abukuma,
     basin: abukuma, location: {lat: 37.5, lon: 140.4}, interval_s: 600,
     levels_m: {standby: 1.0, caution: 2.0, evacuation: 3.0, danger: 4.0}}
  - {id: side, kind: river, name: {ja: 支川, en: Side}, river: abukuma, basin: abukuma,
     location: {lat: 37.6, lon: 140.5}, interval_s: 600,
     levels_m: {standby: 1.0, caution: 2.0, evacuation: 3.0, danger: 4.0}}
  - {id: u1, kind: road, name: {ja: 地下道, en: Underpass}, route: route-4, basin: abukuma,
     location: {lat: 37.4, lon: 140.38}, interval_s: 300}
"""


def write_registry(folder: Path) -> Path:
    return write_stations(folder, REGISTRY_YAML)


def registry() -> StationRegistry:
    return StationRegistry.from_yaml_text(REGISTRY_YAML)


def at(minutes: float, base: datetime = T0) -> datetime:
    return base + timedelta(minutes=minutes)


def river(station: str, minutes: float, level: float, rain: float | None = None, *,
          base: datetime = T0) -> Reading:
    values: dict[str, float | str] = {"level_m": level}
    if rain is not None:
        values["rain_mm"] = rain
    moment = at(minutes, base)
    return Reading(station, StationKind.RIVER, moment, values, "device", moment)


def rising(station: str, steps: int, start: float = 1.0, per_step: float = 0.02,
           first_minute: float = 0) -> list[Reading]:
    return [river(station, first_minute + 10 * i, round(start + per_step * i, 3))
            for i in range(steps)]


def upstream_models(fitted_at: datetime = T0) -> FittedModels:
    """A hand-made model of "down": its change at every lead is its upstream gauge's
    rise over the last hour (so any new reading of "up" moves "down"'s forecast)."""
    rise = InputSpec(name="upstream:up:1h", detail="up's rise over the last hour",
                     kind=InputKind.RISE, station="up", recent_s=0.0, span_s=3600.0)
    count = len(LEADS_MIN)
    model = GaugeModel(inputs=[rise], intercepts=[0.0] * count, weights=[[1.0]] * count,
                       low_quantiles=[-1.0] * count, high_quantiles=[1.0] * count,
                       mid_quantiles=[0.0] * count,
                       samples=100, rmse_m=[0.1] * count)
    return FittedModels(fitted_at=fitted_at, gauges={"down": StationModels(full=model)})
