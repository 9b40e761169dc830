"""Our own posting budget per channel: at most ``per_window`` posts in any ``window_s``
and ``per_day`` in any 24 hours, counted from the delivery ledger (so it survives
restarts), plus the platform's own "come back at" time after a 429, also kept there.
"""

from __future__ import annotations

from floodwatch.notify.config import Budget
from floodwatch.notify.deliveries import DeliveryLedger
from floodwatch.notify.posts import Posts

DAY_S = 86_400.0


class PostingBudget:
    def __init__(self, channel: str, config: Budget, ledger: DeliveryLedger, posts: Posts) -> None:
        self._channel = channel
        self._config = config
        self._ledger = ledger
        self._posts = posts
        self._key = f"{channel}:paused_until"

    def available(self, now: float) -> int:
        """Posts that may go out now."""
        if now < self.paused_until():
            return 0
        in_window = self._posts.count_since(self._channel, now - self._config.window_s)
        in_day = self._posts.count_since(self._channel, now - DAY_S)
        return max(0, min(self._config.per_window - in_window, self._config.per_day - in_day))

    def next_opening(self, now: float) -> float:
        """When at least one more post will be allowed (if none is now)."""
        paused = self.paused_until()
        if now < paused:
            return paused
        candidates = [now + 1.0]
        for span, limit in ((self._config.window_s, self._config.per_window),
                            (DAY_S, self._config.per_day)):
            if self._posts.count_since(self._channel, now - span) >= limit:
                oldest = self._posts.oldest_since(self._channel, now - span)
                if oldest is not None:
                    candidates.append(oldest + span)
        return max(candidates)

    def paused_until(self) -> float:
        value = self._ledger.get_meta(self._key)
        return float(value) if value is not None else 0.0

    def pause_until(self, moment: float) -> None:
        self._ledger.set_meta(self._key, repr(moment))
