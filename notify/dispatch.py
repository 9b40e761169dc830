"""Sending one channel's deliveries from the delivery ledger, at least once.

For the disaster network and webhooks a repeat is harmless (receivers de-duplicate by
event id), so a delivery left 'sending' by a crash is simply sent again, and every
failure is retried with backoff and jitter until it is sent or expires. Each station's
events go in sequence order (notify.station_order).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

import structlog

from floodwatch.core.waiting import wait_event
from floodwatch.notify import metrics
from floodwatch.notify.channels.base import DeliveryError, backoff_s
from floodwatch.notify.config import Retry
from floodwatch.notify.deliveries import Delivery, DeliveryLedger, StoredEvent
from floodwatch.notify.station_order import StationOrder

log = structlog.get_logger("notify")

IDLE_POLL_S = 1.0
# A head the receiver refused this often, while it took other deliveries, is skipped.
REFUSALS_BEFORE_SKIP = 3


class EventChannel(Protocol):
    """A channel that sends each event on its own (network, webhook)."""

    name: str
    retry: Retry
    concurrency: int

    async def deliver(self, event: StoredEvent) -> str:
        """Send; return a short detail for the status, or raise DeliveryError."""
        ...


class Dispatcher:
    """Sends one event channel's deliveries (the disaster network, or one webhook) from
    the delivery ledger, at least once: each is marked sending before it goes, retried
    with backoff until sent or expired, and settled in the ledger.

    Per station one at a time, in the engine's sequence order (notify.station_order):
    up to ``concurrency`` stations are in flight at once, the most urgent first, and a
    station's next event goes only once its previous one is settled -- so an outage
    never lets a clear overtake its de-escalation. On the disaster network this also
    keeps MQTT's own resends in order: a station never has two events in the session's
    publish window, and the window resends what a dropped connection left unconfirmed
    first, in its original order (core.mqtt.publish_window)."""

    def __init__(self, ledger: DeliveryLedger, channel: EventChannel,
                 clock: Callable[[], float] = time.time,
                 on_change: Callable[[], None] | None = None) -> None:
        self.name = channel.name
        self._ledger = ledger
        self._order = StationOrder(ledger)
        self._delivered_at = 0.0  # the last time this channel took a delivery
        self._channel = channel
        self._clock = clock
        self._wake = asyncio.Event()
        self._on_change = on_change or (lambda: None)

    def wake(self) -> None:
        self._wake.set()

    def recover(self) -> None:
        """Deliveries a killed process left 'sending' go out again (at least once)."""
        stranded = self._ledger.in_flight(self._channel.name)
        if stranded:
            log.info("re-sending deliveries interrupted by a restart",
                     channel=self._channel.name, count=len(stranded))
            self._ledger.finish(stranded, "pending", "interrupted; sending again",
                                self._clock())

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` (then after the sends in progress; call ``wake`` with it)."""
        name = self._channel.name
        in_flight: set[asyncio.Task[None]] = set()

        def settled(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            self._wake.set()  # its station's next event, or another station, may go
            self._on_change()

        async with asyncio.TaskGroup() as tasks:
            while not stop.is_set():
                self._wake.clear()  # before looking: a send settling from here on wakes us
                now = self._clock()
                expired = self._ledger.expire_due(name, now)
                if expired:
                    log.error("deliveries expired undelivered", channel=name,
                              events=[d.event_id for d in expired])
                    self._on_change()
                free = self._channel.concurrency - len(in_flight)
                for delivery in self._order.due(name, now, free) if free > 0 else []:
                    # At least once: a lost 'sending' or 'sent' mark only means sending
                    # again, so these need no fsync of their own. Marked before the next
                    # look, which must not pick the station again.
                    self._ledger.begin([delivery], durable=False)
                    task = tasks.create_task(self._send(delivery))
                    in_flight.add(task)
                    task.add_done_callback(settled)
                metrics.BACKLOG.labels(name).set(self._ledger.backlog(name))
                await self._idle(now, full=len(in_flight) >= self._channel.concurrency)

    async def _send(self, delivery: Delivery) -> None:
        try:
            detail = await self._channel.deliver(self._ledger.event(delivery.event_id))
        except DeliveryError as exc:
            now = self._clock()
            if (exc.refused and delivery.attempts + 1 >= REFUSALS_BEFORE_SKIP
                    and self._delivered_at >= delivery.created_at):
                # The receiver takes others and keeps refusing this one: holding it
                # would hold every later event of its station until it expires.
                log.error("delivery refused by the receiver; skipped so the station's "
                          "later events go on", channel=self._channel.name,
                          event_id=delivery.event_id, attempts=delivery.attempts + 1,
                          error=exc.detail)
                self._ledger.finish([delivery], "expired", f"refused {delivery.attempts + 1} "
                                    f"times while others were taken: {exc.detail}", now)
                return
            retry_at = exc.retry_at or now + backoff_s(self._channel.retry,
                                                      delivery.attempts + 1)
            log.warning("delivery failed; will retry", channel=self._channel.name,
                        event_id=delivery.event_id, attempts=delivery.attempts + 1,
                        error=exc.detail, retry_in_s=round(retry_at - now, 1))
            self._ledger.finish([delivery], "failed", exc.detail, now, retry_at,
                                durable=False)
            return
        self._delivered_at = self._clock()
        self._ledger.finish([delivery], "sent", detail, self._delivered_at, durable=False)
        log.info("delivered", channel=self._channel.name, event_id=delivery.event_id)

    async def _idle(self, now: float, *, full: bool) -> None:
        """Until woken (new deliveries, a send settled, the broker back) or the next
        waiting head is due."""
        next_at = None if full else self._order.next_at(self._channel.name)
        timeout = IDLE_POLL_S if next_at is None else min(IDLE_POLL_S, max(0.0, next_at - now))
        await wait_event(self._wake, timeout)
