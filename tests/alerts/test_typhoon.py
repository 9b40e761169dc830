"""Replaying the simulator's typhoon: clean lifecycles per station, offline for the
gauge the scenario silences, and the identical sequence on every replay."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import AlertType, Event, Transition
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationRegistry
from floodwatch.ingest.validate import MessageValidator
from floodwatch.simulators.scenario import load_scenario
from floodwatch.simulators.simulation import Simulation
from tests.alerts.conftest import RULES_FILE
from tests.conftest import SAMPLE_REGISTRY
from tests.simulators.conftest import TYPHOON_START

pytestmark = pytest.mark.slow


def typhoon_readings(registry: StationRegistry) -> list[Reading]:
    """The scenario's device messages as ingest would put them on the bus."""
    simulation = Simulation(load_scenario("typhoon"), registry, start=TYPHOON_START, seed=0)
    validator = MessageValidator(registry, max_payload_bytes=16_384,
                                 max_future=timedelta(minutes=5), max_age=timedelta(days=30))
    readings: list[Reading] = []
    for event in simulation.events():
        readings.extend(validator.validate(event.topic, event.payload, event.sim_time).readings)
    return readings


@pytest.fixture(scope="module")
def replay() -> list[Event]:
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    engine = Engine(registry, AlertRules.load(RULES_FILE, registry))
    return [event for reading in typhoon_readings(registry)
            for event in engine.on_reading(reading).events]


@pytest.fixture(scope="module")
def changes(replay: list[Event]) -> list[Event]:
    """The replay without renewals (the same level said again before its CAP message
    expires): what the rules decided."""
    return [event for event in replay if event.transition is not Transition.RENEWED]


def lifecycle(events: list[Event], station: str) -> list[tuple[str, str, int, float]]:
    """(alert type, transition, level, hours into the storm) of one station's events."""
    return [(e.alert_type.value, e.transition.value, e.level,
             round((e.at - TYPHOON_START).total_seconds() / 3600, 2))
            for e in events if e.station == station]


def test_sukagawa_goes_to_flooding_and_back_down_cleanly(changes: list[Event]) -> None:
    assert lifecycle(changes, "sukagawa") == [
        ("river_level", "raised", 1, 6.33),  # its catchment lies south, under the storm
        ("river_level", "confirmed", 1, 6.5),  # the next reading (10 min) agrees
        ("river_level", "escalated", 2, 9.0),
        ("river_level", "confirmed", 2, 9.17),
        ("rate_of_rise", "raised", 1, 9.17),
        ("rate_of_rise", "confirmed", 1, 9.33),
        ("river_level", "escalated", 3, 10.5),
        ("river_level", "confirmed", 3, 10.67),
        ("river_level", "escalated", 4, 11.33),
        ("river_level", "confirmed", 4, 11.5),
        ("river_level", "escalated", 5, 13.5),  # over the 6.40 m overtopping level
        ("river_level", "confirmed", 5, 13.67),
        ("rate_of_rise", "cleared", 0, 14.0),
        ("river_level", "deescalated", 4, 17.17),
        ("river_level", "deescalated", 3, 21.0),
        ("river_level", "deescalated", 2, 23.0),
        ("river_level", "deescalated", 1, 29.17),  # still receding at 48 h: no all-clear
    ]


def test_a_tributary_rises_and_gives_one_all_clear(changes: list[Event]) -> None:
    assert lifecycle(changes, "shakado-sukagawa") == [
        ("river_level", "raised", 1, 8.5),
        ("river_level", "confirmed", 1, 8.67),
        ("river_level", "escalated", 2, 10.5),
        ("river_level", "confirmed", 2, 10.67),
        ("river_level", "escalated", 3, 12.67),
        ("river_level", "confirmed", 3, 12.83),
        ("river_level", "deescalated", 2, 17.33),
        ("river_level", "deescalated", 1, 21.17),
        ("river_level", "cleared", 0, 33.17),
    ]


def test_the_silenced_gauge_is_offline_until_its_backfill(changes: list[Event]) -> None:
    assert lifecycle(changes, "nihonmatsu") == [
        ("river_level", "raised", 1, 11.83),
        ("river_level", "confirmed", 1, 12.0),
        ("river_level", "escalated", 2, 14.0),
        ("river_level", "confirmed", 2, 14.17),
        ("river_level", "escalated", 3, 17.67),
        ("river_level", "confirmed", 3, 17.83),
        ("offline", "raised", 1, 19.33),  # last heard 18:50, silent for 3 x 10 min
        ("offline", "cleared", 0, 21.0),  # the logged readings arrive at 21:00
        ("river_level", "deescalated", 2, 25.17),
        ("river_level", "deescalated", 1, 32.5),
    ]
    offline = {e.station for e in changes if e.alert_type is AlertType.OFFLINE}
    assert offline == {"nihonmatsu"}


def test_underpass_floods_and_is_cleared(changes: list[Event]) -> None:
    assert lifecycle(changes, "koriyama-r4-underpass") == [
        ("road_flooding", "raised", 1, 8.17),
        ("road_flooding", "confirmed", 1, 8.25),  # every 5 minutes
        ("road_flooding", "escalated", 2, 9.42),
        ("road_flooding", "confirmed", 2, 9.5),
        ("road_flooding", "deescalated", 1, 18.33),
        ("road_flooding", "cleared", 0, 19.33),
    ]


def test_no_station_flaps(changes: list[Event], replay: list[Event]) -> None:
    by_station: dict[str, list[Event]] = defaultdict(list)
    for event in changes:
        by_station[event.station].append(event)
    for station, events in by_station.items():
        levels = [e for e in events if e.alert_type is AlertType.RIVER_LEVEL]
        if not levels:
            continue
        assert [e.transition.value for e in levels].count("raised") == 1, station
        values = [e.level for e in levels]
        peak = values.index(max(values))
        assert values[: peak + 1] == sorted(values[: peak + 1]), station  # up only...
        assert values[peak:] == sorted(values[peak:], reverse=True), station  # ...then down
    for station in by_station:
        seqs = [e.seq for e in replay if e.station == station]  # renewals included
        assert seqs == list(range(1, len(seqs) + 1)), station
    assert not [e for e in changes if e.alert_type is AlertType.DATA_QUALITY]


def test_replay_is_identical(replay: list[Event]) -> None:
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    engine = Engine(registry, AlertRules.load(RULES_FILE, registry))
    again = [event for reading in typhoon_readings(registry)
             for event in engine.on_reading(reading).events]
    assert again == replay
