"""The common PUBACKs on the wire, read and written in runs without the codec.

A PUBACK that accepts a publish and carries no properties -- nearly every one a broker
sends, and every one a stage sends -- is 4 bytes (0x40, remaining length 2, the packet
id: reason Success left out, MQTT 5, 3.4.2.1) or 5 (remaining length 3 and the reason
byte: Mosquitto writes 0x10 "No matching subscribers" so, when nobody subscribes to the
topic). Ingest sends one per reading it stores and receives one per reading it
republishes on the bus; through the codec each cost a call and a packet object, and
(read) a dispatch: about a fifth of ingest's MQTT I/O in callgrind of a backlog drain
(docs/benchmarks.md). Here a run of them is checked and converted by bytes slicing,
``bytes.lstrip`` and ``array``, in C. Any other PUBACK (a failure reason, properties, a
reason code MQTT does not define) is left to the codec, which judges it.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence

PUBACK_HEADER = 0x40
RUN_SCAN = 64  # PUBACKs per scan: bounded, so a lone PUBACK amid PUBLISHes stays cheap
# Remaining length -> the packet's size; accepting reasons: Success, No matching subscribers.
_SIZES = {2: 4, 3: 5}
_ACCEPTING_REASONS = b"\x00\x10"


def accepted_pubacks(data: bytes, offset: int) -> tuple[array[int], int]:
    """The packet ids of the accepting PUBACKs of one size in a row at ``offset`` (up to
    RUN_SCAN; none if none starts there), and the bytes they take. Of one size, their
    headers, lengths and reasons are every fourth (fifth) byte."""
    size = _SIZES.get(data[offset + 1], 0) if offset + 1 < len(data) else 0
    if not size:
        return array("H"), 0
    slots = data[offset:offset + size * RUN_SCAN]
    slots = slots[:len(slots) - len(slots) % size]  # whole packets only
    count = min(_leading(slots[0::size], b"\x40"), _leading(slots[1::size], bytes([size - 2])))
    if size == 5:
        count = min(count, _leading(slots[4::size], _ACCEPTING_REASONS))
    run = slots[:size * count]
    wire_ids = bytearray(2 * count)  # the ids' two bytes, big-endian as on the wire
    wire_ids[0::2], wire_ids[1::2] = run[2::size], run[3::size]
    ids = array("H", wire_ids)
    if sys.byteorder == "little":
        ids.byteswap()
    return ids, len(run)


def _leading(data: bytes, allowed: bytes) -> int:
    """How many bytes at the start of ``data`` are among ``allowed``."""
    return len(data) - len(data.lstrip(allowed))


def accepted_pubacks_bytes(packet_ids: Sequence[int]) -> bytes:
    """Success PUBACKs for ``packet_ids``, in order, 4 bytes each: the codec's
    ``PubAckPacket(mid).write()`` took 0.2 us per acknowledgement here, this ~4 ns."""
    words = array("H", [0x4002]) * (2 * len(packet_ids))  # header, remaining length 2
    words[1::2] = array("H", packet_ids)
    if sys.byteorder == "little":
        words.byteswap()
    return words.tobytes()
