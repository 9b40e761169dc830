"""Delivery status in InfluxDB: measurement ``alert_delivery``, one point per attempt or
state change. The API reads exactly this schema (see README):

- tags ``station``, ``channel``;
- fields ``event_id`` (string), ``state`` (pending|sent|failed|expired|unknown),
  ``attempts`` (integer), ``detail`` (string);
- timestamp: when the state changed (nanoseconds, made strictly increasing in this
  process so two changes in the same nanosecond never overwrite each other).

Lines are queued in the outbox's SQLite file in the transaction that changes the state,
and written by ``StatusWriter``; InfluxDB being down delays them, never a delivery.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Literal, Protocol

import structlog

from core.influx import DatabaseNotFound, InfluxClient, InfluxRejected, InfluxUnavailable
from core.lineprotocol import format_point
from core.waiting import wait_event
from notify import metrics

log = structlog.get_logger("notify.status")

MEASUREMENT = "alert_delivery"
State = Literal["pending", "sent", "failed", "expired", "unknown"]
BATCH = 500
MAX_DETAIL = 300
MAX_STATUS_BACKLOG = 200_000  # points kept while InfluxDB is down


class Stamper:
    """Nanosecond timestamps that never repeat."""

    def __init__(self) -> None:
        self._last = 0

    def __call__(self, at_s: float | None = None) -> int:
        ns = time.time_ns() if at_s is None else int(at_s * 1e9)
        self._last = max(ns, self._last + 1)
        return self._last


def delivery_line(station: str, channel: str, *, event_id: str, state: State, attempts: int,
                  detail: str, at_ns: int) -> str:
    # Free text must stay on one line (line protocol has no newline escape).
    clean = " ".join(detail.split())[:MAX_DETAIL]
    return format_point(MEASUREMENT, {"station": station, "channel": channel},
                        {"event_id": event_id, "state": state, "attempts": attempts,
                         "detail": clean}, at_ns)


class StatusQueue(Protocol):
    """Where the writer reads queued lines (the outbox)."""

    def status_batch(self, limit: int) -> tuple[int, list[str]]: ...
    def status_written(self, up_to_id: int) -> None: ...
    def status_backlog(self) -> int: ...


class StatusLines:
    """The queue of status lines in the outbox's SQLite file, oldest first."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def status_batch(self, limit: int) -> tuple[int, list[str]]:
        rows = self._db.execute("SELECT id, line FROM status_lines ORDER BY id LIMIT ?",
                                (limit,)).fetchall()
        return (rows[-1][0] if rows else 0), [row[1] for row in rows]

    def status_written(self, up_to_id: int) -> None:
        self._db.execute("DELETE FROM status_lines WHERE id <= ?", (up_to_id,))

    def status_backlog(self) -> int:
        count = int(self._db.execute("SELECT count(*) FROM status_lines").fetchone()[0])
        if count > MAX_STATUS_BACKLOG:  # bounded: the oldest points give way
            self._db.execute("DELETE FROM status_lines WHERE id IN (SELECT id FROM "
                             "status_lines ORDER BY id LIMIT ?)", (count - MAX_STATUS_BACKLOG,))
            log.error("delivery status backlog full; oldest points dropped",
                      dropped=count - MAX_STATUS_BACKLOG)
        return min(count, MAX_STATUS_BACKLOG)


class StatusWriter:
    """Drains queued status lines into InfluxDB, retrying while it is down."""

    def __init__(self, queue: StatusQueue, influx: InfluxClient) -> None:
        self._queue = queue
        self._influx = influx
        self._wake = asyncio.Event()

    def notify(self) -> None:
        self._wake.set()

    async def run(self, retry_max_s: float = 30.0) -> None:
        delay = 1.0
        while True:
            up_to, lines = self._queue.status_batch(BATCH)
            metrics.STATUS_BACKLOG.set(self._queue.status_backlog())
            if not lines:
                self._wake.clear()
                await wait_event(self._wake, 2.0)
                continue
            try:
                await self._write(lines)
            except InfluxUnavailable as exc:
                log.warning("InfluxDB unavailable; delivery status queued", error=str(exc),
                            queued=self._queue.status_backlog(), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(retry_max_s, delay * 2)
                continue
            except InfluxRejected as exc:
                log.error("InfluxDB refused delivery status; dropped", error=str(exc),
                          lines=len(lines))
            delay = 1.0
            self._queue.status_written(up_to)

    async def _write(self, lines: list[str]) -> None:
        try:
            await self._influx.write(lines)
        except DatabaseNotFound:
            await self._influx.create_database()
            await self._influx.write(lines)
