"""Data quality per gauge (alerts.quality): the checks one value at a time, and what a
suspect value does to the alerts in the pure engine."""

from __future__ import annotations

import pytest

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.history import flag_line
from floodwatch.alerts.model import AlertType, Event
from floodwatch.alerts.rules import AlertRules, RulesError
from floodwatch.alerts.state import StationState
from floodwatch.core.quality import FieldMemory, FieldQuality, Reason, check_field
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import RULES_FILE, at, river, rules_with, series

TEN_MINUTES = 600.0
LEVEL = FieldQuality(min=-5, max=40, max_step=1.0, step_readings=2, repeats_are_dropout=True,
                     min_movement=0.03, flatline_s=3 * 3600)


def reasons(levels: list[float], rule: FieldQuality = LEVEL,
            minutes: list[float] | None = None) -> list[str]:
    """Each value's flag ('' when good), fed every 10 minutes (or at ``minutes``)."""
    memory, found = FieldMemory(), []
    for index, value in enumerate(levels):
        moment = at(minutes[index] if minutes is not None else 10 * index)
        flag, memory = check_field("level_m", value, moment, rule, memory,
                                   interval_s=TEN_MINUTES)
        found.append("" if flag is None else flag.reason.value)
    return found


def test_out_of_range_both_ends() -> None:
    assert reasons([1.0, 40.5, 1.0, -5.2, 1.0]) == ["", "out_of_range", "", "out_of_range", ""]


@pytest.mark.parametrize("step", [1.2, -1.2])
def test_a_step_larger_than_max_step_is_flagged_up_and_down(step: float) -> None:
    assert reasons([2.0, 2.01, 2.0, 2.0 + step, 2.0]) == ["", "", "", "max_step", ""]
    assert reasons([2.0, 2.01, 2.0, 2.0 + step * 0.8, 2.0]) == ["", "", "", "", ""]


def test_the_reference_is_the_median_not_the_last_accepted_value() -> None:
    # 3.55 is 0.95 m off the falling limb: within max_step of 2.7, so accepted. The next
    # true value is 1.05 m below it, but close to the median trend: good, not flagged.
    levels = [3.0, 2.9, 2.8, 2.7, 3.55, 2.5, 2.4]
    assert reasons(levels) == [""] * len(levels)
    # Against the last accepted value alone, that 2.5 would have been the flagged one.
    assert LEVEL.max_step is not None
    assert abs(2.5 - 3.55) > LEVEL.max_step


def test_more_time_since_the_last_accepted_reading_allows_more() -> None:
    levels = [3.0, 3.05, 3.1, 4.6]
    assert reasons(levels, minutes=[0, 10, 20, 30]) == ["", "", "", "max_step"]
    assert reasons(levels, minutes=[0, 10, 20, 40]) == ["", "", "", ""]  # 1.5 m in 2 intervals
    assert reasons([3.0, 3.05, 3.1, 7.0], minutes=[0, 10, 20, 50]) == ["", "", "", "max_step"]


def test_flatline_after_flatline_s_of_the_same_value() -> None:
    found = reasons([1.3] * 24)  # every 10 min: 3 h reached at the 19th reading
    assert found == [""] * 18 + ["flatline"] * 6
    assert reasons([1.3] * 18 + [1.31]) == [""] * 19


@pytest.mark.parametrize("stuck", [0.0, 2.5])
def test_a_dropout_to_a_constant_is_never_accepted_as_a_step(stuck: float) -> None:
    found = reasons([4.2, 4.21, 4.2] + [stuck] * 12 + [4.25, 4.24])
    assert found == ["", "", ""] + ["max_step"] + ["dropout"] * 11 + ["", ""]


def test_a_real_surge_that_moves_is_accepted_after_step_readings() -> None:
    surge = [1.2, 1.2, 1.21, 2.5, 2.8, 3.05, 3.2]
    assert reasons(surge) == ["", "", "", "max_step", "max_step", "", ""]
    three = LEVEL.model_copy(update={"step_readings": 3})
    assert reasons([*surge, 3.3], three) == ["", "", "", "max_step", "max_step", "max_step",
                                             "", ""]
    # A pause in the run is a dropout reading, but the run's readings, fitted together,
    # still move 0.2 m: the water moves, and the next one makes the step real.
    assert reasons([1.2, 1.2, 1.21, 2.5, 2.8, 2.8, 3.0, 3.1]) == [
        "", "", "", "max_step", "max_step", "dropout", "", ""]


@pytest.mark.parametrize("rate", [0.3, 0.1, -0.1, -0.3])
def test_return_to_plausible_the_reading_after_a_glitch_is_good(rate: float) -> None:
    levels = [round(3.0 + rate * index + (1.5 if index == 6 else 0), 2) for index in range(12)]
    assert reasons(levels) == [""] * 6 + ["max_step"] + [""] * 5


def test_a_value_as_near_to_the_glitch_as_to_the_river_is_good() -> None:
    half = LEVEL.model_copy(update={"max_step": 0.5})
    # 2.5 is 0.5 m from 2.0 in two intervals (0.5 of the allowed 1.0 m) and 0.25 m from
    # the glitch in one (0.5 of the allowed 0.5 m): a tie goes to the river.
    assert reasons([2.0] * 5 + [2.75, 2.5], half) == [""] * 5 + ["max_step", ""]


def test_typhoon_rates_pass_and_onsets_too_steep_are_held_then_accepted() -> None:
    rise = [1.0] * 4 + [1.0 + 0.6 * k for k in range(1, 10)]  # 3.6 m/h from still water
    assert reasons(rise) == [""] * len(rise)
    steep = [1.0] * 4 + [1.0 + 1.5 * k for k in range(1, 8)]  # 9 m/h: flagged, then believed
    assert reasons(steep) == [""] * 4 + ["max_step"] * 3 + [""] * 4
    absurd = [1.0] * 4 + [1.0 + 2.5 * k for k in range(1, 8)]  # 15 m/h: never believed
    assert reasons(absurd) == [""] * 4 + ["max_step"] * 7


@pytest.mark.parametrize(("old", "new"), [("spike", "max_step"),
                                          ("confirm_readings", "step_readings")])
def test_old_rules_keys_are_refused_naming_the_new_one(registry: StationRegistry, old: str,
                                                       new: str) -> None:
    with pytest.raises(RulesError, match=rf"stations\.g1: \(river\) quality\.level_m: "
                                         rf"'{old}' is now '{new}'"):
        rules_with(registry, f"stations: {{g1: {{quality: {{level_m: {{{old}: 2}}}}}}}}")
    with pytest.raises(RulesError, match=rf"defaults\.road\.quality\.water_depth_cm: "
                                         rf"'{old}' is now '{new}'"):
        AlertRules.from_yaml_text(RULES_FILE.read_text(encoding="utf-8").replace(
            "max_step: 20, step_readings: 2", f"max_step: 20, {old}: 2"), registry)


def test_a_state_saved_before_per_gauge_checks_still_loads() -> None:
    old = ('{"station": "g1", "fields": {"level_m": {"last_good": 1.2, "last_raw": 1.2, '
           '"last_raw_flagged": false, "flat_value": 1.2, '
           '"flat_since": "2026-10-12T00:00:00Z"}}}')
    memory = StationState.model_validate_json(old).fields["level_m"]
    assert (memory.accepted, memory.flat_value) == ((), 1.2)


# --- in the engine ---------------------------------------------------------------------

def of(events: list[Event], *types: AlertType) -> list[tuple[str, int, float]]:
    """(transition, level, minutes) of the events of ``types``."""
    return [(e.transition.value, e.level, (e.at - at(0)).total_seconds() / 60)
            for e in events if e.alert_type in types]


def run(engine: Engine, levels: list[float]) -> list[Event]:
    return [e for reading in series("g1", levels)
            for e in engine.on_reading(reading).events if e.station == "g1"]


def test_a_glitch_on_a_falling_limb_changes_no_level_alert(engine: Engine) -> None:
    # The replay's failure: 0.97 m falling, +1.5 m glitch accepted as a 1.47 m jump.
    levels = [1.09, 1.05, 1.01, 0.97, 2.47, 0.93, 0.89, 0.85, 0.81]
    events = run(engine, levels)
    assert of(events, AlertType.RIVER_LEVEL, AlertType.RATE_OF_RISE) == [
        ("raised", 1, 0), ("confirmed", 1, 10)]
    assert of(events, AlertType.DATA_QUALITY) == [("raised", 1, 40), ("cleared", 0, 70)]


def test_flags_name_their_alert_and_the_raise(registry: StationRegistry,
                                              rules: AlertRules) -> None:
    engine = Engine(registry, rules)
    outcomes = [engine.on_reading(r) for r in series("g1", [4.2, 4.21, 0.0, 0.0, 4.22])]
    flags = [f for outcome in outcomes for f in outcome.flags]
    raised = [e for e in outcomes[2].events if e.alert_type is AlertType.DATA_QUALITY]
    assert [(f.at, f.flag.reason, f.alert_id, f.event_id) for f in flags] == [
        (at(20), Reason.MAX_STEP, raised[0].event_id, raised[0].event_id),
        (at(30), Reason.DROPOUT, raised[0].event_id, None)]
    station = registry.get("g1")
    assert station is not None
    assert flag_line(flags[0], station) == (
        "reading_flag,basin=abukuma,field=level_m,kind=river,reason=max_step,river=abukuma,"
        f'station=g1 value=0.0,alert_id="g1/3",event_id="g1/3" '
        f"{int(at(20).timestamp()) * 10**9}")


def test_a_dropout_at_danger_level_neither_clears_nor_raises_a_rise(engine: Engine) -> None:
    levels = [4.2, 4.22, 4.21, 4.23] + [0.0] * 7 + [4.25, 4.24, 4.26, 4.25]
    events = run(engine, levels)
    assert of(events, AlertType.RIVER_LEVEL, AlertType.RATE_OF_RISE) == [
        ("raised", 4, 0), ("confirmed", 4, 10)]
    assert of(events, AlertType.DATA_QUALITY) == [("raised", 1, 40), ("cleared", 0, 130)]
    assert engine.states["g1"].level_of(AlertType.RIVER_LEVEL) == 4


def test_the_hold_timer_stands_still_over_suspect_readings(registry: StationRegistry,
                                                           rules: AlertRules) -> None:
    # Caution (2), then below its deadband from 10 min: de-escalated 30 min later...
    falling = [2.5, 1.5, 1.52, 1.5, 1.51, 1.5, 1.52, 1.5, 1.51]
    clean = of(run(Engine(registry, rules), falling), AlertType.RIVER_LEVEL)
    assert clean == [("raised", 2, 0), ("deescalated", 1, 40), ("confirmed", 1, 50)]
    # ...but 20 min of suspect values (a glitch, then its repeat) do not count.
    glitched = [*falling[:2], 3.0, 3.0, *falling[2:]]
    events = run(Engine(registry, rules), glitched)
    assert of(events, AlertType.RIVER_LEVEL) == [
        ("raised", 2, 0), ("deescalated", 1, 60), ("confirmed", 1, 70)]


def test_the_rules_file_sets_max_step_per_station(registry: StationRegistry) -> None:
    rules = rules_with(registry, "stations: {g1: {quality: {level_m: {max_step: 0.5}}}}")
    engine = Engine(registry, rules)
    outcome = [engine.on_reading(r) for r in [river("g1", 0, 2.0), river("g1", 10, 2.7),
                                              river("g2", 0, 2.0), river("g2", 10, 2.7)]]
    assert [bool(o.flags) for o in outcome] == [False, True, False, False]
    assert AlertRules.load(RULES_FILE, registry).quality("g1")["level_m"].max_step == 1.0
