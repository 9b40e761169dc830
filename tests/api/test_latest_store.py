"""The shared, short-lived cache of InfluxDB's newest point per station."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from floodwatch.api.latest_store import RenderedBody, StoredLatest, StoredSnapshot
from floodwatch.core.influx import InfluxClient, Row
from floodwatch.core.settings import Settings
from floodwatch.services.process import free_port


class CountingInflux(InfluxClient):
    queries = 0

    async def query(self, influxql: str) -> list[Row]:
        self.queries += 1
        return await super().query(influxql)


def test_one_query_per_refresh_and_requests_do_not_wait_for_it(
        make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    now_ns = int(datetime.now(UTC).timestamp()) * 1_000_000_000

    async def scenario() -> None:
        async with CountingInflux(str(settings.influx_url), settings.influx_db) as influx:
            await influx.create_database()
            cache = StoredLatest(refresh_s=0.5)
            answers = await asyncio.gather(*(cache.get(influx) for _ in range(20)))
            assert {answer.generation for answer in answers} == {1}
            assert all(answer.latest == {} for answer in answers)
            per_refresh = influx.queries  # one query per station kind
            assert per_refresh == 2

            await influx.write([f"river,station=sukagawa level_m=2.5 {now_ns}"])
            assert (await cache.get(influx)).latest == {}  # the answer of a moment ago
            assert influx.queries == per_refresh
            await asyncio.sleep(0.6)
            # Stale: answered at once from the last refresh, while one runs behind it.
            assert (await cache.get(influx)).generation == 1
            assert (await cache.get(influx)).generation == 1
            for _ in range(100):
                refreshed = await cache.get(influx)
                if refreshed.generation == 2:
                    break
                await asyncio.sleep(0.02)
            assert refreshed.generation == 2
            assert refreshed.latest is not None
            assert refreshed.latest["sukagawa"][1] == {"level_m": 2.5}
            assert influx.queries == 2 * per_refresh

    asyncio.run(scenario())


def test_recent_points_merged_between_full_refreshes(
        make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    now = datetime.now(UTC).replace(microsecond=0)
    hour_ago_ns = int((now - timedelta(hours=1)).timestamp()) * 1_000_000_000
    now_ns = int(now.timestamp()) * 1_000_000_000

    async def refreshed(cache: StoredLatest, influx: InfluxClient,
                        generation: int) -> StoredSnapshot:
        for _ in range(200):
            snapshot = await cache.get(influx)
            if snapshot.generation >= generation:
                return snapshot
            await asyncio.sleep(0.02)
        raise AssertionError(f"no generation {generation}")

    async def scenario() -> None:
        async with CountingInflux(str(settings.influx_url), settings.influx_db) as influx:
            await influx.create_database()
            await influx.write([f"river,station=akutsu level_m=1.0 {hour_ago_ns}"])
            cache = StoredLatest(refresh_s=0.2, full_refresh_s=1.5)
            first = await cache.get(influx)  # a full refresh
            assert first.latest is not None
            assert set(first.latest) == {"akutsu"}
            # An old point the bus never carried: only a full refresh finds it.
            await influx.write([f"river,station=sukagawa level_m=2.0 {hour_ago_ns}",
                                f"river,station=motomiya level_m=3.0 {now_ns}"])
            merged = await refreshed(cache, influx, 2)
            assert merged.latest is not None
            assert set(merged.latest) == {"akutsu", "motomiya"}
            full = await refreshed(cache, influx, 3)
            assert full.latest is not None
            assert set(full.latest) == {"akutsu", "motomiya", "sukagawa"}

    asyncio.run(scenario())


def test_an_outage_is_remembered_for_the_moment_too() -> None:
    async def scenario() -> None:
        down = f"http://127.0.0.1:{free_port()}"
        async with CountingInflux(down, "floodwatch", timeout_s=1) as influx:
            cache = StoredLatest(refresh_s=60)
            assert (await cache.get(influx)).latest is None
            assert (await cache.get(influx)).latest is None
            assert influx.queries == 1  # the first kind failed; nothing asked again

    asyncio.run(scenario())


def test_rendered_body_is_reused_until_its_inputs_change() -> None:
    rendered = RenderedBody()
    renders: list[int] = []

    def render() -> bytes:
        renders.append(1)
        return f"body {len(renders)}".encode()

    assert rendered.get((1, 1), render) == b"body 1"
    assert rendered.get((1, 1), render) == b"body 1"
    assert rendered.get((1, 2), render) == b"body 2"
    assert len(renders) == 2
