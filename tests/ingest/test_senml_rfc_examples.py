"""RFC 8428's own examples (§5.1.1-§5.1.7, and the CBOR dump of §6).

As printed they name 1-wire sensors and IPv6 hosts, which no station is, so the device
contract refuses each with invalid_senml -- but only for its names: the RFC semantics
(version, value fields, base fields, times) must read them as the RFC does, which the
resolved forms below check. The same packs with a station's names are stored.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from floodwatch.core.registry import StationRegistry
from floodwatch.ingest import senml
from floodwatch.ingest.senml_cbor import decode_cbor_pack
from floodwatch.ingest.validate import MessageValidator, Reason, Rejected

BT = 1764291600  # 2025-11-28T01:00Z
NOW = datetime(2025, 11, 28, 1, 5, tzinfo=UTC)
RIVER = "sensors/river/fushiguro"
ROAD = "sensors/road/tsuchiyu-pass"

# The RFC's JSON examples as printed (the SensML stream of 5.1.2 ends in "...": its
# complete records are kept).
RFC_EXAMPLES = {
    "5.1.1 single data point": """[
     {"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}
   ]""",
    "5.1.2 multiple data points": """[
  {"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","u":"V","v":120.1},
  {"n":"current","u":"A","v":1.2}
]""",
    "5.1.2 multiple data points with times": """[
     {"bn":"urn:dev:ow:10e2073a0108006:","bt":1.276020076001e+09,
      "bu":"A","bver":5,
      "n":"voltage","u":"V","v":120.1},
     {"n":"current","t":-5,"v":1.2},
     {"n":"current","t":-4,"v":1.3},
     {"n":"current","t":-3,"v":1.4},
     {"n":"current","t":-2,"v":1.5},
     {"n":"current","t":-1,"v":1.6},
     {"n":"current","v":1.7}
   ]""",
    "5.1.2 SensML stream": """[
     {"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,
      "bu":"%RH","v":21.2},
     {"t":10,"v":21.3},
     {"t":20,"v":21.4},
     {"t":30,"v":21.4},
     {"t":40,"v":21.5},
     {"t":50,"v":21.5},
     {"t":60,"v":21.5},
     {"t":70,"v":21.6},
     {"t":80,"v":21.7}
   ]""",
    "5.1.3 multiple measurements": """[
     {"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,
      "bu":"%RH","v":20},
     {"u":"lon","v":24.30621},
     {"u":"lat","v":60.07965},
     {"t":60,"v":20.3},
     {"u":"lon","t":60,"v":24.30622},
     {"u":"lat","t":60,"v":60.07965},
     {"t":120,"v":20.7},
     {"u":"lon","t":120,"v":24.30623},
     {"u":"lat","t":120,"v":60.07966},
     {"u":"%EL","t":150,"v":98},
     {"t":180,"v":21.2},
     {"u":"lon","t":180,"v":24.30628},
     {"u":"lat","t":180,"v":60.07967}
   ]""",
    "5.1.4 resolved data": """[
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067464e+09,
      "v":20},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067464e+09,
      "v":24.30621},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067464e+09,
      "v":60.07965},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067524e+09,
      "v":20.3},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067524e+09,
      "v":24.30622},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067524e+09,
      "v":60.07965},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067584e+09,
      "v":20.7},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067584e+09,
      "v":24.30623},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067584e+09,
      "v":60.07966},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%EL","t":1.320067614e+09,
      "v":98},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067644e+09,
      "v":21.2},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067644e+09,
      "v":24.30628},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067644e+09,
      "v":60.07967}
   ]""",
    "5.1.5 multiple data types": """[
    {"bn":"urn:dev:ow:10e2073a01080063:","n":"temp","u":"Cel","v":23.1},
    {"n":"label","vs":"Machine Room"},
    {"n":"open","vb":false},
    {"n":"nfv-reader","vd":"aGkgCg"}
  ]""",
    "5.1.6 collection of resources": """[
     {"bn":"2001:db8::2/","bt":1.320078429e+09,
      "n":"temperature","u":"Cel","v":25.2},
     {"n":"humidity","u":"%RH","v":30},
     {"bn":"2001:db8::1/","n":"temperature","u":"Cel","v":12.3},
     {"n":"humidity","u":"%RH","v":67}
   ]""",
    "5.1.7 setting an actuator": """[
     {"bn":"urn:dev:ow:10e2073a01080063:"},
     {"n":"temp","u":"Cel","v":23.1},
     {"n":"heat","u":"/","v":1},
     {"n":"fan","u":"/","v":0}
   ]""",
    "5.1.7 lights on together": """[
     {"bt":1.320078429e+09,"bu":"/","n":"2001:db8::3","v":1},
     {"n":"2001:db8::4","v":1}
   ]""",
    "5.1.7 lights dimmed then off": """[
     {"bt":1.320078429e+09,"bu":"/","n":"2001:db8::3","v":0.5},
     {"n":"2001:db8::4","v":0.5},
     {"n":"2001:db8::3","t":0.1,"v":0},
     {"n":"2001:db8::4","t":0.1,"v":0}
   ]""",
}

# RFC 8428 §6: the CBOR of the 5.1.2 example with times, as its hex dump prints it.
RFC_CBOR_DUMP = """
 0000 87 a7 21 78 1b 75 72 6e 3a 64 65 76 3a 6f 77 3a
 0010 31 30 65 32 30 37 33 61 30 31 30 38 30 30 36 3a
 0020 22 fb 41 d3 03 a1 5b 00 10 62 23 61 41 20 05 00
 0030 67 76 6f 6c 74 61 67 65 01 61 56 02 fb 40 5e 06
 0040 66 66 66 66 66 a3 00 67 63 75 72 72 65 6e 74 06
 0050 24 02 fb 3f f3 33 33 33 33 33 33 a3 00 67 63 75
 0060 72 72 65 6e 74 06 23 02 fb 3f f4 cc cc cc cc cc
 0070 cd a3 00 67 63 75 72 72 65 6e 74 06 22 02 fb 3f
 0080 f6 66 66 66 66 66 66 a3 00 67 63 75 72 72 65 6e
 0090 74 06 21 02 f9 3e 00 a3 00 67 63 75 72 72 65 6e
 00a0 74 06 20 02 fb 3f f9 99 99 99 99 99 9a a3 00 67
 00b0 63 75 72 72 65 6e 74 06 00 02 fb 3f fb 33 33 33
 00c0 33 33 33
"""


@pytest.fixture
def validator(sample_registry: StationRegistry) -> MessageValidator:
    return MessageValidator(sample_registry, max_payload_bytes=16_384,
                            max_future=timedelta(minutes=5), max_age=timedelta(days=30))


def resolved(pack: object) -> list[tuple[str, str | None, object, float | None, float]]:
    return [(r.name, r.unit, r.value, r.sum, r.time)
            for r in senml.resolve(senml.parse_records(pack))]


@pytest.mark.parametrize("name", RFC_EXAMPLES)
def test_rfc_example_is_refused_for_its_names_only(
    validator: MessageValidator, name: str
) -> None:
    pack = json.loads(RFC_EXAMPLES[name])
    assert resolved(pack)  # RFC 8428 itself reads it: version, value fields, names
    with pytest.raises(Rejected) as caught:
        validator.validate(RIVER, RFC_EXAMPLES[name].encode(), NOW)
    assert caught.value.reason is Reason.INVALID_SENML
    assert "station" in caught.value.detail, caught.value.detail


def test_multiple_measurements_resolve_to_the_rfc_resolved_data() -> None:
    # 5.1.4 says it is 5.1.3 in resolved form: the resolver must agree, record by record.
    assert resolved(json.loads(RFC_EXAMPLES["5.1.3 multiple measurements"])) == resolved(
        json.loads(RFC_EXAMPLES["5.1.4 resolved data"]))


def test_times_units_and_version_of_the_data_points_example() -> None:
    records = resolved(json.loads(RFC_EXAMPLES["5.1.2 multiple data points with times"]))
    base = 1.276020076001e09
    assert records[0] == ("urn:dev:ow:10e2073a0108006:voltage", "V", 120.1, None, base)
    assert [(unit, value, time) for _, unit, value, _, time in records[1:]] == [
        ("A", 1.2, base - 5), ("A", 1.3, base - 4), ("A", 1.4, base - 3),
        ("A", 1.5, base - 2), ("A", 1.6, base - 1), ("A", 1.7, base)]


def test_collection_keeps_the_first_base_time_under_a_new_base_name() -> None:
    records = resolved(json.loads(RFC_EXAMPLES["5.1.6 collection of resources"]))
    assert [(name, time) for name, _, _, _, time in records] == [
        ("2001:db8::2/temperature", 1.320078429e09), ("2001:db8::2/humidity", 1.320078429e09),
        ("2001:db8::1/temperature", 1.320078429e09), ("2001:db8::1/humidity", 1.320078429e09)]


def test_each_value_type_of_the_data_types_example() -> None:
    records = resolved(json.loads(RFC_EXAMPLES["5.1.5 multiple data types"]))
    assert [value for _, _, value, _, _ in records] == [23.1, "Machine Room", False, "aGkgCg"]


def test_actuator_pack_starts_with_a_record_of_base_fields_only() -> None:
    records = resolved(json.loads(RFC_EXAMPLES["5.1.7 setting an actuator"]))
    assert [(name, unit, value) for name, unit, value, _, _ in records] == [
        ("urn:dev:ow:10e2073a01080063:temp", "Cel", 23.1),
        ("urn:dev:ow:10e2073a01080063:heat", "/", 1.0),
        ("urn:dev:ow:10e2073a01080063:fan", "/", 0.0)]


def test_the_rfc_cbor_dump_is_the_json_example() -> None:
    payload = bytes.fromhex("".join(line[5:] for line in RFC_CBOR_DUMP.strip().splitlines()))
    assert len(payload) == 0xC3
    assert resolved(decode_cbor_pack(payload)) == resolved(
        json.loads(RFC_EXAMPLES["5.1.2 multiple data points with times"]))


# The same shapes, with a station's names: stored.
_SERIES: list[dict[str, float | str]] = [{"level_m": 3.2 + t / 100} for t in range(5, 0, -1)]
STATION_TWINS: list[tuple[str, str, list[dict[str, object]], list[dict[str, float | str]]]] = [
    ("5.1.1", RIVER, [{"n": "urn:dev:floodwatch:fushiguro:level", "u": "m", "v": 3.21}],
     [{"level_m": 3.21}]),
    ("5.1.2", RIVER, [{"bn": "urn:dev:floodwatch:fushiguro:", "n": "level", "u": "m",
                       "v": 3.21}, {"n": "battery", "u": "V", "v": 12.6}],
     [{"level_m": 3.21, "battery_v": 12.6}]),
    ("5.1.2 with times", RIVER,
     [{"bn": "fushiguro:", "bt": BT, "bu": "m", "bver": 5, "n": "battery", "u": "V",
       "v": 12.6}] + [{"n": "level", "t": -t, "v": 3.2 + t / 100} for t in range(5, 0, -1)]
     + [{"n": "level", "v": 3.2}],
     [*_SERIES, {"battery_v": 12.6, "level_m": 3.2}]),
    ("5.1.3", RIVER, [{"bn": "fushiguro:level", "bt": BT - 180, "bu": "m", "v": 3.2},
                      {"t": 60, "v": 3.25}, {"u": "cm", "t": 120, "v": 331},
                      {"t": 180, "v": 3.4}],
     [{"level_m": 3.2}, {"level_m": 3.25}, {"level_m": 3.31}, {"level_m": 3.4}]),
    ("5.1.4", RIVER, [{"n": "fushiguro:level", "u": "m", "t": BT - 180, "v": 3.2},
                      {"n": "fushiguro:level", "u": "m", "t": BT - 120, "v": 3.25},
                      {"n": "fushiguro:level", "u": "cm", "t": BT - 60, "v": 331},
                      {"n": "fushiguro:level", "u": "m", "t": BT, "v": 3.4}],
     [{"level_m": 3.2}, {"level_m": 3.25}, {"level_m": 3.31}, {"level_m": 3.4}]),
    ("5.1.5", ROAD, [{"bn": "urn:dev:floodwatch:tsuchiyu-pass:", "n": "surface_temp",
                      "u": "Cel", "v": -1.5}, {"n": "surface_state", "vs": "ice"}],
     [{"surface_temp_c": -1.5, "surface_state": "ice"}]),
    ("5.1.6", RIVER, [{"bn": "urn:dev:floodwatch:fushiguro:", "bt": BT, "n": "level",
                       "u": "m", "v": 3.21}, {"n": "rain", "u": "mm", "v": 4.5},
                      {"bn": "fushiguro:", "n": "battery", "u": "V", "v": 12.6}],
     [{"level_m": 3.21, "rain_mm": 4.5, "battery_v": 12.6}]),
    ("5.1.7", RIVER, [{"bn": "fushiguro:"}, {"n": "level", "u": "m", "v": 3.21},
                      {"n": "battery", "u": "V", "v": 12.6}],
     [{"level_m": 3.21, "battery_v": 12.6}]),
    ("5.1.7 timed", RIVER, [{"bt": BT, "bu": "m", "n": "fushiguro:level", "v": 3.21},
                            {"n": "fushiguro:level", "t": 0.1, "v": 3.22}],
     [{"level_m": 3.21}, {"level_m": 3.22}]),
]


@pytest.mark.parametrize(("example", "topic", "pack", "stored"), STATION_TWINS,
                         ids=[twin[0] for twin in STATION_TWINS])
def test_rfc_example_with_a_stations_names_is_stored(
    validator: MessageValidator, example: str, topic: str, pack: list[dict[str, object]],
    stored: list[dict[str, float | str]],
) -> None:
    readings = validator.validate(topic, json.dumps(pack).encode(), NOW).readings
    assert [reading.values for reading in readings] == stored, example


def test_the_multiple_data_types_example_refuses_types_no_measure_takes(
    validator: MessageValidator,
) -> None:
    for record in ({"n": "surface_state", "vb": False}, {"n": "surface_state", "vd": "aGkgCg"}):
        pack = [{"bn": "tsuchiyu-pass:", "n": "surface_temp", "u": "Cel", "v": -1.5}, record]
        with pytest.raises(Rejected) as caught:
            validator.validate(ROAD, json.dumps(pack).encode(), NOW)
        assert caught.value.reason is Reason.INVALID_SENML
        assert "string value (vs)" in caught.value.detail
