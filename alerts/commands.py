"""Officers' commands to the engine, as MQTT messages from the API.

Topics and payloads (JSON objects; unknown keys are refused)::

    floodwatch/commands/acknowledge/{station_id}
        {"command_id": "c-123", "issued_at": "2026-10-12T15:00:00+09:00",
         "officer": "tanaka", "alert_id": "fushiguro/3", "note": "seen, teams informed"}
    floodwatch/commands/flooding/{station_id}
        {"command_id": "c-124", "issued_at": "...", "officer": "tanaka",
         "action": "declare" | "end", "note": "levee breach reported at ..."}

A command is answered by an alert event on ``floodwatch/alerts/{station_id}`` whose
``cause.command_id`` is the command's id; a refused command is answered on
``floodwatch/command-rejections`` (see ``rejection_payload``) and logged. A command id
seen before is ignored, so the API may safely re-send.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from floodwatch.core.readings import format_ts
from floodwatch.core.registry import StationKind, StationRegistry

COMMAND_TOPICS = ("floodwatch/commands/#",)
REJECTIONS_TOPIC = "floodwatch/command-rejections"
MAX_COMMAND_BYTES = 4096


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    command_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    issued_at: AwareDatetime
    officer: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=500)


class Acknowledge(_Command):
    alert_id: str = Field(min_length=1, max_length=100)


class Flooding(_Command):
    action: Literal["declare", "end"]


class Command(BaseModel):
    """A validated command for one station."""

    model_config = ConfigDict(frozen=True)

    station: str
    body: Acknowledge | Flooding


class CommandRejected(Exception):
    def __init__(self, reason: str, command_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.command_id = command_id


def parse_command(topic: str, payload: bytes, registry: StationRegistry) -> Command:
    parts = topic.split("/")
    if len(parts) != 4 or parts[:2] != ["floodwatch", "commands"]:
        raise CommandRejected("topic must be floodwatch/commands/{acknowledge|flooding}/"
                              "{station_id}")
    _, _, verb, station = parts
    model: type[Acknowledge] | type[Flooding]
    if verb == "acknowledge":
        model = Acknowledge
    elif verb == "flooding":
        model = Flooding
    else:
        raise CommandRejected(f"unknown command {verb!r} (acknowledge, flooding)")
    if station not in registry:
        raise CommandRejected(f"unknown station {station!r}")
    if len(payload) > MAX_COMMAND_BYTES:
        raise CommandRejected(f"payload larger than {MAX_COMMAND_BYTES} bytes")
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandRejected(f"not JSON: {exc}") from exc
    command_id = data.get("command_id") if isinstance(data, dict) else None
    try:
        body = model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "payload"
        raise CommandRejected(f"{where}: {error['msg']}",
                              command_id if isinstance(command_id, str) else None) from exc
    found = registry.get(station)
    if verb == "flooding" and found is not None and found.kind is not StationKind.RIVER:
        raise CommandRejected("flooding is declared for river stations only", body.command_id)
    return Command(station=station, body=body)


def rejection_payload(topic: str, reason: str, command_id: str | None,
                      now: datetime | None = None) -> bytes:
    return json.dumps(
        {"topic": topic, "command_id": command_id, "reason": reason,
         "rejected_at": format_ts(now or datetime.now(UTC))},
        ensure_ascii=False, separators=(",", ":"),
    ).encode()
