"""Resuming a live client from the last event id it received (SSE ``Last-Event-ID`` or
``since=``, WebSocket ``since=``): the alert events it missed, each once, in order.

From this API's replay buffer when the id is in it (exact arrival order, no InfluxDB
read); otherwise (older than the buffer, or given out by a restarted process or another
replica: ids are the engine's, see api.event_keys) from InfluxDB's ``alert_event`` in
the record's order, merged with the buffer for events not stored yet. Live events go on
queueing for the client meanwhile (it joined the hub first); the stream skips those it
already replayed, so the seam has neither a gap nor a duplicate.

Across processes the order is the record's (event time, station, seq), not arrival: an
event published after the client's last one but with an older time (a gauge's backfill
of logged readings) is replayed only from the buffer of the API that saw both. Clients
that must be exact across API restarts also de-duplicate by ``data.event_id``
(docs/api.md).

If InfluxDB cannot be read, what the buffer holds is replayed and the client is told
with a ``gap`` message that earlier events may be missing: never a silent hole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from floodwatch.api.alert_pages import read_page
from floodwatch.api.alert_store import quoted
from floodwatch.api.event_keys import EventKey
from floodwatch.api.hub import LiveEvent, LiveFilter
from floodwatch.api.problems import ProblemError
from floodwatch.api.replay_buffer import received_after
from floodwatch.core.influx import InfluxClient

# A client gone for longer than this many events starts again from the snapshot, told
# by a ``gap`` message; the history endpoint pages through the rest.
REPLAY_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Replay:
    events: list[LiveEvent]
    complete: bool  # False: events before these may be missing (a gap message says so)


async def replay_since(key: EventKey, buffered: list[LiveEvent], influx: InfluxClient,
                       live_filter: LiveFilter) -> Replay:
    """The alert events after ``key`` that ``live_filter`` lets through, each once.
    ``buffered``: the replay buffer as it was when the client joined the hub."""
    found = received_after(buffered, key)
    if found is not None:
        return Replay([e for e in found if live_filter.matches(e)], complete=True)
    newer = _unique(e for e in buffered if e.key is not None and e.key > key)
    try:
        page = await read_page(influx, _where(key, live_filter), after=key,
                               limit=REPLAY_MAX, newest_first=False)
    except ProblemError:  # InfluxDB unavailable: the feed still works, with a warning
        return Replay([e for e in newer if live_filter.matches(e)], complete=False)
    stored = [LiveEvent("alert", keyed.key.station, _kind(keyed.event), keyed.event,
                        keyed.key) for keyed in page.events]
    stored_keys = {event.key for event in stored}
    events = stored + [e for e in newer if e.key not in stored_keys]
    return Replay([e for e in events if live_filter.matches(e)], complete=not page.more)


def _where(key: EventKey, live_filter: LiveFilter) -> str:
    # Station ids were checked against the registry and kinds against StationKind
    # (api.stream.parse_filter); quoted() is a second fence.
    where = f"time >= {int(key.time_ns)}"
    if live_filter.stations is not None:
        where += " AND (" + " OR ".join(f'"station" = {quoted(s)}'
                                        for s in sorted(live_filter.stations)) + ")"
    if live_filter.kinds is not None:
        where += " AND (" + " OR ".join(f'"kind" = {quoted(k)}'
                                        for k in sorted(live_filter.kinds)) + ")"
    return where


def _kind(event: dict[str, object]) -> str | None:
    kind = event.get("kind")
    return kind if isinstance(kind, str) else None


def _unique(events: Iterable[LiveEvent]) -> list[LiveEvent]:
    seen: set[EventKey | None] = set()
    unique = []
    for event in events:
        if event.key not in seen:
            seen.add(event.key)
            unique.append(event)
    return unique
