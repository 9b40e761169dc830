"""Driving a paho client from the asyncio event loop, and keeping it connected.

paho's own network thread (``loop_start``) makes every message cross threads, and the
two threads then take turns on the GIL: measured here, a stage draining a backlog ran
several times slower that way. Instead the client's socket is watched by the event
loop (``add_reader``/``add_writer``), as aiomqtt does, but without aiomqtt's per-message
futures and queues, so the hot path stays in one thread.

The driver also owns reconnection, which paho does only inside its own loop: capped
exponential backoff with jitter, so a fleet of workers does not reconnect in lockstep
after a broker restart.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog
from paho.mqtt.client import Client

from floodwatch.core.mqtt import backoff_delay
from floodwatch.core.waiting import wait_event

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

log = structlog.get_logger("mqtt")

MISC_INTERVAL_S = 1.0  # keep-alive pings and timeouts are checked this often


class ConnectionKeeper:
    """Connects the client (with ``connect_async`` already called), re-connects it
    whenever it drops, and serves its socket from the running event loop."""

    def __init__(self, client: Client, broker: str, *, min_delay_s: float = 0.5,
                 max_delay_s: float = 30.0) -> None:
        self._client = client
        self._broker = broker
        self._min_delay_s = min_delay_s
        self._max_delay_s = max_delay_s
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._dropped = asyncio.Event()
        self._stopping = False
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write

    def connection_dropped(self) -> None:
        """Call from on_disconnect: the keeper starts reconnecting."""
        self._in_loop(self._dropped.set)

    def stop(self) -> None:
        self._stopping = True
        self._dropped.set()

    async def run(self) -> None:
        """Connect, then reconnect after every drop, until ``stop()``."""
        attempt = 0
        while not self._stopping:
            self._dropped.clear()
            try:
                # The TCP (and TLS) handshake blocks: keep it off the event loop.
                await asyncio.to_thread(self._client.reconnect)
            except (OSError, ssl.SSLError) as exc:
                attempt += 1
                delay = self._delay(attempt)
                log.warning("broker unreachable; retrying", broker=self._broker,
                            error=str(exc) or type(exc).__name__, retry_in_s=round(delay, 1))
                await self._sleep(delay)
                continue
            attempt = 0
            while not self._dropped.is_set():
                self._client.loop_misc()
                await self._sleep(MISC_INTERVAL_S)
            if not self._stopping:
                attempt += 1
                await self._sleep(self._delay(attempt))

    def _delay(self, attempt: int) -> float:
        return backoff_delay(attempt, self._min_delay_s, self._max_delay_s)

    async def _sleep(self, seconds: float) -> None:
        await wait_event(self._dropped, seconds)

    # --- socket callbacks: may come from the connect thread, so hop to the loop -----
    def _in_loop(self, function: Callable[..., Any], *args: Any) -> None:
        if threading.get_ident() == self._loop_thread:
            function(*args)
        else:
            self._loop.call_soon_threadsafe(function, *args)

    def _on_socket_open(self, _client: Client, _userdata: Any, sock: SocketLike) -> None:
        self._in_loop(self._loop.add_reader, sock, self._read)

    def _on_socket_close(self, _client: Client, _userdata: Any, sock: SocketLike) -> None:
        self._in_loop(self._forget, sock)

    def _on_register_write(self, _client: Client, _userdata: Any, sock: SocketLike) -> None:
        self._in_loop(self._loop.add_writer, sock, self._write)

    def _on_unregister_write(self, _client: Client, _userdata: Any,
                             sock: SocketLike) -> None:
        self._in_loop(self._loop.remove_writer, sock)

    def _forget(self, sock: SocketLike) -> None:
        self._loop.remove_reader(sock)
        self._loop.remove_writer(sock)

    def _read(self) -> None:
        self._client.loop_read()
        # TLS may hold decrypted bytes the socket no longer signals: read them now.
        sock = self._client.socket()
        while isinstance(sock, ssl.SSLSocket) and sock.pending():
            self._client.loop_read()
            sock = self._client.socket()

    def _write(self) -> None:
        self._client.loop_write()
