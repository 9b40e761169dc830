"""Properties of the engine over random level series: a valid lifecycle, and duplicates
or stale readings never change the outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, note, settings
from hypothesis import strategies as st

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import STAFF_ONLY, AlertType, Event, Transition
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import REGISTRY_YAML, RULES_FILE, river

REGISTRY = StationRegistry.from_yaml_text(REGISTRY_YAML)
RULES = AlertRules.load(RULES_FILE, REGISTRY)

# A random walk of levels (metres) with occasional jumps, every 10 minutes.
steps = st.lists(st.floats(min_value=-0.6, max_value=0.6, allow_nan=False), min_size=1,
                 max_size=80)


def walk(deltas: list[float]) -> list[Reading]:
    level, readings = 0.5, []
    for index, delta in enumerate(deltas):
        level = min(6.0, max(0.0, level + delta))
        readings.append(river("g1", 10 * index, round(level, 2)))
    return readings


def run(readings: list[Reading]) -> list[Event]:
    engine = Engine(REGISTRY, RULES)
    return [e for r in readings for e in engine.on_reading(r).events if e.station == "g1"]


@settings(max_examples=150, deadline=None)
@given(steps)
def test_every_lifecycle_is_valid(deltas: list[float]) -> None:
    events = run(walk(deltas))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    open_levels: dict[AlertType, int] = {}
    told: dict[AlertType, int] = {}  # the level residents may know (confirmed_level)
    for event in events:
        current = open_levels.get(event.alert_type, 0)
        known = told.get(event.alert_type, 0)
        if event.transition is Transition.RENEWED:
            # The same level again: the alert's, or (Public) the one residents know.
            assert event.level == event.previous_level
            assert event.level == current or (event.confirmed and event.level == known > 0)
            continue
        assert event.previous_level == current
        if event.transition is Transition.RAISED:
            assert current == 0 < event.level
            assert event.alert_id == event.event_id
        elif event.transition is Transition.ESCALATED:
            assert 0 < current < event.level
        elif event.transition is Transition.DEESCALATED:
            assert 0 < event.level < current
        elif event.transition is Transition.CONFIRMED:
            assert known < event.level == current  # never confirms a level twice
        else:
            assert event.transition is Transition.CLEARED
            assert event.level == 0 < current
        if event.transition in (Transition.RAISED, Transition.ESCALATED):
            # Two readings confirm a river level; staff-only alerts need no confirmation.
            assert event.confirmed is (event.alert_type in STAFF_ONLY)
            known = event.level if event.confirmed else known
        elif event.transition is Transition.CONFIRMED:
            assert event.confirmed
            known = event.level
        else:  # a fall reaches residents only below what they knew (nothing else is news)
            assert event.confirmed is (event.level < known)
            known = min(known, event.level)
        open_levels[event.alert_type] = event.level
        told[event.alert_type] = known


@settings(max_examples=150, deadline=None)
@given(steps, st.lists(st.tuples(st.integers(min_value=0, max_value=79), st.booleans()),
                       max_size=30))
def test_duplicates_and_stale_readings_change_nothing(
        deltas: list[float], noise: list[tuple[int, bool]]) -> None:
    readings = walk(deltas)
    expected = run(readings)
    noisy: list[Reading] = []
    extra = {index: stale for index, stale in noise if index < len(readings)}
    for index, reading in enumerate(readings):
        noisy.append(reading)
        if index in extra:
            # Re-delivered as is, or an older reading arriving now with a wild value.
            old = readings[max(0, index - 1)] if extra[index] else reading
            noisy.append(Reading(old.station, old.kind, old.ts, {"level_m": 5.5}, "device",
                                 old.received_at) if extra[index] else old)
    assert run(noisy) == expected


# Two gauges with gaps of 10 minutes to 5 hours (offline alerts, silence), the engine's
# clock ticking now and then, and a wall clock that moves on by each gap and up to two
# hours more (readings stamped ever later, as a backlog's): renewals fall due on either
# clock, 3-6 h expiries every 1.5-3 h.
timeline = st.lists(st.tuples(st.sampled_from(["g1", "g2"]),
                              st.integers(min_value=10, max_value=300),
                              st.floats(min_value=-0.8, max_value=0.8, allow_nan=False),
                              st.integers(min_value=0, max_value=120), st.booleans()),
                    min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(timeline)
def test_skipping_a_station_until_its_renewals_fall_due_changes_nothing(
        inputs: list[tuple[str, int, float, int, bool]]) -> None:
    """The engine's renewal schedule (alerts.renewal.next_due) against the same engine
    looking at every open alert on every input, as it did before the schedule."""
    wall = [datetime(2026, 1, 1, tzinfo=UTC)]
    scheduled = Engine(REGISTRY, RULES, issue_clock=lambda: wall[0])
    exhaustive = Engine(REGISTRY, RULES, issue_clock=lambda: wall[0])
    exhaustive.renewals = None
    minutes, levels = 0, {"g1": 0.5, "g2": 0.5}
    renewed = 0
    for station, gap, delta, lag, tick in inputs:
        minutes += gap
        levels[station] = min(6.0, max(0.0, levels[station] + delta))
        reading = river(station, minutes, round(levels[station], 2))
        wall[0] = max(wall[0] + timedelta(minutes=gap + lag), reading.ts)
        outcomes = [engine.on_reading(reading) for engine in (scheduled, exhaustive)]
        assert outcomes[0] == outcomes[1]
        renewed += sum(e.transition is Transition.RENEWED for e in outcomes[0].events)
        if tick:
            wall[0] += timedelta(minutes=gap)
            ticks = [engine.on_clock(timedelta(minutes=gap)) for engine in
                     (scheduled, exhaustive)]
            assert ticks[0] == ticks[1]
    assert scheduled.states == exhaustive.states
    note(f"renewed events: {renewed}")
