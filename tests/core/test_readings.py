"""The bus encoding of a reading: the hand-assembled JSON is exactly what the JSON
encoder writes, and decodes back to the same reading."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.readings import Reading, format_ts, values_json
from core.registry import StationKind

values = st.dictionaries(
    # The schema's names (encoded once, ahead) and any other (encoded when met).
    st.one_of(st.sampled_from(["level_m", "rain_mm", "battery_v", "surface_state"]),
              st.text(max_size=10)),
    st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)),
    max_size=4)
moments = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=9))]))


@given(station=st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True), values=values,
       ts=moments, received=moments)
def test_to_json_is_the_json_encoders_bytes_and_round_trips(
    station: str, values: dict[str, float | str], ts: datetime, received: datetime,
) -> None:
    reading = Reading(station, StationKind.RIVER, ts.astimezone(UTC), values, "device",
                      received.astimezone(UTC))
    expected = json.dumps({
        "station": station, "kind": "river", "ts": format_ts(ts), "ts_source": "device",
        "received_at": format_ts(received), "values": values,
    }, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    assert reading.to_json() == expected
    assert Reading.from_json(expected) == reading


def test_format_ts_is_utc_with_microseconds_whatever_the_offset() -> None:
    jst = datetime(2026, 11, 28, 10, 0, tzinfo=timezone(timedelta(hours=9)))
    assert format_ts(jst) == "2026-11-28T01:00:00.000000Z"
    assert format_ts(jst.astimezone(UTC)) == "2026-11-28T01:00:00.000000Z"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_value_is_refused_not_written(value: float) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        values_json({"level_m": 1.0, "rain_mm": value})


def test_keys_outside_the_type_are_encoded_as_the_json_encoder_does() -> None:
    assert values_json({1: 1.0, "level_m": 2.0}) == '{"1":1.0,"level_m":2.0}'  # type: ignore[dict-item]
