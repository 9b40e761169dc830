"""``floodwatch services up|status|down`` runs private servers on the configured ports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from floodwatch.services.process import free_port, port_is_open
from tests.support import REPO_ROOT


def floodwatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "floodwatch", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60, cwd=REPO_ROOT, check=False)


def _refusal(mqtt_port: int, influx_port: int, state: Path) -> str:
    """What ``services up`` says when it refuses these ports (it must refuse)."""
    result = floodwatch("services", "up", env={
        "FLOODWATCH_MQTT_URL": f"mqtt://127.0.0.1:{mqtt_port}",
        "FLOODWATCH_INFLUX_URL": f"http://127.0.0.1:{influx_port}",
        "FLOODWATCH_STATE_DIR": str(state)})
    assert result.returncode == 1, result.stdout
    return result.stderr.strip()


def _influx_port(*avoid: int) -> int:
    """A free port for InfluxDB's HTTP whose RPC port (+2, as ``services up`` derives
    it) is free too and clear of ``avoid``: a free HTTP port alone once met another
    server on its +2 (CI, 'port 46507 is already in use')."""
    while True:
        port = free_port()
        if port + 2 < 65536 and not port_is_open(port + 2) and not {
                port, port + 2} & set(avoid):
            return port


def test_up_status_down(tmp_path: Path) -> None:
    mqtt_port = free_port()
    influx_port = _influx_port(mqtt_port)
    env = {"FLOODWATCH_MQTT_URL": f"mqtt://127.0.0.1:{mqtt_port}",
           "FLOODWATCH_INFLUX_URL": f"http://127.0.0.1:{influx_port}",
           "FLOODWATCH_STATE_DIR": str(tmp_path / "state")}
    try:
        up = floodwatch("services", "up", env=env)
        assert up.returncode == 0, up.stderr
        assert port_is_open(mqtt_port)
        assert httpx.get(f"http://127.0.0.1:{influx_port}/ping").status_code == 204
        assert (tmp_path / "state" / "services" / "influxdb" / "data" / "meta").is_dir()

        again = floodwatch("services", "up", env=env)
        assert "already running" in again.stdout

        status = floodwatch("services", "status", env=env)
        assert status.returncode == 0
        assert status.stdout.count("running (pid") == 2
    finally:
        down = floodwatch("services", "down", env=env)
    assert down.returncode == 0
    assert not port_is_open(mqtt_port)
    assert not port_is_open(influx_port)
    stopped = floodwatch("services", "status", env=env)
    assert stopped.returncode == 3
    assert stopped.stdout.count("stopped") == 2


def test_a_taken_port_is_named_not_reused(tmp_path: Path) -> None:
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        said = _refusal(taken, _influx_port(taken), tmp_path / "state")
    assert said == (f"floodwatch: port {taken} is taken by another program; "
                    "set FLOODWATCH_MQTT_URL to a free port")


def test_a_taken_rpc_port_names_the_setting_it_comes_from(tmp_path: Path) -> None:
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", _influx_port() + 2))  # its HTTP port (-2) is free
        squatter.listen()
        taken = squatter.getsockname()[1]
        mqtt_port = free_port()
        env = {"FLOODWATCH_MQTT_URL": f"mqtt://127.0.0.1:{mqtt_port}",
               "FLOODWATCH_INFLUX_URL": f"http://127.0.0.1:{taken - 2}",
               "FLOODWATCH_STATE_DIR": str(tmp_path / "state")}
        try:
            result = floodwatch("services", "up", env=env)
            # Refused before anything started: no broker left running on its own.
            broker_left = port_is_open(mqtt_port)
        finally:
            floodwatch("services", "down", env=env)
    assert not broker_left
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"floodwatch: port {taken} is taken by another program; set FLOODWATCH_INFLUX_URL "
        f"to a free port (port {taken} is InfluxDB's backup/RPC port, the URL's port + 2: "
        "both must be free)")


def test_one_port_for_two_servers_is_refused(tmp_path: Path) -> None:
    influx_port = _influx_port()
    said = _refusal(influx_port + 2, influx_port, tmp_path / "state")
    assert said == (
        f"floodwatch: port {influx_port + 2} is wanted by FLOODWATCH_MQTT_URL and by "
        f"FLOODWATCH_INFLUX_URL (port {influx_port + 2} is InfluxDB's backup/RPC port, the "
        "URL's port + 2: both must be free); set one to another port")


def test_remote_hosts_are_refused(tmp_path: Path) -> None:
    result = floodwatch("services", "up", env={
        "FLOODWATCH_MQTT_URL": "mqtt://broker.example:1883",
        "FLOODWATCH_STATE_DIR": str(tmp_path / "state")})
    assert result.returncode == 1
    assert "FLOODWATCH_MQTT_URL points at broker.example" in result.stderr
