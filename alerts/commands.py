"""Officers' commands to the engine, as MQTT messages from the API.

Topics and payloads are the bus contract's (``bus.COMMANDS``, JSON objects whose unknown
keys are refused: a command is never half-understood)::

    floodwatch/commands/acknowledge/{station_id}    bus.AcknowledgeCommand
        {"command_id": "c-123", "issued_at": "2026-10-12T15:00:00+09:00",
         "officer": "tanaka", "alert_id": "fushiguro/3", "note": "seen, teams informed"}
    floodwatch/commands/flooding/{station_id}       bus.FloodingCommand
        {"command_id": "c-124", "issued_at": "...", "officer": "tanaka",
         "action": "declare" | "end", "note": "levee breach reported at ..."}

A command is answered by an alert event on ``bus.ALERTS`` whose ``cause.command_id`` is
the command's id; a refused command is answered on ``bus.COMMAND_REJECTIONS`` (see
``rejection_payload``) and logged. A command id seen before is ignored, so the API may
safely re-send.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from floodwatch.core import bus
from floodwatch.core.readings import format_ts
from floodwatch.core.registry import StationKind, StationRegistry

MAX_COMMAND_BYTES = 4096


class Command(BaseModel):
    """A validated command for one station."""

    model_config = ConfigDict(frozen=True)

    station: str
    body: bus.AcknowledgeCommand | bus.FloodingCommand


class CommandRejected(Exception):
    def __init__(self, reason: str, command_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.command_id = command_id


def parse_command(topic: str, payload: bytes, registry: StationRegistry) -> Command:
    parts = topic.removeprefix(bus.COMMANDS.prefix).split("/")
    if not topic.startswith(bus.COMMANDS.prefix) or len(parts) != 2:
        raise CommandRejected("topic must be " + bus.COMMANDS.name(
            verb="{" + "|".join(bus.COMMAND_VERBS) + "}", station="{station_id}"))
    verb, station = parts
    model = bus.COMMAND_VERBS.get(verb)
    if model is None:
        raise CommandRejected(f"unknown command {verb!r} ({', '.join(bus.COMMAND_VERBS)})")
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
    return bus.encode(bus.CommandRejection(
        topic=topic, command_id=command_id, reason=reason,
        rejected_at=format_ts(now or datetime.now(UTC))))
