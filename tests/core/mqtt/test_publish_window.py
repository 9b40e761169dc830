"""core.mqtt.publish_window: our QoS 1 publishes until the broker's PUBACK -- the window
that holds back a stage outrunning the broker, resends with their packet ids after a
reconnect, and the confirmations a publisher may wait on (the disaster network does),
settled by the real broker's PUBACK: accepted, refused, after a reconnect, or never."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import mqtt5
import pytest

from floodwatch.core.mqtt import (
    DEFAULT_PUBLISH_WINDOW,
    BrokerAddress,
    MqttError,
    MqttSession,
    PublishError,
    PublishRefused,
    PublishWindow,
)
from floodwatch.services.servers import MosquittoServer
from tests.brokers import FaultyLink, LockedBroker
from tests.support import collect


def session(port: int, client_id: str, url: str | None = None) -> MqttSession:
    address = BrokerAddress.from_url(url or f"mqtt://127.0.0.1:{port}")
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


def test_a_run_is_published_as_one_by_one_in_one_write() -> None:
    run = [(f"out/{number}", str(number).encode()) for number in range(5)]
    one_by_one, at_once = PublishWindow(), PublishWindow()
    singles: list[bytes] = []
    writes: list[bytes] = []
    one_by_one.connected(singles.append, 10)
    at_once.connected(writes.append, 10)
    for topic, payload in run:
        one_by_one.add(topic, payload, retain=False)
    at_once.add_all(run)
    assert writes == [b"".join(singles)]  # the same packets, ids and order
    assert len(at_once) == 5


def test_a_run_beyond_the_window_waits_as_single_publishes_do() -> None:
    written: list[bytes] = []
    window = PublishWindow()
    window.connected(written.append, 3)
    window.add_all([(f"out/{number}", b"x") for number in range(5)])
    assert [p.packet_id for p in publishes(written)] == [1, 2, 3]
    window.confirmed(puback(1))
    window.confirmed(puback(2))
    assert [p.packet_id for p in publishes(written)] == [1, 2, 3, 4, 5]


def test_a_bad_topic_in_a_run_sends_what_came_before_and_raises() -> None:
    written: list[bytes] = []
    window = PublishWindow()
    window.connected(written.append, 10)
    with pytest.raises(PublishError):
        window.add_all([("out/a", b"x"), ("out/#", b"y"), ("out/c", b"z")])
    assert [p.topic for p in publishes(written)] == ["out/a"]
    assert len(window) == 1  # kept until the broker confirms it


def test_each_confirmation_is_settled_by_its_own_puback() -> None:
    async def scenario() -> None:
        window = PublishWindow()
        window.connected(lambda _data: None, 10)
        refused = window.add_with_confirmation("net/cap/a", b"<alert/>", retain=False)
        plain = window.add("readings/a", b"{}", retain=False)
        accepted = window.add_with_confirmation("net/json/a", b"{}", retain=True)
        window.confirmed(puback(3))
        assert accepted.done()
        assert accepted.result() is None
        assert not refused.done()
        window.confirmed(puback(plain))  # no confirmation asked: nothing to settle
        window.confirmed(puback(1, mqtt5.PubAckReasonCode.NOT_AUTHORIZED))
        with pytest.raises(PublishRefused) as caught:
            refused.result()
        assert (caught.value.topic, caught.value.reason) == ("net/cap/a", "NOT_AUTHORIZED")
        assert len(window) == 0

    asyncio.run(scenario())


def test_a_confirmation_given_up_or_abandoned_never_breaks_the_window() -> None:
    async def scenario() -> None:
        window = PublishWindow()
        window.connected(lambda _data: None, 10)
        given_up = window.add_with_confirmation("net/a", b"1", retain=False)
        given_up.cancel()  # the waiter timed out; the PUBACK comes later all the same
        window.confirmed(puback(1))
        assert len(window) == 0
        waiting = window.add_with_confirmation("net/b", b"2", retain=False)
        window.abandon("session closed")
        with pytest.raises(MqttError, match="session closed"):
            waiting.result()
        window.confirmed(puback(2))  # too late for anyone, and harmless
        assert len(window) == 0

    asyncio.run(scenario())


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


def test_a_confirmed_publish_resolves_once_the_broker_has_it(
    mosquitto: MosquittoServer,
) -> None:
    async def scenario() -> list[tuple[str, bytes]]:
        publisher = session(mosquitto.port, "network")
        await publisher.start()
        with collect(mosquitto.port, "net/#") as got:
            confirmation = publisher.publish_with_confirmation("net/cap/a", b"<alert/>")
            await asyncio.wait_for(confirmation, 5)
            await until(lambda: got.count() >= 1, 5)
        # Nobody subscribed: the broker still confirms (reason 0x10, not a failure).
        await asyncio.wait_for(publisher.publish_with_confirmation("nobody/x", b"1"), 5)
        await publisher.close()
        return [(topic, payload) for topic, payload, _ in got.messages]

    assert asyncio.run(scenario()) == [("net/cap/a", b"<alert/>")]


def test_a_publish_the_broker_refuses_fails_its_confirmation(
    locked_broker: LockedBroker,
) -> None:
    async def scenario() -> tuple[PublishRefused, bool]:
        publisher = session(0, "acl", url=locked_broker.url())
        await publisher.start()
        denied = publisher.publish_with_confirmation("denied/x", b"1")
        allowed = publisher.publish_with_confirmation("allowed/x", b"2")
        await asyncio.wait_for(allowed, 5)
        with pytest.raises(PublishRefused) as caught:
            await asyncio.wait_for(denied, 5)
        still_connected = publisher.connected
        await publisher.close()
        return caught.value, still_connected

    refusal, still_connected = asyncio.run(scenario())
    assert (refusal.topic, refusal.reason) == ("denied/x", "NOT_AUTHORIZED")
    assert "denied/x" in str(refusal)
    assert still_connected


def test_a_confirmation_waits_through_a_reconnect(mosquitto: MosquittoServer) -> None:
    """The broker got the publish but its PUBACK was lost with the connection: the
    publish goes again on the next connection, and that PUBACK settles it."""
    async def scenario() -> tuple[bool, int, int]:
        async with FaultyLink(mosquitto.port) as link:
            publisher = session(link.port, "through-reconnect")
            await publisher.start()
            with collect(mosquitto.port, "net/#") as got:
                link.swallow_from_broker = True
                confirmation = publisher.publish_with_confirmation("net/status/a", b"1")
                await until(lambda: got.count() >= 1, 5)
                await asyncio.sleep(0.2)  # the PUBACK is well on its way -- and dropped
                settled_without_puback = confirmation.done()
                link.swallow_from_broker = False
                link.drop_connections()
                await asyncio.wait_for(confirmation, 10)
                await until(lambda: got.count() >= 2, 5)
            left = publisher.unconfirmed_publishes
            await publisher.close()
        return settled_without_puback, got.count(), left

    settled_without_puback, received, left = asyncio.run(scenario())
    assert not settled_without_puback
    assert received == 2  # the original and the resend (at least once)
    assert left == 0


def test_closing_the_session_fails_a_confirmation_still_waiting(
    mosquitto: MosquittoServer,
) -> None:
    async def scenario() -> None:
        async with FaultyLink(mosquitto.port) as link:
            publisher = session(link.port, "closing")
            await publisher.start()
            link.swallow_from_broker = True
            confirmation = publisher.publish_with_confirmation("net/x", b"1")
            await publisher.close(timeout_s=0.3)
            with pytest.raises(MqttError, match="session closed before"):
                await confirmation

    asyncio.run(scenario())
