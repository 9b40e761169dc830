"""Storms that are not the typhoon. The rain band does not come down the river: the
middle basin rises from the sky on wet soil while the gauges upstream stay low, so a
gauge peaks before the gauge upstream of it. The coastal typhoon is a near miss."""

from __future__ import annotations

from datetime import datetime

import pytest

from floodwatch.core.registry import ReferenceLevels, StationRegistry
from floodwatch.simulators.scenario import load_scenario
from floodwatch.simulators.simulation import Simulation
from tests.simulators.conftest import TYPHOON_START, river_levels

Series = dict[str, list[tuple[datetime, float]]]


@pytest.fixture(scope="module")
def rainband(sample_registry: StationRegistry) -> Series:
    simulation = Simulation(load_scenario("rainband"), sample_registry, start=TYPHOON_START)
    return river_levels(simulation.events())


def levels(registry: StationRegistry, station_id: str) -> ReferenceLevels:
    station = registry.get(station_id)
    assert station is not None
    assert station.levels_m is not None
    return station.levels_m


def peak(series: list[tuple[datetime, float]]) -> float:
    return max(level for _, level in series)


def test_the_middle_basin_floods_and_the_upper_basin_stays_low(
    rainband: Series, sample_registry: StationRegistry
) -> None:
    for station_id in ("arakawa-fukushima", "fushiguro", "marumori"):
        assert peak(rainband[station_id]) > levels(sample_registry, station_id).danger
    for station_id in ("sukagawa", "shakado-sukagawa"):
        assert peak(rainband[station_id]) < levels(sample_registry, station_id).standby
    assert peak(rainband["nihonmatsu"]) < levels(sample_registry, "nihonmatsu").caution
    arakawa = levels(sample_registry, "arakawa-fukushima")
    crest = 2 * arakawa.danger - arakawa.caution + 0.3  # no flooding level: the default
    assert peak(rainband["arakawa-fukushima"]) <= crest + 0.02


def test_a_gauge_peaks_before_the_gauge_upstream_of_it(rainband: Series) -> None:
    def peak_time(station_id: str) -> datetime:
        return max(rainband[station_id], key=lambda point: point[1])[0]

    assert peak_time("fushiguro") < peak_time("nihonmatsu")
    assert peak_time("arakawa-fukushima") < peak_time("fushiguro")


def test_the_coastal_typhoon_is_a_near_miss(sample_registry: StationRegistry) -> None:
    simulation = Simulation(load_scenario("typhoon-coast"), sample_registry,
                            start=TYPHOON_START, scenario_faults=False)
    coast = river_levels(simulation.events())
    for station_id, series in coast.items():
        station_levels = levels(sample_registry, station_id)
        assert peak(series) < station_levels.danger, station_id  # no danger anywhere...
        if station_id != "iwanuma":
            assert peak(series) > station_levels.caution, station_id  # ...but rising rivers
