"""/api/v1/stations and /api/v1/latest: every station with its newest reading, level
band and staleness. InfluxDB and the bus cache are merged (newest wins), and when
InfluxDB is down the bus alone answers, saying so in ``source``."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from fastapi import APIRouter, Path

from api.deps import InfluxDep, LiveDep, RegistryDep, SettingsDep
from api.levels import BAND_RANK, is_stale, station_band
from api.live import LiveCache
from api.models import LatestReading, LevelStatus, StationDetail, StationList, StationSummary
from api.problems import problem_responses, unknown_station
from api.store import latest_by_station
from core.influx import InfluxClient, InfluxError
from core.readings import FieldValue
from core.registry import STATION_ID_PATTERN, Station, StationKind, StationRegistry
from core.settings import Settings

log = structlog.get_logger("api.stations")

router = APIRouter(prefix="/api/v1", tags=["stations"])

Latest = dict[str, tuple[datetime, dict[str, FieldValue]]]
StationId = Path(pattern=STATION_ID_PATTERN, examples=["fushiguro"])


async def _stored_latest(influx: InfluxClient) -> Latest | None:
    latest: Latest = {}
    try:
        for kind in StationKind:
            latest.update(await latest_by_station(influx, kind))
    except InfluxError as exc:
        # A database not created yet simply holds nothing; anything else is an outage.
        if "database not found" in str(exc):
            return latest
        log.warning("latest readings unavailable from InfluxDB", error=str(exc))
        return None
    return latest


def _summary(station: Station, stored: Latest, live: LiveCache, settings: Settings,
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


async def _all(settings: Settings, registry: StationRegistry, influx: InfluxClient,
               live: LiveCache) -> StationList:
    stored = await _stored_latest(influx)
    now = datetime.now(UTC)
    summaries = [_summary(s, stored or {}, live, settings, now) for s in registry]
    return StationList(stations=summaries, source="bus" if stored is None else "influxdb+bus")


@router.get("/stations", summary="All stations with their latest reading")
async def list_stations(settings: SettingsDep, registry: RegistryDep, influx: InfluxDep,
                        live: LiveDep) -> StationList:
    return await _all(settings, registry, influx, live)


@router.get("/latest", summary="Latest reading of every station (cross-station view)")
async def latest(settings: SettingsDep, registry: RegistryDep, influx: InfluxDep,
                 live: LiveDep) -> StationList:
    # Same data as /stations; kept as its own path so clients polling only the
    # latest values are not tied to the station listing's shape growing.
    return await _all(settings, registry, influx, live)


@router.get("/stations/{station_id}", summary="One station with its registry data",
            responses=problem_responses(404, 422))
async def get_station(settings: SettingsDep, registry: RegistryDep, influx: InfluxDep,
                      live: LiveDep, station_id: str = StationId) -> StationDetail:
    station = registry.get(station_id)
    if station is None:
        raise unknown_station(station_id)
    stored = await _stored_latest(influx) or {}
    summary = _summary(station, stored, live, settings, datetime.now(UTC))
    return StationDetail(
        **summary.model_dump(),
        basin=station.basin, river=station.river, route=station.route,
        location=station.location.model_dump(), interval_s=station.interval_s,
        levels_m=station.levels_m.model_dump() if station.levels_m else None,
    )
