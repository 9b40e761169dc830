"""Social-media posts in the delivery ledger: one post covers one or more deliveries (a
station's event, or a basin's burst), and carries the key that makes a retry safe where
the platform honours one (Mastodon's Idempotency-Key).

A post row is written ('sending') before the request, in its own fsynced transaction.
If the process dies before the answer is recorded, the next start finds it 'sending':
on X, which has no idempotency, its deliveries become ``unknown`` for an officer to
check -- never re-posted; on Mastodon it is re-sent with the same key and text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import structlog

from floodwatch.notify import metrics
from floodwatch.notify.deliveries import DELIVERY_COLUMNS, Delivery, DeliveryLedger

log = structlog.get_logger("notify.posts")


@dataclass(frozen=True, slots=True)
class Post:
    id: int
    channel: str
    key: str
    text: str
    started_at: float
    deliveries: list[Delivery]


def post_key(channel: str, event_ids: list[str]) -> str:
    """Stable for the same channel and events, so a retry carries the same key."""
    material = channel + "\n" + "\n".join(sorted(event_ids))
    return hashlib.sha256(material.encode()).hexdigest()[:32]


class Posts:
    def __init__(self, ledger: DeliveryLedger) -> None:
        self._ledger = ledger
        self._db = ledger.db

    def create(self, channel: str, text: str, deliveries: list[Delivery], now: float) -> Post:
        key = post_key(channel, [d.event_id for d in deliveries])
        post_id = 0

        def work() -> None:
            nonlocal post_id
            cursor = self._db.execute(
                "INSERT INTO posts (channel, key, text, state, started_at, next_at) "
                "VALUES (?, ?, ?, 'sending', ?, ?)", (channel, key, text, now, now))
            post_id = int(cursor.lastrowid or 0)
            self._db.executemany("UPDATE deliveries SET state = 'sending', attempts = "
                                 "attempts + 1, post_id = ? WHERE id = ?",
                                 [(post_id, d.id) for d in deliveries])
        self._ledger.transaction(work)
        return Post(post_id, channel, key, text, now, self._deliveries(post_id))

    def _deliveries(self, post_id: int) -> list[Delivery]:
        rows = self._db.execute(f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE post_id = ? "  # noqa: S608
                                "ORDER BY id", (post_id,))
        return [Delivery(*row) for row in rows]

    def sent(self, post: Post, remote_id: str, now: float) -> None:
        def work() -> None:
            self._db.execute("UPDATE posts SET state = 'sent', remote_id = ? WHERE id = ?",
                             (remote_id, post.id))
            for delivery in self._deliveries(post.id):
                self._db.execute("UPDATE deliveries SET state = 'sent', detail = ? "
                                 "WHERE id = ?", (f"post {remote_id}", delivery.id))
                self._ledger.status(delivery, "sent", delivery.attempts, f"post {remote_id}",
                                    now)
        self._ledger.transaction(work)

    def not_posted(self, post: Post, detail: str, now: float, retry_at: float) -> None:
        """The platform certainly did not publish it (429, a refusal, no connection):
        the deliveries wait again, to be re-composed with whatever else is waiting."""
        deliveries = self._deliveries(post.id)

        def work() -> None:
            self._db.execute("DELETE FROM posts WHERE id = ?", (post.id,))
            self._db.execute("UPDATE deliveries SET post_id = NULL WHERE post_id = ?",
                             (post.id,))
        # Deleted first: a crash in between leaves 'sending' deliveries without a post,
        # which a restart knows were not posted.
        self._ledger.transaction(work)
        self._ledger.finish(deliveries, "failed", detail, now, retry_at)

    def retry_later(self, post: Post, detail: str, now: float, retry_at: float) -> None:
        """Outcome unknown on a platform with idempotency: the same post (same key and
        text) is sent again later."""
        def work() -> None:
            self._db.execute("UPDATE posts SET next_at = ? WHERE id = ?", (retry_at, post.id))
            for delivery in self._deliveries(post.id):
                self._ledger.status(delivery, "failed", delivery.attempts, detail, now)
        self._ledger.transaction(work)

    def unknown(self, post: Post, detail: str, now: float) -> None:
        """Outcome unknown on a platform without idempotency: an officer must look."""
        deliveries = self._deliveries(post.id)

        def work() -> None:
            self._db.execute("UPDATE posts SET state = 'unknown' WHERE id = ?", (post.id,))
            for delivery in deliveries:
                self._db.execute("UPDATE deliveries SET state = 'unknown', detail = ? "
                                 "WHERE id = ?", (detail, delivery.id))
                self._ledger.status(delivery, "unknown", delivery.attempts, detail, now)
        self._ledger.transaction(work)
        metrics.UNKNOWN.labels(post.channel).inc(len(deliveries))
        log.error("post outcome unknown: check the account and post by hand if missing; "
                  "not re-posted automatically", channel=post.channel, post_id=post.id,
                  events=[d.event_id for d in deliveries], text=post.text, why=detail)

    def in_flight(self, channel: str, due_by: float | None = None) -> list[Post]:
        """Posts left 'sending' (by a crash, or awaiting a same-key retry)."""
        sql = ("SELECT id, channel, key, text, started_at FROM posts WHERE channel = ? "
               "AND state = 'sending'")
        params: tuple[str | float, ...] = (channel,)
        if due_by is not None:
            sql += " AND next_at <= ?"
            params = (channel, due_by)
        rows = self._db.execute(sql + " ORDER BY id", params).fetchall()
        return [Post(row[0], row[1], row[2], row[3], row[4], self._deliveries(row[0]))
                for row in rows]

    def count_since(self, channel: str, since: float) -> int:
        """Posts that reached (or may have reached) the platform since ``since``."""
        row = self._db.execute("SELECT count(*) FROM posts WHERE channel = ? AND "
                               "started_at >= ?", (channel, since)).fetchone()
        return int(row[0])

    def oldest_since(self, channel: str, since: float) -> float | None:
        row = self._db.execute("SELECT min(started_at) FROM posts WHERE channel = ? AND "
                               "started_at >= ?", (channel, since)).fetchone()
        return None if row[0] is None else float(row[0])

    def texts(self, channel: str) -> list[tuple[str, str]]:
        """(state, text) of every post, oldest first (tests and inspection)."""
        rows = self._db.execute("SELECT state, text FROM posts WHERE channel = ? ORDER BY id",
                                (channel,))
        return [(row[0], row[1]) for row in rows]
