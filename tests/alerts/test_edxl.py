"""The EDXL-DE 1.0 envelope (core.edxl): valid against the OASIS schema, the CAP inside
it unchanged and valid against CAP's, and each envelope field mapped from the CAP and
the alert area as docs/edxl.md says."""

from __future__ import annotations

import pytest
from lxml import etree

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import Event
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.alert_area import MUNICIPALITY_CODE, AlertArea, alert_area
from floodwatch.core.edxl import EnvelopeError, render_edxl, subdivisions
from floodwatch.core.registry import Names, StationRegistry
from tests.alerts.conftest import RULES_FILE
from tests.alerts.test_cap import lifecycle
from tests.alerts.test_typhoon import typhoon_readings
from tests.cap_support import cap_of
from tests.conftest import SAMPLE_REGISTRY
from tests.xsd import assert_valid_cap, assert_valid_edxl_de

DE = "{urn:oasis:names:tc:emergency:EDXL:DE:1.0}"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def wrapped(event: Event, registry: StationRegistry, rules: AlertRules,
            status: str = "Actual") -> tuple[bytes, bytes]:
    """The event's CAP, and its envelope."""
    station = registry.get(event.station)
    assert station is not None
    cap = cap_of(event, registry, rules, status)
    return cap, render_edxl(cap, alert_area(station, registry))


def envelope_of(event: Event, registry: StationRegistry, rules: AlertRules,
                status: str = "Actual") -> tuple[bytes, etree._Element]:
    cap, envelope = wrapped(event, registry, rules, status)
    return cap, assert_valid_edxl_de(envelope)


def embedded(envelope: etree._Element) -> etree._Element:
    content = envelope.find(f"{DE}contentObject/{DE}xmlContent/{DE}embeddedXMLContent")
    assert content is not None
    (alert,) = content
    return alert


@pytest.mark.slow
def test_every_envelope_of_the_typhoon_is_valid_and_wraps_its_cap_unchanged() -> None:
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    rules = AlertRules.load(RULES_FILE, registry)
    engine = Engine(registry, rules)
    events = [event for reading in typhoon_readings(registry)
              for event in engine.on_reading(reading).events]
    assert len(events) > 100
    ids = set()
    for event in events:
        cap, document = wrapped(event, registry, rules)
        envelope = assert_valid_edxl_de(document)
        alert = assert_valid_cap(embedded(envelope))
        # Wrapped, not re-rendered: the CAP's bytes are in the envelope's as they were.
        declaration, body = cap.split(b"\n", 1)
        assert declaration.startswith(b"<?xml")
        assert b"<embeddedXMLContent>" + body + b"</embeddedXMLContent>" in document
        assert envelope.findtext(f"{DE}distributionID") == (
            f"{alert.findtext(f'{CAP}identifier')}:edxl")
        ids.add(envelope.findtext(f"{DE}distributionID"))
        assert envelope.findtext(f"{DE}targetArea/{DE}subdivision") in {"JP-07", "JP-04"}
    assert len(ids) == len(events)


def test_the_envelope_follows_the_cap_it_wraps(engine: Engine, registry: StationRegistry,
                                               rules: AlertRules) -> None:
    events = [e for e in lifecycle(engine) if e.station == "g1"]
    by_type: dict[str, list[etree._Element]] = {}
    for event in events:
        _, envelope = envelope_of(event, registry, rules)
        alert = embedded(envelope)
        assert envelope.findtext(f"{DE}senderID") == alert.findtext(f"{CAP}sender")
        assert envelope.findtext(f"{DE}dateTimeSent") == alert.findtext(f"{CAP}sent")
        assert envelope.findtext(f"{DE}language") == "ja-JP"
        assert envelope.findtext(f"{DE}keyword/{DE}value") == event.alert_type.value
        by_type.setdefault(alert.findtext(f"{CAP}msgType") or "", []).append(envelope)
        public = alert.findtext(f"{CAP}scope") == "Public"
        confidentiality = "UNCLASSIFIED AND NOT SENSITIVE" if public else "RESTRICTED"
        assert envelope.findtext(f"{DE}combinedConfidentiality") == confidentiality
        assert envelope.findtext(f"{DE}contentObject/{DE}confidentiality") == confidentiality
        description = envelope.findtext(f"{DE}contentObject/{DE}contentDescription")
        assert description == (alert.findtext(f"{CAP}info/{CAP}headline") if public
                               else alert.findtext(f"{CAP}restriction"))
        references = [reference.split(",", 2) for reference in
                      (alert.findtext(f"{CAP}references") or "").split()]
        assert [r.text for r in envelope.iter(f"{DE}distributionReference")] == [
            f"{identifier}:edxl,{sender},{sent}" for sender, identifier, sent in references]
    # The profile ends danger with an Update (AllClear), never a Cancel (docs/cap.md).
    assert set(by_type) == {"Alert", "Update"}
    assert {e.findtext(f"{DE}distributionType") for e in by_type["Alert"]} == {"Report"}
    assert {e.findtext(f"{DE}distributionType") for e in by_type["Update"]} == {"Update"}
    assert all(e.find(f"{DE}distributionReference") is None for e in by_type["Alert"])
    assert all(e.find(f"{DE}distributionReference") is not None for e in by_type["Update"])
    # An officer's withdrawal of an erroneous alert (a CAP Cancel) is an EDXL-DE Cancel.
    update = next(e for e in events if e.transition.value == "cleared")
    station = registry.get(update.station)
    assert station is not None
    withdrawal = cap_of(update, registry, rules).replace(b"<msgType>Update</msgType>",
                                                          b"<msgType>Cancel</msgType>")
    cancel = assert_valid_edxl_de(render_edxl(withdrawal, alert_area(station, registry)))
    assert cancel.findtext(f"{DE}distributionType") == "Cancel"
    assert cancel.find(f"{DE}distributionReference") is not None


def test_an_exercise_stays_an_exercise(engine: Engine, registry: StationRegistry,
                                       rules: AlertRules) -> None:
    event = lifecycle(engine)[0]
    _, envelope = envelope_of(event, registry, rules, status="Exercise")
    assert envelope.findtext(f"{DE}distributionStatus") == "Exercise"


def test_the_target_area_carries_the_shape_and_each_prefecture_at_risk(
        engine: Engine, registry: StationRegistry, rules: AlertRules) -> None:
    event = lifecycle(engine)[0]
    station = registry.get(event.station)
    assert station is not None
    ring = "37.28,140.37 37.28,140.39 37.3,140.39 37.28,140.37"
    area = AlertArea(Names(ja="境", en="Border"),
                     [(MUNICIPALITY_CODE, "043419"), (MUNICIPALITY_CODE, "072133"),
                      (MUNICIPALITY_CODE, "072010")], [ring], None)
    envelope = assert_valid_edxl_de(render_edxl(cap_of(event, registry, rules), area))
    target = envelope.find(f"{DE}targetArea")
    assert target is not None
    assert [(child.tag.removeprefix(DE), child.text) for child in target] == [
        ("polygon", ring), ("country", "JP"), ("subdivision", "JP-04"),
        ("subdivision", "JP-07")]
    assert subdivisions([]) == []


def test_what_edxl_de_has_no_word_for_is_refused(engine: Engine, registry: StationRegistry,
                                                 rules: AlertRules) -> None:
    event = lifecycle(engine)[0]
    station = registry.get(event.station)
    assert station is not None
    area = alert_area(station, registry)
    with pytest.raises(EnvelopeError, match="Draft"):
        render_edxl(cap_of(event, registry, rules, status="Draft"), area)
    with pytest.raises(EnvelopeError, match=r"not a CAP 1\.2 alert"):
        render_edxl(b"<alert/>", area)
    with pytest.raises(EnvelopeError, match="well-formed"):
        render_edxl(b"<alert", area)
