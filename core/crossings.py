"""Where a forecast first reaches a level: the one rule for crossings and warnings.

A forecast is a level now and a level at each lead; between two leads the level moves
in a straight line, so a crossing gets the minute the line reaches the level rather
than the next whole lead. The forecast stage's crossings (from the median), the alert
engine's forecast warnings (from the rules' line: the median or the band's lower bound),
the benchmark and `floodwatch forecast verify` all read this, so a warning's expected time
and the crossing the dashboard draws are the same minute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from floodwatch.core.registry import ReferenceLevels

# The river alert levels by number, with the registry's field for each (design.md).
LEVEL_NAMES: dict[int, str] = {1: "standby", 2: "caution", 3: "evacuation", 4: "danger",
                               5: "flooding"}


def reference_levels(levels: ReferenceLevels) -> list[tuple[int, str, float]]:
    """(number, name, metres) of every reference level a station has, lowest first."""
    found = []
    for number, name in LEVEL_NAMES.items():
        metres = getattr(levels, name)
        if metres is not None:
            found.append((number, name, float(metres)))
    return found


def crossing_minutes(level_now: float, leads_min: Sequence[int], levels: Sequence[float],
                     threshold: float) -> int | None:
    """Minutes from issue until ``levels`` (one per lead) first reach ``threshold``, when
    ``level_now`` is below it; None if they never do within the last lead."""
    if level_now >= threshold:
        return None
    previous_min, previous = 0, level_now
    for lead, level in zip(leads_min, levels, strict=True):
        if level >= threshold:
            fraction = (threshold - previous) / (level - previous)
            # The nearest whole minute, half up (round() goes half to even): the line
            # between two points 10 minutes apart is itself an estimate, and the points
            # carry rounding of their own (0.1 mm tipped a ceiling from 96 to 97 minutes).
            return max(1, math.floor(previous_min + fraction * (lead - previous_min) + 0.5))
        previous_min, previous = lead, level
    return None
