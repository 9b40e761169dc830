"""SenML in CBOR (RFC 8428 §6): told apart by the first byte, read exactly as its JSON
twin, and smaller on the wire. Hostile CBOR is in tests/ingest/hostile_corpus.py."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.ingest.senml_cbor import LABELS, encode_cbor_pack, is_cbor_pack
from floodwatch.ingest.validate import MessageValidator, Rejected
from floodwatch.simulators.messages import Observation, encode_senml

NOW = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
TOPIC = "sensors/river/fushiguro"


def _validator(registry: StationRegistry) -> MessageValidator:
    return MessageValidator(registry, max_payload_bytes=16_384,
                            max_future=timedelta(minutes=5), max_age=timedelta(days=30))


def _outcome(validator: MessageValidator, topic: str, payload: bytes) -> object:
    try:
        readings = validator.validate(topic, payload, NOW).readings
    except Rejected as exc:
        return exc.reason
    return [(r.station, r.ts, r.ts_source, r.values) for r in readings]


def test_the_first_byte_rule() -> None:
    assert all(is_cbor_pack(bytes([first])) for first in range(0x80, 0xA0))
    assert not any(is_cbor_pack(bytes([first])) for first in range(0x100)
                   if not 0x80 <= first <= 0x9F)
    assert not is_cbor_pack(b"")
    # Every CBOR array, whatever its length form; no JSON text, not even with a BOM.
    assert is_cbor_pack(cbor2.dumps([]))
    assert is_cbor_pack(cbor2.dumps([0] * 70_000))
    assert not is_cbor_pack(cbor2.dumps({"n": "level"}))
    assert not is_cbor_pack("\ufeff[]".encode())


def test_labels_are_rfc_8428_table_4() -> None:
    assert LABELS == {-1: "bver", -2: "bn", -3: "bt", -4: "bu", -5: "bv", -6: "bs", 0: "n",
                      1: "u", 2: "v", 3: "vs", 4: "vb", 5: "s", 6: "t", 7: "ut", 8: "vd"}


_values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([3.21, 0.0, -1.5, 12.6, 4.5, 1764291600, 11, 10, 5, math.inf]),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12), st.booleans(),
    st.sampled_from(["fushiguro:", "urn:dev:floodwatch:fushiguro:", "level", "rain",
                     "battery", "m", "cm", "mm", "V", "ice", "motomiya:"]),
)
_units = st.sampled_from(["m", "cm", "mm", "V", "mV", "ft"])
_typed: dict[str, st.SearchStrategy[object]] = {
    "bn": st.sampled_from(["fushiguro:", "urn:dev:floodwatch:fushiguro:", "motomiya:"]),
    "n": st.sampled_from(["level", "rain", "battery", "depth"]), "u": _units, "bu": _units,
    "v": st.floats(0, 20), "bv": st.floats(0, 5), "s": st.floats(0, 5),
    "bs": st.floats(0, 5), "t": st.integers(-600, 0), "bt": st.integers(-600, 0),
    "ut": st.floats(0, 600), "vs": st.sampled_from(["ice", "3.2"]), "vb": st.booleans(),
    "bver": st.integers(1, 12), "x": _values, "x_": _values,
}
# A level record of the station with up to three labels changed: mostly of the right
# type, sometimes anything.
_changes = st.lists(st.sampled_from(sorted(_typed)).flatmap(
    lambda label: st.tuples(st.just(label), st.one_of(_typed[label], _typed[label],
                                                      _values))), max_size=3)
_records = _changes.map(lambda changes: {"n": "level", "u": "m", "v": 3.21} | dict(changes))


@settings(max_examples=400, deadline=None)
@given(pack=st.lists(_records, min_size=1, max_size=5))
def test_a_cbor_pack_is_read_as_its_json_twin(
    sample_registry: StationRegistry, pack: list[dict[str, object]]
) -> None:
    pack[0] = {"bn": "fushiguro:"} | pack[0]
    validator = _validator(sample_registry)
    as_json = _outcome(validator, TOPIC, json.dumps(pack).encode())
    as_cbor = _outcome(validator, TOPIC, encode_cbor_pack(pack))
    event(str(as_json) if not isinstance(as_json, list) else "stored")
    assert as_cbor == as_json


def test_a_typical_pack_is_read_as_its_json_twin(sample_registry: StationRegistry) -> None:
    pack = json.loads(_hour_of_gauge_readings())
    validator = _validator(sample_registry)
    readings = _outcome(validator, TOPIC, json.dumps(pack).encode())
    assert isinstance(readings, list)
    assert len(readings) == 6
    assert _outcome(validator, TOPIC, encode_cbor_pack(pack)) == readings


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=200), first=st.integers(0x80, 0x9F))
def test_any_bytes_after_an_array_head_are_accepted_or_rejected_never_crash(
    sample_registry: StationRegistry, body: bytes, first: int
) -> None:
    _outcome(_validator(sample_registry), TOPIC, bytes([first]) + body)


def _hour_of_gauge_readings() -> bytes:
    """The simulator's store-and-forward pack: six 10-minute readings of one gauge."""
    start = NOW - timedelta(hours=1)
    return encode_senml([
        Observation("fushiguro", StationKind.RIVER, start + timedelta(minutes=10 * i),
                    {"level_m": round(3.21 + 0.03 * i, 2), "rain_mm": 4.5, "battery_v": 12.6})
        for i in range(6)])


def test_byte_saving_of_a_typical_pack() -> None:
    hour = _hour_of_gauge_readings()
    one = encode_senml([Observation("fushiguro", StationKind.RIVER, NOW,
                                    {"level_m": 3.21, "rain_mm": 4.5, "battery_v": 12.6})])
    for what, as_json in (("one hour (6 readings)", hour), ("one reading", one)):
        as_cbor = encode_cbor_pack(json.loads(as_json))
        saving = 1 - len(as_cbor) / len(as_json)
        print(f"SenML {what}: JSON {len(as_json)} B, CBOR {len(as_cbor)} B "
              f"({saving:.0%} smaller)")
        assert len(as_cbor) < len(as_json)


@pytest.mark.parametrize("value", [3.0, 3.21, 1764291600, 2**40, 0.5, 1e-300])
def test_numbers_keep_their_exact_value_and_type(value: float) -> None:
    [record] = cbor2.loads(encode_cbor_pack([{"v": value}]))
    assert record[2] == value
    assert type(record[2]) is type(value)


def test_floats_take_the_shortest_exact_width() -> None:
    assert encode_cbor_pack([{"v": 3.0}]) == bytes.fromhex("81a102f94200")  # half float
    assert len(encode_cbor_pack([{"v": 3.21}])) == 3 + 9  # no shorter float is exact
