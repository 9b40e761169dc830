"""Bus messages in, alert events out: decode, evaluate, persist, acknowledge, publish.

Readings, forecasts (bus.FORECASTS, for forecast warnings) and officers' commands are
evaluated in arrival order. A message the engine cannot use (an undecodable reading or
forecast, or one that makes evaluation
fail) is acknowledged and dead-lettered on ``bus.DEADLETTER`` with the reason, as ingest
does for device messages: redelivering it would fail the same way, forever.

Each batch of drained messages is evaluated in arrival order, committed to SQLite in
one transaction, and only then acknowledged; events are published from the store
afterwards and marked published once the broker has confirmed every publish so far
(alerts.outbox).
Batching changes only how often we commit, never what is decided: the engine is
evaluated message by message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Protocol

import structlog

from floodwatch.alerts import metrics
from floodwatch.alerts.cap_profile import CapProfile
from floodwatch.alerts.commands import CommandRejected, parse_command, rejection_payload
from floodwatch.alerts.engine import Engine, Outcome
from floodwatch.alerts.forecast_input import ForecastError, decode_forecast
from floodwatch.alerts.history import flag_line, no_data_history_line
from floodwatch.alerts.model import AlertType, Transition
from floodwatch.alerts.outbox import Outbox, PublishingBus
from floodwatch.alerts.publications import Publisher
from floodwatch.alerts.render import no_data_payload
from floodwatch.alerts.rules import AlertRules
from floodwatch.alerts.store import AlertStore, Changes, EventPublication
from floodwatch.core import bus
from floodwatch.core.deadletter import dead_letter
from floodwatch.core.mqtt import ReceivedMessage
from floodwatch.core.readings import Reading
from floodwatch.core.registry import Station

log = structlog.get_logger("alerts")

UNDECODABLE_READING = "undecodable_reading"
UNDECODABLE_FORECAST = "undecodable_forecast"
INTERNAL_ERROR = "internal_error"
Outgoing = list[tuple[str, bytes]]  # command rejections and dead letters, published late


class Bus(PublishingBus, Protocol):
    """What the processor needs from core.mqtt.MqttSession (publishing: alerts.outbox)."""

    def drain(self) -> list[ReceivedMessage]: ...
    async def wait(self, timeout_s: float) -> None: ...
    def ack(self, messages: Sequence[ReceivedMessage]) -> None: ...


class AlertProcessor:
    """Runs the pure alert engine on the bus: feeds it each reading and command in arrival
    order (and the clock when the bus is quiet), makes its decisions durable in the store
    before acknowledging, and publishes the events, CAP and status they produce."""

    def __init__(self, engine: Engine, store: AlertStore, bus: Bus, rules: AlertRules, *,
                 profile: CapProfile, tick_s: float = 0.0, cap_status: str = "Actual",
                 on_history: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self._store = store
        self._bus = bus
        self._rules = rules
        self._labels = rules.labels
        self._publisher = Publisher(engine.registry, rules.labels, profile, cap_status)
        self._outbox = Outbox(engine, store, bus, rules.labels)
        self._tick_s = tick_s
        self._last_tick = 0.0
        self._last_reading = 0.0  # loop time a reading last arrived
        self._history_hook = on_history

    async def start(self) -> None:
        """Re-send what a previous run left unpublished, and every station's status."""
        for alert_type in AlertType:
            metrics.OPEN_ALERTS.labels(alert_type.value).set(sum(
                alert_type in state.alerts for state in self.engine.states.values()))
        await self._outbox.publish_pending_events()
        for station in self.engine.registry:
            await self._outbox.publish_status(station.id)

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        # No tick right after a start: the broker's backlog must arrive first, or every
        # station would look silent for as long as the engine was down.
        self._last_tick = self._last_reading = loop.time()
        while not stop.is_set():
            await self._bus.wait(0.1)
            messages = self._bus.drain()
            started = time.perf_counter()
            changes = Changes.empty()
            outgoing: Outgoing = []
            for message in messages:
                try:
                    self._handle(message, changes, outgoing)
                except Exception as exc:
                    # A bug must cost one message (logged, dead-lettered), not the engine:
                    # crashing would only redeliver it, forever. The engine goes back to
                    # what it knew before the message, so nothing it half-decided stays.
                    log.exception("unexpected error evaluating a message", topic=message.topic)
                    self._restore_engine(changes)
                    metrics.READINGS.labels(INTERNAL_ERROR).inc()
                    outgoing.append(dead_letter(message, INTERNAL_ERROR,
                                                 f"{type(exc).__name__}: {exc}"))
            if not messages and self._tick_s > 0 and loop.time() - self._last_tick >= self._tick_s:
                # Only with nothing queued: a backlog must not look like silence.
                self._last_tick = loop.time()
                # Wall time since the last reading arrived, never the wall clock itself:
                # readings may be stamped minutes behind it (alerts.silence).
                elapsed = timedelta(seconds=loop.time() - self._last_reading)
                try:
                    self._apply(self.engine.on_clock(elapsed), changes)
                except Exception:  # as for a message: not a crash loop at every restart
                    log.exception("unexpected error evaluating the clock")
                    self._restore_engine(changes)
            evaluated = time.perf_counter()
            self._store.commit(changes)
            self._bus.ack(messages)
            if messages:
                metrics.EVALUATION_SECONDS.observe(evaluated - started)
                metrics.COMMIT_SECONDS.observe(time.perf_counter() - evaluated)
            for topic, payload in outgoing:
                await self._outbox.publish(topic, payload)
            if changes.publications:
                await self._outbox.publish_pending_events()
            if changes.publications or changes.no_data is not None:
                # A no-data alert opened, widened or closed changes its stations' statuses.
                stations = [s.id for s in self.engine.registry] \
                    if changes.no_data is not None else changes.states
                for station in stations:
                    await self._outbox.publish_status(station)
            if changes.history and self._history_hook is not None:
                self._history_hook()
            self._outbox.confirm()

    async def drain_publishes(self, timeout_s: float = 5.0) -> None:
        """At shutdown: give the broker a moment to confirm, then mark what it did."""
        await self._outbox.drain(timeout_s)

    # --- one message ---------------------------------------------------------------
    def _handle(self, message: ReceivedMessage, changes: Changes, outgoing: Outgoing) -> None:
        topic = message.topic
        if topic.startswith(bus.READINGS.prefix):
            try:
                reading = Reading.from_json(message.payload)
            except ValueError as exc:
                metrics.READINGS.labels("undecodable").inc()
                log.warning("undecodable reading dead-lettered", topic=topic, error=str(exc))
                outgoing.append(dead_letter(message, UNDECODABLE_READING, str(exc)))
                return
            outcome = self.engine.on_reading(reading)
            metrics.READINGS.labels(outcome.ignored or "evaluated").inc()
            if outcome.ignored is None:
                # New data: the pipeline works. A repeated or unknown reading (a device
                # re-sending its last one) must not hide that nothing new arrives.
                self._last_reading = asyncio.get_running_loop().time()
            if outcome.ignored is not None:
                log.debug("reading ignored", station=reading.station, ts=str(reading.ts),
                          why=outcome.ignored)
            self._apply(outcome, changes)
        elif topic.startswith(bus.FORECASTS.prefix):
            self._forecast(message, changes, outgoing)
        elif topic.startswith(bus.COMMANDS.prefix):
            self._command(message, changes, outgoing)

    def _forecast(self, message: ReceivedMessage, changes: Changes,
                  outgoing: Outgoing) -> None:
        if not message.payload:
            # A retained forecast removed (a gauge out of service): nothing to warn of,
            # and nothing wrong to dead-letter.
            metrics.FORECASTS.labels("removed").inc()
            return
        try:
            forecast = decode_forecast(message.topic, message.payload)
        except ForecastError as exc:
            metrics.FORECASTS.labels("undecodable").inc()
            log.warning("undecodable forecast dead-lettered", topic=message.topic,
                        error=str(exc))
            outgoing.append(dead_letter(message, UNDECODABLE_FORECAST, str(exc)))
            return
        outcome = self.engine.on_forecast(forecast)
        metrics.FORECASTS.labels(outcome.ignored or "evaluated").inc()
        if outcome.ignored is not None:
            # Counted and logged: a forecast kept from warning is something to explain.
            log.info("forecast ignored for warnings", station=forecast.station,
                     issued_at=str(forecast.issued_at), why=outcome.ignored)
        self._apply(outcome, changes)

    def _command(self, message: ReceivedMessage, changes: Changes, outgoing: Outgoing) -> None:
        try:
            command = parse_command(message.topic, message.payload, self.engine.registry)
            command_id = command.body.command_id
            if command_id in changes.commands or self._store.command_seen(command_id):
                metrics.COMMANDS.labels("repeated").inc()
                log.info("repeated command ignored", command_id=command_id)
                return
            outcome = self.engine.on_command(command)
        except CommandRejected as exc:
            metrics.COMMANDS.labels("rejected").inc()
            log.warning("command rejected", topic=message.topic, reason=exc.reason,
                        command_id=exc.command_id)
            outgoing.append((bus.COMMAND_REJECTIONS.name(), rejection_payload(
                message.topic, exc.reason, exc.command_id)))
            return
        self._apply(outcome, changes)
        metrics.COMMANDS.labels("applied").inc()
        changes.commands.append(command_id)

    def _apply(self, outcome: Outcome, changes: Changes) -> None:
        # Everything is rendered before anything joins the batch: if rendering fails, the
        # batch holds none of this outcome (and the engine is restored), rather than a
        # state whose events were never published.
        rendered = [self._publisher.render(event, self._station(event.station))
                    for event in outcome.events]
        flag_lines = [flag_line(flagged, self._station(flagged.station))
                      for flagged in outcome.flags]
        for state in outcome.states:
            changes.states[state.station] = state
        if outcome.clock_changed:
            changes.clock = self.engine.clock
        if outcome.no_data is not None:
            changes.no_data = outcome.no_data
        for no_data in outcome.no_data_events:
            payload = no_data_payload(no_data, self._labels)
            changes.publications.append(EventPublication(
                no_data.event_id, bus.NO_DATA.name(), payload))
            changes.history.append(no_data_history_line(no_data, payload))
            log.warning("no-data alert", event_id=no_data.event_id, scope=no_data.scope,
                        transition=no_data.transition.value, silent=no_data.silent,
                        total=no_data.total)
        for event, (publications, history) in zip(outcome.events, rendered, strict=True):
            changes.publications += publications
            changes.history.append(history)
            metrics.EVENTS.labels(event.alert_type.value, event.transition.value).inc()
            if event.transition is Transition.RAISED:
                metrics.OPEN_ALERTS.labels(event.alert_type.value).inc()
            elif event.transition is Transition.CLEARED:
                metrics.OPEN_ALERTS.labels(event.alert_type.value).dec()
            log.info("alert event", event_id=event.event_id, alert_type=event.alert_type.value,
                     transition=event.transition.value, level=event.level)
        changes.history += flag_lines
        for flagged in outcome.flags:
            metrics.FLAGS.labels(flagged.flag.field, flagged.flag.reason.value).inc()

    def _station(self, station_id: str) -> Station:
        station = self.engine.registry.get(station_id)
        assert station is not None  # the engine decides only for registered stations
        return station

    def _restore_engine(self, changes: Changes) -> None:
        states, clock = self._store.load()
        states.update(changes.states)
        self.engine.restore(states, changes.clock or clock,
                            changes.no_data or self._store.load_no_data())
