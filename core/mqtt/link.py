"""One MQTT 5 connection on the event loop: bytes in, packets out, and batched writes.

Why the consuming stages do not use paho here: a cProfile of ingest draining a 100,000
message backlog through paho showed most of the stage's CPU in paho itself -- MQTT 5
``Properties`` and ``ReasonCode`` objects built for every PUBLISH and every PUBACK, a
``threading.Condition`` per message, three ``recv`` calls per packet. The wire format is
instead encoded and decoded by ``mqtt5`` (a sans-I/O Rust codec by aiomqtt's maintainer,
about 0.25 µs to read a PUBLISH here); this module only moves its bytes, and
session.py keeps the session (acknowledgements, resends, reconnects).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple, cast

import mqtt5
import structlog

from floodwatch.core.mqtt.errors import MalformedPacket
from floodwatch.core.mqtt.packets import declared_size, read_packet
from floodwatch.core.mqtt.pubacks import PUBACK_HEADER, accepted_pubacks

log = structlog.get_logger("mqtt")


class ReceivedMessage(NamedTuple):
    """A PUBLISH as a consuming stage sees it (MqttSession delivers these).
    A NamedTuple: immutable, and cheaper to build than a frozen dataclass, per message."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime
    # Which broker connection delivered it: an ack is only meaningful on that connection.
    connection: int


# ReceivedMessage(...) runs NamedTuple's __new__, a Python function; tuple.__new__ makes
# the same in C, in under half the time: once per message received (MqttSession).
received_message = cast(
    Callable[[tuple[str, bytes, int, int, datetime, int]], ReceivedMessage],
    functools.partial(tuple.__new__, ReceivedMessage))


class MqttLink(asyncio.Protocol):
    """Decodes every complete packet as it arrives and hands it to ``on_packet``, with
    the time its bytes were read (one clock reading per read: the packets in it arrived
    together, and ``datetime.now`` per message was a measurable part of ingest's CPU).

    Given ``on_pubacks``, runs of PUBACKs that accept a publish -- the broker's answers to
    our own QoS 1 publishes, one per reading ingest republishes -- go there as packet
    ids, many at a time, without the codec (core.mqtt.pubacks says why); any other
    PUBACK reaches ``on_packet`` as a ``mqtt5.PubAckPacket``.

    Writes are gathered and sent once per event-loop turn: a drained batch of
    acknowledgements or a burst of publishes costs one ``send`` system call, not one
    each (the broker answers within the same turn's worth of bytes anyway).
    """

    def __init__(self, on_packet: Callable[[object, datetime], None],
                 on_pubacks: Callable[[Sequence[int]], None] | None = None) -> None:
        self._on_packet = on_packet
        self._on_pubacks = on_pubacks
        # A packet still arriving: its bytes so far, how many, and how many it needs.
        self._partial: list[bytes] = []
        self._partial_size = 0
        self._awaited = 0
        self._gathered: list[bytes] = []
        self._transport: asyncio.Transport | None = None
        self._hold: asyncio.TimerHandle | None = None  # reading held (core.mqtt.inbox)
        self._loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[str] = self._loop.create_future()
        self.last_received = time.monotonic()

    # --- asyncio.Protocol ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self.last_received = time.monotonic()
        if self._partial:
            self._partial.append(data)
            self._partial_size += len(data)
            if self._partial_size < self._awaited:
                # Neither joined nor decoded again until it can be whole: a large packet
                # trickling in costs linear time, not a copy and a decode per read.
                return
            data = b"".join(self._partial)
            self._partial = []
        received_at = datetime.now(UTC)
        offset = 0
        with memoryview(data) as view:
            while offset < len(data):
                if data[offset] == PUBACK_HEADER and self._on_pubacks is not None:
                    pubacks, size = accepted_pubacks(data, offset)
                    if pubacks:
                        offset += size
                        self._on_pubacks(pubacks)
                        continue
                try:
                    read = read_packet(view[offset:])
                except MalformedPacket as exc:
                    self._refuse(view[offset:], exc)
                    return
                if read is None:
                    self._wait_for(view[offset:])
                    break
                packet, size = read
                offset += size
                self._on_packet(packet, received_at)

    def _wait_for(self, rest: memoryview) -> None:
        self._partial = [bytes(rest)]
        self._partial_size = len(rest)
        try:
            self._awaited = declared_size(rest)
        except (IndexError, ValueError):
            self._awaited = len(rest) + 1  # the fixed header is not complete yet

    def _refuse(self, rest: memoryview, exc: MalformedPacket) -> None:
        """Bytes that are not MQTT: nothing after them on this connection can be framed
        (an MQTT stream has no resynchronisation point), so it is dropped, loudly -- a
        broker does not send these; a broken proxy or a tampered link does."""
        peer = self._transport.get_extra_info("peername") if self._transport else None
        log.error("dropping the broker connection", reason=str(exc), peer=str(peer),
                  first_bytes=bytes(rest[:32]).hex(" "))
        self.abort(str(exc))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(str(exc) if exc else "connection closed")

    # --- sending ---------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if not self._gathered:
            self._loop.call_soon(self._flush)
        self._gathered.append(data)

    def _flush(self) -> None:
        # Bytes for a closing transport are dropped: unacknowledged publishes are kept by
        # the session and resent on the next connection.
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"".join(self._gathered))
        self._gathered.clear()

    def close(self) -> None:
        """Send what is gathered, then close once it is written."""
        if self._gathered:
            self._flush()
        if self._transport is not None:
            self._transport.close()

    # --- flow control (core.mqtt.inbox says why) --------------------------------------
    def hold_reading(self, at_most_s: float) -> None:
        """Read nothing more from the socket until ``resume_reading``, or ``at_most_s``."""
        if self._transport is None or self._hold is not None:
            return
        self._transport.pause_reading()
        self._hold = self._loop.call_later(at_most_s, self.resume_reading)

    def resume_reading(self) -> None:
        if self._hold is None:
            return
        self._hold.cancel()
        self._hold = None
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()

    @property
    def reading_held(self) -> bool:
        return self._hold is not None

    async def keep_alive(self, keepalive_s: float) -> str:
        """Ping while the connection is quiet, until it closes; returns why it closed.
        A broker silent for 1.5 keep-alive periods is gone: the connection is dropped."""
        interval = max(1.0, keepalive_s / 2)
        ping = mqtt5.PingReqPacket().write()
        while not self.closed.done():
            await asyncio.wait([self.closed], timeout=interval)
            if self.closed.done():
                break
            if time.monotonic() - self.last_received > keepalive_s * 1.5:
                self.abort("the broker stopped answering keep-alive pings")
                break
            self.send(ping)
        return self.closed.result()

    def abort(self, reason: str) -> None:
        """Drop the connection now (malformed input, unanswered keep-alive)."""
        if not self.closed.done():
            self.closed.set_result(reason)
        if self._transport is not None:
            self._transport.abort()
