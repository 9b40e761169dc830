"""Webhooks: an HTTP POST of the event's CAP XML (or JSON) to a configured URL.

Signed so the receiver can trust it and refuse replays (docs/notify.md has a reference
receiver that the tests run against real deliveries):

- ``X-Floodwatch-Event-Id``: the event id, the same on every retry, to de-duplicate;
- ``X-Floodwatch-Timestamp``: Unix seconds when this attempt was signed (a retry is
  signed anew);
- ``X-Floodwatch-Signature``: ``sha256=`` + hex HMAC-SHA256(secret,
  timestamp + "." + event_id + "." + body). The event id is signed too: a captured
  request replayed under another event id (to pass de-duplication) fails the signature.

Receivers refuse a timestamp more than ``REPLAY_WINDOW_S`` from their clock and remember
event ids at least that long. Any non-2xx answer or network error is retried with backoff
and jitter (a 429/503 ``Retry-After`` is obeyed).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from email.utils import parsedate_to_datetime

import httpx

from floodwatch.core.registry import StationRegistry
from floodwatch.notify.channels.base import DeliveryError
from floodwatch.notify.config import Retry, Webhook
from floodwatch.notify.deliveries import StoredEvent
from floodwatch.notify.envelope import edxl_envelope

CONTENT_TYPES = {"cap": "application/cap+xml", "json": "application/json",
                 "edxl": "application/xml"}
# What docs/notify.md tells receivers: refuse a timestamp further from their clock.
REPLAY_WINDOW_S = 300


def channel_name(hook: Webhook) -> str:
    return f"webhook:{hook.name}"


def signed_string(timestamp: str, event_id: str, body: bytes) -> bytes:
    """What the signature covers. Unambiguous: timestamps are digits and event ids
    (core.bus.EVENT_ID_RE) have no '.'."""
    return f"{timestamp}.{event_id}.".encode() + body


def sign(secret: bytes, timestamp: str, event_id: str, body: bytes) -> str:
    digest = hmac.new(secret, signed_string(timestamp, event_id, body),
                      hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def parse_secrets(text: str) -> dict[str, bytes]:
    """'name:secret' entries separated by commas or newlines."""
    secrets = {}
    for raw in re.split(r"[,\n]", text):
        name, _, secret = raw.strip().partition(":")
        if name and secret:
            secrets[name.strip()] = secret.strip().encode()
    return secrets


def url_problem(url: str) -> str | None:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        return f"url is not valid: {exc}"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return f"url {url!r} is not an http(s) URL with a host"
    return None


class WebhookChannel:
    concurrency = 4

    def __init__(self, hook: Webhook, secret: bytes, http: httpx.AsyncClient,
                 registry: StationRegistry | None = None) -> None:
        self.name = channel_name(hook)
        self.retry: Retry = hook.retry
        self._hook = hook
        self._secret = secret
        self._http = http
        self._registry = registry or StationRegistry([])  # the envelope's area (edxl)

    async def deliver(self, event: StoredEvent) -> str:
        if self._hook.format == "edxl":
            body = edxl_envelope(event, self._registry)
            if body is None:  # the policy plans only Public ones for an edxl webhook
                raise DeliveryError("a Restricted CAP is not for partners", refused=True)
        else:
            body = event.cap if self._hook.format == "cap" else event.json
        if body is None:
            # Only after the pair timeout; the other part may still come on a redelivery.
            raise DeliveryError(f"the event's {self._hook.format.upper()} never arrived")
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": CONTENT_TYPES[self._hook.format] + "; charset=utf-8",
            "X-Floodwatch-Event-Id": event.event_id,
            "X-Floodwatch-Timestamp": timestamp,
            "X-Floodwatch-Signature": sign(self._secret, timestamp, event.event_id, body),
        }
        try:
            response = await self._http.post(self._hook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}"[:200]) from exc
        if 200 <= response.status_code < 300:
            return f"HTTP {response.status_code}"
        status = response.status_code
        raise DeliveryError(f"HTTP {status}", retry_at=_retry_after(response),
                            refused=400 <= status < 500 and status not in (408, 425, 429))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None or response.status_code not in (429, 503):
        return None
    if value.strip().isdigit():
        return time.time() + min(3600, int(value))
    try:
        return min(time.time() + 3600, parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError):
        return None
