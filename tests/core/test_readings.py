"""The bus encoding of a reading: compact JSON that says what the standard encoder says,
and decodes back to the same reading."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floodwatch.api.models import HistoryPoint
from floodwatch.core.readings import Reading, format_ts
from floodwatch.core.registry import StationKind

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
def test_to_json_says_what_the_json_encoder_says_and_round_trips(
    station: str, values: dict[str, float | str], ts: datetime, received: datetime,
) -> None:
    reading = Reading(station, StationKind.RIVER, ts.astimezone(UTC), values, "device",
                      received.astimezone(UTC))
    expected = json.dumps({
        "station": station, "kind": "river", "ts": format_ts(ts), "ts_source": "device",
        "received_at": format_ts(received), "values": values, "schema_version": 1,
    }, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    encoded = reading.to_json()
    assert json.loads(encoded) == json.loads(expected)
    assert Reading.from_json(encoded) == reading
    assert Reading.from_json(expected) == reading


@given(moment=st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=9)),
                                                        timezone(timedelta(hours=-5))])))
def test_format_ts_is_rfc3339_in_utc_with_z_and_no_zero_fraction(moment: datetime) -> None:
    try:
        in_utc = moment.astimezone(UTC)
    except OverflowError:  # within a day of year 1 or 9999, with an offset
        return
    text = format_ts(moment)
    expected = in_utc.isoformat(timespec="microseconds" if in_utc.microsecond else "seconds")
    assert text == expected[:-6] + "Z"
    assert datetime.fromisoformat(text) == moment  # the same instant, read back
    # The API's models write the same text (docs/api.md: one form everywhere).
    assert HistoryPoint(ts=moment, values={}).model_dump(mode="json")["ts"] == text


def test_format_ts_is_utc_whatever_the_offset_with_a_fraction_only_when_there_is_one() -> None:
    jst = datetime(2026, 11, 28, 10, 0, tzinfo=timezone(timedelta(hours=9)))
    assert format_ts(jst) == "2026-11-28T01:00:00Z"
    assert format_ts(jst.astimezone(UTC)) == "2026-11-28T01:00:00Z"
    assert format_ts(jst.replace(microsecond=412000)) == "2026-11-28T01:00:00.412000Z"
    assert format_ts(jst.replace(microsecond=1)) == "2026-11-28T01:00:00.000001Z"


def test_the_bus_message_is_compact_utf8_json_with_the_one_utc_time_form() -> None:
    jst = timezone(timedelta(hours=9))
    reading = Reading("fushiguro", StationKind.RIVER,
                      datetime(2026, 11, 28, 10, 0, tzinfo=jst).astimezone(UTC),
                      {"level_m": 3.21, "rain_mm": 4.5}, "device",
                      datetime(2026, 11, 28, 1, 0, 0, 412000, tzinfo=UTC))
    assert reading.to_json() == (
        b'{"station":"fushiguro","kind":"river","ts":"2026-11-28T01:00:00Z",'
        b'"ts_source":"device","received_at":"2026-11-28T01:00:00.412000Z",'
        b'"values":{"level_m":3.21,"rain_mm":4.5},"schema_version":1}')


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_value_is_refused_not_written(value: float) -> None:
    reading = Reading("g1", StationKind.RIVER, datetime(2026, 11, 28, tzinfo=UTC),
                      {"level_m": 1.0, "rain_mm": value}, "device",
                      datetime(2026, 11, 28, tzinfo=UTC))
    with pytest.raises(ValueError, match="not JSON compliant"):
        reading.to_json()


def test_a_string_that_says_null_is_not_taken_for_a_non_finite_value() -> None:
    reading = Reading("null", StationKind.ROAD, datetime(2026, 11, 28, tzinfo=UTC),
                      {"surface_state": "null", "battery_v": 12.0}, "device",
                      datetime(2026, 11, 28, tzinfo=UTC))
    assert json.loads(reading.to_json())["values"] == {"surface_state": "null",
                                                       "battery_v": 12.0}


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_bus_message_with_a_non_finite_value_is_not_a_reading(text: str) -> None:
    message = ('{"station":"g1","kind":"river","ts":"2026-11-28T00:00:00Z",'
               '"ts_source":"device","received_at":"2026-11-28T00:00:00Z",'
               f'"values":{{"level_m":{text}}}}}')
    # JSON has no NaN or Infinity: the decoder refuses those words; 1e999 is refused as
    # a value that is not finite.
    with pytest.raises(ValueError, match=r"not a floodwatch reading|bad field value"):
        Reading.from_json(message)
