"""Posting to social media (X, Mastodon) from the delivery ledger: each station's
current state, grouped by municipality, alert type and level (notify.storm), as threads
where a group does not fit one post; the most urgent first when the budget is short;
nothing posted twice.

Deliveries wait ``gather_s`` after the oldest of them was created, so a burst of
stations arriving together is planned together. A 429 pauses the channel until the
platform's reset time; what waits meanwhile is re-planned, and goes out by urgency,
when it reopens. A thread already under way is finished first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog

from floodwatch.core.registry import StationRegistry
from floodwatch.core.waiting import wait_event
from floodwatch.notify import metrics
from floodwatch.notify.budget import PostingBudget
from floodwatch.notify.channels.base import DeliveryError, backoff_s
from floodwatch.notify.compose import Composer, shorten
from floodwatch.notify.config import Social
from floodwatch.notify.deliveries import Delivery, DeliveryLedger
from floodwatch.notify.notice import Notice
from floodwatch.notify.posts import Part, Post, Posts
from floodwatch.notify.storm import PlannedThread, Waiting, plan_posts

log = structlog.get_logger("notify.social")

# After a 429 that did not say until when (X's windows are 15 minutes).
DEFAULT_PAUSE_S = 900.0
# Mastodon keeps an Idempotency-Key for one hour; a same-key retry after that could
# publish twice, so such a post is reported as unknown instead.
IDEMPOTENCY_TTL_S = 3300.0


class Platform(Protocol):
    name: str
    idempotent: bool

    async def post(self, text: str, key: str, *, reply_to: str | None = None) -> str:
        """Publish (as a reply to the post ``reply_to``); return the post's id, or
        raise DeliveryError."""
        ...


class SocialSender:
    """Posts one social channel's (X or Mastodon) deliveries from the delivery ledger:
    planned by notify.storm (each station's current state, by municipality, alert type
    and level), within the posting budget, never posted twice."""

    def __init__(self, ledger: DeliveryLedger, platform: Platform, composer: Composer, *,
                 config: Social, registry: StationRegistry,
                 clock: Callable[[], float] = time.time,
                 on_change: Callable[[], None] | None = None) -> None:
        self.name = platform.name
        self._ledger = ledger
        self._posts = Posts(ledger)
        self._platform = platform
        self._composer = composer
        self._config = config
        self._registry = registry
        self._clock = clock
        self._gather_s = config.gather_s
        self._budget = PostingBudget(platform.name, config.budget, ledger, self._posts)
        self._wake = asyncio.Event()
        self._on_change = on_change or (lambda: None)

    def wake(self) -> None:
        self._wake.set()

    def recover(self) -> None:
        """Settle what a killed process left 'sending'."""
        now = self._clock()
        for post in self._posts.in_flight(self.name):
            fresh = now - post.started_at < IDEMPOTENCY_TTL_S
            interrupted = any(part.state == "sending" for part in post.parts)
            if not interrupted or (self._platform.idempotent and fresh):
                log.info("re-sending an interrupted post with its idempotency key",
                         channel=self.name, post_id=post.id)
                continue
            self._posts.unknown(post, "the process stopped while posting; outcome unknown",
                                now)
        # Deliveries 'sending' without a post were never handed to the platform.
        orphans = self._ledger.in_flight(self.name, without_post=True)
        if orphans:
            self._ledger.finish(orphans, "pending", "interrupted before posting", now)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``, never in the middle of a post (call ``wake`` with it)."""
        while not stop.is_set():
            wait_s = await self.step()
            self._on_change()
            self._wake.clear()
            await wait_event(self._wake, max(0.05, min(wait_s, 5.0)))

    async def step(self) -> float:
        """One pass; returns how long to wait before the next (unless woken)."""
        now = self._clock()
        expired = self._ledger.expire_due(self.name, now)
        if expired:
            log.error("posts expired unsent (too old to be useful)", channel=self.name,
                      events=[d.event_id for d in expired])
        metrics.BACKLOG.labels(self.name).set(self._ledger.backlog(self.name))
        metrics.RATE_LIMITED.labels(self.name).set(self._budget.paused_until())
        if now < self._budget.paused_until():
            return self._budget.paused_until() - now
        under_way = self._posts.in_flight(self.name, due_by=now)
        waiting = self._waiting(now)
        if not under_way and not waiting:
            next_at = self._ledger.next_due_at(self.name)
            return 5.0 if next_at is None else max(0.05, next_at - now)
        # The rest of a thread under way will take posts of the budget too.
        owed = sum(len(post.unsent()) for post in under_way)
        available = max(0, self._budget.available(self._clock()) - owed)
        threads = (plan_posts(waiting, self._registry, available, self._render)
                   if waiting else [])
        if not threads and not under_way:
            log.warning("posting budget used up; most urgent first when it reopens",
                        channel=self.name, waiting=len(waiting))
            return self._until_opening()
        # Most urgent first -- a new level 5 before the English reply of a level 3 a 429
        # interrupted; on a tie, what is under way (composed earlier) first.
        queue: list[tuple[int, int, Post | PlannedThread]] = [
            (-_urgency(post.deliveries), 0, post) for post in under_way]
        queue += [(-_urgency(thread.live), 1, thread) for thread in threads]
        for _, _, item in sorted(queue, key=lambda entry: entry[:2]):
            post = item if isinstance(item, Post) else self._posts.create(
                self.name, item.texts, item.live, item.superseded, self._clock())
            if not await self._attempt(post):
                return self._until_opening()
        return 0.05

    def _render(self, notices: Sequence[Notice], max_posts: int) -> list[str]:
        texts = self._composer.thread(notices, max_posts=max_posts)
        fitting = [text if self._composer.fits(text) else shorten(text, self._composer.fits)
                   for text in texts]
        if fitting != texts:  # templates too long for the platform: never refused, cut
            log.error("post too long for the platform; cut at the end -- shorten the "
                      "templates (notify.yaml)", channel=self.name, texts=texts)
        return fitting

    def _until_opening(self) -> float:
        return max(0.05, self._budget.next_opening(self._clock()) - self._clock())

    def _waiting(self, now: float) -> list[Waiting]:
        """Due deliveries, once the oldest is gather_s old (the rest of its burst has
        had time to arrive and goes with it)."""
        due = self._ledger.due(self.name, now, limit=10_000)
        if not due or now - min(d.created_at for d in due) < self._gather_s:
            return []
        waiting: list[Waiting] = []
        stale: list[Waiting] = []
        for delivery in due:
            notice = Notice.from_json(self._ledger.event(delivery.event_id).json or b"")
            posted = self._posts.last_posted_seq(self.name, notice.station, notice.alert_type)
            # Reached us after a later event of its station was posted (a late half):
            # posting it now would show residents a stale state as the newest.
            (stale if posted is not None and notice.seq < posted else waiting).append(
                Waiting(delivery, notice))
        if stale:
            self._posts.supersede([w.delivery for w in stale], "not posted: a later event "
                                  "of its station was already posted", now)
        return waiting

    async def _attempt(self, post: Post) -> bool:
        """Send a thread's unsent parts in order; False when the channel must pause."""
        for part in post.unsent():
            self._posts.sending(post, part, self._clock())
            try:
                remote_id = await self._platform.post(part.text, part.key,
                                                      reply_to=post.reply_to(part))
            except DeliveryError as exc:
                return self._failed(post, part, exc)
            post = self._posts.part_sent(post, part, remote_id, self._clock())
        log.info("posted", channel=self.name, post_id=post.parts[0].remote_id,
                 parts=len(post.parts), events=[d.event_id for d in post.deliveries])
        return True

    def _failed(self, post: Post, part: Part, exc: DeliveryError) -> bool:
        now = self._clock()
        attempts = max((d.attempts for d in post.deliveries), default=1)
        first = part.index == 0
        if exc.rate_limited:
            until = exc.retry_at if exc.retry_at is not None else now + DEFAULT_PAUSE_S
            self._budget.pause_until(until)
            log.warning("rate limited; posts wait until the window reopens",
                        channel=self.name, until=until, detail=exc.detail)
            if first:
                self._posts.not_posted(post, exc.detail, now, until)
            else:  # the thread's published parts stay; it goes on when X reopens
                self._posts.retry_later(post, part, exc.detail, now, until)
            return False
        too_old = now - post.started_at >= IDEMPOTENCY_TTL_S
        if exc.unknown and (not self._platform.idempotent or too_old):
            self._posts.unknown(post, exc.detail, now)
            return True
        if not first and now >= min(d.expires_at for d in post.deliveries):
            log.error("gave up on the rest of a thread (its first posts stay)",
                      channel=self.name, post_id=post.parts[0].remote_id, part=part.index,
                      error=exc.detail)
            self._posts.give_up(post, f"part {part.index} not posted: {exc.detail}", now)
            return True
        retry_at = now + backoff_s(self._config.retry, attempts)
        log.warning("post failed; will retry", channel=self.name, error=exc.detail,
                    part=part.index, retry_in_s=round(retry_at - now, 1))
        if exc.unknown or not first:
            self._posts.retry_later(post, part, exc.detail, now, retry_at)
        else:
            self._posts.not_posted(post, exc.detail, now, retry_at)
        return True


def _urgency(deliveries: Sequence[Delivery]) -> int:
    return max((delivery.priority for delivery in deliveries), default=0)
