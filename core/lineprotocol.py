"""InfluxDB line protocol: one point per line, escaped per the v1 reference.

Written by hand rather than taken from ``influxdb-client`` because that package only
speaks the 2.x API (see README); the escaping rules are small, fixed and property-tested.

    measurement[,tag=value...] field=value[,field=value...] timestamp_ns
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import msgspec

from floodwatch.core.readings import FieldValue, Reading
from floodwatch.core.registry import StationRegistry

# Line protocol has no escape for a newline: a point containing one cannot be written.
# C0 is refused everywhere (a line break would split the point in every line-oriented
# queue on its way). DEL and C1 are legal inside a quoted string field (measured on
# InfluxDB 1.x: tests/core/test_lineprotocol.py) but not in names and tags, which are
# registry and schema values that never need one.
_FORBIDDEN_IN_STRINGS = {chr(code) for code in range(0x20)}
_FORBIDDEN = _FORBIDDEN_IN_STRINGS | {chr(code) for code in range(0x7f, 0xa0)}
# In names and tag values a backslash is taken literally by InfluxDB 1.x (measured: the
# tag value a\\b is stored with both backslashes) yet escapes the next separator, so
# no escaping of it round-trips. Names and tags come from the registry and the schema,
# which never need one: refuse it.
_FORBIDDEN_IN_NAMES = _FORBIDDEN | {"\\"}

_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ "})
_KEY_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_STRING_ESCAPES = str.maketrans({'"': r"\"", "\\": "\\\\"})


class LineProtocolError(ValueError):
    """A point that cannot be represented in line protocol."""


def _check(text: str, what: str) -> None:
    if not text:
        raise LineProtocolError(f"empty {what}")
    if any(char in _FORBIDDEN_IN_NAMES for char in text):
        raise LineProtocolError(f"control character or backslash in {what} {text!r}")


def escape_measurement(name: str) -> str:
    _check(name, "measurement")
    return name.translate(_MEASUREMENT_ESCAPES)


def escape_key(text: str, what: str = "tag or field") -> str:
    """Escape a tag key, tag value or field key."""
    _check(text, what)
    return text.translate(_KEY_ESCAPES)


def format_field_value(value: FieldValue | int | bool) -> str:
    if type(value) is float and math.isfinite(value):
        # The common case first (exactly float: bool and int are not): repr() is the
        # shortest text that reads back as the same float.
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LineProtocolError(f"non-finite float {value!r}")
        return repr(value)  # a float subclass
    if any(char in _FORBIDDEN_IN_STRINGS for char in value):
        raise LineProtocolError(f"control character in string field {value!r}")
    return '"' + value.translate(_STRING_ESCAPES) + '"'


def format_point(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, FieldValue | int | bool],
    timestamp_ns: int,
) -> str:
    """One line of line protocol. Tags are written sorted by key, as InfluxDB prefers."""
    if not fields:
        raise LineProtocolError("a point needs at least one field")
    parts = [escape_measurement(measurement)]
    for key in sorted(tags):
        parts.append(f"{escape_key(key, 'tag key')}={escape_key(tags[key], 'tag value')}")
    field_text = ",".join(
        f"{escape_key(key, 'field key')}={format_field_value(value)}"
        for key, value in fields.items()
    )
    return f"{','.join(parts)} {field_text} {timestamp_ns}"


class PointFormatter:
    """Readings to lines on the hot path: each station's measurement and tags, and each
    field key, are escaped once and reused: the same text as ``format_point`` with the
    station kind as measurement and the registry's tags (tests/core/test_lineprotocol.py)."""

    def __init__(self, registry: StationRegistry) -> None:
        self._prefixes = {
            station.id: format_point(station.kind.value, station.tags, {"x": 0.0}, 0)
            .rsplit(" ", 2)[0]
            for station in registry
        }
        self._assigns: dict[str, str] = {}  # field key -> its escaped text and '='

    def line(self, reading: Reading) -> str:
        fields = []
        for key, value in reading.values.items():
            assign = self._assigns.get(key)
            if assign is None:
                assign = self._assigns[key] = escape_key(key, "field key") + "="
            # A finite float (nearly every value; x - x is 0 only when x is finite) is
            # its repr, as in format_field_value, without the call.
            if type(value) is float and value - value == 0:
                fields.append(f"{assign}{value!r}")
            else:
                fields.append(assign + format_field_value(value))
        if not fields:
            raise LineProtocolError("a point needs at least one field")
        return f"{self._prefixes[reading.station]} {','.join(fields)} {reading.ts_ns}"

    def lines(self, readings: Sequence[Reading]) -> list[str]:
        """``line`` of each reading, the same text, made for a drained run at once.

        Formatting each float with ``repr`` (and the loop around it) was a third of
        ``line`` and the largest share of ingest's work per reading after validation
        (cProfile and callgrind of ``bench.instructions``). Here msgspec writes all the
        readings' values as JSON in one call, and the JSON of a reading whose keys are
        plain names and whose values are floats in fixed notation *is* its fields'
        line protocol once its quotes go and its colons become '=': msgspec's digits
        are ``repr``'s (the shortest that read back as the same float; a hypothesis
        property against ``repr`` in tests/core/test_lineprotocol.py). Anything else
        (a string, an int, a bool, a non-finite, exponent or tiny value, a key needing
        escapes) is caught by ``_plain`` and that reading goes through ``line``."""
        try:
            text = _encode([reading.values for reading in readings])
        except (TypeError, OverflowError, msgspec.EncodeError):
            return [self.line(reading) for reading in readings]
        body = text[2:-2]  # '[{' ... '}]'
        fields = body.translate(_JSON_TO_FIELDS, b'"').decode().split("},{")
        if len(fields) != len(readings):  # an empty list, or '},{' inside a string
            return [self.line(reading) for reading in readings]
        # Reading.ts_ns inline: the property's call cost more than its arithmetic.
        stamps = [((delta := reading.ts - _EPOCH).days * 86_400 + delta.seconds)
                  * 1_000_000_000 + delta.microseconds * 1000 for reading in readings]
        prefixes = self._prefixes
        if _plain(text):  # nearly every run
            return [f"{prefixes[reading.station]} {field_text} {stamp}"
                    for reading, field_text, stamp in zip(readings, fields, stamps,
                                                          strict=True)]
        return [f"{prefixes[reading.station]} {field_text} {stamp}"
                if _plain(b"{" + raw + b"}") else self.line(reading)
                for reading, field_text, stamp, raw in zip(
                    readings, fields, stamps, body.split(b"},{"), strict=True)]


def _plain(json: bytes) -> bool:
    """Whether msgspec's JSON of values dicts reads as their line protocol fields: its
    keys (inside quotes) plain names, its values (outside) floats in fixed notation of at
    least 1e-4 -- not a string, null (NaN, infinity), true, false, an int (line
    protocol's 3i), an exponent (repr writes 1e+16, msgspec 1e16) or a smaller value
    (repr 1e-05, msgspec 0.00001) -- and no dict empty. Checked by a few passes of C over
    the run's text: one regex over it cost more per reading than the repr it replaces."""
    if b':"' in json or b'""' in json or b"{}" in json:  # a string value, an empty key
        return False
    parts = json.split(b'"')
    outside, keys = b"".join(parts[0::2]), b"".join(parts[1::2])
    return (not keys.translate(None, _KEY_CHARACTERS)
            and not outside.translate(None, _NUMBER_AND_STRUCTURE)  # no letter: e, null..
            and outside.count(b".") == outside.count(b":")  # a point in each value
            and b":0.0000" not in outside and b":-0.0000" not in outside)


_encode = msgspec.json.Encoder().encode
_JSON_TO_FIELDS = bytes.maketrans(b":", b"=")  # and the quotes deleted
_KEY_CHARACTERS = b"abcdefghijklmnopqrstuvwxyz_"  # no escape needed, and no digit
_NUMBER_AND_STRUCTURE = b"0123456789.-:,{}[]"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def event_time_ns(at: datetime, seq: int) -> int:
    """The time of an alert engine's point (``alert_event``, ``reading_flag``): its
    ``at`` to the microsecond plus ``seq`` nanoseconds, so two events of one station at
    the same instant stay two points. Written by alerts.history and recomputed by the
    API's event keys from the published event: one definition keeps them equal.
    Integer arithmetic: a float timestamp could round across a second."""
    since = at - _EPOCH
    seconds = since.days * 86_400 + since.seconds
    return seconds * 1_000_000_000 + at.microsecond * 1000 + seq
