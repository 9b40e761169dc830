"""Sending one channel's deliveries from the delivery ledger, at least once.

For the disaster network and webhooks a repeat is harmless (receivers de-duplicate by
event id), so a delivery left 'sending' by a crash is simply sent again, and every
failure is retried with backoff and jitter until it is sent or expires.
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

log = structlog.get_logger("notify")

IDLE_POLL_S = 1.0


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
    the delivery ledger, most urgent first, at least once: each is marked sending before
    it goes, retried with backoff until sent or expired, and settled in the ledger."""

    def __init__(self, ledger: DeliveryLedger, channel: EventChannel,
                 clock: Callable[[], float] = time.time,
                 on_change: Callable[[], None] | None = None) -> None:
        self.name = channel.name
        self._ledger = ledger
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
        while not stop.is_set():
            now = self._clock()
            expired = self._ledger.expire_due(name, now)
            if expired:
                log.error("deliveries expired undelivered", channel=name,
                          events=[d.event_id for d in expired])
                self._on_change()
            due = self._ledger.due(name, now, limit=self._channel.concurrency * 8)
            metrics.BACKLOG.labels(name).set(self._ledger.backlog(name))
            if not due:
                await self._idle(now)
                continue
            limit = asyncio.Semaphore(self._channel.concurrency)
            async with asyncio.TaskGroup() as tasks:
                for delivery in due:
                    tasks.create_task(self._send(delivery, limit))
            self._on_change()

    async def _send(self, delivery: Delivery, limit: asyncio.Semaphore) -> None:
        async with limit:
            # At least once: a lost 'sending' or 'sent' mark only means sending again,
            # so these need no fsync of their own.
            self._ledger.begin([delivery], durable=False)
            try:
                detail = await self._channel.deliver(self._ledger.event(delivery.event_id))
            except DeliveryError as exc:
                now = self._clock()
                retry_at = exc.retry_at or now + backoff_s(self._channel.retry,
                                                          delivery.attempts + 1)
                log.warning("delivery failed; will retry", channel=self._channel.name,
                            event_id=delivery.event_id, attempts=delivery.attempts + 1,
                            error=exc.detail, retry_in_s=round(retry_at - now, 1))
                self._ledger.finish([delivery], "failed", exc.detail, now, retry_at,
                                    durable=False)
                return
            self._ledger.finish([delivery], "sent", detail, self._clock(), durable=False)
            log.info("delivered", channel=self._channel.name, event_id=delivery.event_id)

    async def _idle(self, now: float) -> None:
        next_at = self._ledger.next_due_at(self._channel.name)
        timeout = IDLE_POLL_S if next_at is None else min(IDLE_POLL_S, max(0.0, next_at - now))
        self._wake.clear()
        await wait_event(self._wake, timeout)
