"""Which configuration file a process reads: its setting, else ./config/, else (only when
trying floodwatch out) the packaged sample, said in the log."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

from floodwatch.core import config_paths
from floodwatch.core.commandline import Configured
from floodwatch.core.config_paths import (
    CONFIG_FILE_SETTINGS,
    Source,
    locate,
    log_sources,
    resolve,
)
from floodwatch.core.registry import RegistryError, StationRegistry
from floodwatch.core.settings import Settings
from tests.support import REPO_ROOT


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sources(settings: Settings, allow_sample: bool) -> dict[str, Source]:
    return {file.setting: file.source for file in locate(settings, allow_sample=allow_sample)}


def test_the_packaged_sample_is_the_checkouts_config_folder() -> None:
    for setting in CONFIG_FILE_SETTINGS:
        sample = config_paths.sample_path(setting)
        assert sample.parent == REPO_ROOT / "config"
        assert sample.is_file()


def test_a_setting_wins_even_when_its_file_is_missing(elsewhere: Path) -> None:
    (elsewhere / "config").mkdir()
    (elsewhere / "config" / "stations.yaml").write_text("stations: []\n")
    settings = Settings(stations=elsewhere / "nowhere.yaml")
    found = {file.setting: file for file in locate(settings, allow_sample=True)}
    assert found["stations"].source is Source.SETTING
    assert found["stations"].path == elsewhere / "nowhere.yaml"


def test_the_working_directorys_config_comes_before_the_sample(elsewhere: Path) -> None:
    (elsewhere / "config").mkdir()
    (elsewhere / "config" / "stations.yaml").write_text("stations: []\n")
    assert sources(Settings(), allow_sample=True) == {
        "stations": Source.WORKING_DIRECTORY, "alerts_rules": Source.SAMPLE,
        "advice": Source.SAMPLE, "notify_config": Source.SAMPLE}


def test_stages_on_their_own_never_fall_back_on_the_sample(elsewhere: Path) -> None:
    settings = Settings()
    assert set(sources(settings, allow_sample=False).values()) == {Source.MISSING}
    with structlog.testing.capture_logs() as logs:
        resolved, files = resolve(settings, allow_sample=False)
        log_sources(files)
    assert resolved.stations == Path("config/stations.yaml")
    assert [log["log_level"] for log in logs] == ["info"]
    assert logs[0]["stations"] == "config/stations.yaml (not found)"
    hint = config_paths.missing_hint(resolved, "FLOODWATCH_STATIONS: cannot read")
    assert "floodwatch init" in hint
    assert str(elsewhere) in hint
    # Only the file the failure is about: not a rules file the stage never reads.
    assert config_paths.missing_hint(resolved, "FLOODWATCH_API_PORT: too large") == ""


def test_the_sample_stands_in_with_a_warning_when_allowed(elsewhere: Path) -> None:
    with structlog.testing.capture_logs() as logs:
        resolved, files = resolve(Settings(), allow_sample=True)
        assert logs == []  # said once the process is about to run, not before its checks
        log_sources(files)
    for setting in CONFIG_FILE_SETTINGS:
        assert getattr(resolved, setting) == config_paths.sample_path(setting)
    (warning,) = logs
    assert warning["log_level"] == "warning"
    assert "SAMPLE" in warning["event"]
    assert warning["sample_for"] == ["FLOODWATCH_STATIONS", "FLOODWATCH_ALERTS_RULES",
                                     "FLOODWATCH_ADVICE", "FLOODWATCH_NOTIFY_CONFIG"]
    # A file that was found keeps its source: a hint is for files not found, not samples.
    assert config_paths.missing_hint(resolved, "FLOODWATCH_STATIONS: bad level") == ""


def test_a_registry_marked_sample_is_warned_about_whatever_its_path(elsewhere: Path) -> None:
    """The image's /app/config, a path in a setting, `floodwatch init`'s copy: a registry
    still marked `sample: true` has made-up levels, and every stage says so at start."""
    marked = (REPO_ROOT / "config" / "stations.yaml").read_text(encoding="utf-8")
    assert "\nsample: true\n" in marked
    for text, warned in ((marked, True), (marked.replace("\nsample: true\n", "\n"), False)):
        path = elsewhere / "stations.yaml"
        path.write_text(text, encoding="utf-8")
        settings, files = resolve(Settings(stations=path), allow_sample=False)
        configured = Configured(settings, StationRegistry.load(path), files)
        with structlog.testing.capture_logs() as logs:
            configured.log_sources()
        warnings = [log for log in logs if "sample: true" in log["event"]]
        assert bool(warnings) is warned, logs
        if warned:
            assert warnings[0]["log_level"] == "warning"
            assert warnings[0]["registry"] == str(path)


def test_a_registry_sample_marker_must_be_a_boolean() -> None:
    with pytest.raises(RegistryError, match="sample: expected true or false"):
        StationRegistry.from_yaml_text("sample: yes please\nstations: []\n")
