"""core.mqtt.session against a real Mosquitto: the guarantees every consuming stage
builds on (nothing acknowledged is lost, nothing unacknowledged is dropped, our own
publishes survive a broker restart, in the session's publish window)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from floodwatch.core.mqtt import (
    BrokerAddress,
    MqttError,
    MqttSession,
    ReceivedMessage,
)
from floodwatch.services.servers import MosquittoServer
from tests.brokers import LockedBroker


def session(broker: MosquittoServer, client_id: str, topics: list[str],
            receive_maximum: int = 100) -> MqttSession:
    address = BrokerAddress("127.0.0.1", broker.port, False, None, None, None)
    return MqttSession(address, client_id, topics, session_expiry_s=300,
                        receive_maximum=receive_maximum, keepalive_s=5,
                        min_delay_s=0.1, max_delay_s=0.5)


async def receive(source: MqttSession, count: int, timeout_s: float = 10,
                  ack: bool = False) -> list[ReceivedMessage]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    received: list[ReceivedMessage] = []
    while len(received) < count and loop.time() < deadline:
        await source.wait(0.1)
        batch = source.drain()
        if ack:  # past the session's Receive Maximum the broker waits for acks
            source.ack(batch)
        received += batch
    return received


async def until(check: Callable[[], bool], timeout_s: float = 10) -> None:
    """Poll a property the session exposes (it offers no event for these)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check() and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


def test_unacknowledged_messages_come_back_and_acknowledged_ones_do_not(
    mosquitto: MosquittoServer,
) -> None:
    async def scenario() -> tuple[list[bytes], list[bytes], list[bytes]]:
        publisher = session(mosquitto, "pub", [])
        consumer = session(mosquitto, "consumer", ["data/#"])
        await publisher.start()
        await consumer.start()
        for number in range(10):
            publisher.publish(f"data/{number}", str(number).encode())
        first = await receive(consumer, 10)
        consumer.ack(first[:4])  # the first four are "stored"; the rest are not
        await asyncio.sleep(0.3)
        await consumer.close()
        again = session(mosquitto, "consumer", ["data/#"])
        await again.start()
        second = await receive(again, 6)
        again.ack(second)
        await asyncio.sleep(0.3)
        await again.close()
        third_session = session(mosquitto, "consumer", ["data/#"])
        await third_session.start()
        third = await receive(third_session, 1, timeout_s=1.5)
        await third_session.close()
        await publisher.close()
        return ([m.payload for m in first], [m.payload for m in second],
                [m.payload for m in third])

    first, second, third = asyncio.run(scenario())
    assert first == [str(n).encode() for n in range(10)]
    assert second == [str(n).encode() for n in range(4, 10)]
    assert third == []


def test_publishes_made_while_the_broker_is_down_arrive_once_it_is_back(
    mosquitto: MosquittoServer,
) -> None:
    async def scenario() -> tuple[list[bytes], int]:
        consumer = session(mosquitto, "listener", ["out/#"])
        publisher = session(mosquitto, "stage", [])
        await consumer.start()
        await publisher.start()
        for number in range(50):
            publisher.publish("out/before", str(number).encode())
        before = await receive(consumer, 50)
        consumer.ack(before)
        await asyncio.sleep(0.2)
        await asyncio.to_thread(mosquitto.stop)
        await asyncio.sleep(0.5)
        assert not publisher.connected
        for number in range(50, 300):
            publisher.publish("out/during", str(number).encode())
        unconfirmed_while_down = publisher.unconfirmed_publishes
        await asyncio.to_thread(mosquitto.start)
        after = await receive(consumer, 250, timeout_s=20, ack=True)
        await publisher.close()
        await consumer.close()
        return [m.payload for m in before + after], unconfirmed_while_down

    payloads, unconfirmed_while_down = asyncio.run(scenario())
    assert unconfirmed_while_down == 250
    # At least once, in order; a resend after the restart may repeat one (DUP).
    assert sorted(set(payloads), key=int) == [str(n).encode() for n in range(300)]


def test_an_invalid_topic_filter_is_refused_before_connecting(
    mosquitto: MosquittoServer,
) -> None:
    with pytest.raises(MqttError, match="Invalid topic filter"):
        session(mosquitto, "bad-filter", ["sensors/#/river"])


def test_an_unreachable_broker_is_retried_not_fatal(mosquitto: MosquittoServer) -> None:
    async def scenario() -> tuple[bool, bool]:
        mosquitto.stop()
        consumer = session(mosquitto, "patient", ["late/#"])
        await consumer.start(timeout_s=0.5)
        down = consumer.connected
        await asyncio.to_thread(mosquitto.start)
        await until(lambda: consumer.connected)
        up = consumer.connected
        await consumer.close()
        return down, up

    assert asyncio.run(scenario()) == (False, True)


def test_credentials_from_the_url_are_accepted_and_a_wrong_password_is_refused(
    locked_broker: LockedBroker,
) -> None:
    def locked(url: str) -> MqttSession:
        return MqttSession(BrokerAddress.from_url(url), "station", ["allowed/#"],
                           session_expiry_s=0, receive_maximum=10, min_delay_s=0.1,
                           max_delay_s=0.5)

    async def scenario() -> tuple[bool, str, str | None, bool]:
        welcome = locked(locked_broker.url())  # a percent-encoded password
        await welcome.start(timeout_s=5)
        accepted = welcome.connected
        await welcome.close()
        with pytest.raises(MqttError) as caught:
            await locked(locked_broker.url("guess")).start(timeout_s=5)
        # A publish-only link (the disaster network) keeps trying, and says why.
        patient = locked(locked_broker.url("guess"))
        await patient.start(timeout_s=5, refusal_is_fatal=False)
        refusal, connected = patient.refusal, patient.connected
        await patient.close()
        return accepted, str(caught.value), refusal, connected

    accepted, error, refusal, connected = asyncio.run(scenario())
    assert accepted
    assert error.endswith("refused the connection: not authorized")
    assert "guess" not in error
    assert (refusal, connected) == ("not authorized", False)
