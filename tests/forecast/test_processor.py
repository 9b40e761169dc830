"""The forecast processor through its bus seam (an in-memory bus that confirms publishes
when told): acknowledged only after the broker confirmed and SQLite holds the batch; a
reading it cannot use is dead-lettered and the stage carries on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from floodwatch.core import bus
from floodwatch.core.mqtt import ReceivedMessage
from floodwatch.core.quality_rules import river_quality
from floodwatch.forecast.forecaster import Forecaster
from floodwatch.forecast.gauges import Gauges
from floodwatch.forecast.processor import ForecastProcessor, fallback_reason
from floodwatch.forecast.store import ForecastStore
from tests.forecast.stage_support import RULES_FILE, registry, rising

RECEIVED = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)


class InMemoryBus:
    """Hands the processor one batch; publishes are confirmed when ``confirm`` is
    called (as the broker's PUBACKs would be), and what happened when is recorded."""

    def __init__(self, batch: list[ReceivedMessage], store: ForecastStore) -> None:
        self._batch = batch
        self._store = store
        self.acked: list[ReceivedMessage] = []
        self.published: list[tuple[str, bytes, bool]] = []
        self.pending: list[asyncio.Future[None]] = []
        self.lines_before_ack: list[int] = []
        # At each acknowledgement: how many of the publishes so far the broker had not
        # confirmed yet (the state that proves the order, whatever the timing).
        self.unconfirmed_at_ack: list[int] = []
        self.expected_publishes = 0
        self.all_published = asyncio.Event()
        self.acknowledged = asyncio.Event()

    def drain(self) -> list[ReceivedMessage]:
        batch, self._batch = self._batch, []
        return batch

    async def wait(self, timeout_s: float) -> None:
        await asyncio.sleep(0.001)

    async def wait_for_publish_room(self) -> None:
        return

    def ack(self, messages: Sequence[ReceivedMessage]) -> None:
        self.lines_before_ack.append(self._store.backlog())
        self.unconfirmed_at_ack.append(sum(not future.done() for future in self.pending))
        self.acked += messages
        self.acknowledged.set()

    def publish_with_confirmation(self, topic: str, payload: bytes, *,
                                  retain: bool = False) -> asyncio.Future[None]:
        self.published.append((topic, payload, retain))
        if len(self.published) >= self.expected_publishes:
            self.all_published.set()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        return future

    def confirm(self) -> None:
        for future in self.pending:
            if not future.done():
                future.set_result(None)


def message(topic: str, payload: bytes, mid: int) -> ReceivedMessage:
    return ReceivedMessage(topic, payload, mid, 1, RECEIVED, 1)


def test_readings_are_acknowledged_only_once_confirmed_and_stored(tmp_path: Path) -> None:
    stations = registry()
    store = ForecastStore(tmp_path / "forecast.sqlite3")
    gauges = Gauges(stations, river_quality(RULES_FILE, stations),
                    Forecaster(stations, None))
    readings = rising("side", 3)
    batch = [message(r.bus_topic, r.to_json(), i + 1) for i, r in enumerate(readings)]
    batch.insert(1, message("floodwatch/readings/river/side", b"{not json", 9))
    memory = InMemoryBus(batch, store)
    memory.expected_publishes = 4  # three forecasts and a dead letter

    async def scenario() -> None:
        stop = asyncio.Event()
        run = asyncio.create_task(ForecastProcessor(gauges, store, memory).run(stop))
        await asyncio.wait_for(memory.all_published.wait(), 10)
        # The processor publishes the whole batch without yielding, then waits: had it
        # gone on to store and acknowledge, it would have done so before this task ran.
        assert memory.acked == []  # published, not confirmed: nothing acknowledged
        assert store.backlog() == 0  # ... nor stored
        assert not run.done()
        memory.confirm()
        await asyncio.wait_for(memory.acknowledged.wait(), 10)
        stop.set()
        await run

    asyncio.run(scenario())
    assert memory.acked == batch
    assert memory.unconfirmed_at_ack == [0]  # every publish confirmed before the ack
    assert memory.lines_before_ack == [3 * 18]  # the batch's points were in SQLite first
    topics = [(topic, retain) for topic, _, retain in memory.published]
    assert topics == [("floodwatch/forecasts/side", True), (bus.DEADLETTER.name(), False),
                      ("floodwatch/forecasts/side", True), ("floodwatch/forecasts/side", True)]
    dead = json.loads(memory.published[1][1])
    assert dead["reason"] == "undecodable_reading"
    assert store.load() == {"side": readings[-1].ts.timestamp()}
    store.close()


def test_fallback_reasons_are_bounded_metric_labels() -> None:
    assert fallback_reason("no fitted models yet; fewer than two readings in the last "
                           "hour: the level is held") == "no fitted models yet"
    assert fallback_reason("model without upstream gauges: akutsu silent for 40 min") == \
        "model without upstream gauges"
    assert fallback_reason("no model: 3 h of rising water in the history, 24 h needed") == \
        "no model"
