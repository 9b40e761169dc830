"""Reading one MQTT packet from the front of a buffer: the codec, and its safety net.

``mqtt5`` (core/mqtt/link.py says why this codec) decodes the packets; this module is
its only caller, and turns everything it can do wrong -- refuse bytes, or panic in Rust
-- into our own MalformedPacket, or, for a PUBLISH it refuses, a leniently read
RawPublish that the stage can acknowledge and dead-letter. The fuzz tests
(tests/core/mqtt/test_link_fuzz.py, docs/mqtt-link.md) hold it to that.
"""

from __future__ import annotations

from dataclasses import dataclass

import mqtt5

from floodwatch.core.mqtt.errors import MalformedPacket


@dataclass(frozen=True, slots=True)
class RawPublish:
    """A PUBLISH the codec refused (e.g. a topic that is not UTF-8), read leniently: the
    stage still acknowledges it and dead-letters it, instead of the broker redelivering
    it for ever on every reconnect (as paho did, the topic is decoded with replacement)."""

    topic: str
    payload: bytes
    qos: int
    packet_id: int | None


def read_packet(view: memoryview) -> tuple[object, int] | None:
    """The packet at the start of ``view`` and its size, or None while it is incomplete.

    Raises MalformedPacket, and nothing else, for bytes that are not a packet: the codec
    refuses with ValueError, or panics in Rust (pyo3's PanicException, a BaseException:
    measured, one in ten mutated packets). A PUBLISH it refuses is read leniently
    instead (``lenient_publish``), to be dead-lettered rather than redelivered for ever.
    """
    cause: BaseException
    try:
        return mqtt5.read(view)
    except IndexError as exc:  # "not enough bytes": believe it only if the header agrees
        try:
            if declared_size(view) > len(view):
                return None
        except IndexError:
            return None  # the fixed header itself is still on its way
        except ValueError:
            pass
        cause = exc
    except Exception as exc:
        cause = exc
    except BaseException as exc:
        if not _is_panic(exc):
            raise  # KeyboardInterrupt, SystemExit: not ours to swallow
        cause = exc
    raw = lenient_publish(view)
    if raw is None:
        raise MalformedPacket(_describe(view, cause)) from cause
    return raw


def lenient_publish(view: memoryview) -> tuple[RawPublish, int] | None:
    """A complete PUBLISH at the start of ``view`` and its size; None for anything else."""
    try:
        if view[0] >> 4 != PUBLISH_TYPE:
            return None
        remaining, position = _varint(view, 1)
        end = position + remaining
        if end > len(view):
            return None
        qos = (view[0] >> 1) & 0x03
        topic_length = int.from_bytes(view[position:position + 2], "big")
        position += 2
        topic = bytes(view[position:position + topic_length]).decode("utf-8", "replace")
        position += topic_length
        packet_id = None
        if qos:
            packet_id = int.from_bytes(view[position:position + 2], "big")
            position += 2
        properties, position = _varint(view, position)
        payload = bytes(view[position + properties:end])
    except (IndexError, ValueError):
        return None
    return RawPublish(topic, payload, qos, packet_id), end


def _varint(view: memoryview, position: int) -> tuple[int, int]:
    """An MQTT variable byte integer at ``position``: its value and the next position."""
    value = 0
    for shift in range(0, 28, 7):
        byte = view[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
    raise ValueError("variable byte integer longer than four bytes")


def declared_size(view: memoryview) -> int:
    """The whole packet's size as its fixed header says: IndexError while the header is
    incomplete, ValueError if it is not a header."""
    remaining, position = _varint(view, 1)
    return position + remaining


def _is_panic(exc: BaseException) -> bool:
    # pyo3 creates the class at run time: there is nothing to import and isinstance on.
    return type(exc).__name__ == "PanicException"


def _describe(view: memoryview, cause: BaseException) -> str:
    kind = PACKET_TYPES[view[0] >> 4]
    why = (f"the codec panicked ({cause})" if _is_panic(cause)
           else str(cause) or type(cause).__name__)
    return f"malformed {kind} packet from the broker: {why}"


PUBLISH_TYPE = 3
PACKET_TYPES = ("reserved", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL",
                "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ",
                "PINGRESP", "DISCONNECT", "AUTH")
