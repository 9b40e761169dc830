"""The validated reading: what ingest stores and what every later stage consumes.

On the bus it is a ``floodwatch.core.bus.ReadingMessage`` (topic ``bus.READINGS``)::

    {"station": "fushiguro", "kind": "river", "ts": "2026-11-28T01:00:00Z",
     "ts_source": "device", "received_at": "2026-11-28T01:00:00.412000Z",
     "values": {"level_m": 3.21, "rain_mm": 4.5}, "schema_version": 1}
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal, NamedTuple, cast

import msgspec

from floodwatch.core import bus
from floodwatch.core.registry import StationKind

FieldValue = float | str
TimestampSource = Literal["device", "received"]

# The fields each kind of station may report, in the InfluxDB schema's names.
RIVER_FIELDS: frozenset[str] = frozenset({"level_m", "rain_mm", "battery_v"})
ROAD_FIELDS: frozenset[str] = frozenset(
    {"water_depth_cm", "surface_temp_c", "surface_state", "battery_v"}
)
SURFACE_STATES: frozenset[str] = frozenset({"dry", "wet", "slush", "snow", "ice"})

FIELDS_BY_KIND: dict[StationKind, frozenset[str]] = {
    StationKind.RIVER: RIVER_FIELDS,
    StationKind.ROAD: ROAD_FIELDS,
}

# Each numeric field's resolution, in decimal places of its unit: what the gauges report
# (water level in cm, rain and road values in tenths; the simulators' devices write the
# same). The API rounds history values to it, so that a bucket's mean prints as 1.88, not
# 1.8839999999999997, and never claims a precision no gauge has (docs/api.md).
FIELD_DECIMALS: dict[str, int] = {
    "level_m": 2, "rain_mm": 1, "battery_v": 2, "water_depth_cm": 1, "surface_temp_c": 1,
}


# Japan Standard Time, the time the prefecture's people and offices read (alert wording,
# CAP, the residents' page, open-data days): UTC+9 as a fixed offset rather than
# ZoneInfo("Asia/Tokyo"), since Japan has kept no daylight saving time since 1951 and a
# fixed offset needs no tz database on the host. Times are stored and sent in UTC.
JST = timezone(timedelta(hours=9), "JST")


def format_ts(moment: datetime) -> str:
    """RFC 3339 in UTC with "Z", the one form floodwatch writes (bus, API, CAP index):
    ``2026-11-28T01:00:00Z``, and with six fractional digits only when the fraction is not
    zero (``2026-11-28T01:00:00.412000Z``). pydantic writes an aware UTC datetime the same
    way (api.models.UtcTime). The text is therefore not fixed-width: compare times, not
    strings."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # msgspec writes exactly this form, twenty times faster than isoformat() here (and
    # Reading.to_json leaves the bus's two times to it).
    return _encode(moment)[1:-1].decode()


def parse_ts(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without offset: {text!r}")
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


class Reading(NamedTuple):
    """One station's values at one instant. ``ts`` is timezone-aware UTC.

    A NamedTuple, not a frozen dataclass: as immutable, and built once per reading on
    ingest's hot path, where a frozen dataclass's ``__init__`` (one ``object.__setattr__``
    per field) cost three times as much."""

    station: str
    kind: StationKind
    ts: datetime
    values: dict[str, FieldValue]
    ts_source: TimestampSource
    received_at: datetime

    @property
    def ts_ns(self) -> int:
        """Nanoseconds since the epoch, exactly (no float rounding)."""
        delta = self.ts - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000

    @property
    def bus_topic(self) -> str:
        return bus_topic(self.kind, self.station)

    def to_json(self) -> bytes:
        """The bus message: compact JSON, UTF-8, times in ``format_ts``'s one form.

        Encoded by msgspec: once per reading on ingest's hot path, where the standard
        encoder (or assembling the text by hand) cost several times as much. msgspec
        writes a non-finite float as null, which JSON cannot say otherwise: such a value
        is refused here instead (validation never lets one through)."""
        ts, received_at = self.ts, self.received_at
        data = _encode(_ReadingOut(
            self.station, _KIND_NAMES[self.kind],
            ts if ts.tzinfo is UTC else ts.astimezone(UTC), self.ts_source,
            received_at if received_at.tzinfo is UTC else received_at.astimezone(UTC),
            self.values))
        if b"null" in data and not all(
            math.isfinite(value) for value in self.values.values()
            if isinstance(value, float)
        ):
            raise ValueError("Out of range float values are not JSON compliant")
        return data

    @staticmethod
    def to_json_all(readings: Sequence[Reading]) -> list[bytes]:
        """``to_json`` of each reading, the same bytes, encoded for a drained run at once:
        one msgspec call for the run's array, cut between its elements (a '},{' followed
        by the first key cannot occur inside a JSON string, whose quotes are escaped),
        and the guard against non-finite values read once for the run (an encode per
        reading and its guard were a sixth of ingest's in-process work per reading)."""
        data = _encode([_ReadingOut(
            reading.station, _KIND_NAMES[reading.kind],
            reading.ts if reading.ts.tzinfo is UTC else reading.ts.astimezone(UTC),
            reading.ts_source,
            reading.received_at if reading.received_at.tzinfo is UTC
            else reading.received_at.astimezone(UTC),
            reading.values) for reading in readings])
        if b"null" in data:  # perhaps a non-finite value: each says (to_json raises)
            return [reading.to_json() for reading in readings]
        # msgspec's compact JSON has no raw newline (a string's is escaped): a safe cut.
        return data[1:-1].replace(_BETWEEN, _CUT).split(b"\n") if readings else []

    @classmethod
    def from_json(cls, payload: bytes | str) -> Reading:
        """Decode a bus message written by ``to_json``; raises ValueError when it is not one.
        Tolerant: keys it does not know (a newer producer's) are ignored."""
        try:
            message = _decode_reading(payload)
            if message.schema_version != bus.SCHEMA_VERSION:  # a change this reader can misread
                raise ValueError(f"schema_version {message.schema_version} is not understood")
            return cls(
                station=message.station,
                kind=StationKind(message.kind),
                ts=parse_ts(message.ts),
                values={key: _bus_value(value) for key, value in message.values.items()},
                ts_source=message.ts_source,
                received_at=parse_ts(message.received_at),
            )
        except (msgspec.DecodeError, OverflowError) as exc:
            raise ValueError(f"not a floodwatch reading: {exc}") from exc


ReadingFields = tuple[str, StationKind, datetime, dict[str, FieldValue], TimestampSource,
                      datetime]
# Reading(...) runs NamedTuple's generated __new__, a Python function; tuple.__new__ makes
# the same Reading in C, in under half the time (timeit: 0.50 against 1.18 us, loaded
# machine). For ingest's hot path, where one is made per reading; the fields in order.
reading_of = cast(Callable[[ReadingFields], Reading], functools.partial(tuple.__new__, Reading))


def bus_topic(kind: StationKind, station_id: str) -> str:
    """Where a station's validated readings are published (and subscribed to)."""
    return _BUS_TOPIC_PREFIXES[kind] + station_id  # bus.READINGS, built once per kind


def _bus_value(value: object) -> FieldValue:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):  # json.loads reads NaN and Infinity: not a reading
            return number
    raise ValueError(f"bad field value {value!r}")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Compact JSON, UTF-8 kept, NaN refused (the API's chart points, and other messages).
compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                                allow_nan=False).encode
# Each schema field name as JSON, encoded once (the API's charts use them).
JSON_FIELD_NAMES = {name: compact_json(name) for name in RIVER_FIELDS | ROAD_FIELDS}
_encode = msgspec.json.Encoder().encode  # the bus's: compact, UTF-8 kept
_decode_reading = msgspec.json.Decoder(bus.ReadingMessage).decode
# The bus message as ingest writes it: bus.ReadingMessage's fields, in its order, but the
# two times as datetimes, which msgspec writes in format_ts's one form by itself (the
# contract's model holds them as text, for its readers). Formatting them to text first
# and encoding that text again was a third of to_json's cost. Not tracked by the garbage
# collector: one per reading, and it can be part of no reference cycle.
_ReadingOut = msgspec.defstruct(
    "_ReadingOut",
    [(field.name, datetime if field.name in ("ts", "received_at") else field.type)
     if field.default is msgspec.NODEFAULT else
     (field.name, field.type, field.default)
     for field in msgspec.structs.fields(bus.ReadingMessage)],
    gc=False)
_FIRST_KEY = b'{"' + msgspec.structs.fields(_ReadingOut)[0].name.encode() + b'":'
_BETWEEN, _CUT = b"}," + _FIRST_KEY, b"}\n" + _FIRST_KEY
# Plain strings: reading an enum member's .value goes through a descriptor each time.
_KIND_NAMES = {kind: kind.value for kind in StationKind}
_BUS_TOPIC_PREFIXES = {kind: bus.READINGS.name(kind=kind.value, station="")
                       for kind in StationKind}
