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
            # Confirmed for another level than the alert's now: refused, nothing sent.
            moved = await client.post("/api/v1/alerts/acknowledge", headers=officer,
                                      json={**body, "level": 4})
            assert moved.status_code == 409
            assert moved.json()["type"].endswith("/alert-level-changed")

            with collect(mosquitto.port, "floodwatch/commands/#") as commands:
                sent = await client.post("/api/v1/alerts/acknowledge", headers=officer,
                                         json={**body, "level": 3})
                assert sent.status_code == 202
                await asyncio.to_thread(wait_for, lambda: len(commands) > 0, 10,
                                        "the acknowledge command")
            command = commands.payloads("floodwatch/commands/acknowledge/sukagawa")[0]
            assert command["command_id"] == sent.json()["command_id"]
            assert command["alert_id"] == "sukagawa/1"
            assert command["note"] == "確認しました"
            assert command["officer"].startswith("api-key:")
            assert OFFICER_KEY not in json.dumps(command)
            assert command["level"] == 3
            assert len(commands.payloads("floodwatch/commands/acknowledge/sukagawa")) == 1
            assert set(command) == {"command_id", "issued_at", "officer", "alert_id", "level",
                                    "note"}

    asyncio.run(scenario())


NO_DATA: dict[str, Any] = {"alert_id": "no_data:all/1", "scope": "all",
                           "raised_at": "2026-10-12T00:30:00Z",
                           "last_reading": "2026-10-12T00:00:00Z"}


def test_open_no_data_alerts_from_the_stations_statuses(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    for station in ("akutsu", "sukagawa"):
        status = {**STATUS, "station": station, "alerts": [], "no_data": NO_DATA}
        subprocess.run(["mosquitto_pub", "-p", str(mosquitto.port), "-q", "1", "-r",
                        "-t", f"floodwatch/status/{station}", "-s"],
                       input=json.dumps(status).encode(), check=True, timeout=10)

    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry) as client:
            async def no_data() -> list[dict[str, Any]]:
                answer = (await client.get("/api/v1/alerts/open")).json()
                return list(answer["no_data"])

            found = await eventually(
                lambda: _both(no_data), "both stations' retained status")
            assert found == [{**NO_DATA, "stations": ["akutsu", "sukagawa"]}]

    asyncio.run(scenario())


async def _both(read: Callable[[], Any]) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = await read()
    return answer if answer and len(answer[0]["stations"]) == 2 else []
