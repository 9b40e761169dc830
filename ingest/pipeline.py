"""The ingest loop: receive -> validate -> republish -> batch -> store -> acknowledge.

Validated readings are republished on the bus at once, so the alert engine sees a
reading before it is even stored; storing happens in batches (by size and by time) in a
separate task, so a slow or unavailable InfluxDB never stalls validation and the live
feed. Nothing is acknowledged to the broker before it is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import structlog

from floodwatch.core.deadletter import DEADLETTER_TOPIC, deadletter_payload
from floodwatch.core.influx import InfluxClient
from floodwatch.core.lineprotocol import LineProtocolError, PointFormatter
from floodwatch.core.mqtt import ReceivedMessage
from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationRegistry
from floodwatch.ingest import metrics
from floodwatch.ingest.spool import Spool
from floodwatch.ingest.validate import MessageValidator, Reason, Rejected
from floodwatch.ingest.writer import Batch, BatchWriter

log = structlog.get_logger("ingest.pipeline")

PUBLISH_ROOM_EVERY = 1000


class MessageSource(Protocol):
    """What the pipeline needs from the broker side (core.mqtt.MqttSession)."""

    def drain(self) -> list[ReceivedMessage]: ...
    async def wait(self, timeout_s: float) -> None: ...
    async def wait_for_publish_room(self) -> None: ...
    def ack(self, messages: Sequence[ReceivedMessage]) -> None: ...
    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None: ...
    def publish_all(self, messages: Sequence[tuple[str, bytes]]) -> None: ...


class IngestPipeline:
    """Turns device messages into stored readings: validates each once, republishes the
    valid readings on the bus (and dead-letters the rest) at once, and acknowledges a
    message to the broker only once its batch is in InfluxDB or the disk spool.

    ``receive`` validates and batches, ``store`` writes the batches in order, ``replay``
    drains the spool; the three run as tasks of the ingest process (ingest.service)."""

    def __init__(
        self,
        source: MessageSource,
        validator: MessageValidator,
        registry: StationRegistry,
        influx: InfluxClient,
        spool: Spool,
        *,
        batch_size: int,
        batch_interval_s: float,
        batch_pause_s: float,
    ) -> None:
        self._source = source
        self._validator = validator
        self._lines = PointFormatter(registry)
        self._batch_size = batch_size
        self._batch_interval_s = batch_interval_s
        self._batch_pause_s = batch_pause_s
        # Bounded: when InfluxDB is slow, at most a few batches wait here; beyond that
        # the broker holds the messages (they are not acknowledged).
        self._ready: asyncio.Queue[Batch | None] = asyncio.Queue(maxsize=4)
        self._unacknowledged = 0
        self._writer = BatchWriter(influx, spool, self.acknowledge, self.dead_letter_line)

    async def receive(self, stop: asyncio.Event) -> None:
        """Validate and batch until ``stop`` is set; then hand over the last batch."""
        loop = asyncio.get_running_loop()
        batch = Batch()
        deadline = loop.time() + self._batch_interval_s
        last_arrival = loop.time()
        while True:
            stopping = stop.is_set()
            now = loop.time()
            await self._source.wait(max(0.0, min(deadline - now, self._batch_pause_s, 0.1)))
            messages = self._source.drain()
            metrics.MESSAGES_RECEIVED.inc(len(messages))  # once per drain: the hot path
            if messages:
                last_arrival = loop.time()
            start = 0
            while start < len(messages):
                # Up to the batch's size at a time, so a batch never outgrows it.
                end = start + self._batch_size - len(batch.messages)
                await self._publish_all(self._handle_all(messages[start:end], batch))
                start = end
                if len(batch.messages) >= self._batch_size:
                    await self._hand_over(batch)
                    batch, deadline = Batch(), loop.time() + self._batch_interval_s
            # A pause in the stream (the end of a burst) has what waits stored and
            # acknowledged now: waiting for the interval was nearly all of the time from
            # a flood's last reading to its being queryable (0.5 s of 0.51 s). A stream
            # without such pauses (a backlog, 1,000 readings/s) is written by size and
            # interval; a sparse one after each message (at most 1 / pause writes a
            # second: 20 at the default 0.05 s).
            paused = loop.time() - last_arrival >= self._batch_pause_s
            if loop.time() >= deadline or stopping or paused:
                if batch.messages:
                    await self._hand_over(batch)
                    batch = Batch()
                deadline = loop.time() + self._batch_interval_s
            if stopping:
                await self._ready.put(None)
                return

    async def store(self) -> None:
        """Write handed-over batches in order until the receiver says it is done."""
        while (batch := await self._ready.get()) is not None:
            await self._writer.write(batch)
            self._unacknowledged -= len(batch.messages)
            metrics.UNACKNOWLEDGED.set(self._unacknowledged)

    async def replay(self) -> None:
        """Drain the disk spool into InfluxDB whenever it holds anything (runs forever)."""
        await self._writer.replay()

    def acknowledge(self, messages: list[ReceivedMessage]) -> None:
        self._source.ack(messages)

    async def dead_letter_line(self, line: str, detail: str) -> None:
        """A stored-format point InfluxDB refused (the device message is long gone)."""
        await self._publish(
            DEADLETTER_TOPIC,
            deadletter_payload("(influxdb)", line.encode(), Reason.STORE_REJECTED.value,
                               detail, datetime.now(UTC)),
        )

    async def _publish(self, topic: str, payload: bytes) -> None:
        await self._source.wait_for_publish_room()
        self._source.publish(topic, payload)

    async def _publish_all(self, messages: list[tuple[str, bytes]]) -> None:
        """One wait for room per PUBLISH_ROOM_EVERY messages, not per message (a coroutine
        each): the window queues what exceeds it, at most that many beyond it, so the
        packet ids (65,535) never run out whatever the batch size. Those are published in
        one call (MqttSession.publish_all)."""
        for start in range(0, len(messages), PUBLISH_ROOM_EVERY):
            await self._source.wait_for_publish_room()
            self._source.publish_all(messages[start:start + PUBLISH_ROOM_EVERY])

    async def _hand_over(self, batch: Batch) -> None:
        self._unacknowledged += len(batch.messages)
        metrics.UNACKNOWLEDGED.set(self._unacknowledged)
        await self._ready.put(batch)

    def _handle_all(self, messages: list[ReceivedMessage], batch: Batch,
                    ) -> list[tuple[str, bytes]]:
        """Validate a drained run of messages into the batch; returns what to publish
        (dead letters, then the bus readings) so the caller can respect the publish
        window. Each message is validated on its own; the valid ones' lines and bus
        messages are then made in one pass."""
        batch.messages.extend(messages)
        outgoing: list[tuple[str, bytes]] = []
        accepted: list[tuple[ReceivedMessage, list[Reading]]] = []
        validate = self._validator.validate
        for message in messages:
            try:
                result = validate(message.topic, message.payload, message.received_at)
            except Rejected as exc:
                outgoing.append(self._reject(message, exc.reason, exc.detail))
                continue
            except Exception as exc:
                outgoing.append(self._internal_error(message, exc))
                continue
            if result.unknown_keys:
                metrics.UNKNOWN_KEYS.inc()
                log.debug("unknown keys ignored", topic=message.topic,
                          keys=result.unknown_keys)
            accepted.append((message, result.readings))
        readings = [reading for _, message_readings in accepted for reading in message_readings]
        try:
            lines = self._lines.lines(readings)
            bus = list(zip([reading.bus_topic for reading in readings],
                           Reading.to_json_all(readings), strict=True))
        except Exception:
            # Validation should make this impossible; should it happen, only the message
            # at fault may pay for it: the run is done again one message at a time.
            for message, message_readings in accepted:
                outgoing.extend(self._encode(message, message_readings, batch))
            return outgoing
        batch.lines.extend(lines)
        outgoing.extend(bus)
        return outgoing

    def _encode(self, message: ReceivedMessage, readings: list[Reading], batch: Batch,
                ) -> list[tuple[str, bytes]]:
        """One message's lines into the batch and its bus messages, or its dead letter."""
        try:
            lines = [self._lines.line(reading) for reading in readings]
            bus = [(reading.bus_topic, reading.to_json()) for reading in readings]
        except LineProtocolError as exc:
            return [self._reject(message, Reason.INVALID_FIELD, str(exc))]
        except Exception as exc:
            return [self._internal_error(message, exc)]
        batch.lines.extend(lines)
        return bus

    def _internal_error(self, message: ReceivedMessage, exc: Exception) -> tuple[str, bytes]:
        # A bug must cost one message (kept in the dead letters), never the subscriber.
        log.exception("unexpected error validating a message", topic=message.topic)
        return self._reject(message, Reason.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")

    @staticmethod
    def _reject(message: ReceivedMessage, reason: Reason, detail: str) -> tuple[str, bytes]:
        metrics.MESSAGES_REJECTED.labels(reason.value).inc()
        log.info("message rejected", topic=message.topic, reason=reason.value, detail=detail)
        return DEADLETTER_TOPIC, deadletter_payload(message.topic, message.payload,
                                                    reason.value, detail, message.received_at)
