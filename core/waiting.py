"""Waiting for an asyncio event with a timeout, without losing a cancellation.

``asyncio.wait_for(event.wait(), t)`` on Python 3.11 can swallow a cancellation that
arrives just as the event is set (fixed in 3.12, where ``wait_for`` is built on
``asyncio.timeout``): a worker loop cancelled at shutdown then runs on and the process
hangs after SIGTERM. Every stage waits through here instead.
"""

from __future__ import annotations

import asyncio
import contextlib


async def wait_event(event: asyncio.Event, timeout_s: float) -> bool:
    """Until ``event`` is set or ``timeout_s`` passes; returns whether it is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()
    return event.is_set()
