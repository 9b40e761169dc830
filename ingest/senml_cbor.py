"""SenML packs in CBOR (RFC 8428 §6, application/senml+cbor), for low-power links.

Which payloads are CBOR: those whose first byte is 0x80-0x9f, the initial byte of a
CBOR array (major type 4, any length form). Chosen over a topic suffix because it needs
no device configuration, no second topic per station and no change to the broker's ACL,
and it cannot mistake JSON: a JSON text starts with whitespace, ``{``, ``[``, a quote, a
digit, ``-`` or a letter, all below 0x80 (and UTF-8 never starts a character with
0x80-0xbf). Anything else keeps going through the JSON paths as before.

The integer labels of RFC 8428 Table 4 become the JSON labels, so ingest.senml checks
and resolves both forms with the same code. Text labels pass through (extensions, as the
RFC says); an integer label outside the table is refused, since the RFC declares the
table closed. Numbers may be integers, floats of any width or decimal fractions (tag 4),
as RFC 8428 §6 allows.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import cbor2

from floodwatch.ingest.senml import SenMLError

# RFC 8428 §6, Table 4 (note: bver is -1 and bn is -2).
LABELS: dict[int, str] = {
    -1: "bver", -2: "bn", -3: "bt", -4: "bu", -5: "bv", -6: "bs",
    0: "n", 1: "u", 2: "v", 3: "vs", 4: "vb", 5: "s", 6: "t", 7: "ut", 8: "vd",
}

_LABEL_NUMBERS = {label: number for number, label in LABELS.items()}


class InvalidCBOR(SenMLError):
    """The payload starts as a CBOR array but is not one well-formed CBOR item."""


def is_cbor_pack(payload: bytes) -> bool:
    return bool(payload) and 0x80 <= payload[0] <= 0x9F


def decode_cbor_pack(payload: bytes) -> list[object]:
    """The pack's records with JSON labels, ready for ingest.senml.parse_records."""
    stream = io.BytesIO(payload)
    try:
        pack = cbor2.CBORDecoder(stream).decode()
    # cbor2 builds Python objects for the semantic tags it knows (decimals, bignums,
    # dates, regular expressions, ...), each failing with its own error type on hostile
    # input (decimal.InvalidOperation for a huge exponent, for one): whatever the
    # decoder raises, the payload is not a pack we can use.
    except Exception as exc:
        raise InvalidCBOR(f"not well-formed CBOR: {exc}") from exc
    if stream.tell() != len(payload):
        raise InvalidCBOR(f"{len(payload) - stream.tell()} bytes after the pack's array")
    return [_with_text_labels(index, record) if isinstance(record, dict) else record
            for index, record in enumerate(pack)]


def _with_text_labels(index: int, record: dict[object, object]) -> dict[str, object]:
    labelled: dict[str, object] = {}
    for key, value in record.items():
        if isinstance(key, int) and not isinstance(key, bool):
            label = LABELS.get(key)
            if label is None:
                shown = key if abs(key) < 2**64 else "(a bignum)"
                raise SenMLError(f"record {index}: CBOR label {shown} is not a SenML label")
        elif isinstance(key, str):
            label = key
        else:
            raise SenMLError(f"record {index}: a label must be an integer or text, "
                             f"not {type(key).__name__}")
        if label in labelled:
            raise SenMLError(f"record {index}: {label} given twice")
        labelled[label] = value
    return labelled


def encode_cbor_pack(records: Sequence[Mapping[str, object]]) -> bytes:
    """The CBOR twin of a JSON pack, as a device on a low-power link would send it.

    Integer labels, each float in the shortest width that keeps its exact value
    (cbor2's canonical form), and vd as bytes rather than base64url text (§6).
    """
    return cbor2.dumps([{_LABEL_NUMBERS.get(label, label): _cbor_value(label, value)
                         for label, value in record.items()} for record in records],
                       canonical=True)


def _cbor_value(label: str, value: object) -> object:
    if label == "vd" and isinstance(value, str):
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    return value
