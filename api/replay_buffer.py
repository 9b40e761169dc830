"""The newest alert events in the order this API received them, for clients resuming.

A bounded ring (``api_live_replay_buffer`` events): a client back after a short break is
answered from memory in exact arrival order, with no InfluxDB read; one that missed
events older than the ring holds (or that this process never had: a restart, another
replica) is answered from InfluxDB by api.resume. Only alert events are kept: readings
are not replayed (the snapshot holds each station's latest), and each station's status
is replayed as its newest state, which the snapshot holds too (an older status sent
after it would show a state that no longer holds).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from floodwatch.api.hub import LiveEvent, LiveFilter
    from floodwatch.api.live_position import Position


class ReplayBuffer:
    def __init__(self, size: int) -> None:
        self._events: deque[LiveEvent] = deque(maxlen=size)

    def add(self, event: LiveEvent) -> None:
        if event.type == "alert" and event.key is not None:
            self._events.append(event)

    def copy(self) -> list[LiveEvent]:
        return list(self._events)


def missed_in_buffer(buffered: list[LiveEvent], newest: Position, position: Position,
                     live_filter: LiveFilter) -> list[LiveEvent] | None:
    """The events after ``position`` that ``live_filter`` lets through, in arrival
    order, when ``buffered`` holds all of them; None when some fell out of it (or never
    reached this API). ``newest``: the API's own position when ``buffered`` was copied."""
    first: dict[str, int] = {}  # each station's oldest seq still in the ring
    for event in buffered:
        assert event.key is not None  # ReplayBuffer.add keeps keyed events only
        first.setdefault(event.station, event.key.seq)
    for station, seq in newest.seqs.items():
        if live_filter.stations is not None and station not in live_filter.stations:
            continue
        had = position.seq(station)
        # Per station, events arrive in seq order: the next one it lacks must be here.
        if seq > had and first.get(station, seq + 1) > had + 1:
            return None
    return [event for event in buffered if live_filter.matches(event)]
