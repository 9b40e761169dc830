"""The river model: the typhoon drives the sample gauges through their reference levels,
waves travel downstream, rivers fall more slowly than they rose; a calm day stays calm."""

from __future__ import annotations

from datetime import datetime

import pytest

from floodwatch.core.registry import ReferenceLevels, StationRegistry
from floodwatch.simulators.hydrology import LinearReservoir
from floodwatch.simulators.messages import Event
from floodwatch.simulators.scenario import ScenarioError, load_scenario, parse_scenario
from floodwatch.simulators.simulation import Simulation
from floodwatch.simulators.stage import RatingCurve
from tests.simulators.conftest import TYPHOON_START, payloads, river_levels

THROUGH_EVERY_LEVEL = ["sukagawa", "akutsu", "motomiya", "fushiguro", "marumori",
                       "arakawa-fukushima", "ouse-koriyama"]
MAIN_STEM = ["sukagawa", "akutsu", "motomiya", "nihonmatsu", "fushiguro", "marumori",
             "iwanuma"]
Series = dict[str, list[tuple[datetime, float]]]


@pytest.fixture(scope="module")
def typhoon(typhoon_events: list[Event]) -> Series:
    return river_levels(typhoon_events)


def _levels(registry: StationRegistry, station_id: str) -> ReferenceLevels:
    station = registry.get(station_id)
    assert station is not None
    assert station.levels_m is not None
    return station.levels_m


def _peak(series: list[tuple[datetime, float]]) -> tuple[datetime, float]:
    return max(series, key=lambda point: point[1])


@pytest.mark.parametrize("station_id", THROUGH_EVERY_LEVEL)
def test_typhoon_climbs_through_every_reference_level(
    typhoon: Series, sample_registry: StationRegistry, station_id: str
) -> None:
    levels = _levels(sample_registry, station_id)
    series = typhoon[station_id]
    assert series[0][1] < levels.standby
    thresholds = [levels.standby, levels.caution, levels.evacuation, levels.danger]
    first_above = [next(time for time, level in series if level >= threshold)
                   for threshold in thresholds]
    assert first_above == sorted(first_above)  # one level after the other, in order
    assert first_above[0] < first_above[-1]


def test_typhoon_overtops_sukagawa_but_not_the_others_with_a_flooding_level(
    typhoon: Series, sample_registry: StationRegistry
) -> None:
    over = [station_id for station_id, series in typhoon.items()
            if (flooding := _levels(sample_registry, station_id).flooding) is not None
            and _peak(series)[1] > flooding]
    assert over == ["sukagawa"]


def test_lower_stations_reach_some_levels_only(
    typhoon: Series, sample_registry: StationRegistry
) -> None:
    nihonmatsu, iwanuma = _levels(sample_registry, "nihonmatsu"), _levels(sample_registry,
                                                                          "iwanuma")
    assert nihonmatsu.evacuation < _peak(typhoon["nihonmatsu"])[1] < nihonmatsu.danger
    assert iwanuma.caution < _peak(typhoon["iwanuma"])[1] < iwanuma.evacuation


def test_upstream_peaks_before_downstream(typhoon: Series) -> None:
    peaks = [_peak(typhoon[station_id])[0] for station_id in MAIN_STEM]
    assert peaks == sorted(peaks)
    assert len(set(peaks)) == len(peaks)
    for tributary in ("shakado-sukagawa", "ouse-koriyama"):
        assert _peak(typhoon[tributary])[0] < _peak(typhoon["akutsu"])[0]
    assert _peak(typhoon["arakawa-fukushima"])[0] < _peak(typhoon["fushiguro"])[0]


@pytest.mark.parametrize("station_id", THROUGH_EVERY_LEVEL)
def test_recession_is_slower_than_rise(typhoon: Series, station_id: str) -> None:
    series = typhoon[station_id]
    peak_time, peak = _peak(series)
    half = series[0][1] + (peak - series[0][1]) / 2
    risen = next(time for time, level in series if level >= half)
    fallen = next(time for time, level in series if time > peak_time and level < half)
    assert fallen - peak_time > peak_time - risen


def test_fast_rivers_fall_back_below_standby_and_the_lower_main_stem_recedes(
    typhoon: Series, sample_registry: StationRegistry
) -> None:
    for station_id in ("motomiya", "shakado-sukagawa", "ouse-koriyama",
                       "arakawa-fukushima"):
        assert typhoon[station_id][-1][1] < _levels(sample_registry, station_id).standby
    marumori = typhoon["marumori"]
    assert marumori[-1][1] > _levels(sample_registry, "marumori").standby
    assert marumori[-1][1] < _peak(marumori)[1] - 3


def test_rain_gauges_report_the_storm_in_bucket_tips(typhoon_events: list[Event]) -> None:
    rain = [reading["rain_mm"] for reading in payloads(typhoon_events, "sukagawa")]
    assert 250 < sum(rain) < 380
    assert all((value * 2).is_integer() for value in rain)  # 0.5 mm per tip
    assert rain[0] == 0.0
    assert max(rain) > 5


def test_battery_stays_in_its_charging_range(typhoon_events: list[Event]) -> None:
    volts = [reading["battery_v"] for reading in payloads(typhoon_events, "motomiya")]
    assert all(12.6 <= value <= 13.0 for value in volts)
    assert max(volts) - min(volts) > 0.1  # it charges by day


def test_a_calm_day_stays_at_base_flow(sample_registry: StationRegistry) -> None:
    simulation = Simulation(load_scenario("calm"), sample_registry, start=TYPHOON_START)
    for station_id, series in river_levels(simulation.events()).items():
        values = [level for _, level in series]
        assert max(values) < _levels(sample_registry, station_id).standby
        assert round(max(values) - min(values), 2) <= 0.03  # gauge noise only


def test_linear_reservoir_returns_all_the_water() -> None:
    reservoir = LinearReservoir(k_s=3 * 3600)
    volume_out = 0.0
    for minute in range(60 * 72):
        outflow = reservoir.step(100.0 if minute < 120 else 0.0, 60)
        volume_out += outflow * 60
    assert volume_out == pytest.approx(100.0 * 120 * 60, rel=1e-3)


def test_rating_curve_passes_the_danger_level_at_the_danger_flow() -> None:
    curve = RatingCurve.through(zero_flow_m=1.5, stage_m=5.2, flow_m3s=1500)
    assert curve.stage(1500) == pytest.approx(5.2)
    assert curve.stage(0) == 1.5
    assert curve.flow(curve.stage(321.0)) == pytest.approx(321.0)


def _run(registry: StationRegistry, text: str) -> Series:
    simulation = Simulation(parse_scenario(text), registry, start=TYPHOON_START,
                            scenario_faults=False)
    return river_levels(simulation.events())


def test_a_soaked_basin_floods_sooner_and_higher(sample_registry: StationRegistry) -> None:
    dry = _run(sample_registry, "extends: typhoon\nduration: 24h\n")
    wet = _run(sample_registry, "extends: typhoon\nduration: 24h\n"
                                "river_defaults: {antecedent_rain_mm: 80}\n")
    for station_id in MAIN_STEM[:3]:
        assert wet[station_id][0] == dry[station_id][0]  # the same river at the start...
        assert _peak(wet[station_id])[1] > _peak(dry[station_id])[1] + 0.1  # ...more runs off
        danger = _levels(sample_registry, station_id).danger
        first = [next(time for time, level in series if level >= danger)
                 for series in (wet[station_id], dry[station_id])]
        assert first[0] < first[1]


DELUGE = """extends: calm
duration: 24h
rain: {areas: [{name: deluge, mm_h: [[0h, 0], [1h, 60], [9h, 60], [10h, 0]]}]}
"""


def test_levees_cap_the_level_and_the_spill_leaves_the_river(
    sample_registry: StationRegistry
) -> None:
    capped = _run(sample_registry, DELUGE)
    uncapped = _run(sample_registry, DELUGE + "river_defaults: {overtopping_m: 5}\n")
    for station_id in ("sukagawa", "akutsu", "motomiya", "fushiguro"):
        levels = _levels(sample_registry, station_id)
        assert levels.flooding is not None
        crest = levels.flooding + 0.3
        assert _peak(uncapped[station_id])[1] > crest + 0.3  # the deluge overtops it
        assert crest - 0.02 <= _peak(capped[station_id])[1] <= crest + 0.02  # gauge noise
    # Nihonmatsu has no flooding level: its crest is danger + (danger - caution).
    nihonmatsu = _levels(sample_registry, "nihonmatsu")
    crest = 2 * nihonmatsu.danger - nihonmatsu.caution + 0.3
    assert _peak(capped["nihonmatsu"])[1] <= crest + 0.02
    # What spilled upstream never reaches the lower river.
    assert _peak(capped["iwanuma"])[1] < _peak(uncapped["iwanuma"])[1] - 0.15


def test_a_crest_below_the_riverbed_is_refused(sample_registry: StationRegistry) -> None:
    scenario = parse_scenario("extends: calm\nrivers: {sukagawa: {bank_full_m: 1.0}}\n")
    with pytest.raises(ScenarioError, match=r"sukagawa: bank_full_m \+ overtopping_m"):
        Simulation(scenario, sample_registry, start=TYPHOON_START)
