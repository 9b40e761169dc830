"""Renewals (alerts.renewal): while an alert is open, its audiences always hold a CAP
message that has not expired -- a steady level, a silent gauge -- and the renewals stop
at the all-clear. And a fall back to the level residents know, from one only staff saw,
tells residents nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from lxml import etree

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import AlertType, Event, Transition
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.registry import StationRegistry
from tests.alerts.cap_chains import assert_each_supersedes_every_earlier, by_alert
from tests.alerts.cap_scenario import WallClock
from tests.alerts.conftest import T0, river, road
from tests.cap_support import cap_of, cap_schema, profile

LAG = timedelta(minutes=2)  # the wall clock runs this far behind the readings' time


def run(registry: StationRegistry, rules: AlertRules, g1_levels: list[float], *,
        silent_after: int | None = None, others_report: bool = True,
        minutes: int = 8 * 60) -> list[Event]:
    """Every 10 minutes for ``minutes``: g1 reads the next of ``g1_levels`` (the last one
    repeated) until ``silent_after`` readings, g2 and u1 read calm while
    ``others_report``; the engine ticks between readings as the service does."""
    clock = WallClock(T0)
    engine = Engine(registry, rules, issue_clock=clock)
    events: list[Event] = []
    last_arrival = T0
    for minute in range(0, minutes + 1, 10):
        n = minute // 10
        readings = []
        if silent_after is None or n < silent_after:
            readings.append(river("g1", minute, g1_levels[min(n, len(g1_levels) - 1)]))
        if others_report or n < 2:
            readings += [river("g2", minute, 0.4), road("u1", minute, water_depth_cm=0.0)]
        clock.now = T0 + timedelta(minutes=minute) + LAG
        for reading in readings:
            events += engine.on_reading(reading).events
            last_arrival = clock.now
        clock.now += timedelta(minutes=5)
        events += engine.on_clock(clock.now - last_arrival).events
    return [event for event in events if event.station == "g1"]


def public_messages(events: list[Event], rules: AlertRules,
                    alert_type: AlertType) -> list[tuple[datetime, datetime]]:
    """(sent, expires) of the Public messages of g1's alert of ``alert_type``."""
    fields = [profile(rules).fields(event) for event in events
              if event.alert_type is alert_type]
    return [(f.sent, f.expires) for f in fields if f.scope == "Public"]


def assert_no_gap(messages: list[tuple[datetime, datetime]], until: datetime) -> None:
    for (_, expires), (sent, _) in pairwise(messages):
        assert sent <= expires, (sent, expires)
    assert messages[-1][1] > until


def test_a_steady_level_5_for_8_hours_never_lapses(registry: StationRegistry,
                                                   rules: AlertRules) -> None:
    events = run(registry, rules, [0.5, 1.2, 2.1, 3.1, 4.1, 5.2, 5.3])
    river_events = [e for e in events if e.alert_type is AlertType.RIVER_LEVEL]
    renewals = [e for e in river_events if e.transition is Transition.RENEWED]
    assert len(renewals) >= 2  # 6 h messages over 8 h at level 5
    assert {(e.level, e.confirmed) for e in renewals} == {(5, True)}
    messages = public_messages(events, rules, AlertType.RIVER_LEVEL)
    assert_no_gap(messages, until=T0 + timedelta(hours=8) + LAG)
    for renewal in renewals:
        fields = profile(rules).fields(renewal)
        assert (fields.msg_type, fields.scope, fields.response_type) == (
            "Update", "Public", "Shelter")
        assert fields.instruction is not None
        assert fields.instruction.en == "Danger to life. Secure your safety now."
        document = etree.fromstring(cap_of(renewal, registry, rules))
        assert cap_schema().validate(document), cap_schema().error_log
        assert "Observed 5.30 m" in etree.tostring(document, encoding="unicode")
    assert_each_supersedes_every_earlier(by_alert(
        (e.alert_id, etree.fromstring(cap_of(e, registry, rules))) for e in events))


@pytest.mark.parametrize("others_report", [True, False], ids=["offline", "no-data"])
def test_a_gauge_silent_for_7_hours_never_lapses_nor_falls(
        registry: StationRegistry, rules: AlertRules, others_report: bool) -> None:
    # Level 5 confirmed at 50 min, then nothing from g1 (with the others: offline;
    # without: the pipeline's no-data alert) for 7 h.
    events = run(registry, rules, [0.5, 1.2, 2.1, 3.1, 4.1, 5.2, 5.3], silent_after=7,
                 others_report=others_report, minutes=60 + 7 * 60)
    river_events = [e for e in events if e.alert_type is AlertType.RIVER_LEVEL]
    assert river_events[-1].level == 5  # never lowered, never cleared by the silence
    assert not [e for e in river_events if e.transition in (
        Transition.DEESCALATED, Transition.CLEARED)]
    renewals = [e for e in river_events if e.transition is Transition.RENEWED]
    assert len(renewals) >= 2
    assert_no_gap(public_messages(events, rules, AlertType.RIVER_LEVEL),
                  until=T0 + timedelta(hours=8) + LAG)
    for renewal in renewals:
        assert renewal.detail["data_missing"] == ("offline" if others_report else "no_data")
        text = etree.tostring(etree.fromstring(cap_of(renewal, registry, rules)),
                              encoding="unicode")
        assert "観測データが届いていません（最終観測 2026-10-12 10:00 JST）" in text
        assert "No data from the gauge since 2026-10-12 10:00 JST" in text
        assert "<responseType>Shelter</responseType>" in text
    if others_report:  # staff's own offline alert is kept alive too
        offline = [e for e in events if e.alert_type is AlertType.OFFLINE]
        assert [e.transition for e in offline][:1] == [Transition.RAISED]
        assert Transition.RENEWED in {e.transition for e in offline}


def test_renewals_stop_at_the_all_clear(registry: StationRegistry,
                                        rules: AlertRules) -> None:
    # Four hours at level 3, then down to nothing for four more.
    levels = [0.5, 1.2, 2.1, 3.1, 3.2, *[3.2] * 20, 2.8, 2.4, 2.0, 1.6, 1.2, 0.8,
              *[0.5] * 24]
    events = run(registry, rules, levels)
    river_events = [e for e in events if e.alert_type is AlertType.RIVER_LEVEL]
    cleared = [n for n, e in enumerate(river_events) if e.transition is Transition.CLEARED]
    assert len(cleared) == 1
    assert any(e.transition is Transition.RENEWED for e in river_events[:cleared[0]])
    assert river_events[cleared[0]:] == [river_events[cleared[0]]]
    assert not [e for e in events if e.at > river_events[cleared[0]].at
                and e.transition is Transition.RENEWED]


def test_a_fall_back_to_the_level_residents_know_is_for_staff_only(
        registry: StationRegistry, rules: AlertRules) -> None:
    # Residents are told 3 (3.1, 3.2); 4.1 is a single reading (staff only); back at 3.
    levels = [0.5, 1.2, 2.1, 3.1, 3.2, 4.1, 3.5, 3.5, 3.5, 3.5, 3.5]
    events = run(registry, rules, levels, minutes=100)
    river_events = [e for e in events if e.alert_type is AlertType.RIVER_LEVEL]
    escalated = next(e for e in river_events if e.level == 4)
    assert not escalated.confirmed
    fall = next(e for e in river_events if e.transition is Transition.DEESCALATED)
    assert (fall.level, fall.previous_level, fall.confirmed) == (3, 4, False)
    fields = profile(rules).fields(fall)
    assert fields.scope == "Restricted"  # the public gets nothing: its level holds
    public = [e for e in river_events if profile(rules).fields(e).scope == "Public"]
    assert [(e.transition, e.level) for e in public] == [
        (Transition.CONFIRMED, 1), (Transition.CONFIRMED, 2), (Transition.CONFIRMED, 3)]
