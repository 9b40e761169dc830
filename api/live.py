"""The API's view of the bus: the latest validated reading of every station, the alert
engine's retained status and the forecast stage's newest (retained) forecast of every
river gauge, kept in memory so "latest", forecasts and the live feed keep answering
while InfluxDB is down. Every bus message is also handed to the LiveHub.

The subscription holds no session (expiry 0, random client id): after a restart the
cache refills from InfluxDB and new bus messages, nothing has to be replayed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import Counter
from pydantic import ValidationError

from floodwatch.api.audience import public_status
from floodwatch.api.event_keys import EventKey
from floodwatch.api.forecast_models import Forecast
from floodwatch.api.hub import LiveEvent, LiveFilter, LiveHub
from floodwatch.core import bus
from floodwatch.core.mqtt import BrokerAddress, MqttSession
from floodwatch.core.readings import Reading
from floodwatch.core.settings import Settings

log = structlog.get_logger("api.live")

# Bus messages are small; a generous window keeps the broker from holding them back.
RECEIVE_MAXIMUM = 1000

# Forecasts are of river gauges only (the message has no kind of its own).
FORECAST_KIND = "river"

LIVE_MESSAGES = Counter("floodwatch_api_bus_messages_total",
                        "Bus messages the API received, by outcome.", ["outcome"])


class LiveCache:
    """Latest reading per station, from the bus. Runs as one task on the event loop."""

    def __init__(self, subscription: MqttSession, hub: LiveHub) -> None:
        self._subscription = subscription
        self.hub = hub
        self._latest: dict[str, Reading] = {}
        # Counts changes of the latest readings, so answers built from them can be reused.
        self.version = 0
        self._status: dict[str, dict[str, Any]] = {}
        # Each river gauge's newest forecast as published (the live feed passes on what the
        # API's reader does not know), with its issue time, as the live event every client
        # and snapshot shares: encoded once (LiveEvent.text), not once per new client (a
        # snapshot of 2,000 forecasts is 7 MB: 0.44 s to encode here). Not the read model
        # too: it took 29 KiB a gauge beside the JSON's 13 (a 3.9 KB message of 18 points
        # and 4 inputs, tracemalloc); REST reads the one it answers again (0.2 ms).
        self._forecasts: dict[str, tuple[datetime, LiveEvent]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> LiveCache:
        subscription = MqttSession(
            BrokerAddress.from_settings(settings),
            f"{settings.api_client_id}-{uuid.uuid4().hex[:12]}",
            [*bus.READINGS.filters, *bus.ALERTS.filters, *bus.STATUS.filters,
             *bus.FORECASTS.filters],
            session_expiry_s=0,
            receive_maximum=RECEIVE_MAXIMUM,
            keepalive_s=settings.mqtt_keepalive_s,
        )
        return cls(subscription, LiveHub(settings.api_live_queue,
                                         settings.api_live_replay_buffer,
                                         settings.deployment_id))

    @property
    def subscribed(self) -> bool:
        """Connected and subscribed now: false while the broker is away."""
        return self._subscription.connected

    def latest(self, station_id: str) -> Reading | None:
        return self._latest.get(station_id)

    def remember(self, reading: Reading) -> None:
        """Keep ``reading`` unless a newer one (by device time) is already known."""
        known = self._latest.get(reading.station)
        if known is None or reading.ts >= known.ts:
            self._latest[reading.station] = reading
            self.version += 1

    # The status readers (bus.StatusMessage), tolerant: a field the engine adds passes
    # through, and one it no longer sends reads as unknown instead of failing a request.
    def open_alerts(self, *, residents_only: bool = False) -> list[tuple[str, dict[str, Any]]]:
        """(station, alert) for each open alert of every station, as the engine says, or
        (``residents_only``) as residents were told (api.audience)."""
        return [(station, alert) for station, status in sorted(self._status.items())
                for alert in (public_status(status) if residents_only else status)
                .get("alerts", []) if isinstance(alert, dict)]

    def status(self, station: str) -> dict[str, Any] | None:
        """The engine's retained status of ``station`` as it wrote it (None: none yet)."""
        return self._status.get(station)

    def open_no_data(self) -> list[dict[str, Any]]:
        """The engine's open no-data alerts, each once with the stations it found silent
        (from the stations' statuses: ``no_data``)."""
        found: dict[str, dict[str, Any]] = {}
        for station, status in sorted(self._status.items()):
            no_data = status.get("no_data")
            if isinstance(no_data, dict) and isinstance(no_data.get("alert_id"), str):
                entry = found.setdefault(no_data["alert_id"], {**no_data, "stations": []})
                entry["stations"].append(station)
        return list(found.values())

    def flooding_declared(self, station: str) -> bool | None:
        """Whether an officer has declared flooding there; None when not known yet."""
        declared = self._status.get(station, {}).get("flooding_declared")
        return declared if isinstance(declared, bool) else None

    def forecast(self, station: str) -> Forecast | None:
        """The newest forecast of ``station`` the forecast stage published (None: none)."""
        known = self._forecasts.get(station)
        return None if known is None else Forecast.model_validate(known[1].data)

    def publish(self, topic: str, payload: bytes) -> None:
        """QoS 1 on the bus link; kept by the session while the broker is away."""
        self._subscription.publish(topic, payload)

    def snapshot(self, live_filter: LiveFilter) -> list[LiveEvent]:
        """Current state for a new live client: latest readings, alert status, then each
        gauge's newest forecast (a forecast, like a status, is replaced, not replayed)."""
        events = [LiveEvent("reading", r.station, r.kind.value, _reading_data(r))
                  for r in self._latest.values()]
        events += [LiveEvent("status", station, _kind(data), data)
                   for station, data in self._status.items()]
        events += [event for _, event in self._forecasts.values()]
        return [shown for event in events
                if live_filter.matches(event) and (shown := live_filter.shown(event))]

    def handle(self, topic: str, payload: bytes) -> LiveEvent | None:
        """One bus message: remembered, and what the live feed shows of it (or None)."""
        # Tolerant readers: the JSON objects are passed on as the engine wrote them, so a
        # field it adds reaches the dashboard without a change here.
        if topic.startswith(bus.READINGS.prefix):
            reading = Reading.from_json(payload)
            self.remember(reading)
            return LiveEvent("reading", reading.station, reading.kind.value,
                             _reading_data(reading))
        station = topic.rsplit("/", 1)[-1]
        forecast = topic.startswith(bus.FORECASTS.prefix)
        if not payload:  # an emptied retained message: the station has none any more
            (self._forecasts if forecast else self._status).pop(station, None)
            return None
        data = json.loads(payload)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if forecast:
            return self._forecast(station, data)
        if topic.startswith(bus.STATUS.prefix):
            self._status[station] = data
            return LiveEvent("status", station, _kind(data), data)
        return LiveEvent("alert", station, _kind(data), data, EventKey.of_event(data))

    def _forecast(self, station: str, data: dict[str, Any]) -> LiveEvent | None:
        try:
            read = Forecast.model_validate(data)
        except ValidationError as exc:  # a ValueError: counted invalid, never shown
            raise ValueError(f"not a forecast: {exc.error_count()} errors") from exc
        if read.station != station:
            raise ValueError("a forecast published on another station's topic")
        known = self._forecasts.get(station)
        # Retained forecasts come again on a reconnect: an older one never replaces a
        # newer one, here or on the clients' screens.
        if known is not None and read.issued_at < known[0]:
            return None
        event = LiveEvent("forecast", station, FORECAST_KIND, data)
        self._forecasts[station] = (read.issued_at, event)
        return event

    async def start(self, timeout_s: float) -> None:
        await self._subscription.start(timeout_s)

    async def close(self) -> None:
        await self._subscription.close(timeout_s=1.0)

    async def run(self) -> None:
        """Consume the bus until cancelled; a bad message is counted and dropped."""
        while True:
            await self._subscription.wait(1.0)
            messages = self._subscription.drain()
            for message in messages:
                try:
                    event = self.handle(message.topic, message.payload)
                except ValueError:  # JSONDecodeError is one
                    LIVE_MESSAGES.labels("invalid").inc()
                    continue
                LIVE_MESSAGES.labels("accepted").inc()
                if event is not None:
                    self.hub.publish(event)
            # Nothing here needs the broker to redeliver: ack at once.
            self._subscription.ack(messages)
            await asyncio.sleep(0)


def _kind(data: dict[str, Any]) -> str | None:
    """The station's kind as the engine wrote it in an alert event or status."""
    kind = data.get("kind")
    return kind if isinstance(kind, str) else None


def _reading_data(reading: Reading) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(reading.to_json())
    return data
