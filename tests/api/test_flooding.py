"""Declaring and ending a flooding state: an officer's command on the bus, in exactly
the form the alert engine parses (alerts.commands), with the errors checked first."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from floodwatch.alerts.commands import parse_command
from floodwatch.core.bus import FloodingCommand
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.servers import MosquittoServer
from tests.api.alert_points import retain_status
from tests.api.support import OFFICER_KEY, api_client, eventually
from tests.support import Collected, collect, wait_for

OFFICER = {"Authorization": f"Bearer {OFFICER_KEY}"}


def test_declare_and_end_flooding(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    retain_status(mosquitto.port, "sukagawa", [], flooding_declared=True)
    declare = {"action": "declare", "note": "左岸で越水"}

    async def scenario() -> None:
        async with api_client(make_settings(api_public_read=True), sample_registry) as client:
            path = "/api/v1/stations/fushiguro/flooding"
            viewer = await client.post(path, json=declare)
            assert viewer.status_code == 403
            anonymous = await client.post(path, json=declare, headers={"Authorization": ""})
            assert anonymous.status_code == 401
            road = await client.post("/api/v1/stations/tsuchiyu-pass/flooding",
                                     json=declare, headers=OFFICER)
            assert (road.status_code, road.json()["type"].rsplit("/", 1)[1]) == (
                422, "not-a-river")
            unknown = await client.post("/api/v1/stations/nowhere/flooding", json=declare,
                                        headers=OFFICER)
            assert unknown.status_code == 404
            bad = await client.post(path, json={"action": "maybe"}, headers=OFFICER)
            assert (bad.status_code, bad.json()["type"].rsplit("/", 1)[1]) == (
                422, "bad-parameter")

            async def status_seen() -> bool:
                response = await client.post("/api/v1/stations/sukagawa/flooding",
                                             json=declare, headers=OFFICER)
                return response.status_code == 409

            # Declaring twice is refused once the engine's status says it is declared.
            await eventually(status_seen, "the retained status")

            with collect(mosquitto.port, "floodwatch/commands/#") as commands:
                sent = await client.post(path, json=declare, headers=OFFICER)
                assert sent.status_code == 202
                ended = await client.post("/api/v1/stations/sukagawa/flooding",
                                          json={"action": "end"}, headers=OFFICER)
                assert ended.status_code == 202
                await asyncio.to_thread(wait_for, lambda: len(commands) >= 2, 10,
                                        "the flooding commands")
            by_topic = {sent.json()["topic"]: sent.json()["command_id"],
                        ended.json()["topic"]: ended.json()["command_id"]}
            assert set(by_topic) == {"floodwatch/commands/flooding/fushiguro",
                                     "floodwatch/commands/flooding/sukagawa"}
            for topic, command_id in by_topic.items():
                payload = _raw(commands, topic)
                # The engine's own parser accepts it as a flooding command.
                command = parse_command(topic, payload, sample_registry)
                assert isinstance(command.body, FloodingCommand)
                assert command.body.command_id == command_id
                assert OFFICER_KEY not in payload.decode()
            fushiguro = json.loads(_raw(commands, "floodwatch/commands/flooding/fushiguro"))
            assert (fushiguro["action"], fushiguro["note"]) == ("declare", "左岸で越水")
            assert "note" not in json.loads(
                _raw(commands, "floodwatch/commands/flooding/sukagawa"))

    asyncio.run(scenario())


def _raw(collected: Collected, topic: str) -> bytes:
    return next(payload for got, payload, _ in collected.messages if got == topic)


def test_a_note_with_a_control_character_is_refused_with_a_problem(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    """U+007F once reached the engine and broke the event's history (issue 21): such a
    note never leaves the API, and the officer is told which field and why."""
    retain_status(mosquitto.port, "sukagawa", [], flooding_declared=False)

    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry) as client:
            with collect(mosquitto.port, "floodwatch/commands/#") as commands:
                answers = [await client.post(path, json=body, headers=OFFICER) for path, body in [
                    ("/api/v1/stations/sukagawa/flooding",
                     {"action": "declare", "note": "越水\x7f"}),
                    ("/api/v1/stations/sukagawa/flooding",
                     {"action": "declare", "note": "two\nlines"}),
                    ("/api/v1/stations/sukagawa/flooding",
                     {"action": "declare", "note": "c1\x85"}),
                    ("/api/v1/alerts/acknowledge",
                     {"alert_id": "sukagawa/1", "note": "seen\x7f"}),
                ]]
                accepted = await client.post("/api/v1/stations/sukagawa/flooding",
                                             json={"action": "declare", "note": "越水"},
                                             headers=OFFICER)
                await asyncio.to_thread(wait_for, lambda: len(commands) >= 1, 10,
                                        "the accepted command")
        for answer in answers:
            assert answer.status_code == 422
            assert answer.headers["content-type"] == "application/problem+json"
            problem = answer.json()
            assert problem["type"].rsplit("/", 1)[1] == "bad-parameter"
            assert problem["detail"].startswith("body.note: Value error, control character U+")
        assert answers[0].json()["detail"].split(", ")[1].startswith("control character U+007F")
        assert accepted.status_code == 202
        # Only the good note reached the bus.
        assert [json.loads(payload)["note"] for _, payload, _ in commands.messages] == ["越水"]

    asyncio.run(scenario())
