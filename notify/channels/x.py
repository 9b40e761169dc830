"""X (Twitter) through tweepy: ``Client.create_tweet`` on API v2, OAuth 1.0a user context.

X has no idempotency key, so each failure is sorted by what it says about the post:

- certainly not posted -- 429 (wait until ``x-rate-limit-reset``, or the 24-hour
  user limit's reset when that is what ran out), 4xx refusals, 503, a connection that
  was never made: the deliveries wait and are retried;
- perhaps posted -- a read timeout, a dropped connection, 500/502/504: ``unknown``,
  reported for an officer, never re-posted.
"""

from __future__ import annotations

import asyncio
from typing import Any

import requests
import tweepy  # type: ignore[import-untyped]
from urllib3.exceptions import NameResolutionError, NewConnectionError

from floodwatch.notify.channels.base import DeliveryError

TWEEPY_HOST = "https://api.twitter.com"
NOT_PROCESSED = {503}  # X's "over capacity": the request was not acted on


class RebasedSession(requests.Session):
    """tweepy has its host fixed and no timeout: send its requests to the configured
    base URL (a proxy, or a fake in tests) and never wait forever."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        super().__init__()
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s

    def request(self, method: str | bytes, url: str | bytes,
                *args: Any, **kwargs: Any) -> requests.Response:
        text = url.decode() if isinstance(url, bytes) else url
        if text.startswith(TWEEPY_HOST):
            text = self._base_url + text[len(TWEEPY_HOST):]
        kwargs.setdefault("timeout", self._timeout_s)
        return super().request(method, text, *args, **kwargs)


def x_client(base_url: str, timeout_s: float, *, consumer_key: str, consumer_secret: str,
             access_token: str, access_token_secret: str) -> tweepy.Client:
    client = tweepy.Client(consumer_key=consumer_key, consumer_secret=consumer_secret,
                           access_token=access_token, access_token_secret=access_token_secret,
                           return_type=requests.Response, wait_on_rate_limit=False)
    client.session = RebasedSession(base_url, timeout_s)
    return client


def reset_time(response: requests.Response | None) -> float | None:
    """When X will accept posts again, from its rate-limit headers (None: not said)."""
    if response is None:
        return None
    headers = response.headers
    resets = []
    for prefix in ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour"):
        remaining, reset = headers.get(f"{prefix}-remaining"), headers.get(f"{prefix}-reset")
        if reset is not None and reset.isdigit() and (
                prefix == "x-rate-limit" or remaining == "0"):
            resets.append(float(reset))
    return max(resets) if resets else None


class XPlatform:
    name = "x"
    idempotent = False

    def __init__(self, client: tweepy.Client) -> None:
        self._client = client

    async def post(self, text: str, key: str, *, reply_to: str | None = None) -> str:
        try:
            response: requests.Response = await asyncio.to_thread(
                self._client.create_tweet, text=text, in_reply_to_tweet_id=reply_to,
                user_auth=True)
        except tweepy.TooManyRequests as exc:
            raise DeliveryError("HTTP 429 rate limited", rate_limited=True,
                                retry_at=reset_time(exc.response)) from exc
        except tweepy.TwitterServerError as exc:
            status = exc.response.status_code
            raise DeliveryError(f"HTTP {status}", unknown=status not in NOT_PROCESSED) from exc
        except tweepy.HTTPException as exc:
            raise DeliveryError(f"HTTP {exc.response.status_code}: "
                                f"{'; '.join(exc.api_messages)[:200]}") from exc
        except requests.ConnectTimeout as exc:
            raise DeliveryError("connect timeout") from exc
        except requests.ConnectionError as exc:
            never_connected = _caused_by(exc, (NewConnectionError, NameResolutionError))
            raise DeliveryError(f"connection error: {type(exc).__name__}",
                                unknown=not never_connected) from exc
        except requests.RequestException as exc:  # read timeout and the like
            raise DeliveryError(f"{type(exc).__name__}: outcome unknown", unknown=True) from exc
        document = response.json()
        return str(document["data"]["id"])


def _caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kinds) or any(isinstance(arg, kinds) for arg in seen.args):
            return True
        reason = getattr(seen, "reason", None)
        if isinstance(reason, kinds):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
