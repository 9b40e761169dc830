"""The shared cache of downsampled histories: hits, expiry, no cached failures, one query
for concurrent misses, and the range widened to whole buckets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floodwatch.api.history_cache import Chart, HistoryCache, aligned
from floodwatch.api.models import HistoryPoint
from floodwatch.api.store import _values, chart_json, ns_to_datetime
from floodwatch.core.influx import InfluxClient, Table
from floodwatch.core.readings import FIELD_DECIMALS
from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.core.settings import Settings
from tests.api.support import api_client
from tests.api.test_readings import START, STEP
from tests.api.test_readings import _write_levels as write_levels

KEY = ("sukagawa", 3600, 0, 7200)
POINTS: Chart = b'[{"ts":"2026-11-28T00:00:00Z","values":{"level_m":2.5}}]'


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_hit_within_the_ttl_and_a_fresh_load_after_the_stale_time() -> None:
    clock = Clock()
    cache = HistoryCache(30, clock=clock, spread=0)
    loads: list[int] = []

    async def load() -> Chart:
        loads.append(1)
        return POINTS

    async def scenario() -> None:
        assert await cache.get(KEY, load) == POINTS
        clock.now = 29.9
        assert await cache.get(KEY, load) == POINTS
        clock.now = 60.1
        assert await cache.get(KEY, load) == POINTS

    asyncio.run(scenario())
    assert len(loads) == 2
    assert (cache.hits, cache.misses, cache.stale) == (1, 2, 0)


def test_a_stale_entry_is_served_at_once_while_one_query_refreshes_it() -> None:
    clock = Clock()
    cache = HistoryCache(30, clock=clock, spread=0)
    newer: Chart = b'[{"ts":"2026-11-29T00:00:00Z","values":{"level_m":3.0}}]'
    loads: list[int] = []

    async def load() -> Chart:
        loads.append(1)
        if len(loads) == 1:
            return POINTS
        await asyncio.sleep(0.2)  # a slow InfluxDB: nobody waits for it
        return newer

    async def scenario() -> list[Chart]:
        await cache.get(KEY, load)
        clock.now = 35.0
        stale = await asyncio.wait_for(
            asyncio.gather(*(cache.get(KEY, load) for _ in range(10))), 0.1)
        await asyncio.sleep(0.3)
        return [*stale, await cache.get(KEY, load)]

    answers = asyncio.run(scenario())
    assert answers == [POINTS] * 10 + [newer]
    assert len(loads) == 2
    assert (cache.stale, cache.hits) == (10, 1)


def test_a_failed_refresh_keeps_the_stale_entry_until_its_stale_time_ends() -> None:
    clock = Clock()
    cache = HistoryCache(30, clock=clock, spread=0)
    loads: list[int] = []

    async def load() -> Chart:
        loads.append(1)
        if len(loads) == 2:
            raise ConnectionError("InfluxDB down")
        return POINTS

    async def scenario() -> None:
        await cache.get(KEY, load)
        clock.now = 31.0
        assert await cache.get(KEY, load) == POINTS  # refresh starts and fails
        await asyncio.sleep(0)
        clock.now = 40.0
        assert await cache.get(KEY, load) == POINTS  # still stale; a new refresh
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert len(loads) == 3


def test_ttls_are_spread_so_entries_loaded_together_do_not_expire_together() -> None:
    clock = Clock()
    cache = HistoryCache(30, clock=clock, spread=0.25)

    async def load() -> Chart:
        return POINTS

    async def scenario() -> int:
        for station in range(200):
            await cache.get((str(station), 1, 0, 1), load)
        clock.now = 26.0  # TTLs lie between 22.5 and 30 s: some expired, most not
        for station in range(200):
            await cache.get((str(station), 1, 0, 1), load)
        return cache.stale

    expired_early = asyncio.run(scenario())
    assert 20 < expired_early < 180  # about (30 - 26) / 7.5 of them, never all at once


def test_a_failure_is_not_kept() -> None:
    cache = HistoryCache(30, clock=Clock())
    calls: list[int] = []

    async def failing_then_fine() -> Chart:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("InfluxDB down")
        return POINTS

    async def scenario() -> None:
        with pytest.raises(ConnectionError):
            await cache.get(KEY, failing_then_fine)
        assert await cache.get(KEY, failing_then_fine) == POINTS

    asyncio.run(scenario())
    assert len(calls) == 2


def test_concurrent_misses_share_one_query() -> None:
    cache = HistoryCache(30, clock=Clock())
    calls: list[int] = []

    async def slow() -> Chart:
        calls.append(1)
        await asyncio.sleep(0.05)
        return POINTS

    async def scenario() -> list[Chart]:
        return await asyncio.gather(*(cache.get(KEY, slow) for _ in range(20)))

    assert asyncio.run(scenario()) == [POINTS] * 20
    assert len(calls) == 1


def test_oldest_entries_go_first_when_full() -> None:
    cache = HistoryCache(30, max_entries=2, clock=Clock())

    async def load() -> Chart:
        return POINTS

    async def scenario() -> None:
        for station in ("a", "b", "c"):
            await cache.get((station, 1, 0, 1), load)
        await cache.get(("a", 1, 0, 1), load)

    asyncio.run(scenario())
    assert (cache.hits, cache.misses) == (0, 4)


def test_ranges_are_widened_to_whole_buckets() -> None:
    start = datetime(2026, 11, 28, 10, 17, 5, tzinfo=UTC)
    end = datetime(2026, 11, 29, 10, 17, 5, tzinfo=UTC)
    first, last = aligned(start, end, 3600)
    assert first == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert last == datetime(2026, 11, 29, 11, tzinfo=UTC)
    assert aligned(first, last, 3600) == (first, last)


@pytest.mark.parametrize("cache_s", [30.0, 0.0])
def test_a_chart_asked_again_within_the_ttl_is_served_from_the_cache(
    cache_s: float, make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    settings = make_settings(api_max_points=10, api_history_cache_s=cache_s)
    params = {"start": START.isoformat(), "end": (START + 200 * STEP).isoformat()}

    async def scenario() -> tuple[list[float], list[float]]:
        await write_levels(settings, 200)
        async with api_client(settings, sample_registry) as client:
            first = (await client.get("/api/v1/stations/sukagawa/readings", params=params))
            # A late reading lands in the first bucket (a device's backfill).
            async with InfluxClient.from_settings(settings) as influx:
                ns = int((START + STEP / 2).timestamp()) * 1_000_000_000
                await influx.write([f"river,station=sukagawa level_m=500.0 {ns}"])
            second = (await client.get("/api/v1/stations/sukagawa/readings", params=params))
        return ([p["values"]["level_m"] for p in first.json()["points"]],
                [p["values"]["level_m"] for p in second.json()["points"]])

    first, second = asyncio.run(scenario())
    assert 2 <= len(first) == len(second) <= 10
    if cache_s:
        assert second == first  # the same answer, InfluxDB not asked again
    else:
        assert second[0] > first[0]  # asked again: the late reading raised the mean
        assert second[1:] == first[1:]


def _influx_text(value: object) -> str:
    """A value as InfluxDB 1.x's CSV writes it: floats positional (Go's 'f', -1), so
    88.0 is "88" and 1e-05 is "0.00001"; nothing for an absent value."""
    if value is None:
        return ""
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    return str(value)


@given(st.lists(st.fixed_dictionaries(
    {"time": st.integers(0, 4_102_444_800 * 10**9).map(lambda ns: ns // 1000 * 1000)},
    optional={"level_m": st.one_of(st.integers(-50, 100),
                                   st.floats(-1e22, 1e22, allow_nan=False,
                                             allow_infinity=False)),
              "rain_mm": st.floats(0, 500, allow_nan=False),
              "battery_v": st.none()}), max_size=5))
def test_a_chart_written_from_influx_rows_is_what_the_model_would_send(
    rows: list[dict[str, Any]],
) -> None:
    # The model's values rounded to each field's resolution (a mean's float noise is not
    # shown: 1.8839999999999997 is 1.88).
    expected = [HistoryPoint(ts=ns_to_datetime(row["time"]), values={
        name: round(value, FIELD_DECIMALS[name]) if isinstance(value, float) else value
        for name, value in _values(StationKind.RIVER, row).items()}).model_dump(mode="json")
        for row in rows]
    columns = ["name", "tags", "time", "battery_v", "level_m", "rain_mm"]
    table = Table(columns, [["river", "", *(_influx_text(row.get(name)) for name in columns[2:])]
                            for row in rows])
    chart = chart_json(StationKind.RIVER, table)
    assert json.loads(chart) == expected
    # Floats stay floats on the wire, as the model writes them (88, not 88.0, from 1.x).
    assert all(isinstance(value, float) for point in json.loads(chart)
               for value in point["values"].values())


def test_a_value_that_is_not_a_number_is_left_out() -> None:
    table = Table(["name", "tags", "time", "level_m", "rain_mm"],
                  [["river", "", "0", "NaN", "1e3"], ["river", "", "1000", "x", "+5"],
                   ["river", "", "2000", "1\u0663", "-0"]])  # an Arabic-Indic digit
    assert json.loads(chart_json(StationKind.RIVER, table)) == [
        {"ts": "1970-01-01T00:00:00Z", "values": {"rain_mm": 1000.0}},
        {"ts": "1970-01-01T00:00:00.000001Z", "values": {"rain_mm": 5.0}},
        {"ts": "1970-01-01T00:00:00.000002Z", "values": {"level_m": 13.0, "rain_mm": -0.0}}]


def test_values_are_rounded_to_the_fields_resolution() -> None:
    # A bucket's mean as InfluxDB prints it, and readings already at their resolution.
    table = Table(["name", "tags", "time", "battery_v", "level_m", "rain_mm"],
                  [["river", "", "0", "12.6049999", "1.8839999999999997", "10.049999999"],
                   ["river", "", "1000", "12.6", "3.21", "4.5"]])
    chart = chart_json(StationKind.RIVER, table)
    assert b"1.8839999999999997" not in chart
    assert json.loads(chart) == [
        {"ts": "1970-01-01T00:00:00Z",
         "values": {"battery_v": 12.6, "level_m": 1.88, "rain_mm": 10.0}},
        {"ts": "1970-01-01T00:00:00.000001Z",
         "values": {"battery_v": 12.6, "level_m": 3.21, "rain_mm": 4.5}}]
