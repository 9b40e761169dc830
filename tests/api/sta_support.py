"""The SensorThings tests' data and client: 150 readings of sukagawa around one JST
day, a reading each of motomiya and a road sensor, one quality flag; a keyless client
with public read off."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from floodwatch.core.quality import Reason
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from tests.api.open_data_points import (
    STEP,
    day_start,
    flag,
    jst_today,
    reading,
    river_day,
    station,
    write,
)
from tests.api.support import api_client

ROOT = "http://api.test/sta/v1.1"
DAY = jst_today() - timedelta(days=2)
START = day_start(DAY)
LEVELS = f"{ROOT}/Datastreams('sukagawa:level_m')/Observations"


def run(make_settings: Callable[..., Settings], registry: StationRegistry,
        check: Callable[[httpx.AsyncClient], Any]) -> None:
    """``check`` with a keyless client (public read off) over 150 readings of sukagawa
    (DAY and 3 on each side), one of motomiya and one road reading; the 3rd of DAY's
    level flagged as suspect."""
    settings = make_settings()
    sukagawa, motomiya = station(registry, "sukagawa"), station(registry, "motomiya")
    road = station(registry, "tsuchiyu-pass")

    async def scenario() -> None:
        await write(settings, [
            *river_day(sukagawa, DAY),
            reading(motomiya, START, {"level_m": 4.0}),
            reading(road, START, {"surface_temp_c": -2.0, "surface_state": "ice"}),
            flag(sukagawa, START + 2 * STEP, "level_m", 1.02, Reason.MAX_STEP)])
        async with api_client(settings, registry, headers={}) as client:
            assert (await client.get("/api/v1/stations")).status_code == 401
            await check(client)

    asyncio.run(scenario())


async def ok(client: httpx.AsyncClient, url: str, **params: str) -> Any:
    # No params at all, not empty ones: httpx would drop the query of a nextLink.
    response = await client.get(url, params=params or None)
    assert response.status_code == 200, (url, params, response.text)
    assert response.headers["content-type"] == "application/json"
    return response.json()
