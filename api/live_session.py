"""One live client's messages, whatever carries them (api.stream: WebSocket or SSE).

A client joins the hub, gets its snapshot, then (resuming) the alert events it missed
(api.resume), then the live events, each alert event with the client's own id
(api.live_position) and a gap message before any seqs it was not told of. Kept apart from
the endpoints because both transports send exactly this sequence, and because its steps
(``client_messages``, ``event_messages``) are the seams the live-feed tests and
bench/live_ids.py drive directly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from floodwatch.api.hub import ClientDropped, LiveClient, LiveEvent, LiveFilter, encode
from floodwatch.api.live import LiveCache
from floodwatch.api.live_position import Position
from floodwatch.api.replay_gaps import Missing, gap_message
from floodwatch.api.resume import replay_since
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationRegistry

HEARTBEAT = encode({"type": "heartbeat"})


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


def join_client(live: LiveCache, live_filter: LiveFilter, since: Position | None,
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


async def client_messages(joined: Joined, influx: InfluxClient,
                          registry: StationRegistry, reads: asyncio.Semaphore, *,
                          heartbeat_s: float, window_days: int = 92
                          ) -> AsyncIterator[Message]:
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
            for message in event_messages(missed, joined):
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
            for message in event_messages(event, joined):
                yield message


def snapshot_text(snapshot: dict[str, Any]) -> str:
    """The snapshot as sent: each event's text as the hub encoded it once for every client
    (LiveEvent.text), joined, rather than every event encoded again per client."""
    events = ",".join(event.text for event in snapshot["events"])
    return f'{{"type":"snapshot","events":[{events}],"id":{json.dumps(snapshot["id"])}}}'


def event_messages(event: LiveEvent, joined: Joined) -> list[Message]:
    """The messages for ``event``: none when the client has it (the seam between replay
    and live, or the engine re-sending after a restart), a gap first when it skips seqs
    the client was not told of (a broker reconnect lost events on the way here)."""
    shown = joined.client.filter.shown(event)
    if event.key is None:  # not an alert event (or one without a seq): no id
        return [] if shown is None else [(shown.type, shown.text, None)]
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
    if shown is None:
        # Withheld from this client (api.audience): its position moves past the event
        # all the same, so the next one it is shown is no gap, and a resume from its
        # id does not look for it again.
        return messages
    token = joined.position.token
    messages.append((shown.type, shown.text_with_id(token), token))
    return messages
