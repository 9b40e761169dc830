"""What the simulated devices send follows the device contract: ingest's own validator
accepts every message of the bundled scenarios and of load mode."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from floodwatch.core.registry import StationRegistry
from floodwatch.ingest.validate import MessageValidator
from floodwatch.simulators.load import load_devices, load_events
from floodwatch.simulators.scenario import available_scenarios, load_scenario, parse_scenario
from floodwatch.simulators.simulation import Simulation
from tests.conftest import generated_registry_yaml
from tests.simulators.conftest import TYPHOON_START


def test_the_bundled_scenarios() -> None:
    assert available_scenarios() == ["calm", "rainband", "typhoon", "typhoon-coast", "winter-ice"]


@pytest.mark.parametrize("name", ["calm", "rainband", "typhoon", "typhoon-coast", "winter-ice"])
def test_every_message_of_a_bundled_scenario_is_accepted(
    sample_registry: StationRegistry, validator: MessageValidator, name: str
) -> None:
    simulation = Simulation(load_scenario(name), sample_registry, start=TYPHOON_START,
                            seed=2)
    count = 0
    for event in simulation.events():
        readings = validator.validate(event.topic, event.payload, event.sim_time).readings
        assert all(reading.ts_source == "device" for reading in readings)
        if event.payload.startswith(b"{"):
            assert 70 <= len(event.payload) <= 110  # ~90 bytes, like the contract's example
        count += 1
    assert count == pytest.approx(simulation.duration_s / 600 * 10 + simulation.duration_s
                                  / 300 * 2 + simulation.duration_s / 600 * 2, rel=0.05)


def test_payloads_look_like_the_contract_examples(sample_registry: StationRegistry) -> None:
    events = Simulation(load_scenario("calm"), sample_registry, start=TYPHOON_START).events()
    river = json.loads(next(events).payload)
    assert list(river) == ["ts", "level_m", "rain_mm", "battery_v"]
    assert river["ts"] == "2026-10-12T00:00:00+09:00"
    road = next(json.loads(e.payload) for e in events if e.topic.startswith("sensors/road/"))
    assert list(road) == ["ts", "water_depth_cm", "surface_temp_c", "surface_state"]


def test_utc_timestamps_are_accepted(sample_registry: StationRegistry,
                                     validator: MessageValidator) -> None:
    scenario = parse_scenario("extends: calm\nduration: 1h\nts_format: utc\n")
    for event in Simulation(scenario, sample_registry, start=TYPHOON_START).events():
        assert json.loads(event.payload)["ts"].endswith("Z")
        validator.validate(event.topic, event.payload, event.sim_time)


def test_load_mode_sends_unique_contract_messages() -> None:
    registry = StationRegistry.from_yaml_text(generated_registry_yaml(30, 10))
    validator = MessageValidator(registry, max_payload_bytes=16_384,
                                 max_future=timedelta(minutes=5), max_age=timedelta(days=30))
    start = datetime.now(UTC)
    events = list(load_events(load_devices(40, registry), rate=1000, duration_s=3,
                              start=start))
    assert len(events) == 3000
    stamps = {(event.topic, json.loads(event.payload)["ts"]) for event in events}
    assert len(stamps) == len(events)  # unique station + timestamp: nothing overwritten
    for event in events:
        validator.validate(event.topic, event.payload, start)  # none in the future
    sizes = [len(event.payload) for event in events]
    assert 80 <= sum(sizes) / len(sizes) <= 100
    assert events[-1].sim_time - events[0].sim_time == timedelta(seconds=2.999)


def test_load_mode_synthetic_ids_match_the_generated_registry() -> None:
    registry = StationRegistry.from_yaml_text(generated_registry_yaml(5))
    assert [device for device, _ in load_devices(5)] == [station.id for station in registry]
    with pytest.raises(ValueError, match="has 5 stations"):
        load_devices(6, registry)
