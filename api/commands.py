"""Officers' commands to the alert engine, built from the bus contract's models exactly
as the engine reads them (docs/alerts.md): ``bus.COMMANDS`` with the verbs
``acknowledge`` and ``flooding``. The API answers 202 with the command id; the engine
answers with an alert event (``cause.command_id``) on the live feed, or with a rejection
on ``bus.COMMAND_REJECTIONS``.

What the API can check against the engine's retained status it checks first, so an
officer gets a clear 404/409 at once instead of a silent rejection on the bus.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from floodwatch.api.alert_history import StationPath
from floodwatch.api.auth import Principal
from floodwatch.api.deps import LiveDep, Officer, RegistryDep
from floodwatch.api.live import LiveCache
from floodwatch.api.problems import ProblemError, problem_responses, unknown_station
from floodwatch.core import bus
from floodwatch.core.registry import StationKind
from floodwatch.core.text import OneLineText

router = APIRouter(prefix="/api/v1", tags=["commands"])

ALERT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}/[0-9]{1,12}$"
NOTE = Field(default=None, max_length=500, description=(
    "Kept with the engine's event. One line: control characters (U+0000-U+001F, "
    "U+007F-U+009F) are refused with 422."))


class Acknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"alert_id": "sukagawa/1", "level": 4, "note": "確認しました"}]})

    alert_id: str = Field(pattern=ALERT_ID_PATTERN, examples=["sukagawa/1"])
    level: int | None = Field(default=None, ge=0, le=9, description=(
        "The alert's level as the officer saw it (the open alert's `level`). Refused with "
        "409 `alert-level-changed` when the alert is at another level now, here or, if it "
        "moves in between, by the alert engine: an acknowledgement confirmed for one level "
        "never acknowledges a higher one. Absent: whatever the level."))
    note: OneLineText | None = NOTE


class FloodingCommand(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"action": "declare", "note": "左岸で越水を確認 (overtopping, left bank)"}]})

    action: Literal["declare", "end"] = Field(
        description="declare: flooding (level 5) from now until an officer ends it.")
    note: OneLineText | None = NOTE


class CommandSent(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "command_id": "api-4f1c2b7e9a6d4c3b8e2f1a0b9c8d7e6f",
        "topic": bus.COMMANDS.name(verb="acknowledge", station="sukagawa")}]})

    command_id: str
    topic: str


def send_command(live: LiveCache, verb: str, station: str, officer: Principal,
          fields: dict[str, Any]) -> CommandSent:
    command = bus.COMMAND_VERBS[verb].model_validate({
        "command_id": f"api-{uuid.uuid4().hex}",
        "issued_at": datetime.now(UTC),
        # The key's digest prefix: who acted, provably, without exposing the key.
        "officer": f"api-key:{officer.key_id}",
        **fields,
    })
    topic = bus.COMMANDS.name(verb=verb, station=station)
    live.publish(topic, bus.encode_command(command))
    return CommandSent(command_id=command.command_id, topic=topic)


@router.post("/alerts/acknowledge", status_code=202, tags=["alerts"],
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
             summary="Acknowledge an open alert (officer)")
async def acknowledge(body: Acknowledge, officer: Officer, registry: RegistryDep,
                      live: LiveDep) -> CommandSent:
    station = body.alert_id.split("/", 1)[0]
    if station not in registry:
        raise unknown_station(station)
    shown = {alert.get("alert_id"): alert for at, alert in live.open_alerts() if at == station}
    alert = shown.get(body.alert_id)
    if alert is None:
        raise ProblemError(404, "unknown-alert", "No such open alert",
                           f"{body.alert_id!r} is not open (as far as the bus shows)")
    if body.level is not None and alert.get("level") != body.level:
        raise ProblemError(409, "alert-level-changed", "The alert's level has changed",
                           f"{body.alert_id} is now at level {alert.get('level')}, not "
                           f"{body.level}: look at it again before acknowledging")
    return send_command(live, "acknowledge", station, officer,
                        {"alert_id": body.alert_id, "level": body.level, "note": body.note})


@router.post("/stations/{station_id}/flooding", status_code=202, tags=["stations"],
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
             summary="Declare or end a flooding state (氾濫発生) at a river station (officer)")
async def flooding(station_id: StationPath, body: FloodingCommand, officer: Officer,
                   registry: RegistryDep, live: LiveDep) -> CommandSent:
    station = registry.get(station_id)
    if station is None:
        raise unknown_station(station_id)
    if station.kind is not StationKind.RIVER:
        raise ProblemError(422, "not-a-river", "Not a river station",
                           f"flooding is declared for river stations only; "
                           f"{station_id!r} is a {station.kind.value} station")
    declared = live.flooding_declared(station_id)
    # Unknown (no status seen yet): send anyway, the engine has the final word.
    if declared is True and body.action == "declare":
        raise ProblemError(409, "flooding-state", "Flooding already declared",
                           f"flooding is already declared at {station_id!r}")
    if declared is False and body.action == "end":
        raise ProblemError(409, "flooding-state", "Flooding not declared",
                           f"flooding was not declared at {station_id!r} by an officer")
    return send_command(live, "flooding", station_id, officer,
                        {"action": body.action, "note": body.note})
