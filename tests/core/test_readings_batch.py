"""Reading.to_json_all: a drained run's bus messages at once, the very bytes ``to_json``
writes for each -- whatever the values, text included (quotes, braces, newlines, the
separator itself), whatever the times' zones; and a non-finite value refused as
``to_json`` refuses it."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationKind

zones = st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-3))])
times = st.builds(lambda micros, zone: datetime(2026, 1, 1, tzinfo=UTC).astimezone(zone)
                  + timedelta(microseconds=micros), st.integers(0, 10**13), zones)
readings = st.builds(
    Reading,
    station=st.sampled_from(["sukagawa", "g00001"]),
    kind=st.sampled_from(list(StationKind)),
    ts=times,
    values=st.dictionaries(
        st.sampled_from(["level_m", "surface_state", "x"]),
        st.floats(allow_nan=False, allow_infinity=False)
        | st.text() | st.just('},{"station":"\n'), max_size=3),
    ts_source=st.sampled_from(["device", "received"]),
    received_at=times,
)


@given(st.lists(readings, max_size=10))
def test_the_runs_messages_are_each_readings_own(run: list[Reading]) -> None:
    assert Reading.to_json_all(run) == [reading.to_json() for reading in run]


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_non_finite_value_is_refused_as_to_json_refuses_it(bad: float) -> None:
    at = datetime(2026, 11, 28, tzinfo=UTC)
    run = [Reading("a", StationKind.RIVER, at, {"level_m": value}, "device", at)
           for value in (1.5, bad)]
    with pytest.raises(ValueError, match="not JSON compliant"):
        Reading.to_json_all(run)
