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

import numpy as np

from floodwatch.core.crossings import crossing_minutes, reference_levels
from floodwatch.core.registry import Station, StationRegistry
from floodwatch.forecast.history import GaugeHistory
from floodwatch.forecast.inputs import InputKind, InputSpec, evaluate
from floodwatch.forecast.issued import Crossing, Forecast, ForecastInput, ForecastPoint
from floodwatch.forecast.model import LEADS_MIN, SPREAD_FLOOR_M, FittedModels, GaugeModel
from floodwatch.forecast.nowcast import RainNowcast
from floodwatch.forecast.trend import TREND_WINDOW_S, slope_m_per_h, trend_band_half_width

__all__ = ["LEADS_MIN", "Crossing", "Forecast", "ForecastInput", "ForecastPoint",
           "Forecaster"]

# A forecast never goes below the gauge's lowest level of the last two days minus this:
# a river does not fall far below its base flow within three hours, whatever a trend
# says. Two days, not one: measured on the rainband, Marumori falls from 12.1 m to under
# its level of 24 h before within a day of its peak, and a one-day floor (0.10 m) cut
# its recession forecasts by up to 0.17 m. After two dry days a river falls less than
# 0.05 m/h here, so 0.25 m holds three hours of it.
FLOOR_WINDOW_S = 48 * 3600.0
FLOOR_MARGIN_M = 0.25


@dataclass(frozen=True)
class _Matrices:
    """A model's numbers as arrays (leads first), and each input's weights per lead."""

    weights: np.ndarray
    intercepts: np.ndarray
    low: np.ndarray
    mid: np.ndarray
    high: np.ndarray
    input_weights: tuple[tuple[float, ...], ...]

    @classmethod
    def of(cls, model: GaugeModel) -> _Matrices:
        weights = np.asarray(model.weights, dtype=float).reshape(len(LEADS_MIN), -1)
        return cls(weights, np.asarray(model.intercepts, dtype=float),
                   np.asarray(model.low_quantiles, dtype=float),
                   np.asarray(model.mid_quantiles, dtype=float),
                   np.asarray(model.high_quantiles, dtype=float),
                   tuple(tuple(column) for column in weights.T.tolist()))


class Forecaster:
    def __init__(self, registry: StationRegistry, models: FittedModels | None, *,
                 nowcast: RainNowcast | None = None) -> None:
        self.registry = registry
        self.models = models
        # The hook for a rainfall nowcast (forecast/nowcast.py); none is wired by default.
        self.nowcast = nowcast
        self._prepared: dict[int, tuple[GaugeModel, _Matrices]] = {}

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
        for model, label in ((gauge.nowcast, "nowcast"), (gauge.full, "full"),
                             (gauge.local, "local")):
            if model is None or (label == "nowcast" and self.nowcast is None):
                continue
            values, missing = _values(model.inputs, histories, now)
            if label == "nowcast":
                missing = self._nowcast_values(station, model.inputs, values, missing)
                if missing:  # the models without the nowcast say what else is missing
                    continue
            if missing:
                fallback = _missing_reason(station_id, missing, histories, now)
                continue
            made = self._model(station, history, now, floor=floor, model=model,
                               fitted_at=gauge.fitted_at or models.fitted_at,
                               values=values, fallback=fallback if label == "local" else None)
            if made is not None:
                return made
            fallback = "the model gave a level that is not a number"
        return self._trend(station, history, now, floor, fallback or "no usable model")

    def _nowcast_values(self, station: Station, specs: list[InputSpec], values: list[float],
                        missing: list[InputSpec]) -> list[InputSpec]:
        """Fill the nowcast inputs in ``values`` from the nowcast; what is still missing."""
        assert self.nowcast is not None
        still = []
        for index, spec in enumerate(specs):
            if spec.kind is not InputKind.NOWCAST:
                continue
            expected = self.nowcast.expected_rain_mm(station, timedelta(seconds=spec.span_s))
            if expected is None or not math.isfinite(expected) or expected < 0:
                still.append(spec)
            else:
                values[index] = expected
        # Without the nowcast's rain, the other models go on without it (not a fallback
        # worth a reason: no nowcast is the default).
        return [spec for spec in missing if spec.kind is not InputKind.NOWCAST] + still

    def _model(self, station: Station, history: GaugeHistory, now: float, *, floor: float,
               model: GaugeModel, fitted_at: datetime, values: list[float],
               fallback: str | None) -> Forecast | None:
        newest = history.newest
        assert newest is not None  # checked by forecast()
        level = newest.level_m
        hour_ago = history.level_at(now - 3600.0, now)
        last_hour_rise = level - hour_ago if hour_ago is not None else 0.0
        matrices = self._matrices(model)
        # A broken model (an inf weight, an absurd input) gives inf or NaN here, which is
        # checked below and answered with the trend, not raised as a warning.
        median, low, high = _levels(matrices, values, level, last_hour_rise, floor)
        if not (np.isfinite(median).all() and np.isfinite(low).all()
                and np.isfinite(high).all()):
            return None
        points = [ForecastPoint(*row) for row in zip(
            LEADS_MIN, np.round(median, 3).tolist(), np.round(low, 3).tolist(),
            np.round(high, 3).tolist(), strict=True)]
        inputs = tuple(ForecastInput(spec.name, spec.detail, value, spec.unit, weights)
                       for spec, value, weights in zip(model.inputs, values,
                                                       matrices.input_weights, strict=True))
        return _finish(station, newest.at, level, method="model", fallback=fallback,
                       fitted_at=fitted_at, inputs=inputs, points=points)

    def _matrices(self, model: GaugeModel) -> _Matrices:
        # Built once per model: the lists of the JSON form as numpy arrays. Measured: the
        # 18 x 24 products cost 3.9 us with numpy against 34 us as Python loops, and a
        # whole forecast at Marumori (24 inputs) went from 221 us to 162 us; most of the
        # rest is reading the inputs from the histories.
        found = self._prepared.get(id(model))
        if found is None or found[0] is not model:
            found = (model, _Matrices.of(model))
            self._prepared[id(model)] = found
        return found[1]

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


def _levels(matrices: _Matrices, values: list[float], level: float, last_hour_rise: float,
            floor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The median, low and high per lead (may hold inf or NaN for a broken model)."""
    with np.errstate(all="ignore"):
        change = matrices.weights @ np.asarray(values) + matrices.intercepts
        spread = SPREAD_FLOOR_M + abs(last_hour_rise) + np.abs(change)
        mean = level + change
        median = np.maximum(mean + matrices.mid * spread, floor)
        low = np.maximum(np.minimum(mean + matrices.low * spread, median), floor)
        high = np.maximum(mean + matrices.high * spread, median)
    return median, low, high


def model_medians(station_id: str, models: FittedModels, histories: Mapping[str, GaugeHistory],
                  now: float) -> np.ndarray | None:
    """The median per lead that ``models`` forecast for ``station_id`` as of ``now``
    (epoch seconds, a reading of the gauge) from ``histories`` holding later readings
    too -- as ``Forecaster.forecast`` would have issued it then by the full or the local
    model; None when neither could be used (the forecast would be the trend)."""
    gauge = models.gauges.get(station_id)
    history = histories.get(station_id)
    level = history.level_at(now, now) if history is not None else None
    if gauge is None or history is None or level is None:
        return None
    hour_ago = history.level_at(now - 3600.0, now)
    low = history.minimum_since(now - FLOOR_WINDOW_S, now)
    floor = min(level, low if low is not None else level) - FLOOR_MARGIN_M
    for model in (gauge.full, gauge.local):
        if model is None:
            continue
        values, missing = _values(model.inputs, histories, now)
        if missing:
            continue
        median, _, _ = _levels(_Matrices.of(model), values, level,
                               level - hour_ago if hour_ago is not None else 0.0, floor)
        if np.isfinite(median).all():
            return median
    return None


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
