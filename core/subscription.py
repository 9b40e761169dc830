"""A persistent MQTT session with manual acknowledgement, for every stage that consumes.

Messages are acknowledged only when the stage says so -- after the message's effect is
safe (stored, persisted) -- so the broker keeps anything not yet safe. The same link
publishes the stage's output at QoS 1, within a window the stage waits on. Everything
runs on the event loop (see core.mqtt_loop): no locks, no thread hand-offs.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions
from prometheus_client import Gauge

from core.mqtt import (
    PERMANENT_CONNECT_FAILURES,
    BrokerAddress,
    MqttError,
    connect_properties,
    new_client,
)
from core.mqtt_loop import ConnectionKeeper
from core.waiting import wait_event

log = structlog.get_logger("mqtt")

MQTT_CONNECTED = Gauge("floodwatch_mqtt_connected", "1 while connected to the broker.",
                       ["client_id"])

DEFAULT_PUBLISH_WINDOW = 1000


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime
    # Which broker connection delivered it: an ack is only meaningful on that connection.
    connection: int


class Subscription:
    """Subscribes to ``topics`` on a persistent session and publishes on the same link."""

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        topics: Sequence[str],
        *,
        session_expiry_s: int,
        receive_maximum: int,
        keepalive_s: int = 30,
    ) -> None:
        self._address = address
        self._topics = list(topics)
        self._client: Client = new_client(address, client_id, manual_ack=True, max_inflight=0)
        self._client.connect_async(
            address.host, address.port, keepalive=keepalive_s, clean_start=False,
            properties=connect_properties(session_expiry_s=session_expiry_s,
                                          receive_maximum=receive_maximum),
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_publish = self._on_publish
        self._connected_gauge = MQTT_CONNECTED.labels(client_id)
        self._keeper: ConnectionKeeper | None = None
        self._keeper_task: asyncio.Task[None] | None = None
        self._pending: deque[ReceivedMessage] = deque()
        self._arrived = asyncio.Event()
        self._subscribed = asyncio.Event()
        self._room = asyncio.Event()
        self._publish_window = DEFAULT_PUBLISH_WINDOW
        self._unconfirmed = 0
        self._connection = 0
        self._fatal: str | None = None
        self._disconnected_since: float | None = time.monotonic()

    # --- lifecycle -------------------------------------------------------------------
    async def start(self, timeout_s: float = 10.0) -> None:
        """Connect and subscribe. Fails fast on a refusal that retrying cannot fix; a
        broker that is merely down is retried in the background (logged, not fatal)."""
        self._keeper = ConnectionKeeper(self._client, str(self._address))
        self._keeper_task = asyncio.create_task(self._keeper.run(), name="mqtt-connection")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not self._subscribed.is_set() and loop.time() < deadline:
            if self._fatal is not None:
                await self.close()
                raise MqttError(f"broker {self._address} refused the connection: {self._fatal}")
            await wait_event(self._subscribed, 0.05)
        if not self._subscribed.is_set():
            log.warning("broker not reachable yet; still trying", broker=str(self._address))

    @property
    def subscribed(self) -> bool:
        """Subscribed at least once (stays true across reconnects)."""
        return self._subscribed.is_set()

    @property
    def connected(self) -> bool:
        """Connected to the broker right now (for readiness checks)."""
        return self._subscribed.is_set() and self._disconnected_since is None

    async def watch(self, interval_s: float = 5.0) -> None:
        """Never stop silently: complain while the broker is away, and end the stage
        (for its supervisor to restart) if the connection keeper has died."""
        last_complaint = 0.0
        while True:
            await asyncio.sleep(interval_s)
            task = self._keeper_task
            if task is not None and task.done():
                raise MqttError("the MQTT connection keeper has stopped") from (
                    task.exception() if not task.cancelled() else None)
            if self._fatal is not None:
                raise MqttError(f"broker {self._address} refused us: {self._fatal}")
            since = self._disconnected_since
            now = time.monotonic()
            if since is not None and now - since > 30 and now - last_complaint > 30:
                last_complaint = now
                log.error("broker unreachable", broker=str(self._address),
                          for_s=round(now - since))

    async def close(self, timeout_s: float = 10.0) -> None:
        """Wait (bounded) for our own publishes to be confirmed, then disconnect."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._unconfirmed and self._client.is_connected():
            if loop.time() > deadline:
                log.warning("closing with unconfirmed publishes", count=self._unconfirmed)
                break
            await asyncio.sleep(0.02)
        if self._keeper is not None:
            self._keeper.stop()
        self._client.disconnect()
        if self._keeper_task is not None:
            await self._keeper_task

    # --- receiving -------------------------------------------------------------------
    def drain(self) -> list[ReceivedMessage]:
        """Everything received so far, in arrival order."""
        self._arrived.clear()
        messages = list(self._pending)
        self._pending.clear()
        return messages

    async def wait(self, timeout_s: float) -> None:
        """Until a message arrives or ``timeout_s`` passes."""
        if self._pending:
            return
        await wait_event(self._arrived, timeout_s)

    def ack(self, messages: Sequence[ReceivedMessage]) -> None:
        """Acknowledge, in order. Messages from an earlier connection are skipped: the
        broker redelivers those on the new one, and their old packet ids may be reused."""
        current = self._connection
        for message in messages:
            if message.qos > 0 and message.connection == current:
                self._client.ack(message.mid, message.qos)

    # --- publishing ------------------------------------------------------------------
    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1; paho queues it while disconnected and sends it on reconnect."""
        self._unconfirmed += 1
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            self._unconfirmed -= 1
            raise MqttError(f"publish to {topic} failed: {info.rc}")

    @property
    def unconfirmed_publishes(self) -> int:
        return self._unconfirmed

    async def wait_for_publish_room(self) -> None:
        """Backpressure for our own publishes: wait while the window is full.

        The window is the broker's Receive Maximum (from CONNACK; exceeding it is a
        protocol error) capped at DEFAULT_PUBLISH_WINDOW. Keeping it ourselves, with
        paho's limit off, avoids paho's quadratic queue scan, and keeps us far from its
        65,535 packet ids, past which it refuses to publish at all.
        """
        while self._unconfirmed >= self._publish_window:
            self._room.clear()
            await self._room.wait()

    # --- paho callbacks (all on the event loop) --------------------------------------
    def _on_connect(self, client: Client, _userdata: Any, flags: ConnectFlags,
                    reason: ReasonCode, properties: Properties | None) -> None:
        if reason.is_failure:
            if reason.value in PERMANENT_CONNECT_FAILURES:
                self._fatal = PERMANENT_CONNECT_FAILURES[reason.value]
            log.error("broker refused connection", broker=str(self._address), reason=str(reason))
            return
        self._connection += 1
        self._disconnected_since = None
        receive_maximum = getattr(properties, "ReceiveMaximum", 65_535)
        self._publish_window = max(1, min(DEFAULT_PUBLISH_WINDOW, int(receive_maximum)))
        self._connected_gauge.set(1)
        log.info("connected", broker=str(self._address), session_present=flags.session_present)
        # Always resubscribe: harmless on a resumed session, needed on a fresh one.
        client.subscribe([(topic, SubscribeOptions(qos=1)) for topic in self._topics])

    def _on_subscribe(self, _client: Client, _userdata: Any, _mid: int,
                      reasons: list[ReasonCode], _properties: Properties | None) -> None:
        failed = [str(reason) for reason in reasons if reason.is_failure]
        if failed:
            self._fatal = f"subscription refused: {', '.join(failed)}"
            log.error("subscription refused", topics=self._topics, reasons=failed)
            return
        self._subscribed.set()
        log.info("subscribed", topics=self._topics)

    def _on_disconnect(self, _client: Client, _userdata: Any, _flags: DisconnectFlags,
                       reason: ReasonCode, _properties: Properties | None) -> None:
        self._connected_gauge.set(0)
        self._disconnected_since = time.monotonic()
        if reason.value != 0:
            log.warning("disconnected; reconnecting", broker=str(self._address),
                        reason=str(reason))
        if self._keeper is not None:
            self._keeper.connection_dropped()

    def _on_message(self, _client: Client, _userdata: Any, message: MQTTMessage) -> None:
        # Decoded leniently: a bad topic is the validator's to reject, not the transport's.
        topic = message._topic.decode("utf-8", errors="replace")
        self._pending.append(
            ReceivedMessage(topic, bytes(message.payload), message.mid, message.qos,
                            datetime.now(UTC), self._connection)
        )
        self._arrived.set()

    def _on_publish(self, _client: Client, _userdata: Any, _mid: int,
                    _reason: ReasonCode, _properties: Properties) -> None:
        self._unconfirmed -= 1
        if self._unconfirmed < self._publish_window:
            self._room.set()
