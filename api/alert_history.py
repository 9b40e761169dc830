"""Alert history from InfluxDB's ``alert_event`` measurement, written by the alert
engine (docs/alerts.md): each point's ``payload`` field is the event JSON as published.

Filters reach InfluxQL only after validation against the registry or strict patterns.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import InfluxDep, RegistryDep, SettingsDep
from api.problems import (
    ProblemError,
    bad_range,
    influx_unavailable,
    problem_responses,
    unknown_station,
)
from api.readings import aware
from core.influx import InfluxClient, InfluxError

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

DEFAULT_RANGE = timedelta(days=7)


class AlertEvents(BaseModel):
    events: list[dict[str, Any]]


async def _payloads(influx: InfluxClient, where: str, limit: int) -> list[dict[str, Any]]:
    query = (f'SELECT "payload" FROM "alert_event" WHERE {where} '  # noqa: S608
             f"ORDER BY time DESC LIMIT {limit}")
    try:
        rows = await influx.query(query)
    except InfluxError as exc:
        if "database not found" in str(exc):
            return []
        raise influx_unavailable() from exc
    events = []
    for row in rows:
        try:
            event = json.loads(row.get("payload") or "")
        except ValueError:
            continue  # a point we cannot read is skipped, not a failed request
        if isinstance(event, dict):
            events.append(event)
    return events


@router.get("/history", summary="Alert events, newest first",
            responses=problem_responses(400, 404, 422, 503))
async def history(
    *, settings: SettingsDep, registry: RegistryDep, influx: InfluxDep,
    station: Annotated[str | None, Query(examples=["sukagawa"], max_length=64)] = None,
    start: Annotated[datetime | None, Query(description="Default: end - 7 days.")] = None,
    end: Annotated[datetime | None, Query(description="Default: now.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AlertEvents:
    end_at = aware(end, "end") if end is not None else datetime.now(UTC)
    start_at = aware(start, "start") if start is not None else end_at - DEFAULT_RANGE
    if start_at >= end_at:
        raise bad_range("start must be before end")
    if end_at - start_at > timedelta(days=settings.api_max_range_days):
        raise bad_range(f"range longer than {settings.api_max_range_days:g} days")
    where = (f"time >= {int(start_at.timestamp() * 1e6)}000 "
             f"AND time < {int(end_at.timestamp() * 1e6)}000")
    if station is not None:
        if station not in registry:
            raise unknown_station(station)
        where += f" AND \"station\" = '{station}'"
    return AlertEvents(events=await _payloads(influx, where, limit))


@router.get("/{station_id}/{number}", summary="One alert with all its events, newest first",
            responses=problem_responses(404, 422, 503))
async def one_alert(
    registry: RegistryDep, influx: InfluxDep,
    station_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")],
    number: Annotated[int, Path(ge=1, le=999_999_999_999)],
) -> AlertEvents:
    if station_id not in registry:
        raise unknown_station(station_id)
    alert_id = f"{station_id}/{number}"
    events = await _payloads(
        influx, f"\"station\" = '{station_id}' AND \"alert_id\" = '{alert_id}'", 1000)
    if not events:
        raise ProblemError(404, "unknown-alert", "Unknown alert", f"no events of {alert_id!r}")
    return AlertEvents(events=events)
