"""Fitting every gauge's models from a fitting period's accepted readings.

For each river gauge: learn the link (travel time, gain) to each upstream gauge
(forecast/travel.py), lay out the inputs (``gauge_inputs``), build one training sample
per reading of the gauge -- the inputs as of that reading, and the level change to
each lead time -- and solve one ridge least-squares problem for all leads at once. The
band comes from the residuals (forecast/model.py). A gauge whose history holds too
little rising water gets no model: it would learn base flow, not floods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np

from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.forecast.history import GaugeHistory, Observation
from floodwatch.forecast.inputs import (
    HOUR_S,
    WETNESS_WINDOW_S,
    InputKind,
    InputSpec,
    evaluate,
    rain_that_fell,
)
from floodwatch.forecast.model import (
    LEADS_MIN,
    SPREAD_FLOOR_M,
    FittedModels,
    GaugeModel,
    Link,
    StationModels,
)
from floodwatch.forecast.travel import MAX_WAVE_SPEED_M_S, distance_m, learn_link

# Samples start this long after a gauge's first reading: the longest window but the
# storm total needs it (the storm total reads what there is).
WARM_UP_S = 6 * HOUR_S
# A reading whose level rose this much over the hour before it is "rising water".
RISING_M_PER_H = 0.05
# A gauge needs this much rising water in its fitting period for a model: less, and it
# would learn base flow, not floods.
MIN_RISING_H = 24.0
# Ridge penalty on standardised inputs, as a fraction of the sample count: keeps weights
# of nearly collinear inputs (rain over 1 h and 3 h) from growing in opposite directions.
RIDGE = 1e-3
LOW_QUANTILE, HIGH_QUANTILE = 0.10, 0.90


def gauge_inputs(station_id: str, links: Sequence[Link]) -> list[InputSpec]:
    """A gauge's inputs: its own trend, earlier rise, level above its low and rain, and
    for each upstream gauge the rise on its way here and its rain."""
    own = [
        InputSpec(name="trend", kind=InputKind.TREND, station=station_id, span_s=HOUR_S,
                  detail="own least-squares slope over the last hour"),
        # The last half hour apart from the hour's slope: at an inflection (the rain
        # easing, a wave arriving) the slope over the hour lags; measured on the bench,
        # these three inputs took the 1-h RMSE reduction from 33 % to 43 %.
        InputSpec(name="rise:30m", kind=InputKind.RISE, station=station_id,
                  recent_s=0.0, span_s=HOUR_S / 2, detail="own rise over the last 30 min"),
        InputSpec(name="rise:30-60m", kind=InputKind.RISE, station=station_id,
                  recent_s=HOUR_S / 2, span_s=HOUR_S,
                  detail="own rise from 60 min to 30 min ago"),
        InputSpec(name="rain:own:30m", kind=InputKind.RAIN, station=station_id,
                  span_s=HOUR_S / 2, detail=f"rain at {station_id} over the last 30 min"),
        InputSpec(name="rise:1-3h", kind=InputKind.RISE, station=station_id,
                  recent_s=HOUR_S, span_s=3 * HOUR_S,
                  detail="own rise from 3 h to 1 h ago"),
        InputSpec(name="above-low", kind=InputKind.ABOVE_LOW, station=station_id,
                  span_s=WETNESS_WINDOW_S,
                  detail="own level above its lowest of the last 48 h"),
        *_rain(station_id, "own"),
    ]
    upstream: list[InputSpec] = []
    for link in links:
        gauge, travel = link.upstream, link.travel_s
        half = max(600.0, round(travel / 2 / 600.0) * 600.0)
        travel_text = f"{travel / 60:.0f} min travel, gain {link.gain:.2f}"
        upstream += [
            InputSpec(name=f"upstream:{gauge}:due", kind=InputKind.RISE, station=gauge,
                      recent_s=half, span_s=max(travel, half + 600.0),
                      detail=f"{gauge}'s rise from {travel / 60:.0f} to {half / 60:.0f} min "
                             f"ago, reaching here first ({travel_text})"),
            InputSpec(name=f"upstream:{gauge}:next", kind=InputKind.RISE, station=gauge,
                      recent_s=0.0, span_s=half,
                      detail=f"{gauge}'s rise over the last {half / 60:.0f} min "
                             f"({travel_text})"),
            InputSpec(name=f"upstream:{gauge}:trend", kind=InputKind.TREND, station=gauge,
                      span_s=HOUR_S,
                      detail=f"{gauge}'s least-squares slope over the last hour"),
            *_rain(gauge, gauge)[1:3],
        ]
    return own + upstream


def nowcast_inputs(station_id: str) -> list[InputSpec]:
    return [InputSpec(name=f"nowcast:{station_id}:{hours}h", kind=InputKind.NOWCAST,
                      station=station_id, span_s=hours * HOUR_S,
                      detail=f"rain expected at {station_id} over the next {hours} h "
                             "(nowcast)") for hours in (1, 3)]


def _rain(station_id: str, label: str) -> list[InputSpec]:
    name = "own" if label == "own" else station_id
    return [
        InputSpec(name=f"rain:{name}:1h", kind=InputKind.RAIN, station=station_id,
                  span_s=HOUR_S, detail=f"rain at {station_id} over the last hour"),
        InputSpec(name=f"rain:{name}:3h", kind=InputKind.RAIN, station=station_id,
                  span_s=3 * HOUR_S, detail=f"rain at {station_id} over the last 3 h"),
        InputSpec(name=f"rain:{name}:wet-3h", kind=InputKind.WET_RAIN, station=station_id,
                  span_s=3 * HOUR_S,
                  detail=f"rain at {station_id} over the last 3 h times its 48-h total "
                         "per 100 mm (rain on wet soil runs off)"),
        InputSpec(name=f"rain:{name}:3-6h", kind=InputKind.RAIN, station=station_id,
                  recent_s=3 * HOUR_S, span_s=6 * HOUR_S,
                  detail=f"rain at {station_id} from 6 h to 3 h ago"),
        InputSpec(name=f"rain:{name}:48h", kind=InputKind.RAIN, station=station_id,
                  span_s=WETNESS_WINDOW_S,
                  detail=f"rain at {station_id} over the last 48 h (soil wetness)"),
    ]


def fit_models(registry: StationRegistry, series: Mapping[str, Sequence[Observation]], *,
               fitted_at: datetime, min_rising_h: float = MIN_RISING_H,
               with_nowcast: bool = False) -> FittedModels:
    """Every river gauge's models from ``series`` (each gauge's accepted readings over
    the fitting period, oldest first); gauges with less than ``min_rising_h`` hours of
    rising water get none, with the reason. ``with_nowcast``: also a model taking the
    rain a nowcast expects at the gauge over the next 1 h and 3 h, fitted on the rain
    that then fell (for a stage wired to a nowcast, forecast/nowcast.py)."""
    histories = {station_id: GaugeHistory.of(observations)
                 for station_id, observations in series.items()}
    gauges: dict[str, StationModels] = {}
    no_model: dict[str, str] = {}
    for station in registry:
        if station.kind is not StationKind.RIVER:
            continue
        history = histories.get(station.id)
        if history is None or len(history) == 0:
            no_model[station.id] = "no model: no readings in the fitting period"
            continue
        rising_h = _rising_hours(history)
        if rising_h < min_rising_h:
            no_model[station.id] = (f"no model: {rising_h:.0f} h of rising water in the "
                                    f"history, {min_rising_h:g} h needed")
            continue
        links = [link for up in registry.upstream(station.id) if up.id in histories
                 if (link := learn_link(
                     up.id, histories[up.id], history,
                     distance_m(up.location, station.location) / MAX_WAVE_SPEED_M_S))
                 is not None]
        specs = gauge_inputs(station.id, links)
        local_specs = [spec for spec in specs if spec.station == station.id]
        full = _fit(station.id, specs, histories) if links else None
        local = _fit(station.id, local_specs, histories)
        if local is None:
            no_model[station.id] = "no model: too few complete training samples"
            continue
        nowcast = None
        if with_nowcast:
            nowcast = _fit(station.id, [*(specs if full else local_specs),
                                        *nowcast_inputs(station.id)], histories)
        gauges[station.id] = StationModels(full=full, local=local, nowcast=nowcast,
                                           links=links)
    return FittedModels(fitted_at=fitted_at, gauges=gauges, no_model=no_model)


def _rising_hours(history: GaugeHistory) -> float:
    times = [observation.at.timestamp() for observation in history.observations()]
    if len(times) < 2:
        return 0.0
    step = float(np.median(np.diff(times)))
    rising = 0
    for moment in times:
        hour_ago = history.level_at(moment - HOUR_S, moment)
        level = history.level_at(moment, moment)
        if hour_ago is not None and level is not None and level - hour_ago >= RISING_M_PER_H:
            rising += 1
    return rising * step / HOUR_S


def training_samples(station_id: str, specs: Sequence[InputSpec],
                     histories: Mapping[str, GaugeHistory]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs, level changes per lead, last-hour rise) for every reading of the gauge
    whose inputs and every lead's level are known."""
    history = histories[station_id]
    times = [observation.at.timestamp() for observation in history.observations()]
    if not times:
        return np.empty((0, len(specs))), np.empty((0, len(LEADS_MIN))), np.empty(0)
    first = times[0] + WARM_UP_S
    rows, targets, rises = [], [], []
    for now in times:
        if now < first:
            continue
        level = history.level_at(now, now)
        hour_ago = history.level_at(now - HOUR_S, now)
        if level is None or hour_ago is None:
            continue
        future = [history.level_at(now + lead * 60, now + lead * 60) for lead in LEADS_MIN]
        if any(value is None for value in future):
            continue
        values = [rain_that_fell(spec, histories, now) if spec.kind is InputKind.NOWCAST
                  else evaluate(spec, histories, now) for spec in specs]
        if any(value is None for value in values):
            continue
        rows.append(values)
        targets.append([value - level for value in future if value is not None])
        rises.append(level - hour_ago)
    return (np.asarray(rows, dtype=float).reshape(-1, len(specs)),
            np.asarray(targets, dtype=float).reshape(-1, len(LEADS_MIN)),
            np.asarray(rises, dtype=float))


def _fit(station_id: str, specs: list[InputSpec], histories: Mapping[str, GaugeHistory]
         ) -> GaugeModel | None:
    inputs, targets, rises = training_samples(station_id, specs, histories)
    count = len(inputs)
    if count < 10 * (len(specs) + 1):
        return None
    weights, intercepts = ridge(inputs, targets)
    predicted = inputs @ weights + intercepts
    residuals = targets - predicted
    spreads = spread_m_array(rises[:, None], predicted)
    scaled = residuals / spreads
    return GaugeModel(
        inputs=specs, intercepts=[float(v) for v in intercepts],
        weights=[[float(v) for v in weights[:, lead]] for lead in range(len(LEADS_MIN))],
        low_quantiles=[float(v) for v in np.quantile(scaled, LOW_QUANTILE, axis=0)],
        high_quantiles=[float(v) for v in np.quantile(scaled, HIGH_QUANTILE, axis=0)],
        mid_quantiles=[float(v) for v in np.quantile(scaled, 0.5, axis=0)],
        samples=count,
        rmse_m=[float(v) for v in np.sqrt((residuals ** 2).mean(axis=0))])


def ridge(inputs: np.ndarray, targets: np.ndarray, sample_weights: np.ndarray | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Weights (inputs x leads) and intercepts (leads) of a weighted ridge fit on
    standardised inputs, returned in the inputs' own units; a constant input gets 0."""
    w = np.ones(len(inputs)) if sample_weights is None else sample_weights
    w = w / w.sum()
    mean = w @ inputs
    scale = np.sqrt(w @ (inputs - mean) ** 2)
    varying = scale > 1e-12
    z = np.zeros_like(inputs)
    z[:, varying] = (inputs[:, varying] - mean[varying]) / scale[varying]
    target_mean = w @ targets
    gram = (z * w[:, None]).T @ z + RIDGE * np.eye(z.shape[1])
    beta = np.linalg.solve(gram, (z * w[:, None]).T @ (targets - target_mean))
    weights = np.zeros_like(beta)
    weights[varying] = beta[varying] / scale[varying, None]
    intercepts = target_mean - mean @ weights
    return weights, intercepts


def spread_m_array(rises: np.ndarray, changes: np.ndarray) -> np.ndarray:
    """forecast.model.spread_m over arrays (the same formula)."""
    spread: np.ndarray = SPREAD_FLOOR_M + np.abs(rises) + np.abs(changes)
    return spread
