"""floodwatch's CAP profile (docs/cap.md) over a storm that goes through every transition
(tests/alerts/cap_scenario.py): what each message tells a receiving system to do, for
how long, where, and that its identifiers and times can be relied on."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from floodwatch.alerts.commands import parse_command
from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import AlertType, Event, Transition
from floodwatch.alerts.rules import AlertRules, RulesError
from floodwatch.alerts.store import AlertStore, NamespaceMismatch
from floodwatch.core.registry import StationRegistry
from tests.alerts import cap_scenario
from tests.alerts.cap_chains import assert_each_supersedes_every_earlier, by_alert
from tests.alerts.conftest import RULES_FILE, T0, river
from tests.cap_support import CAP, cap_fields, cap_of, cap_schema, profile

RESPONSES = {AlertType.RIVER_LEVEL: {1: "Monitor", 2: "Prepare", 3: "Evacuate",
                                     4: "Evacuate", 5: "Shelter"},
             AlertType.RATE_OF_RISE: {1: "Monitor"},
             AlertType.ROAD_FLOODING: {1: "Monitor", 2: "Avoid"},
             AlertType.OFFLINE: {1: "Assess"}, AlertType.DATA_QUALITY: {1: "Assess"}}
ADVICE = {
    AlertType.RIVER_LEVEL: {
        3: ("高齢者等は危険な場所から避難してください。",
            "Older people and others who need time: evacuate from danger zones."),
        4: ("危険な場所から全員避難してください。", "Everyone evacuate from danger zones."),
        5: ("命の危険があります。直ちに安全を確保してください。",
            "Danger to life. Secure your safety now.")},
    AlertType.ROAD_FLOODING: {2: ("迂回してください。", "Take another route.")}}
ALL_CLEAR = {AlertType.RIVER_LEVEL: ("引き続き川には近づかないでください。",
                                     "Stay away from the river."),
             AlertType.ROAD_FLOODING: ("路面の状況に注意して通行してください。",
                                       "Watch the road surface as you drive.")}
EXPIRES = {AlertType.RIVER_LEVEL: timedelta(hours=6), AlertType.RATE_OF_RISE: timedelta(hours=3),
           AlertType.ROAD_FLOODING: timedelta(hours=3), AlertType.OFFLINE: timedelta(hours=6),
           AlertType.DATA_QUALITY: timedelta(hours=6)}


@pytest.fixture(scope="module")
def stations() -> StationRegistry:
    return cap_scenario.registry()


@pytest.fixture(scope="module")
def shipped(stations: StationRegistry) -> AlertRules:
    return cap_scenario.rules(stations)


@pytest.fixture(scope="module")
def storm(stations: StationRegistry, shipped: AlertRules) -> list[tuple[Event, etree._Element]]:
    return [(event, etree.fromstring(cap_of(event, stations, shipped)))
            for event in cap_scenario.storm(stations, shipped)]


def infos(document: etree._Element) -> dict[str, etree._Element]:
    return {info.findtext(f"{CAP}language") or "": info
            for info in document.iter(f"{CAP}info")}


def when(element: etree._Element, tag: str) -> datetime:
    text = element.findtext(f"{CAP}{tag}")
    assert text is not None
    assert text.endswith("+09:00")  # JST, as Japanese receivers read it
    return datetime.fromisoformat(text)


def expected_advice(event: Event) -> tuple[str, str] | None:
    given = ADVICE.get(event.alert_type, {})
    covering = [level for level in given if level <= event.level]
    advice = given[max(covering)] if covering else None
    if event.transition is Transition.CLEARED or (
            event.transition is Transition.DEESCALATED and advice is None):
        return ALL_CLEAR.get(event.alert_type)
    return advice


def test_the_storm_goes_through_every_transition(
        storm: list[tuple[Event, etree._Element]]) -> None:
    seen = {(event.alert_type, event.transition) for event, _ in storm}
    river = {transition for alert_type, transition in seen
             if alert_type is AlertType.RIVER_LEVEL}
    # The river alert changes too often to need a renewal; a rising trend and a silent
    # gauge outlast half their messages' validity.
    assert river == set(Transition) - {Transition.RENEWED, Transition.UPDATED}  # forecasts only
    assert (AlertType.RATE_OF_RISE, Transition.RENEWED) in seen
    assert (AlertType.OFFLINE, Transition.RENEWED) in seen
    assert (AlertType.ROAD_FLOODING, Transition.CONFIRMED) in seen
    assert (AlertType.DATA_QUALITY, Transition.RAISED) in seen
    assert (AlertType.OFFLINE, Transition.RAISED) in seen
    assert {event.level for event, _ in storm if event.alert_type is AlertType.RIVER_LEVEL} \
        == {0, 1, 2, 3, 4, 5}


def test_each_message_says_what_to_do_and_until_when(
        storm: list[tuple[Event, etree._Element]], shipped: AlertRules) -> None:
    for event, document in storm:
        cleared = event.transition is Transition.CLEARED
        staff = event.alert_type in (AlertType.OFFLINE, AlertType.DATA_QUALITY) \
            or event.transition is Transition.ACKNOWLEDGED
        assert document.findtext(f"{CAP}scope") == (
            "Public" if event.confirmed and not staff else "Restricted"), event
        assert document.findtext(f"{CAP}restriction") == (
            shipped.cap_restriction if staff
            else None if event.confirmed else shipped.cap_unconfirmed_restriction), event
        assert document.findtext(f"{CAP}msgType") in ("Alert", "Update")  # never Cancel
        sent = when(document, "sent")
        advice = expected_advice(event)
        ja, en = infos(document)["ja-JP"], infos(document)["en-US"]
        for info, lang in ((ja, 0), (en, 1)):
            assert info.findtext(f"{CAP}responseType") == (
                "AllClear" if cleared else RESPONSES[event.alert_type][event.level]), event
            assert when(info, "expires") - sent == (
                timedelta(hours=1) if cleared else EXPIRES[event.alert_type]), event
            assert info.findtext(f"{CAP}instruction") == (
                None if advice is None else advice[lang]), event
            assert when(info, "effective") == when(info, "onset") == event.at
            assert info.findtext(f"{CAP}urgency") != "Past" or cleared
            assert info.findtext(f"{CAP}web") == "https://bousai.pref.example.jp/public/stations"
        assert ja.findtext(f"{CAP}senderName") == shipped.cap.sender_name.ja
        assert en.findtext(f"{CAP}senderName") == shipped.cap.sender_name.en
        assert shipped.cap.contact is not None
        assert en.findtext(f"{CAP}contact") == shipped.cap.contact.en


def test_every_message_is_valid_cap_and_carries_the_area_at_risk(
        storm: list[tuple[Event, etree._Element]]) -> None:
    schema = cap_schema()
    for event, document in storm:
        assert schema.validate(document), (event, schema.error_log)
        for language, info in infos(document).items():
            area = info.find(f"{CAP}area")
            assert area is not None
            geocodes = [(code.findtext(f"{CAP}valueName"), code.findtext(f"{CAP}value"))
                        for code in area.iter(f"{CAP}geocode")]
            if event.station == "sukagawa":
                assert geocodes == [("全国地方公共団体コード", "072079"),
                                    ("全国地方公共団体コード", "072036"),
                                    ("河川コード", "8302010001"),
                                    ("水文水質データベース観測所記号", "302041282207010"),
                                    ("floodwatch:station", "sukagawa")]
                assert [p.text for p in area.iter(f"{CAP}polygon")] == [
                    "37.28,140.37 37.28,140.39 37.3,140.39 37.28,140.37"]
                assert area.find(f"{CAP}circle") is None
                assert area.findtext(f"{CAP}areaDesc") == (
                    "須賀川、須賀川市、郡山市" if language == "ja-JP"
                    else "Sukagawa, Sukagawa City, Koriyama City")
            elif event.station == "underpass":
                assert geocodes == [("全国地方公共団体コード", "072036"),
                                    ("floodwatch:station", "underpass")]
                assert area.findtext(f"{CAP}circle") == "37.398,140.388 0"


def test_each_message_supersedes_every_earlier_one_of_its_audience(
        storm: list[tuple[Event, etree._Element]]) -> None:
    alerts = by_alert((event.alert_id, document) for event, document in storm)
    assert sum(document.findtext(f"{CAP}scope") == "Public" and
               document.findtext(f"{CAP}msgType") == "Alert"
               for documents in alerts.values() for document in documents) >= 3
    assert assert_each_supersedes_every_earlier(alerts) >= 10
    # The all-clear names every Public message of the level-5 alert: no receiver keeps
    # the 氾濫発生 beside it.
    cleared = next(document for event, document in storm if event.event_id == "sukagawa/18")
    assert [reference.split(",")[1].rsplit(":", 1)[1] for reference in
            (cleared.findtext(f"{CAP}references") or "").split()] == [
        "sukagawa/2", "sukagawa/6", "sukagawa/8", "sukagawa/10", "sukagawa/12", "sukagawa/15",
        "sukagawa/17"]


def test_sent_is_the_issue_time_and_only_moves_forward_per_alert(
        storm: list[tuple[Event, etree._Element]]) -> None:
    last: dict[str, datetime] = {}
    for event, document in storm:
        sent = when(document, "sent")
        assert sent == event.sent
        assert sent >= event.at  # issued by a wall clock behind the readings' arrival
        if event.alert_id in last:
            assert sent > last[event.alert_id], event
        last[event.alert_id] = sent
    # One reading confirming a level and escalating past it: two messages a second apart.
    underpass = [(e.transition, when(d, "sent")) for e, d in storm
                 if e.station == "underpass" and e.alert_type is AlertType.ROAD_FLOODING]
    assert underpass[1:3] == [
        (Transition.CONFIRMED, T0 + timedelta(minutes=23)),
        (Transition.ESCALATED, T0 + timedelta(minutes=23, seconds=1))]


def test_a_reading_after_an_acknowledgement_is_sent_after_it(
        stations: StationRegistry, shipped: AlertRules) -> None:
    # No issue clock (a replay): each event would be issued at its own time, and the
    # reading stamped 00:13 that escalates would go out before the 00:15 acknowledgement.
    engine = Engine(stations, shipped)
    for minutes, level in ((0, 2.0), (5, 2.6), (10, 2.7)):
        engine.on_reading(river("sukagawa", minutes, level))
    ack = parse_command("floodwatch/commands/acknowledge/sukagawa",
                        b'{"command_id": "c1", "issued_at": "2026-10-12T09:15:00+09:00",'
                        b' "officer": "tanaka", "alert_id": "sukagawa/1"}', stations)
    acknowledged = engine.on_command(ack).events[0]
    escalated = engine.on_reading(river("sukagawa", 13, 3.6)).events[0]
    assert escalated.transition is Transition.ESCALATED
    document = etree.fromstring(cap_of(escalated, stations, shipped))
    assert when(document, "sent") == acknowledged.issued + timedelta(seconds=1)
    assert when(infos(document)["en-US"], "effective") == T0 + timedelta(minutes=13)


def test_identifiers_differ_across_deployments_with_the_same_sender(
        tmp_path: Path, stations: StationRegistry, shipped: AlertRules) -> None:
    event = cap_scenario.storm(stations, shipped)[0]
    namespaces = []
    for name in ("first", "rebuilt"):
        store = AlertStore(tmp_path / name / "alerts.sqlite3")
        namespaces.append(store.cap_namespace("pref-a"))
        store.close()
    documents = [etree.fromstring(cap_of(event, stations, shipped, namespace=namespace))
                 for namespace in namespaces]
    senders = {document.findtext(f"{CAP}sender") for document in documents}
    identifiers = {document.findtext(f"{CAP}identifier") for document in documents}
    assert len(senders) == 1
    assert len(identifiers) == 2
    assert all(str(i).startswith("floodwatch:pref-a:") and str(i).endswith(":sukagawa/1")
               for i in identifiers)
    # The same state keeps its identifiers; another deployment id cannot take it over.
    store = AlertStore(tmp_path / "first" / "alerts.sqlite3")
    try:
        assert store.cap_namespace("pref-a") == namespaces[0]
        with pytest.raises(NamespaceMismatch, match="created for deployment 'pref-a'"):
            store.cap_namespace("pref-b")
    finally:
        store.close()


def test_the_json_event_carries_the_same_profile_fields(
        storm: list[tuple[Event, etree._Element]], shipped: AlertRules) -> None:
    for event, document in storm:
        fields = cap_fields(event, shipped)
        en = infos(document)["en-US"]
        assert (fields.identifier, fields.sent, fields.msg_type, fields.scope) == (
            document.findtext(f"{CAP}identifier"), document.findtext(f"{CAP}sent"),
            document.findtext(f"{CAP}msgType"), document.findtext(f"{CAP}scope"))
        assert (fields.expires, fields.response_type) == (
            en.findtext(f"{CAP}expires"), en.findtext(f"{CAP}responseType"))
        assert (None if fields.instruction is None else fields.instruction.en) == \
            en.findtext(f"{CAP}instruction")


def test_the_cap_section_is_checked_and_merged_over_the_defaults(
        stations: StationRegistry) -> None:
    text = RULES_FILE.read_text(encoding="utf-8")
    with pytest.raises(RulesError, match=r"cap\.expires\.river_level"):
        AlertRules.from_yaml_text(text.replace("river_level: 6h", "river_level: 6 hours"),
                                  stations, "rules.yaml")
    changed = AlertRules.from_yaml_text(
        text.replace("cap:\n", "cap:\n  response_types: {road_flooding: {1: Prepare}}\n"),
        stations, "rules.yaml")
    assert changed.cap.response_type(AlertType.ROAD_FLOODING, 2) == "Prepare"
    assert changed.cap.response_type(AlertType.RIVER_LEVEL, 5) == "Shelter"
    with pytest.raises(ValueError, match="namespace"):
        profile(changed, namespace="no namespace")
