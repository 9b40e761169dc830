"""Data quality: out-of-range values, spikes and flat lines (a stuck sensor).

A flagged value is excluded from the level rules (the alert stays where it was rather
than clearing on a bad number) and raises a data-quality alert of its own, cleared after
``clear_readings`` good readings in a row.

A spike is a jump larger than ``spike`` from the last good value. If the next reading
agrees with the flagged one (within ``spike``), the step was real and it is accepted:
a genuine surge is held back by at most one reading, never ignored for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from floodwatch.alerts.rules import FieldQuality
from floodwatch.alerts.state import FieldMemory


@dataclass(frozen=True, slots=True)
class Flag:
    field: str
    value: float
    reason: str  # out_of_range | spike | flatline: a rule name, used as a tag


def check_field(name: str, value: float, at: datetime, rule: FieldQuality,
                memory: FieldMemory) -> tuple[Flag | None, FieldMemory]:
    reason: str | None = None
    if value < rule.min or value > rule.max:
        reason = "out_of_range"
    elif rule.spike is not None and memory.last_good is not None \
            and abs(value - memory.last_good) > rule.spike:
        confirmed = (memory.last_raw_flagged and memory.last_raw is not None
                     and abs(value - memory.last_raw) <= rule.spike)
        if not confirmed:
            reason = "spike"
    flat_value, flat_since = memory.flat_value, memory.flat_since
    if flat_value is None or value != flat_value or flat_since is None:
        flat_value, flat_since = value, at
    elif reason is None and rule.flatline_s is not None \
            and (at - flat_since).total_seconds() >= rule.flatline_s:
        reason = "flatline"
    flagged = reason is not None
    updated = FieldMemory(
        last_good=memory.last_good if flagged else value,
        last_raw=value,
        last_raw_flagged=flagged,
        flat_value=flat_value,
        flat_since=flat_since,
    )
    return (Flag(name, value, reason) if reason is not None else None), updated
