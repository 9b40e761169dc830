"""The reference webhook receiver of docs/notify.md, taken from the doc and run against
real deliveries of the webhook channel: it accepts a genuine delivery, refuses a replay
under another event id and one outside the replay window, and de-duplicates a retry."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from floodwatch.notify.channels import webhook
from floodwatch.notify.channels.webhook import WebhookChannel
from floodwatch.notify.config import Webhook
from floodwatch.notify.deliveries import StoredEvent
from tests.notify.support import Recorded, fake_http

DOC = Path(__file__).resolve().parents[2] / "docs" / "notify.md"
KEY = b"city-key"
EVENT = StoredEvent("sukagawa/12", "sukagawa", json=b'{"event_id": "sukagawa/12"}',
                    cap="<alert>須賀川 12</alert>".encode())
Receive = Callable[..., tuple[int, str]]


def reference_receiver() -> dict[str, Any]:
    """The doc's receiver, executed as a reader would paste it."""
    section = DOC.read_text(encoding="utf-8").split("### Webhook signatures", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    [code] = [block for block in blocks if "def receive(" in block]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # our own doc, as a reader pastes it
    return namespace


def test_the_documented_receiver_against_real_deliveries() -> None:
    receiver = reference_receiver()
    receive: Receive = receiver["receive"]
    verdicts: list[str] = []

    def respond(request: Recorded) -> tuple[int, dict[str, str], bytes]:
        status, verdict = receive(KEY, request.headers, request.body)
        verdicts.append(verdict)
        return status, {}, verdict.encode()

    async def deliver_twice(url: str) -> tuple[str, str]:
        hook = Webhook(name="city", url=f"{url}/hook", format="cap")
        async with httpx.AsyncClient(timeout=5) as http:
            channel = WebhookChannel(hook, KEY, http)
            first = await channel.deliver(EVENT)
            again = await channel.deliver(EVENT)  # a retry: same id, signed anew
        return first, again

    with fake_http(respond) as fake:
        first, again = asyncio.run(deliver_twice(fake.url))
        genuine = fake.recorded("/hook")[0]
    assert (first, again) == ("HTTP 200", "HTTP 200")
    assert verdicts == ["accepted", "duplicate"]
    assert receiver["WINDOW_S"] == webhook.REPLAY_WINDOW_S

    headers, body = genuine.headers, genuine.body
    assert headers["x-floodwatch-event-id"] == EVENT.event_id
    sent_at = int(headers["x-floodwatch-timestamp"])
    # Replayed under a new event id, to slip past de-duplication: the signature fails.
    assert receive(KEY, {**headers, "x-floodwatch-event-id": "sukagawa/13"}, body) == (
        401, "bad signature")
    # A changed body or timestamp fails the same way.
    assert receive(KEY, headers, body + b" ")[0] == 401
    assert receive(KEY, {**headers, "x-floodwatch-timestamp": str(sent_at + 1)}, body)[0] == 401
    # Captured and replayed as it was, once the window has passed: refused.
    late = sent_at + webhook.REPLAY_WINDOW_S + 1
    assert receive(KEY, headers, body, now=late) == (400, "timestamp outside the replay window")
    # Inside the window the same replay is only a duplicate: never acted on twice.
    assert receive(KEY, headers, body, now=sent_at + 10) == (200, "duplicate")
    # A different key (another webhook's) is refused.
    assert receive(b"other-key", headers, body)[0] == 401

