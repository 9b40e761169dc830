"""Resuming a live client from the last event id it received (SSE ``Last-Event-ID`` or
``since=``, WebSocket ``since=``): the alert events it missed, each once, or named.

The id is the client's Position (api.live_position: the last seq it has of each
station). From this API's replay buffer when the buffer holds everything the client
lacks (exact arrival order, no InfluxDB read); otherwise (older than the buffer, or
never seen by this process: a restart, another replica) from InfluxDB's ``alert_event``
by station and seq, merged with the buffer for events not stored yet, each station's
in seq order and the stations interleaved by event time. Live events go on queueing for
the client meanwhile (it joined the hub first); the stream sends an event only when it
advances the client's position, so the seam has neither a gap nor a duplicate.

What cannot be replayed (InfluxDB unreachable, an event not written to it yet, older
than FLOODWATCH_API_LIVE_REPLAY_DAYS, more than REPLAY_MAX missed, seqs short of the
newest the API knows of) is named station by station and seq range in a ``gap``
message sent BEFORE the replayed events (api.replay_gaps): never a silent hole.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import defaultdict
from dataclasses import dataclass

from floodwatch.api.alert_store import event_payloads, quoted
from floodwatch.api.event_keys import EventKey
from floodwatch.api.hub import LiveEvent, LiveFilter
from floodwatch.api.live_position import Position
from floodwatch.api.problems import ProblemError
from floodwatch.api.replay_buffer import missed_in_buffer
from floodwatch.api.replay_gaps import Missing, holes
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationRegistry

# A client that missed more than this is told at once by a ``gap`` naming the ranges
# (no InfluxDB read), and reads them from the history endpoint, which pages. Small: a
# replay is held in memory and sent before the client sees anything live.
REPLAY_MAX = 2_000


@dataclass(frozen=True, slots=True)
class Replay:
    events: list[LiveEvent]
    # Seqs the client lacks that are not in ``events``: told in a gap message first.
    missing: list[Missing]
    reason: str = ""  # why they are missing, for the gap message


async def replay_since(position: Position, *, newest: Position, buffered: list[LiveEvent],
                       influx: InfluxClient, registry: StationRegistry,
                       live_filter: LiveFilter, reads: asyncio.Semaphore,
                       window_days: int) -> Replay:
    """The alert events after ``position`` that ``live_filter`` lets through, in order
    (the caller drops any the client has, by advancing its position), and the ranges it
    lacks that cannot be replayed. ``buffered`` and ``newest``: the replay buffer and the
    API's position when the client joined; ``reads``: bounds concurrent InfluxDB reads;
    ``window_days``: how far back (event time) InfluxDB is read, so the query is bounded
    by time as well as by count; anything older is named in the gap."""
    kinds = {s.id: s.kind.value for s in registry
             if (live_filter.stations is None or s.id in live_filter.stations)
             and (live_filter.kinds is None or s.kind.value in live_filter.kinds)}
    stations = sorted(kinds)
    if not stations:
        return Replay([], [])
    lacking = sum(max(0, newest.seq(s) - position.seq(s)) for s in stations)
    if lacking > REPLAY_MAX:
        return Replay([], holes([], position, newest, stations),
                      f"more than {REPLAY_MAX} alert events missed")
    found = missed_in_buffer(buffered, newest, position, live_filter)
    if found is not None and not (missing := holes(found, position, newest, stations)):
        return Replay(found, [])
    try:
        async with reads:
            stored = await event_payloads(influx, _where(stations, position, window_days),
                                          REPLAY_MAX, newest_first=False)
    except ProblemError:  # InfluxDB unavailable: the feed still works, with a warning
        replay = _in_order(buffered, live_filter, position)
        return Replay(replay, holes(replay, position, newest, stations),
                      "the alert record (InfluxDB) could not be read")
    # The kind from the registry, like the station ids the query was built from.
    events = [LiveEvent("alert", key.station, kinds.get(key.station), row.event, key)
              for row in stored if (key := EventKey.of_event(row.event, row.time_ns))]
    replay = _in_order(events + buffered, live_filter, position)
    missing = holes(replay, position, newest, stations)
    if len(stored) >= REPLAY_MAX:  # cut short: each station's replay ends at its last
        missing += _beyond(replay, position, newest, stations)
    return Replay(replay, missing,
                  "alert events not in the record yet, older than the replay window "
                  f"({window_days} days), or lost on the way to this API")


def _beyond(replay: list[LiveEvent], position: Position, newest: Position,
            stations: list[str]) -> list[Missing]:
    """After a read cut off at REPLAY_MAX, each station's seqs after what was replayed
    that ``holes`` did not name (the API knows of none newer, yet the read stopped
    early): an open range each, so a cut-off read is never taken for a complete one."""
    last = {s: position.seq(s) for s in stations}
    for event in replay:
        assert event.key is not None
        last[event.station] = max(last.get(event.station, 0), event.key.seq)
    return [Missing(s, seq + 1, None) for s, seq in sorted(last.items())
            if newest.seq(s) <= seq]


def _where(stations: list[str], position: Position, window_days: int) -> str:
    # Registry station ids and integers only; quoted() is a second fence.
    by_station = " OR ".join(f'("station" = {quoted(s)} AND "seq" > {int(position.seq(s))})'
                             for s in stations)
    return f"({by_station}) AND time > now() - {int(window_days)}d"


def _in_order(events: list[LiveEvent], live_filter: LiveFilter,
              position: Position) -> list[LiveEvent]:
    """Each station's events after ``position`` once, in seq order; the stations merged
    by event time."""
    by_station: dict[str, dict[int, LiveEvent]] = defaultdict(dict)
    for event in events:
        if (event.key is not None and live_filter.matches(event)
                and event.key.seq > position.seq(event.station)):
            by_station[event.station].setdefault(event.key.seq, event)
    runs = [[events_by_seq[seq] for seq in sorted(events_by_seq)]
            for events_by_seq in by_station.values()]
    return list(heapq.merge(*runs, key=_time))


def _time(event: LiveEvent) -> int:
    assert event.key is not None
    return event.key.time_ns
