"""core.mqtt.paho_client: the simulators' paho clients connect with what the one
BrokerAddress parsed from a URL -- credentials (percent-decoded) included."""

from __future__ import annotations

import threading

from paho.mqtt.client import Client, ConnectFlags
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from floodwatch.core.mqtt import BrokerAddress, new_client
from tests.brokers import LockedBroker


def connack_reason(url: str) -> int:
    address = BrokerAddress.from_url(url)
    client = new_client(address, "paho-tool")
    answered = threading.Event()
    reasons: list[int] = []

    def on_connect(_client: Client, _userdata: object, _flags: ConnectFlags,
                   reason: ReasonCode, _properties: Properties | None) -> None:
        reasons.append(reason.value)
        answered.set()

    client.on_connect = on_connect
    client.connect(address.host, address.port)
    client.loop_start()
    try:
        assert answered.wait(5), "no CONNACK"
    finally:
        client.disconnect()
        client.loop_stop()
    return reasons[0]


def test_a_paho_client_logs_in_with_the_addresss_credentials(
    locked_broker: LockedBroker,
) -> None:
    assert connack_reason(locked_broker.url()) == 0
    assert connack_reason(locked_broker.url("guess")) == 0x87  # not authorized
