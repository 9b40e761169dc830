"""River rules: reference-level alerts, rate of rise and the projection to the next level."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import cache

from floodwatch.alerts.machine import Detail, Step, evaluate
from floodwatch.alerts.model import FLOODING_LEVEL, AlertType, Cause, Projection
from floodwatch.alerts.rules import RateRule, RiverRules
from floodwatch.alerts.trend import Trend, fit_trend
from floodwatch.core.registry import Station

Thresholds = tuple[tuple[int, float], ...]


def thresholds(station: Station, rules: RiverRules) -> Thresholds:
    """(level, metres) ascending: standby 1 ... danger 4, and flooding 5 where known."""
    levels = station.levels_m
    assert levels is not None  # the registry guarantees it for river stations
    pairs = [(1, levels.standby), (2, levels.caution), (3, levels.evacuation),
             (4, levels.danger)]
    flooding = rules.level.flooding_m if rules.level.flooding_m is not None else levels.flooding
    if flooding is not None:
        pairs.append((FLOODING_LEVEL, flooding))
    return tuple(pairs)


def raw_level(value: float, table: Thresholds) -> int:
    return max((level for level, metres in table if value >= metres), default=0)


def sustained_level(value: float, table: Thresholds, deadbands: tuple[float, ...]) -> int:
    return max((level for level, metres in table if value >= metres - deadbands[level - 1]),
               default=0)


def rate_m_per_h(window: tuple[tuple[datetime, float], ...], rule: RateRule) -> float | None:
    """Rise between the oldest and newest level in the window; None when the window
    spans less than ``min_span_s`` (just started, or after a gap)."""
    if len(window) < 2:
        return None
    (first_ts, first), (last_ts, last) = window[0], window[-1]
    span_s = (last_ts - first_ts).total_seconds()
    if span_s < rule.min_span_s:
        return None
    return (last - first) / span_s * 3600


# The rate needs only the oldest and newest points, but which point is oldest moves
# with time; keeping one point per window/WINDOW_POINTS bounds the persisted state (and
# the JSON written on every commit) whatever a device's reporting rate. A gauge reporting
# every second during a storm would otherwise carry 3,600 points per station; this keeps
# at most about 2 x WINDOW_POINTS (any two consecutive gaps span at least the spacing).
WINDOW_POINTS = 120


def rate_window(window: tuple[tuple[datetime, float], ...], at: datetime, value: float,
                rule: RateRule) -> tuple[tuple[datetime, float], ...]:
    """The rate-of-rise window after a reading: points older than ``window_s`` dropped,
    and the newest point replaced (not appended) while it is closer than the spacing to
    the one before it."""
    oldest = at - timedelta(seconds=rule.window_s)
    kept = tuple(point for point in window if point[0] >= oldest)
    spacing_s = rule.window_s / WINDOW_POINTS
    if len(kept) >= 2 and (at - kept[-2][0]).total_seconds() < spacing_s:
        kept = kept[:-1]
    return (*kept, (at, value))


def projection(value: float, trend: Trend | None, table: Thresholds,
               rule: RateRule) -> Projection | None:
    """The next level above ``value`` and when the fitted rate (alerts.trend) reaches it."""
    if trend is None or trend.rate_m_per_h <= 0:
        return None
    rate = trend.rate_m_per_h
    above = [(level, metres) for level, metres in table if metres > value]
    if not above:
        return None
    level, metres = above[0]
    seconds = (metres - value) / rate * 3600
    if seconds > rule.projection_horizon_s:
        return None
    # Rounded first so float noise (99.99999 min) does not tip the ceiling to 101.
    return Projection(level=level, minutes=max(1, math.ceil(round(seconds / 60, 6))),
                      rate_m_per_h=round(rate, 3), basis=trend.basis)


def evaluate_river(step: Step, station: Station, rules: RiverRules, value: float, *,
                   at: datetime, cause: Cause) -> None:
    rate_rule = rules.rate_of_rise
    window = rate_window(step.state.window, at, value, rate_rule)
    step.update(window=window, last_level=value)
    rate = rate_m_per_h(window, rate_rule)
    table = thresholds(station, rules)
    by_level = dict(table)
    raw = raw_level(value, table)
    sustain = sustained_level(value, table, rules.level.deadband_m.as_tuple())
    if step.state.flooding_declared:
        raw, sustain = max(raw, FLOODING_LEVEL), max(sustain, FLOODING_LEVEL)

    def level_detail(level: int) -> Detail:
        return {"level_m": value, "threshold_m": by_level.get(level),
                "rate_m_per_h": None if rate is None else round(rate, 3)}

    @cache
    def project() -> Projection | None:
        # Its own fit, not the alert's rate (alerts.trend says why); only computed when
        # an event needs it.
        return projection(value, fit_trend(window, rate_rule), table, rate_rule)

    evaluate(step, AlertType.RIVER_LEVEL, raw=raw, sustain=sustain, at=at, cause=cause,
             hold_s=rules.level.hold_s, confirm=rules.level.confirm_readings,
             rule=AlertType.RIVER_LEVEL.value, detail=level_detail, projection=project)

    current = step.state.level_of(AlertType.RATE_OF_RISE)
    if rate is None:
        # Too little data to judge: neither raise nor let the hold timer run.
        rate_raw, rate_sustain = 0, current
    else:
        rate_raw = 1 if rate >= rate_rule.threshold_m_per_h else 0
        rate_sustain = 1 if rate >= rate_rule.threshold_m_per_h - rate_rule.deadband_m_per_h \
            else 0

    def rate_detail(_level: int) -> Detail:
        return {"level_m": value, "rate_m_per_h": None if rate is None else round(rate, 3),
                "threshold_m_per_h": rate_rule.threshold_m_per_h,
                "window_s": rate_rule.window_s}

    evaluate(step, AlertType.RATE_OF_RISE, raw=rate_raw, sustain=rate_sustain, at=at,
             cause=cause, hold_s=rate_rule.hold_s, confirm=1,
             rule=AlertType.RATE_OF_RISE.value, detail=rate_detail, projection=project)
