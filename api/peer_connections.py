"""A cap on the TCP connections one peer address holds open, in uvicorn's protocol.

api.connection_limits counts requests in progress, which the app sees; a client that
opens connections and sends nothing (or idles between requests) is invisible there and
still costs a socket and a slot each. Counted where connections are made, a peer past
``api_max_connections_per_client`` is answered at once with a 429 problem document
(sent before its request: clients read it as the answer to whatever they send) and
the connection is closed.

The peer is the TCP peer: a reverse proxy listed in ``api_forwarded_allow_ips`` carries
many clients on its connections and is not counted (the per-client caps of
api.connection_limits then count each client by X-Forwarded-For). A connection upgraded
to a WebSocket stays counted until its socket closes (PeerCountedWebSocket): a client
refused a live stream and never answering the close handshake holds its socket for
uvicorn's close timeout, and those must not pile up either.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections import Counter
from typing import ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from floodwatch.api.connection_limits import (
    REFUSED,
    RETRY_AFTER_S,
    release,
    too_many_from_client,
)
from floodwatch.api.problems import PROBLEM_MEDIA_TYPE
from floodwatch.api.security_headers import SECURITY_HEADERS

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def refusal(cap: int) -> bytes:
    """The whole answer, written before any request is read: the same problem document
    and browser protections as every other answer of the API."""
    REFUSED.labels("connection").inc()
    body = json.dumps(too_many_from_client("connections", cap).model_dump()).encode()
    headers = {"content-type": PROBLEM_MEDIA_TYPE, "content-length": str(len(body)),
               "retry-after": str(RETRY_AFTER_S), **SECURITY_HEADERS, "connection": "close"}
    return (b"HTTP/1.1 429 Too Many Requests\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()
            + b"\r\n" + body)


def trusted_networks(forwarded_allow_ips: str) -> list[Network] | None:
    """The proxies' networks; None for '*' (every peer is a trusted proxy)."""
    networks: list[Network] = []
    for entry in (part.strip() for part in forwarded_allow_ips.split(",")):
        if entry == "*":
            return None
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                continue  # a name or unix socket path: uvicorn's business, never a peer IP
    return networks


class PeerCountedWebSocket(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol (the one its "auto" picks) releasing the peer's
    connection count when the socket closes."""

    _peer: str | None = None
    _counts: Counter[str] | None = None

    def count_for(self, peer: str, counts: Counter[str]) -> None:
        self._peer, self._counts = peer, counts

    def connection_lost(self, exc: Exception | None) -> None:
        if self._peer is not None and self._counts is not None:
            release(self._counts, self._peer)
            self._peer = None
        super().connection_lost(exc)


class PeerConnectionLimit(H11Protocol):
    """Set by ``with_peer_limit`` on a subclass made per server."""

    max_per_peer: ClassVar[int] = 0
    trusted: ClassVar[list[Network] | None] = []
    open_per_peer: ClassVar[Counter[str]] = Counter()
    _counted_peer: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = self.client[0] if self.client else None
        if peer is None or self._is_trusted(peer):
            return
        if self.open_per_peer[peer] >= self.max_per_peer:
            transport.write(refusal(self.max_per_peer))
            transport.close()
            return
        self.open_per_peer[peer] += 1
        self._counted_peer = peer

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # uvicorn hands the transport to the WebSocket protocol; this one never hears of
        # the connection again, so the count goes along with it.
        peer, self._counted_peer = self._counted_peer, None
        super().handle_websocket_upgrade(event)
        if peer is None:
            return
        websocket = self.transport.get_protocol()
        if isinstance(websocket, PeerCountedWebSocket):
            websocket.count_for(peer, self.open_per_peer)
        else:
            release(self.open_per_peer, peer)

    def _release(self) -> None:
        peer, self._counted_peer = self._counted_peer, None
        if peer is not None:
            release(self.open_per_peer, peer)

    def _is_trusted(self, peer: str) -> bool:
        if self.trusted is None:
            return True
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.trusted)
