"""Shared pieces of the alert tests: a small registry, the shipped rules, readings, and
the alert engine as a process on the test bus."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from floodwatch.alerts.engine import Engine, Outcome
from floodwatch.alerts.model import Event, Transition
from floodwatch.alerts.rules import AlertRules
from floodwatch.alerts.store import AlertStore, Changes
from floodwatch.core.readings import FieldValue, Reading
from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.services.servers import MosquittoServer
from tests.alerts.process import AlertsProcess
from tests.support import ALERT_RULES_FILE, InfluxQuery, bus_stage_env, write_stations

RULES_FILE = ALERT_RULES_FILE
T0 = datetime(2026, 10, 12, 0, 0, tzinfo=UTC)

REGISTRY_YAML = """
rivers: {abukuma: {ja: 阿武隈川, en: Abukuma River}}
stations:
  - {id: g1, kind: river, name: {ja: 第一, en: Gauge one}, river: abukuma, basin: abukuma,
     location: {lat: 37.5, lon: 140.4}, interval_s: 600,
     levels_m: {standby: 1.0, caution: 2.0, evacuation: 3.0, danger: 4.0, flooding: 5.0}}
  - {id: g2, kind: river, name: {ja: 第二, en: Gauge two}, river: abukuma, basin: abukuma,
     location: {lat: 37.6, lon: 140.5}, interval_s: 600,
     levels_m: {standby: 1.0, caution: 2.0, evacuation: 3.0, danger: 4.0}}
  - {id: u1, kind: road, name: {ja: 地下道, en: Underpass}, route: route-4, basin: abukuma,
     location: {lat: 37.4, lon: 140.38}, interval_s: 300}
"""


def write_registry(folder: Path) -> Path:
    return write_stations(folder, REGISTRY_YAML)


@pytest.fixture(scope="session")
def registry() -> StationRegistry:
    return StationRegistry.from_yaml_text(REGISTRY_YAML)


@pytest.fixture(scope="session")
def rules(registry: StationRegistry) -> AlertRules:
    return AlertRules.load(RULES_FILE, registry)


def rules_with(registry: StationRegistry, extra: str) -> AlertRules:
    """The shipped rules with ``extra`` YAML appended (e.g. a stations: section)."""
    text = RULES_FILE.read_text(encoding="utf-8").replace("stations: {}", extra)
    return AlertRules.from_yaml_text(text, registry, "test-rules.yaml")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def river(station: str, minutes: float, level: float) -> Reading:
    return Reading(station, StationKind.RIVER, at(minutes), {"level_m": level}, "device",
                   at(minutes))


def road(station: str, minutes: float, **values: FieldValue) -> Reading:
    return Reading(station, StationKind.ROAD, at(minutes), dict(values), "device", at(minutes))


Summary = tuple[str, str, str, int]


def summary(events: Iterable[Event]) -> list[Summary]:
    """(station, alert type, transition, level) of each event."""
    return [(e.station, e.alert_type.value, e.transition.value, e.level) for e in events]


def feed(engine: Engine, readings: Iterable[Reading],
         only: str | None = None, *, renewals: bool = False) -> list[Event]:
    """The events of ``readings``; renewals (the same level said again before its CAP
    message expires, alerts.renewal) only if asked: most tests are about changes."""
    events: list[Event] = []
    for reading in readings:
        outcome: Outcome = engine.on_reading(reading)
        events.extend(e for e in outcome.events if (only is None or e.station == only)
                      and (renewals or e.transition is not Transition.RENEWED))
    return events


@pytest.fixture
def engine(registry: StationRegistry, rules: AlertRules) -> Engine:
    return Engine(registry, rules)


def restart(engine: Engine, folder: Path) -> Engine:
    """``engine`` as a new process would start: its states and clock committed to the
    store in ``folder`` and loaded back (the loaded states are checked to equal them)."""
    store = AlertStore(folder / "alerts.sqlite3")
    store.commit(Changes(states=dict(engine.states), clock=engine.clock, publications=[],
                         history=[], commands=[]))
    store.close()
    saved, clock = AlertStore(folder / "alerts.sqlite3").load()
    assert saved == engine.states
    return Engine(engine.registry, engine.rules, saved, clock)


def series(station: str, levels: Iterable[float], start: float = 0,
           step_min: float = 10) -> list[Reading]:
    return [river(station, start + i * step_min, level) for i, level in enumerate(levels)]


@pytest.fixture
def alerts_env(tmp_path: Path, mosquitto: MosquittoServer,
               influx: InfluxQuery) -> Callable[..., dict[str, str]]:
    """The engine's environment on the test bus and InfluxDB; keyword overrides name a
    setting without its FLOODWATCH_ prefix (``alerts_tick_s="0.2"``)."""
    registry = write_registry(tmp_path)

    def build(**overrides: str) -> dict[str, str]:
        env = {
            **bus_stage_env(mosquitto.url, influx, registry, tmp_path / "state"),
            "FLOODWATCH_ALERTS_CLIENT_ID": f"alerts-{uuid.uuid4().hex[:8]}",
            "FLOODWATCH_ALERTS_TICK_S": "0",
            "FLOODWATCH_LOG_LEVEL": "info",
        }
        env.update({f"FLOODWATCH_{key.upper()}": value for key, value in overrides.items()})
        return env

    return build


@pytest.fixture
def start_alerts(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], AlertsProcess]]:
    """Starts an engine, each with a log of its own; those still running are stopped at
    the end of the test."""
    started: list[AlertsProcess] = []

    def start(env: dict[str, str]) -> AlertsProcess:
        process = AlertsProcess(env, tmp_path / f"alerts-{len(started)}.log").start()
        started.append(process)
        return process

    yield start
    for process in started:
        if not process.exited():
            process.stop()
