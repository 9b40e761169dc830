"""Confirmation before the public, as notify applies it: an escalation one reading made
reaches the disaster network at once but never X, Mastodon or Public CAP; its
``confirmed`` event is what residents get, once."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from floodwatch.alerts.model import Event, Transition
from floodwatch.core.registry import StationRegistry
from floodwatch.notify.config import NotifyConfig, Retry
from floodwatch.notify.deliveries import DeliveryLedger
from floodwatch.notify.intake import Part
from floodwatch.notify.notice import Notice, cap_event_id
from floodwatch.notify.policy import DeliveryPolicy, Route
from floodwatch.services.servers import MosquittoServer
from tests.alerts.conftest import series, write_registry
from tests.alerts.process import publish_all
from tests.cap_support import SHIPPED_ADVICE
from tests.notify.conftest import write_config
from tests.notify.support import (
    NOTIFY_CONFIG,
    FakeClock,
    FakeHttp,
    Recorded,
    bus_messages,
    events_of,
    fake_http,
    mastodon_server,
    small_registry,
    tweet_server,
    typhoon_events,
)
from tests.notify.test_policy_and_compose import steep_gauge_events
from tests.notify.test_sigkill import NotifyProcess, ledger_rows
from tests.support import Collected, collect, wait_for

pytestmark = pytest.mark.slow

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
SINGLE_READING = (Transition.RAISED, Transition.ESCALATED)


def parts_of(registry: StationRegistry, events: list[Event]) -> list[Part]:
    """The events' JSON and CAP as intake stores them."""
    parts: list[Part] = []
    for topic, payload in bus_messages(registry, events):
        station = topic.rsplit("/", 1)[-1]
        if topic.startswith("floodwatch/cap/"):
            parts.append((cap_event_id(payload), station, "cap", payload))
        else:
            parts.append((Notice.from_json(payload).event_id, station, "json", payload))
    return parts


def test_over_the_typhoon_no_unconfirmed_event_is_public_or_planned_for_residents(
        tmp_path: Path, sample_registry: StationRegistry) -> None:
    events = typhoon_events(sample_registry)
    by_id = {event.event_id: event for event in events}
    unconfirmed = {e.event_id for e in events if e.transition in SINGLE_READING
                   and not e.confirmed}
    assert len(unconfirmed) >= 20  # every river and road escalation of the storm

    public: set[str] = set()
    for topic, payload in bus_messages(sample_registry, events):
        if topic.startswith("floodwatch/cap/"):
            document = etree.fromstring(payload)
            if document.findtext(f"{CAP}scope") == "Public":
                public.add(cap_event_id(payload))
    assert public
    assert not public & unconfirmed
    assert all(by_id[event_id].confirmed for event_id in public)

    routes = [Route("network", "all", Retry(), False), Route("x", "social", Retry(), True),
              Route("webhook:radio", "social", Retry(), False)]
    shipped = NotifyConfig.load(NOTIFY_CONFIG, advice=SHIPPED_ADVICE)
    policy = DeliveryPolicy(shipped.policy, routes, FakeClock())
    ledger = DeliveryLedger(tmp_path / "deliveries.sqlite3")
    for event in events:  # one bus batch per event, in the engine's order
        ledger.receive(parts_of(sample_registry, [event]), {}, 0.0, policy.plan, 30.0)
    planned = ledger.states()
    assert {event_id for event_id, channel in planned if channel == "network"} == set(by_id)
    for channel in ("x", "webhook:radio"):
        told = {event_id for event_id, route in planned if route == channel}
        assert told, channel
        assert all(by_id[event_id].confirmed for event_id in told), channel
        assert not told & unconfirmed
        # What residents hear of a rise is its confirmation, at each act level reached.
        rises = {by_id[event_id].transition for event_id in told
                 if by_id[event_id].transition is not Transition.DEESCALATED
                 and by_id[event_id].transition is not Transition.CLEARED}
        assert rises == {Transition.CONFIRMED}


CONFIG = """
network: {cap_topic: "net/cap/{station}", json_topic: "net/json/{station}",
          status_topic: "net/status/{station}"}
x: {enabled: true, gather_s: 0.2, retry: {base_s: 0.2, max_s: 1, expire_s: 3600}}
mastodon: {enabled: true, gather_s: 0.2, retry: {base_s: 0.2, max_s: 1, expire_s: 3600}}
public_page_url: https://bousai.example.jp/floodwatch/public/stations
basins: {abukuma: {ja: 阿武隈川, en: Abukuma River}}
"""


@dataclass
class SocialNotify:
    """A notify process posting to fake X and Mastodon servers, with the disaster
    network's topics collected."""

    notify: NotifyProcess
    fake: FakeHttp
    network: Collected
    state_dir: Path
    client_id: str

    def social_rows(self) -> list[tuple[object, ...]]:
        """(event_id, channel, state) of the deliveries to residents, in order."""
        return ledger_rows(self.state_dir, self.client_id,
                           "SELECT event_id, channel, state FROM deliveries "
                           "WHERE channel IN ('x', 'mastodon') ORDER BY id")

    def wait_on_network(self, event: Event, what: str) -> None:
        wait_for(lambda: event.event_id in {p["event_id"] for p in
                                            self.network.payloads("net/json/")}, 30, what)

    def delivered(self, event: Event) -> bool:
        """Sent on both X and Mastodon."""
        sent = {(event.event_id, channel, "sent") for channel in ("x", "mastodon")}
        return sent <= set(self.social_rows())

    def tweets(self) -> list[str]:
        """The first post of each X thread (its replies carry the English)."""
        return [body["text"] for body in self._tweet_bodies() if "reply" not in body]

    def replies(self) -> list[str]:
        return [body["text"] for body in self._tweet_bodies() if "reply" in body]

    def _tweet_bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.fake.recorded("/2/tweets")]


@contextlib.contextmanager
def social_notify(tmp_path: Path, mosquitto: MosquittoServer,
                  settings_env: Callable[..., dict[str, str]]) -> Iterator[SocialNotify]:
    x, mastodon = tweet_server(), mastodon_server()

    def respond(request: Recorded) -> tuple[int, dict[str, str], bytes]:
        if request.path.startswith("/2/tweets"):
            return x(request)
        return mastodon(request)

    client_id = f"notify-{uuid.uuid4().hex[:8]}"
    state_dir = tmp_path / "state"
    with fake_http(respond) as fake, collect(mosquitto.port, "net/#") as network:
        env = settings_env(
            registry=write_registry(tmp_path),
            notify_config=write_config(tmp_path, CONFIG), notify_client_id=client_id,
            notify_x_consumer_key="key", notify_x_consumer_secret="key-secret",
            notify_x_access_token="token", notify_x_access_token_secret="token-secret",
            notify_x_api_url=fake.url, notify_mastodon_url=fake.url,
            notify_mastodon_token="mastodon-token", state_dir=state_dir)
        notify = NotifyProcess(env, tmp_path / "notify.log").start()
        try:
            yield SocialNotify(notify, fake, network, state_dir, client_id)
        finally:
            if not notify.exited():
                notify.stop()


def test_an_unconfirmed_escalation_goes_to_officers_and_its_confirmation_is_posted_once(
        tmp_path: Path, mosquitto: MosquittoServer,
        settings_env: Callable[..., dict[str, str]]) -> None:
    registry = small_registry()
    # g1: caution (2.5), evacuation judgement (3.5, an act level), 3.6 and 3.7 agree.
    events = [e for e in events_of(registry, series("g1", [2.5, 3.5, 3.6, 3.7]))
              if e.station == "g1"]
    escalation = next(e for e in events if e.transition is Transition.ESCALATED)
    confirmation = next(e for e in events if e.transition is Transition.CONFIRMED
                        and e.level == 3)
    assert (escalation.level, escalation.confirmed) == (3, False)
    before = [e for e in events if e.seq <= escalation.seq]
    confirming = [e for e in events if escalation.seq < e.seq and e.at == confirmation.at]
    after = [e for e in events if e.at > confirmation.at]  # officers only (rate of rise)
    assert after

    with social_notify(tmp_path, mosquitto, settings_env) as run:
        publish_all(mosquitto.port, bus_messages(registry, before))
        run.wait_on_network(escalation, "the escalation on the disaster network")
        # Its deliveries were planned with it: none for residents, so it is never posted.
        assert run.social_rows() == []
        assert run.fake.recorded() == []
        escalation_cap = next(payload for topic, payload, _ in run.network.messages
                              if topic.startswith("net/cap/")
                              and cap_event_id(payload) == escalation.event_id)
        assert etree.fromstring(escalation_cap).findtext(f"{CAP}scope") == "Restricted"

        publish_all(mosquitto.port, bus_messages(registry, confirming))
        wait_for(lambda: {(row[1], row[2]) for row in run.social_rows()}
                 == {("x", "sent"), ("mastodon", "sent")}, 30, "the confirmation posted")
        # A redelivery of the confirmation, then an officers-only event behind it on the
        # same topic: once that is on the network, the repeat has been read too.
        publish_all(mosquitto.port, bus_messages(registry, [*confirming, *after]))
        run.wait_on_network(after[-1], "the later event on the network")
        assert run.notify.stop() == 0

    assert run.social_rows() == [(confirmation.event_id, "x", "sent"),
                                 (confirmation.event_id, "mastodon", "sent")]
    tweets = run.tweets()
    statuses = run.fake.recorded("/api/v1/statuses")
    assert len(tweets) == 1
    assert len(statuses) == 1
    # It reads as the alert at that level: the official level and its advice.
    assert tweets[0].startswith("【警戒レベル3相当】阿武隈川の第一観測所")
    assert "避難判断水位（3.60m）に到達しました。" in tweets[0]
    assert tweets[0].endswith("高齢者等は危険な場所から避難してください。")
    # The English did not fit beside it: it follows as a reply.
    assert [reply.startswith("[Alert level 3 equivalent]") for reply in run.replies()] == [True]
    on_network = [p["event_id"] for p in run.network.payloads("net/json/")]
    assert set(on_network) == {e.event_id for e in events}


def test_a_fall_from_a_level_only_officers_saw_is_not_posted_again(
        tmp_path: Path, mosquitto: MosquittoServer,
        settings_env: Callable[..., dict[str, str]]) -> None:
    registry = small_registry()
    events = steep_gauge_events(registry)  # 3 told, fell to 2, unconfirmed 4, back to 2
    rivers = [e for e in events if e.alert_type.value == "river_level"]
    heard, first_fall, unconfirmed, second_fall, cleared = (
        rivers[1], rivers[2], rivers[3], rivers[4], rivers[5])
    assert (unconfirmed.level, unconfirmed.confirmed) == (4, False)
    assert (second_fall.previous_level, second_fall.level) == (4, 2)
    stages = [[e for e in events if e.seq <= heard.seq],
              [e for e in events if heard.seq < e.seq <= first_fall.seq],
              [e for e in events if first_fall.seq < e.seq]]

    with social_notify(tmp_path, mosquitto, settings_env) as run:
        # One stage at a time, each posted before the next: one post per stage.
        for posted, stage in zip((heard, first_fall, cleared), stages, strict=True):
            publish_all(mosquitto.port, bus_messages(registry, stage))
            wait_for(partial(run.delivered, posted), 30, f"{posted.event_id} posted")
        run.wait_on_network(events[-1], "the last event on the network")
        assert run.notify.stop() == 0

    told = [(row[0], row[1]) for row in run.social_rows()]
    assert told == [(event.event_id, channel) for event in (heard, first_fall, cleared)
                    for channel in ("x", "mastodon")]
    assert {row[2] for row in run.social_rows()} == {"sent"}
    tweets = run.tweets()
    assert len(tweets) == 3
    assert len(run.fake.recorded("/api/v1/statuses")) == 3
    on_network = {p["event_id"] for p in run.network.payloads("net/json/")}
    assert second_fall.event_id in on_network  # officers got the fall from 4
