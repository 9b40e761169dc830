"""Storing batches: straight to InfluxDB when it is healthy, to the disk spool when not.

Batches are handled strictly in order, so acknowledgements go to the broker in the
order the messages arrived (MQTT requires it), and only once a batch is safe -- in
InfluxDB or fsynced in the spool. While the spool holds anything, new batches join it
behind the older ones and a replay task drains it into InfluxDB, so an outage costs
neither readings nor a stalled subscriber. If InfluxDB rejects a batch as malformed,
its points are written one by one so only the offending readings are dead-lettered.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from floodwatch.core.influx import DatabaseNotFound, InfluxClient, InfluxRejected, InfluxUnavailable
from floodwatch.core.mqtt import ReceivedMessage
from floodwatch.ingest import metrics
from floodwatch.ingest.spool import Spool, SpoolFull
from floodwatch.ingest.validate import Reason

log = structlog.get_logger("ingest.writer")

REPLAY_CHUNK = 5000


@dataclass
class Batch:
    """Points to write and the messages to acknowledge once they are safe."""

    lines: list[str] = field(default_factory=list)
    messages: list[ReceivedMessage] = field(default_factory=list)  # all, in arrival order

    def __len__(self) -> int:
        return len(self.lines)


class Backoff:
    """Exponential backoff with jitter, so many workers do not retry in lockstep."""

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


Acknowledge = Callable[[list[ReceivedMessage]], None]
DeadLetterLine = Callable[[str, str], Awaitable[None]]


class BatchWriter:
    """Makes each batch safe, in arrival order, before its messages are acknowledged:
    straight into InfluxDB when it answers and nothing waits in the disk spool, else
    appended to the spool, which ``replay`` drains into InfluxDB once it is back."""

    def __init__(self, influx: InfluxClient, spool: Spool, acknowledge: Acknowledge,
                 dead_letter_line: DeadLetterLine) -> None:
        self._influx = influx
        self._spool = spool
        self._acknowledge = acknowledge
        self._dead_letter_line = dead_letter_line
        self._spooled = asyncio.Event()
        if not spool.is_empty():
            self._spooled.set()
        metrics.SPOOL_BYTES.set(spool.size_bytes)

    async def write(self, batch: Batch) -> None:
        """Return once every point of the batch is stored, spooled or dead-lettered."""
        if self._spool.is_empty():
            try:
                await self._store(batch.lines)
            except InfluxUnavailable as exc:
                metrics.WRITE_FAILURES.inc()
                log.warning("influxdb unavailable; spooling", error=str(exc))
                await self._append_to_spool(batch.lines)
        else:
            await self._append_to_spool(batch.lines)
        self._acknowledge(batch.messages)

    async def replay(self) -> None:
        """Drain the spool into InfluxDB, oldest first, for as long as the process runs."""
        # Capped at 10 s: after an outage, readings should reach InfluxDB (and the
        # dashboards) soon after it is back; a probe write every 10 s costs nothing.
        backoff = Backoff(maximum_s=10.0)
        while True:
            oldest = self._spool.oldest()
            if oldest is None:
                self._spooled.clear()
                await self._spooled.wait()
                continue
            path, lines = oldest
            for start in range(0, len(lines), REPLAY_CHUNK):
                chunk = lines[start : start + REPLAY_CHUNK]
                while True:
                    try:
                        await self._store(chunk)
                        break
                    except InfluxUnavailable:
                        await asyncio.sleep(backoff.next_delay())
            backoff.reset()
            self._spool.remove(path)
            metrics.SPOOL_BYTES.set(self._spool.size_bytes)
            if self._spool.is_empty():
                log.info("spool replayed; writing directly again")

    async def _store(self, lines: list[str]) -> None:
        """Write to InfluxDB; raises InfluxUnavailable. Creates the database if missing."""
        started = time.perf_counter()
        try:
            await self._influx.write(lines)
        except DatabaseNotFound:
            log.info("creating database", database=self._influx.database)
            await self._influx.create_database()
            await self._influx.write(lines)
        except InfluxRejected as exc:
            log.error("influxdb rejected a batch; writing points one by one",
                      error=exc.message, points=len(lines))
            await self._store_one_by_one(lines)
            return
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        metrics.count_stored(lines)

    async def _store_one_by_one(self, lines: list[str]) -> None:
        for line in lines:
            try:
                await self._influx.write([line])
            except InfluxRejected as exc:
                metrics.MESSAGES_REJECTED.labels(Reason.STORE_REJECTED.value).inc()
                await self._dead_letter_line(line, exc.message)
            else:
                metrics.count_stored([line])

    async def _append_to_spool(self, lines: list[str]) -> None:
        backoff = Backoff(maximum_s=10.0)
        while True:
            try:
                self._spool.append(lines)
            except (SpoolFull, OSError) as exc:
                # Not acknowledging is the safe answer: the broker keeps the messages
                # until the replay makes room (or the disk comes back).
                log.error("cannot spool; holding acknowledgements", error=str(exc))
                await asyncio.sleep(backoff.next_delay())
                continue
            metrics.SPOOLED_READINGS.inc(len(lines))
            metrics.SPOOL_BYTES.set(self._spool.size_bytes)
            self._spooled.set()
            return
