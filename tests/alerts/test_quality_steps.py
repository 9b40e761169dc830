"""Data quality: when a flagged jump becomes a real step (alerts.quality), with the
shipped rules. On rivers the readings that continue a jump must move beyond the noise
floor (``min_movement``): a dead gauge wobbling about 0.00 is never a new level. On
roads a step that then holds is real: standing water, a drained underpass."""

from __future__ import annotations

from datetime import timedelta

import pytest

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import AlertType, Event
from floodwatch.alerts.rules import AlertRules, RiverRules, RoadRules
from floodwatch.alerts.state import StationState
from floodwatch.core.quality import FieldMemory, FieldQuality, check_field
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import at, road, series

# Near 0.00 and near a constant, moving no more than a centimetre or two either way.
WOBBLE = [0.0, 0.01, 0.0, 0.02, 0.01, 0.0, 0.02, 0.03, 0.01, 0.0, 0.02, 0.01]


def reasons(rule: FieldQuality, values: list[float], interval_min: float = 10) -> list[str]:
    """Each value's flag ('' when good), one reading per interval."""
    memory, found = FieldMemory(), []
    for index, value in enumerate(values):
        flag, memory = check_field("field", value, at(interval_min * index), rule, memory,
                                   interval_s=interval_min * 60)
        found.append("" if flag is None else flag.reason.value)
    return found


@pytest.fixture(scope="module")
def level(rules: AlertRules) -> FieldQuality:
    return rules.quality("g1")["level_m"]


@pytest.fixture(scope="module")
def depth(rules: AlertRules) -> FieldQuality:
    return rules.quality("u1")["water_depth_cm"]


def test_the_shipped_rules_and_the_built_in_defaults_agree(rules: AlertRules) -> None:
    assert rules.quality("g1") == RiverRules().quality
    assert rules.quality("u1") == RoadRules().quality
    assert (rules.quality("g1")["level_m"].repeats_are_dropout,
            rules.quality("g1")["level_m"].min_movement) == (True, 0.03)
    assert not any(rule.repeats_are_dropout for rule in rules.quality("u1").values())


@pytest.mark.parametrize("dead_at", [0.0, 2.5])
def test_a_dead_gauge_that_wobbles_is_never_a_step(level: FieldQuality, dead_at: float) -> None:
    wobble = [round(dead_at + value, 2) for value in WOBBLE]
    assert reasons(level, [4.2, 4.21, 4.2, *wobble]) == (
        ["", "", "", "max_step"] + ["dropout"] * (len(WOBBLE) - 1))


def test_a_dead_gauge_sliding_through_one_value_to_zero_is_never_a_step(
        level: FieldQuality) -> None:
    # The reading between is the jump: only the readings after it have to move.
    assert reasons(level, [4.2, 4.21, 4.2, 0.5] + [0.0] * 8) == (
        ["", "", "", "max_step", "max_step"] + ["dropout"] * 7)


def test_the_run_must_move_more_than_min_movement(level: FieldQuality) -> None:
    # 0.02 -> 0.05 moves 0.03 m: not more than the floor; 0.02 -> 0.08 moves 0.06 m.
    creep = [4.2, 4.21, 4.2, 0.0, 0.02, 0.05, 0.08]
    assert reasons(level, creep) == ["", "", "", "max_step", "dropout", "dropout", ""]
    coarse = level.model_copy(update={"min_movement": 0.1})
    assert reasons(coarse, creep) == ["", "", "", "max_step"] + ["dropout"] * 3
    # Without repeats_are_dropout, movement is not asked for at all.
    assert reasons(level.model_copy(update={"repeats_are_dropout": False}), creep) == [
        "", "", "", "max_step", "max_step", "", ""]


def test_a_river_step_that_holds_still_stays_suspect_until_the_water_moves(
        level: FieldQuality) -> None:
    held = [1.2, 1.2, 1.21, 2.5, 2.5, 2.51, 2.5, 2.5, 2.6, 2.7]
    assert reasons(level, held) == ["", "", "", "max_step"] + ["dropout"] * 4 + [
        "max_step", ""]


def test_a_rise_steeper_than_two_max_steps_is_flagged_while_it_lasts(
        level: FieldQuality) -> None:
    # 2.5 m per 10 minutes, from still water: every reading is a new jump. At its peak
    # the level holds (dropout), then falls 0.1 m a reading: that moves, it is real.
    rise = [1.0] * 4 + [1.0 + 2.5 * k for k in range(1, 6)]
    assert reasons(level, [*rise, 13.5, 13.51, 13.5, 13.4, 13.3]) == (
        [""] * 4 + ["max_step"] * 5 + ["dropout"] * 3 + ["", ""])


@pytest.mark.parametrize(("values", "expected"), [
    ([0.0] * 4 + [30.0, 31.0, 31.0, 31.0, 31.0], ["max_step", "max_step", "", "", ""]),
    ([25.0] * 4 + [3.0, 0.0, 0.0, 0.0, 0.0], ["max_step", "max_step", "", "", ""]),
], ids=["flooded-and-holding", "drained-fast"])
def test_a_road_step_that_holds_is_accepted_after_step_readings(
        depth: FieldQuality, values: list[float], expected: list[str]) -> None:
    assert reasons(depth, values, interval_min=5) == [""] * 4 + expected
    # What repeats_are_dropout would make of it: the alert of the next test, never raised.
    river_like = depth.model_copy(update={"repeats_are_dropout": True})
    assert reasons(river_like, values, interval_min=5)[-1] == "dropout"


def test_a_surface_temperature_step_that_holds_is_accepted(rules: AlertRules) -> None:
    temperature = rules.quality("u1")["surface_temp_c"]
    assert reasons(temperature, [-2.0] * 4 + [12.0] * 4, interval_min=5) == (
        [""] * 4 + ["max_step", "max_step", "", ""])


def test_a_saved_run_counted_as_moving_still_loads() -> None:
    old = ('{"station": "g1", "fields": {"level_m": {"accepted": [], "suspect": '
           '[["2026-10-12T00:00:00Z", 2.5]], "moving": 1, "flat_value": 2.5, '
           '"flat_since": "2026-10-12T00:00:00Z"}}}')
    memory = StationState.model_validate_json(old).fields["level_m"]
    assert (memory.continued, memory.suspect[0][1]) == (1, 2.5)


# --- in the engine ---------------------------------------------------------------------

def of(events: list[Event], alert_type: AlertType) -> list[tuple[str, int, float]]:
    """(transition, level, minutes) of the events of one type."""
    return [(e.transition.value, e.level, (e.at - at(0)).total_seconds() / 60)
            for e in events if e.alert_type is alert_type]


def test_a_dead_gauge_at_danger_level_gives_no_all_clear(engine: Engine) -> None:
    levels = [4.2, 4.22, 4.21] + WOBBLE * 2  # four hours of a dead gauge
    events = [e for r in series("g1", levels) for e in engine.on_reading(r).events]
    # Said again before its message expires, never lowered: no implicit all-clear.
    assert of(events, AlertType.RIVER_LEVEL) == [("raised", 4, 0), ("confirmed", 4, 10),
                                                 ("renewed", 4, 190)]
    assert of(events, AlertType.DATA_QUALITY) == [("raised", 1, 30),  # open throughout
                                                  ("renewed", 1, 210)]
    assert engine.states["g1"].level_of(AlertType.RIVER_LEVEL) == 4


def underpass(engine: Engine, depths: list[float]) -> list[Event]:
    readings = [road("u1", 5 * i, water_depth_cm=value) for i, value in enumerate(depths)]
    return [e for r in readings for e in engine.on_reading(r).events if e.station == "u1"]


def test_an_underpass_that_floods_and_holds_is_closed(engine: Engine) -> None:
    events = underpass(engine, [0.0] * 3 + [30.0, 31.0] + [31.0] * 6)
    # 30 and 31 are the jump and its first continuation; the second is a real step.
    assert of(events, AlertType.ROAD_FLOODING) == [("raised", 2, 25), ("confirmed", 2, 30)]
    assert of(events, AlertType.DATA_QUALITY) == [("raised", 1, 15), ("cleared", 0, 35)]


def test_an_underpass_that_drains_fast_is_cleared(registry: StationRegistry,
                                                   rules: AlertRules) -> None:
    events = underpass(Engine(registry, rules), [25.0] * 3 + [3.0] + [0.0] * 8)
    hold = timedelta(seconds=rules.road("u1").flooding.hold_s)
    # 3.0 (15 min) and the first 0.0 are flagged; the second 0.0 (25 min) is real: the
    # hold starts there.
    assert of(events, AlertType.ROAD_FLOODING) == [
        ("raised", 2, 0), ("confirmed", 2, 5),
        ("cleared", 0, 25 + hold.total_seconds() / 60)]
    assert of(events, AlertType.DATA_QUALITY) == [("raised", 1, 15), ("cleared", 0, 35)]
