"""Our own QoS 1 publishes, from ``publish()`` until the broker's PUBACK.

Kept as wire bytes by packet id, in publish order. At most ``window`` are in flight (the
broker's Receive Maximum: exceeding it is a protocol error); the rest wait here, as does
everything while the broker is away. After a reconnect every unconfirmed publish goes
again with the DUP flag, in the original order and with its original packet id, as
MQTT 5 requires for a resumed session.

A publisher that must know the outcome of one message (the disaster network counts a
delivery only once the broker has it) asks for a confirmation: a future the PUBACK
resolves, or fails with PublishRefused. Only those publishes pay for a future; the
stages' stream of bus publishes (every reading) stays a dict entry and a write.

Not to be confused with notify's delivery ledger (notify/deliveries.py): the durable SQLite
record of deliveries; this is the in-memory window of one MQTT connection.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence

import mqtt5
import structlog

from floodwatch.core.mqtt.errors import MqttError, PublishError, PublishRefused

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
        self._confirmations: dict[int, asyncio.Future[None]] = {}
        self._next_packet_id = 0
        self._room = asyncio.Event()
        self._send: Callable[[bytes], None] | None = None

    def __len__(self) -> int:
        return len(self._outstanding)

    def add(self, topic: str, payload: bytes, retain: bool) -> int:
        """Queue (and send, if there is room) one publish; returns its packet id."""
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
        return packet_id

    def add_all(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """``add`` each (topic, payload), not retained, in order, and what goes at once in
        one write: a stage republishing a drained run (ingest's bus readings). A call
        chain and a write per message were half of publishing's cost (timeit: 2.7 against
        1.3 us per message, codec included)."""
        if self._send is None or self._unsent \
                or len(self._outstanding) + len(messages) > self.window:
            for topic, payload in messages:  # some must wait: add() decides for each
                self.add(topic, payload, False)
            return
        outstanding, packets = self._outstanding, []
        try:
            for topic, payload in messages:
                packet_id = self.packet_id()
                try:
                    data = mqtt5.PublishPacket(topic, payload, qos=mqtt5.QoS.AT_LEAST_ONCE,
                                               packet_id=packet_id).write()
                except ValueError as exc:
                    raise PublishError(f"publish to {topic} failed: {exc}") from exc
                outstanding[packet_id] = data
                packets.append(data)
        finally:  # what was queued before a failure is sent, as add() would have
            if packets:
                self._send(b"".join(packets))

    def add_with_confirmation(self, topic: str, payload: bytes,
                              retain: bool) -> asyncio.Future[None]:
        """As ``add``, and a future the broker's PUBACK settles. It survives reconnects
        (the publish is resent); cancelling it gives up waiting, not the publish."""
        confirmation: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Registered after add() sent it: the PUBACK can only arrive in a later read.
        self._confirmations[self.add(topic, payload, retain)] = confirmation
        return confirmation

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
        refused = int(packet.reason_code) >= 0x80
        if refused:
            # Refused (e.g. not authorised for that topic): retrying cannot help.
            log.error("broker refused a publish", topic=_topic(data),
                      reason=packet.reason_code.name)
        if self._confirmations:  # empty but for the few publishers that wait
            self._settle(packet.packet_id, data if refused else None,
                         packet.reason_code.name)
        self._after_confirmations()

    def confirmed_accepted(self, packet_ids: Sequence[int]) -> None:
        """PUBACKs that accept, as the link reads them in runs (core.mqtt.pubacks): the
        same as ``confirmed`` for each, with one check for room and waiting publishes
        after them all."""
        if self._resends or self._confirmations:  # after a reconnect, or a waiter
            for packet_id in packet_ids:
                self.confirmed(mqtt5.PubAckPacket(packet_id))
            return
        pop = self._outstanding.pop
        for packet_id in packet_ids:
            pop(packet_id, None)  # None: from before a reconnect, already resent
        self._after_confirmations()

    def _after_confirmations(self) -> None:
        if len(self._outstanding) < self.window:
            self._room.set()
        if self._unsent:
            self._send_unsent()

    def abandon(self, reason: str) -> None:
        """The session is closing: whoever still waits for a confirmation hears why."""
        for confirmation in self._confirmations.values():
            if not confirmation.done():
                confirmation.set_exception(MqttError(reason))
        self._confirmations.clear()

    def _settle(self, packet_id: int, refused: bytes | None, reason: str) -> None:
        confirmation = self._confirmations.pop(packet_id, None)
        if confirmation is None or confirmation.done():  # not asked for, or given up
            return
        if refused is None:
            confirmation.set_result(None)
        else:
            confirmation.set_exception(PublishRefused(_topic(refused), reason))

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
