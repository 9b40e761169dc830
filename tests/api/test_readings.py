"""History: raw for short ranges, GROUP BY time() for long ones and for any range holding
more readings than api_max_points (never cut short), values at the field's resolution,
problems for bad ranges and times that are not ISO 8601 with an offset. Points are written
straight to InfluxDB through core.influx."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from floodwatch.alerts.history import flag_line
from floodwatch.alerts.quality import FlaggedReading
from floodwatch.core.influx import InfluxClient
from floodwatch.core.quality import Flag, Reason
from floodwatch.core.registry import Station, StationRegistry
from floodwatch.core.settings import Settings
from tests.api.support import api_client

START = datetime(2026, 11, 1, tzinfo=UTC)
STEP = timedelta(minutes=10)  # the sample gauges' interval_s is 600


async def _write_levels(settings: Settings, count: int) -> None:
    async with InfluxClient.from_settings(settings) as influx:
        await influx.create_database()
        lines = []
        for index in range(count):
            ns = int((START + index * STEP).timestamp()) * 1_000_000_000
            # Integral values on purpose: 1.x hands them back as JSON integers.
            lines.append(f"river,basin=abukuma,river=abukuma,station=sukagawa "
                         f"level_m={index % 5}.0,rain_mm=0.5 {ns}")
        await influx.write(lines)


def test_short_range_is_raw(make_settings: Callable[..., Settings],
                            sample_registry: StationRegistry) -> None:
    settings = make_settings()

    async def scenario() -> None:
        await _write_levels(settings, 12)
        async with api_client(settings, sample_registry) as client:
            response = await client.get("/api/v1/stations/sukagawa/readings", params={
                "start": "2026-11-01T09:00:00+09:00", "end": "2026-11-01T01:00:00Z"})
            assert response.status_code == 200
            body = response.json()
            assert body["bucket_s"] is None
            assert [p["values"]["level_m"] for p in body["points"]] == [
                0.0, 1.0, 2.0, 3.0, 4.0, 0.0]
            assert body["points"][1]["ts"] == "2026-11-01T00:10:00Z"

    asyncio.run(scenario())


def test_long_range_is_downsampled_to_bounded_points(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry
) -> None:
    # Uncached, buckets start at the range's start (cached ones sit on the epoch's grid
    # so they can be shared: tests/api/test_history_cache.py).
    settings = make_settings(api_max_points=10, api_history_cache_s=0)

    async def scenario() -> None:
        await _write_levels(settings, 200)
        async with api_client(settings, sample_registry) as client:
            response = await client.get("/api/v1/stations/sukagawa/readings", params={
                "start": START.isoformat(), "end": (START + 200 * STEP).isoformat()})
            body = response.json()
            assert response.status_code == 200
            assert body["bucket_s"] == 12_000  # 2000 minutes / 10 points
            assert 1 <= len(body["points"]) <= 10
            # 20 readings per bucket cycling 0..4: every mean is 2.
            assert all(p["values"]["level_m"] == 2.0 for p in body["points"])
            # Rain is "since the last report": a bucket's rain is the sum, 20 x 0.5 mm.
            assert all(p["values"]["rain_mm"] == 10.0 for p in body["points"])

    asyncio.run(scenario())


@pytest.mark.parametrize("cache_s", [0, 30])
def test_a_gauge_faster_than_its_interval_is_downsampled_never_cut(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry, cache_s: int,
) -> None:
    # sukagawa's interval_s is 600: 3 hours "should" be 18 readings, well under the
    # limit, but this gauge reports every minute (180). The old answer was the first
    # 100 readings raw: the last 80 minutes of the chart were gone.
    settings = make_settings(api_max_points=100, api_history_cache_s=cache_s)
    minute = timedelta(minutes=1)

    async def scenario() -> dict[str, Any]:
        async with InfluxClient.from_settings(settings) as influx:
            await influx.create_database()
            await influx.write([
                f"river,station=sukagawa level_m={index / 100} "
                f"{int((START + index * minute).timestamp()) * 1_000_000_000}"
                for index in range(180)])
        async with api_client(settings, sample_registry) as client:
            response = await client.get("/api/v1/stations/sukagawa/readings", params={
                "start": START.isoformat(), "end": (START + 180 * minute).isoformat()})
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

    body = asyncio.run(scenario())
    bucket_s = body["bucket_s"]
    assert bucket_s is not None  # downsampled, and saying so
    points = body["points"]
    assert 2 <= len(points) <= 100
    newest = START + 179 * minute
    last = datetime.fromisoformat(points[-1]["ts"])
    # The newest reading is in the last bucket; the oldest in the first.
    assert last <= newest < last + timedelta(seconds=bucket_s)
    first = datetime.fromisoformat(points[0]["ts"])
    assert first <= START < first + timedelta(seconds=bucket_s)
    assert points[-1]["values"]["level_m"] >= 1.78


def test_a_range_with_as_many_readings_as_the_limit_is_raw(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    settings = make_settings(api_max_points=10)

    async def scenario() -> dict[str, Any]:
        await _write_levels(settings, 12)
        async with api_client(settings, sample_registry) as client:
            response = await client.get("/api/v1/stations/sukagawa/readings", params={
                "start": START.isoformat(), "end": (START + 10 * STEP).isoformat()})
            body: dict[str, Any] = response.json()
            return body

    body = asyncio.run(scenario())
    assert body["bucket_s"] is None
    assert len(body["points"]) == 10
    assert body["points"][-1]["ts"] == "2026-11-01T01:30:00Z"


def test_downsampled_values_are_rounded_to_the_gauges_resolution(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    settings = make_settings(api_max_points=10, api_history_cache_s=0)
    levels = [1.87, 1.88, 1.9]  # a mean of 1.8833333333333333 m
    rains = [0.1, 0.2, 0.2]  # a sum of 0.5000000000000001 mm

    async def scenario() -> bytes:
        async with InfluxClient.from_settings(settings) as influx:
            await influx.create_database()
            await influx.write([
                f"river,station=sukagawa level_m={level},rain_mm={rain} "
                f"{int((START + index * STEP).timestamp()) * 1_000_000_000}"
                for index, (level, rain) in enumerate(zip(levels, rains, strict=True))])
        async with api_client(settings, sample_registry) as client:
            response = await client.get("/api/v1/stations/sukagawa/readings", params={
                "start": START.isoformat(), "end": (START + timedelta(days=5)).isoformat()})
            assert response.status_code == 200, response.text
            return response.content

    content = asyncio.run(scenario())
    body = json.loads(content)
    assert body["bucket_s"] == 43_200
    assert body["points"] == [{"ts": "2026-11-01T00:00:00Z",
                               "values": {"level_m": 1.88, "rain_mm": 0.5}}]
    assert b"1.88333" not in content
    assert b"0.5000000000000001" not in content


def test_flagged_values_come_beside_the_readings(make_settings: Callable[..., Settings],
                                                 sample_registry: StationRegistry) -> None:
    settings = make_settings()
    sukagawa, motomiya = sample_registry.get("sukagawa"), sample_registry.get("motomiya")
    assert sukagawa is not None
    assert motomiya is not None

    def flag(station: Station, index: int, reason: Reason) -> str:
        moment = START + index * STEP
        return flag_line(FlaggedReading(station.id, moment, Flag("level_m", 9.0, reason),
                                        f"{station.id}/1", None), station)

    async def scenario() -> None:
        await _write_levels(settings, 12)
        async with InfluxClient.from_settings(settings) as influx:
            # The engine's own lines: two in the range, one after it, one elsewhere.
            await influx.write([flag(sukagawa, 2, Reason.MAX_STEP),
                                flag(sukagawa, 3, Reason.DROPOUT),
                                flag(sukagawa, 8, Reason.DROPOUT),
                                flag(motomiya, 2, Reason.MAX_STEP)])
        async with api_client(settings, sample_registry) as client:
            response = await client.get("/api/v1/stations/sukagawa/readings", params={
                "start": START.isoformat(), "end": (START + 6 * STEP).isoformat()})
            assert response.status_code == 200
            body = response.json()
            assert len(body["points"]) == 6
            assert body["flags"] == [
                {"ts": "2026-11-01T00:20:00Z", "field": "level_m", "reason": "max_step",
                 "value": 9.0},
                {"ts": "2026-11-01T00:30:00Z", "field": "level_m", "reason": "dropout",
                 "value": 9.0}]
            assert body["flags_truncated"] is False

    asyncio.run(scenario())


def test_more_flags_than_the_limit_keep_the_newest_and_say_so(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    settings = make_settings(api_max_points=10)
    sukagawa = sample_registry.get("sukagawa")
    assert sukagawa is not None

    async def scenario() -> dict[str, Any]:
        await _write_levels(settings, 12)
        async with InfluxClient.from_settings(settings) as influx:
            await influx.write([flag_line(FlaggedReading(
                sukagawa.id, START + index * STEP, Flag("level_m", float(index),
                                                        Reason.MAX_STEP),
                "sukagawa/1", None), sukagawa) for index in range(12)])
        async with api_client(settings, sample_registry) as client:
            response = await client.get("/api/v1/stations/sukagawa/readings", params={
                "start": START.isoformat(), "end": (START + 12 * STEP).isoformat()})
            body: dict[str, Any] = response.json()
            return body

    body = asyncio.run(scenario())
    assert body["flags_truncated"] is True
    assert [flag["value"] for flag in body["flags"]] == [float(i) for i in range(2, 12)]


def test_empty_database_has_no_points(make_settings: Callable[..., Settings],
                                      sample_registry: StationRegistry) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry) as client:
            response = await client.get("/api/v1/stations/sukagawa/readings")
            assert response.status_code == 200
            assert response.json()["points"] == []
            assert response.json()["flags"] == []

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("params", "status", "slug"),
    [
        ({"start": "2026-11-02T00:00:00Z", "end": "2026-11-01T00:00:00Z"}, 400, "bad-range"),
        ({"start": "2026-11-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"}, 400, "bad-range"),
        ({"start": "2026-01-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"}, 400, "bad-range"),
        ({"start": "2026-11-01T00:00:00", "end": "2026-11-02T00:00:00Z"}, 400, "bad-range"),
        ({"start": "0001-01-01T00:00:00+14:00"}, 400, "bad-range"),
        ({"start": "yesterday"}, 422, "bad-parameter"),
        # The default start (end - 24 h) is range-checked too.
        ({"end": "1970-01-01T01:00:00Z"}, 400, "bad-range"),
        # Epoch numbers are refused, as documented: ISO 8601 with an offset only.
        ({"start": "1764291600"}, 422, "bad-parameter"),
        ({"start": "1764291600", "end": "1764378000"}, 422, "bad-parameter"),
        ({"end": "1764291600.5"}, 422, "bad-parameter"),
    ],
)
def test_bad_ranges_are_problems(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    params: dict[str, str], status: int, slug: str,
) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry) as client:
            response = await client.get("/api/v1/stations/sukagawa/readings", params=params)
            assert response.status_code == status, response.text
            assert response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert body["type"].endswith(f"/{slug}")
            assert body["status"] == status
            assert body["title"]
            assert body["detail"]

    asyncio.run(scenario())


@pytest.mark.parametrize(("path", "name"), [
    ("/api/v1/stations/sukagawa/readings", "start"),
    ("/api/v1/stations/sukagawa/readings", "end"),
    ("/api/v1/deliveries", "since"),
    ("/api/v1/deliveries", "until"),
    ("/api/v1/alerts/history", "start"),
    ("/api/v1/alerts/history", "end"),
])
def test_an_epoch_number_is_refused_saying_which_form_is_wanted(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    path: str, name: str,
) -> None:
    async def scenario() -> dict[str, Any]:
        async with api_client(make_settings(), sample_registry) as client:
            response = await client.get(path, params={name: "1764291600"})
            assert response.status_code == 422, response.text
            body: dict[str, Any] = response.json()
            return body

    body = asyncio.run(scenario())
    assert body["type"].endswith("/bad-parameter")
    assert f"query.{name}" in body["detail"]
    assert "ISO 8601" in body["detail"]
    assert "offset" in body["detail"]
