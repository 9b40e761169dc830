"""Fan-out of bus events to live clients, each behind its own bounded queue.

Publishing never waits: a client whose queue is full is cut off with a reason, so one
slow phone on a bad link cannot delay the officers' dashboards.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

from prometheus_client import Counter, Gauge

from floodwatch.api.audience import public_status, residents_event
from floodwatch.api.event_keys import EventKey
from floodwatch.api.live_position import Position
from floodwatch.api.replay_buffer import ReplayBuffer

LIVE_CLIENTS = Gauge("floodwatch_api_live_clients", "Connected live-feed clients.")
LIVE_DROPPED = Counter("floodwatch_api_live_dropped_total",
                       "Live clients cut off because they did not keep up.")

EventType = Literal["reading", "alert", "status", "forecast"]
SLOW_REASON = "slow consumer: the client did not keep up with the feed"
# A restart mid-typhoon has every client come back at once: so many resumes read
# InfluxDB at a time per API process (api.resume); the others wait their turn, their
# live events queueing meanwhile (up to FLOODWATCH_API_LIVE_QUEUE).
REPLAY_READS_AT_ONCE = 4


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class LiveEvent:
    type: EventType
    station: str
    kind: str | None  # the station's kind (river/road); None when the message lacks it
    data: dict[str, Any]
    # Alert events only: (time, station, seq) in the alert record; the id a client gets
    # is its own Position (api.live_position), added per client.
    key: EventKey | None = None

    def as_message(self) -> dict[str, Any]:
        return {"type": self.type, "station": self.station, "data": self.data}

    def text_with_id(self, event_id: str) -> str:
        """``text`` with the client's id added, without encoding the event again."""
        return f'{self.text[:-1]},"id":{json.dumps(event_id)}}}'

    @cached_property
    def text(self) -> str:
        """The message as sent, encoded once for every client it goes to."""
        return encode(self.as_message())

    @cached_property
    def for_residents(self) -> LiveEvent | None:
        """What a keyless client is shown of this event (api.audience), worked out once
        for all of them: an alert event residents may not be told of is None, a status
        is as residents were told it, readings and forecasts are as they are."""
        if self.type == "alert":
            shown = residents_event(self.data)
            if shown is None:
                return None
            return self if shown is self.data else replace(self, data=shown)
        if self.type == "status":
            return replace(self, data=public_status(self.data))
        return self


@dataclass(frozen=True, slots=True)
class LiveFilter:
    stations: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    alerts_only: bool = False
    # A keyless client (public read): shown only what residents may be told.
    residents_only: bool = False

    def shown(self, event: LiveEvent) -> LiveEvent | None:
        """``event`` as this client sees it, or None when it is withheld from it (after
        ``matches``: an alert event still moves a withheld client's position)."""
        return event.for_residents if self.residents_only else event

    def matches(self, event: LiveEvent) -> bool:
        if self.stations is not None and event.station not in self.stations:
            return False
        # alerts_only: alert events and status; readings and forecasts are data.
        if self.alerts_only and event.type in ("reading", "forecast"):
            return False
        # Alert events and status carry their station's kind too: kinds=road means
        # road stations' readings, alerts and status, nothing of the rivers.
        return self.kinds is None or event.kind in self.kinds


@dataclass(eq=False)
class LiveClient:
    filter: LiveFilter
    queue: asyncio.Queue[LiveEvent]
    dropped: str | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def next(self, timeout_s: float) -> LiveEvent | None:
        """The next event, or None after ``timeout_s`` (time for a heartbeat).
        Raises ClientDropped once the hub has cut this client off."""
        if self.dropped is not None:
            raise ClientDropped(self.dropped)
        if self.queue.empty():
            self._wake.clear()
            try:
                # asyncio.timeout, not wait_for: wait_for wraps the wait in a new task,
                # and this runs for every client on every event.
                async with asyncio.timeout(timeout_s):
                    await self._wake.wait()
            except TimeoutError:
                return None
            if self.dropped is not None:
                raise ClientDropped(self.dropped)
        return self.queue.get_nowait()

    def offer(self, event: LiveEvent) -> bool:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = SLOW_REASON
            self._wake.set()
            return False
        self._wake.set()
        return True


class ClientDropped(Exception):
    """The hub cut the client off; the message is the reason to tell it."""


class LiveHub:
    def __init__(self, queue_size: int, replay_size: int, deployment: str = "") -> None:
        self._queue_size = queue_size
        self._clients: set[LiveClient] = set()
        self.replay = ReplayBuffer(replay_size)
        # The newest seq of each station this API has had, from its alert events and the
        # engine's status (published after them): where a new client starts.
        self.position = Position(deployment=deployment)
        self.replay_reads = asyncio.Semaphore(REPLAY_READS_AT_ONCE)

    def join(self, live_filter: LiveFilter) -> LiveClient:
        client = LiveClient(live_filter, asyncio.Queue(self._queue_size))
        self._clients.add(client)
        LIVE_CLIENTS.set(len(self._clients))
        return client

    def leave(self, client: LiveClient) -> None:
        self._clients.discard(client)
        LIVE_CLIENTS.set(len(self._clients))

    def publish(self, event: LiveEvent) -> None:
        # Into the replay buffer in the same step as to the clients (no await between):
        # a client that joins, then copies the buffer, misses nothing in between.
        self.replay.add(event)
        if event.key is not None:
            self.position.advance(event.station, event.key.seq)
        elif event.type == "status" and isinstance(seq := event.data.get("seq"), int):
            self.position.advance(event.station, seq)
        for client in list(self._clients):
            if (client.dropped is None and client.filter.matches(event)
                    and not client.offer(event)):
                LIVE_DROPPED.inc()
                self.leave(client)
