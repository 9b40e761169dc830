"""The forecast's inputs: what each one measures in the gauges' histories, as of a moment.

Every input is one explainable number read from an accepted-readings history: a gauge's
rise over a window, its rain over a window, its level above its recent low, its trend.
An ``InputSpec`` names the gauge and the window (``recent_s`` .. ``span_s`` seconds
before the issue time), so a fitted model stores its inputs as data, evaluates them
the same way at run time and in training (``evaluate``), and an officer reads each one
as a sentence (``detail``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from floodwatch.forecast.history import MAX_GAP_S, GaugeHistory
from floodwatch.forecast.trend import slope_m_per_h

HOUR_S = 3600.0
# The storm total (soil wetness) reads this far back; docs/forecast.md.
WETNESS_WINDOW_S = 48 * HOUR_S
# Rain over 3 h times the storm total over this many mm: the share of new rain that runs
# off grows with how wet the soil already is (the SCS curve number's shape).
WETNESS_SCALE_MM = 100.0


class InputKind(StrEnum):
    TREND = "trend"  # least-squares slope over the last hour, m/h
    RISE = "rise"  # level(now - recent_s) - level(now - span_s), m
    ABOVE_LOW = "above_low"  # level now - lowest level over span_s, m
    RAIN = "rain"  # rain reported in (now - span_s, now - recent_s], mm
    WET_RAIN = "wet_rain"  # rain over span_s x (storm total / WETNESS_SCALE_MM), mm
    # Rain expected over the next span_s (forecast/nowcast.py): not in any history, so
    # ``evaluate`` gives None; fitted on the rain that then fell (a perfect nowcast).
    NOWCAST = "nowcast"


UNITS = {InputKind.TREND: "m/h", InputKind.RISE: "m", InputKind.ABOVE_LOW: "m",
         InputKind.RAIN: "mm", InputKind.WET_RAIN: "mm", InputKind.NOWCAST: "mm"}


class InputSpec(BaseModel):
    """One input of a gauge's model: which gauge, what, over which window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str  # "trend", "upstream:akutsu:near", "rain:fushiguro:3h", ...
    detail: str  # one line for an officer
    kind: InputKind
    station: str
    recent_s: float = 0.0  # the window ends this long before the issue time
    span_s: float = HOUR_S  # ... and starts this long before it

    @property
    def unit(self) -> str:
        return UNITS[self.kind]

    @property
    def reach_s(self) -> float:
        """How far back this input reads."""
        return WETNESS_WINDOW_S if self.kind is InputKind.WET_RAIN else self.span_s


def evaluate(spec: InputSpec, histories: Mapping[str, GaugeHistory], now: float
             ) -> float | None:
    """The input's value as of ``now`` (epoch seconds); None when its gauge has no
    readings covering the window (silent, or history too short)."""
    history = histories.get(spec.station)
    if history is None or spec.kind is InputKind.NOWCAST:
        return None
    if spec.kind is InputKind.RAIN or spec.kind is InputKind.WET_RAIN:
        return _rain(spec, history, now)
    if spec.kind is InputKind.TREND:
        newest = history.newest_time(now)
        if newest is None or now - newest > MAX_GAP_S:
            return None
        return slope_m_per_h(*history.points_since(now - spec.span_s, now))
    if spec.kind is InputKind.RISE:
        late = history.level_at(now - spec.recent_s, now)
        early = history.level_at(now - spec.span_s, now)
        return None if late is None or early is None else late - early
    current = history.level_at(now, now)
    low = history.minimum_since(now - spec.span_s, now)
    return None if current is None or low is None else current - low


def rain_that_fell(spec: InputSpec, histories: Mapping[str, GaugeHistory], now: float
                   ) -> float | None:
    """A nowcast input's value in training: the rain reported over the ``span_s`` after
    ``now`` (None without reports all through it)."""
    history = histories.get(spec.station)
    if history is None:
        return None
    newest = history.newest_time(now + spec.span_s)
    if newest is None or now + spec.span_s - newest > MAX_GAP_S:
        return None
    return history.rain_between(now, now + spec.span_s)


def _rain(spec: InputSpec, history: GaugeHistory, now: float) -> float | None:
    # Rain needs the gauge reporting now and over the window (up to 6 h of it): a silent
    # gauge's missing reports would read as a dry spell.
    newest = history.newest_time(now)
    oldest = history.oldest_time()
    if newest is None or oldest is None or now - newest > MAX_GAP_S:
        return None
    if oldest > now - min(spec.span_s, 6 * HOUR_S):
        return None
    rain = history.rain_between(now - spec.span_s, now - spec.recent_s)
    if spec.kind is InputKind.RAIN:
        return rain
    return rain * history.rain_between(now - WETNESS_WINDOW_S, now) / WETNESS_SCALE_MM
