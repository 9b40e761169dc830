"""What the alert processor hands the broker, and when it marks events delivered.

Events reach the broker from the store, never straight from the engine: a batch is
committed first (alerts.processor), then its publications go out in the store's order and
are marked published only once the broker has confirmed every publish so far, so a crash
anywhere in between re-sends them at the next start rather than losing one. Beside them
go each station's retained status (only when it changed) and the processor's late
messages (dead letters, command rejections). Kept apart from the processor's loop, which
decides what to publish; this is how it reaches the broker, in order.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.labels import Labels
from floodwatch.alerts.render import status_payload
from floodwatch.alerts.store import AlertStore
from floodwatch.core import bus


class PublishingBus(Protocol):
    """What publishing needs from core.mqtt.MqttSession."""

    async def wait_for_publish_room(self) -> None: ...
    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None: ...
    @property
    def unconfirmed_publishes(self) -> int: ...


class Outbox:
    """Publishes the store's unpublished events in order, each station's status when it
    changed, and any other message, and marks the events published once confirmed."""

    def __init__(self, engine: Engine, store: AlertStore, bus: PublishingBus,
                 labels: Labels) -> None:
        self._engine = engine
        self._store = store
        self._bus = bus
        self._labels = labels
        self._status: dict[str, bytes] = {}
        self._published_up_to = 0  # last event publication id handed to the broker
        self._marked_up_to = 0  # last event publication id marked published (confirmed)

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        await self._bus.wait_for_publish_room()
        self._bus.publish(topic, payload, retain=retain)

    async def publish_pending_events(self) -> None:
        while True:
            entries = [(row_id, entry) for row_id, entry in self._store.unpublished()
                       if row_id > self._published_up_to]
            if not entries:
                return
            for row_id, entry in entries:
                await self.publish(entry.topic, entry.payload)
                self._published_up_to = row_id

    async def publish_status(self, station_id: str) -> None:
        station = self._engine.registry.get(station_id)
        assert station is not None
        payload = status_payload(self._engine.states[station_id], station, self._labels,
                                 self._engine.silence.covering(station_id))
        if self._status.get(station_id) == payload:
            return
        self._status[station_id] = payload
        await self.publish(bus.STATUS.name(station=station_id), payload, retain=True)

    def confirm(self) -> None:
        # The session publishes in order; once nothing is unconfirmed, everything handed
        # over so far has reached the broker.
        if self._published_up_to > self._marked_up_to \
                and self._bus.unconfirmed_publishes == 0:
            self._store.mark_published(self._published_up_to)
            self._marked_up_to = self._published_up_to

    async def drain(self, timeout_s: float) -> None:
        """At shutdown: give the broker a moment to confirm, then mark what it did."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        # The subscription offers a count, not an event, for confirmations: poll it.
        while self._bus.unconfirmed_publishes and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        self.confirm()
