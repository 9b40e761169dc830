"""One river gauge's readings through the alert engine's quality checks.

core.quality's ``check_field`` with the station's rules from the alert-rules file
(core.quality_rules) and its reporting interval: the same verdict the engine gives, so a
value the engine flags is never a forecast input, live, warmed at a start or in the
history a refit learns from. Each field is judged on its own, with its own memory, as
the engine judges it:

- a flagged level keeps the whole reading out (there is no level to forecast from);
- a flagged rain value keeps only the rain out (stored as None: no rain reported) and
  the level still counts -- a broken rain bucket must not raise a forecast, at its own
  gauge or at the gauge downstream that reads its rain, nor silence a good level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from floodwatch.core.quality import FieldMemory, FieldQuality, Flag, check_field
from floodwatch.core.quality_rules import LEVEL_FIELD, RAIN_FIELD
from floodwatch.forecast.history import Observation

LEVEL = LEVEL_FIELD
RAIN = RAIN_FIELD
# One stored or live reading: time, level, rain since the gauge's last report.
RawReading = tuple[datetime, float, float | None]


class FieldScreen:
    """The checks' memory of one field of one gauge."""

    def __init__(self, name: str, rule: FieldQuality | None, interval_s: float) -> None:
        self.name = name
        self.rule = rule
        self.interval_s = interval_s
        self.memory = FieldMemory()

    def check(self, at: datetime, value: float) -> Flag | None:
        """The value's flag (None: accepted); a field the rules do not check is always
        accepted."""
        if self.rule is None:
            return None
        flag, self.memory = check_field(self.name, value, at, self.rule, self.memory,
                                        interval_s=self.interval_s)
        return flag


@dataclass(frozen=True, slots=True)
class Screened:
    """One reading's verdict: the observation to keep (None: the level was flagged),
    and the flags of its level and rain."""

    observation: Observation | None
    level_flag: Flag | None
    rain_flag: Flag | None


class GaugeScreen:
    """One gauge's level and rain checks, and whether its newest level was flagged."""

    def __init__(self, rules: Mapping[str, FieldQuality], interval_s: float) -> None:
        self.level = FieldScreen(LEVEL, rules.get(LEVEL), interval_s)
        self.rain = FieldScreen(RAIN, rules.get(RAIN), interval_s)
        self.newest_flagged = False

    def check(self, at: datetime, level: float, rain: float | None) -> Screened:
        level_flag = self.level.check(at, level)
        # The engine checks every field of a reading, whatever the others' verdicts:
        # the rain's memory moves on under a flagged level too.
        rain_flag = None if rain is None else self.rain.check(at, rain)
        self.newest_flagged = level_flag is not None
        if level_flag is not None:
            return Screened(None, level_flag, rain_flag)
        kept_rain = rain if rain_flag is None else None
        return Screened(Observation(at, level, kept_rain), None, rain_flag)


@dataclass
class FlagCounts:
    """How many levels and rain values a screening flagged, by field."""

    levels: int = 0
    rain: int = 0

    def add(self, result: Screened) -> None:
        self.levels += result.level_flag is not None
        self.rain += result.rain_flag is not None


def screened(readings: Iterable[RawReading], screen: GaugeScreen
             ) -> tuple[list[Observation], FlagCounts]:
    """The readings whose level was accepted (oldest first, as given; a flagged rain
    value left out of them) and what was flagged."""
    accepted: list[Observation] = []
    counts = FlagCounts()
    for at, level, rain in readings:
        result = screen.check(at, level, rain)
        counts.add(result)
        if result.observation is not None:
            accepted.append(result.observation)
    return accepted, counts
