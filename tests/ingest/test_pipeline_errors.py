"""A bug while handling one device message costs that message alone: it is dead-lettered
as ``internal_error`` and the pipeline goes on (in-process, through the pipeline's
MessageSource seam; no broker or database is reached)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import REGISTRY

from floodwatch.core.deadletter import DEADLETTER_TOPIC
from floodwatch.core.influx import InfluxClient
from floodwatch.core.lineprotocol import LineProtocolError, PointFormatter
from floodwatch.core.mqtt import ReceivedMessage
from floodwatch.core.readings import Reading, bus_topic
from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.ingest.pipeline import IngestPipeline
from floodwatch.ingest.spool import Spool
from floodwatch.ingest.validate import MessageValidator, Reason, Validated
from floodwatch.ingest.writer import Batch

NOW = datetime(2026, 10, 12, 6, 0, tzinfo=UTC)


class ListSource:
    """The broker side of the pipeline as a list: what it was given, what it published."""

    def __init__(self, messages: list[ReceivedMessage]) -> None:
        self._pending = messages
        self.published: list[tuple[str, bytes]] = []

    def drain(self) -> list[ReceivedMessage]:
        drained, self._pending = self._pending, []
        return drained

    async def wait(self, timeout_s: float) -> None:
        await asyncio.sleep(0)

    async def wait_for_publish_room(self) -> None:
        return None

    def ack(self, messages: Sequence[ReceivedMessage]) -> None:
        raise AssertionError("nothing is acknowledged before it is stored")

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.published.append((topic, payload))

    def publish_all(self, messages: Sequence[tuple[str, bytes]]) -> None:
        self.published.extend(messages)


class BuggyValidator(MessageValidator):
    """Fails on one station's messages the way a bug would, not with a Rejected."""

    def validate(self, topic: str, payload: bytes, received_at: datetime) -> Validated:
        if topic.endswith("/akutsu"):
            raise ZeroDivisionError("division by zero")
        return super().validate(topic, payload, received_at)


def message(topic: str, payload: bytes, mid: int) -> ReceivedMessage:
    return ReceivedMessage(topic, payload, mid, 1, NOW, 1)


def rejected(reason: Reason) -> float:
    return REGISTRY.get_sample_value("floodwatch_ingest_messages_rejected_total",
                                     {"reason": reason.value}) or 0.0


def test_a_bug_dead_letters_the_message_as_internal_error_and_the_next_goes_on(
    sample_registry: StationRegistry, tmp_path: Path,
) -> None:
    reading = json.dumps({"ts": (NOW - timedelta(minutes=1)).isoformat(), "level_m": 2.1})
    source = ListSource([message("sensors/river/akutsu", reading.encode(), 1),
                         message("sensors/river/sukagawa", reading.encode(), 2)])
    validator = BuggyValidator(sample_registry, max_payload_bytes=16_384,
                               max_future=timedelta(minutes=5), max_age=timedelta(days=3650))
    before = rejected(Reason.INTERNAL_ERROR)

    async def one_pass() -> None:
        # Never contacted: receive() only validates, publishes and hands batches over.
        async with InfluxClient("http://127.0.0.1:9", "unused") as influx:
            pipeline = IngestPipeline(source, validator, sample_registry, influx,
                                      Spool(tmp_path / "spool", 1_000_000),
                                      batch_size=100, batch_interval_s=1.0,
                                      batch_pause_s=1.0)
            stop = asyncio.Event()
            stop.set()  # one drain, then the last batch is handed over
            await pipeline.receive(stop)

    asyncio.run(one_pass())
    topics = [topic for topic, _ in source.published]
    assert topics == [DEADLETTER_TOPIC, bus_topic(StationKind.RIVER, "sukagawa")]
    letter = json.loads(source.published[0][1])
    assert (letter["topic"], letter["reason"], letter["detail"]) == (
        "sensors/river/akutsu", "internal_error", "ZeroDivisionError: division by zero")
    assert rejected(Reason.INTERNAL_ERROR) == before + 1


class FormatterFailingFor:
    """A line formatter that cannot write one station's points, as a bug would make it."""

    def __init__(self, station: str, formatter: PointFormatter) -> None:
        self._station = station
        self._formatter = formatter

    def line(self, reading: Reading) -> str:
        if reading.station == self._station:
            raise LineProtocolError("control character in string field")
        return self._formatter.line(reading)


def test_a_reading_that_cannot_be_encoded_costs_only_its_own_message(
    sample_registry: StationRegistry, tmp_path: Path,
) -> None:
    # The run's lines are made in one pass; a failure there is found message by message.
    reading = json.dumps({"ts": (NOW - timedelta(minutes=1)).isoformat(), "level_m": 2.1})
    source = ListSource([message("sensors/river/sukagawa", reading.encode(), 1),
                         message("sensors/river/akutsu", reading.encode(), 2),
                         message("sensors/river/motomiya", reading.encode(), 3)])
    validator = MessageValidator(sample_registry, max_payload_bytes=16_384,
                                 max_future=timedelta(minutes=5),
                                 max_age=timedelta(days=3650))
    before = rejected(Reason.INVALID_FIELD)
    handed_over: list[Batch] = []

    async def one_pass() -> None:
        async with InfluxClient("http://127.0.0.1:9", "unused") as influx:
            pipeline = IngestPipeline(source, validator, sample_registry, influx,
                                      Spool(tmp_path / "spool", 1_000_000),
                                      batch_size=100, batch_interval_s=1.0,
                                      batch_pause_s=1.0)
            pipeline._lines = FormatterFailingFor(  # type: ignore[assignment]
                "akutsu", PointFormatter(sample_registry))
            stop = asyncio.Event()
            stop.set()
            await pipeline.receive(stop)
            while (batch := pipeline._ready.get_nowait()) is not None:
                handed_over.append(batch)

    asyncio.run(one_pass())
    topics = [topic for topic, _ in source.published]
    assert topics == [bus_topic(StationKind.RIVER, "sukagawa"), DEADLETTER_TOPIC,
                      bus_topic(StationKind.RIVER, "motomiya")]
    letter = json.loads(source.published[1][1])
    assert (letter["topic"], letter["reason"]) == ("sensors/river/akutsu", "invalid_field")
    assert rejected(Reason.INVALID_FIELD) == before + 1
    [batch] = handed_over
    assert [re.search(r",station=([^, ]+)", line)[1] for line in batch.lines  # type: ignore[index]
            ] == ["sukagawa", "motomiya"]
    assert [m.mid for m in batch.messages] == [1, 2, 3]  # all acknowledged once stored
