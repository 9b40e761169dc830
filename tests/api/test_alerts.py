"""Open alerts from the engine's retained status, and acknowledgement as a bus command."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from typing import Any

from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.servers import MosquittoServer
from tests.api.support import OFFICER_KEY, api_client, eventually
from tests.support import collect, wait_for

ALERT: dict[str, Any] = {"alert_id": "sukagawa/1", "alert_type": "river_level", "level": 3,
                         "level_name": "evacuation", "acknowledged": False}
STATUS: dict[str, Any] = {"station": "sukagawa", "kind": "river", "seq": 4, "offline": False,
          "flooding_declared": False,
          "alerts": [ALERT]}


def _retain_status(port: int) -> None:
    subprocess.run(["mosquitto_pub", "-p", str(port), "-q", "1", "-r",
                    "-t", "floodwatch/status/sukagawa", "-s"],
                   input=json.dumps(STATUS).encode(), check=True, timeout=10)


def test_open_alerts_and_acknowledge(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    _retain_status(mosquitto.port)

    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry) as client:
            async def listed() -> list[dict[str, Any]]:
                alerts: list[dict[str, Any]] = (
                    await client.get("/api/v1/alerts/open")).json()["alerts"]
                return alerts

            alerts = await eventually(listed, "the retained status")
            assert alerts == [{"station": "sukagawa", **ALERT}]

            body = {"alert_id": "sukagawa/1", "note": "確認しました"}
            viewer = await client.post("/api/v1/alerts/acknowledge", json=body)
            assert viewer.status_code == 403
            assert viewer.json()["type"].endswith("/forbidden")

            officer = {"Authorization": f"Bearer {OFFICER_KEY}"}
            gone = await client.post("/api/v1/alerts/acknowledge", headers=officer,
                                     json={"alert_id": "sukagawa/9"})
            assert gone.status_code == 404
            assert gone.json()["type"].endswith("/unknown-alert")

            with collect(mosquitto.port, "floodwatch/commands/#") as commands:
                sent = await client.post("/api/v1/alerts/acknowledge", headers=officer,
                                         json=body)
                assert sent.status_code == 202
                await asyncio.to_thread(wait_for, lambda: len(commands) > 0, 10,
                                        "the acknowledge command")
            command = commands.payloads("floodwatch/commands/acknowledge/sukagawa")[0]
            assert command["command_id"] == sent.json()["command_id"]
            assert command["alert_id"] == "sukagawa/1"
            assert command["note"] == "確認しました"
            assert command["officer"].startswith("api-key:")
            assert OFFICER_KEY not in json.dumps(command)
            assert set(command) == {"command_id", "issued_at", "officer", "alert_id", "note"}

    asyncio.run(scenario())


NO_DATA_STATUS: dict[str, Any] = {"schema_version": 1, "open": [{
    "scope": "all", "alert_id": "no_data/1", "raised_at": "2026-10-12T00:30:00.000000Z",
    "stations": ["akutsu", "sukagawa"], "last_reading": "2026-10-12T00:00:00.000000Z"}]}


def test_open_no_data_alerts_from_the_engines_retained_status(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    subprocess.run(["mosquitto_pub", "-p", str(mosquitto.port), "-q", "1", "-r",
                    "-t", "floodwatch/no-data-status", "-s"],
                   input=json.dumps(NO_DATA_STATUS).encode(), check=True, timeout=10)

    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry) as client:
            async def no_data() -> list[dict[str, Any]]:
                answer: list[dict[str, Any]] = (
                    await client.get("/api/v1/alerts/open")).json()["no_data"]
                return answer

            assert await eventually(no_data, "the retained no-data status") == \
                NO_DATA_STATUS["open"]

    asyncio.run(scenario())
