"""A property of the data-quality checks in the engine: on any smooth river, one glitch
of 1.5 m or more is the only value flagged, and changes no river_level or rate_of_rise
event -- they are exactly those of the same series without that reading."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import AlertType, Transition
from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import REGISTRY_YAML, river, rules_with

REGISTRY = StationRegistry.from_yaml_text(REGISTRY_YAML)
# Hold times 0: a flagged reading stops the hold timers (the only effect a missing
# reading does not have), so with holds this property would compare their timing too
# (tests/alerts/test_quality.py checks that part).
RULES = rules_with(REGISTRY, "stations: {g1: {level: {hold_s: 0}, rate_of_rise: {hold_s: 0}}}")
LEVEL_TYPES = (AlertType.RIVER_LEVEL, AlertType.RATE_OF_RISE)

# A smooth river every 10 minutes (up to 5 h, less than the 6 h flat-line check): its
# rate changes by at most 5 cm per reading and stays within 1.8 m/h either way.
smooth = st.tuples(
    st.floats(min_value=0.5, max_value=4.5),
    st.lists(st.floats(min_value=-0.05, max_value=0.05), min_size=12, max_size=30),
)
glitches = st.tuples(st.floats(min_value=0.0, max_value=1.0),
                     st.floats(min_value=1.5, max_value=4.0), st.booleans())


def levels_of(start: float, changes: list[float]) -> list[float]:
    level, rate, levels = start, 0.0, []
    for change in changes:
        rate = min(0.3, max(-0.3, rate + change))
        level = min(6.0, max(0.2, level + rate))
        levels.append(round(level, 2))
    return levels


def level_events(readings: list[Reading]) -> tuple[list[tuple[str, str, int, str]], list[str]]:
    """g1's river_level / rate_of_rise events (type, transition, level, time), and the
    times of the values flagged."""
    engine = Engine(REGISTRY, RULES)
    events, flagged = [], []
    for reading in readings:
        outcome = engine.on_reading(reading)
        events += [(e.alert_type.value, e.transition.value, e.level, e.at.isoformat())
                   for e in outcome.events if e.station == "g1" and e.alert_type in LEVEL_TYPES
                   # A renewal's moment follows the messages', not the river's.
                   and e.transition is not Transition.RENEWED]
        flagged += [flag.at.isoformat() for flag in outcome.flags]
    return events, flagged


@settings(max_examples=200, deadline=None)
@given(smooth, glitches)
def test_one_glitch_on_a_smooth_river_changes_no_level_event(
        river_shape: tuple[float, list[float]], glitch: tuple[float, float, bool]) -> None:
    levels = levels_of(*river_shape)
    where, size, upwards = glitch
    # After at least five readings, and before the last: the one after it must be good.
    index = 5 + round(where * (len(levels) - 7))
    glitched = list(levels)
    glitched[index] = round(levels[index] + (size if upwards else -size), 2)
    readings = [river("g1", 10 * i, level) for i, level in enumerate(glitched)]
    events, flagged = level_events(readings)
    assert flagged == [readings[index].ts.isoformat()]
    without, _ = level_events(readings[:index] + readings[index + 1:])
    assert events == without
