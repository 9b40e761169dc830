"""The live feed's message schema is in the OpenAPI document, and what the feed really
sends (WebSocket frames and SSE data, every message type) validates against it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import jsonschema_rs
from websockets.asyncio.client import connect

from floodwatch.api.hub import LiveEvent, LiveFilter, LiveHub
from floodwatch.api.live_position import Position
from floodwatch.api.live_session import Joined, client_messages
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.alerts.process import publish_all
from tests.api.forecast_points import on_bus, rising_forecast
from tests.api.live_support import TIMEOUT_S, alert_event, publish_events, sse_messages
from tests.api.support import VIEWER_HEADERS, api_client, api_server


def _validator(openapi: dict[str, Any]) -> Any:
    # The OpenAPI document as the root, so the components' $refs resolve as published.
    return jsonschema_rs.Draft202012Validator(
        {**openapi, "$ref": "#/components/schemas/LiveMessage"})


def test_the_websocket_is_documented_with_its_message_schema(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry) as client:
            openapi = (await client.get("/openapi.json")).json()
            plain = await client.get("/api/v1/live/ws")
        ws = openapi["paths"]["/api/v1/live/ws"]["get"]
        assert ws["responses"]["101"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/LiveMessage"}
        schemas = openapi["components"]["schemas"]
        mapping = schemas["LiveMessage"]["discriminator"]["mapping"]
        assert set(mapping) == {"snapshot", "reading", "alert", "status", "forecast",
                                "heartbeat", "dropped", "gap", "error"}
        validator = _validator(openapi)
        assert not validator.is_valid({"type": "alert", "station": "x"})  # no data
        assert not validator.is_valid({"type": "news"})
        assert plain.status_code == 426
        assert plain.headers["content-type"].startswith("application/problem+json")
        assert plain.json()["type"].endswith("/upgrade-required")

    asyncio.run(scenario())


async def _dropped_message() -> dict[str, Any]:
    """What a client that fell behind is sent last, through the stream's own generator
    (over a socket it takes megabytes in flight before the queue fills)."""
    hub = LiveHub(queue_size=1, replay_size=1)
    client = hub.join(LiveFilter())
    for station in ("sukagawa", "akutsu"):
        hub.publish(LiveEvent("status", station, "river", {}))
    joined = Joined(client, {"type": "snapshot", "events": [], "id": Position().token},
                    Position(), Position(), [], Position())
    messages = client_messages(joined, cast(InfluxClient, None),
                               cast(StationRegistry, None), hub.replay_reads, heartbeat_s=1.0)
    types_and_texts = [(kind, text) async for kind, text, _ in messages]
    assert [kind for kind, _ in types_and_texts] == ["snapshot", "dropped"]
    dropped: dict[str, Any] = json.loads(types_and_texts[-1][1])
    return dropped


def test_every_message_the_feed_sends_validates(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    settings = make_settings(api_heartbeat_s=0.2, api_live_queue=10, api_live_replay_buffer=1,
                             influx_url=f"http://127.0.0.1:{free_port()}", influx_timeout_s=1)
    now = datetime.now(UTC)
    events = [alert_event("sukagawa", seq, now) for seq in (1, 2, 3)]
    status = {"station": "sukagawa", "kind": "river", "seq": 0, "alerts": []}
    reading = {"station": "sukagawa", "kind": "river", "ts": "2026-11-28T01:00:00.000000Z",
               "ts_source": "device", "received_at": "2026-11-28T01:00:00.100000Z",
               "values": {"level_m": 2.5}}
    sukagawa = sample_registry.get("sukagawa")
    assert sukagawa is not None
    forecast = on_bus(rising_forecast(sukagawa, now, 2.5, rise_m_per_h=0.5))

    async def scenario() -> None:
        sent: list[dict[str, Any]] = []
        await asyncio.to_thread(publish_all, mosquitto.port, [
            ("floodwatch/status/sukagawa", json.dumps(status).encode())])
        async with api_server(settings, sample_registry) as base:
            url = base.replace("http", "ws") + "/api/v1/live/ws"
            async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S,
                                         headers=VIEWER_HEADERS) as http:
                openapi = (await http.get("/openapi.json")).json()
                async with connect(url, additional_headers=VIEWER_HEADERS) as ws:
                    await asyncio.to_thread(publish_all, mosquitto.port, [
                        ("floodwatch/readings/river/sukagawa", json.dumps(reading).encode()),
                        ("floodwatch/status/sukagawa", json.dumps(status).encode()), forecast])
                    await publish_events(mosquitto.port, events)
                    while len({m["type"] for m in sent} & {"alert", "heartbeat"}) < 2:
                        sent.append(json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S)))
                    first_id = next(m["id"] for m in sent if m["type"] == "alert")
                # A resume with InfluxDB down and the event gone from the 1-event buffer.
                async with connect(f"{url}?since={first_id}",
                                   additional_headers=VIEWER_HEADERS) as ws:
                    while "gap" not in {m["type"] for m in sent}:
                        sent.append(json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S)))
                # A bad filter is still an error (a bad id is not: a fresh start + gap).
                async with connect(f"{url}?kinds=lake",
                                   additional_headers=VIEWER_HEADERS) as ws:
                    sent.append(json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S)))
                async with http.stream("GET", "/api/v1/live/sse") as response:
                    async for event in sse_messages(response):
                        sent.append(event.body)
                        if event.type == "heartbeat":
                            break
        sent.append(await _dropped_message())
        validator = _validator(openapi)
        for message in sent:
            errors = [error.message for error in validator.iter_errors(message)]
            assert not errors, (message, errors)
        assert {m["type"] for m in sent} == {"snapshot", "reading", "status", "alert",
                                             "forecast", "heartbeat", "gap", "error",
                                             "dropped"}
        # The snapshots after it hold the forecast too, and validate with it.
        assert any(e["type"] == "forecast" for m in sent if m["type"] == "snapshot"
                   for e in m["events"])

    asyncio.run(scenario())
