"""Live push: /api/v1/live/ws (WebSocket) and /api/v1/live/sse (Server-Sent Events).

Both send the same JSON messages: first one ``snapshot`` (latest reading per station
and retained alert status, filtered), then ``reading``/``alert``/``status`` events as
they cross the bus, a ``heartbeat`` when idle, and ``dropped`` with a reason before the
server closes a client that fell behind. Neither touches InfluxDB.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from floodwatch.api.auth import KeyRing, Role, authorize
from floodwatch.api.deps import LiveDep, LiveReader, RegistryDep, SettingsDep
from floodwatch.api.hub import ClientDropped, LiveClient, LiveFilter, encode
from floodwatch.api.live import LiveCache
from floodwatch.api.problems import ProblemError, problem_responses
from floodwatch.core.registry import StationKind, StationRegistry

router = APIRouter(prefix="/api/v1/live", tags=["live"])

HEARTBEAT = encode({"type": "heartbeat"})
# WebSocket close code for "try again later" (RFC 6455 1013), used for slow consumers.
CLOSE_TRY_AGAIN = 1013

StationsQuery = Annotated[str | None, Query(
    description="Comma-separated station ids; all stations when absent.",
    examples=["sukagawa,fushiguro"], max_length=10_000)]
KindsQuery = Annotated[str | None, Query(
    description="Comma-separated kinds (river, road); all when absent.", examples=["river"],
    max_length=100)]
AlertsOnlyQuery = Annotated[bool, Query(description="Only alert events and status.")]


def parse_filter(registry: StationRegistry, stations: str | None, kinds: str | None,
                 alerts_only: bool) -> LiveFilter:
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
    return LiveFilter(station_set, kind_set, alerts_only)


def _join(live: LiveCache, live_filter: LiveFilter) -> tuple[LiveClient, dict[str, Any]]:
    # Join and snapshot with no await between: no bus event can fall in the gap.
    client = live.hub.join(live_filter)
    return client, {"type": "snapshot", "events": live.snapshot(live_filter)}


async def _messages(client: LiveClient, first: dict[str, Any],
                    heartbeat_s: float) -> AsyncIterator[tuple[str, str]]:
    """(type, JSON text) of each message for one client. A bus event is encoded once
    (LiveEvent.text) however many clients it goes to."""
    yield "snapshot", encode(first)
    while True:
        try:
            event = await client.next(heartbeat_s)
        except ClientDropped as exc:
            yield "dropped", encode({"type": "dropped", "reason": str(exc)})
            return
        if event is None:
            yield "heartbeat", HEARTBEAT
        else:
            yield event.type, event.text


@router.websocket("/ws")
async def live_ws(websocket: WebSocket, *, settings: SettingsDep, registry: RegistryDep,
                  live: LiveDep, stations: StationsQuery = None, kinds: KindsQuery = None,
                  alerts_only: AlertsOnlyQuery = False) -> None:
    await websocket.accept()
    keys: KeyRing = websocket.app.state.services.keys
    try:
        authorize(websocket, keys, Role.VIEWER, public=settings.api_public_read,
                  allow_query=True)
        live_filter = parse_filter(registry, stations, kinds, alerts_only)
    except ProblemError as exc:
        # Accepted first so the client sees why: a refused handshake is a bare 403.
        # 1008 is "policy violation"; the problem document goes along as a message.
        await websocket.send_json({"type": "error", "problem": exc.problem.model_dump()})
        await websocket.close(code=1008, reason=exc.problem.title)
        return
    client, first = _join(live, live_filter)
    # A client that goes away is only noticed by reading: watch for it alongside the
    # sender, which may otherwise sit in a heartbeat wait for a long time.
    sender = asyncio.create_task(_send(websocket, live, client, first,
                                       settings.api_heartbeat_s))
    watcher = asyncio.create_task(_until_disconnect(websocket))
    try:
        await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        live.hub.leave(client)
        for task in (sender, watcher):
            task.cancel()
        await asyncio.gather(sender, watcher, return_exceptions=True)


async def _send(websocket: WebSocket, live: LiveCache, client: LiveClient,
                first: dict[str, Any], heartbeat_s: float) -> None:
    try:
        async for kind, text in _messages(client, first, heartbeat_s):
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
            response_class=StreamingResponse, responses={
                200: {"content": {"text/event-stream": {}},
                      "description": "Events: snapshot, reading, alert, status, "
                      "heartbeat, dropped (data: JSON)."},
                **problem_responses(401, 404, 422)})
async def live_sse(*, _reader: LiveReader, settings: SettingsDep, registry: RegistryDep,
                   live: LiveDep,
                   stations: StationsQuery = None, kinds: KindsQuery = None,
                   alerts_only: AlertsOnlyQuery = False) -> StreamingResponse:
    live_filter = parse_filter(registry, stations, kinds, alerts_only)
    client, first = _join(live, live_filter)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for kind, text in _messages(client, first, settings.api_heartbeat_s):
                yield f"event: {kind}\ndata: {text}\n\n".encode()
        finally:
            live.hub.leave(client)

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
