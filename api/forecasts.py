"""``GET /api/v1/stations/{id}/forecast``: a river gauge's newest level forecast, from the
bus (the forecast stage's retained message, api.live), and whether it is current.

A forecast is issued on one reading and says what the river will do after it. Once a
newer reading has come without a newer forecast (the forecast stage is behind, down, or
could not forecast on it), or the station has gone stale, it no longer says what the
river is expected to do now: the answer marks it ``current: false`` with the reason, so
no client draws an old forecast as today's. The newest reading is the one /stations
shows (bus and InfluxDB, newest wins); with InfluxDB down the bus alone answers.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from floodwatch.api.deps import LiveDep, RegistryDep, SettingsDep, StoredLatestDep
from floodwatch.api.forecast_models import Forecast, StaleReason, StationForecast
from floodwatch.api.http_cache import LIVE_MAX_AGE_S, NOT_MODIFIED, cache_control, conditional
from floodwatch.api.models import StationSummary
from floodwatch.api.problems import ProblemError, problem_responses, unknown_station
from floodwatch.api.stations import StationId, station_summary

router = APIRouter(prefix="/api/v1", tags=["stations"])


def no_forecast(station_id: str) -> ProblemError:
    return ProblemError(404, "no-forecast", "No forecast",
                        f"no forecast of {station_id!r} has reached this API (river gauges "
                        "only, from the forecast stage, on each reading)")


def stale_reason(forecast: Forecast, summary: StationSummary) -> StaleReason | None:
    """Why ``forecast`` is not what the river is expected to do now (None: it is)."""
    if summary.stale:
        return "station_stale"
    if summary.latest is not None and forecast.issued_at < summary.latest.ts:
        return "newer_reading"
    return None


@router.get("/stations/{station_id}/forecast",
            summary="A river gauge's newest level forecast, and whether it is current",
            response_model=StationForecast,
            responses={**problem_responses(401, 404, 422), **NOT_MODIFIED})
async def get_forecast(*, request: Request, settings: SettingsDep, registry: RegistryDep,
                       stored: StoredLatestDep, live: LiveDep, station_id: str = StationId
                       ) -> Response:
    station = registry.get(station_id)
    if station is None:
        raise unknown_station(station_id)
    forecast = live.forecast(station_id)
    if forecast is None:
        raise no_forecast(station_id)
    summary = station_summary(station, stored.latest or {}, live, settings,
                              datetime.now(UTC))
    reason = stale_reason(forecast, summary)
    answer = StationForecast(
        station=station_id, current=reason is None, stale_reason=reason,
        latest_reading_at=summary.latest.ts if summary.latest else None, forecast=forecast)
    return conditional(request, answer.model_dump_json().encode(), "application/json",
                       cache_control(settings, f"max-age={LIVE_MAX_AGE_S}"))
