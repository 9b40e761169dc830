"""Forecasts in the alert tests: built from the contract's model (bus.ForecastMessage),
encoded as the forecast stage publishes them and read back by the engine's own reader,
so every test also checks the reader against the producer's model."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from floodwatch.alerts.engine import Engine, Outcome
from floodwatch.alerts.forecast_input import ForecastInput, decode_forecast
from floodwatch.alerts.model import AlertType, Event, Transition
from floodwatch.core import bus
from floodwatch.core.readings import format_ts
from tests.alerts.conftest import at, river, road

LEADS = range(10, 190, 10)  # +10 min ... +3 h


def forecast_message(station: str, issued: datetime, level: float, rate_m_per_h: float, *,
                     band_m_per_h: float = 0.0, method: Literal["model", "trend"] = "model",
                     made_s: float = 0.0) -> bus.ForecastMessage:
    """A straight-line forecast from ``level`` at ``issued``: the median rising at
    ``rate_m_per_h``, the band widening by ``band_m_per_h`` either side; made
    ``made_s`` seconds after its reading's time."""
    points = []
    for lead in LEADS:
        hours = lead / 60
        median = round(level + rate_m_per_h * hours, 4)
        spread = round(band_m_per_h * hours, 4)
        points.append(bus.ForecastPointMessage(
            lead_min=lead, at=format_ts(issued + timedelta(minutes=lead)), level_m=median,
            low_m=round(median - spread, 4), high_m=round(median + spread, 4)))
    return bus.ForecastMessage(
        station=station, issued_at=format_ts(issued),
        made_at=format_ts(issued + timedelta(seconds=made_s)),
        level_m=level, method=method, fallback=None if method == "model" else "thin history",
        fitted_at=None, inputs=[bus.ForecastInputMessage(
            name="trend", detail="the gauge's own trend", value=rate_m_per_h, unit="m/h",
            weights=[1.0] * len(points))], points=points, crossings=[])


def forecast(station: str, minutes: float, level: float, rate_m_per_h: float, *,
             band_m_per_h: float = 0.0,
             method: Literal["model", "trend"] = "model", made_s: float = 0.0) -> ForecastInput:
    message = forecast_message(station, at(minutes), level, rate_m_per_h,
                               band_m_per_h=band_m_per_h, method=method, made_s=made_s)
    return decode_forecast(bus.FORECASTS.name(station=station), bus.encode(message))


Step = tuple[float, float, float]  # minutes, level, forecast rate (m/h)


def run(engine: Engine, steps: Iterable[Step], station: str = "g1", *,
        band_m_per_h: float = 0.0, method: Literal["model", "trend"] = "model",
        ) -> tuple[list[Event], list[str | None]]:
    """Each step: a reading, then the forecast issued on it. The forecast warnings'
    events (without renewals), and why each forecast was ignored (None: used)."""
    events: list[Event] = []
    ignored: list[str | None] = []
    for minutes, level, rate in steps:
        events += engine.on_reading(river(station, minutes, level)).events
        outcome: Outcome = engine.on_forecast(forecast(
            station, minutes, level, rate, band_m_per_h=band_m_per_h, method=method))
        ignored.append(outcome.ignored)
        events += outcome.events
    return warnings(events), ignored


def warnings(events: Iterable[Event]) -> list[Event]:
    return [event for event in events if event.alert_type is AlertType.FORECAST
            and event.transition is not Transition.RENEWED]


def told(events: Iterable[Event]) -> list[tuple[str, int, float | str | None]]:
    """(transition, level, minutes) of each forecast warning event."""
    return [(e.transition.value, e.level, e.detail.get("minutes")) for e in events]


def quiet_others(engine: Engine, start: float, end: float) -> list[Event]:
    """g2 and the road station keep reporting: the clock moves on without g1. The
    events (renewals included) this gives."""
    events = []
    minutes = start
    while minutes <= end:
        events += engine.on_reading(river("g2", minutes, 0.5)).events
        events += engine.on_reading(road("u1", minutes, water_depth_cm=0.0,
                                         surface_temp_c=10.0, surface_state="dry")).events
        minutes += 10
    return events
