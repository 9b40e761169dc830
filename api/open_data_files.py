"""One station's readings of one day, read from InfluxDB with the alert engine's quality
flags beside them, and written as the open-data CSV or JSON.

Identifiers in the InfluxQL come from the registry and times are printed from datetimes
the API computed, never request text, so nothing can be injected.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from floodwatch.api.measures import FIELD_ORDER, MEASURES, stored_value
from floodwatch.api.open_data_models import (
    DayFile,
    DayReading,
    FieldInfo,
    Licence,
    SuspectValue,
)
from floodwatch.api.problems import ProblemError
from floodwatch.api.store import ns_to_datetime, station_between
from floodwatch.core.influx import InfluxClient
from floodwatch.core.readings import FieldValue, format_ts
from floodwatch.core.registry import Station

# One reading a second for a whole day: far beyond any gauge's interval. A day with more
# is refused rather than cut short without saying so (issue 21: no silent truncation).
MAX_READINGS_PER_DAY = 86_400


def ns_text(ns: int) -> str:
    """A stored time in floodwatch's one form (core.readings.format_ts: RFC 3339, UTC,
    ``Z``, six fraction digits only when not zero), as the REST answers write it."""
    return format_ts(ns_to_datetime(ns))


@dataclass(slots=True)
class Row:
    ns: int
    values: dict[str, FieldValue]
    suspect: list[tuple[str, str]] = field(default_factory=list)  # (field, reason)


def too_many_readings() -> ProblemError:
    return ProblemError(400, "too-many-readings", "Too many readings in one file",
                        f"the day holds more than {MAX_READINGS_PER_DAY} readings; read it "
                        "in pages through the SensorThings API (/sta/v1.1)")


async def day_rows(influx: InfluxClient, station: Station, start: datetime,
                   end: datetime) -> list[Row]:
    """The station's readings in [start, end), oldest first, each with its flags."""
    where = station_between(station, start, end)
    fields = FIELD_ORDER[station.kind]
    selection = ", ".join(f'"{name}"' for name in fields)
    rows = await influx.query(
        f'SELECT {selection} FROM "{station.kind.value}" WHERE {where} '  # noqa: S608
        f"LIMIT {MAX_READINGS_PER_DAY + 1}")
    if len(rows) > MAX_READINGS_PER_DAY:
        raise too_many_readings()
    readings = [Row(int(row["time"]), _values(fields, row)) for row in rows]
    by_time = {reading.ns: reading for reading in readings}
    flags = await influx.query(
        f'SELECT "value", "field", "reason" FROM "reading_flag" '  # noqa: S608
        f"WHERE {where} LIMIT {MAX_READINGS_PER_DAY * len(fields)}")
    for flag in flags:
        reading = by_time.get(int(flag["time"]))
        if reading is not None and flag.get("field") in reading.values:
            reading.suspect.append((str(flag["field"]), str(flag.get("reason", ""))))
    for reading in readings:
        reading.suspect.sort()
    return readings


def _values(fields: tuple[str, ...], row: dict[str, object]) -> dict[str, FieldValue]:
    return {name: value for name in fields
            if (value := stored_value(name, row.get(name))) is not None}


def field_infos(station: Station) -> list[FieldInfo]:
    return [FieldInfo(name=name, title={"ja": MEASURES[name].name_ja,
                                        "en": MEASURES[name].name},
                      unit=MEASURES[name].unit_symbol,
                      description=MEASURES[name].description)
            for name in FIELD_ORDER[station.kind]]


@dataclass(frozen=True, slots=True)
class DayInfo:
    """What a day file says about itself, beside its readings."""

    station: Station
    day: str
    start: datetime
    end: datetime
    complete: bool
    licence: Licence
    attribution: str


def day_json(info: DayInfo, rows: list[Row]) -> bytes:
    return DayFile(
        station=info.station.id, day=info.day, start=format_ts(info.start),
        end=format_ts(info.end), complete=info.complete, licence=info.licence,
        attribution=info.attribution, fields=field_infos(info.station),
        readings=[DayReading(time=ns_text(row.ns), values=row.values,
                             suspect=[SuspectValue(field=name, reason=reason)
                                      for name, reason in row.suspect])
                  for row in rows],
    ).model_dump_json().encode()


def csv_columns(station: Station) -> list[str]:
    return ["time", *FIELD_ORDER[station.kind], "suspect"]


def day_csv(station: Station, rows: list[Row]) -> bytes:
    """RFC 4180 CSV (the csv module: quoting and CRLF), UTF-8, a header row first.
    ``suspect`` lists the row's flagged values as ``field:reason``, space-separated."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_columns(station))
    fields = FIELD_ORDER[station.kind]
    for row in rows:
        writer.writerow([ns_text(row.ns), *(_cell(row.values.get(name)) for name in fields),
                         " ".join(f"{name}:{reason}" for name, reason in row.suspect)])
    return out.getvalue().encode()


def _cell(value: FieldValue | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else repr(value)

