"""One river gauge's recent accepted readings, and the look-ups a forecast makes in them.

The forecast stage keeps one ``GaugeHistory`` per river gauge and adds each reading the
alert engine's quality checks would accept (flagged readings never get here). The
fitting code builds the same object over a whole fitting period, so a forecast and its
training samples read the past through one code path and cannot drift apart.

Every look-up takes ``now``: only readings at or before it are used, so a sample built
from a month of history sees exactly what the stage would have seen at that moment.
Times are kept as epoch seconds beside the observations: a bisect over floats is what
makes a forecast's twenty-odd look-ups cost microseconds.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# 48 h: the longest window an input reads (the storm total, docs/forecast.md) plus slack.
DEFAULT_KEEP_S = 50 * 3600.0
# A level is interpolated between two readings at most this far apart, and a gauge's
# newest reading still stands for "now" this long after it: two missed 10-minute reports.
MAX_GAP_S = 30 * 60.0


@dataclass(frozen=True, slots=True)
class Observation:
    """One accepted reading of a river gauge."""

    at: datetime  # aware, UTC
    level_m: float
    rain_mm: float | None  # rain since the gauge's previous report (device contract)


class GaugeHistory:
    """One gauge's recent accepted readings, oldest first."""

    def __init__(self, keep_s: float = DEFAULT_KEEP_S) -> None:
        if keep_s <= 0:
            raise ValueError("keep_s must be positive")
        self.keep_s = keep_s
        self._observations: list[Observation] = []
        self._times: list[float] = []
        self._levels: list[float] = []
        # Rain summed from the first kept reading: a window's rain is one subtraction.
        self._cumulative_rain: list[float] = []

    @classmethod
    def of(cls, observations: Sequence[Observation],
           keep_s: float = float("inf")) -> GaugeHistory:
        """A history holding ``observations`` (a fitting period: nothing dropped)."""
        history = cls(keep_s)
        for observation in observations:
            history.add(observation)
        return history

    def add(self, observation: Observation) -> bool:
        """Append a reading; False (and ignored) when it is a duplicate or older than the
        newest: the stage may see a backfilled pack or a repeated message."""
        if observation.at.tzinfo is None:
            raise ValueError("an observation's time must be timezone-aware")
        moment = observation.at.timestamp()
        if self._times and moment <= self._times[-1]:
            return False
        rain = observation.rain_mm if observation.rain_mm is not None else 0.0
        previous = self._cumulative_rain[-1] if self._cumulative_rain else 0.0
        self._observations.append(observation)
        self._times.append(moment)
        self._levels.append(observation.level_m)
        self._cumulative_rain.append(previous + rain)
        self._trim(moment - self.keep_s)
        return True

    def _trim(self, oldest: float) -> None:
        # Trimmed in chunks: deleting the head of a list moves the rest, so once per
        # hundred readings rather than on every one.
        count = bisect_right(self._times, oldest)
        if count > 100 or (count and count == len(self._times)):
            del self._observations[:count], self._times[:count], self._levels[:count]
            del self._cumulative_rain[:count]

    def observations(self) -> Sequence[Observation]:
        start = bisect_right(self._times, self._times[-1] - self.keep_s) if self._times else 0
        return self._observations[start:]

    @property
    def newest(self) -> Observation | None:
        return self._observations[-1] if self._observations else None

    def __len__(self) -> int:
        return len(self._times)

    # -- look-ups as of ``now`` (epoch seconds) ------------------------------------------

    def newest_time(self, now: float) -> float | None:
        """The time of the newest reading at or before ``now``."""
        index = bisect_right(self._times, now)
        return self._times[index - 1] if index else None

    def oldest_time(self) -> float | None:
        return self._times[0] if self._times else None

    def level_at(self, moment: float, now: float) -> float | None:
        """The level at ``moment`` (<= ``now``), interpolated between the readings around
        it; None when they are more than MAX_GAP_S apart or there is none."""
        times = self._times
        index = bisect_right(times, moment)
        if index == 0:
            return None
        before = index - 1
        if index < len(times) and times[index] <= now:
            gap = times[index] - times[before]
            if gap > MAX_GAP_S:
                return None
            fraction = (moment - times[before]) / gap if gap else 0.0
            levels = self._levels
            return levels[before] + (levels[index] - levels[before]) * fraction
        # No reading after ``moment`` yet: the newest stands for it while it is fresh.
        if moment - times[before] > MAX_GAP_S:
            return None
        return self._levels[before]

    def rain_between(self, start: float, end: float) -> float:
        """Rain reported by the readings in (start, end]."""
        times, cumulative = self._times, self._cumulative_rain
        last = bisect_right(times, end)
        first = bisect_right(times, start)
        if last <= first:
            return 0.0
        base = cumulative[first - 1] if first else 0.0
        return cumulative[last - 1] - base

    def minimum_since(self, start: float, now: float) -> float | None:
        """The lowest level of the readings in [start, now]."""
        times = self._times
        first = bisect_right(times, start - 1e-6)
        last = bisect_right(times, now)
        return min(self._levels[first:last]) if last > first else None

    def points_since(self, start: float, now: float) -> tuple[Sequence[float], Sequence[float]]:
        """(times, levels) of the readings in [start, now]."""
        times = self._times
        first = bisect_right(times, start - 1e-6)
        last = bisect_right(times, now)
        return times[first:last], self._levels[first:last]
