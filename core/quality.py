"""Data quality per gauge: a plausible range, believable steps, stuck and dropped-out
sensors -- the hard limits, rate-of-change limits and "unreliable" flags of Delft-FEWS
validation, with limits per station (rules file) and per reporting interval (registry).
The alert engine (alerts.quality) and the forecast stage judge readings by these checks
and by the same per-station rules: a reading the engine flags is never a forecast input.

A flagged (suspect) value never moves a level alert: it is kept out of the level rules
and the rate-of-rise window, the hold timers of the alerts it would feed stand still
over it, and it raises a data-quality alert of its own, cleared after
``clear_readings`` good readings in a row. Checks, in order:

- ``out_of_range``: outside [min, max].
- ``flatline``: the same value for ``flatline_s`` or longer (a stuck sensor).
- ``max_step``: further than ``max_step`` per reporting interval from the value the
  recent ACCEPTED readings lead us to expect (their median level, carried along half
  their median trend). A single accepted outlier moves neither median, and a glitch is
  never accepted, so the good reading after a glitch is judged against the river, not
  against the glitch: it passes (return to plausible). Each interval since the last
  accepted reading allows one ``max_step`` more, so a gauge back from an outage may
  report where the river went meanwhile.
- A flagged jump opens a *suspect run* (the flagged readings since the last accepted
  one). A reading nearer to the run than to the accepted readings continues it; the jump
  is accepted as a real step (the run becomes the recent history) once
  ``step_readings`` readings in a row have continued it. Where ``repeats_are_dropout``
  (rivers), those readings must also move: their fitted trend must carry them further
  than ``min_movement``, the sensor's noise floor. A continuing reading within
  ``min_movement`` of the one before is a ``dropout``: a gauge that fell to 0.00 or to
  any constant, noise and all, is never accepted, however long it lasts -- nor is a real
  step that then holds still (officers see the data-quality alert). Elsewhere (road
  depth and temperature) a step that holds is accepted: a flooded underpass holds at
  31 cm, a drained one at 0.0 cm for days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from statistics import median
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Readings the recent level and trend are taken from: the median of five ignores any two.
RECENT_READINGS = 5
# Half the recent trend: a rise that goes on and one that stops at its peak are both
# within half a trend's step of it, and no steady rise steeper than 2 x max_step per
# interval is ever believed (15 m/h on a 10-minute gauge is a sensor, not a river).
TREND_WEIGHT = 0.5
# Far below any gauge's resolution, far above a float's rounding of its differences.
ROUNDING = 1e-9


class Reason(StrEnum):
    """Why a value is suspect: a tag in InfluxDB and the data-quality alert's rule."""

    OUT_OF_RANGE = "out_of_range"
    FLATLINE = "flatline"
    MAX_STEP = "max_step"
    DROPOUT = "dropout"


@dataclass(frozen=True, slots=True)
class Flag:
    field: str
    value: float
    reason: Reason


Point = tuple[datetime, float]


class FieldMemory(BaseModel):
    """What the data-quality checks of one field remember.

    ``accepted``: the newest accepted readings (the robust recent level comes from
    them); ``suspect``: the newest flagged readings since the last accepted one (a jump
    and what followed it), with ``continued``: how many readings in a row continued its
    latest jump (a real step is accepted once enough have, and, where repeats are a
    dropout, they move); ``flat_*``: since when the value has not changed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accepted: tuple[Point, ...] = ()
    suspect: tuple[Point, ...] = ()
    continued: int = 0
    flat_value: float | None = None
    flat_since: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _forget_old_memory(cls, data: Any) -> Any:
        # A state saved before per-gauge checks held the last good value only: it is
        # dropped rather than refusing to start; the next reading starts a new memory.
        if isinstance(data, dict) and "last_good" in data:
            return {key: data[key] for key in ("flat_value", "flat_since") if key in data}
        # ``moving`` counted only the continuing readings with a new value: never more
        # than ``continued`` would have, so a run it counted is not accepted early.
        if isinstance(data, dict) and "moving" in data:
            return {**{k: v for k, v in data.items() if k != "moving"},
                    "continued": data["moving"]}
        return data


# Quality keys of earlier rules files, and what they are called now.
RENAMED_QUALITY_KEYS = {"spike": "max_step", "confirm_readings": "step_readings"}


class FieldQuality(BaseModel):
    """Checks for one numeric field; a flagged reading is excluded from
    the level rules. Steps are per the station's reporting interval (registry
    ``interval_s``), in the field's unit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: float
    max: float
    max_step: float | None = Field(
        default=None, gt=0, description="largest believable change in one reporting "
        "interval, up or down, from the recent level; more time allows more")
    step_readings: int = Field(
        default=2, ge=1, le=10, description="readings that must continue a flagged jump "
        "before it is accepted as a real step")
    repeats_are_dropout: bool = Field(
        default=False, description="a jump that then holds within min_movement is a "
        "dropout, never a real step (a gauge that fell to 0.00 or to a constant)")
    min_movement: float = Field(
        default=0.0, ge=0, description="with repeats_are_dropout: the noise floor the "
        "readings continuing a jump must move beyond (fitted trend) to make it real")
    flatline_s: float | None = Field(default=None, gt=0,
                                     description="identical values this long = stuck")
    clear_readings: int = Field(default=3, ge=1, description="good readings to clear")

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        # An old key would otherwise fail as "extra input", naming nothing to write instead.
        if isinstance(data, dict):
            for old, new in RENAMED_QUALITY_KEYS.items():
                if old in data:
                    raise ValueError(f"{old!r} is now {new!r} (docs/alerts.md, Data quality)")
        return data

    @model_validator(mode="after")
    def _ordered(self) -> FieldQuality:
        if self.min >= self.max:
            raise ValueError("min must be below max")
        return self


def trend(points: Sequence[Point]) -> float:
    """The Theil-Sen slope of ``points`` (per second): the median of the slopes between
    every two of them, 0 for fewer than two. One odd value cannot tilt it."""
    slopes = [(b - a) / (tb - ta).total_seconds()
              for index, (ta, a) in enumerate(points) for tb, b in points[index + 1:]]
    return median(slopes) if slopes else 0.0


def movement(points: Sequence[Point]) -> float:
    """How far the fitted trend of ``points`` (oldest first) carries them, from the first
    to the newest: noise around one value moves about nothing, water that rises or falls
    moves by its rate."""
    if len(points) < 2:
        return 0.0
    return abs(trend(points)) * (points[-1][0] - points[0][0]).total_seconds()


def expected_value(points: Sequence[Point], at: datetime, interval_s: float) -> float:
    """What ``points`` (oldest first, at least one) lead us to expect at ``at``: their
    median level at the newest point, moved on along half their median trend (the
    Theil-Sen slope) for at most one interval -- beyond that the river may have gone
    either way, which the growing allowance covers."""
    newest = points[-1][0]
    slope = trend(points)
    level = median(value + slope * (newest - ts).total_seconds() for ts, value in points)
    ahead = min((at - newest).total_seconds(), interval_s)
    return level + TREND_WEIGHT * slope * ahead


def deviation(points: Sequence[Point], value: float, at: datetime, max_step: float,
              interval_s: float, *, decided_below: float = 0.0) -> float:
    """How far ``value`` is from ``points`` (oldest first), in allowed steps: over 1 is
    not believable. The distance is to the nearer of the newest point (a river's own
    rate of change: it may turn or start to rise at once) and the expected value (one
    odd value among the points cannot make the next good one look wrong). The allowance
    is one ``max_step`` per interval since the newest point, at least one. A caller that
    only asks "within ``decided_below``?" gets the newest point's distance when that
    already says yes (the expectation costs a median of slopes on every reading)."""
    if not points:
        return math.inf
    newest_at, newest = points[-1]
    allowance = max_step * max(1.0, (at - newest_at).total_seconds() / interval_s)
    near = abs(value - newest) / allowance
    if near <= decided_below:
        return near
    return min(near, abs(value - expected_value(points, at, interval_s)) / allowance)


def check_field(name: str, value: float, at: datetime, rule: FieldQuality,
                memory: FieldMemory, *, interval_s: float) -> tuple[Flag | None, FieldMemory]:
    """One reading's value through the checks: its flag (None: good) and the memory."""
    flat_since = memory.flat_since if memory.flat_value == value else None
    changes: dict[str, object] = {"flat_value": value, "flat_since": flat_since or at}
    reason: Reason | None = None
    if not rule.min <= value <= rule.max:
        reason = Reason.OUT_OF_RANGE
    elif rule.flatline_s is not None and flat_since is not None \
            and (at - flat_since).total_seconds() >= rule.flatline_s:
        reason = Reason.FLATLINE
    elif rule.max_step is None:
        changes.update(_accepted((*memory.accepted, (at, value))))
    else:
        reason = _check_step(value, at, memory, changes, rule=rule, interval_s=interval_s)
    flag = None if reason is None else Flag(name, value, reason)
    return flag, memory.model_copy(update=changes)


def _check_step(value: float, at: datetime, memory: FieldMemory, changes: dict[str, object],
                *, rule: FieldQuality, interval_s: float) -> Reason | None:
    """The step checks; what they change in the memory goes into ``changes``."""
    max_step = rule.max_step
    assert max_step is not None
    point = (at, value)
    from_jump = deviation(memory.suspect, value, at, max_step, interval_s)
    # Without a run to compare with, only "within one step?" matters.
    from_level = (0.0 if not memory.accepted else deviation(
        memory.accepted, value, at, max_step, interval_s,
        decided_below=1.0 if from_jump > 1 else 0.0))
    # Ties go to the river: the good reading after a glitch is never the one flagged.
    if from_jump <= 1 and from_jump < from_level:
        run = (*memory.suspect, point)
        continued = memory.continued + 1
        if continued >= rule.step_readings and (not rule.repeats_are_dropout or beyond_noise(
                movement(run[-min(continued, RECENT_READINGS):]), rule)):
            changes.update(_accepted(run))  # a real step: the new recent history
            return None
        changes.update(suspect=run[-RECENT_READINGS:], continued=continued)
        holds = not beyond_noise(abs(value - memory.suspect[-1][1]), rule)
        return Reason.DROPOUT if rule.repeats_are_dropout and holds else Reason.MAX_STEP
    if from_level <= 1:
        changes.update(_accepted((*memory.accepted, point)))
        return None
    # A new jump: the run keeps the flagged readings before it, so a rise too steep for
    # one step still shows its own trend once it has two.
    changes.update(suspect=(*memory.suspect, point)[-RECENT_READINGS:], continued=0)
    return Reason.MAX_STEP


def _accepted(accepted: tuple[Point, ...]) -> dict[str, object]:
    return {"accepted": accepted[-RECENT_READINGS:], "suspect": (), "continued": 0}


def beyond_noise(change: float, rule: FieldQuality) -> bool:
    """Whether ``change`` is more than the field's ``min_movement``. Readings are decimal
    values in binary floats: 0.05 - 0.02 must not pass a floor of 0.03 by its rounding."""
    return change - rule.min_movement > ROUNDING
