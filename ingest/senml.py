"""SenML packs (RFC 8428) from devices that send several readings at once.

Two steps, kept apart so each can be checked on its own:

1. RFC 8428 itself (`parse_records`, `resolve`): the version (`bver` up to 10), the
   record fields and their types, exactly one value field per record (or a sum alone),
   names of the RFC's character set, and the base fields applied as §4.1 and §4.6 say --
   `bn` prefixed to the name, `bt` added to the time, `bu` used where a record has no
   unit, `bv` added to the value, `bs` added to the sum.
2. floodwatch's device contract (`readings`): each resolved name ends in
   ``{station_id}:{measure}`` (a prefix such as ``urn:dev:floodwatch:`` is allowed), the
   measure is one of ingest.units and its unit converts to the stored one, and records
   with the same resolved time form one reading.

The JSON and CBOR forms (ingest.senml_cbor) both decode to the same records, so a CBOR
pack is stored exactly as its JSON twin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictBytes,
    StrictInt,
    StrictStr,
    TypeAdapter,
)
from pydantic_core import from_json

from floodwatch.ingest.units import MEASURES, UnitError, convert

# RFC 8428 4.5.3: absolute times are after 2**28 s; smaller values are relative to "now".
RELATIVE_TIME_LIMIT = 2**28
MAX_RECORDS = 1000
# RFC 8428 4.4: the version this implementation understands (the RFC's own, the default).
SENML_VERSION = 10
# RFC 8428 4.5.1: the characters a resolved name may hold.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-:./_]*")
VALUE_FIELDS = ("v", "vs", "vb", "vd")

_Number = Annotated[float, Field(allow_inf_nan=False)]


class SenMLError(ValueError):
    """A pack that does not follow RFC 8428 or floodwatch's naming contract."""


class InvalidJSON(SenMLError):
    """The pack is not well-formed JSON."""


class UnsupportedVersion(SenMLError):
    """bver above the version we read: RFC 8428 4.4 forbids using the pack at all."""


class ValueCountError(SenMLError):
    """A record with two value fields, or with neither a value nor a sum (RFC 8428 4.2)."""


class UnsupportedUnit(SenMLError):
    """A unit the contract cannot convert to the stored field's unit (ingest.units)."""


class SenMLRecord(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    bn: StrictStr | None = None
    bt: _Number | None = None
    bu: StrictStr | None = None
    bv: _Number | None = None
    bs: _Number | None = None
    bver: StrictInt | None = None
    n: StrictStr | None = None
    u: StrictStr | None = None
    v: _Number | None = None
    vs: StrictStr | None = None
    vb: StrictBool | None = None
    # base64url text in JSON, a byte string in CBOR; no measure of the contract takes it.
    vd: StrictStr | StrictBytes | None = None
    s: _Number | None = None
    t: _Number | None = None
    ut: _Number | None = None


_Records = TypeAdapter(list[SenMLRecord])


@dataclass(frozen=True, slots=True)
class ResolvedRecord:
    """A record with its pack's base fields applied (RFC 8428 4.6)."""

    index: int  # in the pack, for messages
    name: str
    unit: str | None
    value_field: str | None  # v, vs, vb or vd; None: a record with a sum only
    value: float | str | bool | bytes | None
    sum: float | None
    time: float  # seconds: absolute from 2**28 on, else relative to "now"


@dataclass(frozen=True, slots=True)
class SenMLReading:
    """One instant's values from a pack, before kind-specific validation."""

    ts: datetime
    ts_from_device: bool
    values: dict[str, float | str]


def decode_json_pack(body: bytes) -> object:
    """The JSON pack as Python values (application/senml+json)."""
    try:
        return from_json(body)
    except ValueError as exc:
        raise InvalidJSON(str(exc)) from exc


def parse_records(pack: object) -> list[SenMLRecord]:
    """Typed records of a decoded pack; raises pydantic's ValidationError on bad types."""
    if isinstance(pack, list):
        if not pack:
            raise SenMLError("empty pack")
        if len(pack) > MAX_RECORDS:
            raise SenMLError(f"more than {MAX_RECORDS} records")
        _check_version(pack)
    return _Records.validate_python(pack)


def _check_version(pack: list[object]) -> None:
    # Before the types: a later version may change what a record looks like, and such a
    # pack must be refused for its version, whatever else is in it.
    versions = set()
    for index, record in enumerate(pack):
        bver = record.get("bver") if isinstance(record, dict) else None
        if isinstance(bver, int | float) and not isinstance(bver, bool):
            # A bignum would not even format: say its size instead of its digits.
            shown = "(a bignum)" if isinstance(bver, int) and abs(bver) >= 2**64 else bver
            if bver > SENML_VERSION:
                raise UnsupportedVersion(f"record {index}: bver {shown} is newer than "
                                         f"{SENML_VERSION}, the SenML version read here")
            if bver < 1:
                raise SenMLError(f"record {index}: bver {shown} is not a positive integer")
            versions.add(bver)
    if len(versions) > 1:
        raise SenMLError(f"records carry different versions {sorted(versions)}")


@dataclass(slots=True)
class _Bases:
    """The base fields in force: each lasts until a later record sets it again (4.1)."""

    name: str = ""
    time: float = 0.0
    unit: str | None = None
    value: float | None = None
    sum: float | None = None

    def update(self, record: SenMLRecord) -> None:
        self.name = self.name if record.bn is None else record.bn
        self.time = self.time if record.bt is None else record.bt
        self.unit = self.unit if record.bu is None else record.bu
        self.value = self.value if record.bv is None else record.bv
        self.sum = self.sum if record.bs is None else record.bs


def resolve(records: list[SenMLRecord]) -> list[ResolvedRecord]:
    """Apply base fields to each record (RFC 8428 4.1, 4.5, 4.6), in pack order."""
    base = _Bases()
    resolved = []
    for index, record in enumerate(records):
        must_understand = [key for key in (record.model_extra or {}) if key.endswith("_")]
        if must_understand:
            raise SenMLError(f"record {index}: unsupported field {must_understand[0]!r}")
        base.update(record)
        given = [name for name in VALUE_FIELDS if getattr(record, name) is not None]
        if len(given) > 1:
            raise ValueCountError(f"record {index}: {len(given)} value fields "
                                  f"({', '.join(given)}); RFC 8428 allows exactly one")
        if not given and record.s is None:
            if _only_base_fields(record):
                continue  # it sets base fields for the records after it (RFC 8428 5.1.7)
            raise ValueCountError(f"record {index}: no value field (v, vs, vb or vd) "
                                  "and no sum (s)")
        name = base.name + (record.n or "")
        if not NAME_RE.fullmatch(name):
            raise SenMLError(f"record {index}: name {name!r} is not a SenML name "
                             "(RFC 8428 4.5.1: letters, digits and - : . / _)")
        value_field = given[0] if given else None
        value: float | str | bool | bytes | None = (
            None if value_field is None else getattr(record, value_field))
        if record.v is not None and base.value is not None:
            value = base.value + record.v
        total = None
        if record.s is not None or base.sum is not None:
            total = (base.sum or 0.0) + (record.s or 0.0)
        unit = base.unit if record.u is None else record.u
        resolved.append(ResolvedRecord(index, name, unit, value_field, value, total,
                                       base.time + (record.t or 0.0)))
    return resolved


def _only_base_fields(record: SenMLRecord) -> bool:
    return all(getattr(record, name) is None for name in ("n", "u", "s", "t", "ut"))


def readings(
    resolved: list[ResolvedRecord], station_id: str, now: datetime
) -> list[SenMLReading]:
    """The contract's readings from resolved records, one per distinct time."""
    if not resolved:
        raise SenMLError("no record carries a value")
    grouped: dict[float, dict[str, float | str]] = {}
    for record in resolved:
        field, value = _field_and_value(record, station_id)
        values = grouped.setdefault(record.time, {})
        if field in values:
            raise SenMLError(f"record {record.index}: {field} given twice for the same time")
        values[field] = value
    return [_reading(moment, values, now) for moment, values in sorted(grouped.items())]


def _field_and_value(record: ResolvedRecord, station_id: str) -> tuple[str, float | str]:
    index = record.index
    station, _, measure = record.name.rpartition(":")
    station = station.rpartition(":")[2]
    if not station:
        raise SenMLError(
            f"record {index}: name {record.name!r} has no station; "
            f"use a base name such as 'bn': '{station_id}:'"
        )
    if station != station_id:
        raise SenMLError(f"record {index}: station {station!r} does not match the topic")
    spec = MEASURES.get(measure)
    if spec is None:
        raise SenMLError(f"record {index}: unknown measure {measure!r}")
    if not spec.numeric:
        if record.value_field != "vs" or not isinstance(record.value, str):
            raise SenMLError(f"record {index}: {measure} needs a string value (vs)")
        return spec.field, record.value
    if record.value_field is None:
        raise SenMLError(f"record {index}: {measure} gives only a sum (s); "
                         "floodwatch stores values (v)")
    if record.value_field != "v" or not isinstance(record.value, float):
        raise SenMLError(f"record {index}: {measure} needs a numeric value (v)")
    try:
        return spec.field, convert(measure, record.unit, record.value)
    except UnitError as exc:
        raise UnsupportedUnit(f"record {index}: {exc}") from exc


def _reading(moment: float, values: dict[str, float | str], now: datetime) -> SenMLReading:
    try:
        if moment < RELATIVE_TIME_LIMIT:
            # Relative times are anchored on our receive clock, not the device's.
            return SenMLReading(now + timedelta(seconds=moment), False, values)
        return SenMLReading(datetime.fromtimestamp(moment, tz=UTC), True, values)
    except (OverflowError, OSError, ValueError) as exc:
        raise SenMLError(f"time {moment} is out of range") from exc
