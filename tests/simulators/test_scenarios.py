"""Scenario files and fault options are validated strictly, with errors that name the
file and the field; the simulated clock never stamps readings in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from floodwatch.core.registry import StationRegistry
from floodwatch.simulators.clock import default_start
from floodwatch.simulators.faults import FaultKind, parse_fault_option
from floodwatch.simulators.scenario import ScenarioError, load_scenario, parse_scenario
from floodwatch.simulators.simulation import Simulation
from floodwatch.simulators.timeline import Profile, format_duration, parse_duration
from tests.simulators.conftest import TYPHOON_START


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0), (45, 45.0), ("45s", 45.0), ("15m", 900.0), ("6h", 21_600.0),
    ("1h30m", 5400.0), ("2d", 172_800.0), ("1.5h", 5400.0),
])
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1:30", "30m1h", "1h1h", "-5", "5x", True])
def test_bad_durations(text: str | bool) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is checked elsewhere
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 59, 5400, 172_800)] == ["0s", "59s", "1h30m",
                                                                      "2d"]


def test_profile_interpolates_and_holds_its_ends() -> None:
    profile = Profile.model_validate([["1h", 0], ["3h", 10]])
    assert [profile.at(h * 3600) for h in (0, 1, 2, 3, 9)] == [0, 0, 5, 10, 10]


def test_typhoon_extends_the_calm_basin() -> None:
    calm, typhoon = load_scenario("calm"), load_scenario("typhoon")
    assert typhoon.rivers == calm.rivers
    assert typhoon.roads == calm.roads
    assert typhoon.name == "typhoon"
    assert typhoon.duration == 48 * 3600
    assert typhoon.rain.storms
    assert not calm.rain.storms
    assert "typhoon" in typhoon.description


def write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "message"), [
    ("duration: 1h\nrivers: {sukagawa: {catchment_kmm: 3}}\n",
     "rivers.sukagawa.catchment_kmm: Extra inputs are not permitted"),
    ("duration: 1h\nrivers: {sukagawa: {catchment_km2: -1}}\n",
     "rivers.sukagawa.catchment_km2: Input should be greater than 0"),
    ("duration: 1h\nriver_defaults: {fast_k: soon}\n",
     "river_defaults.fast_k: 'soon' is not a duration"),
    ("duration: 1h\nrivers: {akutsu: {centroid: [140.4, 37.4]}}\n",
     "rivers.akutsu.centroid: centroid [140.4, 37.4] is not a [latitude, longitude]"),
    ("duration: 1h\nriver_defaults: {antecedent_rain_mm: -5}\n",
     "river_defaults.antecedent_rain_mm: Input should be greater than or equal to 0"),
    ("duration: 1h\nduration: 2h\n", "line 2, column 1: key 'duration' is given twice"),
    ("duration: 1h\nlocal_start: 17:00\n", 'local_start: write a time of day in quotes'),
    ("duration: 1h\nrain: {areas: [{name: x, mm_h: [[2h, 1], [1h, 2]]}]}\n",
     "rain.areas.0.mm_h: profile times must increase"),
    ("duration: 1h\nfaults: [{kind: spike}]\n", "faults.0: give either 'rate'"),
    ("step: 1m\n", "duration: Field required"),
    ("- 1\n", "expected a mapping"),
])
def test_errors_name_the_file_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as error:
        load_scenario(str(path))
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_extends_a_file_next_to_it_and_refuses_loops(tmp_path: Path) -> None:
    write(tmp_path, "extends: calm\nduration: 2h\n", "base.yaml")
    mine = load_scenario(write(tmp_path, "extends: base.yaml\n"))
    assert mine.duration == 7200
    assert mine.rivers == load_scenario("calm").rivers
    write(tmp_path, "extends: b.yaml\nduration: 1h\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(ScenarioError, match="loops"):
        load_scenario(tmp_path / "a.yaml")


def test_unknown_scenario() -> None:
    with pytest.raises(ScenarioError,
                       match="not one of calm, rainband, typhoon, typhoon-coast, winter-ice"):
        load_scenario("hurricane")


def test_a_river_network_must_be_a_tree(sample_registry: StationRegistry) -> None:
    for rivers, message in (("{akutsu: {downstream: sukagawa}}", "loop"),
                            ("{akutsu: {downstream: nowhere}}", "not a river station")):
        scenario = parse_scenario(f"extends: calm\nrivers: {rivers}\n")
        with pytest.raises(ScenarioError, match=message):
            Simulation(scenario, sample_registry, start=TYPHOON_START)


def test_stations_not_in_the_registry_are_ignored_with_a_warning(
    sample_registry: StationRegistry
) -> None:
    scenario = parse_scenario("extends: calm\nroads: {sukagawa: {pump_cm_h: 1}}\n"
                              "faults: [{kind: spike, rate: 0.1, stations: [atlantis]}]\n")
    simulation = Simulation(scenario, sample_registry, start=TYPHOON_START)
    assert len(simulation.warnings) == 2
    assert "roads.sukagawa: not a road station" in simulation.warnings[0]
    assert "atlantis" in simulation.warnings[1]


def test_fault_options() -> None:
    spike = parse_fault_option("spike=0.01")
    assert (spike.kind, spike.rate, spike.stations) == (FaultKind.SPIKE, 0.01, ())
    offline = parse_fault_option("offline:at=2h,for=90m,stations=akutsu+motomiya,"
                                 "backfill=true")
    assert (offline.at, offline.for_, offline.stations, offline.backfill) == (
        7200, 5400, ("akutsu", "motomiya"), True)
    assert parse_fault_option("clock-skew:rate=0.1,magnitude=-60").kind is (
        FaultKind.CLOCK_SKEW)


@pytest.mark.parametrize(("text", "message"), [
    ("spike", "give either 'rate'"), ("spike=x", "rate must be a number"),
    ("spike:rate=0.1,at=1h", "give either"), ("bogus=0.1", "kind: Input should be"),
    ("duplicate:rate=0.1,magnitude=3", "'magnitude' does not apply"),
    ("spike:rate=0.1,backfill=true", "'backfill' applies to offline only"),
    ("spike:rate", "expected key=value"),
])
def test_bad_fault_options(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fault_option(text)


@pytest.mark.parametrize("speed", [0.0, 1.0, 60.0, 600.0])
def test_the_simulated_clock_never_runs_ahead_of_the_wall_clock(speed: float) -> None:
    now = datetime(2026, 11, 28, 10, 0, 30, tzinfo=UTC)
    duration = 48 * 3600.0
    start = default_start(duration, speed, now)
    assert start.second == 0
    assert start <= now
    real_s = 0.0 if speed == 0 else duration / speed
    # The last reading is stamped no later than the wall clock at the end of the run.
    assert start + timedelta(seconds=duration) <= now + timedelta(seconds=real_s)
    assert start + timedelta(seconds=duration) > now + timedelta(seconds=real_s - 60)
