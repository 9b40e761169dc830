"""Time in scenario files: durations written for people, and piecewise-linear profiles.

A duration is a number of seconds or a string of ``d``/``h``/``m``/``s`` parts, for
example ``90m``, ``6h``, ``1h30m`` or ``45s``. (Not ``1:30``: YAML 1.1 reads that as the
sexagesimal integer 90.)

A profile is a list of ``[time, value]`` points, times counted from the start of the
scenario, for example a hyetograph ``[[0h, 0], [6h, 30], [12h, 0]]`` (mm/h). Between
points the value is interpolated linearly; before the first point it is the first value,
after the last point the last value, so a single point is a constant.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from datetime import UTC, datetime
from itertools import pairwise
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field, RootModel, model_validator

from floodwatch.core.readings import JST

_PART_RE = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_UNIT_S = {"d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``90.5``, ``"90s"``, ``"15m"``, ``"6h"``, ``"1h30m"``, ``"2d"``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a text such as '90m' or '6h'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            parts = _PART_RE.findall(text)
            if not parts or "".join(number + unit for number, unit in parts) != text:
                raise ValueError(
                    f"{value!r} is not a duration; write seconds or e.g. '90m', '6h', "
                    "'1h30m'"
                ) from None
            units = [unit for _, unit in parts]
            if len(set(units)) != len(units) or units != sorted(units, key="dhms".index):
                raise ValueError(f"{value!r}: give each unit once, largest first") from None
            seconds = sum(float(number) * _UNIT_S[unit] for number, unit in parts)
    else:
        raise ValueError("a duration is a number of seconds or a text such as '90m' or '6h'")
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"{value!r}: a duration must be finite and not negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]


def format_duration(seconds: float) -> str:
    """The shortest ``1h30m``-style text for ``seconds`` (whole seconds)."""
    remaining = round(seconds)
    if remaining == 0:
        return "0s"
    text = ""
    for unit in "dhms":
        count, remaining = divmod(remaining, int(_UNIT_S[unit]))
        if count:
            text += f"{count}{unit}"
    return text


class Profile(RootModel[tuple[tuple[Duration, float], ...]]):
    """A value that changes over scenario time, linearly between the given points."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _ordered(self) -> Profile:
        if not self.root:
            raise ValueError("a profile needs at least one [time, value] point")
        times = [time for time, _ in self.root]
        if any(later <= earlier for earlier, later in pairwise(times)):
            raise ValueError("profile times must increase")
        return self

    @classmethod
    def constant(cls, value: float) -> Profile:
        return cls(((0.0, value),))

    def at(self, elapsed_s: float) -> float:
        points = self.root
        index = bisect_right([time for time, _ in points], elapsed_s)
        if index == 0:
            return points[0][1]
        if index == len(points):
            return points[-1][1]
        (t0, v0), (t1, v1) = points[index - 1], points[index]
        return v0 + (v1 - v0) * (elapsed_s - t0) / (t1 - t0)


def parse_start(text: str) -> datetime:
    """An ISO 8601 time with an offset (``Z`` allowed), for ``--start`` and CSV replay."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no offset; write e.g. 2026-11-28T10:00:00+09:00")
    return moment.astimezone(UTC)


def local_hour(moment: datetime) -> float:
    """Hour of the day in Japan (JST, no daylight saving), 0 <= hour < 24."""
    local = moment.astimezone(JST)
    return local.hour + local.minute / 60 + local.second / 3600
