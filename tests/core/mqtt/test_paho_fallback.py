"""The fallback if the ``mqtt5`` codec is abandoned (docs/mqtt-link.md): paho-mqtt, which
the simulators already use, can carry a consuming stage's contract -- a persistent MQTT 5
session whose messages are acknowledged only when the stage says so. Kept cheap on
purpose: it checks the installed paho still offers what that route needs, against a real
Mosquitto, not a second implementation of MqttSession."""

from __future__ import annotations

import threading
import time

from paho.mqtt.client import Client, ConnectFlags, MQTTMessage
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from floodwatch.core.mqtt import BrokerAddress, connect_properties, new_client
from floodwatch.services.servers import MosquittoServer

TOPIC = "sensors/river/fallback"


class ManualAckConsumer:
    """A paho client on a persistent session, acknowledging by hand (``ack``)."""

    def __init__(self, address: BrokerAddress) -> None:
        self.client = new_client(address, "paho-fallback-consumer")
        self.client.manual_ack_set(True)
        self.received: list[MQTTMessage] = []
        self.arrived = threading.Condition()
        self.subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(address.host, address.port, clean_start=False,
                            properties=connect_properties(session_expiry_s=300,
                                                          receive_maximum=100))
        self.client.loop_start()
        assert self.subscribed.wait(5), "no SUBACK"

    def _on_connect(self, client: Client, _userdata: object, _flags: ConnectFlags,
                    _reason: ReasonCode, _properties: Properties | None) -> None:
        client.subscribe(TOPIC, qos=1)

    def _on_message(self, _client: Client, _userdata: object, message: MQTTMessage) -> None:
        with self.arrived:
            self.received.append(message)
            self.arrived.notify_all()

    def wait_for(self, count: int) -> list[MQTTMessage]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.received) >= count, 5), (
                f"{len(self.received)} of {count} messages")
            return list(self.received)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_paho_keeps_what_was_not_acknowledged_for_the_next_connection(
    mosquitto: MosquittoServer,
) -> None:
    address = BrokerAddress.from_url(mosquitto.url)
    consumer = ManualAckConsumer(address)
    publisher = new_client(address, "paho-fallback-publisher")
    publisher.connect(address.host, address.port)
    publisher.loop_start()
    for number in range(6):
        publisher.publish(TOPIC, str(number).encode(), qos=1).wait_for_publish(5)
    first = consumer.wait_for(6)
    for message in first[:3]:  # "stored": the rest are not, and must come back
        consumer.client.ack(message.mid, message.qos)
    # An ack has no answer to wait for: give paho's network thread time to send the last
    # PUBACK before the DISCONNECT (as tests/core/mqtt/test_session.py does for ours).
    time.sleep(0.3)
    consumer.stop()
    publisher.disconnect()
    publisher.loop_stop()

    again = ManualAckConsumer(address)
    redelivered = again.wait_for(3)
    for message in redelivered:
        again.client.ack(message.mid, message.qos)
    again.stop()
    assert [m.payload for m in first] == [str(n).encode() for n in range(6)]
    assert [m.payload for m in redelivered] == [b"3", b"4", b"5"]
    assert all(m.dup for m in redelivered)
