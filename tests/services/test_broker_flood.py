"""The shipped broker configuration keeps every QoS 1 reading for a subscriber that is
away (restarting) during a flood; Mosquitto's defaults silently drop most of them."""

from __future__ import annotations

import threading
from pathlib import Path

from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from floodwatch.core.mqtt import connect_properties
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer

FLOOD = 20_000


def _session(port: int, received: list[bytes] | None = None) -> Client:
    """A persistent MQTT 5 session, like ingest's; subscribes on connect."""
    client = Client(CallbackAPIVersion.VERSION2, client_id="flood-subscriber",
                    protocol=MQTTProtocolVersion.MQTTv5)
    subscribed = threading.Event()
    client.on_connect = lambda c, *_: c.subscribe("sensors/river/+", qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    if received is not None:
        client.on_message = lambda _c, _u, message: received.append(bytes(message.payload))
    client.connect("127.0.0.1", port, clean_start=False,
                   properties=connect_properties(session_expiry_s=3600))
    client.loop_start()
    assert subscribed.wait(5)
    return client


def _publish_flood(port: int) -> None:
    publisher = Client(CallbackAPIVersion.VERSION2, client_id="flood-publisher")
    publisher.max_inflight_messages_set(1000)
    publisher.max_queued_messages_set(0)
    publisher.connect("127.0.0.1", port)
    publisher.loop_start()
    infos = [publisher.publish(f"sensors/river/g{i % 500}", f'{{"level_m": {i}}}', qos=1)
             for i in range(FLOOD)]
    for info in infos:
        info.wait_for_publish(timeout=30)
    publisher.disconnect()
    publisher.loop_stop()


def _received_after_flood(broker: MosquittoServer) -> int:
    broker.start()
    try:
        away = _session(broker.port)
        away.disconnect()  # the subscriber is restarting while the devices flood
        away.loop_stop()
        _publish_flood(broker.port)
        received: list[bytes] = []
        back = _session(broker.port, received)
        count = len(received)
        while True:  # until nothing more arrives for a second
            threading.Event().wait(1.0)
            if len(received) == count:
                break
            count = len(received)
        back.disconnect()
        back.loop_stop()
        return len(received)
    finally:
        broker.stop()


def test_shipped_config_keeps_a_flood_that_defaults_drop(tmp_path: Path) -> None:
    shipped = MosquittoServer(free_port(), tmp_path / "shipped")
    kept = _received_after_flood(shipped)

    defaults = MosquittoServer(free_port(), tmp_path / "defaults")
    defaults.config_file.parent.mkdir(parents=True)
    defaults.config_file.write_text(f"listener {defaults.port} 127.0.0.1\n"
                                    "allow_anonymous true\n")
    dropped_to = _received_after_flood(defaults)

    print(f"\nflood of {FLOOD}: shipped config delivered {kept}, defaults {dropped_to}")
    assert kept == FLOOD
    assert dropped_to < FLOOD  # proves the limit is real, so the setting above matters
