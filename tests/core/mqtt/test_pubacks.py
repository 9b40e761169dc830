"""core.mqtt.pubacks: the PUBACKs that accept, read and written in runs without the
codec -- the very bytes the codec writes, the very packets it reads (in order, split
anywhere, amid every other packet), and the window confirmed as one by one; a real
Mosquitto's PUBACKs take that path."""

from __future__ import annotations

import asyncio
import itertools
from array import array
from collections.abc import Sequence

import mqtt5
import pytest
from hypothesis import given
from hypothesis import strategies as st

from floodwatch.core.mqtt import BrokerAddress, MqttLink, MqttSession, PublishWindow
from floodwatch.core.mqtt.pubacks import accepted_pubacks, accepted_pubacks_bytes
from floodwatch.services.servers import MosquittoServer

packet_ids = st.integers(1, 65_535)
NOBODY = mqtt5.PubAckReasonCode.NO_MATCHING_SUBSCRIBERS
reason_codes = st.sampled_from([getattr(mqtt5.PubAckReasonCode, name)
                                for name in dir(mqtt5.PubAckReasonCode) if name.isupper()])
# What a broker sends while ingest drains: runs of Success PUBACKs for our bus publishes,
# PUBLISHes of the backlog, now and then another PUBACK (a failure, a reason string).
packets = st.one_of(
    st.builds(mqtt5.PubAckPacket, packet_ids),
    st.builds(mqtt5.PubAckPacket, packet_ids, reason_code=st.just(NOBODY)),
    st.builds(mqtt5.PubAckPacket, packet_ids, reason_code=reason_codes,
              reason_str=st.none() | st.text(max_size=8)),
    st.builds(lambda topic, payload, packet_id: mqtt5.PublishPacket(
        topic, payload, qos=mqtt5.QoS.AT_LEAST_ONCE, packet_id=packet_id),
        st.sampled_from(["sensors/river/g1", "a"]), st.binary(max_size=40), packet_ids),
    st.builds(mqtt5.PingRespPacket),
)
streams = st.lists(st.one_of(packets.map(lambda packet: [packet]),
                             st.lists(st.builds(mqtt5.PubAckPacket, packet_ids),
                                      min_size=60, max_size=150),
                             st.lists(st.builds(mqtt5.PubAckPacket, packet_ids,
                                                reason_code=st.just(NOBODY)),
                                      min_size=60, max_size=150)),
                   min_size=1, max_size=8).map(lambda runs: list(itertools.chain(*runs)))


@given(st.lists(packet_ids, max_size=300))
def test_written_accepted_pubacks_are_the_codecs_bytes(ids: list[int]) -> None:
    assert accepted_pubacks_bytes(array("H", ids)) == b"".join(
        mqtt5.PubAckPacket(packet_id).write() for packet_id in ids)


def test_a_run_is_read_up_to_the_first_other_packet() -> None:
    refused = mqtt5.PubAckPacket(9, reason_code=mqtt5.PubAckReasonCode.NOT_AUTHORIZED)
    data = b"".join(mqtt5.PubAckPacket(n).write() for n in (1, 2, 700)) + refused.write()
    assert accepted_pubacks(data, 0) == (array("H", [1, 2, 700]), 12)
    assert accepted_pubacks(data, 12) == (array("H"), 0)  # the refusal is the codec's
    assert accepted_pubacks(data[:10], 0) == (array("H", [1, 2]), 8)  # third incomplete
    nobody = b"".join(mqtt5.PubAckPacket(n, reason_code=NOBODY).write() for n in (5, 6))
    assert len(nobody) == 10  # Mosquitto's answer when no one subscribes to the topic
    assert accepted_pubacks(nobody + data, 0) == (array("H", [5, 6]), 10)


def accepted_id(packet: object) -> int | None:
    """The packet id of a PUBACK the runs are for (accepting, no properties)."""
    if isinstance(packet, mqtt5.PubAckPacket) and len(packet.write()) in (4, 5) \
            and int(packet.reason_code) in (0, 0x10):
        return packet.packet_id
    return None


def feed(chunks: list[bytes]) -> tuple[list[object], int, bool]:
    """What a link delivers, in arrival order (a PUBACK read in a run as ("accepted", its
    id)); how many packets the codec read; whether the link closed."""
    async def scenario() -> tuple[list[object], int, bool]:
        delivered: list[object] = []
        link = MqttLink(lambda packet, _at: delivered.append(packet),
                        lambda ids: delivered.extend(("accepted", i) for i in ids))
        real, calls = mqtt5.read, [0]

        def counted(view: memoryview) -> tuple[mqtt5.Packet, int]:
            calls[0] += 1
            return real(view)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(mqtt5, "read", counted)
            for chunk in chunks:
                link.data_received(chunk)
        return delivered, calls[0], link.closed.done()

    return asyncio.run(scenario())


@given(st.data(), streams)
def test_the_link_delivers_every_packet_in_order_however_the_stream_is_cut(
    data: st.DataObject, stream: list[object],
) -> None:
    wire = b"".join(packet.write() for packet in stream)  # type: ignore[attr-defined]
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(wire)), max_size=10))))
    chunks = [wire[a:b] for a, b in itertools.pairwise([0, *cuts, len(wire)]) if b > a]
    delivered, codec_reads, closed = feed(chunks)
    assert not closed
    decoded = [mqtt5.read(memoryview(packet.write()))[0]  # type: ignore[attr-defined]
               for packet in stream]
    assert delivered == [packet if accepted_id(packet) is None else
                         ("accepted", accepted_id(packet)) for packet in decoded]
    # The codec reads the others (and an attempt per read at most), never those.
    others = sum(1 for packet in decoded if accepted_id(packet) is None)
    assert codec_reads <= others + len(chunks)


def test_confirmed_in_a_run_frees_the_window_as_one_by_one_would() -> None:
    sent: list[bytes] = []
    window = PublishWindow()
    window.connected(sent.append, 2)
    for number in range(4):
        window.add("bus/x", str(number).encode(), False)
    assert len(sent) == 2  # the broker's window
    window.confirmed_accepted(array("H", [1, 2, 999]))  # 999: from before a reconnect
    assert len(window) == 2
    assert len(sent) == 4  # the waiting two went out


def test_a_waiting_confirmation_is_settled_by_a_run_too() -> None:
    async def scenario() -> bool:
        window = PublishWindow()
        window.connected(lambda data: None, 10)
        confirmation = window.add_with_confirmation("bus/x", b"1", False)
        window.add("bus/x", b"2", False)
        window.confirmed_accepted(array("H", [1, 2]))
        await asyncio.wait_for(confirmation, 1)
        return len(window) == 0

    assert asyncio.run(scenario())


def test_mosquittos_pubacks_take_the_run_path(mosquitto: MosquittoServer) -> None:
    async def scenario() -> tuple[int, int, int]:
        publisher = MqttSession(BrokerAddress.from_url(f"mqtt://127.0.0.1:{mosquitto.port}"),
                                "runs", [], session_expiry_s=0, receive_maximum=10)
        window = publisher._window  # the session's own window, watched
        one_by_one, in_runs = [0], [0]
        confirmed, confirmed_accepted = window.confirmed, window.confirmed_accepted

        def counted_one(packet: mqtt5.PubAckPacket) -> None:
            one_by_one[0] += 1
            confirmed(packet)

        def counted_run(ids: Sequence[int]) -> None:
            in_runs[0] += len(ids)
            confirmed_accepted(ids)

        window.confirmed, window.confirmed_accepted = counted_one, counted_run  # type: ignore[method-assign,assignment]
        await publisher.start()
        for number in range(3000):
            await publisher.wait_for_publish_room()
            publisher.publish("runs/x", str(number).encode())
        for _ in range(500):
            if not publisher.unconfirmed_publishes:
                break
            await asyncio.sleep(0.02)
        left = publisher.unconfirmed_publishes
        await publisher.close()
        return one_by_one[0], in_runs[0], left

    one_by_one, in_runs, left = asyncio.run(scenario())
    assert (one_by_one, in_runs, left) == (0, 3000, 0)
