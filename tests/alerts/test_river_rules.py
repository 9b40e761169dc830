"""The river state machine, as exact event sequences from readings on their own clock."""

from __future__ import annotations

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import AlertType, Event
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import at, feed, river, rules_with, series, summary


def of_type(events: list[Event], alert_type: AlertType) -> list[Event]:
    return [event for event in events if event.alert_type is alert_type]


def test_levels_up_then_down_with_deadband_and_hold(engine: Engine) -> None:
    levels = [0.5, 1.2, 2.1, 3.1, 2.95, 2.5, 2.5, 2.5, 2.5, 1.7, 0.9, 0.5, 0.5]
    events = of_type(feed(engine, series("g1", levels), only="g1"), AlertType.RIVER_LEVEL)
    assert summary(events) == [
        ("g1", "river_level", "raised", 1),
        # Each reading confirms the level it finds (for residents) before escalating.
        ("g1", "river_level", "confirmed", 1),
        ("g1", "river_level", "escalated", 2),
        ("g1", "river_level", "confirmed", 2),
        ("g1", "river_level", "escalated", 3),  # 2.95 disagrees: 3 is never confirmed
        ("g1", "river_level", "deescalated", 2),  # 30 min after first below 2.9
        ("g1", "river_level", "cleared", 0),  # 30 min after first below 1.9 -> all clear
    ]
    assert [e.at for e in events] == [at(10), at(20), at(20), at(30), at(30), at(80),
                                      at(120)]
    # The fall back to 2 is no news to residents, told 2 and never 3: for staff only.
    assert [e.confirmed for e in events] == [False, True, False, True, False, False, True]
    assert {e.alert_id for e in events} == {events[0].event_id}
    assert events[4].detail["threshold_m"] == 3.0
    assert events[4].cause.values == {"level_m": 3.1}
    assert events[3].detail["threshold_m"] == 2.0  # a confirmation names its own level
    # Numbered per station, strictly increasing, including the rate-of-rise events.
    seqs = [e.seq for e in feed(Engine(engine.registry, engine.rules),
                                series("g1", levels), only="g1", renewals=True)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_wobbling_around_a_threshold_raises_once(engine: Engine) -> None:
    levels = [1.95, 2.02, 1.97, 2.05, 1.93, 2.01, 1.96, 2.04, 1.92, 2.03, 1.98] * 3
    events = feed(engine, series("g1", levels), only="g1")
    assert summary(events) == [("g1", "river_level", "raised", 1),
                               ("g1", "river_level", "confirmed", 1),
                               ("g1", "river_level", "escalated", 2)]


def test_a_short_dip_resets_the_hold_timer(engine: Engine) -> None:
    levels = [2.5, 1.5, 1.5, 2.0, 1.5, 1.5, 1.5, 1.5]
    events = feed(engine, series("g1", levels), only="g1")
    assert summary(of_type(events, AlertType.RIVER_LEVEL)) == [
        ("g1", "river_level", "raised", 2), ("g1", "river_level", "deescalated", 1)]
    assert of_type(events, AlertType.RIVER_LEVEL)[1].at == at(70)  # 40, +30 min of hold


def test_direct_jump_and_overtopping_flooding_level(engine: Engine) -> None:
    # Half an hour apart: jumps a 10-minute gauge could not make in one interval.
    events = feed(engine, series("g1", [0.9, 2.1, 3.5, 5.0], step_min=30), only="g1")
    assert summary(of_type(events, AlertType.RIVER_LEVEL)) == [
        ("g1", "river_level", "raised", 2), ("g1", "river_level", "confirmed", 2),
        ("g1", "river_level", "escalated", 3), ("g1", "river_level", "confirmed", 3),
        ("g1", "river_level", "escalated", 5)]


def test_rate_of_rise_and_projection(engine: Engine) -> None:
    levels = [1.5, 1.6, 1.7, 1.8, 1.9, 2.0]
    events = feed(engine, series("g1", levels), only="g1")
    assert summary(events) == [("g1", "river_level", "raised", 1),
                               ("g1", "river_level", "confirmed", 1),
                               ("g1", "rate_of_rise", "raised", 1),
                               ("g1", "rate_of_rise", "confirmed", 1),
                               ("g1", "river_level", "escalated", 2)]
    rate = events[2]
    assert rate.at == at(20)
    assert rate.detail["rate_m_per_h"] == 0.6
    assert rate.projection is not None
    assert (rate.projection.level, rate.projection.minutes) == (2, 30)
    escalation = events[4].projection
    assert escalation is not None
    assert (escalation.level, escalation.minutes, escalation.rate_m_per_h) == (3, 100, 0.6)
    assert events[0].projection is None  # no rate yet from one reading


def test_rate_of_rise_clears_after_hold_when_the_rise_stops(engine: Engine) -> None:
    levels = [1.5, 1.6, 1.7, 1.8] + [1.8] * 12
    events = of_type(feed(engine, series("g1", levels), only="g1"), AlertType.RATE_OF_RISE)
    assert summary(events) == [("g1", "rate_of_rise", "raised", 1),
                               ("g1", "rate_of_rise", "confirmed", 1),
                               ("g1", "rate_of_rise", "cleared", 0)]
    # The rate over the window drops below 0.4 m/h at 50 min; cleared 30 min later.
    assert events[2].at == at(80)


def test_offline_raised_at_due_time_and_cleared_on_report(engine: Engine) -> None:
    # g2 falls silent after 00:20, long after u1 (never heard): two gauges failing at
    # different times, each offline on its own (not "most stations silent at once").
    readings = [river(g, minute, 0.5) for minute in (0, 10, 20) for g in ("g1", "g2")]
    readings += [river("g1", minute, 0.5) for minute in range(30, 90, 10)]
    readings.append(river("g2", 90, 0.5))
    events = [e for e in feed(engine, readings) if e.alert_type is AlertType.OFFLINE]
    assert [(*s, e.at) for s, e in zip(summary(events), events, strict=True)] == [
        ("u1", "offline", "raised", 1, at(15)),  # never reported: 3 x 300 s from start
        ("g2", "offline", "raised", 1, at(50)),
        ("g2", "offline", "cleared", 0, at(90)),
    ]
    assert events[1].cause.kind == "clock"
    assert events[1].detail["silent_s"] == 1800.0


def test_backfill_after_an_outage_clears_once(engine: Engine) -> None:
    readings = [river(g, minute, 0.5) for minute in (0, 10, 20) for g in ("g1", "g2")]
    readings += [river("g1", minute, 0.5) for minute in range(30, 130, 10)]
    # g2's logged readings arrive late, in one burst, after g1's 120-minute reading.
    readings += [river("g2", minute, 0.5) for minute in range(30, 130, 10)]
    events = [e for e in feed(engine, readings, only="g2")]
    assert summary(events) == [("g2", "offline", "raised", 1), ("g2", "offline", "cleared", 0)]


def test_quality_step_excluded_and_alerted(engine: Engine) -> None:
    events = feed(engine, series("g1", [1.2, 1.25, 4.9, 1.3, 1.3, 1.32]), only="g1")
    assert summary(events) == [("g1", "river_level", "raised", 1),
                               ("g1", "river_level", "confirmed", 1),
                               ("g1", "data_quality", "raised", 1),
                               ("g1", "data_quality", "cleared", 0)]
    assert events[2].rule == "data_quality.max_step"
    assert events[2].detail == {"field": "level_m", "value": 4.9, "reason": "max_step"}


def test_a_jump_continued_by_moving_readings_is_a_real_step(engine: Engine) -> None:
    events = feed(engine, series("g1", [1.2, 4.9, 4.95, 5.02]), only="g1")
    assert summary(of_type(events, AlertType.RIVER_LEVEL)) == [
        ("g1", "river_level", "raised", 1), ("g1", "river_level", "confirmed", 1),
        ("g1", "river_level", "escalated", 5)]
    assert of_type(events, AlertType.RIVER_LEVEL)[-1].at == at(30)  # quality step_readings: 2


def test_out_of_range_excluded(engine: Engine) -> None:
    events = feed(engine, series("g1", [1.2, 45.0]), only="g1")
    assert summary(events) == [("g1", "river_level", "raised", 1),
                               ("g1", "data_quality", "raised", 1)]
    assert events[1].rule == "data_quality.out_of_range"


def test_flatline_excluded(registry: StationRegistry) -> None:
    rules = rules_with(registry, "stations: {g1: {quality: {level_m: "
                                 "{min: -5, max: 40, flatline_s: 1800}}}}")
    engine = Engine(registry, rules)
    events = feed(engine, series("g1", [2.5, 2.5, 2.5, 2.5, 2.5, 1.2, 1.3, 1.4]),
                  only="g1")
    assert summary(events) == [("g1", "river_level", "raised", 2),
                               ("g1", "river_level", "confirmed", 2),
                               ("g1", "data_quality", "raised", 1),
                               ("g1", "data_quality", "cleared", 0)]
    assert events[2].rule == "data_quality.flatline"
    assert events[2].at == at(30)


def test_duplicates_and_out_of_order_readings_change_nothing(engine: Engine) -> None:
    first = engine.on_reading(river("g1", 10, 1.2))
    assert summary(first.events) == [("g1", "river_level", "raised", 1)]
    state = engine.states["g1"]
    duplicate = engine.on_reading(river("g1", 10, 2.5))
    late = engine.on_reading(river("g1", 5, 3.5))
    assert (duplicate.ignored, duplicate.events, duplicate.states) == ("duplicate", [], [])
    assert (late.ignored, late.events, late.states) == ("late", [], [])
    assert engine.states["g1"] == state


def test_confirm_readings(registry: StationRegistry) -> None:
    rules: AlertRules = rules_with(registry, "stations: {g1: {level: {confirm_readings: 2}}}")
    engine = Engine(registry, rules)
    events = of_type(feed(engine, series("g1", [0.5, 1.5, 0.5, 1.5, 1.6]), only="g1"),
                     AlertType.RIVER_LEVEL)
    assert summary(events) == [("g1", "river_level", "raised", 1)]
    assert events[0].at == at(40)
