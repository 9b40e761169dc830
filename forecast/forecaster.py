"""A river gauge's forecast from its history and its upstream gauges' (docs/forecast.md).

``Forecaster.forecast`` issues on the gauge's newest accepted reading: the fitted model
when every input it needs is there, the model without the upstream gauges when one of
them is silent, and the gauge's own trend when there is no model or its own history is
too short -- each fallback saying why in ``Forecast.fallback``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from floodwatch.core import bus
from floodwatch.core.readings import format_ts
from floodwatch.core.registry import Station, StationRegistry
from floodwatch.forecast.crossings import crossing_minutes, reference_levels
from floodwatch.forecast.history import GaugeHistory
from floodwatch.forecast.inputs import InputSpec, evaluate
from floodwatch.forecast.model import LEADS_MIN, FittedModels, GaugeModel, spread_m
from floodwatch.forecast.nowcast import RainNowcast
from floodwatch.forecast.trend import TREND_WINDOW_S, slope_m_per_h, trend_band_half_width

__all__ = ["LEADS_MIN", "Crossing", "Forecast", "ForecastInput", "ForecastPoint",
           "Forecaster"]

# A forecast never goes below the gauge's lowest level of the last day minus this: a
# river does not fall far below its base flow within three hours, whatever a trend says.
FLOOR_WINDOW_S = 24 * 3600.0
FLOOR_MARGIN_M = 0.10


@dataclass(frozen=True, slots=True)
class ForecastPoint:
    lead_min: int
    level_m: float  # the median
    low_m: float
    high_m: float


@dataclass(frozen=True, slots=True)
class ForecastInput:
    name: str
    detail: str
    value: float
    unit: str
    weights: tuple[float, ...]  # per point: metres of change per unit of the input


@dataclass(frozen=True, slots=True)
class Crossing:
    level: int
    level_name: str
    at: datetime
    minutes: int


@dataclass(frozen=True)
class Forecast:
    station: str
    issued_at: datetime
    level_m: float
    method: str  # "model" | "trend"
    fallback: str | None
    fitted_at: datetime | None
    inputs: tuple[ForecastInput, ...]
    points: tuple[ForecastPoint, ...]
    crossings: tuple[Crossing, ...]

    def to_message(self, station: Station, *, made_at: datetime) -> bus.ForecastMessage:
        if station.id != self.station:
            raise ValueError(f"forecast of {self.station} rendered for {station.id}")
        return bus.ForecastMessage(
            station=self.station, issued_at=format_ts(self.issued_at),
            made_at=format_ts(made_at), level_m=self.level_m,
            method="model" if self.method == "model" else "trend", fallback=self.fallback,
            fitted_at=format_ts(self.fitted_at) if self.fitted_at is not None else None,
            inputs=[bus.ForecastInputMessage(name=i.name, detail=i.detail, value=i.value,
                                             unit=i.unit, weights=list(i.weights))
                    for i in self.inputs],
            points=[bus.ForecastPointMessage(
                lead_min=p.lead_min, at=format_ts(self.issued_at + timedelta(minutes=p.lead_min)),
                level_m=p.level_m, low_m=p.low_m, high_m=p.high_m) for p in self.points],
            crossings=[bus.ForecastCrossingMessage(level=c.level, level_name=c.level_name,
                                                   at=format_ts(c.at), minutes=c.minutes)
                       for c in self.crossings])


class Forecaster:
    def __init__(self, registry: StationRegistry, models: FittedModels | None, *,
                 nowcast: RainNowcast | None = None) -> None:
        self.registry = registry
        self.models = models
        # The hook for a rainfall nowcast (forecast/nowcast.py); none is wired by default.
        self.nowcast = nowcast

    def forecast(self, station_id: str, histories: Mapping[str, GaugeHistory]) -> Forecast:
        """The forecast issued on ``station_id``'s newest reading in ``histories``;
        upstream gauges' histories are read as inputs."""
        station = self.registry.get(station_id)
        if station is None or station.levels_m is None:
            raise ValueError(f"{station_id} is not a river gauge of the registry")
        history = histories.get(station_id)
        newest = history.newest if history is not None else None
        if history is None or newest is None:
            raise ValueError(f"{station_id} has no reading to issue a forecast on")
        now = newest.at.timestamp()
        low = history.minimum_since(now - FLOOR_WINDOW_S, now)
        floor = min(newest.level_m, low if low is not None else newest.level_m) - FLOOR_MARGIN_M
        models = self.models
        if models is None:
            return self._trend(station, history, now, floor, "no fitted models yet")
        gauge = models.gauges.get(station_id)
        if gauge is None:
            reason = models.no_model.get(station_id, "no model fitted for this gauge")
            return self._trend(station, history, now, floor, reason)
        fallback: str | None = None
        for model, label in ((gauge.full, "full"), (gauge.local, "local")):
            if model is None:
                continue
            values, missing = _values(model.inputs, histories, now)
            if missing:
                fallback = _missing_reason(station_id, missing, histories, now)
                continue
            made = self._model(station, history, now, floor=floor, model=model,
                               values=values, fallback=fallback if label == "local" else None)
            if made is not None:
                return made
            fallback = "the model gave a level that is not a number"
        return self._trend(station, history, now, floor, fallback or "no usable model")

    def _model(self, station: Station, history: GaugeHistory, now: float, *, floor: float,
               model: GaugeModel, values: list[float], fallback: str | None
               ) -> Forecast | None:
        newest = history.newest
        assert newest is not None  # checked by forecast()
        level = newest.level_m
        hour_ago = history.level_at(now - 3600.0, now)
        last_hour_rise = level - hour_ago if hour_ago is not None else 0.0
        points = []
        for index, lead in enumerate(LEADS_MIN):
            weights = model.weights[index]
            change = model.intercepts[index]
            for weight, value in zip(weights, values, strict=True):
                change += weight * value
            spread = spread_m(last_hour_rise, change)
            median = level + change
            low = median + model.low_quantiles[index] * spread
            high = median + model.high_quantiles[index] * spread
            if not (math.isfinite(median) and math.isfinite(low) and math.isfinite(high)):
                return None
            points.append(_bounded(lead, median, low, high, floor))
        inputs = tuple(ForecastInput(spec.name, spec.detail, value, spec.unit,
                                     tuple(model.weights[i][k] for i in range(len(LEADS_MIN))))
                       for k, (spec, value) in enumerate(zip(model.inputs, values, strict=True)))
        assert self.models is not None
        return _finish(station, newest.at, level, method="model", fallback=fallback,
                       fitted_at=self.models.fitted_at, inputs=inputs, points=points)

    def _trend(self, station: Station, history: GaugeHistory, now: float, floor: float,
               reason: str) -> Forecast:
        newest = history.newest
        assert newest is not None  # checked by forecast()
        times, levels = history.points_since(now - TREND_WINDOW_S, now)
        slope = slope_m_per_h(times, levels)
        if slope is None:
            slope = 0.0
            reason += "; fewer than two readings in the last hour: the level is held"
        points = []
        for lead in LEADS_MIN:
            hours = lead / 60
            median = newest.level_m + slope * hours
            half = trend_band_half_width(slope, hours)
            points.append(_bounded(lead, median, median - half, median + half, floor))
        inputs = (ForecastInput("trend", "own least-squares slope over the last hour, "
                                "carried forward", slope, "m/h",
                                tuple(lead / 60 for lead in LEADS_MIN)),)
        return _finish(station, newest.at, newest.level_m, method="trend", fallback=reason,
                       fitted_at=None, inputs=inputs, points=points)


def _values(specs: list[InputSpec], histories: Mapping[str, GaugeHistory], now: float
            ) -> tuple[list[float], list[InputSpec]]:
    values, missing = [], []
    for spec in specs:
        value = evaluate(spec, histories, now)
        if value is None or not math.isfinite(value):
            missing.append(spec)
            values.append(0.0)
        else:
            values.append(value)
    return values, missing


def _missing_reason(station_id: str, missing: list[InputSpec],
                    histories: Mapping[str, GaugeHistory], now: float) -> str:
    parts = []
    for gauge in dict.fromkeys(spec.station for spec in missing):
        history = histories.get(gauge)
        newest = history.newest_time(now) if history is not None else None
        oldest = history.oldest_time() if history is not None else None
        needed_h = max(spec.reach_s for spec in missing if spec.station == gauge) / 3600
        needed_h = min(needed_h, 6.0)
        if newest is None or oldest is None:
            parts.append(f"no reading from {gauge}")
        elif now - newest > 1800.0:
            parts.append(f"{gauge} silent for {(now - newest) / 60:.0f} min")
        else:
            parts.append(f"{gauge}'s history covers {(now - oldest) / 3600:.1f} h, "
                         f"{needed_h:g} h needed")
    own = any(spec.station == station_id for spec in missing)
    what = "no model" if own else "model without upstream gauges"
    return f"{what}: {'; '.join(parts)}"


def _bounded(lead: int, median: float, low: float, high: float, floor: float
             ) -> ForecastPoint:
    median = max(median, floor)
    return ForecastPoint(lead, round(median, 3), round(max(min(low, median), floor), 3),
                         round(max(high, median), 3))


def _finish(station: Station, issued_at: datetime, level: float, *, method: str,
            fallback: str | None, fitted_at: datetime | None,
            inputs: tuple[ForecastInput, ...], points: list[ForecastPoint]) -> Forecast:
    crossings = []
    if station.levels_m is not None:
        medians = [p.level_m for p in points]
        for number, name, metres in reference_levels(station.levels_m):
            minutes = crossing_minutes(level, LEADS_MIN, medians, metres)
            if minutes is not None:
                crossings.append(Crossing(number, name, issued_at + timedelta(minutes=minutes),
                                          minutes))
    return Forecast(station.id, issued_at, level, method, fallback, fitted_at, inputs,
                    tuple(points), tuple(crossings))
