"""core.mqtt.inbox: a broker that sends past the session's Receive Maximum is held back
by TCP, not by the stage's memory; nothing is lost; nothing waiting on the broker's
answers is stalled."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import cast

import pytest

from floodwatch.core.mqtt import MqttLink, MqttSession, ReceivedMessage
from floodwatch.core.mqtt import inbox as inbox_module
from floodwatch.core.mqtt.inbox import Inbox
from floodwatch.services.servers import MosquittoServer
from tests.core.mqtt.test_session import session, until

LIMIT = 100
QUEUED = 2000
PAYLOAD = b"x" * 4000  # ~64 readings per 256 KiB socket read: a hold is visible


async def backlog_after_first_acks(broker: MosquittoServer, client_id: str,
                                   limit: int) -> tuple[MqttSession, list[ReceivedMessage]]:
    """QUEUED messages queued for a stopped persistent session with a Receive Maximum of
    LIMIT; the session resumes, drains the LIMIT it is sent and acknowledges half of them
    (after which Mosquitto 2.0.11 sends the rest of the queue at once). ``limit`` is the
    inbox's own bound."""
    consumer = session(broker, client_id, ["inbox/#"], receive_maximum=LIMIT)
    await consumer.start()
    await consumer.close()
    publisher = session(broker, f"{client_id}-pub", [])
    await publisher.start()
    for number in range(QUEUED):
        await publisher.wait_for_publish_room()
        publisher.publish(f"inbox/{number % 10}", number.to_bytes(4, "big") + PAYLOAD)
    await until(lambda: publisher.unconfirmed_publishes == 0)
    await publisher.close()

    consumer = session(broker, client_id, ["inbox/#"], receive_maximum=LIMIT)
    consumer._inbox = Inbox(limit)  # the bound under test
    await consumer.start()
    await until(lambda: len(consumer._inbox) >= LIMIT)
    first = consumer.drain()
    consumer.ack(first[: LIMIT // 2])
    await asyncio.sleep(0.5)  # shorter than inbox.HOLD_S
    return consumer, first


def numbers(messages: list[ReceivedMessage]) -> list[int]:
    return [int.from_bytes(message.payload[:4], "big") for message in messages]


def test_the_broker_sends_past_the_receive_maximum_without_the_hold(
        mosquitto: MosquittoServer) -> None:
    """The control: why the inbox holds at all. Should this fail, the broker keeps its
    promise (a fixed Mosquitto) and the hold below is never needed."""
    async def scenario() -> int:
        consumer, first = await backlog_after_first_acks(mosquitto, "inbox-control",
                                                         limit=QUEUED * 10)
        try:
            return len(first) + len(consumer._inbox)
        finally:
            consumer.ack(consumer.drain())
            await consumer.close()

    assert asyncio.run(scenario()) > LIMIT * 5


def test_the_hold_keeps_what_the_broker_over_sends_in_the_broker(
        mosquitto: MosquittoServer) -> None:
    async def scenario() -> tuple[int, list[int]]:
        consumer, first = await backlog_after_first_acks(mosquitto, "inbox-held",
                                                         limit=LIMIT)
        try:
            waiting = len(consumer._inbox)
            received = first + consumer.drain()
            consumer.ack(received)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while len(received) < QUEUED and loop.time() < deadline:
                await consumer.wait(0.1)
                more = consumer.drain()
                consumer.ack(more)
                received += more
            return waiting, numbers(received)
        finally:
            await consumer.close()

    waiting, received = asyncio.run(scenario())
    # The limit, and at most one socket read more (64 of these) and the messages of
    # the read that crossed it.
    assert LIMIT <= waiting <= LIMIT + 2 * 70
    # Nothing lost: every message once (the 50 acknowledged before are not resent).
    assert sorted(set(received)) == list(range(QUEUED))


class FakeLink:
    def __init__(self) -> None:
        self.holds: list[float] = []
        self.resumes = 0
        self.reading_held = False

    def hold_reading(self, at_most_s: float) -> None:
        self.holds.append(at_most_s)
        self.reading_held = True

    def resume_reading(self) -> None:
        self.resumes += 1
        self.reading_held = False


def message(number: int) -> ReceivedMessage:
    return ReceivedMessage("t", number.to_bytes(4, "big"), number, 1, datetime.now(UTC), 1)


@pytest.mark.parametrize("limit", [1, 3])
def test_the_inbox_holds_past_its_limit_and_lets_go_on_drain(limit: int) -> None:
    async def scenario() -> None:
        inbox, fake = Inbox(limit), FakeLink()
        link = cast(MqttLink, fake)
        for number in range(limit):
            inbox.add(message(number), link)
        assert fake.holds == []
        inbox.add(message(limit), link)
        inbox.add(message(limit + 1), link)
        assert len(fake.holds) == 1
        assert inbox.holding
        assert [m.mid for m in inbox.drain()] == list(range(limit + 2))
        assert fake.resumes == 1
        assert not inbox.holding
        inbox.add(message(0), None)  # between connections: nothing to hold
        assert len(fake.holds) == 1

    asyncio.run(scenario())


def test_waiting_for_publish_room_lets_the_link_read_the_pubacks(
        mosquitto: MosquittoServer) -> None:
    async def scenario() -> int:
        consumer = session(mosquitto, "inbox-room", ["inbox-room/#"])
        await consumer.start()
        try:
            fake = FakeLink()
            consumer._inbox._held = cast(MqttLink, fake)
            fake.reading_held = True
            consumer._window.window = 0  # full: the wait must happen
            waiting = asyncio.create_task(consumer.wait_for_publish_room())
            await asyncio.sleep(0.05)
            waiting.cancel()
            return fake.resumes
        finally:
            await consumer.close()

    assert asyncio.run(scenario()) == 1


def test_a_consumer_waiting_for_publish_room_is_never_held(
        mosquitto: MosquittoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest's shape: each message republished, the publish window full now and then.
    Were the link held while the stage waits for room, the PUBACKs that make room would
    stay unread until the hold's timer (here an hour): the backlog would never drain."""
    monkeypatch.setattr(inbox_module, "HOLD_S", 3600.0)

    async def scenario() -> list[int]:
        consumer, first = await backlog_after_first_acks(mosquitto, "inbox-republish",
                                                         limit=LIMIT)
        try:
            consumer._window.window = 20  # fills at once: every run waits for room
            consumer.ack(first[LIMIT // 2:])
            received = list(first)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60  # a liveness bound, not a speed: ~1 s here
            while len(received) < QUEUED and loop.time() < deadline:
                await consumer.wait(0.1)
                batch = consumer.drain()
                for message in batch:
                    await consumer.wait_for_publish_room()
                    consumer.publish("inbox-out/copy", message.payload[:4])
                consumer.ack(batch)
                received += batch
            return numbers(received)
        finally:
            await consumer.close()

    assert sorted(set(asyncio.run(scenario()))) == list(range(QUEUED))
