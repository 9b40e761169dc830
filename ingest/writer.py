"""Writing batches to InfluxDB until they are safe, then acknowledging their messages.

Batches are written strictly in order, so acknowledgements go to the broker in the
order the messages arrived (MQTT requires it). A batch is retried with capped,
jittered backoff while InfluxDB is unavailable; the broker keeps its messages meanwhile.
If InfluxDB rejects a batch as malformed, the points are written one by one so only the
offending readings are dead-lettered and the rest are stored.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from core.influx import DatabaseNotFound, InfluxClient, InfluxRejected, InfluxUnavailable
from core.readings import Reading
from ingest import metrics
from ingest.source import DeviceMessage

log = structlog.get_logger("ingest.writer")


@dataclass
class Batch:
    """Points to write and the messages to acknowledge once they are written."""

    lines: list[str] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    sources: list[DeviceMessage] = field(default_factory=list)  # aligned with lines
    messages: list[DeviceMessage] = field(default_factory=list)  # all, to acknowledge

    def __len__(self) -> int:
        return len(self.lines)


class Backoff:
    """Exponential backoff with full jitter, so many workers do not retry in lockstep."""

    def __init__(self, initial_s: float = 0.5, maximum_s: float = 30.0) -> None:
        self.initial_s = initial_s
        self.maximum_s = maximum_s
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.maximum_s, self.initial_s * 2**self.attempt)
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security

    def reset(self) -> None:
        self.attempt = 0


Acknowledge = Callable[[list[DeviceMessage]], None]
DeadLetter = Callable[[DeviceMessage, str, str], None]


class BatchWriter:
    def __init__(self, influx: InfluxClient, acknowledge: Acknowledge,
                 dead_letter: DeadLetter) -> None:
        self._influx = influx
        self._acknowledge = acknowledge
        self._dead_letter = dead_letter
        self._backoff = Backoff()

    async def write(self, batch: Batch) -> None:
        """Return only when every point of the batch is stored or dead-lettered."""
        while True:
            started = time.perf_counter()
            try:
                await self._influx.write(batch.lines)
            except DatabaseNotFound:
                log.info("creating database", database=self._influx.database)
                await self._create_database()
                continue
            except InfluxUnavailable as exc:
                metrics.WRITE_FAILURES.inc()
                delay = self._backoff.next_delay()
                log.warning("influxdb unavailable; retrying", error=str(exc),
                            retry_in_s=round(delay, 2), points=len(batch))
                await asyncio.sleep(delay)
                continue
            except InfluxRejected as exc:
                log.error("influxdb rejected a batch; writing points one by one",
                          error=exc.message, points=len(batch))
                await self._write_one_by_one(batch)
            else:
                metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
                self._count_stored(batch.readings)
            self._backoff.reset()
            self._acknowledge(batch.messages)
            return

    async def _create_database(self) -> None:
        while True:
            try:
                await self._influx.create_database()
                return
            except InfluxUnavailable as exc:
                await asyncio.sleep(self._backoff.next_delay())
                log.warning("influxdb unavailable; retrying", error=str(exc))

    async def _write_one_by_one(self, batch: Batch) -> None:
        for line, reading, source in zip(batch.lines, batch.readings, batch.sources,
                                         strict=True):
            while True:
                try:
                    await self._influx.write([line])
                except InfluxUnavailable:
                    await asyncio.sleep(self._backoff.next_delay())
                    continue
                except InfluxRejected as exc:
                    metrics.MESSAGES_REJECTED.labels("store_rejected").inc()
                    self._dead_letter(source, "store_rejected", exc.message)
                else:
                    self._count_stored([reading])
                break

    @staticmethod
    def _count_stored(readings: list[Reading]) -> None:
        river = sum(1 for reading in readings if reading.kind.value == "river")
        if river:
            metrics.READINGS_STORED.labels("river").inc(river)
        if len(readings) - river:
            metrics.READINGS_STORED.labels("road").inc(len(readings) - river)
