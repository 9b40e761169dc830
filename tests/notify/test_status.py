"""The ``alert_delivery`` line the API reads, and the status writer's shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

from floodwatch.core.influx import InfluxClient
from floodwatch.notify.deliveries import DeliveryLedger
from floodwatch.notify.status import StatusLines, delivery_line, status_writer


def test_the_line_has_exactly_the_schema_the_api_reads() -> None:
    line = delivery_line("sukagawa", "webhook:city", event_id="sukagawa/4", state="failed",
                         attempts=2, detail='HTTP 500\n"bad gateway"', at_ns=1_790_000_000)
    assert line == ('alert_delivery,channel=webhook:city,station=sukagawa '
                    'event_id="sukagawa/4",state="failed",attempts=2i,'
                    'detail="HTTP 500 \\"bad gateway\\"" 1790000000')


def test_a_writer_cancelled_as_it_is_woken_stops(tmp_path: Path) -> None:
    """Shutdown wakes every worker and cancels the endless ones in the same breath; a
    cancellation swallowed there (asyncio.wait_for on 3.11) kept the process alive."""
    ledger = DeliveryLedger(tmp_path / "deliveries.sqlite3")

    async def scenario() -> None:
        async with InfluxClient("http://127.0.0.1:9", "db") as influx:
            writer = status_writer(StatusLines(ledger.db), influx)
            for _ in range(20):
                task = asyncio.create_task(writer.run())
                await asyncio.sleep(0.01)
                writer.notify()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    async with asyncio.timeout(3):
                        await task
                assert task.cancelled()

    try:
        asyncio.run(scenario())
    finally:
        ledger.close()


def test_status_backlog_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("floodwatch.notify.status.MAX_STATUS_BACKLOG", 5)
    db = sqlite3.connect(tmp_path / "q.sqlite3", isolation_level=None)
    db.execute("CREATE TABLE status_lines (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT)")
    db.executemany("INSERT INTO status_lines (line) VALUES (?)", [(f"l{i}",) for i in range(8)])
    queue = StatusLines(db)
    assert queue.backlog() == 5
    assert queue.batch(10)[1] == ["l3", "l4", "l5", "l6", "l7"]  # the newest kept
