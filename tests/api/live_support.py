"""Live-feed test helpers: engine-shaped alert events on the bus and in InfluxDB, and
clients that read the feed's messages with their ids (SSE and WebSocket)."""

from __future__ import annotations

import asyncio
import calendar
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import httpx
from websockets.asyncio.client import ClientConnection

from floodwatch.api.hub import LiveEvent, LiveFilter, LiveHub
from floodwatch.api.live_position import Position
from floodwatch.api.live_session import Joined, client_messages
from floodwatch.core.influx import InfluxClient
from floodwatch.core.lineprotocol import format_point
from floodwatch.core.registry import StationRegistry
from tests.alerts.process import publish_all

TIMEOUT_S = 15.0


def alert_event(station: str, seq: int, at: datetime, kind: str = "river") -> dict[str, Any]:
    """The fields of an engine event the live feed and the history read."""
    return {"event_id": f"{station}/{seq}", "seq": seq, "station": station, "kind": kind,
            "alert_id": f"{station}/1", "alert_type": "river_level", "transition": "raised",
            "level": 1, "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}


def history_line(event: dict[str, Any]) -> str:
    """The event's ``alert_event`` point as the engine writes it (alerts.history): the
    event time plus seq nanoseconds."""
    at = datetime.fromisoformat(event["at"])
    ns = (calendar.timegm(at.utctimetuple()) * 1_000_000_000 + at.microsecond * 1000
          + event["seq"])
    return format_point("alert_event", {"station": event["station"], "kind": event["kind"]},
                        {"event_id": event["event_id"], "seq": event["seq"],
                         "payload": json.dumps(event, separators=(",", ":"))}, ns)


async def publish_events(port: int, events: list[dict[str, Any]]) -> None:
    """On the bus as the engine publishes them (QoS 1, in order)."""
    await asyncio.to_thread(publish_all, port, [
        (f"floodwatch/alerts/{e['station']}", json.dumps(e).encode()) for e in events])


@dataclass(frozen=True)
class Message:
    id: str | None
    body: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.body["type"])


async def sse_messages(response: httpx.Response) -> AsyncIterator[Message]:
    """Each SSE event as EventSource would see it: its ``id:`` and its data."""
    event_id: str | None = None
    data: str | None = None
    async for line in response.aiter_lines():
        if line.startswith("id: "):
            event_id = line.removeprefix("id: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and data is not None:
            yield Message(event_id, json.loads(data))
            event_id = data = None


async def ws_message(ws: ClientConnection) -> Message:
    """The next message that is not a heartbeat."""
    while True:
        body: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
        if body["type"] != "heartbeat":
            return Message(body.get("id"), body)


async def next_sse(messages: AsyncIterator[Message]) -> Message:
    while True:
        message = await asyncio.wait_for(anext(messages), TIMEOUT_S)
        if message.type != "heartbeat":
            return message


def sent_after_join(before: list[LiveEvent], after: list[LiveEvent],
                    live_filter: LiveFilter | None = None) -> list[tuple[str, str, str | None]]:
    """(type, text, id) of what a fresh client that joins the hub between ``before`` and
    ``after`` is sent, up to its first heartbeat: through api.live_session's seams, with
    no server and no InfluxDB (a fresh client never reads it)."""
    async def scenario() -> list[tuple[str, str, str | None]]:
        hub = LiveHub(queue_size=10, replay_size=10)
        for event in before:
            hub.publish(event)
        client = hub.join(live_filter or LiveFilter())
        position = hub.position.copy()
        joined = Joined(client, {"type": "snapshot", "events": [], "id": position.token},
                        position, Position(), [], position.copy())
        for event in after:
            hub.publish(event)
        got: list[tuple[str, str, str | None]] = []
        async for message in client_messages(joined, cast(InfluxClient, None),
                                             cast(StationRegistry, None), hub.replay_reads,
                                             heartbeat_s=0.05):
            if message[0] == "heartbeat":
                break
            got.append(message)
        return got

    return asyncio.run(scenario())
