"""The durable delivery ledger: one SQLite file (WAL) in FLOODWATCH_STATE_DIR/notify.

- ``events``: each alert event's JSON and CAP as received from the bus. Once both have
  arrived (or the pair timeout passed), the policy plans its deliveries.
- ``deliveries``: one row per (event, channel), written before anything is sent, in the
  transaction that stores the bus message -- so the message is acknowledged only once
  its deliveries are on disk. States: pending -> sending -> sent | expired | unknown;
  pending -> superseded (a social post told the station's later event instead).
- ``posts``: social-media posts (threads of parts), each covering one or more deliveries.
- ``network_status``: the latest station status to mirror, retained, on the network.
- ``status_lines``: ``alert_delivery`` points waiting for InfluxDB (notify.status),
  queued in the transaction of the state change they describe.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from floodwatch.notify import metrics
from floodwatch.notify.status import Stamper, State, delivery_line

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY, station TEXT NOT NULL, json BLOB, cap BLOB,
    first_seen REAL NOT NULL, planned INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS events_unplanned ON events (planned, first_seen);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, channel TEXT NOT NULL,
    station TEXT NOT NULL, alert_id TEXT NOT NULL, priority INTEGER NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL,
    created_at REAL NOT NULL, expires_at REAL NOT NULL, detail TEXT NOT NULL DEFAULT '',
    post_id INTEGER, UNIQUE (event_id, channel));
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (channel, state, next_at);
CREATE TABLE IF NOT EXISTS posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, key TEXT NOT NULL,
    text TEXT NOT NULL, state TEXT NOT NULL, started_at REAL NOT NULL, next_at REAL NOT NULL,
    remote_id TEXT);
CREATE TABLE IF NOT EXISTS network_status (
    station TEXT PRIMARY KEY, payload BLOB NOT NULL, delivered INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS status_lines (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL);
"""
KEEP_S = 30 * 86_400.0  # settled deliveries are kept this long (see DeliveryLedger.prune)


@dataclass(frozen=True, slots=True)
class Planned:
    channel: str
    priority: int
    expires_at: float
    alert_id: str  # the event id of the raise (the event's own when unknown)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event_id: str
    station: str
    json: bytes | None
    cap: bytes | None


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    event_id: str
    channel: str
    station: str
    alert_id: str
    priority: int
    state: str
    attempts: int
    created_at: float
    expires_at: float


Planner = Callable[[StoredEvent, "DeliveryLedger"], list[Planned]]
DELIVERY_COLUMNS = ("id, event_id, channel, station, alert_id, priority, state, attempts, "
                    "created_at, expires_at")


class DeliveryLedger:
    """The durable record of every (event, channel) delivery of this notify process: written
    before anything is sent, settled (sent, expired, unknown) once it is, and kept for the
    all-clears and the posting budget that look back at it."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._stamp = Stamper()
        self._synchronous = ""

    def close(self) -> None:
        self._db.close()

    def transaction(self, work: Callable[[], None], *, durable: bool = True) -> None:
        """``durable`` (FULL, fsynced): a recorded delivery, or an X post marked
        'sending', survives a power cut. NORMAL is enough for at-least-once bookkeeping:
        losing it only means sending again."""
        mode = "FULL" if durable else "NORMAL"
        if mode != self._synchronous:
            self._db.execute(f"PRAGMA synchronous={mode}")
            self._synchronous = mode
        self._db.execute("BEGIN IMMEDIATE")
        try:
            work()
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def status(self, delivery: Delivery, state: State, attempts: int, detail: str,
               now: float) -> None:
        """Queue one status line (inside a ``transaction``)."""
        self._db.execute("INSERT INTO status_lines (line) VALUES (?)", (delivery_line(
            delivery.station, delivery.channel, event_id=delivery.event_id, state=state,
            attempts=attempts, detail=detail, at_ns=self._stamp(now)),))
        metrics.DELIVERIES.labels(delivery.channel, state).inc()

    # --- intake --------------------------------------------------------------------
    def receive(self, parts: Iterable[tuple[str, str, str, bytes]],
                statuses: dict[str, bytes], now: float, plan: Planner,
                pair_timeout_s: float) -> int:
        """Store (event_id, station, 'json'|'cap', payload) parts and station statuses,
        and plan the deliveries of every event now complete, in one transaction.
        Returns how many deliveries were created."""
        created = 0

        def work() -> None:
            nonlocal created
            for event_id, station, part, payload in parts:
                self._db.execute(
                    "INSERT OR IGNORE INTO events (event_id, station, first_seen) "
                    "VALUES (?, ?, ?)", (event_id, station, now))
                # Only while unplanned: a redelivered old event changes nothing.
                self._db.execute(f"UPDATE events SET {part} = ? WHERE event_id = ? "  # noqa: S608
                                 "AND planned = 0", (payload, event_id))
            self._db.executemany(
                "INSERT INTO network_status (station, payload, delivered) VALUES (?, ?, 0) "
                "ON CONFLICT (station) DO UPDATE SET payload = excluded.payload, delivered = 0 "
                "WHERE payload != excluded.payload", list(statuses.items()))
            rows = self._db.execute(
                "SELECT event_id, station, json, cap FROM events WHERE planned = 0 AND "
                "((json IS NOT NULL AND cap IS NOT NULL) OR first_seen <= ?) "
                "ORDER BY rowid", (now - pair_timeout_s,)).fetchall()
            for event_id, station, json_part, cap_part in rows:
                event = StoredEvent(event_id, station, json_part, cap_part)
                self._db.execute("UPDATE events SET planned = 1 WHERE event_id = ?",
                                 (event_id,))
                for planned in plan(event, self):
                    created += self._insert(event, planned, now)

        self.transaction(work)
        return created

    def _insert(self, event: StoredEvent, planned: Planned, now: float) -> int:
        alert_id = planned.alert_id
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO deliveries (event_id, channel, station, alert_id, "
            "priority, state, next_at, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
            (event.event_id, planned.channel, event.station, alert_id, planned.priority,
             now, now, planned.expires_at))
        if cursor.rowcount == 0:
            return 0
        delivery = Delivery(int(cursor.lastrowid or 0), event.event_id, planned.channel,
                            event.station, alert_id, planned.priority, "pending", 0, now,
                            planned.expires_at)
        self.status(delivery, "pending", 0, "", now)
        return 1

    def announced_level(self, alert_id: str, channel: str) -> int | None:
        """The level of the alert's latest event told (or to be told) on ``channel``
        (None: never told). Superseded and expired deliveries were never told."""
        row = self._db.execute(
            "SELECT json_extract(CAST(json AS TEXT), '$.level') FROM deliveries JOIN events "
            "USING (event_id) WHERE alert_id = ? AND channel = ? AND state NOT IN "
            "('superseded', 'expired') ORDER BY json_extract(CAST(json AS TEXT), '$.seq') "
            "DESC, id DESC LIMIT 1",
            (alert_id, channel)).fetchone()
        return None if row is None else int(row[0] or 0)

    def event(self, event_id: str) -> StoredEvent:
        return StoredEvent(*self._db.execute("SELECT event_id, station, json, cap FROM events "
                                             "WHERE event_id = ?", (event_id,)).fetchone())

    # --- deliveries ----------------------------------------------------------------
    def due(self, channel: str, now: float, limit: int = 100) -> list[Delivery]:
        rows = self._db.execute(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE channel = ? AND state = 'pending' "  # noqa: S608
            "AND next_at <= ? ORDER BY priority DESC, id LIMIT ?", (channel, now, limit))
        return [Delivery(*row) for row in rows]

    def retry_now(self, channel: str, now: float) -> None:
        """Bring waiting retries forward (the channel's broker is back)."""
        self._db.execute("UPDATE deliveries SET next_at = ? WHERE channel = ? AND "
                         "state = 'pending' AND next_at > ?", (now, channel, now))

    def next_due_at(self, channel: str) -> float | None:
        row = self._db.execute("SELECT min(next_at) FROM deliveries WHERE channel = ? AND "
                               "state = 'pending'", (channel,)).fetchone()
        return None if row[0] is None else float(row[0])

    def begin(self, deliveries: list[Delivery], *, durable: bool = True) -> None:
        """Mark deliveries 'sending' (attempts + 1) before their send."""
        def work() -> None:
            self._db.executemany("UPDATE deliveries SET state = 'sending', attempts = "
                                 "attempts + 1 WHERE id = ?", [(d.id,) for d in deliveries])
        self.transaction(work, durable=durable)

    def finish(self, deliveries: list[Delivery], state: State, detail: str, now: float,
               retry_at: float | None = None, *, durable: bool = True) -> None:
        """Record an outcome. ``failed`` with ``retry_at`` goes back to pending, and
        expires instead when ``retry_at`` is past its expiry."""
        def work() -> None:
            for delivery in deliveries:
                attempts = self._attempts(delivery.id)
                final: State = state
                if state == "failed" and (retry_at is None or retry_at > delivery.expires_at):
                    final = "expired"
                self.status(delivery, state, attempts, detail, now)
                if final == "expired" and state != "expired":
                    self.status(delivery, "expired", attempts, detail, now)
                row_state = "pending" if final == "failed" else final
                self._db.execute(
                    "UPDATE deliveries SET state = ?, detail = ?, next_at = ? WHERE id = ?",
                    (row_state, detail, retry_at or now, delivery.id))
        self.transaction(work, durable=durable)

    def _attempts(self, delivery_id: int) -> int:
        return int(self._db.execute("SELECT attempts FROM deliveries WHERE id = ?",
                                    (delivery_id,)).fetchone()[0])

    def in_flight(self, channel: str, *, without_post: bool = False) -> list[Delivery]:
        """Deliveries left 'sending' by a process that died (``without_post``: those
        not yet part of a social post, which were never handed to the platform)."""
        extra = " AND post_id IS NULL" if without_post else ""
        rows = self._db.execute(f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE "  # noqa: S608
                                f"channel = ? AND state = 'sending'{extra} ORDER BY id",
                                (channel,))
        return [Delivery(*row) for row in rows]

    def expire_due(self, channel: str, now: float) -> list[Delivery]:
        rows = self._db.execute(f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE channel = ? AND "  # noqa: S608
                                "state = 'pending' AND expires_at <= ?", (channel, now))
        expired = [Delivery(*row) for row in rows]
        if expired:
            self.finish(expired, "expired", "not delivered in time", now)
        return expired

    def backlog(self, channel: str) -> int:
        return int(self._db.execute("SELECT count(*) FROM deliveries WHERE channel = ? AND "
                                    "state IN ('pending', 'sending')", (channel,)).fetchone()[0])

    def states(self) -> dict[tuple[str, str], str]:  # (event_id, channel) -> state
        rows = self._db.execute("SELECT event_id, channel, state FROM deliveries")
        return {(row[0], row[1]): row[2] for row in rows}

    def prune(self, now: float, keep_s: float = KEEP_S) -> int:
        """Forget settled deliveries (and their events and posts) older than ``keep_s``.
        Kept long enough for an all-clear to find its announcement, and for the posting
        budget's day."""
        before = now - keep_s
        removed = 0

        def work() -> None:
            nonlocal removed
            removed = self._db.execute(
                "DELETE FROM deliveries WHERE state IN ('sent', 'expired', 'unknown', "
                "'superseded') "
                "AND created_at < ?", (before,)).rowcount
            self._db.execute(
                "DELETE FROM events WHERE planned = 1 AND first_seen < ? AND NOT EXISTS "
                "(SELECT 1 FROM deliveries WHERE deliveries.event_id = events.event_id)",
                (before,))
            self._db.execute("DELETE FROM posts WHERE state != 'sending' AND started_at < ?",
                             (before,))
        self.transaction(work)
        return removed

    # --- meta ----------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def db(self) -> sqlite3.Connection:  # for notify.posts and notify.status
        return self._db
