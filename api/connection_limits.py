"""Caps on what one client address, and all live clients together, may hold open.

Pure ASGI middleware: it sees every HTTP request and WebSocket before any route, counts
those in progress per client address (``scope["client"]``, which uvicorn's proxy-headers
middleware has already set to the real client when the peer is a trusted reverse proxy),
and refuses past a cap without calling the app:

- more requests in progress from one address than ``api_max_requests_per_client``, or
  more live streams (WebSocket + SSE under /api/v1/live/) than
  ``api_max_live_per_client``: 429, that client's own doing;
- more live streams in this process than ``api_max_live_clients``: 503, the server is
  full, whoever asks.

Officers and administrators are counted by their key, not their address: an officer
behind an office NAT or a mobile carrier's shared address (CGNAT) must never find the
caps used up by anonymous clients sharing it, least of all when declaring flooding.
Viewer keys are counted by address like anonymous clients (an app may ship one viewer
key to every resident). The totals still count everyone.

Both come with Retry-After and a problem document. A WebSocket is refused the way
api.stream refuses a bad key: accepted, told why in an ``error`` message, then closed
with 1013 ("try again later"), since a refused handshake reaches the browser as a bare
failure with no reason.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from prometheus_client import Counter as MetricCounter
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from floodwatch.api.auth import Role, presented_key
from floodwatch.api.memory_trim import MemoryTrimmer
from floodwatch.api.problems import PROBLEM_MEDIA_TYPE, TYPE_BASE, Problem
from floodwatch.core.settings import Settings

LIVE_PREFIX = "/api/v1/live/"
# Seconds a refused client is asked to wait: long enough that a reconnect loop does not
# hammer a full server, short enough that a dashboard is back soon after a slot frees.
RETRY_AFTER_S = 10
# RFC 6455 1013 "Try Again Later", for refused and slow (api.stream) live clients alike.
CLOSE_TRY_AGAIN = 1013

REFUSED = MetricCounter("floodwatch_api_refused_total",
                        "Requests and live streams refused by a connection cap.", ["cap"])


@dataclass(frozen=True)
class Caps:
    requests_per_client: int
    live_per_client: int
    live_total: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Caps:
        return cls(settings.api_max_requests_per_client, settings.api_max_live_per_client,
                   settings.api_max_live_clients)


def too_many_from_client(what: str, cap: int) -> Problem:
    return Problem(type=TYPE_BASE + "too-many-connections", title="Too many connections",
                   status=429, detail=f"this address already has {cap} {what} open; "
                   f"close one or retry after {RETRY_AFTER_S} s")


def server_full(cap: int) -> Problem:
    return Problem(type=TYPE_BASE + "live-feed-full", title="Live feed full", status=503,
                   detail=f"the live feed serves at most {cap} clients at once; retry "
                   f"after {RETRY_AFTER_S} s")


class ConnectionLimits:
    def __init__(self, app: ASGIApp, caps: Caps, trimmer: MemoryTrimmer | None = None) -> None:
        self.app = app
        self.caps = caps
        # Each live stream's end is counted so that freed memory goes back to the system
        # after a mass disconnect (api.memory_trim says why).
        self.trimmer = trimmer or MemoryTrimmer()
        # Keys are removed at zero, so the tables only hold addresses now connected.
        self.requests: Counter[str] = Counter()
        self.live: Counter[str] = Counter()
        self.live_total = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        live = scope["path"].startswith(LIVE_PREFIX)
        client = counted_as(scope, live)
        problem = self._refusal(client, live)
        if problem is not None:
            REFUSED.labels("total" if problem.status == 503 else "client").inc()
            try:
                await _refuse(scope, receive, send, problem)
            finally:
                if live:
                    self.trimmer.stream_closed()
            return
        self.requests[client] += 1
        if live:
            self.live[client] += 1
            self.live_total += 1
        try:
            await self.app(scope, receive, send)
        finally:
            release(self.requests, client)
            if live:
                release(self.live, client)
                self.live_total -= 1
                self.trimmer.stream_closed()

    def _refusal(self, client: str, live: bool) -> Problem | None:
        if self.requests[client] >= self.caps.requests_per_client:
            return too_many_from_client("requests", self.caps.requests_per_client)
        if live and self.live[client] >= self.caps.live_per_client:
            return too_many_from_client("live streams", self.caps.live_per_client)
        if live and self.live_total >= self.caps.live_total:
            return server_full(self.caps.live_total)
        return None


def counted_as(scope: Scope, live: bool) -> str:
    """Whom the per-client caps count: an officer's or administrator's valid key by its
    id, anyone else by address (the real client's, behind a trusted proxy)."""
    services = getattr(scope["app"].state, "services", None)  # None before the lifespan
    # The live feed takes its key in the query too (browsers cannot set WebSocket headers).
    key = presented_key(HTTPConnection(scope), allow_query=live)
    if key and services is not None:
        principal = services.keys.identify(key)
        if principal is not None and principal.role >= Role.OFFICER:
            return f"key:{principal.key_id}"
    return scope["client"][0] if scope.get("client") else "unknown"


def release(counts: Counter[str], client: str) -> None:
    """One fewer for ``client``; the entry goes at zero, so tables hold only the present."""
    counts[client] -= 1
    if counts[client] <= 0:
        del counts[client]


async def _refuse(scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
    if scope["type"] == "websocket":
        message = await receive()
        if message["type"] != "websocket.connect":
            return  # the client left before its handshake was read
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": json.dumps(
            {"type": "error", "problem": problem.model_dump()})})
        await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN,
                    "reason": problem.title})
        return
    body = json.dumps(problem.model_dump()).encode()
    await send({"type": "http.response.start", "status": problem.status, "headers": [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_S).encode())]})
    await send({"type": "http.response.body", "body": body})
