"""Road hazards, officers' commands, and the rules file's errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from floodwatch.alerts.commands import CommandRejected, parse_command
from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import AlertType
from floodwatch.alerts.rules import AlertRules, RulesError
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import RULES_FILE, T0, feed, road, rules_with, series, summary


def test_underpass_caution_close_and_clear(engine: Engine) -> None:
    depths = [0.0, 12.0, 25.0, 18.0, 15.0, 15.0, 15.0, 15.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    readings = [road("u1", 5 * i, water_depth_cm=depth) for i, depth in enumerate(depths)]
    events = feed(engine, readings, only="u1")
    assert summary(events) == [("u1", "road_flooding", "raised", 1),
                               ("u1", "road_flooding", "confirmed", 1),
                               ("u1", "road_flooding", "escalated", 2),
                               ("u1", "road_flooding", "deescalated", 1),
                               ("u1", "road_flooding", "cleared", 0)]
    assert [e.at - T0 for e in events] == [timedelta(minutes=m) for m in (5, 10, 10, 35, 55)]
    assert events[2].detail == {"water_depth_cm": 25.0, "threshold_cm": 20.0}


def test_icing_risk_then_ice_then_clear(engine: Engine) -> None:
    surfaces = [(3.0, "wet"), (0.5, "wet"), (-1.0, "ice"), (-0.5, "ice"), (1.5, "wet"),
                (2.5, "wet"), (4.0, "dry"), (5.0, "dry"), (5.0, "dry"), (5.0, "dry"),
                (6.0, "dry"), (6.0, "dry"), (6.0, "dry")]
    readings = [road("u1", 5 * i, surface_temp_c=temp, surface_state=state)
                for i, (temp, state) in enumerate(surfaces)]
    events = feed(engine, readings, only="u1")
    assert summary(events) == [("u1", "road_icing", "raised", 1),
                               ("u1", "road_icing", "confirmed", 1),
                               ("u1", "road_icing", "escalated", 2),
                               ("u1", "road_icing", "confirmed", 2),
                               ("u1", "road_icing", "cleared", 0)]
    # Below level 2 from 20 min (1.5 wet sustains 1; 2.5 wet does not): cleared at 50 min.
    assert events[4].at - T0 == timedelta(minutes=50)


def test_acknowledge_then_escalation_needs_a_new_acknowledgement(
        engine: Engine, registry: StationRegistry) -> None:
    feed(engine, series("g1", [1.5]))
    ack = parse_command("floodwatch/commands/acknowledge/g1",
                        b'{"command_id": "c1", "issued_at": "2026-10-12T09:05:00+09:00",'
                        b' "officer": "tanaka", "alert_id": "g1/1"}', registry)
    outcome = engine.on_command(ack)
    assert summary(outcome.events) == [("g1", "river_level", "acknowledged", 1)]
    assert outcome.events[0].cause.command_id == "c1"
    assert outcome.events[0].alert_id == "g1/1"
    with pytest.raises(CommandRejected, match="already acknowledged"):
        engine.on_command(ack)
    assert engine.states["g1"].alerts[AlertType.RIVER_LEVEL].acknowledged
    feed(engine, [series("g1", [2.5], start=10)[0]])
    assert not engine.states["g1"].alerts[AlertType.RIVER_LEVEL].acknowledged


def test_flooding_declared_holds_until_ended(engine: Engine, registry: StationRegistry) -> None:
    feed(engine, series("g1", [2.5]))
    declare = parse_command("floodwatch/commands/flooding/g1",
                            b'{"command_id": "c2", "issued_at": "2026-10-12T00:05:00Z",'
                            b' "officer": "sato", "action": "declare"}', registry)
    assert summary(engine.on_command(declare).events) == [("g1", "river_level", "escalated", 5)]
    events = feed(engine, series("g1", [2.4] * 6, start=10), only="g1")
    assert [e for e in events if e.alert_type is AlertType.RIVER_LEVEL] == []
    end = parse_command("floodwatch/commands/flooding/g1",
                        b'{"command_id": "c3", "issued_at": "2026-10-12T01:10:00Z",'
                        b' "officer": "sato", "action": "end"}', registry)
    assert summary(engine.on_command(end).events) == [("g1", "river_level", "deescalated", 2)]
    with pytest.raises(CommandRejected, match="not declared"):
        engine.on_command(end)


@pytest.mark.parametrize(("topic", "body", "reason"), [
    ("floodwatch/commands/acknowledge/nowhere", b"{}", "unknown station"),
    ("floodwatch/commands/reboot/g1", b"{}", "unknown command"),
    ("floodwatch/commands/acknowledge/g1", b"{not json", "not JSON"),
    ("floodwatch/commands/acknowledge/g1",
     b'{"command_id": "c1", "issued_at": "2026-10-12T00:00:00", "officer": "a",'
     b' "alert_id": "g1/1"}', "issued_at"),
    ("floodwatch/commands/flooding/g1",
     b'{"command_id": "c1", "issued_at": "2026-10-12T00:00:00Z", "officer": "a",'
     b' "action": "maybe"}', "action"),
    ("floodwatch/commands/flooding/u1",
     b'{"command_id": "c1", "issued_at": "2026-10-12T00:00:00Z", "officer": "a",'
     b' "action": "declare"}', "river stations only"),
])
def test_bad_commands_are_rejected_with_a_reason(registry: StationRegistry, topic: str,
                                                 body: bytes, reason: str) -> None:
    with pytest.raises(CommandRejected, match=reason):
        parse_command(topic, body, registry)


def test_acknowledging_an_unknown_alert_is_rejected(engine: Engine,
                                                    registry: StationRegistry) -> None:
    ack = parse_command("floodwatch/commands/acknowledge/g1",
                        b'{"command_id": "c9", "issued_at": "2026-10-12T00:00:00Z",'
                        b' "officer": "a", "alert_id": "g1/7"}', registry)
    with pytest.raises(CommandRejected, match="no open alert g1/7"):
        engine.on_command(ack)


@pytest.mark.parametrize(("extra", "message"), [
    ("stations: {nowhere: {}}", "test-rules.yaml: stations.nowhere: not in the station registry"),
    ("stations: {g1: {level: {hold_s: -1}}}",
     "test-rules.yaml: stations.g1: (river) level.hold_s: Input should be greater than"),
    ("stations: {g1: {flooding: {}}}", "stations.g1: (river) flooding: Extra inputs"),
    ("stations: {u1: {flooding: {caution_cm: 30}}}", "caution_cm must be below close_cm"),
])
def test_rule_errors_name_file_and_field(registry: StationRegistry, extra: str,
                                         message: str) -> None:
    with pytest.raises(RulesError) as caught:
        rules_with(registry, extra)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_labels_and_bad_templates_are_errors(registry: StationRegistry) -> None:
    text = RULES_FILE.read_text(encoding="utf-8")
    broken = text.replace("        2: {name: ice, ja: 路面凍結, en: Icy road, severity: Severe,"
                          " urgency: Immediate}\n", "")
    with pytest.raises(RulesError, match=r"labels: types.road_icing.levels.2"):
        AlertRules.from_yaml_text(broken, registry, "r.yaml")
    bad_template = text.replace("in about {minutes} min", "in about {minutes} min {oops}")
    with pytest.raises(RulesError, match="unknown placeholder 'oops'"):
        AlertRules.from_yaml_text(bad_template, registry, "r.yaml")
