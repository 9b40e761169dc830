"""InfluxQL the API runs: latest reading per station, and a station's history.

Every identifier and value put into a query comes from the registry or is a number the
API computed, never raw request text, so no InfluxQL can be injected.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, datetime, timedelta

from floodwatch.api.models import HistoryFlag
from floodwatch.core.influx import InfluxClient, Row, Table, as_float
from floodwatch.core.readings import (
    FIELD_DECIMALS,
    FIELDS_BY_KIND,
    JSON_FIELD_NAMES,
    FieldValue,
    compact_json,
    format_ts,
)
from floodwatch.core.registry import Station, StationKind

STRING_FIELDS: frozenset[str] = frozenset({"surface_state"})
# Amounts since the previous report (README: rain_mm): a bucket holds their sum.
SUMMED_FIELDS: frozenset[str] = frozenset({"rain_mm"})


def ns_to_datetime(ns: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)


# Sorted once: a chart reads them in this order for each of its up to 500 points.
_SORTED_FIELDS = {kind: tuple(sorted(fields)) for kind, fields in FIELDS_BY_KIND.items()}


def _values(kind: StationKind, row: Row) -> dict[str, FieldValue]:
    values: dict[str, FieldValue] = {}
    for name in _SORTED_FIELDS[kind]:
        value = row.get(name)
        if value is None:
            continue
        if name in STRING_FIELDS:
            values[name] = str(value)
        else:
            number = as_float(value)
            if number is not None:
                values[name] = number
    return values


async def latest_by_station(
    influx: InfluxClient, kind: StationKind, since: datetime | None = None
) -> dict[str, tuple[datetime, dict[str, FieldValue]]]:
    """Each station's newest point of ``kind`` (among points from ``since`` on, if given).
    ORDER BY time DESC LIMIT 1 per series, not last() per field: Debian's 1.6 stamps
    multi-field last() with 1970."""
    where = "" if since is None else f" WHERE time >= '{format_ts(since)}'"
    rows = await influx.query(
        f'SELECT * FROM "{kind.value}"{where} GROUP BY "station" '  # noqa: S608
        "ORDER BY time DESC LIMIT 1"
    )
    latest: dict[str, tuple[datetime, dict[str, FieldValue]]] = {}
    for row in rows:
        station = row.get("station")
        if isinstance(station, str):
            latest[station] = (ns_to_datetime(int(row["time"])), _values(kind, row))
    return latest


def _aggregate(name: str) -> str:
    if name in STRING_FIELDS:
        return "last"
    return "sum" if name in SUMMED_FIELDS else "mean"


def bucket_seconds(start: datetime, end: datetime, max_points: int) -> int:
    """The smallest whole-second bucket that fits the range in ``max_points``."""
    span = (end - start).total_seconds()
    return max(1, -(-int(span) // max_points))


def station_between(station: Station, start: datetime, end: datetime) -> str:
    """InfluxQL condition: ``station``'s points in [start, end). Safe to splice into a
    query: the id comes from the registry and the times are printed by format_ts."""
    return (f"\"station\" = '{station.id}' AND time >= '{format_ts(start)}' "
            f"AND time < '{format_ts(end)}'")


async def raw_chart(influx: InfluxClient, station: Station, start: datetime, end: datetime,
                    *, limit: int) -> bytes | None:
    """Every point in [start, end) as the JSON array of the API's ``HistoryPoint``s, or
    None when there are more than ``limit``: the caller then downsamples the whole range
    rather than cut it. Counted from the newest end (ORDER BY time DESC), so that even the
    probe never reads more than ``limit + 1`` rows; a device reporting faster than its
    interval_s thus costs one bounded extra query, never a truncated chart."""
    kind = station.kind
    selection = ", ".join(f'"{name}"' for name in sorted(FIELDS_BY_KIND[kind]))
    table = await influx.query_table(
        f'SELECT {selection} FROM "{kind.value}" '  # noqa: S608
        f"WHERE {station_between(station, start, end)} ORDER BY time DESC LIMIT {limit + 1}")
    if len(table.rows) > limit:
        return None
    table.rows.reverse()
    return chart_json(kind, table)


async def history_chart(
    influx: InfluxClient, station: Station, start: datetime, end: datetime, bucket_s: int,
) -> bytes:
    """Points in [start, end) aggregated per ``bucket_s`` bucket (mean; sum for amounts;
    a text field's last), as the JSON array of the API's ``HistoryPoint``s.

    Written straight from InfluxDB's rows, not through 500 models and datetimes per
    chart: on a cache miss that was half of the API's CPU (bench/api_load.py, the first
    pass over 500 stations' 30-day charts)."""
    kind = station.kind
    # Strings cannot be averaged: the bucket's last state is the one to show.
    selection = ", ".join(f'{_aggregate(name)}("{name}") AS "{name}"'
                          for name in sorted(FIELDS_BY_KIND[kind]))
    # Buckets align to the epoch unless offset: align them to ``start`` so the range
    # splits into exactly ceil(span / bucket) buckets, not one more.
    offset_s = int(start.timestamp()) % bucket_s
    query = (f'SELECT {selection} FROM "{kind.value}" '  # noqa: S608
             f"WHERE {station_between(station, start, end)} "
             f"GROUP BY time({bucket_s}s, {offset_s}s) fill(none)")
    return chart_json(kind, await influx.query_table(query))


async def reading_flags(influx: InfluxClient, station: Station, start: datetime,
                        end: datetime, *, limit: int) -> tuple[list[HistoryFlag], bool]:
    """The station's values in [start, end) that the alert engine flagged as suspect,
    oldest first: the newest ``limit`` of them, and whether there were more."""
    rows = await influx.query(
        f'SELECT "value", "field", "reason" FROM "reading_flag" '  # noqa: S608
        f"WHERE {station_between(station, start, end)} ORDER BY time DESC LIMIT {limit + 1}")
    flags = [HistoryFlag(ts=ns_to_datetime(int(row["time"])), field=str(row["field"]),
                         reason=str(row["reason"]), value=value)
             for row in rows[:limit] if (value := as_float(row.get("value"))) is not None]
    flags.reverse()
    return flags, len(rows) > limit


# A JSON number (RFC 8259): what InfluxDB prints for a float; checked, not trusted.
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?", re.ASCII)


def _json_float(text: str, decimals: int) -> str | None:
    """InfluxDB's text of a float as a JSON float rounded to ``decimals`` places: 88 (1.x
    drops ".0") as 88.0, a mean's 1.8839999999999997 as 1.88. Text already that short is
    passed as it is (most raw readings), the rest parsed, rounded and printed again."""
    if _JSON_NUMBER.fullmatch(text) and "e" not in text and "E" not in text:
        point = text.find(".")
        if point < 0:
            return text + ".0"
        if len(text) - point - 1 <= decimals:
            return text
    try:
        number = round(float(text), decimals)
    except (ValueError, OverflowError):
        return None
    return repr(number) if math.isfinite(number) else None


def chart_json(kind: StationKind, table: Table) -> bytes:
    """InfluxDB's rows (``time`` in ns) as a JSON array of ``HistoryPoint``s, written
    from their text: only a float longer than its field's resolution is parsed (to be
    rounded) and printed again."""
    columns = table.columns
    fields = [(columns.index(name), JSON_FIELD_NAMES[name], name in STRING_FIELDS,
               FIELD_DECIMALS.get(name, 6))
              for name in _SORTED_FIELDS[kind] if name in columns]
    time_at = columns.index("time") if table.rows else 0
    points = []
    for row in table.rows:
        members = []
        for at, key, is_text, decimals in fields:
            text = row[at]
            if not text:
                continue
            value = compact_json(text) if is_text else _json_float(text, decimals)
            if value is not None:
                members.append(f"{key}:{value}")
        points.append(f'{{"ts":"{_ts_json(int(row[time_at]))}","values":{{'
                      f'{",".join(members)}}}}}')
    return f"[{','.join(points)}]".encode()


# Every station's chart of the same range has the same bucket times: written once.
@functools.lru_cache(maxsize=8192)
def _ts_json(ns: int) -> str:
    return format_ts(ns_to_datetime(ns))  # the API's one form, as api.models.UtcTime

