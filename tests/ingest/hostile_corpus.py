"""Bad device messages, kept with the tests: each with the reason it must be rejected
for, or STORED when the reading must be kept (and what must be stored)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import cbor2

STORED = "stored"
NOW = datetime.now(UTC).replace(microsecond=0)
RECENT = (NOW - timedelta(minutes=30)).isoformat()
R = "sensors/river/fushiguro"
D = "sensors/road/tsuchiyu-pass"


def _cbor_level(level: float, extra: dict[int, object] | None = None) -> bytes:
    """A CBOR pack (RFC 8428 integer labels) of one fushiguro level, 27 minutes ago."""
    record = {-2: "fushiguro:", -3: (NOW - timedelta(minutes=27)).timestamp(), 0: "level",
              1: "m", 2: level}
    return cbor2.dumps([record | (extra or {})])


def _deep(depth: int) -> bytes:
    return b'{"level_m": 1, "x": ' + b"[" * depth + b"]" * depth + b"}"


# (topic, payload, expected reason or STORED)
CORPUS: list[tuple[str, bytes, str]] = [
    # invalid JSON
    (R, b"{", "invalid_json"),
    (R, b'{"level_m": 1,}', "invalid_json"),
    (R, b"{'level_m': 1}", "invalid_json"),
    (R, b'{"level_m": 1}\x00', "invalid_json"),
    (R, b'{"level_m": 1} {"level_m": 2}', "invalid_json"),
    (R, b'{"level_m": 1, "s": "\xff\xfe"}', "invalid_json"),
    (R, b"\xef\xbb\xbf{\"level_m\": 1}", "not_an_object"),
    # wrong types
    (R, b'{"level_m": "1.5"}', "invalid_field"),
    (R, b'{"level_m": true}', "invalid_field"),
    (R, b'{"level_m": null}', "invalid_field"),
    (R, b'{"level_m": [1]}', "invalid_field"),
    (R, b'{"level_m": {"v": 1}}', "invalid_field"),
    (R, b'{"level_m": 1, "rain_mm": "lots"}', "invalid_field"),
    (D, b'{"surface_state": 3}', "invalid_field"),
    (D, b'{"surface_state": "ice\\n"}', "invalid_field"),
    (D, b'{"surface_state": "ice,route=x"}', "invalid_field"),
    # NaN and infinities
    (R, b'{"level_m": NaN}', "out_of_range"),
    (R, b'{"level_m": Infinity}', "out_of_range"),
    (R, b'{"level_m": -Infinity}', "out_of_range"),
    (R, b'{"level_m": 1e999}', "out_of_range"),
    (D, b'{"surface_temp_c": -1e309}', "out_of_range"),
    # empty, huge, deep
    (R, b"", "not_an_object"),
    (R, b"   \n\t ", "not_an_object"),
    (R, b"null", "not_an_object"),
    (R, b'{"level_m": 1, "pad": "' + b"x" * 20_000 + b'"}', "payload_too_large"),
    (R, _deep(3000), "invalid_json"),
    (R, b"[" * 3000 + b"]" * 3000, "invalid_json"),
    # unknown fields are ignored; the reading is kept
    (R, json.dumps({"ts": RECENT, "level_m": 2.5, "firmware": "v2", "temp": 9}).encode(),
     STORED),
    # line-protocol metacharacters and control characters in keys and strings
    (R, json.dumps({"ts": (NOW - timedelta(minutes=29)).isoformat(), "level_m": 2.6,
                    "note": "x\nriver,station=marumori level_m=99 1",
                    'level_m,station=marumori': 9, "a b=c\"d\\": "\x00\x07"}).encode(),
     STORED),
    (R, b'{"level_m": 1, "ts": "2026-11-28T10:00:00+09:00\\n"}', "invalid_field"),
    # unknown station, topic/kind mismatch, hostile topics
    ("sensors/river/nowhere", b'{"level_m": 1}', "unknown_station"),
    ("sensors/river/tsuchiyu-pass", b'{"level_m": 1}', "kind_mismatch"),
    ("sensors/road/fushiguro", b'{"water_depth_cm": 1}', "kind_mismatch"),
    ("sensors/river/Fushiguro", b'{"level_m": 1}', "bad_topic"),
    ("sensors/river/a,b=c", b'{"level_m": 1}', "bad_topic"),
    ("sensors/river/fushiguro ", b'{"level_m": 1}', "bad_topic"),
    ("sensors/river/" + "a" * 65, b'{"level_m": 1}', "bad_topic"),
    # timestamps far in the future and the past
    (R, b'{"ts": "9999-12-31T23:59:59Z", "level_m": 1}', "future_timestamp"),
    (R, b'{"ts": "1900-01-01T00:00:00+09:00", "level_m": 1}', "stale_timestamp"),
    (R, b'{"ts": 0, "level_m": 1}', "invalid_field"),
    (R, b'{"ts": -1, "level_m": 1}', "invalid_field"),
    (R, b'{"ts": 1e20, "level_m": 1}', "invalid_field"),
    (R, b'{"ts": "yesterday", "level_m": 1}', "invalid_field"),
    (R, b'{"ts": "2026-11-28T10:00:00", "level_m": 1}', "invalid_field"),
    # SenML
    (R, b'[{"n": "level", "u": "m", "v": 1}]', "invalid_senml"),
    (R, b'[{"bn": "marumori:", "n": "level", "u": "m", "v": 1}]', "invalid_senml"),
    (R, b'[{"bn": "fushiguro\\n:", "n": "level", "u": "m", "v": 1}]', "invalid_senml"),
    (R, b'[{"bn": "fushiguro:", "n": "level", "u": "ft", "v": 1}]', "unsupported_unit"),
    (R, b'[{"bn": "fushiguro:", "n": "level", "u": "mm/h", "v": 1}]', "unsupported_unit"),
    (R, b'[{"bn": "fushiguro:", "n": "level", "v": 1}]', "unsupported_unit"),
    (R, b'[{"bn": "fushiguro:", "n": "level", "u": "m", "v": 1, "vs": "1"}]',
     "senml_value_count"),
    (R, b'[{"bn": "fushiguro:", "n": "level", "u": "m", "v": 1, "vb": true}]',
     "senml_value_count"),
    (R, b'[{"bver": 11, "bn": "fushiguro:", "n": "level", "u": "m", "v": 1}]',
     "unsupported_senml_version"),
    (R, b'[{"bver": 99, "bn": "fushiguro:", "n": "level", "u": "m", "v": "x"}]',
     "unsupported_senml_version"),
    (R, b'[{"bn": "fushiguro:", "n": "level", "u": "m", "s": 1}]', "invalid_senml"),
    (R, b'[{"bn": "fushiguro:", "n": "level", "u": "m", "v": 1, "foo_": 1}]',
     "invalid_senml"),
    (R, b'[{"bn": "fushiguro:", "n": "level", "u": "m"}]', "senml_value_count"),
    (R, b'[{"bn": "fushiguro:", "n": "level", "u": "m", "v": 1},'
        b' {"n": "level", "u": "m", "v": 2}]', "invalid_senml"),
    (R, b'[{"bn": "fushiguro:", "bt": NaN, "n": "level", "u": "m", "v": 1}]', "out_of_range"),
    (R, b'[{"bn": "fushiguro:", "bt": 1e300, "n": "level", "u": "m", "v": 1}]',
     "invalid_senml"),
    (R, b'[{"bn": 7, "n": "level", "u": "m", "v": 1}]', "invalid_field"),
    (R, b'["level", 1]', "not_an_object"),
    (R, b"[]", "invalid_senml"),
    # SenML in CBOR (first byte 0x80-0x9f): malformed, hostile, then one good pack
    (R, b"\x81", "invalid_cbor"),
    (R, b"\x9b" + b"\xff" * 8, "invalid_cbor"),  # an array of 2**64-1 records
    (R, b"\x81\x5b" + b"\xff" * 8, "invalid_cbor"),  # a byte string of 2**64-1 bytes
    (R, b"\x81" * 5000 + b"\xa0", "invalid_cbor"),  # nested deeper than cbor2 allows
    (R, b"\x81\xc4\x82\x3b" + b"\x7f" + b"\xff" * 7 + b"\x01",
     "invalid_cbor"),  # a decimal fraction with a huge exponent
    (R, _cbor_level(1.0) + b"\x00", "invalid_cbor"),  # bytes after the pack
    (R, b"\x80", "invalid_senml"),
    (R, cbor2.dumps([1, 2]), "not_an_object"),
    (R, _cbor_level(1.0, {9: 1}), "invalid_senml"),  # not a label of RFC 8428 Table 4
    (R, _cbor_level(1.0, {2**800: 1}), "invalid_senml"),  # a bignum label
    (R, _cbor_level(1.0, {-1: 11}), "unsupported_senml_version"),
    (R, _cbor_level(1.0, {-1: 2**800}), "unsupported_senml_version"),
    (R, _cbor_level(1.0, {3: "1"}), "senml_value_count"),
    (R, cbor2.dumps([{-2: "fushiguro:", 0: "level", 1: "m",
                      2: cbor2.CBORTag(35, "(a+)+$")}]), "invalid_field"),
    (R, _cbor_level(1.0, {2: 2**80_000}), "invalid_field"),  # a 10 kB bignum value
    (R, _cbor_level(2.8), STORED),
    (R, json.dumps([{"bn": "fushiguro:", "bt": (NOW - timedelta(minutes=28)).timestamp(),
                     "n": "level", "u": "m", "v": 2.7}]).encode(), STORED),
]

# What the STORED entries above must leave in InfluxDB, and nothing else.
STORED_LEVELS = {2.5, 2.6, 2.7, 2.8}
