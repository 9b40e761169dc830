"""One river gauge's level readings through the alert engine's quality checks.

core.quality's ``check_field`` with the station's rule from the alert-rules file
(core.quality_rules) and its reporting interval: the same verdict the engine gives, so a
reading the engine flags is never a forecast input, live, warmed at a start or in the
history a refit learns from.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from floodwatch.core.quality import FieldMemory, FieldQuality, Flag, check_field
from floodwatch.forecast.history import Observation

LEVEL = "level_m"
# One stored or live reading: time, level, rain since the gauge's last report.
RawReading = tuple[datetime, float, float | None]


class LevelScreen:
    """The checks' memory of one gauge, and whether its newest reading was flagged."""

    def __init__(self, rule: FieldQuality | None, interval_s: float) -> None:
        self.rule = rule
        self.interval_s = interval_s
        self.memory = FieldMemory()
        self.newest_flagged = False

    def check(self, at: datetime, level: float) -> Flag | None:
        """The reading's flag (None: accepted); a gauge the rules check no level of
        accepts every reading."""
        if self.rule is None:
            self.newest_flagged = False
            return None
        flag, self.memory = check_field(LEVEL, level, at, self.rule, self.memory,
                                        interval_s=self.interval_s)
        self.newest_flagged = flag is not None
        return flag


def screened(readings: Iterable[RawReading], screen: LevelScreen
             ) -> tuple[list[Observation], int]:
    """The accepted readings (oldest first, as given) and how many were flagged."""
    accepted, flagged = [], 0
    for at, level, rain in readings:
        if screen.check(at, level) is None:
            accepted.append(Observation(at, level, rain))
        else:
            flagged += 1
    return accepted, flagged
