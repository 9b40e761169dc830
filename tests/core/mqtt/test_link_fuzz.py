"""core.mqtt.link under fuzzed input: random and mutated byte streams in the place of a
broker's. The ``mqtt5`` codec underneath refuses bad bytes with ValueError or, for a
string that is not UTF-8, panics in Rust (a BaseException); the link must turn every one
of those into MalformedPacket or a lenient PUBLISH, never stall on a partial packet, and
leave nothing behind that harms the next connection.

Bounded in the suite by the "ci" Hypothesis profile; ``--hypothesis-profile=long`` runs
the same properties on many more inputs (tests/conftest.py, docs/mqtt-link.md).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import mqtt5
import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st

from floodwatch.core.mqtt import MalformedPacket, MqttLink, RawPublish
from floodwatch.core.mqtt.packets import read_packet

# A panicking codec reports its UnicodeDecodeError as "unraisable" first: expected here.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
T = TypeVar("T")

# --- what a broker may send ------------------------------------------------------------
# MQTT strings are UTF-8 without NUL (and without surrogates, which cannot be encoded).
text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
               max_size=24)
topics = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00+#"),
                 min_size=1, max_size=40)
packet_ids = st.integers(1, 65_535)
user_properties = st.lists(st.tuples(text, text), max_size=2)


def codes(enum: type[T]) -> st.SearchStrategy[T]:
    """Any member of one of the codec's reason-code enums (Rust classes: not iterable)."""
    return st.sampled_from([getattr(enum, name) for name in dir(enum) if name.isupper()])


@st.composite
def publishes(draw: st.DrawFn) -> mqtt5.PublishPacket:
    acknowledged = draw(st.booleans())  # QoS 1, or 0 (the codec's QoS is never falsy)
    return mqtt5.PublishPacket(
        draw(topics), draw(st.binary(max_size=300)),
        qos=mqtt5.QoS.AT_LEAST_ONCE if acknowledged else mqtt5.QoS.AT_MOST_ONCE,
        packet_id=draw(packet_ids) if acknowledged else None,
        retain=draw(st.booleans()), duplicate=acknowledged and draw(st.booleans()),
        content_type=draw(st.none() | text),
        message_expiry_interval=draw(st.none() | st.integers(0, 2**32 - 1)),
        user_properties=draw(user_properties))


broker_packets = st.one_of(
    publishes(),
    st.builds(mqtt5.PubAckPacket, packet_ids,
              reason_code=codes(mqtt5.PubAckReasonCode),
              reason_str=st.none() | text),
    st.builds(mqtt5.ConnAckPacket, session_present=st.booleans(),
              receive_max=st.integers(1, 65_535),
              server_keep_alive=st.none() | st.integers(0, 65_535),
              assigned_client_id=st.none() | text, reason_str=st.none() | text),
    st.builds(mqtt5.SubAckPacket, packet_ids,
              st.lists(codes(mqtt5.SubAckReasonCode), min_size=1,
                       max_size=3)),
    st.builds(mqtt5.UnsubAckPacket, packet_ids,
              st.lists(codes(mqtt5.UnsubAckReasonCode), min_size=1,
                       max_size=3)),
    st.builds(mqtt5.PingRespPacket),
    st.builds(mqtt5.DisconnectPacket,
              reason_code=codes(mqtt5.DisconnectReasonCode),
              reason_str=st.none() | text),
)
valid_streams = st.lists(broker_packets.map(lambda packet: packet.write()),
                         min_size=1, max_size=8)


@st.composite
def mutated(draw: st.DrawFn, streams: st.SearchStrategy[list[bytes]] = valid_streams
            ) -> bytes:
    """Valid packets with bytes overwritten, inserted, deleted or cut off."""
    stream = bytearray(b"".join(draw(streams)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(stream)))
        edit = draw(st.sampled_from(["overwrite", "insert", "delete", "cut"]))
        if edit == "overwrite" and position < len(stream):
            stream[position] = draw(st.integers(0, 255))
        elif edit == "insert":
            stream[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif edit == "delete":
            del stream[position:position + draw(st.integers(1, 8))]
        elif edit == "cut":
            del stream[position:]
    return bytes(stream)


@st.composite
def one_byte_off(draw: st.DrawFn) -> bytes:
    """One valid packet with one byte changed: the inputs closest to valid, which reach
    deepest into the codec (a broken UTF-8 sequence is where it panics)."""
    packet = bytearray(draw(broker_packets).write())
    position = draw(st.integers(0, len(packet) - 1))
    packet[position] = draw(st.integers(0x80, 0xFF) | st.integers(0, 0xFF))
    return bytes(packet)


garbage = st.one_of(one_byte_off(), mutated(), st.binary(min_size=1, max_size=600))


def cuts_of(data: bytes) -> st.SearchStrategy[list[bytes]]:
    """``data`` as the socket might deliver it: split at any points."""
    return st.lists(st.integers(0, len(data)), max_size=12).map(
        lambda points: [data[a:b] for a, b in itertools.pairwise(sorted({0, len(data), *points}))
                        if b > a])


# --- feeding a link --------------------------------------------------------------------
@dataclass
class Fed:
    packets: list[object] = field(default_factory=list)
    closed: str | None = None
    codec_calls: int = 0
    reads: int = 0


@contextmanager
def counting_codec() -> Iterator[list[int]]:
    """Counts the link's calls into the real codec (it still does all the decoding)."""
    calls = [0]
    real = mqtt5.read

    def read(view: memoryview) -> tuple[mqtt5.Packet, int]:
        calls[0] += 1
        return real(view)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mqtt5, "read", read)
        yield calls


def feed(chunks: list[bytes]) -> Fed:
    """One connection's reads, stopping where a transport would: once the link drops it."""
    async def scenario() -> Fed:
        fed = Fed()
        link = MqttLink(lambda packet, _received_at: fed.packets.append(packet))
        with counting_codec() as calls:
            for chunk in chunks:
                link.data_received(chunk)
                fed.reads += 1
                if link.closed.done():
                    fed.closed = link.closed.result()
                    break
        fed.codec_calls = calls[0]
        return fed

    return asyncio.run(scenario())


def decoded_one_by_one(stream: list[bytes]) -> list[object]:
    return [mqtt5.read(memoryview(packet))[0] for packet in stream]


# --- properties ------------------------------------------------------------------------
@given(garbage)
def test_the_reader_returns_a_packet_or_waits_or_raises_only_malformed_packet(
    data: bytes,
) -> None:
    try:
        read = read_packet(memoryview(data))
    except MalformedPacket as exc:
        refused: MalformedPacket | None = exc
    else:
        refused = None
    if refused is not None:
        # What the codec raised is kept underneath, panics included.
        assert isinstance(refused.__cause__, BaseException)
        assert str(refused).startswith("malformed ")
        event(f"malformed: {type(refused.__cause__).__name__}")
        return
    if read is None:  # waiting is only right when the fixed header asks for more
        assert not _declares_at_most(data, len(data))
        event("incomplete")
    else:
        packet, size = read
        assert 0 < size <= len(data)
        event(f"read: {type(packet).__name__}")


def _declares_at_most(data: bytes, available: int) -> bool:
    """Whether the fixed header at the start is complete and fits in ``available``."""
    remaining, shift, position = 0, 0, 1
    while position < len(data) and position <= 4:
        byte = data[position]
        remaining |= (byte & 0x7F) << shift
        position += 1
        if not byte & 0x80:
            return position + remaining <= available
        shift += 7
    return False


@given(st.data(), garbage)
def test_the_link_reads_or_drops_but_never_raises_or_spins(
    data: st.DataObject, stream: bytes,
) -> None:
    started = time.perf_counter()
    fed = feed(data.draw(cuts_of(stream)))
    note(f"{fed}; {time.perf_counter() - started:.4f} s")
    # No spinning: per read, the codec is asked once per packet it delivers plus at most
    # once more (the packet that is incomplete, or the malformed one that ends it).
    assert fed.codec_calls <= len(fed.packets) + fed.reads
    if fed.closed is not None:
        assert fed.closed.startswith("malformed ")


@given(st.data(), valid_streams)
def test_valid_packets_split_anywhere_come_out_exactly_as_sent(
    data: st.DataObject, stream: list[bytes],
) -> None:
    fed = feed(data.draw(cuts_of(b"".join(stream))))
    assert fed.closed is None
    assert fed.packets == decoded_one_by_one(stream)


@given(st.data(), valid_streams, garbage)
def test_everything_before_garbage_is_delivered_in_order_before_the_drop(
    data: st.DataObject, stream: list[bytes], junk: bytes,
) -> None:
    fed = feed(data.draw(cuts_of(b"".join(stream) + junk)))
    expected = decoded_one_by_one(stream)
    assert fed.packets[:len(expected)] == expected


@given(st.data(), garbage, valid_streams)
def test_after_garbage_a_new_connection_reads_valid_packets_correctly(
    data: st.DataObject, junk: bytes, stream: list[bytes],
) -> None:
    feed(data.draw(cuts_of(junk)))  # the connection garbage came on (dropped, or not)
    fed = feed(data.draw(cuts_of(b"".join(stream))))
    assert fed.closed is None
    assert fed.packets == decoded_one_by_one(stream)


# --- examples worth keeping by name ----------------------------------------------------
def test_a_large_packet_trickling_in_is_decoded_once_when_whole() -> None:
    packet = mqtt5.PublishPacket("sensors/river/big", b"x" * 200_000,
                                 qos=mqtt5.QoS.AT_LEAST_ONCE, packet_id=9).write()
    fed = feed([packet[i:i + 100] for i in range(0, len(packet), 100)])
    assert fed.closed is None
    assert [p.packet_id for p in fed.packets] == [9]  # type: ignore[attr-defined]
    assert fed.codec_calls == 2  # the first read's attempt, then the whole packet


def test_a_header_declaring_more_than_it_holds_is_malformed_not_awaited() -> None:
    # Remaining length 2 but a 0x7f-byte topic inside: all bytes are here, nothing to wait for.
    fed = feed([b"\x30\x02\x00\x7f" + b"more packets after it"])
    assert fed.closed is not None
    assert fed.closed.startswith("malformed PUBLISH packet")


def test_a_codec_panic_becomes_malformed_packet_with_the_panic_underneath() -> None:
    # A PUBACK's reason string that is not UTF-8: the codec panics, and it is no PUBLISH.
    valid = mqtt5.PubAckPacket(5, reason_str="ok").write()
    broken = valid.replace(b"ok", b"o\xff")
    with pytest.raises(MalformedPacket, match=r"PUBACK .* the codec panicked") as raised:
        read_packet(memoryview(broken))
    assert type(raised.value.__cause__).__name__ == "PanicException"
    assert not isinstance(raised.value.__cause__, Exception)


def test_a_publish_the_codec_panics_on_is_still_read_leniently() -> None:
    valid = mqtt5.PublishPacket("sensors/river/abc", b"{}", qos=mqtt5.QoS.AT_LEAST_ONCE,
                                packet_id=3).write()
    read = read_packet(memoryview(valid.replace(b"abc", b"a\xffc")))
    assert read is not None
    assert read[0] == RawPublish("sensors/river/a\ufffdc", b"{}", 1, 3)
