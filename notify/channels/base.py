"""What every channel shares: how a send fails, and the retry schedule."""

from __future__ import annotations

import random
from dataclasses import dataclass

from floodwatch.notify.config import Retry


class DeliveryError(Exception):
    """A send that did not succeed.

    ``unknown``: the request may have reached the platform (a read timeout, a 5xx after
    the body was sent) and the platform has no idempotency: never retry automatically.
    ``rate_limited``: the platform refused for now (429); ``retry_at`` is when it said
    to come back, if it did (a receiver's Retry-After, X's reset headers).
    ``refused``: the receiver answered and refused this message itself (a webhook's 4xx
    other than 408/429, a broker's PUBACK reason code of 0x80 or above): repeating it
    unchanged is unlikely to help.
    """

    def __init__(self, detail: str, *, unknown: bool = False, rate_limited: bool = False,
                 retry_at: float | None = None, refused: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.unknown = unknown
        self.rate_limited = rate_limited
        self.retry_at = retry_at
        self.refused = refused


@dataclass(frozen=True, slots=True)
class ChannelProblem:
    """A configuration problem found at start: the channel is disabled, the others run."""

    channel: str
    problem: str

    def __str__(self) -> str:
        return f"{self.channel}: {self.problem}"


def backoff_s(retry: Retry, attempts: int) -> float:
    """Exponential backoff with jitter: between half and all of base * 2^(n-1), capped,
    so many failed deliveries do not come back in lockstep."""
    ceiling = min(retry.max_s, retry.base_s * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security
