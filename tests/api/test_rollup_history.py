"""Long charts from the hourly rollups: the same answer as from the raw points, read
from the rollups for the hours they keep (proven by raw points they do not know yet)
and from the raw points for the recent hours."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from core import rollups
from core.influx import InfluxClient
from core.registry import StationRegistry
from core.settings import Settings
from tests.api.support import api_client

STEP = timedelta(minutes=10)
STATES = ["dry", "wet", "slush", "snow", "ice"]


def _lines(start: datetime, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for index in range(count):
        ns = int((start + index * STEP).timestamp()) * 1_000_000_000
        rain = f",rain_mm={rng.randint(0, 9)}.0" if rng.random() < 0.5 else ""
        lines.append(f"river,station=sukagawa level_m={rng.uniform(0, 9):.3f}{rain} {ns}")
        state = f',surface_state="{rng.choice(STATES)}"' if rng.random() < 0.6 else ""
        lines.append(f"road,station=tsuchiyu-pass water_depth_cm={rng.uniform(0, 50):.1f}"
                     f"{state} {ns}")
    return lines


async def _write(settings: Settings, lines: list[str]) -> None:
    async with InfluxClient.from_settings(settings) as influx:
        await influx.create_database()
        await influx.write(lines)


async def _reconcile(settings: Settings, end: datetime) -> None:
    async with InfluxClient.from_settings(settings) as influx:
        end_hour = int(end.timestamp()) // rollups.HOUR_S
        await rollups.reconcile(influx, end_hour - 24 * 10, end_hour)


async def _chart(client: httpx.AsyncClient, station: str, start: datetime,
                 end: datetime) -> dict[str, Any]:
    response = await client.get(f"/api/v1/stations/{station}/readings",
                                params={"start": start.isoformat(), "end": end.isoformat()})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["bucket_s"] == 7200
    return body


def _same(rolled: dict[str, Any], raw: dict[str, Any]) -> None:
    assert [p["ts"] for p in rolled["points"]] == [p["ts"] for p in raw["points"]]
    for ours, theirs in zip(rolled["points"], raw["points"], strict=True):
        assert set(ours["values"]) == set(theirs["values"]), ours["ts"]
        for name, value in theirs["values"].items():
            if isinstance(value, str):
                assert ours["values"][name] == value
            else:
                assert ours["values"][name] == pytest.approx(value, rel=1e-9)


def test_rollups_answer_as_the_raw_points_do(make_settings: Callable[..., Settings],
                                            sample_registry: StationRegistry) -> None:
    settings = make_settings(api_max_points=40, api_history_cache_s=0)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    end = start + timedelta(days=3)  # 3 days in at most 39 buckets: 2 h each

    async def scenario() -> None:
        await _write(settings, _lines(start, 3 * 144, seed=7))
        async with api_client(settings, sample_registry) as client:
            charts = [await _chart(client, station, start, end)
                      for station in ("sukagawa", "tsuchiyu-pass")]  # no rollups: raw
            await _reconcile(settings, end)
            rolled = [await _chart(client, station, start, end)
                      for station in ("sukagawa", "tsuchiyu-pass")]
            for ours, raw in zip(rolled, charts, strict=True):
                _same(ours, raw)
            # A late point the rollups do not know yet: the chart is the rollups'.
            late = start + timedelta(hours=5, minutes=1)
            await _write(settings, [f"river,station=sukagawa level_m=500.0 "
                                    f"{int(late.timestamp()) * 1_000_000_000}"])
            assert (await _chart(client, "sukagawa", start, end)) == rolled[0]
            await _reconcile(settings, end)
            after = await _chart(client, "sukagawa", start, end)
            changed = [p["ts"] for p, q in zip(after["points"], rolled[0]["points"],
                                               strict=True) if p != q]
            assert changed == ["2026-11-01T04:00:00Z"]

    asyncio.run(scenario())


def test_recent_hours_come_from_the_raw_points(make_settings: Callable[..., Settings],
                                              sample_registry: StationRegistry) -> None:
    settings = make_settings(api_max_points=40, api_history_cache_s=0)
    now = datetime.now(UTC)
    start = (now - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)

    async def scenario() -> None:
        await _write(settings, _lines(start, int((now - start) / STEP), seed=8))
        await _reconcile(settings, now)
        async with api_client(settings, sample_registry) as client:
            before = await _chart(client, "sukagawa", start, now)
            # Into an hour the rollups keep (ignored until reconciled) and into the
            # current one (read raw, at once).
            old = now - timedelta(hours=20)
            await _write(settings, [
                f"river,station=sukagawa level_m=500.0 {int(old.timestamp()) * 10**9}",
                f"river,station=sukagawa level_m=500.0 {int(now.timestamp()) * 10**9 - 1}"])
            after = await _chart(client, "sukagawa", start, now + timedelta(seconds=1))
        assert after["points"][:-1] == before["points"][:-1]
        assert after["points"][-1]["values"]["level_m"] > before["points"][-1]["values"][
            "level_m"]

    asyncio.run(scenario())
