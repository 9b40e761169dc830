"""The production compose file: valid against the Compose specification (checked by
Debian's docker-compose, which needs no engine) and consistent with floodwatch itself."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from floodwatch.cli import build_parser
from floodwatch.core.settings import Settings
from tests.support import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
STAGES = ("ingest", "alerts", "notify", "api")


def _compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())  # resolves anchors and << merges
    assert isinstance(document, dict)
    return document


def test_docker_compose_accepts_the_file_as_a_newcomer_would_use_it(tmp_path: Path) -> None:
    # As the header says: .env from .env.example, the secrets and broker files in place.
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    shutil.copy(REPO_ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run(
        ["docker-compose", "--project-directory", str(tmp_path), "-f",
         str(tmp_path / "docker-compose.yml"), "config"],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(STAGES) <= set(resolved["services"])
    for stage in STAGES:
        service = resolved["services"][stage]
        assert service["command"] == [stage]
        assert service["restart"] == "unless-stopped"
        assert "healthcheck" in service


def test_every_floodwatch_variable_is_a_real_setting() -> None:
    known = {f"FLOODWATCH_{name.upper()}" for name in Settings.model_fields}
    known.add("FLOODWATCH_SECRETS_DIR")
    for name, service in _compose()["services"].items():
        for variable in service.get("environment", {}):
            if variable.startswith("FLOODWATCH_"):
                assert variable in known, f"{name}: {variable} is not a setting"


def test_stage_secrets_are_settings_and_every_reference_is_declared() -> None:
    document = _compose()
    secret_settings = {f"floodwatch_{name}" for name, field in Settings.model_fields.items()
                       if "SecretStr" in str(field.annotation)}
    for name, service in document["services"].items():
        for secret in service.get("secrets", []):
            source = secret if isinstance(secret, str) else secret["source"]
            target = secret if isinstance(secret, str) else secret.get("target", source)
            assert source in document["secrets"], f"{name}: secret {source} not declared"
            if name in STAGES:
                assert target in secret_settings, f"{name}: {target} is no secret setting"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("."):
                assert source in document["volumes"], f"{name}: volume {source} not declared"


def test_every_stage_keeps_its_state_on_its_own_volume_and_probes_itself() -> None:
    services = _compose()["services"]
    state_volumes = []
    for stage in STAGES:
        service = services[stage]
        environment = service["environment"]
        state_dir = environment["FLOODWATCH_STATE_DIR"]
        state_volumes += [v.split(":")[0] for v in service["volumes"]
                          if v.split(":")[1] == state_dir]
        probe = service["healthcheck"]["test"]
        assert probe[:3] == ["CMD", "floodwatch", "healthcheck"]
        if "--url" in probe:
            assert f":{environment['FLOODWATCH_API_PORT']}/readyz" in probe[-1]
        else:
            assert environment["FLOODWATCH_METRICS_PORT"]
        # Prometheus, in its own container, scrapes every stage (the probe uses loopback).
        assert environment["FLOODWATCH_METRICS_HOST"] == "0.0.0.0"
    assert len(state_volumes) == len(set(state_volumes)) == len(STAGES)


def test_the_image_runs_every_command_and_holds_every_package() -> None:
    parser = build_parser()
    for command in (*STAGES, "healthcheck"):
        # parse_args exits on an unknown subcommand; --help would exit 0 instead.
        assert parser.parse_args([command]).command == command
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    include = re.search(r"include = \[([^\]]*)\]", pyproject)
    assert include is not None
    for package in re.findall(r'"(\w+)\*"', include.group(1)):
        assert f"COPY {package} {package}" in dockerfile, package
