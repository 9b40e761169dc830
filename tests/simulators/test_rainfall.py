"""Where the rain falls: averaged over each gauge's catchment, measured at its mast, and
drawn by the seed within the scenario's jitter bounds (seed 0: the storm as written)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.simulators.jitter import AS_WRITTEN, StormJitter, draw
from floodwatch.simulators.rainfall import Catchment, RainField, RainSpec, Storm
from floodwatch.simulators.scenario import ScenarioError, load_scenario, parse_scenario
from floodwatch.simulators.simulation import Simulation
from tests.simulators.conftest import TYPHOON_START, river_levels

MAIN_STEM = ["sukagawa", "akutsu", "motomiya", "nihonmatsu", "fushiguro", "marumori",
             "iwanuma"]


def typhoon_field(registry: StationRegistry, seed: int) -> tuple[RainField, list[str]]:
    scenario = load_scenario("typhoon")
    simulation = Simulation(scenario, registry, start=TYPHOON_START, seed=seed)
    catchments = simulation.river_network().catchments()
    return (RainField(scenario.rain, simulation.stations, seed, catchments),
            [station.id for station in simulation.stations])


def totals_mm(field: RainField, ids: list[str]) -> dict[str, tuple[float, float]]:
    """48 h of rain (total mm, rain-weighted mean hour) at each mast (``mast:id``) and
    over each catchment (``id``), in 10-minute steps."""
    sums: dict[str, list[float]] = {}
    for step in range(6 * 48):
        at = step * 600 + 300
        rains = {**{f"mast:{i}": rain for i, rain in zip(ids, field.all_mm_h(at), strict=True)},
                 **field.catchments_mm_h(at)}
        for key, rain in rains.items():
            total = sums.setdefault(key, [0.0, 0.0])
            total[0] += rain / 6
            total[1] += rain / 6 * at / 3600
    return {key: (mm, hours / mm if mm else 0.0) for key, (mm, hours) in sums.items()}


def test_two_gauges_two_km_apart_get_different_storms(sample_registry: StationRegistry) -> None:
    # Sukagawa and the Shakado gauge stand 2 km apart; their catchments lie south and west.
    rain = totals_mm(*typhoon_field(sample_registry, 0))
    sukagawa, shakado = rain["sukagawa"], rain["shakado-sukagawa"]
    assert rain["mast:sukagawa"][0] == pytest.approx(rain["mast:shakado-sukagawa"][0], rel=0.02)
    # The typhoon comes from the south: on Sukagawa's catchment it rains earlier than on
    # its mast, and earlier than on the Shakado's.
    assert sukagawa[1] < rain["mast:sukagawa"][1] - 0.5
    assert sukagawa[1] < shakado[1] - 0.3
    print(f"\ntyphoon (mm, mean hour) at the mast / over the catchment: sukagawa "
          f"{rain['mast:sukagawa']} / {sukagawa}, shakado {rain['mast:shakado-sukagawa']} "
          f"/ {shakado}")
    # A thunderstorm cell parked over the Shakado's catchment hardly wets Sukagawa's.
    cell = Storm(name="cell", radius_km=6, track=((0.0, 37.29, 140.24),), mm_h=((0.0, 50.0),))
    scenario = load_scenario("calm")
    simulation = Simulation(scenario, sample_registry, start=TYPHOON_START)
    field = RainField(RainSpec(storms=(cell,)), simulation.stations,
                      catchments=simulation.river_network().catchments())
    now = field.catchments_mm_h(0.0)
    assert now["shakado-sukagawa"] > 3 * now["sukagawa"]


def test_the_catchment_mean_of_a_gaussian_storm_is_the_disc_integral() -> None:
    radius_km, area_km2 = 30.0, 900.0
    storm = Storm(name="cell", radius_km=radius_km, track=((0.0, 37.0, 140.0),),
                  mm_h=((0.0, 10.0),))
    catchment = Catchment("here", (37.0, 140.0), area_km2)
    field = RainField(RainSpec(storms=(storm,)), [], catchments=[catchment])
    disc_r2 = area_km2 / math.pi
    exact = 10.0 * 2 * radius_km**2 / disc_r2 * (1 - math.exp(-disc_r2 / (2 * radius_km**2)))
    assert field.catchments_mm_h(0.0)["here"] == pytest.approx(exact, rel=0.002)


@given(seed=st.integers(min_value=1, max_value=2**63),
       timing=st.floats(0, 86_400), intensity=st.floats(0, 0.99), track=st.floats(0, 500))
def test_a_seed_stays_within_the_jitter_bounds(seed: int, timing: float, intensity: float,
                                               track: float) -> None:
    bounds = StormJitter(timing=timing, intensity=intensity, track_km=track)
    how = draw(bounds, seed, "storm", 0, "band")
    assert abs(how.shift_s) <= timing
    assert abs(how.scale - 1) <= intensity + 1e-12
    assert math.hypot(how.north_km, how.east_km) <= track + 1e-9
    assert draw(bounds, seed, "storm", 0, "band") == how  # the same seed, the same storm


def test_seed_zero_is_the_storm_as_written() -> None:
    bounds = StormJitter(timing=7200, intensity=0.2, track_km=25)
    assert draw(bounds, 0, "storm", 0, "band") is AS_WRITTEN
    assert draw(bounds, 1, "storm", 0, "band") != AS_WRITTEN


def test_the_same_seed_rains_the_same_and_another_seed_otherwise(
    sample_registry: StationRegistry
) -> None:
    def series(seed: int) -> list[float]:
        field, _ = typhoon_field(sample_registry, seed)
        return [rain for hour in range(48) for rain in field.all_mm_h(hour * 3600.0)]

    assert series(7) == series(7)
    assert series(7) != series(8)
    assert series(0) != series(7)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_drawn_typhoon_is_another_storm_of_the_same_kind(
    sample_registry: StationRegistry, seed: int
) -> None:
    runs = {}
    for each in (0, seed):
        simulation = Simulation(load_scenario("typhoon"), sample_registry,
                                start=TYPHOON_START, seed=each, scenario_faults=False)
        runs[each] = river_levels(simulation.events())
    drawn = runs[seed]
    peaks = [max(drawn[station_id], key=lambda point: point[1]) for station_id in MAIN_STEM]
    assert [time for time, _ in peaks] == sorted(time for time, _ in peaks)
    danger = [station_id for station_id in drawn
              if max(level for _, level in drawn[station_id])
              >= _levels(sample_registry, station_id)]
    assert danger  # every draw is still a dangerous storm somewhere
    written = max(level for _, level in runs[0]["sukagawa"])
    assert abs(peaks[0][1] - written) > 0.05 or peaks[0][0] != max(
        runs[0]["sukagawa"], key=lambda point: point[1])[0]


def _levels(registry: StationRegistry, station_id: str) -> float:
    station = registry.get(station_id)
    assert station is not None
    assert station.kind is StationKind.RIVER
    assert station.levels_m is not None
    return station.levels_m.danger


@pytest.mark.parametrize(("jitter", "message"), [
    ("{intensity: 1}", "rain.storms.0.jitter.intensity: Input should be less than 1"),
    ("{track_km: -1}", "rain.storms.0.jitter.track_km: Input should be greater than"),
    ("{timing: soon}", "rain.storms.0.jitter.timing: 'soon' is not a duration"),
    ("{wobble: 1}", "rain.storms.0.jitter.wobble: Extra inputs are not permitted"),
])
def test_jitter_bounds_are_validated(jitter: str, message: str) -> None:
    text = ("duration: 1h\nrain: {storms: [{name: x, radius_km: 10, track: [[0h, 37, 140]], "
            f"mm_h: [[0h, 5]], jitter: {jitter}}}]}}\n")
    with pytest.raises(ScenarioError, match=message.replace(".", r"\.")):
        parse_scenario(text)
