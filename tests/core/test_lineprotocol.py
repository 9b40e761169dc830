"""Line protocol escaping: exact text for known cases, and a round trip through the real
InfluxDB for arbitrary names and values (property-based)."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floodwatch.core.influx import InfluxClient
from floodwatch.core.lineprotocol import (
    LineProtocolError,
    PointFormatter,
    escape_key,
    escape_measurement,
    event_time_ns,
    format_field_value,
    format_point,
)
from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationRegistry
from tests.support import InfluxQuery


def test_escapes_measurement_tags_and_fields_exactly() -> None:
    line = format_point(
        "river level",
        {"station": "a,b=c d", "river": "阿武隈川"},
        {"level m": 3.5, "state": 'say "hi" \\ ok'},
        1_700_000_000_000_000_000,
    )
    assert line == (
        r"river\ level,river=阿武隈川,station=a\,b\=c\ d "
        r'level\ m=3.5,state="say \"hi\" \\ ok" 1700000000000000000'
    )


def test_field_values_keep_their_types() -> None:
    assert format_field_value(88.0) == "88.0"
    assert format_field_value(0.1) == "0.1"
    assert format_field_value(7) == "7i"
    assert format_field_value(True) == "true"
    assert format_field_value("ice") == '"ice"'


@pytest.mark.parametrize("bad", ["", "line\nbreak", "tab\there", "nul\x00", "ends\\", "a\\b"])
def test_unrepresentable_keys_are_refused(bad: str) -> None:
    with pytest.raises(LineProtocolError):
        escape_key(bad)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_refused(value: float) -> None:
    with pytest.raises(LineProtocolError):
        format_field_value(value)


@given(station=st.sampled_from(["sukagawa", "arakawa-fukushima", "koriyama-r4-underpass"]),
       values=st.dictionaries(
           st.sampled_from(["level_m", "rain mm", "state,x=y", "水位"]),
           st.floats(allow_nan=False, allow_infinity=False)
           | st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])),
           min_size=1, max_size=4),
       microseconds=st.integers(0, 10**15))
def test_the_hot_path_formatter_writes_what_format_point_writes(
    sample_registry: StationRegistry, station: str, values: dict[str, float | str],
    microseconds: int,
) -> None:
    meta = sample_registry.get(station)
    assert meta is not None
    ts = datetime.fromtimestamp(microseconds / 1e6, UTC)
    reading = Reading(station, meta.kind, ts, values, "device", ts)
    assert PointFormatter(sample_registry).line(reading) == format_point(
        meta.kind.value, meta.tags, values, reading.ts_ns)


def test_measurement_refuses_control_characters() -> None:
    with pytest.raises(LineProtocolError):
        escape_measurement("river\r")


# Printable text of every kind, including the metacharacters , = space " \ and non-ASCII.
names = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\\"),
    min_size=1, max_size=20,
).filter(lambda text: text.strip() == text)
string_values = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tag_value=names, field_key=names, number=floats, text=string_values)
def test_round_trip_through_influxdb(
    influx: InfluxQuery, tag_value: str, field_key: str, number: float, text: str
) -> None:
    field_key = "f" + field_key  # keep clear of InfluxQL's reserved "time" column
    if field_key == "fs":
        field_key = "fx"
    timestamp = 1_700_000_000_000_000_000 + abs(hash((tag_value, field_key, number))) % 10**12
    line = format_point("m,e a=s", {"station": tag_value}, {field_key: number, "fs": text},
                        timestamp)

    async def write() -> None:
        async with InfluxClient(influx.url, influx.database) as client:
            await client.create_database()
            await client.write([line])

    asyncio.run(write())
    escaped = tag_value.replace("\\", "\\\\").replace("'", "\\'")
    rows = influx.rows(
        f"SELECT * FROM \"m,e a=s\" WHERE station = '{escaped}' AND time = {timestamp}"
    )
    assert len(rows) == 1, (line, rows)
    assert rows[0]["station"] == tag_value
    assert float(rows[0][field_key]) == number
    assert rows[0]["fs"] == text


@pytest.mark.parametrize("bad", ["line\nbreak", "cr\r", "tab\there", "nul\x00"])
def test_string_fields_refuse_c0_control_characters(bad: str) -> None:
    with pytest.raises(LineProtocolError):
        format_field_value(bad)


def test_del_and_c1_in_a_string_field_are_written_as_they_are(influx: InfluxQuery) -> None:
    """Measured on the test InfluxDB (issue 21): DEL and C1 need no escape inside a
    quoted string field, so such a value is written, never refused."""
    text = "note\x7f \x80\x85\x9f end"
    line = format_point("m", {"station": "s"}, {"note": text}, 1_700_000_000_000_000_000)

    async def write() -> None:
        async with InfluxClient(influx.url, influx.database) as client:
            await client.create_database()
            await client.write([line, format_point("m", {"station": "t"}, {"note": "next"},
                                                   1_700_000_000_000_000_001)])

    asyncio.run(write())
    assert [row["note"] for row in influx.rows('SELECT "note" FROM "m"')] == [text, "next"]


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2262, 1, 1),
                    timezones=st.just(UTC)),
       st.integers(min_value=0, max_value=999))
def test_an_event_point_time_is_its_instant_plus_seq_nanoseconds(at: datetime,
                                                                 seq: int) -> None:
    """The form points were stored in before the time was shared (a float timestamp):
    the API's event keys must find those points too."""
    assert event_time_ns(at, seq) == (int(at.timestamp()) * 1_000_000_000
                                      + at.microsecond * 1000 + seq)
    assert event_time_ns(at, seq + 1) == event_time_ns(at, seq) + 1
