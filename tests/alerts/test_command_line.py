"""``python -m floodwatch.alerts``: configuration errors are one line, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.alerts.conftest import RULES_FILE, write_registry
from tests.support import REPO_ROOT


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "floodwatch.alerts", *args], cwd=REPO_ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=60, check=False)


def test_check_accepts_the_shipped_rules(tmp_path: Path) -> None:
    result = run({"FLOODWATCH_STATIONS": str(write_registry(tmp_path)),
                  "FLOODWATCH_ALERTS_RULES": str(RULES_FILE)}, "--check")
    assert result.returncode == 0, result.stderr
    assert "rules for 3 stations are valid" in result.stdout


@pytest.mark.parametrize(("rules_text", "message"), [
    (None, "cannot read"),
    ("defaults: [", "not valid YAML"),
    ("stations: {g1: {level: {hold_s: soon}}}",
     "stations.g1: (river) level.hold_s: Input should be a valid number"),
])
def test_config_errors_are_one_line_and_exit_2(tmp_path: Path, rules_text: str | None,
                                               message: str) -> None:
    rules = tmp_path / "rules.yaml"
    if rules_text is not None:
        shipped = RULES_FILE.read_text(encoding="utf-8")
        text = shipped.replace("stations: {}", rules_text) if "stations" in rules_text \
            else rules_text
        rules.write_text(text, encoding="utf-8")
    result = run({"FLOODWATCH_STATIONS": str(write_registry(tmp_path)),
                  "FLOODWATCH_ALERTS_RULES": str(rules)})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"floodwatch: FLOODWATCH_ALERTS_RULES: {rules}: ")
    assert message in lines[0]


def test_bad_setting_exits_2(tmp_path: Path) -> None:
    result = run({"FLOODWATCH_ALERTS_TICK_S": "-1"})
    assert result.returncode == 2
    assert result.stderr.startswith("floodwatch: FLOODWATCH_ALERTS_TICK_S: ")


def test_partition_by_basin(tmp_path: Path) -> None:
    env = {"FLOODWATCH_STATIONS": str(write_registry(tmp_path)),
           "FLOODWATCH_ALERTS_RULES": str(RULES_FILE)}
    result = run({**env, "FLOODWATCH_ALERTS_BASINS": "abukuma,other"}, "--check")
    assert result.returncode == 0, result.stderr
    assert "rules for 3 stations are valid" in result.stdout
    result = run({**env, "FLOODWATCH_ALERTS_BASINS": "tone"}, "--check")
    assert result.returncode == 2
    assert result.stderr == ("floodwatch: FLOODWATCH_ALERTS_BASINS: no station of the "
                             "registry is in 'tone'\n")


def test_partition_topics() -> None:
    from floodwatch.alerts.service import partition, subscription_topics
    from floodwatch.core.registry import StationRegistry
    from tests.alerts.conftest import REGISTRY_YAML

    registry = StationRegistry.from_yaml_text(REGISTRY_YAML)
    assert subscription_topics(registry, False) == ["floodwatch/readings/#",
                                                    "floodwatch/forecasts/+",
                                                    "floodwatch/commands/#"]
    part = partition(registry, "abukuma")
    assert subscription_topics(part, True)[:3] == ["floodwatch/readings/river/g1",
                                                   "floodwatch/commands/+/g1",
                                                   "floodwatch/forecasts/g1"]
    # A road station has no forecast to follow.
    assert "floodwatch/forecasts/u1" not in subscription_topics(part, True)
    assert len(partition(registry, "tone")) == 0
