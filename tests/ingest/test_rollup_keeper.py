"""The rollup keeper against a real InfluxDB, on a clock of the test's own: an hour is
recomputed once it has ended and its writes have settled, never while it is open, and
again if it was written to while being read; reconciling finds what was never marked."""

from __future__ import annotations

import asyncio
import contextlib

from core import rollups
from core.influx import InfluxClient, Row
from core.registry import StationKind
from ingest.rollup_keeper import RollupKeeper
from tests.support import InfluxQuery

HOUR = 493_000  # an hour long past, in hours since the epoch
HOUR_END_S = (HOUR + 1) * rollups.HOUR_S


def _lines(count: int, level: float = 1.5) -> list[str]:
    return [f"river,station=r-1 level_m={level} {HOUR * rollups.HOUR_NS + i * 10**9}"
            for i in range(count)] + [
        f'road,station=d-1 surface_state="ice" {HOUR * rollups.HOUR_NS + 5 * 10**9}']


class Clock:
    def __init__(self, now_s: float) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


def test_an_hour_is_due_once_ended_and_settled() -> None:
    clock = Clock(HOUR_END_S - 120)
    keeper = RollupKeeper(InfluxClient("http://127.0.0.1:9", "unused"), reconcile_days=1,
                          settle_s=10, max_wait_s=60, clock=clock)
    keeper.note_stored(_lines(3))
    assert keeper.pending_hours == 2
    clock.now_s = HOUR_END_S + 9  # open until its end; then the writes settle
    assert keeper.due(clock.now_s) == []
    assert keeper.due(HOUR_END_S + 10) == [(StationKind.RIVER, HOUR), (StationKind.ROAD, HOUR)]
    # Written to every few seconds (a replay, say): due when the first write waited long.
    keeper = RollupKeeper(InfluxClient("http://127.0.0.1:9", "unused"), reconcile_days=1,
                          settle_s=10, max_wait_s=60, clock=clock)
    first = clock.now_s
    while clock.now_s < first + 60:
        keeper.note_stored(_lines(1))
        assert keeper.due(clock.now_s) == []
        clock.now_s += 5
    assert keeper.due(clock.now_s) == [(StationKind.RIVER, HOUR), (StationKind.ROAD, HOUR)]


def test_recompute_writes_the_rollups_and_clears_the_marks(influx: InfluxQuery) -> None:
    async def scenario() -> tuple[int, int, list[int]]:
        async with InfluxClient(influx.url, influx.database) as client:
            await client.create_database()
            clock = Clock(HOUR_END_S + 30)
            keeper = RollupKeeper(client, reconcile_days=1, clock=clock)
            lines = _lines(4)
            await client.write(lines)
            keeper.note_stored(lines)
            clock.now_s += 30
            done = await keeper.recompute_due()
            return done, keeper.pending_hours, await rollups.stale_hours(
                client, StationKind.RIVER, HOUR, HOUR + 1)

    assert asyncio.run(scenario()) == (2, 0, [])
    [river] = influx.rows('SELECT * FROM "river_1h"')
    assert (river["level_m_sum"], river["level_m_count"]) == (6, 4)


class WritesDuringQuery(InfluxClient):
    """Another batch of the same hour is stored while the keeper reads the hour."""

    keeper: RollupKeeper
    clock: Clock
    pending: list[str]

    async def query(self, influxql: str) -> list[Row]:
        rows = await super().query(influxql)
        if self.pending:
            self.clock.now_s += 1
            await self.write(self.pending)
            self.keeper.note_stored(self.pending)
            self.pending = []
        return rows


def test_an_hour_written_while_being_read_stays_marked(influx: InfluxQuery) -> None:
    async def scenario() -> list[int]:
        async with WritesDuringQuery(influx.url, influx.database) as client:
            await client.create_database()
            client.clock = clock = Clock(HOUR_END_S + 60)
            client.keeper = keeper = RollupKeeper(client, reconcile_days=1, clock=clock)
            await client.write(_lines(2))
            keeper.note_stored(_lines(2))
            client.pending = [f"river,station=r-1 level_m=7.0 {HOUR * rollups.HOUR_NS + 99}"]
            clock.now_s += 30
            assert await keeper.recompute_due() == 2
            assert keeper.pending_hours == 1  # the river hour, read before the late write
            assert keeper.due(clock.now_s) == []  # it settles again first
            clock.now_s += 60
            assert await keeper.recompute_due() == 1
            assert keeper.pending_hours == 0
            return await rollups.stale_hours(client, StationKind.RIVER, HOUR, HOUR + 1)

    assert asyncio.run(scenario()) == []
    [river] = influx.rows('SELECT * FROM "river_1h"')
    assert (river["level_m_sum"], river["level_m_count"]) == (10, 3)


def test_run_reconciles_what_was_never_marked(influx: InfluxQuery) -> None:
    # Points stored by a process that died before their hour was rolled up.
    async def scenario() -> list[int]:
        async with InfluxClient(influx.url, influx.database) as client:
            await client.create_database()
            await client.write(_lines(5))
            keeper = RollupKeeper(client, reconcile_days=2, tick_s=0.05, start_delay_s=0,
                                  clock=Clock(HOUR_END_S + 3600))
            running = asyncio.create_task(keeper.run())
            for _ in range(100):
                await asyncio.sleep(0.05)
                if not await rollups.stale_hours(client, StationKind.ROAD, HOUR, HOUR + 1):
                    break
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            return await rollups.stale_hours(client, StationKind.RIVER, HOUR, HOUR + 1)

    assert asyncio.run(scenario()) == []
    [road] = influx.rows('SELECT * FROM "road_1h"')
    assert (road["surface_state"], road["surface_state_count"]) == ("ice", 1)
