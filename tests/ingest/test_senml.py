"""SenML (RFC 8428) as the README's conformance table states it, and base values as a
property: a pack with base fields is stored exactly as its resolved twin."""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from floodwatch.core.registry import StationRegistry
from floodwatch.ingest import senml
from floodwatch.ingest.senml_cbor import encode_cbor_pack
from floodwatch.ingest.units import MEASURES, markdown_table
from floodwatch.ingest.validate import MessageValidator, Reason, Rejected

README = Path(__file__).parents[2] / "README.md"
BT = 1764291600  # 2025-11-28T01:00Z, the bt of the README's examples
NOW = datetime(2025, 11, 28, 1, 5, tzinfo=UTC)
TOPIC = "sensors/river/fushiguro"


@pytest.fixture
def validator(sample_registry: StationRegistry) -> MessageValidator:
    return MessageValidator(sample_registry, max_payload_bytes=16_384,
                            max_future=timedelta(minutes=5), max_age=timedelta(days=30))


def _section(name: str) -> list[str]:
    text = README.read_text()
    begin = text.index(f"<!-- {name}:begin")
    end = text.index(f"<!-- {name}:end -->")
    return text[begin:end].splitlines()[1:]


def _conformance_rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in _section("senml-conformance")[2:]:
        rule, example, result = (cell.strip() for cell in line.strip("|").split(" | "))
        rows.append((rule, example.strip("`"), result))
    return rows


def _payload(example: str) -> bytes:
    if example.startswith("[{-") or re.match(r"\[\{\d", example):
        return encode_cbor_pack(ast.literal_eval(example))  # diagnostic notation: CBOR
    return example.encode()


def _expected_values(result: str) -> list[dict[str, float | str]]:
    readings = []
    for reading in re.findall(r"`([^`]*)`", result):
        values: dict[str, float | str] = {}
        for pair in reading.split(", "):
            field, value = pair.split("=")
            values[field] = float(value) if re.fullmatch(r"-?[\d.]+", value) else value
        readings.append(values)
    return readings


ROWS = _conformance_rows()


def test_the_conformance_table_covers_every_senml_reason() -> None:
    refused = {result.split("`")[1] for _, _, result in ROWS if result.startswith("refused")}
    assert refused == {Reason.INVALID_SENML, Reason.UNSUPPORTED_SENML_VERSION,
                       Reason.SENML_VALUE_COUNT, Reason.UNSUPPORTED_UNIT}
    assert len(ROWS) >= 20


@pytest.mark.parametrize(("rule", "example", "result"), ROWS, ids=[row[0] for row in ROWS])
def test_readme_conformance_row(
    validator: MessageValidator, rule: str, example: str | bytes, result: str
) -> None:
    payload = example if isinstance(example, bytes) else _payload(example)
    if result.startswith("refused"):
        with pytest.raises(Rejected) as caught:
            validator.validate(TOPIC, payload, NOW)
        assert caught.value.reason == result.split("`")[1], caught.value.detail
        return
    assert result.startswith("stored"), rule
    readings = validator.validate(TOPIC, payload, NOW).readings
    assert [reading.values for reading in readings] == _expected_values(result)


JSON_ROWS = [row for row in ROWS if row[1].startswith('[{"')]


@pytest.mark.parametrize(("rule", "example", "result"), JSON_ROWS,
                         ids=[row[0] for row in JSON_ROWS])
def test_readme_conformance_row_as_cbor(
    validator: MessageValidator, rule: str, example: str, result: str
) -> None:
    test_readme_conformance_row(validator, rule, encode_cbor_pack(json.loads(example)), result)


def test_readme_units_table_is_the_code_table() -> None:
    assert "\n".join(_section("senml-units")) == markdown_table()


def test_base_value_and_time_of_the_issue_example(validator: MessageValidator) -> None:
    pack = [{"bn": "fushiguro:", "bt": BT, "bv": 3.0, "n": "level", "u": "m", "v": 0.21}]
    [reading] = validator.validate(TOPIC, json.dumps(pack).encode(), NOW).readings
    assert reading.values == {"level_m": 3.21}
    assert reading.ts == datetime(2025, 11, 28, 1, 0, tzinfo=UTC)
    assert reading.ts_source == "device"


def test_relative_times_are_anchored_on_the_receive_time(validator: MessageValidator) -> None:
    pack = [{"bn": "fushiguro:", "bt": -120, "n": "level", "u": "m", "v": 3.2},
            {"n": "level", "u": "m", "v": 3.3, "t": 60}, {"n": "rain", "u": "mm", "v": 0.5}]
    readings = validator.validate(TOPIC, json.dumps(pack).encode(), NOW).readings
    assert [(r.ts, r.values, r.ts_source) for r in readings] == [
        (NOW - timedelta(seconds=120), {"level_m": 3.2, "rain_mm": 0.5}, "received"),
        (NOW - timedelta(seconds=60), {"level_m": 3.3}, "received")]


def test_base_fields_last_until_the_next_one() -> None:
    pack = [{"bn": "a:", "bt": 10, "bu": "m", "bv": 1.0, "bs": 100.0, "n": "level", "v": 1},
            {"n": "level", "s": 5.0, "t": 1},
            {"bn": "b:", "bv": 2.0, "n": "level", "u": "cm", "v": 1},
            {"bu": "mm", "bs": 0.0, "n": "level", "v": 1, "t": 2}]
    resolved = senml.resolve(senml.parse_records(pack))
    assert [(r.name, r.unit, r.value, r.sum, r.time) for r in resolved] == [
        ("a:level", "m", 2.0, 100.0, 10.0),
        ("a:level", "m", None, 105.0, 11.0),
        ("b:level", "cm", 3.0, 100.0, 10.0),
        ("b:level", "mm", 3.0, 0.0, 12.0),
    ]


def test_records_with_different_versions_are_refused(validator: MessageValidator) -> None:
    pack = [{"bver": 10, "bn": "fushiguro:", "n": "level", "u": "m", "v": 3.2},
            {"bver": 5, "n": "level", "u": "m", "v": 3.3, "t": 60}]
    with pytest.raises(Rejected) as caught:
        validator.validate(TOPIC, json.dumps(pack).encode(), NOW)
    assert caught.value.reason is Reason.INVALID_SENML
    assert "different versions" in caught.value.detail


CONVERSIONS = [
    ("level", "m", 3.21, 3.21), ("level", "cm", 321, 3.21), ("level", "mm", 3210, 3.21),
    ("rain", "mm", 4.5, 4.5), ("rain", "cm", 0.45, 4.5),
    ("battery", "V", 12.6, 12.6), ("battery", "mV", 12600, 12.6),
    ("water_depth", "cm", 25, 25.0), ("water_depth", "m", 0.25, 25.0),
    ("water_depth", "mm", 250, 25.0),
    ("surface_temp", "Cel", -1.5, -1.5), ("surface_temp", "K", 271.65, -1.5),
]


def test_every_accepted_unit_has_a_conversion_test() -> None:
    listed = {(measure, unit) for measure, unit, _, _ in CONVERSIONS}
    assert listed == {(name, unit) for name, spec in MEASURES.items() for unit in spec.units}


@pytest.mark.parametrize(("measure", "unit", "sent", "stored"), CONVERSIONS)
def test_units_convert_to_the_stored_unit(
    measure: str, unit: str, sent: float, stored: float
) -> None:
    record = senml.ResolvedRecord(index=0, name=f"fushiguro:{measure}", unit=unit,
                                  value_field="v", value=float(sent), sum=None, time=0.0)
    [reading] = senml.readings([record], "fushiguro", NOW)
    # Powers of ten are one correctly rounded operation: exact. Kelvin's offset is not.
    expected = pytest.approx(stored, abs=1e-9) if unit == "K" else stored
    assert reading.values == {MEASURES[measure].field: expected}


# --- the property: base values change the bytes, never the stored readings ---------------

# Mostly in range, sometimes not (a negative rain): the twins must be refused alike too.
_numbers = st.floats(min_value=-1.0, max_value=10.0, allow_nan=False).map(
    lambda x: round(x, 3))
_relative_times = st.integers(min_value=-3000, max_value=0)
_optional = st.one_of(st.none(), _numbers)
# One reading per time: a level, maybe rain and battery, each value maybe with a sum.
_reading = st.tuples(_relative_times, st.tuples(_numbers, _optional),
                     st.one_of(st.none(), st.tuples(_numbers, _optional)),
                     st.one_of(st.none(), st.tuples(_numbers, _optional)))
_bases = st.fixed_dictionaries({
    "value": _numbers, "sum": _optional, "time": st.integers(BT - 600, BT),
    "prefix": st.sampled_from(["", "urn:dev:floodwatch:"]), "unit": st.booleans()})
UNITS = {"level": "m", "rain": "mm", "battery": "V"}
Pair = tuple[float, float | None]


@settings(max_examples=200, deadline=None)
@given(readings=st.lists(_reading, min_size=1, max_size=6, unique_by=lambda r: r[0]),
       bases=_bases)
def test_a_pack_with_base_values_equals_its_resolved_twin(
    sample_registry: StationRegistry,
    readings: list[tuple[int, Pair, Pair | None, Pair | None]], bases: dict[str, Any],
) -> None:
    base_value, base_sum, base_time = bases["value"], bases["sum"], bases["time"]
    prefix, use_base_unit = bases["prefix"], bases["unit"]
    based: list[dict[str, object]] = []
    resolved: list[dict[str, object]] = []
    for offset, *measured in readings:
        for measure, pair in zip(UNITS, measured, strict=True):
            if pair is None:
                continue
            value, total = pair
            record: dict[str, object] = {"n": measure, "v": value, "t": offset}
            twin: dict[str, object] = {"n": f"{prefix}fushiguro:{measure}",
                                       "u": UNITS[measure], "v": base_value + value,
                                       "t": base_time + offset}
            if not use_base_unit or measure != "level":
                record["u"] = UNITS[measure]
            if total is not None:
                record["s"] = total
            if total is not None or base_sum is not None:
                twin["s"] = (base_sum or 0.0) + (total or 0.0)
            based.append(record)
            resolved.append(twin)
    based[0] |= {"bn": f"{prefix}fushiguro:", "bt": base_time, "bv": base_value}
    if base_sum is not None:
        based[0]["bs"] = base_sum
    if use_base_unit:
        based[0]["bu"] = "m"

    def resolved_form(pack: list[dict[str, object]]) -> list[senml.ResolvedRecord]:
        return [senml.ResolvedRecord(0, r.name, r.unit, r.value_field, r.value, r.sum, r.time)
                for r in senml.resolve(senml.parse_records(pack))]

    assert resolved_form(based) == resolved_form(resolved)
    validator = MessageValidator(sample_registry, max_payload_bytes=16_384,
                                 max_future=timedelta(minutes=5), max_age=timedelta(days=30))
    outcomes: list[list[object]] = []
    for pack in (based, resolved):
        try:
            stored = validator.validate(TOPIC, json.dumps(pack).encode(), NOW).readings
            outcomes.append([(r.ts, r.ts_source, r.values) for r in stored])
        except Rejected as exc:  # the same refusal for both (a level out of range, a clash)
            outcomes.append([(exc.reason, exc.detail)])
    first = outcomes[0][0]
    event(str(first[0]) if isinstance(first, tuple) and isinstance(first[0], Reason)
          else "stored")
    assert outcomes[0] == outcomes[1]
