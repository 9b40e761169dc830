"""PointFormatter.lines: a drained run's lines at once, the very text ``line`` writes.

The batch writes floats through msgspec's JSON instead of ``repr``; that is only right
where the two agree, so the agreement itself is a property here (every finite float in
fixed notation), and the batch is compared with ``line`` on any mix of values: floats
of every size, ints, bools, strings, keys that need escaping, non-finite floats.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from floodwatch.core.lineprotocol import LineProtocolError, PointFormatter
from floodwatch.core.readings import FieldValue, Reading
from floodwatch.core.registry import StationRegistry

STATIONS = ["sukagawa", "arakawa-fukushima", "koriyama-r4-underpass"]
AT = datetime(2026, 11, 28, 1, 0, 0, 412_000, tzinfo=UTC)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_msgspec_writes_repr_for_every_float_repr_writes_in_fixed_notation(
    value: float,
) -> None:
    text = msgspec.json.encode(value).decode()
    if 1e-4 <= abs(value) < 1e16 or value == 0:
        assert text == repr(value)  # the same digits: what the batch relies on
    else:  # and outside that range it is told apart by its text (lineprotocol._NOT_PLAIN)
        assert "e" in text or text.lstrip("-").startswith("0.0000")


def readings_of(registry: StationRegistry, values: list[dict[str, FieldValue]],
                ) -> list[Reading]:
    readings = []
    for index, fields in enumerate(values):
        station = registry.get(STATIONS[index % len(STATIONS)])
        assert station is not None
        at = AT + timedelta(seconds=index * 37, microseconds=index)
        readings.append(Reading(station.id, station.kind, at, fields, "device", AT))
    return readings


# What gauges send: hundredths within the schema's ranges (below 1e-4 repr writes an
# exponent, and such a value takes the path of ``line``, as the next test shows).
plain_values = st.dictionaries(
    st.sampled_from(["level_m", "rain_mm", "battery_v", "surface_temp_c"]),
    st.integers(-6000, 100_000).map(lambda hundredths: hundredths / 100),
    min_size=1, max_size=3)
any_values = st.dictionaries(
    st.sampled_from(["level_m", "rain mm", "state,x=y", "水位", "level2", "Level", "null",
                     "e", 'say "x"']),
    st.floats(allow_nan=False, allow_infinity=False) | st.integers() | st.booleans()
    | st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])),
    min_size=1, max_size=4)


@given(st.lists(plain_values | any_values, max_size=12))
def test_the_batch_writes_what_line_writes_for_any_values(
    sample_registry: StationRegistry, values: list[dict[str, FieldValue]],
) -> None:
    formatter = PointFormatter(sample_registry)
    readings = readings_of(sample_registry, values)
    assert formatter.lines(readings) == [formatter.line(reading) for reading in readings]


@given(st.lists(plain_values, min_size=1, max_size=12))
def test_plain_readings_take_the_batch_path(
    sample_registry: StationRegistry, values: list[dict[str, FieldValue]],
) -> None:
    formatter = PointFormatter(sample_registry)
    readings = readings_of(sample_registry, values)
    expected = [formatter.line(reading) for reading in readings]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(formatter, "line", lambda reading: pytest.fail("not batched"))
        assert formatter.lines(readings) == expected


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_value_is_refused_as_line_refuses_it(
    sample_registry: StationRegistry, bad: float,
) -> None:
    formatter = PointFormatter(sample_registry)
    readings = readings_of(sample_registry, [{"level_m": 1.5}, {"level_m": bad}])
    with pytest.raises(LineProtocolError, match="non-finite"):
        formatter.lines(readings)


def test_a_reading_without_fields_is_refused_as_line_refuses_it(
    sample_registry: StationRegistry,
) -> None:
    formatter = PointFormatter(sample_registry)
    with pytest.raises(LineProtocolError, match="at least one field"):
        formatter.lines(readings_of(sample_registry, [{"level_m": 1.5}, {}]))
