"""``floodwatch healthcheck``, the containers' probe: alive and connected to the broker."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest

from floodwatch.core.commandline import serve_metrics
from floodwatch.core.mqtt import BrokerAddress, MqttSession
from floodwatch.core.settings import Settings
from floodwatch.healthcheck import disconnected_sessions, probe_address
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.support import REPO_ROOT, IngestProcess, wait_for


def healthcheck(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "floodwatch", "healthcheck", *args],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=30, check=False, cwd=REPO_ROOT)


def test_healthy_while_connected_and_not_once_the_broker_is_gone(
    tmp_path: Path, mosquitto: MosquittoServer, settings_env: Callable[..., dict[str, str]],
) -> None:
    env = settings_env(metrics_port=free_port())
    ingest = IngestProcess(env, tmp_path / "ingest.log").start()
    try:
        wait_for(lambda: healthcheck(env).returncode == 0, 10, "a healthy probe")
        mosquitto.stop()
        wait_for(lambda: healthcheck(env).returncode == 1, 15, "an unhealthy probe")
        result = healthcheck(env)
        assert result.stderr.startswith("floodwatch: unhealthy: disconnected from the broker")
    finally:
        ingest.stop()


def test_a_process_that_is_not_there_is_unhealthy_in_one_line(
    settings_env: Callable[..., dict[str, str]],
) -> None:
    result = healthcheck(settings_env(), "--url", f"http://127.0.0.1:{free_port()}/readyz")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("floodwatch: unhealthy: http://127.0.0.1:")


def test_without_a_metrics_port_the_setting_is_named() -> None:
    result = healthcheck({})
    assert result.returncode == 2
    assert "FLOODWATCH_METRICS_PORT" in result.stderr


def test_every_session_must_be_connected() -> None:
    up = 'floodwatch_mqtt_connected{client_id="a"} 1.0\n'
    down = 'floodwatch_mqtt_connected{client_id="b"} 0.0\n'
    assert disconnected_sessions(up) is None
    assert disconnected_sessions(up + down) == (
        'disconnected from the broker: floodwatch_mqtt_connected{client_id="b"}')
    assert disconnected_sessions("# nothing yet\n") is not None


def test_the_disaster_networks_broker_away_leaves_notify_healthy() -> None:
    # The network channel's session, never connected (as while that broker is down):
    # shown to operators under its own name, not among the sessions the check requires.
    MqttSession(BrokerAddress.from_url("mqtt://127.0.0.1:9"), "network-away", (),
                session_expiry_s=0, receive_maximum=10, external=True)
    metrics = generate_latest().decode()
    assert 'floodwatch_mqtt_external_connected{client_id="network-away"} 0.0' in metrics
    problem = disconnected_sessions(metrics)
    assert problem is None or "network-away" not in problem


def _metrics_answer(host: str, port: int) -> bool:
    try:
        return httpx.get(f"http://{host}:{port}/metrics", timeout=2).status_code == 200
    except httpx.ConnectError:
        return False


@pytest.mark.parametrize(("listen", "reached_from_another_address"),
                         [(None, False), ("0.0.0.0", True)])
def test_metrics_listen_on_loopback_unless_told_otherwise(
        listen: str | None, reached_from_another_address: bool) -> None:
    # 127.0.0.2 is this host too, but not the address a loopback-only server listens on:
    # it stands for Prometheus in another container.
    port = free_port()
    settings = (Settings(metrics_port=port) if listen is None
                else Settings(metrics_port=port, metrics_host=listen))
    server = serve_metrics(settings)
    assert server is not None
    try:
        assert _metrics_answer("127.0.0.1", port)
        assert _metrics_answer("127.0.0.2", port) is reached_from_another_address
    finally:
        server.shutdown()
        server.server_close()


def test_the_probe_reaches_a_wildcard_listener_through_loopback() -> None:
    assert probe_address("0.0.0.0") == "127.0.0.1"
    assert probe_address("::") == "[::1]"
    assert probe_address("10.0.0.7") == "10.0.0.7"
    assert probe_address("fd00::7") == "[fd00::7]"
