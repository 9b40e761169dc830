"""The durable line queue's writer against the real InfluxDB: a refused line costs
only itself, never the good lines of its batch (issue 21: no alert record lost)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from floodwatch.core.influx import InfluxClient
from floodwatch.core.line_queue import QueuedLineWriter
from tests.support import InfluxQuery, wait_for


class ListQueue:
    def __init__(self, lines: list[str]) -> None:
        self.lines = list(lines)

    def batch(self, limit: int) -> tuple[int, list[str]]:
        return len(self.lines), self.lines[:limit]

    def written(self, up_to_id: int) -> None:
        del self.lines[:up_to_id]

    def backlog(self) -> int:
        return len(self.lines)


def test_a_refused_line_costs_only_itself(influx: InfluxQuery) -> None:
    good = [f"m v={index}.0 {1_700_000_000_000_000_000 + index}" for index in range(7)]
    # A string into the float field v: InfluxDB refuses the whole request (HTTP 400).
    refused = 'm v="text" 1700000000000000100'
    queue = ListQueue([*good[:3], refused, *good[3:]])

    async def scenario() -> None:
        async with InfluxClient(influx.url, influx.database) as client:
            await client.create_database()
            writer = QueuedLineWriter(queue, client, what="test lines",
                                      on_backlog=lambda _: None, idle_s=0.05)
            task = asyncio.create_task(writer.run())
            await asyncio.to_thread(wait_for, lambda: not queue.lines, 10, "the batch")
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    with structlog.testing.capture_logs() as logs:
        asyncio.run(scenario())
    assert influx.count("m", "v") == len(good)
    errors = [entry for entry in logs if entry["log_level"] == "error"]
    assert [entry["line"] for entry in errors] == [refused]
