"""Live-stream and request caps, per client address, per key and in total, against a real
uvicorn with the service's own configuration, the real broker and InfluxDB (issue 21,
item 5); per-peer connections and the header timeout: test_connection_caps_per_peer.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from tests.api.connections import TIMEOUT_S, open_ws, proxied_for, ws_url
from tests.api.server import service_server
from tests.api.support import OFFICER_KEY, VIEWER_KEY, eventually


async def _refused_ws(host: str, port: int, address: str,
                     key: str = VIEWER_KEY) -> tuple[dict[str, Any], int]:
    """The error message and close code of a WebSocket the server refuses."""
    async with connect(ws_url(host, port, key),
                       additional_headers=proxied_for(address, key)) as ws:
        message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), TIMEOUT_S)
    assert closed.value.rcvd is not None
    return message, closed.value.rcvd.code


def _assert_refusal(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["type"].endswith("/" + slug)


def test_live_streams_per_address_are_capped(make_settings: Callable[..., Settings],
                                             sample_registry: StationRegistry) -> None:
    settings = make_settings(api_max_live_per_client=2)

    async def scenario() -> None:
        async with service_server(settings, sample_registry) as (host, port):
            first, second = await open_ws(host, port), await open_ws(host, port)
            message, code = await _refused_ws(host, port, "198.51.100.1")
            assert code == 1013
            assert message["type"] == "error"
            assert message["problem"]["status"] == 429
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
                sse = await client.get("/api/v1/live/sse", headers=proxied_for("198.51.100.1"))
                _assert_refusal(sse, 429, "too-many-connections")
            # Another client behind the same proxy is not affected.
            other = await open_ws(host, port, "198.51.100.2")
            # A closed stream frees its slot (once the server has seen it close).
            await first.close()
            again = await eventually(lambda: _try_ws(host, port), "the freed slot")
            for ws in (second, other, again):
                await ws.close()

    asyncio.run(scenario())


async def _try_ws(host: str, port: int) -> ClientConnection | None:
    """A live WebSocket if the server takes it now; None if it refuses."""
    ws = await connect(ws_url(host, port), additional_headers=proxied_for("198.51.100.1"))
    first = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
    if first["type"] == "snapshot":
        return ws
    await ws.close()
    return None


def test_an_officer_is_counted_by_key_not_by_a_shared_address(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    """Residents behind the officer's office NAT (or a carrier's shared address) use up
    that address's live streams: the officer's key still gets its own."""
    settings = make_settings(api_max_live_per_client=1)

    async def scenario() -> None:
        async with service_server(settings, sample_registry) as (host, port):
            resident = await open_ws(host, port, "198.51.100.9")
            _, code = await _refused_ws(host, port, "198.51.100.9")  # address full
            assert code == 1013
            officer = await open_ws(host, port, "198.51.100.9", key=OFFICER_KEY)
            # The key has a budget of its own, the same size, whatever its address.
            message, code = await _refused_ws(host, port, "198.51.100.10", key=OFFICER_KEY)
            assert (code, message["problem"]["status"]) == (1013, 429)
            for ws in (resident, officer):
                await ws.close()

    asyncio.run(scenario())


def test_total_live_clients_are_capped_with_503(make_settings: Callable[..., Settings],
                                                sample_registry: StationRegistry) -> None:
    settings = make_settings(api_max_live_clients=2)

    async def scenario() -> None:
        async with service_server(settings, sample_registry) as (host, port):
            held = [await open_ws(host, port, "198.51.100.1"),
                    await open_ws(host, port, "198.51.100.2")]
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
                sse = await client.get("/api/v1/live/sse", headers=proxied_for("198.51.100.3"))
                _assert_refusal(sse, 503, "live-feed-full")
                # REST is not a live stream: still served.
                stations = await client.get("/api/v1/stations", headers=proxied_for("198.51.100.3"))
                assert stations.status_code == 200
            message, code = await _refused_ws(host, port, "198.51.100.3")
            assert (code, message["problem"]["status"]) == (1013, 503)
            for ws in held:
                await ws.close()

    asyncio.run(scenario())


def test_requests_in_progress_per_address_are_capped(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    settings = make_settings(api_max_requests_per_client=3, api_max_live_per_client=10)

    async def scenario() -> None:
        async with (service_server(settings, sample_registry) as (host, port),
                    httpx.AsyncClient(base_url=f"http://{host}:{port}") as client):
            # Three requests that stay in progress: live SSE streams.
            streams = [client.stream("GET", "/api/v1/live/sse", headers=proxied_for("203.0.113.7"))
                       for _ in range(3)]
            responses = [await stream.__aenter__() for stream in streams]
            assert [r.status_code for r in responses] == [200, 200, 200]
            crowded = await client.get("/api/v1/stations", headers=proxied_for("203.0.113.7"))
            _assert_refusal(crowded, 429, "too-many-connections")
            other = await client.get("/api/v1/stations", headers=proxied_for("203.0.113.8"))
            assert other.status_code == 200
            for stream in streams:
                await stream.__aexit__(None, None, None)

    asyncio.run(scenario())


def test_live_websocket_declines_compression(make_settings: Callable[..., Settings],
                                            sample_registry: StationRegistry) -> None:
    """permessage-deflate cost each connection ~100 KiB of zlib state that stayed with
    the process after the flood of the issue; the service no longer offers it."""
    async def scenario() -> None:
        async with service_server(make_settings(), sample_registry) as (host, port):
            ws = await open_ws(host, port)  # the client offers permessage-deflate
            assert ws.response is not None
            assert "sec-websocket-extensions" not in ws.response.headers
            await ws.close()

    asyncio.run(scenario())
