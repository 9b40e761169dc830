"""core.mqtt.publish_window: our QoS 1 publishes until the broker's PUBACK -- the window
that holds back a stage outrunning the broker, and resends with their packet ids after
a reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import mqtt5

from floodwatch.core.mqtt import DEFAULT_PUBLISH_WINDOW, BrokerAddress, MqttSession, PublishWindow
from floodwatch.services.servers import MosquittoServer


def session(port: int, client_id: str) -> MqttSession:
    address = BrokerAddress("127.0.0.1", port, False, None, None, None)
    return MqttSession(address, client_id, [], session_expiry_s=0, receive_maximum=10,
                       keepalive_s=5, min_delay_s=0.1, max_delay_s=0.5)


async def until(check: Callable[[], bool], timeout_s: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check() and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)


def puback(packet_id: int, reason: mqtt5.PubAckReasonCode = mqtt5.PubAckReasonCode.SUCCESS
           ) -> mqtt5.PubAckPacket:
    return mqtt5.PubAckPacket(packet_id, reason_code=reason)


def publishes(written: list[bytes]) -> list[mqtt5.PublishPacket]:
    packets = [mqtt5.read(memoryview(data))[0] for data in written]
    assert all(isinstance(packet, mqtt5.PublishPacket) for packet in packets)
    return [packet for packet in packets if isinstance(packet, mqtt5.PublishPacket)]


# --- the window on its own: bytes out, PUBACKs in ------------------------------------

def test_resends_keep_order_and_packet_ids_and_carry_the_dup_flag() -> None:
    async def scenario() -> tuple[list[bytes], list[bytes]]:
        window = PublishWindow()
        first: list[bytes] = []
        window.connected(first.append, 10)
        for number in range(3):
            window.add(f"out/{number}", b"x", retain=False)
        window.confirmed(puback(2))
        window.disconnected()
        again: list[bytes] = []
        window.connected(again.append, 10)
        return first, again

    first, again = asyncio.run(scenario())
    sent, resent = publishes(first), publishes(again)
    assert [(p.packet_id, p.duplicate) for p in sent] == [(1, False), (2, False), (3, False)]
    assert [(p.packet_id, p.topic, p.duplicate) for p in resent] \
        == [(1, "out/0", True), (3, "out/2", True)]


# --- against a real broker ------------------------------------------------------------

def test_the_publish_window_holds_back_a_stage_that_outruns_the_broker(
    mosquitto: MosquittoServer,
) -> None:
    async def scenario() -> tuple[int, int]:
        publisher = session(mosquitto.port, "bursty")
        await publisher.start()
        most_unconfirmed = 0
        for number in range(DEFAULT_PUBLISH_WINDOW * 5 // 2):
            await publisher.wait_for_publish_room()
            publisher.publish("burst/x", str(number).encode())
            most_unconfirmed = max(most_unconfirmed, publisher.unconfirmed_publishes)
        await until(lambda: publisher.unconfirmed_publishes == 0)
        left = publisher.unconfirmed_publishes
        await publisher.close()
        return most_unconfirmed, left

    most_unconfirmed, left = asyncio.run(scenario())
    assert most_unconfirmed <= DEFAULT_PUBLISH_WINDOW  # the broker grants as many
    assert left == 0
