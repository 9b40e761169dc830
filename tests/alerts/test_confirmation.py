"""Confirmation before the public: officers see an escalation at once; residents only
once a second reading agrees (``confirmation.readings``, default 2), or an officer
caused it."""

from __future__ import annotations

import json

import pytest

from floodwatch.alerts.commands import Command, CommandRejected, parse_command
from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import AlertType, Event
from floodwatch.alerts.render import status_payload
from floodwatch.alerts.rules import AlertRules, RulesError
from floodwatch.alerts.state import StationState
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import RULES_FILE, at, feed, road, rules_with, series

Row = tuple[str, int, int, bool]  # transition, level, previous level, confirmed


def river_rows(events: list[Event]) -> list[Row]:
    return [(e.transition.value, e.level, e.previous_level, e.confirmed)
            for e in events if e.alert_type is AlertType.RIVER_LEVEL]


def confirmed_level(engine: Engine, station: str = "g1",
                    alert_type: AlertType = AlertType.RIVER_LEVEL) -> int:
    return engine.states[station].alerts[alert_type].confirmed_level


def flooding(registry: StationRegistry, action: str, command_id: str, minute: int) -> Command:
    body = {"command_id": command_id, "issued_at": at(minute).isoformat(),
            "officer": "sato", "action": action}
    return parse_command("floodwatch/commands/flooding/g1", json.dumps(body).encode(),
                         registry)


def test_the_second_agreeing_reading_confirms(engine: Engine) -> None:
    first = feed(engine, series("g1", [3.2]), only="g1")
    assert river_rows(first) == [("raised", 3, 0, False)]
    assert confirmed_level(engine) == 0
    second = feed(engine, series("g1", [3.3], start=10), only="g1")
    assert river_rows(second) == [("confirmed", 3, 3, True)]
    confirmation = second[0]
    assert (confirmation.alert_id, confirmation.at) == (first[0].event_id, at(10))
    assert confirmation.detail["threshold_m"] == 3.0
    assert confirmation.cause.values == {"level_m": 3.3}
    assert confirmed_level(engine) == 3
    # Confirmed once: more agreeing readings add nothing.
    assert river_rows(feed(engine, series("g1", [3.4, 3.5], start=20), only="g1")) == []


def test_the_worked_example_of_docs_alerts_md(engine: Engine) -> None:
    events = feed(engine, series("g1", [2.5, 3.4, 2.95, 3.1, 4.05, 4.1]), only="g1")
    assert [(e.at, *row) for e, row in zip(
        [e for e in events if e.alert_type is AlertType.RIVER_LEVEL], river_rows(events),
        strict=True)] == [
        (at(0), "raised", 2, 0, False),
        (at(10), "confirmed", 2, 2, True), (at(10), "escalated", 3, 2, False),
        (at(40), "confirmed", 3, 3, True), (at(40), "escalated", 4, 3, False),
        (at(50), "confirmed", 4, 4, True)]


def test_a_disagreeing_reading_starts_the_count_again(engine: Engine) -> None:
    events = feed(engine, series("g1", [3.2, 2.95, 3.1, 3.2]), only="g1")
    assert river_rows(events) == [("raised", 3, 0, False), ("confirmed", 3, 3, True)]
    assert events[-1].at == at(30)  # 2.95 (level 2) reset it; 3.1 and 3.2 agree


def test_a_reading_excluded_by_data_quality_neither_agrees_nor_disagrees(
        engine: Engine) -> None:
    events = feed(engine, series("g1", [3.2, 45.0, 3.3]), only="g1")
    assert river_rows(events) == [("raised", 3, 0, False), ("confirmed", 3, 3, True)]
    assert events[-1].at == at(20)


@pytest.fixture
def jumpy(registry: StationRegistry) -> Engine:
    """An engine whose data-quality checks let g1 jump more than a metre a reading: the
    jumps here are about confirmation, not about believing a reading."""
    return Engine(registry, rules_with(
        registry, "stations: {g1: {quality: {level_m: {max_step: 2.0}}}}"))


def test_an_escalation_from_2_to_4_is_confirmed_by_the_next_reading(
        jumpy: Engine, registry: StationRegistry, rules: AlertRules) -> None:
    engine = jumpy
    station = registry.get("g1")
    assert station is not None
    events = feed(engine, series("g1", [2.5, 2.6, 4.05]), only="g1")
    assert river_rows(events) == [("raised", 2, 0, False), ("confirmed", 2, 2, True),
                                  ("escalated", 4, 2, False)]
    status = json.loads(status_payload(engine.states["g1"], station, rules.labels))
    assert [(a["level"], a["confirmed"], a["public"]["level"]) for a in status["alerts"]
            if a["alert_type"] == "river_level"] == [(4, False, 2)]  # public views show 2
    assert confirmed_level(engine) == 2  # residents still know level 2
    events = feed(engine, series("g1", [4.1], start=30), only="g1")
    assert river_rows(events) == [("confirmed", 4, 4, True)]
    status = json.loads(status_payload(engine.states["g1"], station, rules.labels))
    assert [(a["level"], a["confirmed"], a["public"]) for a in status["alerts"]
            if a["alert_type"] == "river_level"] == [(4, True, None)]


def test_a_steady_rise_confirms_each_level_as_it_escalates_past_it(engine: Engine) -> None:
    # Waiting for a reading that agrees with the *newest* level would keep residents
    # uninformed for as long as the water keeps rising.
    events = [e for e in feed(engine, series("g1", [2.5, 3.5, 4.5]), only="g1")
              if e.alert_type is AlertType.RIVER_LEVEL]
    assert river_rows(events) == [
        ("raised", 2, 0, False),
        ("confirmed", 2, 2, True), ("escalated", 3, 2, False),
        ("confirmed", 3, 3, True), ("escalated", 4, 3, False)]
    assert [e.at for e in events] == [at(0), at(10), at(10), at(20), at(20)]
    assert confirmed_level(engine) == 3


def test_deescalation_lowers_the_confirmed_level(engine: Engine) -> None:
    events = feed(engine, series("g1", [4.2, 4.3, 3.5, 3.5, 3.5, 3.5]), only="g1")
    assert river_rows(events) == [("raised", 4, 0, False), ("confirmed", 4, 4, True),
                                  ("deescalated", 3, 4, True)]  # residents knew 4
    assert confirmed_level(engine) == 3
    # Back up to 4: residents were told it fell, so level 4 needs confirming again.
    events = feed(engine, series("g1", [4.2, 4.25], start=60), only="g1")
    assert river_rows(events) == [("escalated", 4, 3, False), ("confirmed", 4, 4, True)]


def test_a_fall_to_a_level_residents_never_knew_stays_unconfirmed(jumpy: Engine) -> None:
    engine = jumpy
    events = feed(engine, series("g1", [2.5, 2.6, 4.05, 3.5, 3.5, 3.5, 3.5, 3.6]),
                  only="g1")
    assert river_rows(events) == [
        ("raised", 2, 0, False), ("confirmed", 2, 2, True), ("escalated", 4, 2, False),
        # Residents know level 2: "lowered to 3" would tell them of an unconfirmed 3.
        ("deescalated", 3, 4, False),
        # The falling reading (3.5) already agreed with 3: the next one confirms it.
        ("confirmed", 3, 3, True)]
    assert events[-1].at == at(70)


def test_clearing_an_alert_residents_never_heard_of_is_unconfirmed(engine: Engine) -> None:
    events = feed(engine, series("g1", [3.2, 2.5, 2.5, 2.5, 2.5, 1.5, 0.5, 0.5, 0.5]),
                  only="g1")
    assert river_rows(events) == [("raised", 3, 0, False), ("deescalated", 2, 3, False),
                                  ("cleared", 0, 2, False)]


def test_officer_declared_flooding_is_confirmed_at_once(
        engine: Engine, registry: StationRegistry) -> None:
    feed(engine, series("g1", [2.5]))
    outcome = engine.on_command(flooding(registry, "declare", "c1", 5))
    assert river_rows(outcome.events) == [("escalated", 5, 2, True)]
    assert confirmed_level(engine) == 5


def test_declaring_a_flooding_level_one_reading_reached_confirms_it(
        engine: Engine, registry: StationRegistry) -> None:
    feed(engine, series("g1", [4.5, 5.2]))
    assert confirmed_level(engine) == 4
    outcome = engine.on_command(flooding(registry, "declare", "c1", 15))
    assert river_rows(outcome.events) == [("confirmed", 5, 5, True),
                                          ("acknowledged", 5, 5, True)]
    assert {e.cause.command_id for e in outcome.events} == {"c1"}
    assert confirmed_level(engine) == 5


def test_an_acknowledgement_says_whether_the_level_is_confirmed(
        engine: Engine, registry: StationRegistry) -> None:
    feed(engine, series("g1", [3.2]))
    body = {"command_id": "a1", "issued_at": at(5).isoformat(), "officer": "tanaka",
            "alert_id": "g1/1"}
    ack = parse_command("floodwatch/commands/acknowledge/g1", json.dumps(body).encode(),
                        registry)
    assert river_rows(engine.on_command(ack).events) == [("acknowledged", 3, 3, False)]


def test_an_acknowledgement_for_a_level_the_alert_has_left_is_refused(
        engine: Engine, registry: StationRegistry) -> None:
    feed(engine, series("g1", [3.2]))
    body = {"command_id": "a1", "issued_at": at(5).isoformat(), "officer": "tanaka",
            "alert_id": "g1/1", "level": 4}
    ack = parse_command("floodwatch/commands/acknowledge/g1", json.dumps(body).encode(),
                        registry)
    with pytest.raises(CommandRejected, match="now at level 3, not 4"):
        engine.on_command(ack)
    body = {**body, "command_id": "a2", "level": 3}
    ack = parse_command("floodwatch/commands/acknowledge/g1", json.dumps(body).encode(),
                        registry)
    assert river_rows(engine.on_command(ack).events) == [("acknowledged", 3, 3, False)]


def test_one_reading_confirms_at_once_when_configured(registry: StationRegistry) -> None:
    rules = rules_with(registry, "stations: {g1: {confirmation: {readings: 1}}}")
    engine = Engine(registry, rules)
    events = feed(engine, series("g1", [2.5, 3.5, 3.6]), only="g1")
    assert river_rows(events) == [("raised", 2, 0, True), ("escalated", 3, 2, True)]
    # g2 keeps the default: its own raise waits for a second reading.
    assert river_rows(feed(engine, series("g2", [2.5], start=30), only="g2")) == [
        ("raised", 2, 0, False)]


def test_road_alerts_count_their_own_readings(registry: StationRegistry) -> None:
    rules = rules_with(registry, "stations: {u1: {confirmation: {readings: 3}}}")
    engine = Engine(registry, rules)
    depths = [12.0, 13.0, 9.0, 12.0, 12.5, 13.0]  # 9 cm is below caution: a reset
    events = feed(engine, [road("u1", 5 * i, water_depth_cm=d) for i, d in enumerate(depths)],
                  only="u1")
    assert [(e.alert_type.value, e.transition.value, e.confirmed, e.at) for e in events] == [
        ("road_flooding", "raised", False, at(0)),
        ("road_flooding", "confirmed", True, at(25))]


def test_the_rules_file_must_name_the_confirmed_transition(registry: StationRegistry) -> None:
    text = RULES_FILE.read_text(encoding="utf-8")
    line = "    confirmed: {ja: 確定, en: confirmed}\n"
    assert line in text
    with pytest.raises(RulesError, match=r"labels: transitions.confirmed: missing"):
        AlertRules.from_yaml_text(text.replace(line, ""), registry, "r.yaml")


@pytest.mark.parametrize("readings", [0, 11])
def test_the_number_of_readings_is_checked(registry: StationRegistry, readings: int) -> None:
    with pytest.raises(RulesError, match=r"stations.g1: \(river\) confirmation.readings"):
        rules_with(registry, f"stations: {{g1: {{confirmation: {{readings: {readings}}}}}}}")


def test_an_alert_saved_before_confirmation_existed_counts_as_told(
        registry: StationRegistry, rules: AlertRules) -> None:
    # It was published to everyone at once: its all-clear must reach residents.
    saved = {"station": "g1", "seq": 1, "alerts": {"river_level": {
        "alert_id": "g1/1", "level": 3, "raised_at": "2026-10-12T00:00:00Z"}}}
    state = StationState.model_validate_json(json.dumps(saved))
    assert state.alerts[AlertType.RIVER_LEVEL].confirmed_level == 3
    # Falls of 1.2 m a reading: a gauge this steep has max_step set above them.
    steep = rules_with(registry, "stations: {g1: {quality: {level_m: {max_step: 2.0}}}}")
    engine = Engine(registry, steep, states={"g1": state})
    events = feed(engine, series("g1", [3.2, 2.0, 0.8, 0.5, 0.5], start=10), only="g1")
    assert river_rows(events) == [("cleared", 0, 3, True)]
