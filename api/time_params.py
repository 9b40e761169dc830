"""Times in query parameters: one type for every datetime the API accepts, and the one
check of a [first, last) window (readings, alert history, deliveries).

The API documents ISO 8601 with a UTC offset. pydantic alone would also take a bare
number as epoch seconds (``start=1764291600``): the API refuses it with a 422 that says
which form is wanted, rather than guess whether a client meant seconds, milliseconds or
local time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BeforeValidator

from floodwatch.api.problems import bad_range

# InfluxDB stores nanoseconds since 1970 in 64 bits: times outside cannot be asked.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2262, 1, 1, tzinfo=UTC)

_ISO_START = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}", re.ASCII)
ISO_REQUIRED = ("an ISO 8601 date and time with a UTC offset is required, e.g. "
                "2026-11-28T10:00:00+09:00 or 2026-11-28T01:00:00Z (epoch numbers are "
                "not accepted)")


def _iso_text(value: object) -> object:
    if isinstance(value, str) and not _ISO_START.match(value):
        raise ValueError(ISO_REQUIRED)
    return value


# Every datetime query parameter's type. The offset itself is checked by ``aware`` (a
# bad-range problem, as before), after pydantic has parsed the text.
QueryTime = Annotated[datetime, BeforeValidator(_iso_text)]


def storable_utc(moment: datetime) -> datetime:
    """An aware ``moment`` in UTC; ValueError saying why when InfluxDB cannot store it.
    Shared by the REST parameters (a bad-range problem) and SensorThings' $filter (a
    bad-query problem), which name the offending time each in their own way."""
    try:
        moment = moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is out of range") from exc
    if not EARLIEST <= moment < LATEST:
        raise ValueError("must be between 1970 and 2262")
    return moment


def aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise bad_range(f"{name} needs a UTC offset, e.g. 2026-11-28T10:00:00+09:00")
    try:
        return storable_utc(moment)
    except ValueError as exc:
        raise bad_range(f"{name} {exc}") from exc


def time_window(first: datetime | None, last: datetime | None, *, names: tuple[str, str],
                default: timedelta, max_days: float) -> tuple[datetime, datetime]:
    """A query's [first, last) in UTC: ``last`` defaults to now, ``first`` to
    ``default`` before it; refused (bad-range problem) when empty, over ``max_days`` or,
    defaulted too, before what InfluxDB can store."""
    last_at = aware(last, names[1]) if last is not None else datetime.now(UTC)
    if first is not None:
        first_at = aware(first, names[0])
    else:
        first_at = last_at - default
        if first_at < EARLIEST:
            hours = f"{default.total_seconds() / 3600:g} h"
            raise bad_range(f"{names[0]} defaults to {names[1]} - {hours}, before 1970: "
                            f"give a {names[1]} after {EARLIEST + default:%Y-%m-%dT%H:%M:%SZ}")
    if first_at >= last_at:
        raise bad_range(f"{names[0]} must be before {names[1]}")
    if last_at - first_at > timedelta(days=max_days):
        raise bad_range(f"range longer than {max_days:g} days; ask for several shorter ones")
    return first_at, last_at
