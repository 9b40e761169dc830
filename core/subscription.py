"""A persistent MQTT session with manual acknowledgement, for every stage that consumes.

paho's network loop runs in its own thread; messages are handed to the asyncio side in
batches (one wake-up per burst, not per message) and acknowledged only when the stage
says so -- after the message's effect is safe (stored, persisted) -- so the broker keeps
anything not yet safe. The same link publishes the stage's output at QoS 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
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

log = structlog.get_logger("mqtt")

MQTT_CONNECTED = Gauge("floodwatch_mqtt_connected", "1 while connected to the broker.",
                       ["client_id"])

RECONNECT_JITTER_S = 2.0


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
        self._session_expiry_s = session_expiry_s
        self._receive_maximum = receive_maximum
        self._keepalive_s = keepalive_s
        self._client: Client = new_client(address, client_id, manual_ack=True)
        self._connected_gauge = MQTT_CONNECTED.labels(client_id)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_publish = self._on_publish
        self._pending: deque[ReceivedMessage] = deque()
        self._wake_requested = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._arrived = asyncio.Event()
        self._connection = 0
        self._subscribed = threading.Event()
        self._fatal: str | None = None
        self._unconfirmed = 0
        self._unconfirmed_lock = threading.Lock()
        self._disconnected_since: float | None = time.monotonic()

    # --- lifecycle -------------------------------------------------------------------
    async def start(self, timeout_s: float = 10.0) -> None:
        """Connect and subscribe. Fails fast on a refusal that retrying cannot fix; a
        broker that is merely down is retried in the background (logged, not fatal)."""
        self._loop = asyncio.get_running_loop()
        properties = connect_properties(
            session_expiry_s=self._session_expiry_s, receive_maximum=self._receive_maximum
        )
        self._client.connect_async(
            self._address.host, self._address.port, keepalive=self._keepalive_s,
            clean_start=False, properties=properties,
        )
        self._client.loop_start()
        deadline = self._loop.time() + timeout_s
        while not self._subscribed.is_set() and self._loop.time() < deadline:
            if self._fatal is not None:
                await self.close()
                raise MqttError(f"broker {self._address} refused the connection: {self._fatal}")
            await asyncio.sleep(0.05)
        if not self._subscribed.is_set():
            log.warning("broker not reachable yet; still trying", broker=str(self._address))

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    async def watch(self, interval_s: float = 5.0) -> None:
        """Never stop silently: complain while the broker is away, and end the process
        (for its supervisor to restart) if paho's network thread has died."""
        last_complaint = 0.0
        while True:
            await asyncio.sleep(interval_s)
            thread = self._client._thread  # paho exposes no other way to see it
            if thread is None or not thread.is_alive():
                raise MqttError("the MQTT network thread has stopped")
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
        while self.unconfirmed_publishes and self._client.is_connected():
            if loop.time() > deadline:
                log.warning("closing with unconfirmed publishes", count=self.unconfirmed_publishes)
                break
            await asyncio.sleep(0.02)
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)

    # --- receiving -------------------------------------------------------------------
    def drain(self) -> list[ReceivedMessage]:
        """Everything received so far, in arrival order."""
        self._wake_requested = False
        self._arrived.clear()
        messages = []
        pending = self._pending
        while pending:
            messages.append(pending.popleft())
        return messages

    async def wait(self, timeout_s: float) -> None:
        """Until a message arrives or ``timeout_s`` passes."""
        if self._pending:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), timeout_s)

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
        with self._unconfirmed_lock:
            self._unconfirmed += 1
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            with self._unconfirmed_lock:
                self._unconfirmed -= 1
            log.error("publish failed", topic=topic, rc=int(info.rc))

    @property
    def unconfirmed_publishes(self) -> int:
        return self._unconfirmed

    # --- paho callbacks (network thread) ---------------------------------------------
    def _on_connect(self, client: Client, _userdata: Any, flags: ConnectFlags,
                    reason: ReasonCode, _properties: Properties | None) -> None:
        if reason.is_failure:
            code = reason.value
            if code in PERMANENT_CONNECT_FAILURES:
                self._fatal = PERMANENT_CONNECT_FAILURES[code]
            log.error("broker refused connection", broker=str(self._address), reason=str(reason))
            return
        self._connection += 1
        self._disconnected_since = None
        self._connected_gauge.set(1)
        log.info("connected", broker=str(self._address), session_present=flags.session_present)
        # Always resubscribe: harmless on a resumed session, needed on a fresh one.
        options = SubscribeOptions(qos=1)
        client.subscribe([(topic, options) for topic in self._topics])

    def _on_connect_fail(self, _client: Client, _userdata: Any) -> None:
        # paho retries with backoff (1 s doubling to 30 s); each failed attempt is logged.
        log.warning("broker unreachable; retrying", broker=str(self._address))

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
            # paho's reconnect backoff is exponential but not jittered: after a broker
            # restart every ingest worker would reconnect in the same instant. Waiting
            # here (the network thread has nothing else to do) spreads them out.
            time.sleep(random.uniform(0.0, RECONNECT_JITTER_S))  # noqa: S311

    def _on_message(self, _client: Client, _userdata: Any, message: MQTTMessage) -> None:
        # Decoded leniently: an exception here would end paho's network thread, and a
        # bad topic is the validator's to reject, not the transport's.
        topic = message._topic.decode("utf-8", errors="replace")
        self._pending.append(
            ReceivedMessage(topic, bytes(message.payload), message.mid, message.qos,
                          datetime.now(UTC), self._connection)
        )
        if not self._wake_requested and self._loop is not None:
            self._wake_requested = True
            self._loop.call_soon_threadsafe(self._arrived.set)

    def _on_publish(self, _client: Client, _userdata: Any, _mid: int,
                    _reason: ReasonCode, _properties: Properties) -> None:
        with self._unconfirmed_lock:
            self._unconfirmed -= 1
