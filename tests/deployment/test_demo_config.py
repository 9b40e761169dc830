"""``floodwatch demo-config`` (floodwatch/demo_config.py): the stack's rules for the
compressed demo are the production rules with every time divided by the compression."""

from __future__ import annotations

import shlex
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from floodwatch.alerts.rules import AlertRules, Defaults, NoDataRule
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import load_settings
from floodwatch.demo_config import (
    UNSCALED,
    UNSCALED_SECTIONS,
    DemoConfigError,
    demo_registry_text,
    demo_rules_text,
    scale_rule_tree,
    write_profile,
)
from floodwatch.simulators.demo import load_profile
from tests.conftest import SAMPLE_REGISTRY
from tests.simulators.cli import simulate
from tests.support import REPO_ROOT

RULES = REPO_ROOT / "config" / "alert-rules.yaml"
# The shipped rules with per-station overrides, which must be scaled like the defaults.
RULES_TEXT = RULES.read_text(encoding="utf-8").replace(
    "stations: {}", "stations:\n  marumori: {level: {hold_s: 3600}, "
    "rate_of_rise: {window_s: 7200, threshold_m_per_h: 0.3}}\n"
    "  koriyama-r4-underpass: {flooding: {hold_s: 600}}", 1)
REGISTRY = StationRegistry.load(SAMPLE_REGISTRY)


def leaves(node: dict[str, Any], where: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{where}.{key}" if where else key
        if isinstance(value, dict):
            found.update(leaves(value, path))
        else:
            found[path] = value
    return found


@settings(max_examples=15, deadline=None)
@given(compress=st.integers(1, 3600))
def test_every_time_is_divided_every_rate_multiplied_and_nothing_else_changed(
        compress: int) -> None:
    production = AlertRules.from_yaml_text(RULES_TEXT, REGISTRY)
    demo = AlertRules.from_yaml_text(demo_rules_text(RULES_TEXT, REGISTRY, compress), REGISTRY)
    for station in REGISTRY:
        before = leaves(production._by_station[station.id].model_dump())
        after = leaves(demo._by_station[station.id].model_dump())
        assert before.keys() == after.keys()
        for path, value in before.items():
            name = path.rsplit(".", 1)[-1]
            if path.split(".")[-2].endswith("_s"):  # times per level (forecast.horizon_s)
                name = path.split(".")[-2]
            if value is None or isinstance(value, bool | str | frozenset):
                assert after[path] == value, path
            elif name.endswith("_s"):
                assert after[path] == pytest.approx(value / compress), path
            elif name.endswith("_per_h"):
                assert after[path] == pytest.approx(value * compress), path
            else:
                assert after[path] == value, path
    for name, duration in production.cap.expires:
        assert getattr(demo.cap.expires, name) == pytest.approx(duration / compress,
                                                                abs=timedelta(microseconds=1))
    assert demo.labels == production.labels
    assert demo.no_data == production.no_data


def test_station_overrides_are_scaled_too() -> None:
    demo = AlertRules.from_yaml_text(demo_rules_text(RULES_TEXT, REGISTRY, 120), REGISTRY)
    marumori = demo.river("marumori")
    assert marumori.level.hold_s == 30
    assert marumori.rate_of_rise.window_s == 60
    assert marumori.rate_of_rise.threshold_m_per_h == pytest.approx(36)
    assert demo.river("sukagawa").level.hold_s == 15  # the default, 1800 s
    assert demo.road("koriyama-r4-underpass").flooding.hold_s == 5


def test_the_list_of_rules_that_are_not_times_is_exactly_the_rules_numbers() -> None:
    # Every number of the rules is a time (*_s), a rate per hour (*_per_h) or named in
    # UNSCALED with the reason; a new rule must be sorted into one of them.
    dumped = {**leaves(Defaults().model_dump()), **leaves(NoDataRule().model_dump(), "no_data")}
    numbers = {path.rsplit(".", 1)[-1] for path, value in dumped.items()
               if isinstance(value, int | float) and not isinstance(value, bool)
               and path.split(".")[-2] not in UNSCALED_SECTIONS
               and not path.split(".")[-2].endswith("_s")}  # times per level
    untimed = {name for name in numbers if not name.endswith(("_s", "_per_h"))}
    assert untimed == set(UNSCALED) - {"flooding_m"}  # flooding_m: None unless set
    assert {"hold_s", "window_s", "threshold_m_per_h", "flatline_s"} <= numbers
    assert scale_rule_tree({"forecast": {"horizon_s": {3: 7200, 4: 3600}}}, 60) \
        == {"forecast": {"horizon_s": {3: 120.0, 4: 60.0}}}


def test_a_number_not_known_to_be_a_time_or_not_stops_the_profile() -> None:
    with pytest.raises(DemoConfigError, match=r"level\.lag_min: not known"):
        scale_rule_tree({"level": {"hold_s": 60, "lag_min": 30}}, 60)
    assert scale_rule_tree({"level": {"hold_s": 60, "deadband_m": {"danger": 0.1}}}, 60) \
        == {"level": {"hold_s": 1.0, "deadband_m": {"danger": 0.1}}}


def test_the_registry_keeps_everything_but_its_intervals() -> None:
    demo = StationRegistry.from_yaml_text(
        demo_registry_text(SAMPLE_REGISTRY.read_text(encoding="utf-8"), 120))
    for before, after in zip(REGISTRY, demo, strict=True):
        assert after.interval_s == -(-before.interval_s // 120)
        assert after.model_copy(update={"interval_s": before.interval_s}) == before
    assert demo.municipalities == REGISTRY.municipalities
    assert {s.interval_s for s in demo} == {5, 3}  # 600 s gauges and 300 s road sensors


def test_the_profile_folder_holds_what_make_demo_reads(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    (folder / "state" / "alerts").mkdir(parents=True)
    (folder / "state" / "alerts" / "old.sqlite3").write_text("a previous storm")
    settings_ = load_settings({"FLOODWATCH_STATIONS": str(SAMPLE_REGISTRY),
                               "FLOODWATCH_ALERTS_RULES": str(RULES)})
    env = write_profile(settings_, folder, 120)
    written = dict(shlex.split(line)[0].split("=", 1)
                   for line in (folder / "demo.env").read_text().splitlines())
    assert written == env
    assert (folder / "demo.env").stat().st_mode & 0o777 == 0o600  # the bus URL's password
    assert env["FLOODWATCH_STATIONS"] == str(folder.resolve() / "stations.yaml")
    assert env["FLOODWATCH_ALERTS_TICK_S"] == "1"  # 30 s / 120, at least a second
    assert env["FLOODWATCH_API_HISTORY_CACHE_S"] == "0.25"
    assert env["FLOODWATCH_API_MAX_POINTS"] == "10000"  # 500 x 120, to the setting's bound
    assert env["FLOODWATCH_ALERTS_CAP_STATUS"] == "Exercise"
    assert env["FLOODWATCH_DASHBOARD_TIME_SCALE"] == "120"
    # No simulated typhoon reaches residents, whatever the shell's credentials; the
    # disaster network is the demo's own broker.
    notify = yaml.safe_load((folder / "notify.yaml").read_text(encoding="utf-8"))
    assert env["FLOODWATCH_NOTIFY_CONFIG"] == str(folder.resolve() / "notify.yaml")
    assert (notify["x"]["enabled"], notify["mastodon"]["enabled"]) == (False, False)
    assert notify["webhooks"] == []
    assert notify["network"]["enabled"] is True
    assert env["FLOODWATCH_NOTIFY_NETWORK_URL"] == str(settings_.mqtt_url)
    assert not (folder / "state").exists()  # every demo is a fresh storm
    demo_settings = load_settings(env)
    registry = StationRegistry.load(demo_settings.stations)
    AlertRules.load(demo_settings.alerts_rules, registry)
    assert load_profile(folder)[1].compress == 120
    with pytest.raises(DemoConfigError, match="compress twice"):
        write_profile(demo_settings, folder, 120)


def test_simulate_demo_stamps_on_the_compressed_clock(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "floodwatch", "demo-config", "--compress", "60", "--dir",
         str(folder)], capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    assert result.returncode == 0, result.stderr
    assert "60x" in result.stdout
    monkeypatch.setenv("FLOODWATCH_STATIONS", str(folder / "stations.yaml"))
    started = datetime.now().astimezone()
    simulate("--demo", str(folder), "--skip", "1h", "--duration", "2h", "--dry-run",
             "--no-scenario-faults")
    lines = capsys.readouterr().out.splitlines()
    stamps = [datetime.fromisoformat(line.split('"ts": "', 1)[1].split('"', 1)[0])
              for line in lines if '"ts": "' in line]
    # 2 simulated hours at 60x: a minute back-filled before now, a minute live after it.
    # (Give or take the second the clock's anchor is cut to, and the 5 s of a report.)
    assert started - timedelta(seconds=62) <= min(stamps) <= started - timedelta(seconds=53)
    assert started + timedelta(seconds=53) <= max(stamps) <= started + timedelta(seconds=61)
    registry = StationRegistry.load(folder / "stations.yaml")
    # Each device every interval_s (10 s or 5 s) of the two wall minutes.
    assert len(lines) == sum(120 // station.interval_s for station in registry)


def test_simulate_options_that_do_not_fit_the_demo_are_refused(tmp_path: Path) -> None:
    for arguments, message in ((["--skip", "1h"], "--skip needs --demo"),
                               (["--demo", str(tmp_path), "--speed", "60"], "--speed"),
                               (["--demo", str(tmp_path)], "demo-config")):
        result = subprocess.run([sys.executable, "-m", "floodwatch", "simulate", *arguments],
                                capture_output=True, text=True, cwd=REPO_ROOT, check=False)
        assert result.returncode == 2, arguments
        assert message in result.stderr, result.stderr
