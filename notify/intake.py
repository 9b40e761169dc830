"""Bus messages in, recorded deliveries out.

Subscribed on a persistent MQTT 5 session (core.mqtt.MqttSession) to the engine's alert
events (JSON on ``bus.ALERTS``, CAP on ``bus.CAP``, paired by event id) and its retained
station status (``bus.STATUS``). A drained batch is stored and planned in one SQLite
transaction and only then acknowledged, so an event the process had not yet recorded
when it died is redelivered by the broker.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog

from floodwatch.core import bus
from floodwatch.core.mqtt import ReceivedMessage
from floodwatch.notify.deliveries import DeliveryLedger, Planner
from floodwatch.notify.notice import Notice, NoticeError, cap_event_id

log = structlog.get_logger("notify")

TOPICS = (*bus.ALERTS.filters, *bus.CAP.filters, *bus.STATUS.filters)

PRUNE_EVERY_S = 3600.0
Part = tuple[str, str, str, bytes]  # event id, station, "json" | "cap", payload


class Bus(Protocol):
    """What intake needs from core.mqtt.MqttSession."""

    def drain(self) -> list[ReceivedMessage]: ...
    async def wait(self, timeout_s: float) -> None: ...
    def ack(self, messages: Sequence[ReceivedMessage]) -> None: ...


def classify(message: ReceivedMessage, parts: list[Part], statuses: dict[str, bytes]) -> None:
    topic, payload = message.topic, message.payload
    station = topic.rsplit("/", 1)[-1]
    try:
        if topic.startswith(bus.ALERTS.prefix):
            notice = Notice.from_json(payload)
            if notice.station != station:
                raise NoticeError(f"event of {notice.station!r} on the topic of {station!r}")
            parts.append((notice.event_id, station, "json", payload))
        elif topic.startswith(bus.CAP.prefix):
            parts.append((cap_event_id(payload), station, "cap", payload))
        elif topic.startswith(bus.STATUS.prefix) and payload:
            json.loads(payload)  # mirrored as is, but never garbage
            statuses[station] = payload
    except (NoticeError, ValueError) as exc:
        # Acknowledged and dropped: redelivering it would fail the same way, forever.
        log.error("bus message not understood; not delivered", topic=topic,
                  error=str(exc)[:300])


class Intake:
    """Records what the bus brings: alert events (JSON and CAP paired by event id) and
    station statuses go into the delivery ledger with their planned deliveries, in one
    transaction per drained batch, and only then are acknowledged to the broker."""

    def __init__(self, ledger: DeliveryLedger, bus: Bus, plan: Planner, clock: Callable[[], float],
                 *, pair_timeout_s: float, on_deliveries: Callable[[], None],
                 on_status: Callable[[], None]) -> None:
        self._ledger = ledger
        self._bus = bus
        self._plan = plan
        self._clock = clock
        self._pair_timeout_s = pair_timeout_s
        self._on_deliveries = on_deliveries
        self._on_status = on_status

    def step(self) -> int:
        """Record and acknowledge what has arrived; returns deliveries created."""
        messages = self._bus.drain()
        parts: list[Part] = []
        statuses: dict[str, bytes] = {}
        for message in messages:
            classify(message, parts, statuses)
        created = self._ledger.receive(parts, statuses, self._clock(), self._plan,
                                       self._pair_timeout_s)
        self._bus.ack(messages)
        if created:
            self._on_deliveries()
        if statuses:
            self._on_status()
        return created

    async def run(self, stop: asyncio.Event) -> None:
        pruned_at = 0.0
        while not stop.is_set():
            await self._bus.wait(0.5)
            self.step()
            if self._clock() - pruned_at >= PRUNE_EVERY_S:
                pruned_at = self._clock()
                removed = self._ledger.prune(pruned_at)
                if removed:
                    log.info("old settled deliveries pruned", count=removed)
