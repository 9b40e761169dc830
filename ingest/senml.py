"""SenML packs (RFC 8428, JSON) from devices that send several readings at once.

The contract: each record's full name (base name + name) ends in ``{station_id}:{measure}``,
for example ``{"bn": "fushiguro:", "n": "level", "u": "m", "v": 3.21}``; a prefix such as
``urn:dev:floodwatch:`` is allowed. Records with the same resolved time form one reading.

| measure       | unit(s)       | stored as        |
| ------------- | ------------- | ---------------- |
| level         | m             | level_m          |
| rain          | mm            | rain_mm          |
| battery       | V             | battery_v        |
| water_depth   | cm, m         | water_depth_cm   |
| surface_temp  | Cel           | surface_temp_c   |
| surface_state | (vs: string)  | surface_state    |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, TypeAdapter

# RFC 8428 4.5.3: absolute times are after 2**28 s; smaller values are relative to "now".
RELATIVE_TIME_LIMIT = 2**28
MAX_RECORDS = 1000

_Number = Annotated[float, Field(allow_inf_nan=False)]

# measure -> (stored field, {unit: factor to the stored unit}); None: a string value.
MEASURES: dict[str, tuple[str, dict[str, float] | None]] = {
    "level": ("level_m", {"m": 1.0}),
    "rain": ("rain_mm", {"mm": 1.0}),
    "battery": ("battery_v", {"V": 1.0}),
    "water_depth": ("water_depth_cm", {"cm": 1.0, "m": 100.0}),
    "surface_temp": ("surface_temp_c", {"Cel": 1.0}),
    "surface_state": ("surface_state", None),
}


class SenMLError(ValueError):
    """A pack that does not follow RFC 8428 or floodwatch's naming contract."""


class SenMLRecord(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    bn: StrictStr | None = None
    bt: _Number | None = None
    bu: StrictStr | None = None
    bver: int | None = None
    n: StrictStr | None = None
    u: StrictStr | None = None
    v: _Number | None = None
    vs: StrictStr | None = None
    vb: StrictBool | None = None
    t: _Number | None = None


SenMLPack = TypeAdapter(list[SenMLRecord])


@dataclass(frozen=True, slots=True)
class SenMLReading:
    """One instant's values from a pack, before kind-specific validation."""

    ts: datetime
    ts_from_device: bool
    values: dict[str, float | str]


def resolve_pack(
    records: list[SenMLRecord], station_id: str, now: datetime
) -> list[SenMLReading]:
    """Resolve base fields, names, units and times; group records into readings."""
    if not records:
        raise SenMLError("empty pack")
    if len(records) > MAX_RECORDS:
        raise SenMLError(f"more than {MAX_RECORDS} records")
    base_name, base_time, base_unit = "", 0.0, None
    grouped: dict[float, dict[str, float | str]] = {}
    for index, record in enumerate(records):
        must_understand = [key for key in (record.model_extra or {}) if key.endswith("_")]
        if must_understand:
            raise SenMLError(f"record {index}: unsupported field {must_understand[0]!r}")
        if record.bn is not None:
            base_name = record.bn
        if record.bt is not None:
            base_time = record.bt
        if record.bu is not None:
            base_unit = record.bu
        field, value = _field_and_value(index, base_name + (record.n or ""), station_id,
                                        record, record.u or base_unit)
        moment = base_time + (record.t or 0.0)
        values = grouped.setdefault(moment, {})
        if field in values:
            raise SenMLError(f"record {index}: {field} given twice for the same time")
        values[field] = value
    return [_reading(moment, values, now) for moment, values in sorted(grouped.items())]


def _field_and_value(
    index: int, full_name: str, station_id: str, record: SenMLRecord, unit: str | None
) -> tuple[str, float | str]:
    station, _, measure = full_name.rpartition(":")
    station = station.rpartition(":")[2]
    if not station:
        raise SenMLError(
            f"record {index}: name {full_name!r} has no station; "
            f"use a base name such as 'bn': '{station_id}:'"
        )
    if station != station_id:
        raise SenMLError(f"record {index}: station {station!r} does not match the topic")
    if measure not in MEASURES:
        raise SenMLError(f"record {index}: unknown measure {measure!r}")
    field, units = MEASURES[measure]
    if units is None:
        if record.vs is None:
            raise SenMLError(f"record {index}: {measure} needs a string value (vs)")
        return field, record.vs
    if record.v is None:
        raise SenMLError(f"record {index}: {measure} needs a numeric value (v)")
    if unit not in units:
        raise SenMLError(
            f"record {index}: {measure} unit {unit!r} is not one of {sorted(units)}"
        )
    return field, record.v * units[unit]


def _reading(moment: float, values: dict[str, float | str], now: datetime) -> SenMLReading:
    if abs(moment) < RELATIVE_TIME_LIMIT:
        # Relative times are anchored on our receive clock, not the device's.
        return SenMLReading(now + timedelta(seconds=moment), False, values)
    try:
        ts = datetime.fromtimestamp(moment, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SenMLError(f"time {moment} is out of range") from exc
    return SenMLReading(ts, True, values)
