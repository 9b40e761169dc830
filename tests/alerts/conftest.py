"""Shared pieces of the alert tests: a small registry, the shipped rules, readings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from floodwatch.alerts.engine import Engine, Outcome
from floodwatch.alerts.model import Event, Transition
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.readings import FieldValue, Reading
from floodwatch.core.registry import StationKind, StationRegistry
from tests.support import REPO_ROOT

RULES_FILE = REPO_ROOT / "config" / "alert-rules.yaml"
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
    path = folder / "stations.yaml"
    path.write_text(REGISTRY_YAML, encoding="utf-8")
    return path


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


def series(station: str, levels: Iterable[float], start: float = 0,
           step_min: float = 10) -> list[Reading]:
    return [river(station, start + i * step_min, level) for i, level in enumerate(levels)]
