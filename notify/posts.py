"""Social-media posts in the delivery ledger. A post is a thread: its first part, then
replies in order (a group of stations that does not fit one post, or the English of a
Japanese post that filled the first). One thread covers one or more deliveries, and
each part carries the key that makes a retry safe where the platform honours one
(Mastodon's Idempotency-Key).

Each part is a row of ``posts`` (``thread``: the first part's id, ``part``: its place),
written 'waiting' with the thread, and marked 'sending' in its own fsynced transaction
before its request. If the process dies before the answer is recorded, the next start
finds it 'sending': on X, which has no idempotency, the thread's deliveries become
``unknown`` for an officer to check -- never re-posted; on Mastodon the part is re-sent
with the same key and text, and the thread goes on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import structlog

from floodwatch.notify import metrics
from floodwatch.notify.deliveries import DELIVERY_COLUMNS, Delivery, DeliveryLedger

log = structlog.get_logger("notify.posts")

PART_COLUMNS = "id, part, key, text, state, remote_id"


@dataclass(frozen=True, slots=True)
class Part:
    id: int
    index: int
    key: str
    text: str
    state: str  # waiting | sending | sent | unknown
    remote_id: str | None


@dataclass(frozen=True, slots=True)
class Post:
    id: int  # the first part's
    channel: str
    started_at: float
    parts: list[Part]
    deliveries: list[Delivery]

    @property
    def text(self) -> str:
        return "\n\n".join(part.text for part in self.parts)

    def unsent(self) -> list[Part]:
        return [part for part in self.parts if part.state != "sent"]

    def reply_to(self, part: Part) -> str | None:
        """The remote id of the part before ``part`` (None for the first)."""
        return None if part.index == 0 else self.parts[part.index - 1].remote_id


def post_key(channel: str, event_ids: list[str], part: int = 0) -> str:
    """Stable for the same channel, events and part, so a retry carries the same key."""
    material = channel + "\n" + "\n".join(sorted(event_ids)) + (f"\n#{part}" if part else "")
    return hashlib.sha256(material.encode()).hexdigest()[:32]


class Posts:
    def __init__(self, ledger: DeliveryLedger) -> None:
        self._ledger = ledger
        self._db = ledger.db
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(posts)")}
        if "thread" not in columns:  # a ledger from before threads: one part per post
            self._db.execute("ALTER TABLE posts ADD COLUMN thread INTEGER")
            self._db.execute("ALTER TABLE posts ADD COLUMN part INTEGER NOT NULL DEFAULT 0")
            self._db.execute("UPDATE posts SET thread = id")

    def create(self, channel: str, texts: list[str], deliveries: list[Delivery],
               superseded: list[Delivery], now: float) -> Post:
        """Record a thread for ``deliveries``; ``superseded`` deliveries (older events
        of the same stations, replaced by these) are settled as such at once."""
        event_ids = [d.event_id for d in deliveries]
        thread = 0

        def work() -> None:
            nonlocal thread
            for index, text in enumerate(texts):
                cursor = self._db.execute(
                    "INSERT INTO posts (channel, key, text, state, started_at, next_at, "
                    "thread, part) VALUES (?, ?, ?, 'waiting', ?, ?, ?, ?)",
                    (channel, post_key(channel, event_ids, index), text, now, now,
                     thread or None, index))
                if index == 0:
                    thread = int(cursor.lastrowid or 0)
                    self._db.execute("UPDATE posts SET thread = id WHERE id = ?", (thread,))
            self._db.executemany("UPDATE deliveries SET state = 'sending', attempts = "
                                 "attempts + 1, post_id = ? WHERE id = ?",
                                 [(thread, d.id) for d in deliveries])
            live_by_station = {d.station: d.event_id for d in deliveries}
            for old in superseded:
                detail = f"superseded by {live_by_station.get(old.station, 'a later event')}"
                self._db.execute("UPDATE deliveries SET state = 'superseded', detail = ? "
                                 "WHERE id = ?", (detail, old.id))
                self._ledger.status(old, "superseded", old.attempts, detail, now)
        self._ledger.transaction(work)
        return self._load(thread)

    def _load(self, thread: int) -> Post:
        head = self._db.execute("SELECT channel, started_at FROM posts WHERE id = ?",
                                (thread,)).fetchone()
        parts = [Part(*row) for row in self._db.execute(
            f"SELECT {PART_COLUMNS} FROM posts WHERE thread = ? ORDER BY part", (thread,))]  # noqa: S608
        deliveries = [Delivery(*row) for row in self._db.execute(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE post_id = ? ORDER BY id",  # noqa: S608
            (thread,))]
        return Post(thread, head[0], float(head[1]), parts, deliveries)

    def sending(self, post: Post, part: Part, now: float) -> None:
        """Before the request: a crash from here on leaves the part 'sending'."""
        def work() -> None:
            # A resend keeps the first attempt's time (the idempotency key's age).
            self._db.execute("UPDATE posts SET started_at = CASE WHEN state = 'sending' "
                             "THEN started_at ELSE ? END, state = 'sending' WHERE id = ?",
                             (now, part.id))
        self._ledger.transaction(work)

    def part_sent(self, post: Post, part: Part, remote_id: str, now: float) -> Post:
        """One part published; once the last is, the thread's deliveries are sent."""
        def work() -> None:
            self._db.execute("UPDATE posts SET state = 'sent', remote_id = ? WHERE id = ?",
                             (remote_id, part.id))
            if part.index < len(post.parts) - 1:
                return
            first = post.parts[0].remote_id if part.index else remote_id
            detail = f"post {first}" + (f" (+{part.index} replies)" if part.index else "")
            for delivery in post.deliveries:
                self._db.execute("UPDATE deliveries SET state = 'sent', detail = ? "
                                 "WHERE id = ?", (detail, delivery.id))
                self._ledger.status(delivery, "sent", delivery.attempts, detail, now)
        self._ledger.transaction(work)
        return self._load(post.id)

    def not_posted(self, post: Post, detail: str, now: float, retry_at: float) -> None:
        """The platform certainly did not publish the thread's first part (429, a
        refusal, no connection): the deliveries wait again, to be re-composed with
        whatever else is waiting."""
        def work() -> None:
            self._db.execute("DELETE FROM posts WHERE thread = ?", (post.id,))
            self._db.execute("UPDATE deliveries SET post_id = NULL WHERE post_id = ?",
                             (post.id,))
        # Deleted first: a crash in between leaves 'sending' deliveries without a post,
        # which a restart knows were not posted.
        self._ledger.transaction(work)
        self._ledger.finish(post.deliveries, "failed", detail, now, retry_at)

    def retry_later(self, post: Post, part: Part, detail: str, now: float,
                    retry_at: float) -> None:
        """``part`` is sent again later with the same key and text: its outcome is
        unknown on a platform with idempotency, or it certainly failed after earlier
        parts of the thread were published (those stay; the thread goes on)."""
        def work() -> None:
            self._db.execute("UPDATE posts SET next_at = ? WHERE thread = ? AND "
                             "state != 'sent'", (retry_at, post.id))
            if part.state != "sending":
                self._db.execute("UPDATE posts SET state = 'waiting' WHERE id = ?", (part.id,))
            # Counted on the deliveries, so the backoff grows with each retry of a part.
            self._db.execute("UPDATE deliveries SET attempts = attempts + 1 WHERE "
                             "post_id = ?", (post.id,))
            for delivery in post.deliveries:
                self._ledger.status(delivery, "failed", delivery.attempts, detail, now)
        self._ledger.transaction(work)

    def unknown(self, post: Post, detail: str, now: float) -> None:
        """Outcome unknown on a platform without idempotency: an officer must look."""
        def work() -> None:
            self._db.execute("UPDATE posts SET state = 'unknown' WHERE thread = ? AND "
                             "state != 'sent'", (post.id,))
            for delivery in post.deliveries:
                self._db.execute("UPDATE deliveries SET state = 'unknown', detail = ? "
                                 "WHERE id = ?", (detail, delivery.id))
                self._ledger.status(delivery, "unknown", delivery.attempts, detail, now)
        self._ledger.transaction(work)
        metrics.UNKNOWN.labels(post.channel).inc(len(post.deliveries))
        log.error("post outcome unknown: check the account and post by hand if missing; "
                  "not re-posted automatically", channel=post.channel, post_id=post.id,
                  events=[d.event_id for d in post.deliveries], text=post.text, why=detail)

    def in_flight(self, channel: str, due_by: float | None = None) -> list[Post]:
        """Threads not finished: a part left 'sending' (by a crash, or awaiting a
        same-key retry) or 'waiting' after published parts."""
        sql = ("SELECT DISTINCT thread FROM posts WHERE channel = ? AND state IN "
               "('sending', 'waiting')")
        params: tuple[str | float, ...] = (channel,)
        if due_by is not None:
            sql += " AND next_at <= ?"
            params = (channel, due_by)
        threads = [row[0] for row in self._db.execute(sql + " ORDER BY thread", params)]
        return [self._load(thread) for thread in threads]

    def count_since(self, channel: str, since: float) -> int:
        """Parts that reached (or may have reached) the platform since ``since``."""
        row = self._db.execute("SELECT count(*) FROM posts WHERE channel = ? AND "
                               "state != 'waiting' AND started_at >= ?",
                               (channel, since)).fetchone()
        return int(row[0])

    def oldest_since(self, channel: str, since: float) -> float | None:
        row = self._db.execute("SELECT min(started_at) FROM posts WHERE channel = ? AND "
                               "state != 'waiting' AND started_at >= ?",
                               (channel, since)).fetchone()
        return None if row[0] is None else float(row[0])

    def last_posted_seq(self, channel: str, station: str, alert_type: str) -> int | None:
        """The engine's seq of the station's latest event of ``alert_type`` posted on
        ``channel`` (None: none)."""
        row = self._db.execute(
            "SELECT max(json_extract(CAST(json AS TEXT), '$.seq')) FROM deliveries JOIN "
            "events USING (event_id) WHERE channel = ? AND deliveries.station = ? AND "
            "state = 'sent' AND json_extract(CAST(json AS TEXT), '$.alert_type') = ?",
            (channel, station, alert_type)).fetchone()
        return None if row[0] is None else int(row[0])

    def supersede(self, deliveries: list[Delivery], detail: str, now: float) -> None:
        """Settle deliveries residents must not be told any more (a later event of
        their station was posted)."""
        def work() -> None:
            for delivery in deliveries:
                self._db.execute("UPDATE deliveries SET state = 'superseded', detail = ? "
                                 "WHERE id = ?", (detail, delivery.id))
                self._ledger.status(delivery, "superseded", delivery.attempts, detail, now)
        self._ledger.transaction(work)

    def give_up(self, post: Post, detail: str, now: float) -> None:
        """A thread whose remaining parts could not be posted before its deliveries
        expired: what was published stays, the deliveries end ``expired``."""
        def work() -> None:
            self._db.execute("UPDATE posts SET state = 'expired' WHERE thread = ? AND "
                             "state != 'sent'", (post.id,))
        self._ledger.transaction(work)
        self._ledger.finish(post.deliveries, "expired", detail, now)

    def texts(self, channel: str) -> list[tuple[str, str]]:
        """(state, text) of every part, oldest first (tests and inspection)."""
        rows = self._db.execute("SELECT state, text FROM posts WHERE channel = ? ORDER BY id",
                                (channel,))
        return [(row[0], row[1]) for row in rows]
