"""Mastodon through Mastodon.py, faked at its HTTP boundary with ``responses``: every
retry -- after a 5xx, a timeout or a restart mid-post -- carries the same
Idempotency-Key, so the instance publishes the post once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

import requests
import responses

from floodwatch.notify.channels.mastodon import MastodonPlatform, mastodon_client
from tests.notify.social_support import SocialRig, social_config
from tests.notify.support import FakeClock
from tests.notify.test_x import NORTH, TWO_BASINS

INSTANCE = "https://mastodon.test"
STATUSES = f"{INSTANCE}/api/v1/statuses"


def platform() -> MastodonPlatform:
    return MastodonPlatform(mastodon_client(INSTANCE, "token", 5.0))


def published() -> tuple[int, dict[str, str], str]:
    return 200, {}, json.dumps({"id": "109", "content": "<p>x</p>",
                                "created_at": "2026-10-12T00:00:00.000Z"})


@responses.activate
def test_retries_carry_the_same_idempotency_key(tmp_path: Path) -> None:
    responses.add(responses.POST, STATUSES, status=502, json={"error": "bad gateway"})
    responses.add(responses.POST, STATUSES, body=requests.ReadTimeout("read timed out"))
    clock = FakeClock()
    reset = datetime.fromtimestamp(clock.now + 300, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    responses.add(responses.POST, STATUSES, status=429, json={"error": "Too many requests"},
                  headers={"X-RateLimit-Reset": reset, "X-RateLimit-Remaining": "0",
                           "X-RateLimit-Limit": "300"})
    responses.add_callback(responses.POST, STATUSES, callback=lambda _r: published())
    rig = SocialRig(tmp_path, TWO_BASINS, platform(), social_config(), clock)
    rig.feed(NORTH)
    asyncio.run(rig.run_for(1800, 5))
    assert set(rig.states().values()) == {"sent"}
    calls = list(responses.calls)
    assert len(calls) == 4
    keys = [call.request.headers["Idempotency-Key"] for call in calls]
    assert keys[0] == keys[1]  # the 502 and the timeout: the same post, the same key
    assert all(len(key) == 32 for key in keys)
    assert keys[3] == keys[0]  # re-composed after the 429: the same events, the same key


class DiesAfterPosting:
    name = "mastodon"
    idempotent = True

    def __init__(self) -> None:
        self.inner = platform()

    async def post(self, text: str, key: str, *, reply_to: str | None = None) -> str:
        await self.inner.post(text, key, reply_to=reply_to)
        raise asyncio.CancelledError


@responses.activate
def test_restart_mid_post_resends_with_the_same_key(tmp_path: Path) -> None:
    responses.add_callback(responses.POST, STATUSES, callback=lambda _r: published())
    clock = FakeClock()
    dying = SocialRig(tmp_path, TWO_BASINS, DiesAfterPosting(), social_config(), clock)
    dying.feed(NORTH)
    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(dying.run_for(60))
    dying.ledger.close()
    restarted = SocialRig(tmp_path, TWO_BASINS, platform(), social_config(), clock)
    restarted.sender.recover()
    asyncio.run(restarted.run_for(60))
    assert set(restarted.states().values()) == {"sent"}
    keys = [call.request.headers["Idempotency-Key"] for call in responses.calls]
    assert len(keys) == 2
    assert keys[0] == keys[1]
