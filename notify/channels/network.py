"""The prefecture's disaster network over MQTT: its own broker connection, QoS 1.

Each event goes out as CAP 1.2 XML and as JSON on configurable topics; each station's
current status (mirrored from the engine's ``floodwatch/status/{station}``) is kept as
a retained message, so a console that connects sees the present state at once.
A delivery counts once the broker has acknowledged (PUBACK) every message of it.
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import Callable
from typing import Any

import structlog
from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from floodwatch.core.mqtt import PERMANENT_CONNECT_FAILURES, BrokerAddress, new_client
from floodwatch.core.mqtt_loop import ConnectionKeeper
from floodwatch.core.settings import Settings
from floodwatch.core.waiting import wait_event
from floodwatch.notify.channels.base import DeliveryError
from floodwatch.notify.config import Network, Retry
from floodwatch.notify.outbox import Outbox, StoredEvent

log = structlog.get_logger("notify.network")

CHANNEL = "network"
PUBACK_TIMEOUT_S = 10.0


def network_address(settings: Settings) -> BrokerAddress:
    """The disaster network's broker; the bus broker when no URL of its own is set."""
    if settings.notify_network_url is None:
        return BrokerAddress.from_settings(settings)
    password = settings.notify_network_password
    return BrokerAddress.from_url(
        str(settings.notify_network_url), username=settings.notify_network_username,
        password=password.get_secret_value() if password is not None else None,
        ca_file=settings.notify_network_ca_file)


def topic_problem(template: str) -> str | None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError as exc:
        return f"topic {template!r}: {exc}"
    if names != {"station"} or "+" in template or "#" in template:
        return f"topic {template!r} must contain {{station}} and no wildcards"
    return None


class NetworkChannel:
    name = CHANNEL
    concurrency = 16

    def __init__(self, address: BrokerAddress, client_id: str, config: Network,
                 keepalive_s: int = 30) -> None:
        self.retry: Retry = config.retry
        self._config = config
        self._address = address
        self._client: Client = new_client(address, client_id)
        self._client.connect_async(address.host, address.port, keepalive=keepalive_s)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._connected = asyncio.Event()
        self.refused: str | None = None
        self._keeper: ConnectionKeeper | None = None
        self._task: asyncio.Task[None] | None = None
        self._status_wake = asyncio.Event()
        self.on_connected: Callable[[], None] = lambda: None

    async def start(self, timeout_s: float = 5.0) -> str | None:
        """Connect; returns a problem line if the broker cannot be reached yet (it is
        retried in the background, and deliveries wait)."""
        self._keeper = ConnectionKeeper(self._client, str(self._address))
        self._task = asyncio.create_task(self._keeper.run(), name="notify-network-connection")
        await wait_event(self._connected, timeout_s)
        if self._connected.is_set():
            return None
        why = self.refused or "unreachable"
        return f"broker {self._address} {why}; deliveries wait and are retried"

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.stop()
        self._client.disconnect()
        if self._task is not None:
            await self._task

    async def deliver(self, event: StoredEvent) -> str:
        messages = []
        if event.cap is not None:
            messages.append((self._config.cap_topic.format(station=event.station), event.cap))
        if event.json is not None:
            messages.append((self._config.json_topic.format(station=event.station),
                             event.json))
        await self._publish_all(messages, retain=False)
        return f"published to {', '.join(topic for topic, _ in messages)}"

    def wake_status(self) -> None:
        self._status_wake.set()

    async def run_status(self, outbox: Outbox) -> None:
        """Mirror each station's latest status, retained, until acknowledged."""
        while True:
            for station, payload in outbox.undelivered_statuses():
                topic = self._config.status_topic.format(station=station)
                try:
                    await self._publish_all([(topic, payload)], retain=True)
                except DeliveryError as exc:
                    log.warning("station status not mirrored yet", station=station,
                                error=exc.detail)
                    break
                outbox.status_delivered(station, payload)
            self._status_wake.clear()
            await wait_event(self._status_wake, 2.0)

    async def _publish_all(self, messages: list[tuple[str, bytes]], *, retain: bool) -> None:
        if not self._connected.is_set():
            raise DeliveryError(f"not connected to {self._address}")
        futures = [self._publish(topic, payload, retain) for topic, payload in messages]
        try:
            async with asyncio.timeout(PUBACK_TIMEOUT_S):
                await asyncio.gather(*futures)
        except TimeoutError as exc:
            raise DeliveryError(f"no PUBACK from {self._address} within "
                                f"{PUBACK_TIMEOUT_S:.0f} s") from exc

    def _publish(self, topic: str, payload: bytes, retain: bool) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise DeliveryError(f"publish to {topic} failed: {info.rc}")
        self._waiting[info.mid] = future
        return future

    # --- paho callbacks (on the event loop) ---------------------------------------------
    def _on_connect(self, _client: Client, _userdata: Any, _flags: ConnectFlags,
                    reason: ReasonCode, _properties: Properties | None) -> None:
        if reason.is_failure:
            self.refused = "refused the connection: " + PERMANENT_CONNECT_FAILURES.get(
                reason.value, str(reason))
            log.error("disaster network broker refused us", broker=str(self._address),
                      reason=str(reason))
            return
        self.refused = None
        self._connected.set()
        self._status_wake.set()
        self.on_connected()
        log.info("connected to the disaster network", broker=str(self._address))

    def _on_disconnect(self, _client: Client, _userdata: Any, _flags: DisconnectFlags,
                       reason: ReasonCode, _properties: Properties | None) -> None:
        self._connected.clear()
        # Whatever was waiting for a PUBACK is retried by the dispatcher.
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(DeliveryError(f"disconnected from {self._address}"))
        self._waiting.clear()
        if reason.value != 0:
            log.warning("disaster network disconnected; reconnecting",
                        broker=str(self._address), reason=str(reason))
        if self._keeper is not None:
            self._keeper.connection_dropped()

    def _on_publish(self, _client: Client, _userdata: Any, mid: int, reason: ReasonCode,
                    _properties: Properties) -> None:
        future = self._waiting.pop(mid, None)
        if future is None or future.done():
            return
        if reason.is_failure:
            future.set_exception(DeliveryError(f"broker refused the message: {reason}"))
        else:
            future.set_result(None)
