"""Resuming a live client from the last event id it received (SSE ``Last-Event-ID`` or
``since=``, WebSocket ``since=``): the alert events it missed, each once.

The id is the client's Position (api.live_position: the last seq it has of each
station). From this API's replay buffer when the buffer holds everything the client
lacks (exact arrival order, no InfluxDB read); otherwise (older than the buffer, or
never seen by this process: a restart, another replica) from InfluxDB's ``alert_event``
by station and seq, merged with the buffer for events not stored yet, each station's
in seq order and the stations interleaved by event time. Live events go on queueing for
the client meanwhile (it joined the hub first); the stream sends an event only when it
advances the client's position, so the seam has neither a gap nor a duplicate.

If InfluxDB cannot be read, or more than REPLAY_MAX events were missed, what can be
replayed is, and the client is told with a ``gap`` message that events may be missing:
never a silent hole.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass

from floodwatch.api.alert_store import event_payloads, quoted
from floodwatch.api.event_keys import EventKey
from floodwatch.api.hub import LiveEvent, LiveFilter
from floodwatch.api.live_position import Position
from floodwatch.api.problems import ProblemError
from floodwatch.api.replay_buffer import missed_in_buffer
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationRegistry

# A client that missed more than this starts again from the snapshot, told by a ``gap``
# message; the history endpoint pages through the rest.
REPLAY_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Replay:
    events: list[LiveEvent]
    complete: bool  # False: events before these may be missing (a gap message says so)


async def replay_since(position: Position, *, newest: Position, buffered: list[LiveEvent],
                       influx: InfluxClient, registry: StationRegistry,
                       live_filter: LiveFilter) -> Replay:
    """The alert events after ``position`` that ``live_filter`` lets through, in order
    (the caller drops any the client has, by advancing its position). ``buffered`` and
    ``newest``: the replay buffer and the API's position when the client joined."""
    found = missed_in_buffer(buffered, newest, position, live_filter)
    if found is not None:
        return Replay(found, complete=True)
    kinds = {s.id: s.kind.value for s in registry
             if (live_filter.stations is None or s.id in live_filter.stations)
             and (live_filter.kinds is None or s.kind.value in live_filter.kinds)}
    stations = sorted(kinds)
    if not stations:
        return Replay([], complete=True)
    try:
        stored = await event_payloads(influx, _where(stations, position), REPLAY_MAX,
                                      newest_first=False)
    except ProblemError:  # InfluxDB unavailable: the feed still works, with a warning
        return Replay(_in_order(buffered, live_filter), complete=False)
    # The kind from the registry, like the station ids the query was built from.
    events = [LiveEvent("alert", key.station, kinds.get(key.station), row.event, key)
              for row in stored if (key := EventKey.of_event(row.event, row.time_ns))]
    replay = _in_order(events + buffered, live_filter)
    return Replay(replay, complete=len(stored) < REPLAY_MAX
                  and _without_holes(replay, position))


def _where(stations: list[str], position: Position) -> str:
    # Registry station ids and integers only; quoted() is a second fence.
    return "(" + " OR ".join(f'("station" = {quoted(s)} AND "seq" > {int(position.seq(s))})'
                             for s in stations) + ")"


def _in_order(events: list[LiveEvent], live_filter: LiveFilter) -> list[LiveEvent]:
    """Each station's events once, in seq order; the stations merged by event time."""
    by_station: dict[str, dict[int, LiveEvent]] = defaultdict(dict)
    for event in events:
        if event.key is not None and live_filter.matches(event):
            by_station[event.station].setdefault(event.key.seq, event)
    runs = [[events_by_seq[seq] for seq in sorted(events_by_seq)]
            for events_by_seq in by_station.values()]
    return list(heapq.merge(*runs, key=_time))


def _without_holes(replay: list[LiveEvent], position: Position) -> bool:
    """Each station's events follow on from the client's seq with none left out: the
    engine numbers every event; one missing is in neither InfluxDB nor the buffer yet
    (the history writer is behind), and the client must be told."""
    expected = position.copy()
    for event in replay:
        assert event.key is not None
        had = expected.seq(event.station)
        if event.key.seq > had + 1:
            return False
        expected.advance(event.station, event.key.seq)
    return True


def _time(event: LiveEvent) -> int:
    assert event.key is not None
    return event.key.time_ns
