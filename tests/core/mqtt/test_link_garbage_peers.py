"""core.mqtt over real sockets, with garbage on the wire.

- Clients sending garbage to a real Mosquitto (random bytes, mutated CONNECTs, and after
  a valid CONNECT mutated PUBLISHes, some of which the broker accepts and forwards) do
  not disturb a stage's session subscribed to everything.
- A fake broker that sends garbage: the session's link drops that connection with one
  error line saying why, reconnects, and reads the next connection's packets correctly.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import mqtt5
import pytest
import structlog

from floodwatch.core.mqtt import BrokerAddress, MqttSession, ReceivedMessage
from floodwatch.services.servers import MosquittoServer

# A panicking codec reports its UnicodeDecodeError as "unraisable" first: expected here.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

QOS1 = mqtt5.QoS.AT_LEAST_ONCE


def session(port: int, client_id: str, topics: list[str]) -> MqttSession:
    address = BrokerAddress("127.0.0.1", port, False, None, None, None)
    return MqttSession(address, client_id, topics, session_expiry_s=300,
                       receive_maximum=100, keepalive_s=5, min_delay_s=0.1, max_delay_s=0.3)


async def receive_until(source: MqttSession, done: Callable[[list[ReceivedMessage]], bool],
                        timeout_s: float = 10) -> list[ReceivedMessage]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    received: list[ReceivedMessage] = []
    while not done(received) and loop.time() < deadline:
        await source.wait(0.1)
        batch = source.drain()
        source.ack(batch)
        received += batch
    return received


# --- garbage clients against a real broker -------------------------------------------
def garbage_connections(rng: random.Random, count: int) -> list[bytes]:
    """What each garbage client sends: its whole conversation, in one write."""
    connect = mqtt5.ConnectPacket("garbage-client", clean_start=True).write()
    publish = mqtt5.PublishPacket("sensors/river/fuzz", b'{"level_m": 1.25}', qos=QOS1,
                                  packet_id=7, user_properties=[("k", "v")]).write()
    conversations = []
    for number in range(count):
        kind = number % 3
        if kind == 0:
            conversations.append(rng.randbytes(rng.randint(1, 300)))
        elif kind == 1:
            conversations.append(mutate(rng, connect) + publish)
        else:  # a valid CONNECT, so the broker reads (and may forward) the PUBLISHes
            conversations.append(connect + b"".join(mutate(rng, publish) for _ in range(3)))
    return conversations


def mutate(rng: random.Random, packet: bytes) -> bytes:
    mutated = bytearray(packet)
    for _ in range(rng.randint(1, 3)):
        mutated[rng.randrange(len(mutated))] = rng.randrange(256)
    return bytes(mutated)


async def send_and_hang_up(port: int, data: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    try:
        await writer.drain()
        await asyncio.wait_for(reader.read(4096), 0.05)  # the broker's answer, if any
    except (OSError, TimeoutError):
        pass  # the broker hung up on it: the usual answer to garbage
    writer.close()


def test_garbage_clients_to_mosquitto_do_not_disturb_a_stages_session(
    mosquitto: MosquittoServer,
) -> None:
    conversations = garbage_connections(random.Random(25), 300)

    async def scenario() -> tuple[list[ReceivedMessage], bool]:
        consumer = session(mosquitto.port, "fuzz-consumer", ["#"])
        publisher = session(mosquitto.port, "fuzz-publisher", [])
        await consumer.start()
        await publisher.start()
        for batch in range(0, len(conversations), 20):  # 20 garbage clients at a time
            await asyncio.gather(*(send_and_hang_up(mosquitto.port, data)
                                   for data in conversations[batch:batch + 20]))
        publisher.publish("sensors/river/after-the-garbage", b"marker")
        received = await receive_until(
            consumer, lambda got: any(m.topic == "sensors/river/after-the-garbage"
                                      for m in got))
        connected = consumer.connected
        await publisher.close()
        await consumer.close()
        return received, connected

    with structlog.testing.capture_logs() as logs:
        received, connected = asyncio.run(scenario())
    forwarded = [m for m in received if m.topic != "sensors/river/after-the-garbage"]
    print(f"{len(conversations)} garbage clients; the broker forwarded {len(forwarded)} "
          f"of their publishes to the stage")
    assert received[-1].payload == b"marker"
    assert connected
    assert not [entry for entry in logs if entry["event"] in (
        "dropping the broker connection", "disconnected; reconnecting")]


# --- a fake broker that sends garbage --------------------------------------------------
class FakeBroker:
    """Answers CONNECT and SUBSCRIBE like a broker, then sends what the test scripted for
    that connection (one script per connection, in order)."""

    def __init__(self, scripts: list[bytes]) -> None:
        self.scripts = scripts
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        script = self.scripts[min(self.connections, len(self.scripts) - 1)]
        self.connections += 1
        buffer = b""
        try:
            while data := await reader.read(4096):
                buffer += data
                while buffer:
                    try:
                        packet, size = mqtt5.read(memoryview(buffer))
                    except IndexError:
                        break
                    buffer = buffer[size:]
                    await self._answer(packet, writer, script)
        except ConnectionError:
            pass  # the client dropped the connection, as it should after garbage
        writer.close()

    @staticmethod
    async def _answer(packet: object, writer: asyncio.StreamWriter, script: bytes) -> None:
        if isinstance(packet, mqtt5.ConnectPacket):
            writer.write(mqtt5.ConnAckPacket().write())
        elif isinstance(packet, mqtt5.SubscribePacket):
            writer.write(mqtt5.SubAckPacket(
                packet.packet_id, [mqtt5.SubAckReasonCode.GRANTED_QOS_AT_LEAST_ONCE]).write())
            writer.write(script)
        await writer.drain()


def publish(topic: str, packet_id: int) -> bytes:
    return mqtt5.PublishPacket(topic, b"{}", qos=QOS1, packet_id=packet_id).write()


# A PUBACK whose reason string is not UTF-8: the codec panics on it.
PANICKING_PUBACK = mqtt5.PubAckPacket(1, reason_str="ok").write().replace(b"ok", b"o\xff")


@pytest.mark.parametrize(("garbage", "reason"), [
    (PANICKING_PUBACK, "malformed PUBACK packet from the broker: the codec panicked"),
    (b"\x00\x02\x00\x00", "malformed reserved packet from the broker: Invalid PacketType"),
    (b"\xc0\x05pingreq-with-a-body", "malformed PINGREQ packet from the broker"),
], ids=["codec-panic", "reserved-type", "pingreq-with-a-body"])
def test_a_broker_sending_garbage_is_dropped_with_a_clear_line_and_reconnected(
    garbage: bytes, reason: str,
) -> None:
    after_garbage = publish("sensors/river/lost", 2)  # unframeable once garbage came first
    broker = FakeBroker([
        publish("sensors/river/before", 1) + garbage + after_garbage,
        publish("sensors/river/next-connection", 3),
    ])

    async def scenario() -> tuple[list[str], int]:
        port = await broker.start()
        victim = session(port, "victim", ["sensors/#"])
        await victim.start()
        received = await receive_until(victim, lambda got: len(got) >= 2)
        await victim.close()
        assert broker.server is not None
        broker.server.close()
        return [m.topic for m in received], broker.connections

    with structlog.testing.capture_logs() as logs:
        topics, connections = asyncio.run(scenario())
    assert topics == ["sensors/river/before", "sensors/river/next-connection"]
    assert connections == 2
    dropped = [entry for entry in logs if entry["event"] == "dropping the broker connection"]
    assert len(dropped) == 1
    assert dropped[0]["log_level"] == "error"
    assert dropped[0]["reason"].startswith(reason)
    assert dropped[0]["peer"].startswith("('127.0.0.1'")
    assert bytes.fromhex(dropped[0]["first_bytes"]) == (garbage + after_garbage)[:32]

