"""core.quality_rules reads each river gauge's quality checks (level and rain) as the alert
engine does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from floodwatch.alerts.rules import AlertRules
from floodwatch.core.quality import FieldMemory, Reason, check_field
from floodwatch.core.quality_rules import (
    DEFAULT_RIVER_QUALITY,
    QualityRulesError,
    river_quality,
    river_quality_from_text,
)
from floodwatch.core.registry import StationKind, StationRegistry
from tests.conftest import SAMPLE_REGISTRY
from tests.support import REPO_ROOT

RULES_FILE = REPO_ROOT / "config" / "alert-rules.yaml"


def test_every_station_of_the_shipped_rules_matches_the_engine() -> None:
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    engine = AlertRules.load(RULES_FILE, registry)
    ours = river_quality(RULES_FILE, registry)
    rivers = [station.id for station in registry if station.kind is StationKind.RIVER]
    assert sorted(ours) == sorted(rivers)
    assert len(rivers) >= 5
    for station in rivers:
        assert ours[station] == engine.quality(station), station
        assert set(ours[station]) == {"level_m", "rain_mm"}, station


def test_the_shipped_rain_rule_flags_a_rain_spike_and_never_a_dry_spell() -> None:
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    rain = AlertRules.load(RULES_FILE, registry).quality(
        next(s.id for s in registry if s.kind is StationKind.RIVER))["rain_mm"]
    assert (rain.min, rain.max) == (0, 60)  # over Japan's 10-minute record (55 mm)
    assert rain.flatline_s is None  # dry weeks read 0.0
    assert rain.max_step is None  # a storm cell: 0 then 30 mm
    memory, moment = FieldMemory(), datetime(2026, 10, 12, tzinfo=UTC)
    for step in range(6 * 24 * 30):  # a month of 0.0 mm every 10 minutes
        flag, memory = check_field("rain_mm", 0.0, moment + timedelta(minutes=10 * step),
                                   rain, memory, interval_s=600)
        assert flag is None
    storm = moment + timedelta(days=31)
    for step, value in enumerate((0.0, 30.0, 55.0, 0.0)):
        flag, memory = check_field("rain_mm", value, storm + timedelta(minutes=10 * step),
                                   rain, memory, interval_s=600)
        assert flag is None, value
    flag, _ = check_field("rain_mm", 400.0, storm + timedelta(hours=1), rain, memory,
                          interval_s=600)
    assert flag is not None
    assert flag.reason is Reason.OUT_OF_RANGE


def test_rules_without_a_quality_section_default_alike() -> None:
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    rivers = [station.id for station in registry if station.kind is StationKind.RIVER]
    text = RULES_FILE.read_text(encoding="utf-8")
    start = text.index("    quality:\n      # max_step")
    end = text.index("  road:\n")
    without = text[:start] + text[end:]
    assert "rain_mm: {" not in without
    engine = AlertRules.from_yaml_text(without, registry, "test-rules.yaml")
    ours = river_quality_from_text(without, registry, "test-rules.yaml")
    for station in rivers:
        assert ours[station] == engine.quality(station) == DEFAULT_RIVER_QUALITY, station


def test_per_station_overrides_merge_as_the_engine_merges_them() -> None:
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    rivers = [station.id for station in registry if station.kind is StationKind.RIVER]
    first, second = rivers[0], rivers[1]
    overrides = (f"stations:\n"
                 f"  {first}: {{quality: {{level_m: {{max_step: 0.4, min: -1}},"
                 f" rain_mm: {{max: 160}}}}}}\n"
                 f"  {second}: {{level: {{hold_s: 3600}}}}\n")
    text = RULES_FILE.read_text(encoding="utf-8").replace("stations: {}", overrides)
    engine = AlertRules.from_yaml_text(text, registry, "test-rules.yaml")
    ours = river_quality_from_text(text, registry, "test-rules.yaml")
    for station in rivers:
        assert ours[station] == engine.quality(station), station
    changed = ours[first]["level_m"]
    assert (changed.max_step, changed.min, changed.max) == (0.4, -1, 40)  # others kept
    assert (ours[first]["rain_mm"].min, ours[first]["rain_mm"].max) == (0, 160)
    assert ours[second] == ours[rivers[2]]
    assert ours[second]["rain_mm"].max == 60


def test_a_bad_quality_rule_is_named_with_its_station() -> None:
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    station = next(s.id for s in registry if s.kind is StationKind.RIVER)
    text = RULES_FILE.read_text(encoding="utf-8").replace(
        "stations: {}", f"stations:\n  {station}: {{quality: {{level_m: {{min: 50}}}}}}\n")
    with pytest.raises(QualityRulesError, match=f"stations.{station}.*min must be below max"):
        river_quality_from_text(text, registry, "test-rules.yaml")
