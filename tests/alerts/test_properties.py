"""Properties of the engine over random level series: a valid lifecycle, and duplicates
or stale readings never change the outcome."""

from __future__ import annotations

from hypothesis import given, settings
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
