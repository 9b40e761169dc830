"""The prefecture's disaster network over MQTT: its own broker connection, QoS 1.

Each event goes out as CAP 1.2 XML and as JSON on configurable topics; each station's
current status (mirrored from the engine's ``floodwatch/status/{station}``) is kept as
a retained message, so a console that connects sees the present state at once.
A delivery counts once the broker has acknowledged (PUBACK) every message of it.

The connection is a publish-only ``MqttSession``, as every stage's: a message the
broker has not acknowledged when the connection drops is resent after the reconnect,
and its delivery still counts if the PUBACK comes within ``PUBACK_TIMEOUT_S``; after
that the dispatcher retries the delivery (a repeat is harmless: receivers de-duplicate
by event id).
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import Callable

import structlog

from floodwatch.core.mqtt import BrokerAddress, MqttError, MqttSession, PublishRefused
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.core.waiting import wait_event
from floodwatch.notify.channels.base import DeliveryError
from floodwatch.notify.config import Network, Retry
from floodwatch.notify.deliveries import DeliveryLedger, StoredEvent
from floodwatch.notify.envelope import edxl_envelope

log = structlog.get_logger("notify.network")

CHANNEL = "network"
PUBACK_TIMEOUT_S = 10.0
# Publish-only: the broker sends us nothing but acknowledgements, which need no window.
RECEIVE_MAXIMUM = 16


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
    """Delivers each event to the disaster network and mirrors each station's status."""

    name = CHANNEL
    concurrency = 16

    def __init__(self, address: BrokerAddress, client_id: str, config: Network,
                 keepalive_s: int = 30, registry: StationRegistry | None = None) -> None:
        """Raises MqttError for an unusable address (e.g. a CA file that cannot be read)."""
        self.retry: Retry = config.retry
        self._config = config
        self._registry = registry  # for the EDXL-DE envelope's area (edxl_topic)
        self._address = address
        # No session kept on the broker (expiry 0): nothing is subscribed, and what we
        # published and it did not acknowledge is resent from our side.
        self._session = MqttSession(address, client_id, (), session_expiry_s=0,
                                    receive_maximum=RECEIVE_MAXIMUM, keepalive_s=keepalive_s,
                                    on_connected=self._connected, external=True)
        self._status_wake = asyncio.Event()
        self.on_connected: Callable[[], None] = lambda: None

    async def start(self, timeout_s: float = 5.0) -> str | None:
        """Connect; returns a problem line if the broker cannot be reached yet or refuses
        us (it is retried in the background, and deliveries wait)."""
        await self._session.start(timeout_s, refusal_is_fatal=False)
        if self._session.connected:
            return None
        refusal = self._session.refusal
        why = f"refused the connection: {refusal}" if refusal else "unreachable"
        return f"broker {self._address} {why}; deliveries wait and are retried"

    async def close(self) -> None:
        await self._session.close()

    async def deliver(self, event: StoredEvent) -> str:
        messages = []
        if event.cap is not None:
            messages.append((self._config.cap_topic.format(station=event.station), event.cap))
        if event.json is not None:
            messages.append((self._config.json_topic.format(station=event.station),
                             event.json))
        if self._config.edxl_topic is not None and self._registry is not None:
            try:
                envelope = edxl_envelope(event, self._registry)
                if envelope is not None:  # Public only: the topic is for partners
                    messages.append((self._config.edxl_topic.format(station=event.station),
                                     envelope))
            except DeliveryError as exc:  # the CAP and JSON still go: they matter most
                log.error("no EDXL-DE envelope for this event", event_id=event.event_id,
                          error=exc.detail)
        await self._publish_all(messages, retain=False)
        return f"published to {', '.join(topic for topic, _ in messages)}"

    def wake_status(self) -> None:
        self._status_wake.set()

    async def run_status(self, ledger: DeliveryLedger) -> None:
        """Mirror each station's latest status, retained, until acknowledged."""
        while True:
            for station, payload in _undelivered_statuses(ledger):
                topic = self._config.status_topic.format(station=station)
                try:
                    await self._publish_all([(topic, payload)], retain=True)
                except DeliveryError as exc:
                    log.warning("station status not mirrored yet", station=station,
                                error=exc.detail)
                    break
                ledger.db.execute("UPDATE network_status SET delivered = 1 WHERE station = ? "
                                  "AND payload = ?", (station, payload))
            self._status_wake.clear()
            await wait_event(self._status_wake, 2.0)

    async def _publish_all(self, messages: list[tuple[str, bytes]], *, retain: bool) -> None:
        # Not even queued while the broker is away: the dispatcher's backoff (and
        # on_connected) decide when to try again, instead of a pile of resends.
        if not self._session.connected:
            raise DeliveryError(f"not connected to {self._address}")
        confirmations: list[asyncio.Future[None]] = []
        try:
            for topic, payload in messages:
                confirmations.append(
                    self._session.publish_with_confirmation(topic, payload, retain=retain))
        except MqttError as exc:
            for confirmation in confirmations:  # no one will wait for these now
                confirmation.cancel()
            raise DeliveryError(str(exc)) from exc
        try:
            async with asyncio.timeout(PUBACK_TIMEOUT_S):
                outcomes = await asyncio.gather(*confirmations, return_exceptions=True)
        except TimeoutError as exc:
            raise DeliveryError(f"no PUBACK from {self._address} within "
                                f"{PUBACK_TIMEOUT_S:g} s") from exc
        for outcome in outcomes:
            if isinstance(outcome, BaseException):  # refused, or the session closed
                raise DeliveryError(str(outcome) or type(outcome).__name__,
                                    refused=isinstance(outcome, PublishRefused)) from outcome

    def _connected(self) -> None:
        # Statuses and waiting retries go now, not at the end of their backoff.
        self._status_wake.set()
        try:
            self.on_connected()
        except Exception:  # the connection task calls this: it must outlive a failure
            log.exception("after connecting to the disaster network")


def _undelivered_statuses(ledger: DeliveryLedger) -> list[tuple[str, bytes]]:
    """Station statuses the intake stored (ledger table ``network_status``) and the
    network has not acknowledged yet."""
    rows = ledger.db.execute("SELECT station, payload FROM network_status WHERE delivered = 0")
    return [(row[0], bytes(row[1])) for row in rows]
