"""A persistent MQTT session with manual acknowledgement: every stage's broker link.

Messages are acknowledged only when the stage says so -- after the message's effect is
safe (stored, persisted) -- so the broker keeps anything not yet safe. The same link
publishes the stage's output at QoS 1, within a window the stage waits on; what the
broker has not confirmed is resent after a reconnect. Without topics it only publishes
(notify's disaster network, which awaits the PUBACK of each message). Everything runs
on the event loop (link.py moves the bytes): no locks, no thread hand-offs.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import mqtt5
import structlog
from prometheus_client import Gauge

from floodwatch.core.mqtt.address import BrokerAddress
from floodwatch.core.mqtt.errors import PERMANENT_CONNECT_FAILURES, MqttError, backoff_delay
from floodwatch.core.mqtt.inbox import Inbox
from floodwatch.core.mqtt.link import MqttLink, ReceivedMessage, received_message
from floodwatch.core.mqtt.packets import RawPublish
from floodwatch.core.mqtt.pubacks import accepted_pubacks_bytes
from floodwatch.core.mqtt.publish_window import PublishWindow
from floodwatch.core.waiting import wait_event

log = structlog.get_logger("mqtt")

# An external broker's (the disaster network) has its own name: the health check skips it.
CONNECTED_GAUGES = {external: Gauge(f"floodwatch_mqtt_{'external_' * external}connected",
                                    "1 while connected to the broker.", ["client_id"])
                    for external in (False, True)}

CONNECT_TIMEOUT_S = 10.0


class MqttSession:
    """Subscribes to ``topics`` (none: publish-only) on a persistent session and publishes
    on the same link. ``on_connected`` is called after every CONNACK that accepts us."""

    def __init__(
        self, address: BrokerAddress, client_id: str, topics: Sequence[str], *,
        session_expiry_s: int, receive_maximum: int, keepalive_s: int = 30,
        min_delay_s: float = 0.5, max_delay_s: float = 30.0,
        on_connected: Callable[[], None] | None = None, external: bool = False,
    ) -> None:
        self._address = address
        self._ssl_context = address.ssl_context()  # now: a bad CA file is a config error
        self._client_id = client_id
        self._topics = list(topics)
        try:  # a bad filter is a configuration error: say so now, not at every connect
            self._filters = [mqtt5.TopicFilter(topic, max_qos=mqtt5.QoS.AT_LEAST_ONCE)
                             for topic in self._topics]
        except ValueError as exc:
            raise MqttError(f"cannot subscribe to {self._topics}: {exc}") from exc
        self._session_expiry_s, self._receive_maximum = session_expiry_s, receive_maximum
        self._keepalive_s = keepalive_s
        self._min_delay_s, self._max_delay_s = min_delay_s, max_delay_s
        self._connected_gauge = CONNECTED_GAUGES[external].labels(client_id)
        self._runner: asyncio.Task[None] | None = None
        self._link: MqttLink | None = None  # set while a CONNACK has accepted us
        self._connack: asyncio.Future[mqtt5.ConnAckPacket] | None = None
        self._connecting: MqttLink | None = None
        self._stopping = False
        self._inbox = Inbox(receive_maximum)  # bounded: core.mqtt.inbox says why
        self._subscribed = asyncio.Event()
        self._window = PublishWindow()
        self._on_connected, self._connection = on_connected, 0
        self._fatal: str | None = None
        self._disconnected_since: float | None = time.monotonic()

    # --- lifecycle -------------------------------------------------------------------
    async def start(self, timeout_s: float = 10.0, *, refusal_is_fatal: bool = True) -> None:
        """Connect and subscribe. A final refusal raises MqttError (with ``refusal_is_fatal``
        false: returns, ``refusal`` set); a broker merely down is retried in the background."""
        self._runner = asyncio.create_task(self._run(), name="mqtt-connection")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not self._subscribed.is_set() and loop.time() < deadline:
            if self._fatal is not None:
                if not refusal_is_fatal:
                    return
                await self.close()
                raise MqttError(f"broker {self._address} refused the connection: {self._fatal}")
            await wait_event(self._subscribed, 0.05)
        if not self._subscribed.is_set():
            log.warning("broker not reachable yet; still trying", broker=str(self._address))

    @property
    def connected(self) -> bool:
        """Connected to the broker right now (for readiness checks)."""
        return self._subscribed.is_set() and self._disconnected_since is None

    @property
    def refusal(self) -> str | None:
        """Why the broker refused us in a way retrying cannot fix, if it did."""
        return self._fatal

    async def watch(self, interval_s: float = 5.0) -> None:
        """Never stop silently: complain while the broker is away, and end the stage
        (for its supervisor to restart) if the connection task has died."""
        last_complaint = 0.0
        while True:
            await asyncio.sleep(interval_s)
            task = self._runner
            if task is not None and task.done():
                raise MqttError("the MQTT connection task has stopped") from (
                    task.exception() if not task.cancelled() else None)
            if self._fatal is not None:
                raise MqttError(f"broker {self._address} refused us: {self._fatal}")
            since, now = self._disconnected_since, time.monotonic()
            if since is not None and now - since > 30 and now - last_complaint > 30:
                last_complaint = now
                log.error("broker unreachable", broker=str(self._address),
                          for_s=round(now - since))

    async def close(self, timeout_s: float = 10.0) -> None:
        """Wait (bounded) for our own publishes to be confirmed, then disconnect."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        with self._inbox.reading_needed():  # the confirmations come in what the link reads
            while self._window and self._link is not None:
                if loop.time() > deadline:
                    log.warning("closing with unconfirmed publishes", count=len(self._window))
                    break
                await asyncio.sleep(0.02)
        self._stopping = True
        self._window.abandon(f"session closed before {self._address} confirmed the publish")
        if self._link is not None:
            self._link.send(mqtt5.DisconnectPacket().write())
            self._link.close()
        self._connected_gauge.set(0)
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)

    # --- receiving -------------------------------------------------------------------
    def drain(self) -> list[ReceivedMessage]:
        """Everything received so far, in arrival order."""
        return self._inbox.drain()

    async def wait(self, timeout_s: float) -> None:
        """Until a message arrives or ``timeout_s`` passes."""
        await self._inbox.wait(timeout_s)

    def ack(self, messages: Sequence[ReceivedMessage]) -> None:
        """Acknowledge, in order. Messages from an earlier connection are skipped: the
        broker redelivers those on the new one, and their old packet ids may be reused."""
        link, current = self._link, self._connection
        ids = [message.mid for message in messages
               if message.qos > 0 and message.connection == current]
        if ids and link is not None:
            link.send(accepted_pubacks_bytes(ids))

    # --- publishing ------------------------------------------------------------------
    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1; kept (and resent after a reconnect) until the broker confirms.
        Raises PublishError (an MqttError) if it cannot even be queued."""
        self._window.add(topic, payload, retain)

    def publish_all(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """``publish`` each (topic, payload), in order, in one call (PublishWindow.add_all)."""
        self._window.add_all(messages)

    def publish_with_confirmation(self, topic: str, payload: bytes, *,
                                  retain: bool = False) -> asyncio.Future[None]:
        """As ``publish``, and a future the broker's PUBACK resolves (after a reconnect too:
        the publish is resent) or fails: PublishRefused for a failure reason code,
        MqttError if the session closes first. Cancelling it stops the wait, not the send."""
        return self._window.add_with_confirmation(topic, payload, retain)

    @property
    def unconfirmed_publishes(self) -> int:
        return len(self._window)

    async def wait_for_publish_room(self) -> None:
        """Backpressure for our own publishes: wait while the window is full (the
        broker's Receive Maximum capped at publish_window.DEFAULT_PUBLISH_WINDOW)."""
        if len(self._window) >= self._window.window:  # else no coroutine: the hot path
            with self._inbox.reading_needed():  # room comes with the broker's PUBACKs
                await self._window.wait_for_room()

    # --- the connection --------------------------------------------------------------
    async def _run(self) -> None:
        """Connect, serve, and reconnect after every drop (with ``backoff_delay``)."""
        attempt = 0
        while not self._stopping:
            try:
                link = await self._connect()
            except (OSError, ssl.SSLError, TimeoutError, MqttError) as exc:
                attempt += 1
                delay = self._delay(attempt)
                log.warning("broker unreachable; retrying", broker=str(self._address),
                            error=str(exc) or type(exc).__name__, retry_in_s=round(delay, 1))
                await asyncio.sleep(delay)
                continue
            attempt = 0
            reason = await link.keep_alive(self._keepalive_s)
            self._lost(reason)
            if not self._stopping:
                attempt += 1
                await asyncio.sleep(self._delay(attempt))

    def _delay(self, attempt: int) -> float:
        return backoff_delay(attempt, self._min_delay_s, self._max_delay_s)

    async def _connect(self) -> MqttLink:
        loop = asyncio.get_running_loop()
        address = self._address
        context = self._ssl_context
        self._connack = loop.create_future()
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            _, link = await loop.create_connection(
                lambda: MqttLink(self._on_packet, self._window.confirmed_accepted),
                address.host, address.port, ssl=context)
            self._connecting = link
            link.send(mqtt5.ConnectPacket(
                self._client_id, username=address.username,
                password=address.password.encode() if address.password is not None else None,
                clean_start=False, keep_alive=self._keepalive_s,
                session_expiry_interval=self._session_expiry_s,
                receive_max=self._receive_maximum).write())
            try:
                connack = await self._connack
            except BaseException:
                link.abort("no CONNACK")
                raise
        if connack.reason_code != 0:
            link.abort("refused")
            code = int(connack.reason_code)
            if code in PERMANENT_CONNECT_FAILURES:
                self._fatal = PERMANENT_CONNECT_FAILURES[code]
            log.error("broker refused connection", broker=str(address),
                      reason=connack.reason_code.name)
            raise MqttError(f"refused: {connack.reason_code.name}")
        self._accepted(link, connack)
        return link

    def _accepted(self, link: MqttLink, connack: mqtt5.ConnAckPacket) -> None:
        self._link, self._fatal = link, None  # a refusal before this one is history now
        self._disconnected_since = None
        if connack.server_keep_alive:  # 0 turns the broker's check off: keep ours
            self._keepalive_s = connack.server_keep_alive
        self._connected_gauge.set(1)
        log.info("connected", broker=str(self._address), session_present=connack.session_present)
        # Always resubscribe: harmless on a resumed session, needed on a fresh one.
        if self._topics:
            link.send(mqtt5.SubscribePacket(self._window.packet_id(), self._filters).write())
        else:
            self._subscribed.set()  # a publish-only session
        self._window.connected(link.send, connack.receive_max)
        if self._on_connected is not None:
            self._on_connected()

    def _lost(self, reason: str) -> None:
        self._link = None
        self._connected_gauge.set(0)
        self._disconnected_since = time.monotonic()
        self._window.disconnected()
        if not self._stopping:
            log.warning("disconnected; reconnecting", broker=str(self._address), reason=reason)

    # --- incoming packets (from MqttLink, on the event loop) -------------------------
    def _on_packet(self, packet: object, received_at: datetime) -> None:
        # Exact types for the hot path's packets: cheaper than isinstance with a union.
        if type(packet) is mqtt5.PublishPacket or type(packet) is RawPublish:
            self._inbox.add(received_message((
                packet.topic, packet.payload, packet.packet_id or 0, int(packet.qos),
                received_at, self._connection)), self._link)
        elif type(packet) is mqtt5.PubAckPacket:
            self._window.confirmed(packet)
        elif isinstance(packet, mqtt5.ConnAckPacket):
            if self._connack is not None and not self._connack.done():
                # Counted here, not when _connect resumes: messages of the resumed session
                # may follow in the same read, and they belong to this connection.
                if packet.reason_code == 0:
                    self._connection += 1
                    self._link = self._connecting  # acks for them may follow at once
                self._connack.set_result(packet)
        elif isinstance(packet, mqtt5.SubAckPacket):
            self._on_suback(packet)
        elif isinstance(packet, mqtt5.DisconnectPacket) and self._link is not None:
            # The receiver of a DISCONNECT closes the connection (MQTT 5, 3.14.4).
            self._link.abort(f"broker sent DISCONNECT {packet.reason_code.name}")

    def _on_suback(self, packet: mqtt5.SubAckPacket) -> None:
        failed = [code.name for code in packet.reason_codes if int(code) >= 0x80]
        if failed:
            self._fatal = f"subscription refused: {', '.join(failed)}"
            log.error("subscription refused", topics=self._topics, reasons=failed)
            return
        self._subscribed.set()
        log.info("subscribed", topics=self._topics)
