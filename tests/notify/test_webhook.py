"""Webhooks against a local HTTP server: signed CAP, retried through 5xx and timeouts
with the same event id; a bad channel configuration is one line and the rest works."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from floodwatch.core.cap_ids import cap_identifier_event_id
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.notify.channels.base import DeliveryError
from floodwatch.notify.channels.setup import build_channels
from floodwatch.notify.channels.webhook import WebhookChannel, sign
from floodwatch.notify.config import NotifyConfig, Webhook
from floodwatch.notify.deliveries import DeliveryLedger, StoredEvent
from floodwatch.notify.policy import DeliveryPolicy, Route
from floodwatch.services.servers import MosquittoServer
from tests.cap_support import SHIPPED_ADVICE
from tests.notify.conftest import delivery_states, publish, run_with, until
from tests.notify.support import (
    DELAY_HEADER,
    Recorded,
    bus_messages,
    fake_http,
    typhoon_events,
)
from tests.support import collect
from tests.xsd import assert_valid_edxl_de

pytestmark = pytest.mark.slow

SECRET = "s3cret-for-the-city"


def config(url: str) -> str:
    return f"""
network: {{cap_topic: "net/cap/{{station}}", json_topic: "net/json/{{station}}",
           status_topic: "net/status/{{station}}"}}
webhooks:
  - {{name: city, url: "{url}/hook", format: cap, retry: {{base_s: 0.2, max_s: 0.5}}}}
  - {{name: broken, url: "htp:/nowhere", format: json}}
  - {{name: unsigned, url: "{url}/other", format: json}}
x: {{enabled: true}}
public_page_url: https://bousai.example.jp/floodwatch/public/stations
"""


def test_webhook_signed_retried_and_bad_channels_reported(
        notify_settings: Callable[..., Settings], sample_registry: StationRegistry,
        mosquitto: MosquittoServer, capsys: pytest.CaptureFixture[str]) -> None:
    events = typhoon_events(sample_registry)[:8]
    failures = {"count": 0}

    def respond(request: Recorded) -> tuple[int, dict[str, str], bytes]:
        # The first three requests fail: two 500s and one that outlasts the timeout.
        failures["count"] += 1
        if failures["count"] <= 2:
            return 500, {}, b"{}"
        if failures["count"] == 3:
            return 204, {DELAY_HEADER: "1.5"}, b""
        return 204, {}, b""

    with fake_http(respond) as receiver:
        text = config(receiver.url)
        settings = notify_settings(text, notify_webhook_secrets=f"city:{SECRET}",
                                   notify_http_timeout_s=1.0)

        def states(ids: set[str]) -> set[str]:
            found = delivery_states(settings, "webhook:city")
            return set(found.values()) if set(found) == ids else {"missing"}

        async def body() -> None:
            with collect(mosquitto.port, "net/cap/#") as network:
                await publish(mosquitto.port, bus_messages(sample_registry, events))
                ids = {e.event_id for e in events}
                await until(lambda: states(ids) == {"sent"} and network.count() >= len(events),
                            60, "every webhook")

        delivery = NotifyConfig.from_yaml_text(text, advice=SHIPPED_ADVICE)
        asyncio.run(run_with(settings, sample_registry, delivery, body))
    problems = [line for line in capsys.readouterr().out.splitlines()
                if "channel problem" in line]
    assert len(problems) == 3, problems
    assert any("webhook:broken" in line and "url" in line for line in problems)
    assert any("webhook:unsigned" in line and "FLOODWATCH_NOTIFY_WEBHOOK_SECRETS" in line
               for line in problems)
    assert any("channel=x" in line and "FLOODWATCH_NOTIFY_X_CONSUMER_KEY" in line
               for line in problems)

    hooks = receiver.recorded("/hook")
    assert len(hooks) >= len(events) + 2  # the failures were retried
    for request in hooks:
        assert request.headers["content-type"].startswith("application/cap+xml")
        timestamp = request.headers["x-floodwatch-timestamp"]
        assert abs(int(timestamp) - time.time()) < 120
        event_id = request.headers["x-floodwatch-event-id"]
        # The documented string: timestamp "." event id "." body.
        signed = f"{timestamp}.{event_id}.".encode() + request.body
        expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
        assert request.headers["x-floodwatch-signature"] == f"sha256={expected}"
        identifier = request.body.split(b"<identifier>")[1].split(b"<")[0].decode()
        assert cap_identifier_event_id(identifier) == event_id
    assert not receiver.recorded("/other")


@pytest.mark.parametrize(("status", "refused"), [
    (400, True), (404, True), (422, True),  # this event is refused as it is
    (408, False), (429, False), (500, False), (503, False),  # try again later
])
def test_a_refusal_is_told_apart_from_a_failure_worth_retrying(
        status: int, refused: bool) -> None:
    def respond(_request: Recorded) -> tuple[int, dict[str, str], bytes]:
        return status, {}, b""

    hook = Webhook(name="city", url="http://unused", format="json")

    async def attempt(url: str) -> DeliveryError:
        async with httpx.AsyncClient() as http:
            channel = WebhookChannel(hook.model_copy(update={"url": url}), b"key", http)
            with pytest.raises(DeliveryError) as caught:
                await channel.deliver(StoredEvent("g1/1", "g1", b"{}", b"<alert/>"))
            return caught.value

    with fake_http(respond) as fake:
        error = asyncio.run(attempt(fake.url + "/hook"))
    assert error.refused is refused
    assert error.detail == f"HTTP {status}"


def test_a_webhook_can_take_the_cap_in_its_edxl_de_envelope(
        sample_registry: StationRegistry) -> None:
    # The first event with a Public CAP (an EDXL-DE webhook is a partner's).
    event, cap = next((event, payload) for event in typhoon_events(sample_registry)
                      for topic, payload in bus_messages(sample_registry, [event])
                      if topic.startswith("floodwatch/cap/")
                      and b"<scope>Public</scope>" in payload)
    stored = StoredEvent(event.event_id, event.station, b"{}", cap)

    def respond(_request: Recorded) -> tuple[int, dict[str, str], bytes]:
        return 204, {}, b""

    async def deliver(url: str) -> None:
        hook = Webhook(name="relay", url=url, format="edxl")
        async with httpx.AsyncClient() as http:
            await WebhookChannel(hook, b"key", http, sample_registry).deliver(stored)

    with fake_http(respond) as fake:
        asyncio.run(deliver(fake.url + "/relay"))
    [request] = fake.recorded("/relay")
    assert request.headers["content-type"] == "application/xml; charset=utf-8"
    envelope = assert_valid_edxl_de(request.body)
    assert envelope.tag == "{urn:oasis:names:tc:emergency:EDXL:DE:1.0}EDXLDistribution"
    assert cap.split(b"\n", 1)[1] in request.body  # the very CAP, wrapped
    timestamp = request.headers["x-floodwatch-timestamp"]
    assert request.headers["x-floodwatch-signature"] == sign(
        b"key", timestamp, event.event_id, request.body)


def test_an_edxl_webhook_is_planned_only_public_cap(sample_registry: StationRegistry) -> None:
    """A partner relays to residents: staff-only and unconfirmed (Restricted) CAP never
    reaches an EDXL-DE webhook; a CAP or JSON webhook (events: all) still gets both."""
    config = NotifyConfig.from_yaml_text(
        "network: {enabled: false}\nwebhooks:\n"
        "  - {name: relay, url: 'http://relay.test/x', format: edxl}\n"
        "  - {name: city, url: 'http://city.test/x', format: cap}\n", advice=SHIPPED_ADVICE)
    settings = Settings(notify_webhook_secrets="relay:k1,city:k2")

    async def routes() -> list[Route]:
        async with httpx.AsyncClient() as http:
            return build_channels(settings, config, sample_registry, http).routes

    policy = DeliveryPolicy(config.policy, asyncio.run(routes()), time.time)
    ledger = DeliveryLedger(Path(tempfile.mkdtemp()) / "ledger.sqlite3")
    planned: dict[str, set[str]] = {}
    for event in typhoon_events(sample_registry)[:40]:
        parts = dict((topic.split("/")[1], payload) for topic, payload
                     in bus_messages(sample_registry, [event]))
        stored = StoredEvent(event.event_id, event.station, parts["alerts"], parts["cap"])
        scope = "Public" if b"<scope>Public</scope>" in parts["cap"] else "Restricted"
        for plan in policy.plan(stored, ledger):
            planned.setdefault(plan.channel, set()).add(scope)
    assert planned == {"webhook:relay": {"Public"}, "webhook:city": {"Public", "Restricted"}}
