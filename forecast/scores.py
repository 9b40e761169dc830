"""Scores of forecasts against what happened: RMSE, Nash-Sutcliffe, and warnings.

Shared by the benchmark (bench/forecast_skill.py, on simulated storms) and by
``floodwatch forecast verify`` (on forecasts stored in InfluxDB), so both judge by the
same rules:

- a forecast's level at a lead is scored against the observed level at issue time +
  lead (interpolated between readings at most MAX_GAP_S apart);
- Nash-Sutcliffe efficiency is 1 - SSE / sum((observed - mean observed)^2): 1 is
  perfect, 0 no better than the observed mean;
- an observed crossing of a level is a reading at or above it after one below it, and
  after 6 h without any at or above it;
- a *warning* for a level is a forecast, issued below the level, whose chosen band
  (median by default) reaches it within the horizon; warning forecasts no more than
  30 minutes apart form one warning, raised at the first of them (the alert engine's
  hold: what it would raise and keep);
- a crossing is *warned* when a warning is running when it happens; its lead is the
  time from that warning's raise to the crossing;
- a warning is *false* when the gauge did not reach the level within horizon + grace
  (1 h) of its raise.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from floodwatch.core.crossings import crossing_minutes
from floodwatch.forecast.history import MAX_GAP_S

DEFAULT_HORIZON_MIN = 180
DEFAULT_GRACE_MIN = 60
# A crossing less than this after the level was last above the threshold is the same
# flood: a reading's noise around a threshold must not make new crossings to score.
RECROSSING_S = 6 * 3600.0
# A warning is held this long after its last crossing forecast before it clears, as the
# alert engine holds a level alert (alerts/rules.py, hold_s): a forecast that stops
# crossing for a reading or two and crosses again is the same warning, not a new one.
HOLD_S = 1800.0


@dataclass(frozen=True, slots=True)
class Issued:
    """One forecast as scored: its issue time and level, and one band's levels per lead."""

    issued_at: datetime
    level_m: float
    leads_min: Sequence[int]
    levels: Sequence[float]  # the median, or the band's low or high side


class Observed:
    """A gauge's observed levels, oldest first."""

    def __init__(self, readings: Sequence[tuple[datetime, float]]) -> None:
        ordered = sorted(readings)
        self.times = [moment.timestamp() for moment, _ in ordered]
        self.levels = [level for _, level in ordered]

    def level_at(self, moment: float) -> float | None:
        times = self.times
        index = bisect_left(times, moment)
        if index < len(times) and times[index] == moment:
            return self.levels[index]
        if index == 0 or index == len(times) or times[index] - times[index - 1] > MAX_GAP_S:
            return None
        fraction = (moment - times[index - 1]) / (times[index] - times[index - 1])
        return self.levels[index - 1] + (self.levels[index] - self.levels[index - 1]) * fraction

    def reaches(self, threshold: float, start: float, end: float) -> bool:
        first, last = bisect_left(self.times, start), bisect_right(self.times, end)
        return any(level >= threshold for level in self.levels[first:last])

    def crossings(self, threshold: float, quiet_s: float = RECROSSING_S) -> list[float]:
        """Times of the readings at or above ``threshold`` after one below it, and after
        ``quiet_s`` without any at or above it (a level that dips under the threshold
        for a reading or two and comes back is the same flood, not a new crossing)."""
        found = []
        last_above = -math.inf
        for index in range(1, len(self.levels)):
            moment = self.times[index]
            if (self.levels[index - 1] < threshold <= self.levels[index]
                    and moment - last_above > quiet_s):
                found.append(moment)
            if self.levels[index] >= threshold:
                last_above = moment
        return found


def paired(issued: Sequence[Issued], observed: Observed, lead_min: int
           ) -> tuple[list[float], list[float]]:
    """(forecast, observed) levels at ``lead_min`` over every forecast that has both."""
    forecasts, actuals = [], []
    for forecast in issued:
        if lead_min not in forecast.leads_min:
            continue
        actual = observed.level_at(forecast.issued_at.timestamp() + lead_min * 60)
        if actual is None:
            continue
        forecasts.append(forecast.levels[list(forecast.leads_min).index(lead_min)])
        actuals.append(actual)
    return forecasts, actuals


def rmse(forecasts: Sequence[float], actuals: Sequence[float]) -> float:
    if not forecasts or len(forecasts) != len(actuals):
        return math.nan
    return math.sqrt(sum((f - a) ** 2 for f, a in zip(forecasts, actuals, strict=True))
                     / len(forecasts))


def nse(forecasts: Sequence[float], actuals: Sequence[float]) -> float:
    if not forecasts or len(forecasts) != len(actuals):
        return math.nan
    mean = sum(actuals) / len(actuals)
    variance = sum((a - mean) ** 2 for a in actuals)
    if variance == 0:
        return math.nan
    error = sum((f - a) ** 2 for f, a in zip(forecasts, actuals, strict=True))
    return 1.0 - error / variance


@dataclass
class WarningScore:
    """One level at one gauge: each observed crossing's warning lead (None: not warned),
    and the warnings raised, how many of them false."""

    crossing_leads_min: list[float | None] = field(default_factory=list)
    warnings: int = 0
    false_warnings: int = 0

    def add(self, other: WarningScore) -> None:
        self.crossing_leads_min += other.crossing_leads_min
        self.warnings += other.warnings
        self.false_warnings += other.false_warnings


def warning_runs(issued: Sequence[Issued], threshold: float, horizon_min: int,
                 hold_s: float = HOLD_S) -> list[tuple[float, float]]:
    """(raised, last) epoch times of each warning: a run of warning forecasts, held
    through gaps of up to ``hold_s`` without one."""
    runs: list[tuple[float, float]] = []
    for forecast in sorted(issued, key=lambda f: f.issued_at):
        leads = [lead for lead in forecast.leads_min if lead <= horizon_min]
        minutes = crossing_minutes(forecast.level_m, leads, forecast.levels[:len(leads)],
                                   threshold)
        if minutes is None:
            continue
        moment = forecast.issued_at.timestamp()
        if runs and moment - runs[-1][1] <= hold_s:
            runs[-1] = (runs[-1][0], moment)
        else:
            runs.append((moment, moment))
    return runs


def score_warnings(issued: Sequence[Issued], observed: Observed, threshold: float, *,
                   horizon_min: int = DEFAULT_HORIZON_MIN,
                   grace_min: int = DEFAULT_GRACE_MIN, hold_s: float = HOLD_S
                   ) -> WarningScore:
    runs = warning_runs(issued, threshold, horizon_min, hold_s)
    score = WarningScore(warnings=len(runs))
    for raised, _ in runs:
        if not observed.reaches(threshold, raised, raised + (horizon_min + grace_min) * 60):
            score.false_warnings += 1
    for crossing in observed.crossings(threshold):
        # The warning still held when the level was reached.
        lead = None
        for raised, last in runs:
            if raised < crossing and crossing - last <= hold_s:
                lead = (crossing - raised) / 60
        score.crossing_leads_min.append(lead)
    return score
