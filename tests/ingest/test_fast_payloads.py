"""msgspec's accept path never accepts what the pydantic models refuse, and reads the
same values and time when both accept (ingest/fast_payloads.py says why there are two)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from floodwatch.core.registry import StationKind
from floodwatch.ingest.fast_payloads import decode_valid
from floodwatch.ingest.payloads import RiverPayload, RoadPayload

FIELDS = ["ts", "level_m", "rain_mm", "battery_v", "water_depth_cm", "surface_temp_c",
          "surface_state"]
offsets = st.sampled_from(["Z", "z", "+00:00", "+09:00", "-05:30", "+24:00", "", "+0900"])
timestamps = st.one_of(
    st.builds(lambda moment, offset, sep, digits: (
        moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + digits + offset),
        st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2110, 1, 1)),
        offsets, st.sampled_from(["T", " ", "t"]),
        st.sampled_from(["", ".5", ".123456", ".1234567", ".000000001"])),
    st.text(max_size=30),
    st.integers(min_value=900_000_000, max_value=4_200_000_000),
    st.floats(min_value=900_000_000, max_value=4_200_000_000),
)
values = st.one_of(
    st.floats(allow_nan=False, min_value=-1e3, max_value=1e10),
    st.integers(min_value=-100, max_value=2000), st.booleans(), st.none(),
    st.sampled_from(["dry", "wet", "slush", "snow", "ice", "DRY", "3.2", ""]),
)

def _near(low: float, high: float) -> st.SearchStrategy[object]:
    """Mostly numbers in and just outside a field's range, with its edges; or anything."""
    return st.one_of(st.floats(min_value=low - 1, max_value=high + 1),
                     st.floats(min_value=low - 1, max_value=high + 1),
                     st.sampled_from([low, high, int(low), int(high)]), values)


well_formed_times = st.builds(
    lambda moment, offset, digits: moment.strftime("%Y-%m-%dT%H:%M:%S") + digits + offset,
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2110, 1, 1)),
    st.sampled_from(["Z", "+00:00", "+09:00", "-05:30", "+14:00"]),
    st.sampled_from(["", ".5", ".123456", ".1234567"]))
times = st.one_of(well_formed_times, well_formed_times, timestamps)
# Mostly valid documents for each kind, so that the accept path is taken often; and
# anything at all.
plausible = st.one_of(
    st.fixed_dictionaries({"level_m": _near(-50, 100)}, optional={
        "ts": times, "rain_mm": _near(0, 500), "battery_v": _near(0, 60)}),
    st.fixed_dictionaries({}, optional={
        "ts": times, "water_depth_cm": _near(0, 1000), "surface_temp_c": _near(-60, 90),
        "surface_state": values, "battery_v": _near(0, 60)}),
)
payloads = st.one_of(plausible, st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)),
    st.one_of(values, timestamps), max_size=6))


def _pydantic(kind: StationKind, body: bytes) -> RiverPayload | RoadPayload | None:
    model = RiverPayload if kind is StationKind.RIVER else RoadPayload
    try:
        parsed = model.model_validate_json(body)
    except ValidationError:
        return None
    if isinstance(parsed, RoadPayload) and not parsed.has_observation():
        return None
    return parsed


@settings(max_examples=1500, deadline=None)
@given(document=payloads, kind=st.sampled_from(list(StationKind)))
@example(document={"level_m": 1.5, "ts": "2026-11-28T10:00:00+09:00"}, kind=StationKind.RIVER)
@example(document={"surface_state": "ice", "ts": 1_764_000_000}, kind=StationKind.ROAD)
def test_what_msgspec_accepts_pydantic_accepts_with_the_same_values(
    document: dict[str, object], kind: StationKind,
) -> None:
    body = json.dumps(document).encode()
    fast = decode_valid(kind, body)
    if fast is None:
        return  # the pydantic path decides: nothing to compare
    reference = _pydantic(kind, body)
    assert reference is not None, f"msgspec accepted what pydantic refuses: {body!r}"
    assert not reference.unknown_keys
    assert fast.values() == reference.field_values()
    assert list(fast.values()) == list(reference.field_values())  # the same order
    assert type(fast.ts) is type(reference.ts)
    assert fast.ts == reference.ts
    for name, value in fast.values().items():  # floats stay floats, -0.0 keeps its sign
        expected = reference.field_values()[name]
        assert type(value) is type(expected)
        assert str(value) == str(expected)


@pytest.mark.parametrize("document", [
    {"level_m": 1.5, "rain_mm": 0.0, "battery_v": 12.6, "ts": "2026-11-28T01:00:00Z"},
    {"level_m": 1, "ts": 1_764_000_000},
    {"level_m": -50.0},
    {"level_m": 1.5, "ts": "2026-11-28T10:00:00.25+09:00"},
])
def test_the_common_river_payloads_take_the_fast_path(document: dict[str, object]) -> None:
    fast = decode_valid(StationKind.RIVER, json.dumps(document).encode())
    assert fast is not None
    assert fast.values() == {key: float(value) for key, value in document.items()  # type: ignore[arg-type]
                             if key != "ts"}
    if isinstance(fast.ts, datetime):
        assert fast.ts.astimezone(UTC) == datetime.fromisoformat(str(document["ts"]))


@pytest.mark.parametrize("body", [
    b'{"level_m": 1, "ts": "2026-11-28T01:00:00.9999999Z"}',  # pydantic truncates
    b'{"level_m": 1, "ts": "2026-11-28T01:00:00.0000005Z"}',
    b'\xef\xbb\xbf{"level_m": 1}',  # a byte-order mark
    b'{"level_m": 1,}',
    b'{"level_m": 1} {}',
    b'{"level_m": 01}',
    b'{"level_m": 1e999}',
    b'{"level_m": 1, "ts": "2026-11-28T24:00:00Z"}',
])
def test_odd_bytes_are_left_to_pydantic(body: bytes) -> None:
    assert decode_valid(StationKind.RIVER, body) is None


@pytest.mark.parametrize("body", [
    b' \n{"level_m": -0.0}\t',
    b'{"level_m": 1, "level_m": 2.5}',  # the last one wins, as in pydantic
    b'{"level_m": 10, "ts": 946684800}',
    b'{"level_m": 1, "ts": "2026-11-28T01:00:00.123456Z"}',
])
def test_odd_but_valid_bytes_read_as_pydantic_reads_them(body: bytes) -> None:
    fast = decode_valid(StationKind.RIVER, body)
    reference = RiverPayload.model_validate_json(body)
    assert fast is not None
    assert fast.ts == reference.ts
    assert repr(fast.values()) == repr(reference.field_values())


@pytest.mark.parametrize("document", [
    {"level_m": 1.5, "firmware": "2.1"},  # unknown key: pydantic reports it
    {"level_m": "1.5"},  # a string
    {"level_m": True},
    {"level_m": 100.01},
    {"rain_mm": 1.0},  # no level
    {"level_m": 1.5, "ts": "2026-11-28T01:00:00"},  # no offset
    {"level_m": 1.5, "ts": 1_764_000_000_000},  # milliseconds
])
def test_anything_else_is_left_to_pydantic(document: dict[str, object]) -> None:
    assert decode_valid(StationKind.RIVER, json.dumps(document).encode()) is None


def test_a_road_payload_without_an_observation_is_left_to_pydantic() -> None:
    assert decode_valid(StationKind.ROAD, b'{"battery_v": 12.0}') is None
    road = decode_valid(StationKind.ROAD, b'{"surface_temp_c": -2.5, "surface_state": "ice"}')
    assert road is not None
    assert road.values() == {"surface_temp_c": -2.5, "surface_state": "ice"}


def test_an_offset_is_kept_for_validate_to_convert() -> None:
    fast = decode_valid(StationKind.RIVER, b'{"level_m": 1, "ts": "2026-11-28T10:00:00+09:00"}')
    assert fast is not None
    assert isinstance(fast.ts, datetime)
    assert fast.ts.utcoffset() == timedelta(hours=9)
    assert fast.ts == datetime(2026, 11, 28, 1, tzinfo=UTC)
