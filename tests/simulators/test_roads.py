"""Road sensors: underpasses flood with the rain and drain after it; wet roads freeze on
a winter night, the pass lies under snow; a calm day is dry with a daily temperature
cycle."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from floodwatch.core.readings import JST
from floodwatch.core.registry import StationRegistry
from floodwatch.simulators.messages import Event
from floodwatch.simulators.runner import build_simulation
from floodwatch.simulators.scenario import load_scenario
from floodwatch.simulators.simulation import Simulation
from floodwatch.simulators.timeline import local_hour
from tests.simulators.conftest import TYPHOON_START, payloads

WINTER_START = datetime(2026, 1, 15, 17, 0, tzinfo=JST)
UNDERPASSES = ["koriyama-r4-underpass", "fukushima-station-underpass"]


@pytest.fixture(scope="module")
def winter(sample_registry: StationRegistry) -> list[Event]:
    return list(Simulation(load_scenario("winter-ice"), sample_registry, start=WINTER_START,
                           seed=1).events())


@pytest.mark.parametrize("station_id", UNDERPASSES)
def test_underpass_floods_in_the_heaviest_rain_and_drains_after(
    typhoon_events: list[Event], station_id: str
) -> None:
    depths = [reading["water_depth_cm"] for reading in payloads(typhoon_events, station_id)]
    deepest = depths.index(max(depths))
    assert depths[0] < 1
    assert max(depths) > 25  # over a car's sill: the reason underpasses are closed
    assert depths[-1] < 1
    rising = depths[: deepest + 1]
    assert sum(b >= a - 0.3 for a, b in itertools.pairwise(rising)) > 0.9 * (
        len(rising) - 1)  # it rises steadily up to the deepest point, noise aside


def test_open_roads_never_pond(typhoon_events: list[Event]) -> None:
    for station_id in ("tsuchiyu-pass", "marumori-r113"):
        depths = [reading["water_depth_cm"] for reading in payloads(typhoon_events,
                                                                     station_id)]
        assert max(depths) < 1
        assert {"wet", "dry"} <= {reading["surface_state"]
                                  for reading in payloads(typhoon_events, station_id)}


@pytest.mark.parametrize("station_id", [*UNDERPASSES, "marumori-r113"])
def test_wet_roads_freeze_in_the_night(winter: list[Event], station_id: str) -> None:
    readings = payloads(winter, station_id)
    states = [reading["surface_state"] for reading in readings]
    assert "wet" in states
    assert "ice" in states
    assert states.index("wet") < states.index("ice")  # the rain came first
    icy = [reading for reading in readings if reading["surface_state"] == "ice"]
    assert len(icy) > len(readings) / 4
    assert all(reading["surface_temp_c"] <= 0.5 for reading in icy)  # 0 degC + noise
    first_icy_hour = local_hour(datetime.fromisoformat(icy[0]["ts"]))
    assert first_icy_hour >= 19 or first_icy_hour < 6


def test_the_pass_lies_under_snow(winter: list[Event]) -> None:
    readings = payloads(winter, "tsuchiyu-pass")
    assert sum(reading["surface_state"] == "snow" for reading in readings) > 0.8 * len(
        readings)
    assert min(reading["surface_temp_c"] for reading in readings) < -10


def test_winter_ice_starts_in_the_evening_by_default(sample_registry: StationRegistry
                                                     ) -> None:
    now = datetime(2026, 1, 20, 9, 30, tzinfo=UTC)
    simulation = build_simulation(sample_registry, "winter-ice", speed=60, now=now)
    local = simulation.start.astimezone(JST)
    assert (local.hour, local.minute) == (17, 0)
    # At 60x the run ends before the wall clock: nothing is stamped in the future.
    assert simulation.end <= now + timedelta(minutes=5)


def test_a_calm_day_is_dry_with_a_daily_temperature_cycle(
    sample_registry: StationRegistry
) -> None:
    events = list(Simulation(load_scenario("calm"), sample_registry,
                             start=TYPHOON_START).events())
    states = {json.loads(event.payload)["surface_state"] for event in events
              if event.topic.startswith("sensors/road/")}
    assert states == {"dry"}
    readings = payloads(events, "koriyama-r4-underpass")
    by_hour = {local_hour(datetime.fromisoformat(r["ts"])): r["surface_temp_c"]
               for r in readings}
    assert by_hour[14.0] - by_hour[2.0] > 8  # sun-warmed asphalt vs a clear night
