"""Hourly rollups: what a long chart reads instead of every raw point.

InfluxDB's cost of a history query is the points it reads: a 30-day chart of a
10-minute gauge reads 4,320 per field (22 ms of InfluxDB for three fields, docs/api.md),
and right after an API start, when every chart is a cache miss, 200 such charts a
second were more than two cores could answer within the API's target. One point per
station and hour holding, per field, the sum and the count of the raw values (numbers)
or the hour's last value and the count (text) reads six times fewer points and still
gives every bucket of whole hours exactly: a mean is the sum of sums over the sum of
counts, a total the sum of sums, the state the last hour's last.

Schema: measurement ``{kind}_1h`` (``river_1h``, ``road_1h``), tag ``station``, fields
``{field}_sum`` and ``{field}_count`` (floats) and ``surface_state`` (the hour's last),
at the hour's start.

Computed with plain v1 queries and written with plain v1 writes, not continuous queries
or SELECT INTO, which InfluxDB 2.x and 3.x do not serve through their v1 API.
Recomputing an hour rewrites the same points, so it is idempotent and safe to repeat
from any process: ingest recomputes the hours it wrote to and reconciles the counts
against the raw points (ingest.rollup_keeper); ``floodwatch rollups`` does the latter
by hand, e.g. after importing readings straight into InfluxDB.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.influx import InfluxClient, Row, as_float
from core.lineprotocol import format_point
from core.readings import FIELDS_BY_KIND, STRING_FIELDS, SUMMED_FIELDS, FieldValue
from core.registry import StationKind

HOUR_S = 3600
HOUR_NS = HOUR_S * 1_000_000_000
# Hours recomputed per query: a day of 500 ten-minute gauges is 72,000 raw points read
# and 12,000 rollup points written, small enough for one answer and one write each.
CHUNK_HOURS = 24
WRITE_CHUNK = 5000
RECONCILE_CHUNK_HOURS = 7 * 24
# How long after its end an hour is rolled up when ingest is running (its keeper waits
# for the hour's writes to settle and looks every few seconds); readers take the hours
# ended longer ago than this from the rollups and the rest from the raw points.
ROLLED_AFTER_S = 120


def rollup_measurement(kind: StationKind) -> str:
    return f"{kind.value}_1h"


def rolled_until_s(now_s: float) -> int:
    """The end (epoch seconds) of the hours readers may take from the rollups."""
    return int(now_s - ROLLED_AFTER_S) // HOUR_S * HOUR_S


def hour_runs(hours: Iterable[int]) -> list[tuple[int, int]]:
    """Hour numbers as [first, end) runs of consecutive hours, in order."""
    runs: list[tuple[int, int]] = []
    for hour in sorted(set(hours)):
        if runs and runs[-1][1] == hour:
            runs[-1] = (runs[-1][0], hour + 1)
        else:
            runs.append((hour, hour + 1))
    return runs


def _raw_summary(kind: StationKind) -> str:
    parts = []
    for name in sorted(FIELDS_BY_KIND[kind]):
        if name in STRING_FIELDS:
            parts.append(f'last("{name}") AS "{name}"')
        else:
            parts.append(f'sum("{name}") AS "{name}_sum"')
        parts.append(f'count("{name}") AS "{name}_count"')
    return ", ".join(parts)


def rollup_line(kind: StationKind, row: Row) -> str | None:
    """The rollup point of one station-hour row of the summary query (None if empty)."""
    station = row.get("station")
    fields: dict[str, FieldValue] = {}
    for name in sorted(FIELDS_BY_KIND[kind]):
        count = as_float(row.get(f"{name}_count"))
        if not count:
            continue
        if name in STRING_FIELDS:
            value = row.get(name)
            if not isinstance(value, str):
                continue
            fields[name] = value
        else:
            total = as_float(row.get(f"{name}_sum"))
            if total is None:
                continue
            fields[f"{name}_sum"] = total
        # Floats, never integers: a field's type is fixed by its first write.
        fields[f"{name}_count"] = count
    if not isinstance(station, str) or not fields:
        return None
    return format_point(rollup_measurement(kind), {"station": station}, fields,
                        int(row["time"]))


async def recompute(influx: InfluxClient, kind: StationKind, first_hour: int,
                    end_hour: int) -> int:
    """Rewrite the rollups of hours [first_hour, end_hour) (hours since the epoch) from
    the raw points; returns the number of rollup points written."""
    written = 0
    for start in range(first_hour, end_hour, CHUNK_HOURS):
        stop = min(end_hour, start + CHUNK_HOURS)
        rows = await influx.query(
            f'SELECT {_raw_summary(kind)} FROM "{kind.value}" '  # noqa: S608 -- no user text
            f"WHERE time >= {start * HOUR_NS} AND time < {stop * HOUR_NS} "
            'GROUP BY time(1h), "station" fill(none)')
        lines = [line for row in rows if (line := rollup_line(kind, row)) is not None]
        for offset in range(0, len(lines), WRITE_CHUNK):
            await influx.write(lines[offset:offset + WRITE_CHUNK])
        written += len(lines)
    return written


def _counts(kind: StationKind, row: Row) -> tuple[float, ...]:
    return tuple(as_float(row.get(name)) or 0.0 for name in sorted(FIELDS_BY_KIND[kind]))


async def stale_hours(influx: InfluxClient, kind: StationKind, first_hour: int,
                      end_hour: int) -> list[int]:
    """Hours in [first_hour, end_hour) whose rollups do not count what the raw points
    count, field by field, over all stations (missing rollups included)."""
    fields = sorted(FIELDS_BY_KIND[kind])
    where = f"WHERE time >= {first_hour * HOUR_NS} AND time < {end_hour * HOUR_NS}"
    raw_counts = ", ".join(f'count("{name}") AS "{name}"' for name in fields)
    raw = await influx.query(
        f'SELECT {raw_counts} FROM "{kind.value}" {where} '  # noqa: S608 -- no user text
        "GROUP BY time(1h) fill(none)")
    if not raw:
        return []
    rolled_counts = ", ".join(f'sum("{name}_count") AS "{name}"' for name in fields)
    rolled = await influx.query(
        f'SELECT {rolled_counts} FROM "{rollup_measurement(kind)}" {where} '  # noqa: S608
        "GROUP BY time(1h) fill(none)")
    counted = {int(row["time"]): _counts(kind, row) for row in rolled}
    return [int(row["time"]) // HOUR_NS for row in raw
            if _counts(kind, row) != counted.get(int(row["time"]))]


def bucket_selection(kind: StationKind) -> str:
    """What a chart selects from the rollups per bucket (see ``bucket_row``)."""
    parts = []
    for name in sorted(FIELDS_BY_KIND[kind]):
        if name in STRING_FIELDS:
            parts.append(f'last("{name}") AS "{name}"')
        else:
            parts.append(f'sum("{name}_sum") AS "{name}_sum"')
            parts.append(f'sum("{name}_count") AS "{name}_count"')
    return ", ".join(parts)


def bucket_row(kind: StationKind, row: Row) -> Row:
    """A bucket of rollups as the raw points would give it: the mean of each number (the
    sum for amounts such as rain) and the last text."""
    values: Row = {"time": row["time"]}
    for name in sorted(FIELDS_BY_KIND[kind]):
        if name in STRING_FIELDS:
            values[name] = row.get(name)
            continue
        total = as_float(row.get(f"{name}_sum"))
        count = as_float(row.get(f"{name}_count"))
        if total is not None and count:
            values[name] = total if name in SUMMED_FIELDS else total / count
    return values


async def reconcile(influx: InfluxClient, first_hour: int, end_hour: int) -> int:
    """Recompute every hour in [first_hour, end_hour) whose rollups disagree with the
    raw counts; returns the number of hours recomputed."""
    recomputed = 0
    for kind in StationKind:
        # A week per comparison: a year's counts in one answer could outlast the timeout.
        for window in range(first_hour, end_hour, RECONCILE_CHUNK_HOURS):
            stale = await stale_hours(influx, kind, window,
                                      min(end_hour, window + RECONCILE_CHUNK_HOURS))
            for start, stop in hour_runs(stale):
                await recompute(influx, kind, start, stop)
                recomputed += stop - start
    return recomputed
