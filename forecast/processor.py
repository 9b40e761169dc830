"""Bus readings in, forecasts out: decode, screen, forecast, publish, store, acknowledge.

Each drained batch of readings is taken in arrival order (forecast.gauges decides what
each issues); the batch's forecasts are published retained at QoS 1 and, once the
broker has confirmed every one, committed to SQLite with their InfluxDB lines and the
readings taken -- and only then are the readings acknowledged. A crash before the commit
costs nothing but a repeat: the broker redelivers the readings and the same forecasts
are published again (the retained message and the InfluxDB points are replaced by the
same ones). InfluxDB never holds the loop up: its lines wait in SQLite for the writer.

A message the stage cannot use (an undecodable reading, or one whose forecast fails) is
acknowledged and dead-lettered on ``bus.DEADLETTER`` with the reason, as ingest and the
alert engine do: redelivering it would fail the same way, forever.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import structlog

from floodwatch.core import bus
from floodwatch.core.deadletter import dead_letter
from floodwatch.core.mqtt import ReceivedMessage
from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationRegistry
from floodwatch.forecast import metrics
from floodwatch.forecast.forecaster import Forecast
from floodwatch.forecast.gauges import Gauges
from floodwatch.forecast.storage import ForecastLines
from floodwatch.forecast.store import Batch, ForecastStore

log = structlog.get_logger("forecast")

UNDECODABLE_READING = "undecodable_reading"
INTERNAL_ERROR = "internal_error"
# How long a batch's forecasts may wait for the broker's confirmation before the loop
# looks at ``stop`` again (the wait itself goes on until they are confirmed).
CONFIRM_POLL_S = 1.0


class Bus(Protocol):
    """What the processor needs from core.mqtt.MqttSession."""

    def drain(self) -> list[ReceivedMessage]: ...
    async def wait(self, timeout_s: float) -> None: ...
    async def wait_for_publish_room(self) -> None: ...
    def ack(self, messages: Sequence[ReceivedMessage]) -> None: ...
    def publish_with_confirmation(self, topic: str, payload: bytes, *,
                                  retain: bool = False) -> asyncio.Future[None]: ...


def wall_clock() -> datetime:
    return datetime.now(UTC)


class ForecastProcessor:
    def __init__(self, gauges: Gauges, store: ForecastStore, bus: Bus, *,
                 on_lines: Callable[[], None] | None = None,
                 clock: Callable[[], datetime] = wall_clock) -> None:
        self.gauges = gauges
        self._registry: StationRegistry = gauges.registry
        self._store = store
        self._bus = bus
        self._on_lines = on_lines
        self._clock = clock
        self._lines = ForecastLines()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._bus.wait(0.1)
            messages = self._bus.drain()
            if not messages:
                continue
            batch = Batch()
            outgoing: list[tuple[str, bytes, bool]] = []
            for message in messages:
                self._handle(message, batch, outgoing)
            confirmations = []
            for topic, payload, retain in outgoing:
                await self._bus.wait_for_publish_room()
                confirmations.append(
                    self._bus.publish_with_confirmation(topic, payload, retain=retain))
            if not await _confirmed(confirmations, stop):
                return  # stopping with the broker away: the readings come again
            self._store.commit(batch)
            self._bus.ack(messages)
            if batch.lines and self._on_lines is not None:
                self._on_lines()

    def _handle(self, message: ReceivedMessage, batch: Batch,
                outgoing: list[tuple[str, bytes, bool]]) -> None:
        if not message.topic.startswith(bus.READINGS.prefix):
            return
        try:
            reading = Reading.from_json(message.payload)
        except ValueError as exc:
            metrics.READINGS.labels("undecodable").inc()
            log.warning("undecodable reading dead-lettered", topic=message.topic,
                        error=str(exc))
            outgoing.append((*dead_letter(message, UNDECODABLE_READING, str(exc)), False))
            return
        try:
            outcome = self.gauges.on_reading(reading)
            seen = self.gauges.seen.get(reading.station)
            if seen is not None:
                batch.seen[reading.station] = seen
            made_at = self._clock()
            rendered = [self._render(forecast, made_at) for forecast in outcome.forecasts]
        except Exception as exc:
            # A bug must cost one reading (logged, dead-lettered), not the stage: crashing
            # would only have it redelivered, forever.
            log.exception("unexpected error forecasting a reading", topic=message.topic)
            metrics.READINGS.labels(INTERNAL_ERROR).inc()
            outgoing.append((*dead_letter(message, INTERNAL_ERROR,
                                          f"{type(exc).__name__}: {exc}"), False))
            return
        metrics.READINGS.labels(outcome.ignored or "forecast").inc()
        if outcome.ignored not in (None, "flagged"):
            log.debug("reading issues no forecast", station=reading.station,
                      ts=str(reading.ts), why=outcome.ignored)
        for topic, payload, lines in rendered:
            outgoing.append((topic, payload, True))
            batch.lines += lines

    def _render(self, forecast: Forecast, made_at: datetime) -> tuple[str, bytes, list[str]]:
        station = self._registry.get(forecast.station)
        assert station is not None  # the gauges forecast registered stations only
        message = forecast.to_message(station, made_at=made_at)
        metrics.ISSUED.labels(message.method).inc()
        if message.fallback is not None:
            metrics.FALLBACKS.labels(fallback_reason(message.fallback)).inc()
        return (bus.FORECASTS.name(station=station.id), message.model_dump_json().encode(),
                self._lines(message, station))


async def _confirmed(confirmations: list[asyncio.Future[None]], stop: asyncio.Event) -> bool:
    """Whether the broker confirmed every publish (False: ``stop`` came first)."""
    pending = set(confirmations)
    while pending:
        done, pending = await asyncio.wait(pending, timeout=CONFIRM_POLL_S)
        for future in done:
            future.result()  # a refused publish is the broker's ACL: the stage must stop
        if pending and stop.is_set():
            for future in pending:
                future.cancel()
            return False
    return True


def fallback_reason(text: str) -> str:
    """A fallback's reason as a metric label: its first clause, numbers and gauge names
    left out (bounded: the forecaster words a few fixed reasons around them)."""
    first = re.split(r"[:;]", text, maxsplit=1)[0]
    return re.sub(r"[\d.]+", "N", first).strip()[:60]

