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
STAGES = ("ingest", "forecast", "alerts", "notify", "api")


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
    # The wheel's package data is in place before pip builds it (setup.py checks it).
    build = dockerfile.index("RUN pip install --no-deps .")  # deps: the lock, above
    for data in ("COPY config config", "COPY dashboard dashboard",
                 "COPY --from=dashboard /dashboard/node_modules dashboard/node_modules"):
        assert -1 < dockerfile.find(data) < build, data


def test_the_dashboard_is_built_on_a_supported_node_lts() -> None:
    node = re.search(r"^FROM node:(\d+)", (REPO_ROOT / "Dockerfile").read_text(), re.M)
    assert node is not None
    # Even majors are the LTS lines; 20 reached its end of life on 2026-04-30.
    assert int(node.group(1)) >= 22
    assert int(node.group(1)) % 2 == 0


def test_the_headers_broker_user_commands_never_empty_the_password_file(tmp_path: Path
                                                                        ) -> None:
    # The header's own lines, from creating the file to adding the stages' users, run as
    # an operator pastes them: twice (a new stage password), with a device added between.
    header = [line.removeprefix("#").removeprefix("   ")
              for line in COMPOSE.read_text().splitlines() if line.startswith("#")]
    first = next(n for n, line in enumerate(header) if line.startswith("touch "))
    last = next(n for n, line in enumerate(header) if line.rstrip().endswith("done"))
    script = "\n".join(header[first:last + 1])
    assert not [line for line in script.splitlines() if "-c" in line.split("#")[0].split()]
    (tmp_path / "config" / "mosquitto").mkdir(parents=True)
    (tmp_path / "secrets").mkdir()
    for stage in STAGES:
        (tmp_path / "secrets" / f"{stage}_mqtt_password").write_text(f"password-of-{stage}")
    passwd = tmp_path / "config" / "mosquitto" / "passwd"

    def run(command: str) -> None:
        subprocess.run(["bash", "-euc", command], cwd=tmp_path, check=True, timeout=60)

    run(script)
    run(f"mosquitto_passwd -b {passwd} sukagawa device-password")
    run(script)
    users = [line.split(":")[0] for line in passwd.read_text().splitlines()]
    assert sorted(users) == sorted([*(f"floodwatch-{stage}" for stage in STAGES), "sukagawa"])
