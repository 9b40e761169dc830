"""The alert processor through its bus seam (an in-memory bus): a message the engine
cannot use is acknowledged and dead-lettered with its reason, and the engine carries on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.processor import AlertProcessor
from floodwatch.alerts.rules import AlertRules
from floodwatch.alerts.store import AlertStore
from floodwatch.core import bus
from floodwatch.core.mqtt import ReceivedMessage
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import river
from tests.cap_support import profile

RECEIVED = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)


class InMemoryBus:
    """Hands the processor one batch, then asks it to stop; keeps what it publishes."""

    def __init__(self, batch: list[ReceivedMessage], stop: asyncio.Event,
                 store: AlertStore) -> None:
        self._batch = batch
        self._stop = stop
        self._store = store
        self.acked: list[ReceivedMessage] = []
        # For each ack: were the batch's events already in the store (ack after store)?
        self.committed_before_ack: list[bool] = []
        self.published: list[tuple[str, bytes, bool]] = []

    def drain(self) -> list[ReceivedMessage]:
        batch, self._batch = self._batch, []
        self._stop.set()
        return batch

    async def wait(self, timeout_s: float) -> None:
        await asyncio.sleep(0)

    async def wait_for_publish_room(self) -> None:
        return

    def ack(self, messages: Sequence[ReceivedMessage]) -> None:
        if messages:
            self.committed_before_ack.append(bool(self._store.unpublished()))
        self.acked += messages

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.published.append((topic, payload, retain))

    @property
    def unconfirmed_publishes(self) -> int:
        return 0

    def dead_letters(self) -> list[dict[str, object]]:
        return [json.loads(payload) for topic, payload, _ in self.published
                if topic == bus.DEADLETTER.name()]


def message(topic: str, payload: bytes, mid: int) -> ReceivedMessage:
    return ReceivedMessage(topic, payload, mid, 1, RECEIVED, 1)


def run_batch_with(engine: Engine, store: AlertStore, rules: AlertRules,
                   batch: list[ReceivedMessage]) -> InMemoryBus:
    stop = asyncio.Event()
    memory = InMemoryBus(batch, stop, store)
    asyncio.run(AlertProcessor(engine, store, memory, rules, profile=profile(rules)).run(stop))
    return memory


def run_batch(registry: StationRegistry, rules: AlertRules, tmp_path: Path,
              batch: list[ReceivedMessage], fail_station: str | None = None) -> InMemoryBus:
    engine = Engine(registry, rules)
    if fail_station is not None:
        evaluate = engine.on_reading

        def failing(reading):  # type: ignore[no-untyped-def]
            if reading.station == fail_station:
                raise RuntimeError("a bug in a rule")
            return evaluate(reading)

        engine.on_reading = failing  # type: ignore[method-assign]
    return run_batch_with(engine, AlertStore(tmp_path / "alerts.sqlite3"), rules, batch)


def test_an_undecodable_reading_is_dead_lettered_and_the_next_one_evaluated(
        registry: StationRegistry, rules: AlertRules, tmp_path: Path) -> None:
    good = river("g1", 0, 3.5)
    batch = [message(bus.READINGS.name(kind="river", station="g1"), b'{"station": "g1"}', 1),
             message(good.bus_topic, good.to_json(), 2)]
    memory = run_batch(registry, rules, tmp_path, batch)
    assert memory.acked == batch
    assert memory.committed_before_ack == [True]
    [letter] = memory.dead_letters()
    assert bus.DeadLetter.model_validate(letter).reason == "undecodable_reading"
    assert letter["topic"] == batch[0].topic
    assert letter["payload"] == '{"station": "g1"}'
    assert "not a floodwatch reading" in str(letter["detail"])
    raised = [json.loads(payload) for topic, payload, _ in memory.published
              if topic == bus.ALERTS.name(station="g1")]
    assert [(event["transition"], event["level"]) for event in raised] == [("raised", 3)]


def test_a_reading_that_makes_the_engine_fail_is_dead_lettered_as_an_internal_error(
        registry: StationRegistry, rules: AlertRules, tmp_path: Path) -> None:
    bad, good = river("g2", 0, 3.5), river("g1", 0, 3.5)
    batch = [message(bad.bus_topic, bad.to_json(), 1), message(good.bus_topic, good.to_json(), 2)]
    memory = run_batch(registry, rules, tmp_path, batch, fail_station="g2")
    assert memory.acked == batch
    [letter] = memory.dead_letters()
    assert letter["reason"] == "internal_error"
    assert letter["detail"] == "RuntimeError: a bug in a rule"
    assert letter["topic"] == bad.bus_topic
    assert any(topic == bus.ALERTS.name(station="g1") for topic, _, _ in memory.published)


def test_an_event_that_cannot_be_rendered_is_not_lost(
        registry: StationRegistry, rules: AlertRules, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    store = AlertStore(tmp_path / "alerts.sqlite3")
    engine = Engine(registry, rules)
    first, second = river("g1", 0, 3.5), river("g1", 10, 3.6)

    def broken_cap(*_args: object, **_kwargs: object) -> bytes:
        raise ValueError("a template the renderer cannot fill")

    with monkeypatch.context() as patch:
        patch.setattr("floodwatch.alerts.publications.render_cap", broken_cap)
        memory = run_batch_with(engine, store, rules,
                                [message(first.bus_topic, first.to_json(), 1)])
    [letter] = memory.dead_letters()
    assert letter["reason"] == "internal_error"
    # Nothing of the failed decision stayed: not in memory, not in the store.
    assert engine.states["g1"].alerts == {}
    assert store.kept_publications() == []
    memory = run_batch_with(engine, store, rules, [message(second.bus_topic, second.to_json(), 2)])
    raised = [json.loads(payload) for topic, payload, _ in memory.published
              if topic == bus.ALERTS.name(station="g1")]
    assert [(event["transition"], event["level"]) for event in raised] == [("raised", 3)]
    assert memory.committed_before_ack == [True]


def test_a_bad_forecast_is_dead_lettered_and_a_good_one_raises_a_warning(
        registry: StationRegistry, rules: AlertRules, tmp_path: Path) -> None:
    from tests.alerts.conftest import at
    from tests.alerts.forecasts import forecast_message

    reading = river("g1", 0, 2.5)
    topic = bus.FORECASTS.name(station="g1")
    good = bus.encode(forecast_message("g1", at(0), 2.5, 0.6))
    batch = [message(reading.bus_topic, reading.to_json(), 1),
             message(topic, b'{"station": "g1", "points": []}', 2),
             message(topic, good, 3)]
    memory = run_batch(registry, rules, tmp_path, batch)
    assert memory.acked == batch
    [letter] = memory.dead_letters()
    assert (letter["reason"], letter["topic"]) == ("undecodable_forecast", topic)
    assert str(letter["detail"]).startswith("not a forecast: ")
    published = [json.loads(payload) for topic, payload, _ in memory.published
                 if topic == bus.ALERTS.name(station="g1")]
    warning = [event for event in published if event["alert_type"] == "forecast"]
    assert [(e["transition"], e["level"], e["cap"]["scope"]) for e in warning] == [
        ("raised", 4, "Restricted")]
    assert warning[0]["detail"]["minutes"] == 150.0
