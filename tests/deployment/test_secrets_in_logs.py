"""No key reaches the logs: ``floodwatch api`` and ``floodwatch up`` used through every
way a key can be presented -- and refused -- then all their output searched for it.

uvicorn logs each WebSocket handshake with its query string, which is where the
dashboard and other browser clients put their key; the handshake line must stay (operators
read it) with the key redacted, in both log formats and at debug level."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from floodwatch.services.process import free_port
from tests.api.support import ADMIN_KEY, OFFICER_KEY, TEST_KEYS, VIEWER_KEY
from tests.support import REPO_ROOT, ApiProcess, FloodwatchProcess, StackProcess

WRONG_KEY = "wrong-key-presented-9876543"  # someone's real key, typed where it does not go
INFLUX_PASSWORD = "influx-password-5551234"  # InfluxDB without auth ignores it
NEVER_PRINTED = (VIEWER_KEY, OFFICER_KEY, ADMIN_KEY, WRONG_KEY, INFLUX_PASSWORD)


class ConsoleLogs:
    """A process logging in the console format: started when each READY text appears."""

    def __init__(self, process: FloodwatchProcess) -> None:
        process.env["FLOODWATCH_LOG_FORMAT"] = "console"
        process.log_events = self._lines  # type: ignore[method-assign]
        self.process = process

    def _lines(self, event: str) -> list[dict[str, Any]]:
        return [{"event": event} for line in self.process.log_text().splitlines()
                if event in line]


def use_every_way_in(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    stations = f"{base}/api/v1/stations"
    assert httpx.get(stations, headers={"Authorization": f"Bearer {VIEWER_KEY}"}
                     ).status_code == 200
    assert httpx.get(stations, headers={"X-API-Key": OFFICER_KEY}).status_code == 200
    assert httpx.get(stations, headers={"Authorization": f"Bearer {WRONG_KEY}"}
                     ).status_code == 401
    assert httpx.get(stations, headers={"Cookie": f"session={ADMIN_KEY}"}).status_code == 401
    # Error paths with a key in the query: an unknown path, an invalid parameter.
    assert httpx.get(f"{base}/nowhere", params={"access_token": ADMIN_KEY}).status_code == 404
    assert httpx.get(f"{stations}/sukagawa/readings", params={
        "start": "not-a-time", "access_token": ADMIN_KEY},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"}).status_code == 422
    with httpx.stream("GET", f"{base}/api/v1/live/sse",
                      params={"access_token": OFFICER_KEY}) as sse:
        assert sse.status_code == 200
        # The first event's lines (its resumable id may come before its name).
        first_event = list(itertools.islice(sse.iter_lines(), 3))
        assert "event: snapshot" in first_event, first_event
    asyncio.run(_websockets(base.replace("http", "ws")))


async def _websockets(base: str) -> None:
    # Starlette decodes parameter names: "access%5Ftoken" is an access_token too.
    for query in (f"access_token={OFFICER_KEY}", f"access%5Ftoken={VIEWER_KEY}"):
        async with connect(f"{base}/api/v1/live/ws?{query}") as ws:
            assert '"snapshot"' in str(await ws.recv())
    # Apps send a header; at debug level the websockets library logs the headers it got.
    async with connect(f"{base}/api/v1/live/ws", additional_headers={
            "Authorization": f"Bearer {ADMIN_KEY}", "Cookie": f"k={VIEWER_KEY}"}) as ws:
        assert '"snapshot"' in str(await ws.recv())
    # Refused after the handshake (a wrong key), and other names a client might use.
    for query in (f"access_token={WRONG_KEY}", f"token={VIEWER_KEY}", f"api_key={ADMIN_KEY}",
                  f"key={ADMIN_KEY}"):
        async with connect(f"{base}/api/v1/live/ws?{query}") as ws:
            assert '"error"' in str(await ws.recv())
    # Refused at the handshake: uvicorn's 403 line carries the path and query too.
    with pytest.raises(Exception, match="403"):
        async with connect(f"{base}/nowhere/ws?access_token={ADMIN_KEY}"):
            pass


def assert_no_secret_but_the_handshake(log: str) -> None:
    for secret in NEVER_PRINTED:
        assert secret not in log, f"{secret} in the log:\n{log}"
    assert "WebSocket /api/v1/live/ws?access_token=[redacted]" in log, log
    assert "[accepted]" in log
    assert "WebSocket /nowhere/ws?access_token=[redacted]" in log


@pytest.mark.parametrize(("log_format", "log_level"), [("json", "info"), ("console", "debug")])
def test_api_logs_no_key(tmp_path: Path, settings_env: Callable[..., dict[str, str]],
                         log_format: str, log_level: str) -> None:
    port = free_port()
    api = ApiProcess(settings_env(api_port=port, api_keys=TEST_KEYS, log_level=log_level,
                                  influx_password=INFLUX_PASSWORD), tmp_path / "api.log")
    if log_format == "console":
        ConsoleLogs(api)
    api.start()
    try:
        use_every_way_in(port)
    finally:
        assert api.stop(signal.SIGTERM) == 0
    assert_no_secret_but_the_handshake(api.log_text())


def test_stack_logs_no_key(tmp_path: Path, settings_env: Callable[..., dict[str, str]]
                           ) -> None:
    port = free_port()
    stack = StackProcess(settings_env(api_port=port, api_keys=TEST_KEYS,
                                      influx_password=INFLUX_PASSWORD), tmp_path / "up.log")
    stack.start()
    try:
        use_every_way_in(port)
    finally:
        assert stack.stop(signal.SIGTERM) == 0
    log = stack.log_text()
    assert_no_secret_but_the_handshake(log)
    # uvicorn's lines follow the stack's JSON format like every other line.
    assert stack.log_events("Application startup complete.")


SECRET_SETTINGS = {
    "FLOODWATCH_API_KEYS": TEST_KEYS,
    "FLOODWATCH_MQTT_PASSWORD": "mqtt-password-4242",
    "FLOODWATCH_INFLUX_TOKEN": "influx-token-4242",
    "FLOODWATCH_INFLUX_PASSWORD": INFLUX_PASSWORD,
    "FLOODWATCH_NOTIFY_NETWORK_PASSWORD": "network-password-4242",
    "FLOODWATCH_NOTIFY_WEBHOOK_SECRETS": "city:webhook-secret-4242",
    "FLOODWATCH_NOTIFY_X_CONSUMER_KEY": "x-consumer-key-4242",
    "FLOODWATCH_NOTIFY_X_CONSUMER_SECRET": "x-consumer-secret-4242",
    "FLOODWATCH_NOTIFY_X_ACCESS_TOKEN": "x-access-token-4242",
    "FLOODWATCH_NOTIFY_X_ACCESS_TOKEN_SECRET": "x-access-token-secret-4242",
    "FLOODWATCH_NOTIFY_MASTODON_TOKEN": "mastodon-token-4242",
}
# Settings refused with their value in hand: the message must not echo it.
REFUSED_SETTINGS = {
    "FLOODWATCH_API_KEYS": "officer:refused-key-4242-00000,refused-entry-4242",
    "FLOODWATCH_MQTT_URL": "http://bus:refused-url-password-4242@127.0.0.1:1883",
    "FLOODWATCH_INFLUX_URL": "ftp://db:refused-influx-password-4242@127.0.0.1",
}


def _floodwatch(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-m", "floodwatch", *args], cwd=REPO_ROOT,
                            env={**os.environ, **env}, capture_output=True, text=True,
                            timeout=60, check=False)
    return result.stdout + result.stderr


def test_settings_and_checks_print_no_secret() -> None:
    printed = _floodwatch("settings", env=SECRET_SETTINGS)
    printed += "".join(_floodwatch(stage, "--check", env=SECRET_SETTINGS)
                       for stage in ("ingest", "forecast", "alerts", "notify", "api"))
    assert "settings and 14 stations are valid" in printed  # the checks did run
    for name, value in REFUSED_SETTINGS.items():
        refused = _floodwatch("api", "--check", env={**SECRET_SETTINGS, name: value})
        assert refused.startswith(f"floodwatch: {name}"), refused
        printed += refused
    secrets = {*NEVER_PRINTED, *(value.rpartition(":")[2] for value in SECRET_SETTINGS.values())}
    secrets.update({"refused-key-4242-00000", "refused-entry-4242",
                    "refused-url-password-4242", "refused-influx-password-4242"})
    for secret in secrets - {WRONG_KEY}:
        assert secret not in printed, f"{secret} printed:\n{printed}"
