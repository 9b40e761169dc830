"""``FLOODWATCH_LOG_FORMAT=json``: every line a process writes is one JSON object, from
floodwatch's own loggers and from the libraries' (uvicorn's start, handshake, error and
shutdown lines, websockets', asyncio's), so a log collector never meets a plain line."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from floodwatch.services.process import free_port
from tests.support import ApiProcess


async def _websockets(base: str) -> None:
    async with connect(f"{base}/api/v1/live/ws") as ws:
        assert '"snapshot"' in str(await ws.recv())
    with pytest.raises(Exception, match="403"):
        async with connect(f"{base}/nowhere/ws"):
            pass


def _garbage(port: int) -> None:
    """Not HTTP: uvicorn answers 400 and logs a warning of its own."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 400")


@pytest.mark.parametrize("log_level", ["info", "debug"])
def test_every_line_of_the_api_is_json(tmp_path: Path, log_level: str,
                                       settings_env: Callable[..., dict[str, str]]) -> None:
    port = free_port()
    api = ApiProcess(settings_env(api_port=port, api_public_read="true", log_level=log_level),
                     tmp_path / "api.log")
    api.start()
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/nowhere").status_code == 404
        assert httpx.get(f"{base}/").status_code == 200
        asyncio.run(_websockets(base.replace("http", "ws")))
        _garbage(port)
    finally:
        assert api.stop(signal.SIGTERM) == 0
    lines = api.log_text().splitlines()
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not JSON: {line!r}\n" + "\n".join(lines))
    assert all(isinstance(record, dict) and "event" in record and "level" in record
               and "timestamp" in record for record in records)
    uvicorn = {record["event"] for record in records
               if record.get("logger", "").startswith("uvicorn")}
    # uvicorn's own lines, in the same format: start, a handshake, an error, the stop.
    assert any(event.startswith("Uvicorn running on") for event in uvicorn), uvicorn
    assert any("/api/v1/live/ws" in event and "[accepted]" in event for event in uvicorn)
    assert "Invalid HTTP request received." in uvicorn
    assert "Finished server process" in " ".join(uvicorn)
    print(f"\n{len(records)} lines, all JSON ({len(uvicorn)} distinct from uvicorn)")
