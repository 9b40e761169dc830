"""/api/v1/stations/{id}/readings: a station's history over a bounded range.

Ranges short enough to hold at most ``api_max_points`` of the station's readings are
returned raw; longer ones are averaged by InfluxQL ``GROUP BY time()`` into at most that
many buckets, so a 30-day chart costs the same as a 1-day one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from floodwatch.api.deps import HistoryCacheDep, InfluxDep, RegistryDep, SettingsDep
from floodwatch.api.history_cache import aligned
from floodwatch.api.models import History
from floodwatch.api.problems import (
    bad_range,
    influx_unavailable,
    problem_responses,
    unknown_station,
)
from floodwatch.api.stations import StationId
from floodwatch.api.store import bucket_seconds, history_chart, reading_flags
from floodwatch.core.influx import InfluxError

router = APIRouter(prefix="/api/v1", tags=["readings"])

DEFAULT_RANGE = timedelta(hours=24)


# InfluxDB stores nanoseconds since 1970 in 64 bits: times outside cannot be asked.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2262, 1, 1, tzinfo=UTC)


def aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise bad_range(f"{name} needs a UTC offset, e.g. 2026-11-28T10:00:00+09:00")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError as exc:
        raise bad_range(f"{name} is out of range") from exc
    if not EARLIEST <= moment < LATEST:
        raise bad_range(f"{name} must be between 1970 and 2262")
    return moment


def time_window(first: datetime | None, last: datetime | None, *, names: tuple[str, str],
                default: timedelta, max_days: float) -> tuple[datetime, datetime]:
    """A query's [first, last) in UTC: ``last`` defaults to now, ``first`` to
    ``default`` before it; refused (bad-range problem) when empty or over ``max_days``."""
    last_at = aware(last, names[1]) if last is not None else datetime.now(UTC)
    first_at = aware(first, names[0]) if first is not None else last_at - default
    if first_at >= last_at:
        raise bad_range(f"{names[0]} must be before {names[1]}")
    if last_at - first_at > timedelta(days=max_days):
        raise bad_range(f"range longer than {max_days:g} days")
    return first_at, last_at


@router.get("/stations/{station_id}/readings", summary="History of one station",
            response_model=History,
            responses=problem_responses(400, 401, 404, 422, 503))
async def readings(
    *, settings: SettingsDep, registry: RegistryDep, influx: InfluxDep,
    cache: HistoryCacheDep, station_id: str = StationId,
    start: Annotated[datetime | None, Query(
        description="Inclusive start (ISO 8601 with offset); default end - 24 h.",
        examples=["2026-11-27T10:00:00+09:00"])] = None,
    end: Annotated[datetime | None, Query(
        description="Exclusive end (ISO 8601 with offset); default now.",
        examples=["2026-11-28T10:00:00+09:00"])] = None,
) -> Response:
    station = registry.get(station_id)
    if station is None:
        raise unknown_station(station_id)
    end_at = aware(end, "end") if end is not None else datetime.now(UTC)
    start_at = aware(start, "start") if start is not None else end_at - DEFAULT_RANGE
    if start_at >= end_at:
        raise bad_range("start must be before end")
    if end_at - start_at > timedelta(days=settings.api_max_range_days):
        raise bad_range(f"range longer than {settings.api_max_range_days:g} days; "
                        "ask for several shorter ranges")
    expected = (end_at - start_at).total_seconds() / station.interval_s
    bucket_s = (None if expected <= settings.api_max_points
                else bucket_seconds(start_at, end_at, settings.api_max_points))
    try:
        flags = await reading_flags(influx, station, start_at, end_at,
                                    limit=settings.api_max_points)
        if bucket_s is None or cache.ttl_s == 0:
            chart = await history_chart(influx, station, start_at, end_at, bucket_s,
                                        limit=settings.api_max_points)
        else:
            # Shared buckets sit on the epoch's grid, so the range may touch one bucket
            # more than it spans: one fewer keeps the answer within api_max_points.
            bucket_s = bucket_seconds(start_at, end_at, settings.api_max_points - 1)
            first, last = aligned(start_at, end_at, bucket_s)
            chart = await cache.get(
                (station.id, bucket_s, int(first.timestamp()), int(last.timestamp())),
                lambda: history_chart(influx, station, first, last, bucket_s,
                                      limit=settings.api_max_points))
    except InfluxError as exc:
        if "database not found" in str(exc):
            chart, flags = b"[]", []
        else:
            raise influx_unavailable() from exc
    # Serialized here, not returned as a model (FastAPI would dump, validate and
    # serialize it again: +25 % per 500-point answer), and with the points spliced in as
    # the cache keeps them; ``points`` is History's last field.
    head = History(station=station.id, start=start_at, end=end_at, bucket_s=bucket_s,
                   flags=flags, points=[]).model_dump_json().encode()
    body = head[:-len(EMPTY_POINTS_TAIL)] + b'"points":' + chart + b"}"
    return Response(body, media_type="application/json")


EMPTY_POINTS_TAIL = b'"points":[]}'
# The splice above relies on it (checked at import, not per request).
if list(History.model_fields)[-1] != "points":
    raise RuntimeError("api.models.History must keep `points` as its last field")
