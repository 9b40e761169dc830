"""Live push: /api/v1/live/ws (WebSocket) and /api/v1/live/sse (Server-Sent Events).

Both send the same JSON messages (api.live_messages): first one ``snapshot`` (latest
reading per station, retained alert status and newest forecast, filtered), then
``reading``/``alert``/``status``/``forecast`` events as they cross the bus, a
``heartbeat`` when idle, and ``dropped`` with a reason before the server closes a
client that fell behind.

Alert events and the snapshot carry an ``id`` (SSE: the ``id:`` field): the client's
position, the last seq it has of each station (api.live_position). A client that
comes back with its last id (SSE: ``Last-Event-ID``, which EventSource sends by itself,
or ``since=``; WebSocket: ``since=``) gets the snapshot, then every alert event it missed,
once (api.resume), then the live events. Only a resume that needs events the replay
buffer no longer holds reads InfluxDB; everything else works while it is down.

A client without a key (public read) is shown only what residents may be told
(api.audience): its statuses as residents were told them, no staff-only alert event.

This module is the two endpoints; the messages one client is sent, the same on both,
are api.live_session's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, WebSocket, WebSocketDisconnect

from floodwatch.api.audience import keyless
from floodwatch.api.auth import KeyRing, Role, authorize
from floodwatch.api.connection_limits import CLOSE_TRY_AGAIN
from floodwatch.api.deps import InfluxDep, LiveDep, LiveReader, RegistryDep, SettingsDep
from floodwatch.api.hub import LiveFilter
from floodwatch.api.live_messages import EventStreamResponse, LiveMessage, document_websocket
from floodwatch.api.live_position import Position
from floodwatch.api.live_session import client_messages, join_client
from floodwatch.api.problems import ProblemError, problem_responses
from floodwatch.core.registry import StationKind, StationRegistry

router = APIRouter(prefix="/api/v1/live", tags=["live"])
document_websocket(router)

StationsQuery = Annotated[str | None, Query(
    description="Comma-separated station ids; all stations when absent.",
    examples=["sukagawa,fushiguro"], max_length=10_000)]
KindsQuery = Annotated[str | None, Query(
    description="Comma-separated kinds (river, road); all when absent.", examples=["river"],
    max_length=100)]
AlertsOnlyQuery = Annotated[bool, Query(
    description="Only alert events and status (no readings, no forecasts).")]


def parse_filter(registry: StationRegistry, stations: str | None, kinds: str | None,
                 alerts_only: bool, *, residents_only: bool = False) -> LiveFilter:
    """``residents_only``: the client came without a key (api.audience)."""
    station_set = None
    if stations is not None:
        station_set = frozenset(part for part in stations.split(",") if part)
        unknown = sorted(station_set - {s.id for s in registry})
        if unknown:
            raise ProblemError(404, "unknown-station", "Unknown station",
                               f"not in the registry: {', '.join(unknown)[:200]}")
    kind_set = None
    if kinds is not None:
        kind_set = frozenset(part for part in kinds.split(",") if part)
        bad = sorted(kind_set - {kind.value for kind in StationKind})
        if bad:
            raise ProblemError(422, "bad-parameter", "Bad parameter",
                               f"kinds: unknown kind(s) {', '.join(bad)[:200]}")
    return LiveFilter(station_set, kind_set, alerts_only, residents_only)


SinceQuery = Annotated[str | None, Query(
    description="The last event id received: the alert events after it are replayed "
    "first. (SSE: the Last-Event-ID header, which EventSource sends, takes precedence.)",
)]
# No max_length on ids (here, the WebSocket's and Last-Event-ID): FastAPI would answer
# 422 (a bare 403 on the WebSocket); Position.parse refuses an overlong id itself and
# the client starts afresh, told by a gap message.
WsSinceQuery = Annotated[str | None, Query(
    description="The last event id received: the alert events after it are replayed "
    "first.")]



def _since(value: str | None, name: str, deployment: str,
           registry: StationRegistry) -> tuple[Position | None, str | None]:
    """The position an id names, or None and why it cannot be used. A bad id is not a
    4xx: EventSource gives up for good on one, and a WebSocket app would retry the same
    id forever; the client starts afresh and a gap message says why."""
    # EventSource sends an empty Last-Event-ID when it has none: not an error.
    if not value:
        return None, None
    try:
        return Position.parse(value, deployment, registry), None
    except ValueError as exc:
        return None, f"{name}: {exc}"


@router.websocket("/ws")
async def live_ws(websocket: WebSocket, *, settings: SettingsDep, registry: RegistryDep,
                  live: LiveDep, influx: InfluxDep, stations: StationsQuery = None,
                  kinds: KindsQuery = None, alerts_only: AlertsOnlyQuery = False,
                  since: WsSinceQuery = None) -> None:
    await websocket.accept()
    keys: KeyRing = websocket.app.state.services.keys
    try:
        reader = authorize(websocket, keys, Role.VIEWER, public=settings.api_public_read,
                           allow_query=True)
        live_filter = parse_filter(registry, stations, kinds, alerts_only,
                                   residents_only=keyless(reader))
    except ProblemError as exc:
        # Accepted first so the client sees why: a refused handshake is a bare 403.
        # 1008 is "policy violation"; the problem document goes along as a message.
        await websocket.send_json({"type": "error", "problem": exc.problem.model_dump()})
        await websocket.close(code=1008, reason=exc.problem.title)
        return
    since_position, unusable = _since(since, "since", settings.deployment_id, registry)
    joined = join_client(live, live_filter, since_position, unusable)
    client = joined.client
    # A client that goes away is only noticed by reading: watch for it alongside the
    # sender, which may otherwise sit in a heartbeat wait for a long time.
    sender = asyncio.create_task(_send(websocket, client_messages(
        joined, influx, registry, live.hub.replay_reads,
        heartbeat_s=settings.api_heartbeat_s, window_days=settings.api_live_replay_days)))
    watcher = asyncio.create_task(_until_disconnect(websocket))
    try:
        await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        live.hub.leave(client)
        for task in (sender, watcher):
            task.cancel()
        await asyncio.gather(sender, watcher, return_exceptions=True)


async def _send(websocket: WebSocket,
                messages: AsyncIterator[tuple[str, str, str | None]]) -> None:
    try:
        async for kind, text, _id in messages:
            await websocket.send_text(text)
            if kind == "dropped":
                await websocket.close(code=CLOSE_TRY_AGAIN, reason="slow consumer")
                return
    except (WebSocketDisconnect, RuntimeError):
        # RuntimeError: starlette's "send after close" when the client left meanwhile.
        return


async def _until_disconnect(websocket: WebSocket) -> None:
    # Clients have nothing to say on this feed; whatever they send is ignored.
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()


@router.get("/sse", summary="Live feed as Server-Sent Events",
            response_class=EventStreamResponse, responses={
                200: {"model": LiveMessage,
                      "description": "Events: snapshot, reading, alert, status, "
                      "forecast, heartbeat, dropped, gap; each event's data is one "
                      "LiveMessage (see GET /api/v1/live/ws); alert events and the "
                      "snapshot have an id."},
                **problem_responses(401, 404, 422)})
async def live_sse(*, reader: LiveReader, settings: SettingsDep, registry: RegistryDep,
                   live: LiveDep, influx: InfluxDep,
                   stations: StationsQuery = None, kinds: KindsQuery = None,
                   alerts_only: AlertsOnlyQuery = False, since: SinceQuery = None,
                   last_event_id: Annotated[str | None, Header(
                       alias="Last-Event-ID",
                       description="Sent by EventSource when it reconnects.")] = None,
                   ) -> EventStreamResponse:
    live_filter = parse_filter(registry, stations, kinds, alerts_only,
                               residents_only=keyless(reader))
    # EventSource reconnects to the same URL: its Last-Event-ID is newer than since=.
    since_position, unusable = (
        _since(last_event_id, "Last-Event-ID", settings.deployment_id, registry)
        if last_event_id else _since(since, "since", settings.deployment_id, registry))
    joined = join_client(live, live_filter, since_position, unusable)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for kind, text, event_id in client_messages(
                    joined, influx, registry, live.hub.replay_reads,
                    heartbeat_s=settings.api_heartbeat_s,
                    window_days=settings.api_live_replay_days):
                id_line = "" if event_id is None else f"id: {event_id}\n"
                yield f"{id_line}event: {kind}\ndata: {text}\n\n".encode()
        finally:
            live.hub.leave(joined.client)

    return EventStreamResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
