"""Where a forecast first reaches a level: the one rule for crossings and warnings.

A forecast is a level now and a level at each lead; between two leads the level moves
in a straight line, so a crossing gets the minute the line reaches the level rather
than the next whole lead. The stage's crossings (from the median), the benchmark's
warnings (from the chosen band) and `floodwatch forecast verify` all read this.
"""

from __future__ import annotations

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
            return max(1, round(previous_min + fraction * (lead - previous_min)))
        previous_min, previous = lead, level
    return None
