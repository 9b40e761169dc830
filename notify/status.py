"""Delivery status in InfluxDB: measurement ``alert_delivery``, one point per attempt or
state change. The API reads exactly this schema (see README):

- tags ``station``, ``channel``;
- fields ``event_id`` (string), ``state`` (pending|sent|failed|expired|unknown|superseded),
  ``attempts`` (integer), ``detail`` (string);
- timestamp: when the state changed (nanoseconds, made strictly increasing in this
  process so two changes in the same nanosecond never overwrite each other).

Lines are queued in the delivery ledger's SQLite file in the transaction that changes the
state, and written by ``status_writer``; InfluxDB being down delays them, never a delivery.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Literal

import structlog

from floodwatch.core.influx import InfluxClient
from floodwatch.core.line_queue import QueuedLineWriter
from floodwatch.core.lineprotocol import format_point
from floodwatch.notify import metrics

log = structlog.get_logger("notify.status")

MEASUREMENT = "alert_delivery"
State = Literal["pending", "sent", "failed", "expired", "unknown", "superseded"]
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


class StatusLines:
    """The queue of status lines in the delivery ledger's SQLite file, oldest first."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def batch(self, limit: int) -> tuple[int, list[str]]:
        rows = self._db.execute("SELECT id, line FROM status_lines ORDER BY id LIMIT ?",
                                (limit,)).fetchall()
        return (rows[-1][0] if rows else 0), [row[1] for row in rows]

    def written(self, up_to_id: int) -> None:
        self._db.execute("DELETE FROM status_lines WHERE id <= ?", (up_to_id,))

    def backlog(self) -> int:
        count = int(self._db.execute("SELECT count(*) FROM status_lines").fetchone()[0])
        if count > MAX_STATUS_BACKLOG:  # bounded: the oldest points give way
            self._db.execute("DELETE FROM status_lines WHERE id IN (SELECT id FROM "
                             "status_lines ORDER BY id LIMIT ?)", (count - MAX_STATUS_BACKLOG,))
            log.error("delivery status backlog full; oldest points dropped",
                      dropped=count - MAX_STATUS_BACKLOG)
        return min(count, MAX_STATUS_BACKLOG)


def status_writer(lines: StatusLines, influx: InfluxClient) -> QueuedLineWriter:
    """Delivery status into InfluxDB; delivery never waits for it."""
    return QueuedLineWriter(lines, influx, what="delivery status",
                            on_backlog=metrics.STATUS_BACKLOG.set, idle_s=2.0)
