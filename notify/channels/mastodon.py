"""Mastodon through Mastodon.py, with the ``Idempotency-Key`` header: the key is fixed
per (channel, events) and stored with the post, so a retry -- after a timeout, a 5xx or
a restart -- is published at most once by the instance.
"""

from __future__ import annotations

import asyncio

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServerError,
)

from floodwatch.notify.channels.base import DeliveryError

# Tell Mastodon.py the server version so it never asks for it on start.
ASSUMED_VERSION = "4.2.0"


def mastodon_client(base_url: str, token: str, timeout_s: float) -> Mastodon:
    return Mastodon(access_token=token, api_base_url=base_url, request_timeout=timeout_s,
                    ratelimit_method="throw", mastodon_version=ASSUMED_VERSION,
                    version_check_mode="none")


class MastodonPlatform:
    name = "mastodon"
    idempotent = True

    def __init__(self, client: Mastodon, language: str = "ja") -> None:
        self._client = client
        self._language = language

    async def post(self, text: str, key: str, *, reply_to: str | None = None) -> str:
        try:
            status = await asyncio.to_thread(
                self._client.status_post, text, in_reply_to_id=reply_to,
                idempotency_key=key, visibility="public", language=self._language)
        except MastodonRatelimitError as exc:
            # Mastodon.py read X-RateLimit-Reset (and corrected it for the server's clock).
            reset = getattr(self._client, "ratelimit_reset", None)
            raise DeliveryError("HTTP 429 rate limited", rate_limited=True,
                                retry_at=float(reset) if reset else None) from exc
        except (MastodonNetworkError, MastodonServerError) as exc:
            # Retried with the same key: the instance publishes it at most once.
            raise DeliveryError(f"{type(exc).__name__}: {exc}"[:200], unknown=True) from exc
        except MastodonAPIError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}"[:200]) from exc
        return str(status["id"])
