"""Draining a durable queue of line-protocol lines into InfluxDB.

The alert engine's history and notify's delivery status are written to SQLite in the
same transaction as the state they describe, and reach InfluxDB afterwards: a stage
must keep working while InfluxDB is down, and what it queued must arrive once InfluxDB
is back. This writer is that second half, for any queue that can hand out its oldest
lines, forget them once written, and count what it holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

import structlog

from floodwatch.core.influx import DatabaseNotFound, InfluxClient, InfluxRejected, InfluxUnavailable
from floodwatch.core.waiting import wait_event

log = structlog.get_logger("influx.queue")

# History lines carry the CAP XML (a few kB each): 500 keep a request near a megabyte.
BATCH = 500


class LineQueue(Protocol):
    def batch(self, limit: int) -> tuple[int, list[str]]:
        """(id of the last line, lines), oldest first; (0, []) when empty."""
        ...

    def written(self, up_to_id: int) -> None: ...
    def backlog(self) -> int: ...


class QueuedLineWriter:
    """Writes the queue's lines in batches, retrying with backoff while InfluxDB is
    down; ``what`` names them in the logs, ``on_backlog`` reports the queue's size."""

    def __init__(self, queue: LineQueue, influx: InfluxClient, *, what: str,
                 on_backlog: Callable[[int], None], idle_s: float = 5.0) -> None:
        self._queue = queue
        self._influx = influx
        self._what = what
        self._on_backlog = on_backlog
        self._idle_s = idle_s
        self._wake = asyncio.Event()

    def notify(self) -> None:
        self._wake.set()

    async def run(self, retry_max_s: float = 30.0) -> None:
        delay = 1.0
        while True:
            up_to, lines = self._queue.batch(BATCH)
            self._on_backlog(self._queue.backlog())
            if not lines:
                self._wake.clear()
                await wait_event(self._wake, self._idle_s)
                continue
            try:
                await self._write(lines)
            except InfluxUnavailable as exc:
                log.warning(f"InfluxDB unavailable; {self._what} queued", error=str(exc),
                            queued=self._queue.backlog(), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(retry_max_s, delay * 2)
                continue
            except InfluxRejected:
                # Our own lines: a refusal is a bug, and retrying would block the queue.
                # It must cost only the lines refused, never the good ones of the batch.
                try:
                    await self._write_each_half(lines)
                except InfluxUnavailable:
                    continue  # InfluxDB went away meanwhile: the whole batch again
            delay = 1.0
            self._queue.written(up_to)

    async def _write_each_half(self, lines: list[str]) -> None:
        """Bisect a refused batch: write what InfluxDB accepts; log each refused line in
        full (a record to restore by hand, never silently gone)."""
        if len(lines) == 1:
            try:
                await self._write(lines)
            except InfluxRejected as exc:
                log.error(f"InfluxDB refused a line of {self._what}; it is logged here "
                          f"in full, not written", error=str(exc), line=lines[0])
            return
        middle = len(lines) // 2
        for half in (lines[:middle], lines[middle:]):
            try:
                await self._write(half)
            except InfluxRejected:
                await self._write_each_half(half)

    async def _write(self, lines: list[str]) -> None:
        try:
            await self._influx.write(lines)
        except DatabaseNotFound:
            await self._influx.create_database()
            await self._influx.write(lines)
