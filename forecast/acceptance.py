"""Whether a refit's new models may replace the models in use, and what is swapped in.

A daily refit learns from whatever its window holds. After a calm summer the window may
hold no storm at all at a gauge, or too little rising water for a model (fewer than
``min_rising_h`` hours, forecast.fit): a fit there learns base flow. And a bad month of
data can skew a fit. So:

1. a gauge that has a model now and gets none from the new fit (its window no longer
   holds the storms its model was learned on, or no readings) keeps its model, with the
   time it was fitted (``StationModels.fitted_at``), saying so; the other gauges take
   their new models -- one calm tributary does not freeze the basin's refits;
2. the models to swap in must forecast rising water no worse than what is in use now:
   each modelled gauge's most recent ``min_rising_h`` hours of rising water in the
   window (its last storms) are forecast by them and by the current models (the trend
   where a gauge has no current model), as the forecaster would have issued them then,
   and the RMSE of the medians over every lead and gauge is compared; when theirs is
   higher, nothing is swapped and the models in use stay.

The new models are scored on storms they were fitted on, which favours them: the test
catches a fit that went wrong or learned calm water, not a small loss of skill.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.forecast.fit import RISING_M_PER_H
from floodwatch.forecast.forecaster import FLOOR_MARGIN_M, FLOOR_WINDOW_S, model_medians
from floodwatch.forecast.history import GaugeHistory, Observation
from floodwatch.forecast.inputs import HOUR_S
from floodwatch.forecast.model import LEADS_MIN, FittedModels
from floodwatch.forecast.trend import TREND_WINDOW_S, slope_m_per_h

LEADS_S = np.asarray(LEADS_MIN, dtype=float) * 60.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether to swap, the models to swap in, and why."""

    swap: bool
    reason: str
    models: FittedModels  # the new models, with the gauges' kept ones
    kept: dict[str, str] = field(default_factory=dict)  # gauge -> why its model was kept
    new_rmse_m: float | None = None
    current_rmse_m: float | None = None  # the models in use (the trend where none)
    samples: int = 0  # scored forecasts (moments of rising water)


def judge(registry: StationRegistry, current: FittedModels | None, new: FittedModels,
          series: Mapping[str, Sequence[Observation]], *, min_rising_h: float
          ) -> Verdict:
    """Verdict on ``new``, fitted on ``series``, against ``current`` (None: no models,
    every forecast is the trend)."""
    merged, kept = with_kept_models(current, new)
    histories = {station: GaugeHistory.of(observations)
                 for station, observations in series.items()}
    new_errors: list[np.ndarray] = []
    current_errors: list[np.ndarray] = []
    for station in registry:
        if station.kind is not StationKind.RIVER or station.id not in merged.gauges \
                or station.id not in histories:
            continue
        history = histories[station.id]
        for now in recent_rising(history, min_rising_h):
            actual = _actual(history, now)
            candidate = model_medians(station.id, merged, histories, now)
            if actual is None or candidate is None:
                continue
            reference = (model_medians(station.id, current, histories, now)
                         if current is not None else None)
            if reference is None:
                reference = trend_medians(history, now)
            new_errors.append(candidate - actual)
            current_errors.append(reference - actual)
    if not new_errors:
        return Verdict(True, "no rising water to score the new models on", merged, kept)
    new_rmse = _rmse(new_errors)
    current_rmse = _rmse(current_errors)
    swap = new_rmse <= current_rmse
    reason = (f"RMSE on the last rising water {new_rmse:.3f} m, against "
              f"{current_rmse:.3f} m by the forecasts in use")
    return Verdict(swap, reason if swap else f"the new models forecast worse: {reason}",
                   merged, kept, new_rmse, current_rmse, len(new_errors))


def with_kept_models(current: FittedModels | None, new: FittedModels
                     ) -> tuple[FittedModels, dict[str, str]]:
    """``new`` with the current models of every gauge ``new`` has none for (a gauge no
    longer in the registry is in neither of ``new``'s lists, and is dropped), and why
    each was kept."""
    if current is None:
        return new, {}
    gauges, no_model, kept = dict(new.gauges), dict(new.no_model), {}
    for station, models in current.gauges.items():
        if station not in new.no_model:
            continue
        fitted_at = models.fitted_at or current.fitted_at
        gauges[station] = models.model_copy(update={"fitted_at": fitted_at})
        kept[station] = (f"the new fit has none ({no_model.pop(station)}): "
                         f"its models fitted at {fitted_at.isoformat()} stay")
    if not kept:
        return new, {}
    return new.model_copy(update={"gauges": gauges, "no_model": no_model}), kept


def recent_rising(history: GaugeHistory, hours: float) -> list[float]:
    """The times (epoch seconds) of the gauge's readings in rising water (up at least
    forecast.fit's RISING_M_PER_H on the hour before), the most recent ``hours`` worth
    of them (its last storms), oldest first."""
    times = [observation.at.timestamp() for observation in history.observations()]
    if len(times) < 2:
        return []
    step = float(np.median(np.diff(times)))
    wanted = max(1, round(hours * HOUR_S / step))
    rising: list[float] = []
    for now in reversed(times):
        level = history.level_at(now, now)
        hour_ago = history.level_at(now - HOUR_S, now)
        if level is not None and hour_ago is not None and level - hour_ago >= RISING_M_PER_H:
            rising.append(now)
            if len(rising) == wanted:
                break
    return rising[::-1]


def trend_medians(history: GaugeHistory, now: float) -> np.ndarray:
    """The trend forecast's median per lead as of ``now`` (forecast.forecaster's)."""
    level = history.level_at(now, now)
    assert level is not None
    slope = slope_m_per_h(*history.points_since(now - TREND_WINDOW_S, now)) or 0.0
    low = history.minimum_since(now - FLOOR_WINDOW_S, now)
    floor = min(level, low if low is not None else level) - FLOOR_MARGIN_M
    medians: np.ndarray = np.maximum(level + slope * LEADS_S / HOUR_S, floor)
    return medians


def _actual(history: GaugeHistory, now: float) -> np.ndarray | None:
    later = [history.level_at(now + lead, now + lead) for lead in LEADS_S]
    if any(level is None for level in later):
        return None
    return np.asarray(later, dtype=float)


def _rmse(errors: list[np.ndarray]) -> float:
    return float(np.sqrt(np.mean(np.square(np.stack(errors)))))
