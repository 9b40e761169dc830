"""ETag, conditional GET (``If-None-Match`` -> 304) and Cache-Control for the API's
read-only resources (stations, latest, history, CAP messages, the Atom feed).

The ETag is a hash of the body the route already built, not something each resource
would have to version itself: every one of these answers is rendered to bytes anyway
(api.latest_store shares one body among pollers, history charts are cached as bytes),
and hashing 100 KB costs about 0.2 ms, while a 304 saves the client the download. No
library does this for a response FastAPI has already built (Starlette's own conditional
GET is only in StaticFiles), so it is these few lines.

Caching is ``private`` unless the resource is readable without a key: a shared cache
must never hand one user's keyed answer to someone without a key.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Any

from fastapi import Request, Response

from floodwatch.core.settings import Settings

# A few seconds: the latest readings and station states. Polling clients revalidate,
# and the live feed is what carries a new reading at once.
LIVE_MAX_AGE_S = 5
# Alerts: revalidate every time (a 304 when nothing changed), so that no cache between
# us and a resident holds back a new warning.
REVALIDATE = "no-cache"
# A history range that ended this long ago changes only by a late reading (a gauge back
# from a radio outage sending its buffer): cached for PAST_MAX_AGE_S.
CLOSED_AFTER_S = 3600
PAST_MAX_AGE_S = 600
# A CAP message by its seq never changes once issued (event ids are never reused).
ISSUED_MAX_AGE_S = 86_400
# What a keyed answer may differ by (the CAP endpoint shows staff-only messages to keys).
KEY_HEADERS = "Authorization, X-API-Key"


# For route declarations: the 304 these resources answer, shown in OpenAPI.
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not Modified: `If-None-Match` holds the current ETag (no body)."}}


def audience(settings: Settings, *, public_content: bool = True) -> str:
    """``public`` when anyone may read this answer without a key (public read is on and
    the content is in the public subset), else ``private``."""
    return "public" if settings.api_public_read and public_content else "private"


def cache_control(settings: Settings, directive: str, *, public_content: bool = True) -> str:
    return f"{audience(settings, public_content=public_content)}, {directive}"


# The last few bodies hashed, by identity: every poller of /latest gets the very same
# bytes object (api.latest_store.RenderedBody) until it is rendered again, so it is
# hashed once, not per request. Holding the bytes keeps their id from being reused.
_RECENT: deque[tuple[bytes, str]] = deque(maxlen=8)


def etag_of(body: bytes, *, shared: bool = False) -> str:
    """``shared``: the body is an object many requests are answered with (remembered)."""
    if shared:
        for seen, etag in _RECENT:
            if seen is body:
                return etag
    # 128 bits of BLAKE2b: a strong validator for these bytes, not a secret.
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    if shared:
        _RECENT.append((body, etag))
    return etag


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 13.1.2: weak comparison; ``*`` matches any current representation."""
    for listed in if_none_match.split(","):
        candidate = listed.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def conditional(request: Request, body: bytes, media_type: str, cache_control: str, *,
                vary: str | None = None, shared: bool = False) -> Response:
    """``body`` with its ETag and ``cache_control``, or 304 Not Modified (no body, the
    same validators) when the client's ``If-None-Match`` already has it."""
    etag = etag_of(body, shared=shared)
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if vary:
        headers["Vary"] = vary
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
