"""Forecast warnings (alerts.forecast) through the pure engine: exact event sequences from
readings and the forecasts issued on them, every gate, the hand-over to the level alert
and the public policy (the offline hold: test_forecast_warning_offline.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import HANDOVER_RULE, AlertType, Event, Transition
from floodwatch.alerts.render import event_message, status_payload
from floodwatch.alerts.rules import AlertRules, RulesError
from floodwatch.core import bus
from floodwatch.core.readings import format_ts
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import RULES_FILE, at, restart, river, rules_with
from tests.alerts.forecasts import forecast, quiet_others, run, told, warnings
from tests.cap_support import cap_fields, cap_of
from tests.support import REPO_ROOT


def test_raised_confirmed_updated_then_handed_over_to_the_level_alert(
        engine: Engine, registry: StationRegistry, rules: AlertRules) -> None:
    events, ignored = run(engine, [
        (0, 2.5, 0.6),  # danger (4.0) at +150 min, evacuation at +50: warn of danger
        (10, 2.6, 0.6),  # +140: agrees (confirmed), moved 10 min: no news
        (20, 2.7, 1.2),  # +65: moved 75 min from the time told: updated
        (30, 2.9, 1.2),  # +55, i.e. the same moment as told: nothing
        (40, 3.1, 1.2),  # the level alert reaches evacuation: danger still expected
        (50, 3.4, 1.2), (60, 3.7, 1.2),
        (70, 4.05, 1.2),  # danger reached: the level alert takes over
    ])
    assert ignored == [None] * 8
    assert told(events) == [("raised", 4, 150.0), ("confirmed", 4, 140.0),
                            ("updated", 4, 65.0), ("cleared", 0, None)]
    assert [e.at for e in events] == [at(0), at(10), at(20), at(70)]
    raised, _, updated, cleared = events
    assert raised.detail == {"expected_at": format_ts(at(150)), "minutes": 150.0,
                             "bound": "median", "issued_at": format_ts(at(0)),
                             "method": "model", "level_m": 2.5, "threshold_m": 4.0}
    assert updated.detail["expected_at"] == format_ts(at(85))
    assert updated.previous_level == updated.level == 4
    river_alert = engine.states["g1"].alerts[AlertType.RIVER_LEVEL]
    assert river_alert.level == 4
    assert cleared.rule == HANDOVER_RULE
    assert cleared.handed_over
    assert cleared.previous_level == 4
    assert cleared.detail["handed_over_to"] == river_alert.alert_id
    assert {e.alert_id for e in events} == {raised.event_id}
    # Officers only (forecast.public is off): never a message for residents.
    assert [e.confirmed for e in events] == [False, True, True, True]
    assert not any(e.public for e in events)
    station = registry.get("g1")
    assert station is not None
    raised_text = event_message(raised, station, rules.labels).headline
    assert raised_text.en == ("Gauge one: expected to reach Flood danger level at 11:30 "
                              "(in 150 min, raised)")
    assert raised_text.ja == "第一: 11:30頃に氾濫危険水位に到達する見込み（約150分後、発表）"
    # The hand-over reads as the level reached, never as an all-clear.
    handed = event_message(cleared, station, rules.labels).headline
    assert handed.en == "Gauge one: Flood danger level reached: the river level alert takes over"
    assert "all clear" not in handed.en
    assert "解除" not in handed.ja
    fields = cap_fields(cleared, rules)
    assert (fields.response_type, fields.scope) == ("Prepare", "Restricted")
    assert engine.states["g1"].alerts.get(AlertType.FORECAST) is None


def test_cleared_after_the_hold_when_the_forecast_no_longer_crosses(engine: Engine) -> None:
    events, _ = run(engine, [
        (0, 2.5, 0.3),  # evacuation (3.0) at +100 min; danger beyond 3 h
        (10, 2.55, 0.3),
        (20, 2.55, 0.0),  # no longer crosses: the hold starts
        (30, 2.55, 0.3),  # crosses again: a wobble, the hold starts over
        (40, 2.55, 0.0), (50, 2.55, 0.0), (60, 2.55, 0.0),
        (70, 2.55, 0.0),  # 30 min of forecasts below the deadband since 40
    ])
    assert told(events) == [("raised", 3, 100.0), ("confirmed", 3, 90.0),
                            ("cleared", 0, None)]
    cleared = events[-1]
    assert cleared.at == at(70)
    assert cleared.rule == "forecast"
    assert not cleared.handed_over
    # The level is no longer expected: never worded or coded as an all-clear (the river
    # may still be high, its level alert open).
    assert cap_fields(cleared, engine.rules).response_type == "Monitor"
    station = engine.registry.get("g1")
    assert station is not None
    text = event_message(cleared, station, engine.rules.labels).headline
    assert text.en == "Gauge one: Evacuation judgement level is no longer expected"
    assert text.ja == "第一: 避難判断水位への到達見込みはなくなりました（見込み解消）"
    cap = cap_of(cleared, engine.registry, engine.rules).decode()
    for all_clear in ("AllClear", "all clear", "解除"):
        assert all_clear not in cap


def test_lowered_when_only_a_lower_level_is_still_expected(engine: Engine) -> None:
    events, _ = run(engine, [
        (0, 2.5, 0.6), (10, 2.6, 0.6),
        (20, 2.7, 0.3),  # evacuation at +60, danger not within 3 h: the hold starts
        (30, 2.8, 0.3), (40, 2.8, 0.3), (50, 2.8, 0.3),
    ])
    assert told(events) == [("raised", 4, 150.0), ("confirmed", 4, 140.0),
                            ("deescalated", 3, 40.0)]
    assert events[-1].at == at(50)


def test_the_median_or_the_band_s_lower_bound_by_rule(registry: StationRegistry,
                                                      engine: Engine) -> None:
    steps = [(0, 2.5, 0.6)]
    # The median (the default) reaches danger at +150 min, the lower bound (0.4 m/h)
    # only at +225.
    median, _ = run(engine, steps, band_m_per_h=0.2)
    assert told(median) == [("raised", 4, 150.0)]
    assert median[0].detail["bound"] == "median"
    low_rules = rules_with(registry, "stations: {g1: {forecast: {bound: low}}}")
    low, _ = run(Engine(registry, low_rules), steps, band_m_per_h=0.2)
    assert told(low) == [("raised", 3, 75.0)]
    assert low[0].detail["bound"] == "low"


# Readings at -20 and -10 min before the trend forecast at 0: the rate window spans
# 20 min, the rules' trend_min_span_s (1200 s).
SPANNED = [(-20.0, 2.5, 0.0), (-10.0, 2.5, 0.0)]


def test_a_trend_forecast_warns_only_within_the_trend_horizon(
        registry: StationRegistry, rules: AlertRules) -> None:
    # Evacuation at +50 min, danger at +150: by the trend, only the first is within 1 h.
    trend, _ = run(Engine(registry, rules), [*SPANNED, (0, 2.5, 0.6)], method="trend")
    assert told(trend) == [("raised", 3, 50.0)]
    assert trend[0].detail["method"] == "trend"
    # At +120 min: the model's forecast warns, the trend's does not.
    assert told(run(Engine(registry, rules), [(0, 2.5, 0.25)])[0]) == [("raised", 3, 120.0)]
    assert run(Engine(registry, rules), [*SPANNED, (0, 2.5, 0.25)], method="trend")[0] == []


def test_a_trend_forecast_warns_only_from_a_trend_of_twenty_minutes(
        registry: StationRegistry, rules: AlertRules) -> None:
    """The message does not say over what span the stage fitted its trend: the engine's
    own rate window of the station does. Shorter than ``trend_min_span_s`` (1200 s): the
    forecast is gated (``short_trend``) -- a model forecast is not."""
    engine = Engine(registry, rules)
    events, ignored = run(engine, [(0, 2.5, 0.6), (10, 2.55, 0.6), (20, 2.6, 0.6)],
                          method="trend")
    assert ignored == ["short_trend", "short_trend", None]
    assert told(events) == [("raised", 3, 40.0)]
    assert events[0].at == at(20)
    model, ignored = run(Engine(registry, rules), [(0, 2.5, 0.6)])
    assert (told(model), ignored) == ([("raised", 4, 150.0)], [None])
    # A gauge back from offline starts a new window: its open warning is held (the
    # short trend moves nothing, and its hold timer starts again), never lowered by it.
    quiet_others(engine, 20, 110)
    assert AlertType.OFFLINE in engine.states["g1"].alerts
    back, ignored = run(engine, [(120, 2.6, 0.0), (130, 2.6, 0.0)], method="trend")
    assert ignored == ["short_trend", "short_trend"]
    assert back == []
    assert engine.states["g1"].alerts[AlertType.FORECAST].below_since is None
    longer = rules_with(registry, "stations: {g1: {forecast: {trend_min_span_s: 2400}}}")
    assert run(Engine(registry, longer), [*SPANNED, (0, 2.5, 0.6)],
               method="trend")[1] == ["short_trend"] * 3


def test_trend_min_span_s_must_fit_the_rate_window(registry: StationRegistry) -> None:
    with pytest.raises(RulesError, match=r"forecast\.trend_min_span_s must not exceed "
                                         r"rate_of_rise\.window_s"):
        rules_with(registry, "stations: {g1: {forecast: {trend_min_span_s: 7200}}}")


def test_levels_beyond_their_horizon_or_not_listed_are_not_warned_of(
        registry: StationRegistry) -> None:
    short = rules_with(registry, "stations: {g1: {forecast: {horizon_s: {3: 3600, 4: 3600}}}}")
    events, _ = run(Engine(registry, short), [(0, 2.5, 0.6)])
    assert told(events) == [("raised", 3, 50.0)]  # danger at +150 is beyond 1 h
    only_danger = rules_with(registry, "stations: {g1: {forecast: {horizon_s: {3: 0.001}}}}")
    events, _ = run(Engine(registry, only_danger), [(0, 2.5, 0.6)])
    assert told(events) == [("raised", 4, 150.0)]


def test_stale_ahead_duplicate_and_mismatched_forecasts_are_ignored(engine: Engine) -> None:
    engine.on_reading(river("g1", 0, 2.5))
    engine.on_reading(river("g1", 10, 2.6))
    stale = engine.on_forecast(forecast("g1", 0, 2.5, 1.2))
    assert (stale.ignored, stale.events) == ("stale", [])
    ahead = engine.on_forecast(forecast("g1", 20, 2.7, 1.2))
    assert (ahead.ignored, ahead.events) == ("ahead", [])
    other = engine.on_forecast(forecast("g1", 10, 2.9, 1.2))
    assert (other.ignored, other.events) == ("mismatch", [])
    used = engine.on_forecast(forecast("g1", 10, 2.6, 1.2))
    assert used.ignored is None
    assert [e.transition for e in warnings(used.events)] == [Transition.RAISED]
    # A retained forecast delivered again (a reconnect, a restart) confirms nothing.
    again = engine.on_forecast(forecast("g1", 10, 2.6, 1.2))
    assert (again.ignored, again.events) == ("duplicate", [])
    assert not engine.states["g1"].alerts[AlertType.FORECAST].confirmed
    unknown = engine.on_forecast(forecast("u1", 10, 2.6, 1.2))
    assert unknown.ignored == "unknown_station"


def test_a_forecast_of_a_flagged_reading_or_while_data_are_doubtful_is_ignored(
        engine: Engine) -> None:
    events, ignored = run(engine, [(0, 2.5, 0.6), (10, 2.6, 0.6)])
    assert told(events) == [("raised", 4, 150.0), ("confirmed", 4, 140.0)]
    engine.on_reading(river("g1", 20, 9.0))  # a jump no river makes: flagged
    flagged = engine.on_forecast(forecast("g1", 20, 9.0, 0.0))
    assert (flagged.ignored, flagged.events) == ("flagged", [])
    # The next reading is good again, but the data-quality alert is still open.
    later, ignored = run(engine, [(30, 2.7, 0.0), (40, 2.75, 0.0)])
    assert ignored == ["data_quality", "data_quality"]
    assert later == []
    assert AlertType.FORECAST in engine.states["g1"].alerts


def test_public_policy_off_by_default_on_by_rule(registry: StationRegistry,
                                                 engine: Engine) -> None:
    steps = [(0, 2.5, 0.6), (10, 2.6, 0.6)]
    staff, _ = run(engine, steps)
    assert [(e.confirmed, e.public, e.restricted) for e in staff] == [
        (False, False, True), (True, False, True)]
    assert cap_fields(staff[1], engine.rules).scope == "Restricted"
    station = registry.get("g1")
    assert station is not None
    status = bus.StatusMessage.model_validate_json(status_payload(
        engine.states["g1"], station, engine.rules.labels))
    [warning] = [a for a in status.alerts if a.alert_type == "forecast"]
    assert (warning.confirmed, warning.public) == (False, None)  # residents never told
    public_rules = rules_with(registry, "stations: {g1: {forecast: {public: true}}}")
    told_public, _ = run(Engine(registry, public_rules), steps)
    assert [(e.confirmed, e.public, e.restricted) for e in told_public] == [
        (False, False, False), (True, True, False)]
    fields = cap_fields(told_public[1], public_rules)
    assert (fields.scope, fields.msg_type) == ("Public", "Alert")


def test_the_forecast_memory_and_policy_survive_a_restart(engine: Engine,
                                                          tmp_path: Path) -> None:
    run(engine, [(0, 2.5, 0.6)])
    restarted = restart(engine, tmp_path)
    assert restarted.states["g1"].forecast is not None
    assert restarted.states["g1"].alerts[AlertType.FORECAST].restricted
    # The retained forecast arrives again at start: no second agreeing forecast.
    assert restarted.on_forecast(forecast("g1", 0, 2.5, 0.6)).ignored == "duplicate"
    events, _ = run(restarted, [(10, 2.6, 0.6)])
    assert told(events) == [("confirmed", 4, 140.0)]
    assert events[0].restricted


def test_the_worked_example_of_the_docs() -> None:
    """docs/alerts.md, "Forecast warnings": motomiya (evacuation 5.30, danger 5.80 m)."""
    samples = StationRegistry.load(REPO_ROOT / "config" / "stations.yaml")
    engine = Engine(samples, AlertRules.load(RULES_FILE, samples))
    events: list[Event] = []
    river_events: list[Event] = []
    for minutes, level, rate in [(0, 5.00, 0.6), (10, 5.10, 0.6), (20, 5.20, 1.2),
                                 (30, 5.35, 1.2), (40, 5.55, 1.2), (50, 5.85, 1.2)]:
        outcome = engine.on_reading(river("motomiya", minutes, level))
        river_events += [e for e in outcome.events if e.alert_type is AlertType.RIVER_LEVEL]
        events += outcome.events
        events += engine.on_forecast(forecast("motomiya", minutes, level, rate,
                                              band_m_per_h=0.1)).events
    assert [(e.at, e.transition.value, e.level, e.detail.get("expected_at"),
             e.detail.get("minutes")) for e in warnings(events)] == [
        (at(0), "raised", 4, format_ts(at(80)), 80.0),
        (at(10), "confirmed", 4, format_ts(at(80)), 70.0),
        (at(20), "updated", 4, format_ts(at(50)), 30.0),
        (at(50), "cleared", 0, None, None)]
    assert [(e.at, e.transition.value, e.level) for e in river_events] == [
        (at(0), "raised", 2), (at(10), "confirmed", 2), (at(30), "escalated", 3),
        (at(40), "confirmed", 3), (at(50), "escalated", 4)]
    assert warnings(events)[-1].handed_over
    assert not any(e.public for e in warnings(events))
