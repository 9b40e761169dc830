"""Per-peer connection caps and the header timeout, at the socket level, against a real
uvicorn with the service's own configuration (issue 21, item 5): idle connections and
WebSockets count, a trusted proxy is not capped, half-sent requests are closed."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable

from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from tests.api.connections import closed_by_server, idle_connections, open_ws, raw_answer
from tests.api.server import service_server
from tests.api.support import eventually


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
                held = idle_connections(host, port, 3)
                with socket.create_connection((host, port)) as fourth:
                    refused = raw_answer(fourth)
                    closed = closed_by_server(fourth, 5)
                held.pop().close()
                time_left = 50
                while time_left:  # the server notices the close in its next loop turn
                    with socket.create_connection((host, port)) as again:
                        answer = raw_answer(again, healthz)
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
            held = [await open_ws(host, port), await open_ws(host, port)]

            def third() -> bytes:
                with socket.create_connection((host, port)) as sock:
                    return raw_answer(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")

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
                held = idle_connections(host, port, 4)  # 127.0.0.1: the default proxy
                answers = [raw_answer(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                           for sock in held]
                for sock in held:
                    sock.close()
                return answers

            answers = await asyncio.to_thread(probe)
            assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers), answers

    asyncio.run(scenario())


def test_half_sent_requests_are_closed_after_the_header_timeout(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    settings = make_settings(api_header_timeout_s=1, api_keep_alive_s=60)

    async def scenario() -> None:
        async with service_server(settings, sample_registry) as (host, port):
            def probe() -> tuple[bool, bool, bool, bytes]:
                with socket.create_connection((host, port)) as silent:
                    silent_closed = closed_by_server(silent, 5)
                with socket.create_connection((host, port)) as half:
                    half.sendall(b"GET /healthz HT")
                    half_closed = closed_by_server(half, 5)
                # Dripped a byte at a time: the deadline is not reset by each byte.
                with socket.create_connection((host, port)) as drip:
                    dripped_closed = False
                    for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaa":
                        try:
                            drip.sendall(bytes([byte]))
                        except OSError:
                            dripped_closed = True
                            break
                        if closed_by_server(drip, 0.1):
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
