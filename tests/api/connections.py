"""Clients of the service server (tests.api.server) for the connection-cap tests: live
WebSockets as a proxied client would open them, and raw sockets that idle, half-send
or read what the server writes before any request."""

from __future__ import annotations

import asyncio
import json
import socket

from websockets.asyncio.client import ClientConnection, connect

from tests.api.support import VIEWER_KEY

TIMEOUT_S = 15.0


def ws_url(host: str, port: int, key: str = VIEWER_KEY) -> str:
    return f"ws://{host}:{port}/api/v1/live/ws?access_token={key}"


def proxied_for(address: str, key: str = VIEWER_KEY) -> dict[str, str]:
    """A request relayed by a reverse proxy on 127.0.0.1 (trusted by default) for
    ``address``: the caps must count the real client, not the proxy."""
    return {"Authorization": f"Bearer {key}", "X-Forwarded-For": address}


async def open_ws(host: str, port: int, address: str = "198.51.100.1",
                  key: str = VIEWER_KEY) -> ClientConnection:
    """A live WebSocket for ``address``, once its first message (the snapshot) is in."""
    ws = await connect(ws_url(host, port, key), additional_headers=proxied_for(address, key))
    first = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
    assert first["type"] == "snapshot", first
    return ws


def idle_connections(host: str, port: int, count: int) -> list[socket.socket]:
    return [socket.create_connection((host, port)) for _ in range(count)]


def raw_answer(sock: socket.socket, request: bytes = b"") -> bytes:
    """What the server writes on ``sock`` (after ``request``, if any): the first read."""
    if request:
        sock.sendall(request)
    sock.settimeout(5)
    return sock.recv(65_536)


def closed_by_server(sock: socket.socket, wait_s: float) -> bool:
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
