"""``floodwatch init``: a starter configuration that every stage accepts as written, never
written over an office's own files without --force."""

from __future__ import annotations

from pathlib import Path

import pytest

from floodwatch.cli import main
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.stages import STAGES
from floodwatch.starter import ENV_FILE, STARTER_FILES
from tests.support import REPO_ROOT

WRITTEN = [starter.path for starter in (*STARTER_FILES, ENV_FILE)]


def test_init_writes_the_sample_with_a_header_and_says_what_to_edit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init", str(tmp_path / "office")])
    said = capsys.readouterr().out
    for starter in STARTER_FILES:
        text = (tmp_path / "office" / starter.path).read_text()
        header, _, body = text.partition("#\n")
        assert header.startswith("# Written by `floodwatch init`")
        assert starter.edit in " ".join(line.lstrip("# ") for line in header.splitlines())
        assert body == (REPO_ROOT / starter.path).read_text()
        assert starter.path in said
    env = (tmp_path / "office" / ".env").read_text()
    assert "# FLOODWATCH_STATIONS=config/stations.yaml" in env
    assert "floodwatch up" in said


def test_every_stage_accepts_the_starter_as_written(tmp_path: Path) -> None:
    main(["init", str(tmp_path)])
    config = tmp_path / "config"
    settings = Settings(stations=config / "stations.yaml",
                        alerts_rules=config / "alert-rules.yaml",
                        advice=config / "advice.yaml", notify_config=config / "notify.yaml")
    registry = StationRegistry.load(settings.stations)
    for stage in STAGES:
        assert stage.check(settings, registry).summary


def test_init_refuses_to_overwrite_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edited = tmp_path / "config" / "advice.yaml"
    edited.parent.mkdir()
    edited.write_text("# the office's own advice\n")
    with pytest.raises(SystemExit) as exited:
        main(["init", str(tmp_path)])
    assert exited.value.code == 2
    assert f"{edited}: already there" in capsys.readouterr().err
    assert edited.read_text() == "# the office's own advice\n"
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()
                  ) == ["config/advice.yaml"]

    main(["init", str(tmp_path), "--force"])
    assert edited.read_text().startswith("# Written by `floodwatch init`")
    assert all((tmp_path / path).is_file() for path in WRITTEN)
