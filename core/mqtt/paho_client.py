"""paho-mqtt clients for the tools that only publish: the simulated field devices, and
tests that play a device or a console.

No stage runs paho. A cProfile of ingest draining a 100,000 message backlog through
paho showed most of the stage's CPU in paho itself (link.py says what), and paho's own
network thread (``loop_start``) makes every message cross threads, the two threads
then taking turns on the GIL: measured here, a stage draining a backlog ran several
times slower that way. The stages therefore speak MQTT through ``MqttSession``. For a
simulator, whose job is to publish as a device would, paho's convenience matters more
than its cost per message, and a device is a separate program in the field anyway.
The client is made from the same ``BrokerAddress`` as every other connection.
"""

from __future__ import annotations

from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from floodwatch.core.mqtt.address import BrokerAddress


def new_client(address: BrokerAddress, client_id: str, *, max_inflight: int = 1000) -> Client:
    """An MQTT 5 paho client with credentials and TLS applied; not yet connected
    (``client.connect(address.host, address.port)``).

    ``max_inflight=0`` lifts paho's own limit: the caller then keeps the window -- paho
    rescans every queued message on each PUBACK, quadratic once thousands are queued."""
    client = Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    if address.username is not None:
        client.username_pw_set(address.username, address.password)
    context = address.ssl_context()
    if context is not None:
        client.tls_set_context(context)
    # QoS 1 publishes: a wider window than paho's default 20 so a publisher keeps up;
    # the queue is unbounded because a reading dropped on the floor while the broker is
    # away is never acceptable (a device keeps its readings too).
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def connect_properties(
    *, session_expiry_s: int = 0, receive_maximum: int | None = None
) -> Properties:
    """CONNECT properties for a paho client that keeps a session (as the stages do)."""
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = session_expiry_s
    if receive_maximum is not None:
        properties.ReceiveMaximum = receive_maximum
    return properties
