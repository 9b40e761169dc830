"""/api/v1/stations and /api/v1/latest: every station with its newest reading, level
band and staleness. InfluxDB (api.latest_store) and the bus cache are merged (newest
wins), and when InfluxDB is down the bus alone answers, saying so in ``source``."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import structlog
from fastapi import APIRouter, Path, Request, Response

from floodwatch.api.deps import LatestBodyDep, LiveDep, RegistryDep, SettingsDep, StoredLatestDep
from floodwatch.api.http_cache import LIVE_MAX_AGE_S, NOT_MODIFIED, cache_control, conditional
from floodwatch.api.latest_store import Latest, RenderedBody, StoredSnapshot
from floodwatch.api.levels import BAND_RANK, is_stale, station_band
from floodwatch.api.live import LiveCache
from floodwatch.api.models import (
    LatestReading,
    LevelStatus,
    StationDetail,
    StationList,
    StationSummary,
)
from floodwatch.api.problems import problem_responses, unknown_station
from floodwatch.core.registry import STATION_ID_PATTERN, Station, StationRegistry
from floodwatch.core.settings import Settings

log = structlog.get_logger("api.stations")

router = APIRouter(prefix="/api/v1", tags=["stations"])

STALE_TICK_S = 5.0
StationId = Path(pattern=STATION_ID_PATTERN, examples=["fushiguro"])


def station_summary(station: Station, stored: Latest, live: LiveCache, settings: Settings,
             now: datetime) -> StationSummary:
    newest = stored.get(station.id)
    reading = live.latest(station.id)
    if reading is not None and (newest is None or reading.ts >= newest[0]):
        newest = (reading.ts, reading.values)
    latest = LatestReading(ts=newest[0], values=newest[1]) if newest else None
    band = station_band(station, newest[1]) if newest else None
    return StationSummary(
        id=station.id, kind=station.kind, name=station.name.model_dump(), latest=latest,
        level=LevelStatus(band=band, rank=BAND_RANK[band]) if band else None,
        stale=is_stale(station, newest[0] if newest else None, now, settings.api_stale_factor),
    )


def _all(settings: Settings, registry: StationRegistry, stored: Latest | None,
         live: LiveCache) -> StationList:
    now = datetime.now(UTC)
    summaries = [station_summary(s, stored or {}, live, settings, now) for s in registry]
    return StationList(stations=summaries, source="bus" if stored is None else "influxdb+bus")


def _all_json(request: Request, settings: Settings, *, registry: StationRegistry,
              stored: StoredSnapshot, live: LiveCache, rendered: RenderedBody) -> Response:
    # Rendered again when InfluxDB's answer or a bus reading changed, or STALE_TICK_S
    # passed (staleness moves with the clock, in steps of minutes: a few seconds late is
    # nothing); otherwise every poller shares one body.
    key = (stored.generation, live.version, int(time.time() / STALE_TICK_S))
    body = rendered.get(key, lambda: _all(settings, registry, stored.latest,
                                           live).model_dump_json().encode())
    return conditional(request, body, "application/json",
                       cache_control(settings, f"max-age={LIVE_MAX_AGE_S}"), shared=True)


@router.get("/stations", summary="All stations with their latest reading",
            response_model=StationList, responses={**problem_responses(401), **NOT_MODIFIED})
async def list_stations(*, request: Request, settings: SettingsDep, registry: RegistryDep,
                        stored: StoredLatestDep, live: LiveDep, rendered: LatestBodyDep
                        ) -> Response:
    return _all_json(request, settings, registry=registry, stored=stored, live=live,
                     rendered=rendered)


@router.get("/latest", summary="Latest reading of every station (cross-station view)",
            response_model=StationList, responses={**problem_responses(401), **NOT_MODIFIED})
async def latest(*, request: Request, settings: SettingsDep, registry: RegistryDep,
                 stored: StoredLatestDep, live: LiveDep, rendered: LatestBodyDep) -> Response:
    # Same data as /stations; kept as its own path so clients polling only the
    # latest values are not tied to the station listing's shape growing.
    return _all_json(request, settings, registry=registry, stored=stored, live=live,
                     rendered=rendered)


@router.get("/stations/{station_id}", summary="One station with its registry data",
            response_model=StationDetail,
            responses={**problem_responses(401, 404, 422), **NOT_MODIFIED})
async def get_station(*, request: Request, settings: SettingsDep, registry: RegistryDep,
                      stored: StoredLatestDep, live: LiveDep, station_id: str = StationId
                      ) -> Response:
    station = registry.get(station_id)
    if station is None:
        raise unknown_station(station_id)
    summary = station_summary(station, stored.latest or {}, live, settings, datetime.now(UTC))
    detail = StationDetail(
        **summary.model_dump(),
        basin=station.basin, river=station.river, route=station.route,
        location=station.location.model_dump(), interval_s=station.interval_s,
        levels_m=station.levels_m.model_dump() if station.levels_m else None,
    )
    return conditional(request, detail.model_dump_json().encode(), "application/json",
                       cache_control(settings, f"max-age={LIVE_MAX_AGE_S}"))
