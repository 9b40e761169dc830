"""API keys and roles, public read, CORS and the body size limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from floodwatch.api.limits import BodyLimit
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings, SettingsError, load_settings
from tests.api.support import ADMIN_KEY, OFFICER_KEY, VIEWER_KEY, api_client, api_server

STATIONS = "/api/v1/stations"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-a-key-at-all-xx"}, 401),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
        ({"Authorization": f"Bearer {VIEWER_KEY}"}, 200),
        ({"X-API-Key": OFFICER_KEY}, 200),
        ({"Authorization": f"bearer {ADMIN_KEY}"}, 200),
    ],
)
def test_read_needs_a_key_unless_public(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    headers: dict[str, str], status: int,
) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry, headers=headers) as client:
            response = await client.get(STATIONS)
            assert response.status_code == status
            if status == 401:
                body = response.json()
                # The same answer for a missing, a malformed and an unknown key.
                assert body["type"].endswith("/unauthorized")
                assert body["detail"] == ("a valid API key is required "
                                          "(Authorization: Bearer KEY)")
                assert response.headers["www-authenticate"].startswith("Bearer")

    asyncio.run(scenario())


def test_public_read_opens_only_reading(make_settings: Callable[..., Settings],
                                        sample_registry: StationRegistry) -> None:
    async def scenario() -> None:
        settings = make_settings(api_public_read=True)
        async with api_client(settings, sample_registry, headers={}) as client:
            assert (await client.get(STATIONS)).status_code == 200
            assert (await client.get("/api/v1/stations/sukagawa/readings")).status_code == 200
            # A wrong key is still refused: public read is for those without one.
            wrong = await client.get(STATIONS, headers={"X-API-Key": "wrong-key-000000000"})
            assert wrong.status_code == 401

    asyncio.run(scenario())


def test_websocket_without_key_is_closed_with_a_problem(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry
) -> None:
    async def scenario() -> None:
        async with api_server(make_settings(), sample_registry) as base:
            async with connect(base.replace("http", "ws") + "/api/v1/live/ws") as ws:
                error = await ws.recv()
                assert "/unauthorized" in str(error)
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1008

    asyncio.run(scenario())


def test_cors_allows_configured_origins_only(make_settings: Callable[..., Settings],
                                             sample_registry: StationRegistry) -> None:
    settings = make_settings(api_cors_origins="https://bousai.example.jp")

    async def scenario() -> None:
        async with api_client(settings, sample_registry) as client:
            allowed = await client.get(STATIONS, headers={"Origin": "https://bousai.example.jp"})
            assert allowed.headers["access-control-allow-origin"] == "https://bousai.example.jp"
            other = await client.get(STATIONS, headers={"Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in other.headers

    asyncio.run(scenario())


def test_large_bodies_are_refused(make_settings: Callable[..., Settings],
                                  sample_registry: StationRegistry) -> None:
    settings = make_settings(api_max_body_bytes=1024)

    async def scenario() -> None:
        async with api_client(settings, sample_registry) as client:
            response = await client.post(STATIONS, content=b"x" * 2000)
            assert response.status_code == 413
            assert response.json()["type"].endswith("/body-too-large")

    asyncio.run(scenario())


def test_chunked_bodies_are_counted() -> None:
    # A bare ASGI endpoint (as the router sits inside BodyLimit in the app): reads all.
    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        await Request(scope, receive).body()
        await Response(b"ok")(scope, receive, send)

    app = BodyLimit(echo, max_bytes=1024)

    async def chunks(count: int) -> AsyncIterator[bytes]:
        for _ in range(count):
            yield b"x" * 500

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            assert (await client.post("/", content=chunks(2))).status_code == 200
            assert (await client.post("/", content=chunks(3))).status_code == 413

    asyncio.run(scenario())


def test_bad_key_spec_is_a_config_error_without_the_secret() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"FLOODWATCH_API_KEYS": "root:supersecretvalue-123456"})
    assert "FLOODWATCH_API_KEYS" in str(error.value)
    assert "supersecret" not in str(error.value)


@pytest.mark.parametrize("public_read", [False, True])
def test_openapi_declares_who_needs_a_key(make_settings: Callable[..., Settings],
                                          sample_registry: StationRegistry,
                                          public_read: bool) -> None:
    async def scenario() -> None:
        settings = make_settings(api_public_read=public_read)
        async with api_client(settings, sample_registry, headers={}) as client:
            schema = (await client.get("/openapi.json")).json()
        assert set(schema["components"]["securitySchemes"]) == {
            "bearer", "apiKey", "accessToken"}
        paths = schema["paths"]
        reader = paths["/api/v1/stations"]["get"]["security"]
        assert ({} in reader) is public_read
        officer = paths["/api/v1/stations/{station_id}/flooding"]["post"]["security"]
        assert officer == [{"bearer": []}, {"apiKey": []}]
        assert {"accessToken": []} in paths["/api/v1/live/sse"]["get"]["security"]
        assert "security" not in paths["/healthz"]["get"]

    asyncio.run(scenario())
