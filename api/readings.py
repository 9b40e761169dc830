"""/api/v1/stations/{id}/readings: a station's history over a bounded range.

Never cut short: a range holding at most ``api_max_points`` readings is returned raw;
any longer one, including a short range of a gauge that reports faster than its
interval_s, is aggregated by InfluxQL ``GROUP BY time()`` into at most that many buckets
covering the whole range, newest data included (``bucket_s`` says which). So a chart
always spans what it asked for, and a 30-day chart costs the same as a 1-day one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from floodwatch.api.deps import HistoryCacheDep, InfluxDep, RegistryDep, SettingsDep
from floodwatch.api.history_cache import HistoryCache, aligned
from floodwatch.api.http_cache import (
    CLOSED_AFTER_S,
    LIVE_MAX_AGE_S,
    NOT_MODIFIED,
    PAST_MAX_AGE_S,
    cache_control,
    conditional,
)
from floodwatch.api.models import History
from floodwatch.api.problems import influx_unavailable, problem_responses, unknown_station
from floodwatch.api.stations import StationId
from floodwatch.api.store import bucket_seconds, history_chart, raw_chart, reading_flags
from floodwatch.api.time_params import QueryTime, time_window
from floodwatch.core.influx import DatabaseNotFound, InfluxClient, InfluxError
from floodwatch.core.registry import Station

router = APIRouter(prefix="/api/v1", tags=["readings"])

DEFAULT_RANGE = timedelta(hours=24)

async def _downsampled(influx: InfluxClient, cache: HistoryCache, station: Station,
                       start: datetime, end: datetime, *, max_points: int) -> tuple[int, bytes]:
    if cache.ttl_s == 0:
        bucket_s = bucket_seconds(start, end, max_points)
        return bucket_s, await history_chart(influx, station, start, end, bucket_s)
    # Shared buckets sit on the epoch's grid, so the range may touch one bucket more
    # than it spans: one fewer keeps the answer within max_points.
    bucket_s = bucket_seconds(start, end, max_points - 1)
    first, last = aligned(start, end, bucket_s)
    chart = await cache.get(
        (station.id, bucket_s, int(first.timestamp()), int(last.timestamp())),
        lambda: history_chart(influx, station, first, last, bucket_s))
    return bucket_s, chart


@router.get("/stations/{station_id}/readings", summary="History of one station",
            description="Every reading in [start, end) when there are at most "
            "api_max_points of them (`bucket_s` null); otherwise the whole range in at most "
            "api_max_points buckets (`bucket_s` seconds each; mean, sum for rain_mm, last "
            "for surface_state). Never truncated. Values are rounded to the field's "
            "resolution (docs/api.md).",
            response_model=History,
            responses={**problem_responses(400, 401, 404, 422, 503), **NOT_MODIFIED})
async def readings(
    *, request: Request, settings: SettingsDep, registry: RegistryDep, influx: InfluxDep,
    cache: HistoryCacheDep, station_id: str = StationId,
    start: Annotated[QueryTime | None, Query(
        description="Inclusive start (ISO 8601 with offset); default end - 24 h.",
        examples=["2026-11-27T10:00:00+09:00"])] = None,
    end: Annotated[QueryTime | None, Query(
        description="Exclusive end (ISO 8601 with offset); default now.",
        examples=["2026-11-28T10:00:00+09:00"])] = None,
) -> Response:
    station = registry.get(station_id)
    if station is None:
        raise unknown_station(station_id)
    start_at, end_at = time_window(start, end, names=("start", "end"), default=DEFAULT_RANGE,
                                   max_days=settings.api_max_range_days)
    max_points = settings.api_max_points
    expected = (end_at - start_at).total_seconds() / station.interval_s
    bucket_s: int | None = None
    try:
        flags, flags_truncated = await reading_flags(influx, station, start_at, end_at,
                                                     limit=max_points)
        # Raw only if the points really fit: the interval is what a gauge should do.
        chart = (await raw_chart(influx, station, start_at, end_at, limit=max_points)
                 if expected <= max_points else None)
        if chart is None:
            bucket_s, chart = await _downsampled(influx, cache, station, start_at, end_at,
                                                 max_points=max_points)
    except DatabaseNotFound:
        chart, flags, flags_truncated, bucket_s = b"[]", [], False, None
    except InfluxError as exc:
        raise influx_unavailable() from exc
    # Serialized here, not returned as a model (FastAPI would dump, validate and
    # serialize it again: +25 % per 500-point answer), and with the points spliced in as
    # the cache keeps them; ``points`` is History's last field.
    head = History(station=station.id, start=start_at, end=end_at, bucket_s=bucket_s,
                   flags=flags, flags_truncated=flags_truncated,
                   points=[]).model_dump_json().encode()
    body = head[:-len(EMPTY_POINTS_TAIL)] + b'"points":' + chart + b"}"
    closed = (datetime.now(UTC) - end_at).total_seconds() >= CLOSED_AFTER_S
    max_age = PAST_MAX_AGE_S if closed else LIVE_MAX_AGE_S
    return conditional(request, body, "application/json",
                       cache_control(settings, f"max-age={max_age}"))


EMPTY_POINTS_TAIL = b'"points":[]}'
# The splice above relies on it (checked at import, not per request).
if list(History.model_fields)[-1] != "points":
    raise RuntimeError("api.models.History must keep `points` as its last field")
