"""uvicorn's HTTP/1.1 protocol with a deadline for the request line and headers.

Why a subclass: uvicorn has no header-read timeout (its issue #157 lists
"--timeout-request-start" as never done). ``timeout_keep_alive`` is armed only after a
response and is cancelled by the first byte that arrives, and nothing is armed when a
connection opens, so a client that connects and sends half a request line, or trickles
a header a byte at a time (slowloris), holds a connection, and a slot of
``limit_concurrency``, for as long as it likes. ASGI middleware cannot help: the app is
only called once the headers are complete.

The deadline runs from the moment the server waits for a request (connection opened, or
first byte after a keep-alive pause) until h11 has parsed the whole head; it is not
reset by each byte. Bodies, streaming responses and WebSockets are not affected: the
timer is disarmed as soon as the head is in.
"""

from __future__ import annotations

import asyncio

import h11
import structlog
from uvicorn.protocols.http.h11_impl import H11Protocol

log = structlog.get_logger("api.http")


class HeaderTimeoutProtocol(H11Protocol):
    """Set ``header_timeout_s`` on a subclass (api.service.http_protocol): uvicorn
    builds the protocol itself from its config, with no room for an extra argument."""

    header_timeout_s: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            # Waiting for a request head: a keep-alive connection's next request starts
            # its deadline here (after the first one, connection_made armed it).
            self._arm_header_timer()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s,
                                                      self._header_timed_out)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            # No request to answer (h11 would refuse a 408 before a request), so close.
            log.debug("closing a connection that did not send its request headers in time",
                     client=self.client[0] if self.client else None,
                     timeout_s=self.header_timeout_s)
            self.transport.close()

