"""The projection's rate is fitted from the rise itself (alerts.trend): right when the
rate-of-rise alert fires on a rise that starts after a flat hour, and once the rate
window holds only the rise. Run with ``-s`` to see the errors measured."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import pytest

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import AlertType, Event, Transition
from floodwatch.alerts.render import event_payload
from floodwatch.alerts.river import rate_window
from floodwatch.alerts.rules import AlertRules, RateRule
from floodwatch.alerts.trend import fit_trend
from floodwatch.core.readings import Reading, format_ts
from floodwatch.core.registry import StationKind, StationRegistry
from tests.alerts.conftest import T0, at

RULE = RateRule()  # the shipped defaults: 1-hour window, min_span_s 20 min
G1_LEVELS_M = {1: 1.0, 2: 2.0, 3: 3.0, 4: 4.0, 5: 5.0}  # tests/alerts/conftest.py
INTERVAL = timedelta(minutes=10)  # g1's interval_s
NOISE_M = 0.02  # uniform, +-2 cm
FLAT_H = 2
# Flat at 0 m, a whole metre below g1's standby level: the alert fires while the next
# level is still 30-50 min away. Close under a level, +-2 cm on the current reading
# alone would be more than 10 % of the distance left, whatever the rate.
FLAT_M = 0.0
SEEDS = range(12)

Window = tuple[tuple[datetime, float], ...]


def noisy_rise(rate_m_per_h: float, seed: int) -> tuple[list[Reading], datetime]:
    """g1 flat for FLAT_H hours, then rising steadily past its flooding level; the rise
    starts between two readings (seeded), as real ones do."""
    rng = random.Random(seed)
    start = at(FLAT_H * 60 + rng.uniform(0, 10))
    readings, moment = [], T0
    while True:
        level = true_level(rate_m_per_h, start, moment)
        value = round(level + rng.uniform(-NOISE_M, NOISE_M), 4)
        readings.append(Reading("g1", StationKind.RIVER, moment, {"level_m": value},
                                "device", moment))
        if level > G1_LEVELS_M[5] + 0.2:
            return readings, start
        moment += INTERVAL


def true_level(rate_m_per_h: float, start: datetime, moment: datetime) -> float:
    return FLAT_M + rate_m_per_h * max(0.0, (moment - start).total_seconds()) / 3600


def error(event: Event, rate_m_per_h: float, start: datetime) -> float:
    """Relative error of the projected minutes against the true time to that level."""
    projection = event.projection
    assert projection is not None
    left_m = G1_LEVELS_M[projection.level] - true_level(rate_m_per_h, start, event.at)
    truth_min = left_m / rate_m_per_h * 60
    return projection.minutes / truth_min - 1


def g1_events(engine: Engine, readings: list[Reading]) -> list[Event]:
    return [e for r in readings for e in engine.on_reading(r).events if e.station == "g1"]


@pytest.mark.parametrize("rate_m_per_h", [0.6, 1.0])
def test_projection_minutes_match_the_true_time_to_the_next_level(
        registry: StationRegistry, rules: AlertRules, rate_m_per_h: float) -> None:
    at_alert: list[float] = []
    window_full: list[float] = []
    methods: list[str] = []
    for seed in SEEDS:
        readings, start = noisy_rise(rate_m_per_h, seed)
        events = g1_events(Engine(registry, rules), readings)
        raised = [e for e in events if e.alert_type is AlertType.RATE_OF_RISE
                  and e.transition is Transition.RAISED]
        assert len(raised) == 1
        assert raised[0].at > start  # the flat hours never raise it
        assert raised[0].projection is not None
        at_alert.append(error(raised[0], rate_m_per_h, start))
        methods.append(raised[0].projection.basis.method)
        escalations = [e for e in events if e.alert_type is AlertType.RIVER_LEVEL
                       and e.transition is Transition.ESCALATED and e.projection is not None
                       and e.at - timedelta(seconds=RULE.window_s) >= start]
        assert len(escalations) >= 3  # levels 2, 3 and 4 at least
        window_full += [error(e, rate_m_per_h, start) for e in escalations]
    print(f"\n{rate_m_per_h} m/h, {len(SEEDS)} seeds: at the alert max "
          f"{max(map(abs, at_alert)):.1%} (mean {sum(at_alert) / len(at_alert):+.1%}, "
          f"{methods.count('least_squares_since_change')} fits since the change); "
          f"window full max {max(map(abs, window_full)):.1%} over {len(window_full)} events")
    assert max(map(abs, at_alert)) <= 0.20
    assert max(map(abs, window_full)) <= 0.10


def test_the_alert_rate_still_lags_so_the_projection_has_its_own(
        registry: StationRegistry, rules: AlertRules) -> None:
    """The alert keeps its oldest-to-newest rate (steady on a noisy plateau); the event
    says both: the alert's in ``detail``, the fitted one in the projection."""
    readings, _ = noisy_rise(1.0, seed=0)
    events = g1_events(Engine(registry, rules), readings)
    raised = next(e for e in events if e.alert_type is AlertType.RATE_OF_RISE)
    assert raised.projection is not None
    alert_rate = raised.detail["rate_m_per_h"]
    assert isinstance(alert_rate, float)
    assert alert_rate < 0.8 < raised.projection.rate_m_per_h < 1.2
    assert raised.projection.basis.method == "least_squares_since_change"


def test_the_event_json_carries_the_rate_and_its_basis(
        registry: StationRegistry, rules: AlertRules) -> None:
    readings, start = noisy_rise(1.0, seed=3)
    engine = Engine(registry, rules)
    raised = next(e for e in g1_events(engine, readings)
                  if e.alert_type is AlertType.RATE_OF_RISE)
    station = registry.get("g1")
    assert station is not None
    document = json.loads(event_payload(raised, station, rules.labels))
    projection = raised.projection
    assert projection is not None
    basis = projection.basis
    assert document["projection"]["rate_m_per_h"] == projection.rate_m_per_h
    assert document["projection"]["basis"] == {
        "method": basis.method, "readings": basis.readings, "since": format_ts(basis.since),
        "span_s": (raised.at - basis.since).total_seconds()}
    # The fit starts with the rise: at most one reading before it began.
    assert start - INTERVAL < basis.since < raised.at
    assert basis.readings == (raised.at - basis.since) // INTERVAL + 1


def line(levels: list[float], step: timedelta = INTERVAL) -> Window:
    return tuple((T0 + index * step, level) for index, level in enumerate(levels))


def test_a_flat_then_rising_window_is_fitted_since_the_change() -> None:
    window = line([1.0] * 4 + [1.0 + 0.1 * step for step in range(1, 4)])
    trend = fit_trend(window, RULE)
    assert trend is not None
    assert trend.rate_m_per_h == pytest.approx(0.6)
    assert trend.basis.method == "least_squares_since_change"
    # The last flat reading lies on both lines; the longer fit is kept.
    assert (trend.basis.since, trend.basis.readings, trend.basis.span_s) == (
        window[3][0], 4, 1800.0)


def test_a_straight_window_is_fitted_whole() -> None:
    window = line([1.0 + 0.1 * step for step in range(7)])
    trend = fit_trend(window, RULE)
    assert trend is not None
    assert trend.rate_m_per_h == pytest.approx(0.6)
    assert (trend.basis.method, trend.basis.readings, trend.basis.since) == (
        "least_squares_window", 7, window[0][0])


def test_a_window_shorter_than_min_span_has_no_trend() -> None:
    assert fit_trend(line([1.0, 1.2]), RULE) is None
    assert fit_trend(line([1.0]), RULE) is None


def test_noise_on_a_plateau_is_not_taken_for_a_rise() -> None:
    """+-3 cm on a flat river: no change of rate is believed, and the rate stays far
    below anything that would project a level within the 6-hour horizon of a metre."""
    rng = random.Random(7)
    window: Window = ()
    rates, methods = [], set()
    for index in range(600):
        moment = T0 + index * INTERVAL
        window = rate_window(window, moment, 1.5 + rng.uniform(-0.03, 0.03), RULE)
        trend = fit_trend(window, RULE)
        if trend is not None:
            rates.append(abs(trend.rate_m_per_h))
            methods.add(trend.basis.method)
    print(f"\nplateau +-3 cm, {len(rates)} windows: |rate| max {max(rates):.3f} m/h")
    assert max(rates) < 0.15
    assert methods == {"least_squares_window"}


def test_a_gauge_reporting_every_second_finds_the_rise_in_its_thinned_window() -> None:
    window: Window = ()
    start_s = 2400  # 40 min flat, then 0.9 m/h
    for second in range(start_s + 1800 + 1):
        level = 2.0 + 0.9 * max(0, second - start_s) / 3600
        window = rate_window(window, T0 + timedelta(seconds=second), level, RULE)
    trend = fit_trend(window, RULE)
    assert trend is not None
    assert trend.rate_m_per_h == pytest.approx(0.9, rel=0.01)
    assert trend.basis.method == "least_squares_since_change"
    # The thinned window keeps a point every 30 s: the fit starts within one of them.
    assert abs((trend.basis.since - T0).total_seconds() - start_s) <= 30


def test_the_worked_example_of_docs_alerts_md(registry: StationRegistry,
                                              rules: AlertRules) -> None:
    levels = [2.06, 2.04, 2.05, 2.07, 2.04, 2.06, 2.05, 2.19, 2.38, 2.55, 2.71, 2.89, 3.05]
    readings = [Reading("g1", StationKind.RIVER, at(10 * index), {"level_m": level},
                        "device", at(10 * index)) for index, level in enumerate(levels)]
    events = g1_events(Engine(registry, rules), readings)
    raised = next(e for e in events if e.alert_type is AlertType.RATE_OF_RISE)
    assert (raised.at, raised.detail["rate_m_per_h"]) == (at(100), 0.67)
    assert raised.projection is not None
    assert (raised.projection.level, raised.projection.minutes,
            raised.projection.rate_m_per_h) == (3, 17, 1.038)
    assert raised.projection.basis.model_dump() == {
        "method": "least_squares_since_change", "readings": 4, "since": at(70),
        "span_s": 1800.0}
    escalated = next(e for e in events if e.alert_type is AlertType.RIVER_LEVEL
                     and e.transition is Transition.ESCALATED)
    assert (escalated.at, escalated.level) == (at(120), 3)
    assert escalated.projection is not None
    assert (escalated.projection.minutes, escalated.projection.rate_m_per_h,
            escalated.projection.basis.method, escalated.projection.basis.readings) == (
        57, 1.014, "least_squares_window", 7)
