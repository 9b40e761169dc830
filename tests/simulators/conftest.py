"""Shared runs and readers for the simulator tests: the model runs without a broker."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest

from floodwatch.core.readings import JST
from floodwatch.core.registry import StationRegistry
from floodwatch.ingest.validate import MessageValidator
from floodwatch.simulators.messages import Event
from floodwatch.simulators.scenario import load_scenario
from floodwatch.simulators.simulation import Simulation

TYPHOON_START = datetime(2026, 10, 12, 0, 0, tzinfo=JST)


def station_of(event: Event) -> str:
    return event.topic.rsplit("/", 1)[1]


def river_levels(events: Iterable[Event]) -> dict[str, list[tuple[datetime, float]]]:
    """Each river station's (sim_time, level_m) from its native JSON messages."""
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for event in events:
        if event.topic.startswith("sensors/river/") and event.payload.startswith(b"{"):
            series[station_of(event)].append((event.sim_time,
                                              json.loads(event.payload)["level_m"]))
    return dict(series)


def payloads(events: Iterable[Event], station: str) -> list[dict[str, Any]]:
    return [json.loads(event.payload) for event in events
            if station_of(event) == station and event.payload.startswith(b"{")]


@pytest.fixture(scope="session")
def typhoon_events(sample_registry: StationRegistry) -> list[Event]:
    """The bundled typhoon as written (seed 0), without its scenario faults."""
    simulation = Simulation(load_scenario("typhoon"), sample_registry, start=TYPHOON_START,
                            seed=0, scenario_faults=False)
    return list(simulation.events())


@pytest.fixture
def validator(sample_registry: StationRegistry) -> MessageValidator:
    """ingest's own validator, with ingest's default limits."""
    return MessageValidator(sample_registry, max_payload_bytes=16_384,
                            max_future=timedelta(minutes=5), max_age=timedelta(days=30))
