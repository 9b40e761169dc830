"""core.mqtt.link: packets split across reads are reassembled, and a PUBLISH the codec
refuses (a topic that is not UTF-8) still reaches the stage, to be dead-lettered and
acknowledged, instead of breaking the connection on every redelivery."""

from __future__ import annotations

import asyncio

import mqtt5
import pytest

from floodwatch.core.mqtt import MqttLink, RawPublish


def feed(chunks: list[bytes]) -> tuple[list[object], bool]:
    async def scenario() -> tuple[list[object], bool]:
        packets: list[object] = []
        link = MqttLink(lambda packet, _received_at: packets.append(packet))
        for chunk in chunks:
            link.data_received(chunk)
        return packets, link.closed.done()

    return asyncio.run(scenario())


def publish(topic: str, payload: bytes, packet_id: int) -> bytes:
    return mqtt5.PublishPacket(topic, payload, qos=mqtt5.QoS.AT_LEAST_ONCE,
                               packet_id=packet_id).write()


def test_packets_split_anywhere_across_reads_come_out_whole_and_in_order() -> None:
    stream = b"".join(publish(f"sensors/river/g{n}", b'{"level_m": 1.5}' * n, n)
                      for n in range(1, 30))
    for cut in (1, 2, 7, 64, 500):
        chunks = [stream[i:i + cut] for i in range(0, len(stream), cut)]
        packets, closed = feed(chunks)
        assert not closed
        assert [p.packet_id for p in packets if isinstance(p, mqtt5.PublishPacket)] \
            == list(range(1, 30))


# The codec reports the UnicodeDecodeError as "unraisable" before it panics: expected here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_publish_with_a_topic_that_is_not_utf8_is_delivered_leniently() -> None:
    good = publish("sensors/river/abc", b'{"level_m": 2.0}', 41)
    bad = good.replace(b"sensors/river/abc", b"sensors/river/a\xffc")
    after = publish("sensors/river/next", b"{}", 42)
    packets, closed = feed([bad + after])
    assert not closed
    assert packets[0] == RawPublish("sensors/river/a\ufffdc", b'{"level_m": 2.0}', 1, 41)
    assert isinstance(packets[1], mqtt5.PublishPacket)
    assert packets[1].packet_id == 42


def test_anything_else_malformed_closes_the_connection() -> None:
    packets, closed = feed([b"\xf0\x00"])  # an AUTH packet without its properties
    assert packets == []
    assert closed
