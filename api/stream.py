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
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, WebSocket, WebSocketDisconnect

from floodwatch.api.auth import KeyRing, Role, authorize
from floodwatch.api.connection_limits import CLOSE_TRY_AGAIN
from floodwatch.api.deps import InfluxDep, LiveDep, LiveReader, RegistryDep, SettingsDep
from floodwatch.api.hub import ClientDropped, LiveClient, LiveEvent, LiveFilter, encode
from floodwatch.api.live import LiveCache
from floodwatch.api.live_messages import EventStreamResponse, LiveMessage, document_websocket
from floodwatch.api.live_position import Position
from floodwatch.api.problems import ProblemError, problem_responses
from floodwatch.api.replay_gaps import Missing, gap_message
from floodwatch.api.resume import replay_since
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationKind, StationRegistry

router = APIRouter(prefix="/api/v1/live", tags=["live"])
document_websocket(router)

HEARTBEAT = encode({"type": "heartbeat"})

StationsQuery = Annotated[str | None, Query(
    description="Comma-separated station ids; all stations when absent.",
    examples=["sukagawa,fushiguro"], max_length=10_000)]
KindsQuery = Annotated[str | None, Query(
    description="Comma-separated kinds (river, road); all when absent.", examples=["river"],
    max_length=100)]
AlertsOnlyQuery = Annotated[bool, Query(
    description="Only alert events and status (no readings, no forecasts).")]


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


@dataclass(frozen=True, slots=True)
class Joined:
    client: LiveClient
    snapshot: dict[str, Any]  # its events: LiveEvents, each encoded once (snapshot_text)
    position: Position  # what the client has, as its id says: advanced as events go
    # What this connection knows the client has: the position it resumed from and what
    # was sent. A live event at or below it is a duplicate. Not ``position``: a fresh
    # client's starts at the engine's status seqs, and an event must never be held back
    # on the strength of a status alone.
    sent: Position
    # Resuming only (empty otherwise, and dropped after the replay: a joined client
    # holds no copy of the ring): the replay buffer and the API's position at the join.
    buffered: list[LiveEvent]
    newest: Position
    # Why the id given could not be used (the client starts afresh and is told), or None.
    unusable: str | None = None
    resumed: bool = False  # an id to resume from was given (and usable)
    # (station, first, last) ranges a gap message has named: a step over one of them is
    # expected, not a new hole.
    told: set[tuple[str, int, int]] = field(default_factory=set)


def _join(live: LiveCache, live_filter: LiveFilter, since: Position | None,
          unusable: str | None = None) -> Joined:
    # Join, copy the replay buffer and snapshot with no await between: every bus event
    # is then either in the copy or in the client's queue (or both: sent once).
    client = live.hub.join(live_filter)
    # The hub's token first, so its copies share it and, advancing in step with the hub,
    # find their next tokens in the cache the hub fills (api.live_position).
    _ = live.hub.position.token
    if since is not None and not since.seqs:
        # An id naming no events (given before this API knew any status): replaying
        # from it would send the whole record. Start afresh, and say so if there was
        # anything to miss.
        since = None
        if live.hub.position.only(live_filter.stations).seqs:
            unusable = "the event id named no alert events"
    newest = live.hub.position.only(live_filter.stations)
    buffered = [] if since is None else live.hub.replay.copy()
    # A fresh client has what the API has had (the snapshot shows the state it led to);
    # a resumed one has what it says until the replay moves it on.
    # (A fresh client's ``newest`` is never read: no replay. Its position is that copy.)
    position = newest if since is None else since.only(live_filter.stations)
    snapshot: dict[str, Any] = {"type": "snapshot", "events": live.snapshot(live_filter),
                                "id": position.token}
    sent = Position() if since is None else position.copy()
    return Joined(client, snapshot, position, sent, buffered, newest, unusable,
                  resumed=since is not None)


Message = tuple[str, str, str | None]


async def _messages(joined: Joined, influx: InfluxClient, registry: StationRegistry,
                    reads: asyncio.Semaphore, *, heartbeat_s: float,
                    window_days: int = 92) -> AsyncIterator[Message]:
    """(type, JSON text, id) of each message for one client. A bus event is encoded once
    (LiveEvent.text) however many clients it goes to; only the id is the client's."""
    client = joined.client
    yield "snapshot", snapshot_text(joined.snapshot), joined.position.token
    if joined.unusable is not None:
        yield "gap", encode(gap_message(
            f"{joined.unusable}; started afresh, alert events since the last connection "
            "may be missing", [])), None
    if joined.resumed:
        replay = await replay_since(joined.sent.copy(), newest=joined.newest,
                                    buffered=joined.buffered, influx=influx,
                                    registry=registry, live_filter=client.filter,
                                    reads=reads, window_days=window_days)
        joined.buffered.clear()  # the replay has what it needs: release the copy
        if replay.missing:  # first, so the client knows before it moves past them
            yield "gap", encode(gap_message(replay.reason, replay.missing)), None
            joined.told.update((m.station, m.first, m.last) for m in replay.missing
                               if m.last is not None)
        for missed in replay.events:
            for message in _sent(missed, joined):
                yield message
        # Named at the end of a station's replay: the id moves past them (told).
        for m in replay.missing:
            if m.last is not None:
                joined.sent.advance(m.station, m.last)
                joined.position.advance(m.station, m.last)
    while True:
        try:
            event = await client.next(heartbeat_s)
        except ClientDropped as exc:
            yield "dropped", encode({"type": "dropped", "reason": str(exc)}), None
            return
        if event is None:
            yield "heartbeat", HEARTBEAT, None
        else:
            for message in _sent(event, joined):
                yield message


def snapshot_text(snapshot: dict[str, Any]) -> str:
    """The snapshot as sent: each event's text as the hub encoded it once for every client
    (LiveEvent.text), joined, rather than every event encoded again per client."""
    events = ",".join(event.text for event in snapshot["events"])
    return f'{{"type":"snapshot","events":[{events}],"id":{json.dumps(snapshot["id"])}}}'


def _sent(event: LiveEvent, joined: Joined) -> list[Message]:
    """The messages for ``event``: none when the client has it (the seam between replay
    and live, or the engine re-sending after a restart), a gap first when it skips seqs
    the client was not told of (a broker reconnect lost events on the way here)."""
    if event.key is None:  # not an alert event (or one without a seq): no id
        return [(event.type, event.text, None)]
    station, seq = event.station, event.key.seq
    if not joined.sent.advance(station, seq):
        return []
    # One compare per event on the hot path; a station the id does not know (a fresh
    # client before the engine's status came) has nothing to compare with.
    had = joined.position.seqs.get(station, seq - 1)
    messages: list[Message] = []
    if seq > had + 1 and (station, had + 1, seq - 1) not in joined.told:
        messages.append(("gap", encode(gap_message(
            "alert events did not reach this API (a broker reconnect)",
            [Missing(station, had + 1, seq - 1)])), None))
    joined.position.advance(station, seq)
    token = joined.position.token
    messages.append((event.type, event.text_with_id(token), token))
    return messages


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
        authorize(websocket, keys, Role.VIEWER, public=settings.api_public_read,
                  allow_query=True)
        live_filter = parse_filter(registry, stations, kinds, alerts_only)
    except ProblemError as exc:
        # Accepted first so the client sees why: a refused handshake is a bare 403.
        # 1008 is "policy violation"; the problem document goes along as a message.
        await websocket.send_json({"type": "error", "problem": exc.problem.model_dump()})
        await websocket.close(code=1008, reason=exc.problem.title)
        return
    since_position, unusable = _since(since, "since", settings.deployment_id, registry)
    joined = _join(live, live_filter, since_position, unusable)
    client = joined.client
    # A client that goes away is only noticed by reading: watch for it alongside the
    # sender, which may otherwise sit in a heartbeat wait for a long time.
    sender = asyncio.create_task(_send(websocket, _messages(
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
async def live_sse(*, _reader: LiveReader, settings: SettingsDep, registry: RegistryDep,
                   live: LiveDep, influx: InfluxDep,
                   stations: StationsQuery = None, kinds: KindsQuery = None,
                   alerts_only: AlertsOnlyQuery = False, since: SinceQuery = None,
                   last_event_id: Annotated[str | None, Header(
                       alias="Last-Event-ID",
                       description="Sent by EventSource when it reconnects.")] = None,
                   ) -> EventStreamResponse:
    live_filter = parse_filter(registry, stations, kinds, alerts_only)
    # EventSource reconnects to the same URL: its Last-Event-ID is newer than since=.
    since_position, unusable = (
        _since(last_event_id, "Last-Event-ID", settings.deployment_id, registry)
        if last_event_id else _since(since, "since", settings.deployment_id, registry))
    joined = _join(live, live_filter, since_position, unusable)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for kind, text, event_id in _messages(
                    joined, influx, registry, live.hub.replay_reads,
                    heartbeat_s=settings.api_heartbeat_s,
                    window_days=settings.api_live_replay_days):
                id_line = "" if event_id is None else f"id: {event_id}\n"
                yield f"{id_line}event: {kind}\ndata: {text}\n\n".encode()
        finally:
            live.hub.leave(joined.client)

    return EventStreamResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
