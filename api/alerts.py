"""Alerts as the alert engine publishes them: open alerts from its retained status
topics (so they keep answering while InfluxDB is down) and acknowledgement by an
officer, sent as a command on ``floodwatch/commands/acknowledge/{station}`` (see
docs/alerts.md). The engine answers with an ``acknowledged`` event on the live feed.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import LiveDep, Officer, RegistryDep
from api.problems import ProblemError, problem_responses, unknown_station
from core.readings import format_ts

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

ALERT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}/[0-9]{1,12}$"


class OpenAlerts(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"alerts": [{
        "station": "sukagawa", "alert_id": "sukagawa/1", "alert_type": "river_level",
        "level": 3, "level_name": "evacuation", "acknowledged": False}]}]}}

    alerts: list[dict[str, Any]] = Field(
        description="Each open alert as in the engine's status, plus its station.")


class Acknowledge(BaseModel):
    model_config = {"extra": "forbid"}

    alert_id: str = Field(pattern=ALERT_ID_PATTERN, examples=["sukagawa/1"])
    note: str | None = Field(default=None, max_length=500)


class CommandSent(BaseModel):
    command_id: str
    topic: str


@router.get("/open", summary="Open alerts of every station (from the engine's status)")
async def open_alerts(live: LiveDep) -> OpenAlerts:
    alerts = []
    for station, status in sorted(live.statuses().items()):
        for alert in status.get("alerts", []):
            if isinstance(alert, dict):
                alerts.append({"station": station, **alert})
    return OpenAlerts(alerts=alerts)


@router.post("/acknowledge", status_code=202,
             responses=problem_responses(400, 401, 403, 404, 413, 422),
             summary="Acknowledge an open alert (officer)")
async def acknowledge(body: Acknowledge, officer: Officer, registry: RegistryDep,
                      live: LiveDep) -> CommandSent:
    station = body.alert_id.split("/", 1)[0]
    if station not in registry:
        raise unknown_station(station)
    status = live.statuses().get(station, {})
    open_ids = {a.get("alert_id") for a in status.get("alerts", []) if isinstance(a, dict)}
    if body.alert_id not in open_ids:
        raise ProblemError(404, "unknown-alert", "No such open alert",
                           f"{body.alert_id!r} is not open (as far as the bus shows)")
    command: dict[str, Any] = {
        "command_id": f"api-{uuid.uuid4().hex}",
        "issued_at": format_ts(datetime.now(UTC)),
        # The key's digest prefix: who acted, provably, without exposing the key.
        "officer": f"api-key:{officer.key_id}",
        "alert_id": body.alert_id,
    }
    if body.note is not None:
        command["note"] = body.note
    topic = f"floodwatch/commands/acknowledge/{station}"
    live.publish(topic, json.dumps(command, ensure_ascii=False).encode())
    return CommandSent(command_id=command["command_id"], topic=topic)
