"""Our own QoS 1 publishes, from ``publish()`` until the broker's PUBACK.

Kept as wire bytes by packet id, in publish order. At most ``window`` are in flight (the
broker's Receive Maximum: exceeding it is a protocol error); the rest wait here, as does
everything while the broker is away. After a reconnect every unconfirmed publish goes
again with the DUP flag, in the original order and with its original packet id, as
MQTT 5 requires for a resumed session.

Not to be confused with notify's outbox (notify/outbox.py): that is the durable SQLite
record of deliveries; this is the in-memory window of one MQTT connection.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import mqtt5
import structlog

from floodwatch.core.mqtt.errors import PublishError

log = structlog.get_logger("mqtt")

# The broker's Receive Maximum caps it (the shipped Mosquitto grants 10,000: its
# configuration says why so many).
DEFAULT_PUBLISH_WINDOW = 10_000
DUP_FLAG = 0x08  # bit 3 of a PUBLISH's first byte: "this may be a resend"
PACKET_IDS = 65_535


class PublishWindow:
    def __init__(self) -> None:
        self.window = DEFAULT_PUBLISH_WINDOW
        self._outstanding: dict[int, bytes] = {}
        self._unsent: deque[int] = deque()  # not yet written on the current connection
        self._resends: set[int] = set()  # written on an earlier connection
        self._next_packet_id = 0
        self._room = asyncio.Event()
        self._send: Callable[[bytes], None] | None = None

    def __len__(self) -> int:
        return len(self._outstanding)

    def add(self, topic: str, payload: bytes, retain: bool) -> None:
        packet_id = self.packet_id()
        try:
            data = mqtt5.PublishPacket(topic, payload, qos=mqtt5.QoS.AT_LEAST_ONCE,
                                       retain=retain, packet_id=packet_id).write()
        except ValueError as exc:
            raise PublishError(f"publish to {topic} failed: {exc}") from exc
        self._outstanding[packet_id] = data
        if self._send is not None and not self._unsent and len(self._outstanding) <= self.window:
            self._send(data)  # the common case, once per reading on ingest's hot path
        else:
            self._unsent.append(packet_id)
            self._send_unsent()

    def packet_id(self) -> int:
        """A packet id no unconfirmed publish holds (SUBSCRIBE takes one too)."""
        if len(self._outstanding) >= PACKET_IDS:
            raise PublishError(f"{PACKET_IDS:,} publishes unconfirmed: no packet id left")
        while True:
            self._next_packet_id = self._next_packet_id % PACKET_IDS + 1
            if self._next_packet_id not in self._outstanding:
                return self._next_packet_id

    async def wait_for_room(self) -> None:
        while len(self._outstanding) >= self.window:
            self._room.clear()
            await self._room.wait()

    def connected(self, send: Callable[[bytes], None], window: int) -> None:
        """A connection is up: write what waits, up to the broker's window."""
        self._send = send
        self.window = max(1, min(DEFAULT_PUBLISH_WINDOW, window))
        self._send_unsent()

    def disconnected(self) -> None:
        """Everything written on the lost connection goes again, flagged as a resend."""
        self._send = None
        unsent = set(self._unsent)
        # Added to, not replaced: one sent two connections ago and not sent since is
        # still a resend.
        self._resends |= {pid for pid in self._outstanding if pid not in unsent}
        self._unsent = deque(self._outstanding)

    def confirmed(self, packet: mqtt5.PubAckPacket) -> None:
        data = self._outstanding.pop(packet.packet_id, None)
        if data is None:
            return  # a confirmation from before a reconnect, already resent and counted
        self._resends.discard(packet.packet_id)
        if int(packet.reason_code) >= 0x80:
            # Refused (e.g. not authorised for that topic): retrying cannot help.
            log.error("broker refused a publish", topic=_topic(data),
                      reason=packet.reason_code.name)
        if len(self._outstanding) < self.window:
            self._room.set()
        if self._unsent:
            self._send_unsent()

    def _send_unsent(self) -> None:
        send = self._send
        if send is None:
            return
        in_flight = len(self._outstanding) - len(self._unsent)
        while self._unsent and in_flight < self.window:
            packet_id = self._unsent.popleft()
            data = self._outstanding[packet_id]
            if packet_id in self._resends:
                data = bytes([data[0] | DUP_FLAG]) + data[1:]
            send(data)
            in_flight += 1


def _topic(data: bytes) -> str:
    packet = mqtt5.read(memoryview(data))[0]
    return packet.topic if isinstance(packet, mqtt5.PublishPacket) else "?"
