"""The same seed sends the same messages, byte for byte; another seed does not."""

from __future__ import annotations

from floodwatch.core.registry import StationRegistry
from floodwatch.simulators.faults import parse_fault_option
from floodwatch.simulators.scenario import load_scenario
from floodwatch.simulators.simulation import Simulation
from tests.simulators.conftest import TYPHOON_START

# Every fault that draws random numbers, so their streams are covered too.
FAULTS = ("spike=0.05", "malformed=0.03", "duplicate=0.05", "wrong-station=0.02",
          "offline:rate=0.01,for=30m,backfill=true", "stuck:rate=0.01", "drift:rate=0.01")


def simulation(registry: StationRegistry, seed: int) -> Simulation:
    return Simulation(load_scenario("typhoon"), registry, start=TYPHOON_START, seed=seed,
                      duration_s=18 * 3600,
                      faults=[parse_fault_option(text) for text in FAULTS])


def test_same_seed_same_messages(sample_registry: StationRegistry) -> None:
    first = [event.wire for event in simulation(sample_registry, 7).events()]
    second = [event.wire for event in simulation(sample_registry, 7).events()]
    assert first == second
    assert len(first) > 1500


def test_another_seed_other_messages(sample_registry: StationRegistry) -> None:
    seven = [event.wire for event in simulation(sample_registry, 7).events()]
    eight = [event.wire for event in simulation(sample_registry, 8).events()]
    assert seven != eight
    assert len(set(seven) & set(eight)) < len(seven) / 2


def test_a_simulation_runs_again_from_the_start(sample_registry: StationRegistry) -> None:
    run = simulation(sample_registry, 3)
    assert [e.wire for e in run.events()] == [e.wire for e in run.events()]


def test_events_come_in_simulated_time_order(sample_registry: StationRegistry) -> None:
    times = [event.sim_time for event in simulation(sample_registry, 1).events()]
    assert times == sorted(times)
    assert times[0] == TYPHOON_START
