"""What the broker has delivered and the stage has not drained yet: bounded.

A stage tells the broker how many QoS 1 messages it may have unacknowledged at once
(MQTT 5's Receive Maximum: ingest's 20,000), and the broker must not send more. Debian's
Mosquitto (2.0.11) keeps that promise for a resumed session's queue only until the
stage's first acknowledgements: with a Receive Maximum of 100 and 5,000 messages queued,
it sent 100, and all 5,000 once 50 were acknowledged; with 20,000 and a 100,000-reading
backlog, ingest held 70,000 unacknowledged (measured; tests/core/mqtt/test_inbox.py).
After a long outage the broker's queue (max_queued_messages: a million readings) would
all land in the stage's memory at once.

So while the inbox holds more than the Receive Maximum, it holds the link's reading: the
socket's buffers fill, and TCP's own flow control keeps the rest in the broker. The hold
ends when the stage drains the inbox, and after HOLD_S at most; and there is none while
the stage waits for something only reading brings (``reading_needed``: the broker's
PUBACKs, for room in the publish window or before closing). Without that, ingest --
which republishes every reading and waits for room -- held the very PUBACKs it waited
for, and a 100,000-reading backlog took 23 s instead of 1.4 (a chunk per HOLD_S). A
broker that keeps its promise never fills the inbox past the limit: nothing changes
for it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from floodwatch.core.mqtt.link import MqttLink, ReceivedMessage
from floodwatch.core.waiting import wait_event

# The longest a hold may last without a drain. While the stage is busy with what it
# drained, one more socket read (up to 256 KiB: ~2,000 readings) may come in per HOLD_S.
HOLD_S = 1.0


class Inbox:
    """Received messages in arrival order, for ``drain``; holds ``link`` reading while it
    has more than ``limit`` (the Receive Maximum the session asked for)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._pending: deque[ReceivedMessage] = deque()
        self._arrived = asyncio.Event()
        self._held: MqttLink | None = None
        self._reading_needed = 0

    def add(self, message: ReceivedMessage, link: MqttLink | None) -> None:
        self._pending.append(message)
        self._arrived.set()
        if len(self._pending) > self._limit and link is not None \
                and not self._reading_needed and not link.reading_held:
            self._held = link
            link.hold_reading(HOLD_S)

    def drain(self) -> list[ReceivedMessage]:
        """Everything received so far, in arrival order; reading goes on."""
        self._arrived.clear()
        messages, self._pending = list(self._pending), deque()
        self.release()
        return messages

    async def wait(self, timeout_s: float) -> None:
        """Until a message arrives or ``timeout_s`` passes."""
        if self._pending:
            return
        await wait_event(self._arrived, timeout_s)

    @contextmanager
    def reading_needed(self) -> Iterator[None]:
        """No hold while inside: the stage waits for the broker's answers."""
        self._reading_needed += 1
        self.release()
        try:
            yield
        finally:
            self._reading_needed -= 1

    def release(self) -> None:
        """Let the link read again, if the inbox was holding it."""
        if self._held is not None:
            self._held.resume_reading()
            self._held = None

    @property
    def holding(self) -> bool:
        return self._held is not None and self._held.reading_held

    def __len__(self) -> int:
        return len(self._pending)
