"""Connection caps and the header timeout, against a real uvicorn with the service's own
configuration, the real broker and InfluxDB (issue 21, item 5)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from tests.api.server import service_server
from tests.api.support import OFFICER_KEY, VIEWER_KEY, eventually

TIMEOUT_S = 15.0


def _ws_url(host: str, port: int, key: str = VIEWER_KEY) -> str:
    return f"ws://{host}:{port}/api/v1/live/ws?access_token={key}"


def _as(address: str, key: str = VIEWER_KEY) -> dict[str, str]:
    """A request relayed by a reverse proxy on 127.0.0.1 (trusted by default) for
    ``address``: the caps must count the real client, not the proxy."""
    return {"Authorization": f"Bearer {key}", "X-Forwarded-For": address}


async def _open_ws(host: str, port: int, address: str = "198.51.100.1",
                   key: str = VIEWER_KEY) -> ClientConnection:
    ws = await connect(_ws_url(host, port, key), additional_headers=_as(address, key))
    first = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
    assert first["type"] == "snapshot", first
    return ws


async def _refused_ws(host: str, port: int, address: str,
                     key: str = VIEWER_KEY) -> tuple[dict[str, Any], int]:
    """The error message and close code of a WebSocket the server refuses."""
    async with connect(_ws_url(host, port, key),
                       additional_headers=_as(address, key)) as ws:
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
            first, second = await _open_ws(host, port), await _open_ws(host, port)
            message, code = await _refused_ws(host, port, "198.51.100.1")
            assert code == 1013
            assert message["type"] == "error"
            assert message["problem"]["status"] == 429
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
                sse = await client.get("/api/v1/live/sse", headers=_as("198.51.100.1"))
                _assert_refusal(sse, 429, "too-many-connections")
            # Another client behind the same proxy is not affected.
            other = await _open_ws(host, port, "198.51.100.2")
            # A closed stream frees its slot (once the server has seen it close).
            await first.close()
            again = await eventually(lambda: _try_ws(host, port), "the freed slot")
            for ws in (second, other, again):
                await ws.close()

    asyncio.run(scenario())


async def _try_ws(host: str, port: int) -> ClientConnection | None:
    """A live WebSocket if the server takes it now; None if it refuses."""
    ws = await connect(_ws_url(host, port), additional_headers=_as("198.51.100.1"))
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
            resident = await _open_ws(host, port, "198.51.100.9")
            _, code = await _refused_ws(host, port, "198.51.100.9")  # address full
            assert code == 1013
            officer = await _open_ws(host, port, "198.51.100.9", key=OFFICER_KEY)
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
            held = [await _open_ws(host, port, "198.51.100.1"),
                    await _open_ws(host, port, "198.51.100.2")]
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
                sse = await client.get("/api/v1/live/sse", headers=_as("198.51.100.3"))
                _assert_refusal(sse, 503, "live-feed-full")
                # REST is not a live stream: still served.
                stations = await client.get("/api/v1/stations", headers=_as("198.51.100.3"))
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
            streams = [client.stream("GET", "/api/v1/live/sse", headers=_as("203.0.113.7"))
                       for _ in range(3)]
            responses = [await stream.__aenter__() for stream in streams]
            assert [r.status_code for r in responses] == [200, 200, 200]
            _assert_refusal(await client.get("/api/v1/stations", headers=_as("203.0.113.7")),
                            429, "too-many-connections")
            other = await client.get("/api/v1/stations", headers=_as("203.0.113.8"))
            assert other.status_code == 200
            for stream in streams:
                await stream.__aexit__(None, None, None)

    asyncio.run(scenario())


def _idle_connections(host: str, port: int, count: int) -> list[socket.socket]:
    return [socket.create_connection((host, port)) for _ in range(count)]


def _answer(sock: socket.socket, request: bytes = b"") -> bytes:
    if request:
        sock.sendall(request)
    sock.settimeout(5)
    return sock.recv(65_536)


def test_connections_per_peer_are_capped(make_settings: Callable[..., Settings],
                                         sample_registry: StationRegistry) -> None:
    """Idle connections count too (the app never sees them): the peer's fourth is
    answered 429 at once and closed; a closed one frees its place."""
    # 127.0.0.1 is no trusted proxy here, so it is counted as a client.
    settings = make_settings(api_max_connections_per_client=3, api_header_timeout_s=30,
                             api_forwarded_allow_ips="192.0.2.1")
    healthz = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

    async def scenario() -> None:
        async with service_server(settings, sample_registry) as (host, port):
            def probe() -> tuple[bytes, bool, bytes]:
                held = _idle_connections(host, port, 3)
                with socket.create_connection((host, port)) as fourth:
                    refused = _answer(fourth)
                    closed = _closed_by_server(fourth, 5)
                held.pop().close()
                time_left = 50
                while time_left:  # the server notices the close in its next loop turn
                    with socket.create_connection((host, port)) as again:
                        answer = _answer(again, healthz)
                    if answer.startswith(b"HTTP/1.1 200"):
                        break
                    time_left -= 1
                    time.sleep(0.1)
                for sock in held:
                    sock.close()
                return refused, closed, answer

            refused, closed, answer = await asyncio.to_thread(probe)
            head, _, body = refused.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 429"), refused
            assert b"retry-after: 10" in head.lower()
            # Written before any request, yet with every answer's browser protections.
            assert b"x-content-type-options: nosniff" in head.lower()
            assert b"content-security-policy: default-src 'none'" in head.lower()
            assert json.loads(body)["type"].endswith("/too-many-connections")
            assert closed
            assert answer.startswith(b"HTTP/1.1 200"), answer

    asyncio.run(scenario())


def test_websockets_count_as_connections_of_their_peer(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    settings = make_settings(api_max_connections_per_client=2, api_max_live_per_client=10,
                             api_forwarded_allow_ips="192.0.2.1")

    async def scenario() -> None:
        async with service_server(settings, sample_registry) as (host, port):
            held = [await _open_ws(host, port), await _open_ws(host, port)]

            def third() -> bytes:
                with socket.create_connection((host, port)) as sock:
                    return _answer(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")

            assert (await asyncio.to_thread(third)).startswith(b"HTTP/1.1 429")
            await held.pop().close()

            async def served() -> bool:  # once the server has seen the socket close
                return (await asyncio.to_thread(third)).startswith(b"HTTP/1.1 200")

            await eventually(served, "the closed WebSocket's place freed")
            await held.pop().close()

    asyncio.run(scenario())


def test_a_trusted_proxy_is_not_capped(make_settings: Callable[..., Settings],
                                       sample_registry: StationRegistry) -> None:
    settings = make_settings(api_max_connections_per_client=2, api_header_timeout_s=30)

    async def scenario() -> None:
        async with service_server(settings, sample_registry) as (host, port):
            def probe() -> list[bytes]:
                held = _idle_connections(host, port, 4)  # 127.0.0.1: the default proxy
                answers = [_answer(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                           for sock in held]
                for sock in held:
                    sock.close()
                return answers

            answers = await asyncio.to_thread(probe)
            assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers), answers

    asyncio.run(scenario())


def test_live_websocket_declines_compression(make_settings: Callable[..., Settings],
                                            sample_registry: StationRegistry) -> None:
    """permessage-deflate cost each connection ~100 KiB of zlib state that stayed with
    the process after the flood of the issue; the service no longer offers it."""
    async def scenario() -> None:
        async with service_server(make_settings(), sample_registry) as (host, port):
            ws = await _open_ws(host, port)  # the client offers permessage-deflate
            assert ws.response is not None
            assert "sec-websocket-extensions" not in ws.response.headers
            await ws.close()

    asyncio.run(scenario())


def _closed_by_server(sock: socket.socket, wait_s: float) -> bool:
    """True when the server closes the connection within ``wait_s`` (recv returns EOF);
    False if it is still open then."""
    sock.settimeout(wait_s)
    try:
        while sock.recv(65_536):
            pass  # a response to an earlier, complete request
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def test_half_sent_requests_are_closed_after_the_header_timeout(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    settings = make_settings(api_header_timeout_s=1, api_keep_alive_s=60)

    async def scenario() -> None:
        async with service_server(settings, sample_registry) as (host, port):
            def probe() -> tuple[bool, bool, bool, bytes]:
                with socket.create_connection((host, port)) as silent:
                    silent_closed = _closed_by_server(silent, 5)
                with socket.create_connection((host, port)) as half:
                    half.sendall(b"GET /healthz HT")
                    half_closed = _closed_by_server(half, 5)
                # Dripped a byte at a time: the deadline is not reset by each byte.
                with socket.create_connection((host, port)) as drip:
                    dripped_closed = False
                    for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaa":
                        try:
                            drip.sendall(bytes([byte]))
                        except OSError:
                            dripped_closed = True
                            break
                        if _closed_by_server(drip, 0.1):
                            dripped_closed = True
                            break
                # A complete request on the same server is answered.
                with socket.create_connection((host, port)) as whole:
                    whole.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    whole.settimeout(5)
                    answer = whole.recv(65_536)
                return silent_closed, half_closed, dripped_closed, answer

            silent, half, dripped, answer = await asyncio.to_thread(probe)
            assert silent, "a connection that sent nothing was held open"
            assert half, "a half-sent request line was held open"
            assert dripped, "a header dripped byte by byte was held open"
            assert answer.startswith(b"HTTP/1.1 200")

    asyncio.run(scenario())
