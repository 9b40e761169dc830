"""Forecasts as the forecast stage publishes them: core.bus.ForecastMessage, retained on
bus.FORECASTS, for API and dashboard tests that need forecasts without running the stage
(a straight rise with a band widening with the lead time, its crossings computed from
the registry's reference levels)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion

from floodwatch.core import bus
from floodwatch.core.readings import format_ts
from floodwatch.core.registry import Station

LEADS_MIN = tuple(range(10, 181, 10))
LEVEL_NAMES = ("standby", "caution", "evacuation", "danger", "flooding")


def rising_forecast(station: Station, issued_at: datetime, level_m: float, *,
                    rise_m_per_h: float, band_m_per_h: float = 0.1,
                    method: str = "model") -> bus.ForecastMessage:
    """A forecast rising ``rise_m_per_h`` from ``level_m`` at ``issued_at``; the band is
    ``band_m_per_h`` either side per hour of lead; crossings where the median first
    reaches each reference level above ``level_m``."""
    points = []
    for lead in LEADS_MIN:
        median = round(level_m + rise_m_per_h * lead / 60, 3)
        half = band_m_per_h * lead / 60
        points.append(bus.ForecastPointMessage(
            lead_min=lead, at=format_ts(issued_at + timedelta(minutes=lead)),
            level_m=median, low_m=round(median - half, 3), high_m=round(median + half, 3)))
    crossings = []
    levels = station.levels_m.model_dump() if station.levels_m else {}
    for number, name in enumerate(LEVEL_NAMES, start=1):
        threshold = levels.get(name)
        if threshold is None or threshold <= level_m:
            continue
        reached = next((p for p in points if p.level_m >= threshold), None)
        if reached is not None:
            crossings.append(bus.ForecastCrossingMessage(
                level=number, level_name=name, at=reached.at, minutes=reached.lead_min))
    trend = method == "trend"
    return bus.ForecastMessage(
        station=station.id, issued_at=format_ts(issued_at),
        made_at=format_ts(issued_at + timedelta(seconds=2)), level_m=level_m,
        method="trend" if trend else "model",
        fallback="thin history: 3 days of readings, 30 needed" if trend else None,
        fitted_at=None if trend else format_ts(issued_at - timedelta(hours=6)),
        inputs=[bus.ForecastInputMessage(
            name="trend", detail=f"{station.id}'s rise over the last 60 min",
            value=rise_m_per_h, unit="m/h", weights=[lead / 60 for lead in LEADS_MIN])],
        points=points, crossings=crossings)


def publish_retained(port: int, messages: Iterable[tuple[str, bytes]]) -> None:
    """Retained at QoS 1, as the forecast stage publishes; waits for every PUBACK."""
    client = Client(CallbackAPIVersion.VERSION2, client_id=f"forecast-{time.monotonic_ns()}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def on_bus(forecast: bus.ForecastMessage) -> tuple[str, bytes]:
    return bus.FORECASTS.name(station=forecast.station), bus.encode(forecast)
