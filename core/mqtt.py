"""MQTT helpers shared by every stage: broker address from settings, and paho clients.

The consuming stages' sessions (core.subscription) speak MQTT through core.mqtt_link and
the ``mqtt5`` codec; paho-mqtt serves the publish-only links (the disaster network, the
simulators), where its convenience matters more than its per-message cost. Stages depend
on the small interfaces in their own packages, not on either.
"""

from __future__ import annotations

import random
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from floodwatch.core.settings import Settings

# CONNACK reason codes after which retrying with the same settings cannot succeed.
PERMANENT_CONNECT_FAILURES = {
    0x84: "unsupported protocol version",
    0x85: "client identifier not valid",
    0x86: "bad user name or password",
    0x87: "not authorized",
    0x8C: "bad authentication method",
}


def backoff_delay(attempt: int, min_delay_s: float, max_delay_s: float) -> float:
    """Capped exponential backoff with jitter, so a fleet of workers does not reconnect in
    lockstep after a broker restart (``attempt`` counts from 1)."""
    ceiling = min(max_delay_s, min_delay_s * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


class MqttError(Exception):
    """The broker refused us, or could not be reached in time."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    ca_file: Path | None

    @classmethod
    def from_settings(cls, settings: Settings) -> BrokerAddress:
        parts = urlsplit(str(settings.mqtt_url))
        tls = parts.scheme == "mqtts"
        username, password = settings.mqtt_credentials
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=username,
            password=password,
            ca_file=settings.mqtt_ca_file,
        )

    def ssl_context(self) -> ssl.SSLContext | None:
        """For mqtts:// -- the given CA, or the system's; None for plain mqtt://."""
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def __str__(self) -> str:
        # Never the password: this string goes into logs.
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def new_client(
    address: BrokerAddress,
    client_id: str,
    *,
    manual_ack: bool = False,
    max_inflight: int = 1000,
) -> Client:
    """An MQTT 5 paho client with credentials and TLS applied; not yet connected.

    ``max_inflight=0`` lifts paho's own limit: the caller then keeps the window -- paho
    rescans every queued message on each PUBACK, quadratic once thousands are queued."""
    client = Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=manual_ack,
    )
    if address.username is not None:
        client.username_pw_set(address.username, address.password)
    context = address.ssl_context()
    if context is not None:
        client.tls_set_context(context)
    # Our own outgoing QoS 1 publishes (bus, dead letters): a wider window than paho's
    # default 20 so republishing keeps up; the queue is unbounded because dropping a
    # validated reading on the floor is never acceptable.
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def connect_properties(
    *, session_expiry_s: int = 0, receive_maximum: int | None = None
) -> Properties:
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = session_expiry_s
    if receive_maximum is not None:
        properties.ReceiveMaximum = receive_maximum
    return properties
