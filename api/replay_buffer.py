"""The newest alert events in the order this API received them, for clients resuming.

A bounded ring (``api_live_replay_buffer`` events): a client back after a short break is
answered from memory in exact arrival order, with no InfluxDB read; one whose last id
is older than the ring (or unknown to this process: a restart, another replica) is
answered from InfluxDB by api.resume. Only alert events are kept: readings are not
replayed (the snapshot holds each station's latest), and each station's status is
replayed as its newest state, which the snapshot holds too (an older status sent after
it would show a state that no longer holds).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from floodwatch.api.event_keys import EventKey
    from floodwatch.api.hub import LiveEvent


class ReplayBuffer:
    def __init__(self, size: int) -> None:
        self._events: deque[LiveEvent] = deque(maxlen=size)

    def add(self, event: LiveEvent) -> None:
        if event.type == "alert" and event.key is not None:
            self._events.append(event)

    def newest(self) -> EventKey | None:
        return self._events[-1].key if self._events else None

    def copy(self) -> list[LiveEvent]:
        return list(self._events)


def received_after(events: list[LiveEvent], key: EventKey) -> list[LiveEvent] | None:
    """The events of ``events`` (arrival order) received after the one ``key`` names,
    each once; None when it is not among them."""
    for index, event in enumerate(events):
        if event.key == key:
            seen: set[EventKey | None] = {key}
            after = []
            for later in events[index + 1:]:
                # The engine re-sends an event with its key unchanged after a restart.
                if later.key not in seen:
                    seen.add(later.key)
                    after.append(later)
            return after
    return None
