"""core.quality_rules reads each river gauge's level checks as the alert engine does."""

from __future__ import annotations

import pytest

from floodwatch.alerts.rules import AlertRules
from floodwatch.core.quality_rules import (
    QualityRulesError,
    river_level_quality,
    river_level_quality_from_text,
)
from floodwatch.core.registry import StationKind, StationRegistry
from tests.conftest import SAMPLE_REGISTRY
from tests.support import REPO_ROOT

RULES_FILE = REPO_ROOT / "config" / "alert-rules.yaml"


def test_every_station_of_the_shipped_rules_matches_the_engine() -> None:
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    engine = AlertRules.load(RULES_FILE, registry)
    ours = river_level_quality(RULES_FILE, registry)
    rivers = [station.id for station in registry if station.kind is StationKind.RIVER]
    assert sorted(ours) == sorted(rivers)
    assert len(rivers) >= 5
    for station in rivers:
        assert ours[station] == engine.quality(station)["level_m"], station


def test_per_station_overrides_merge_as_the_engine_merges_them() -> None:
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    rivers = [station.id for station in registry if station.kind is StationKind.RIVER]
    first, second = rivers[0], rivers[1]
    overrides = (f"stations:\n"
                 f"  {first}: {{quality: {{level_m: {{max_step: 0.4, min: -1}}}}}}\n"
                 f"  {second}: {{level: {{hold_s: 3600}}}}\n")
    text = RULES_FILE.read_text(encoding="utf-8").replace("stations: {}", overrides)
    engine = AlertRules.from_yaml_text(text, registry, "test-rules.yaml")
    ours = river_level_quality_from_text(text, registry, "test-rules.yaml")
    for station in rivers:
        assert ours[station] == engine.quality(station)["level_m"], station
    changed = ours[first]
    assert changed is not None
    assert (changed.max_step, changed.min, changed.max) == (0.4, -1, 40)  # others kept
    assert ours[second] == ours[rivers[2]]


def test_a_bad_quality_rule_is_named_with_its_station() -> None:
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    station = next(s.id for s in registry if s.kind is StationKind.RIVER)
    text = RULES_FILE.read_text(encoding="utf-8").replace(
        "stations: {}", f"stations:\n  {station}: {{quality: {{level_m: {{min: 50}}}}}}\n")
    with pytest.raises(QualityRulesError, match=f"stations.{station}.*min must be below max"):
        river_level_quality_from_text(text, registry, "test-rules.yaml")
