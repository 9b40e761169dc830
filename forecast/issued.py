"""A forecast as issued: its points, inputs and crossings, and its bus message.

``Forecaster.forecast`` (forecast/forecaster.py) makes them; ``Forecast.to_message``
renders one as the contract's ``ForecastMessage`` (core/bus.py, docs/forecast.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from floodwatch.core import bus
from floodwatch.core.readings import format_ts
from floodwatch.core.registry import Station


@dataclass(frozen=True, slots=True)
class ForecastPoint:
    lead_min: int
    level_m: float  # the median
    low_m: float
    high_m: float


@dataclass(frozen=True, slots=True)
class ForecastInput:
    name: str
    detail: str
    value: float
    unit: str
    weights: tuple[float, ...]  # per point: metres of change per unit of the input


@dataclass(frozen=True, slots=True)
class Crossing:
    level: int
    level_name: str
    at: datetime
    minutes: int


@dataclass(frozen=True)
class Forecast:
    station: str
    issued_at: datetime
    level_m: float
    method: str  # "model" | "trend"
    fallback: str | None
    fitted_at: datetime | None
    inputs: tuple[ForecastInput, ...]
    points: tuple[ForecastPoint, ...]
    crossings: tuple[Crossing, ...]

    def to_message(self, station: Station, *, made_at: datetime) -> bus.ForecastMessage:
        if station.id != self.station:
            raise ValueError(f"forecast of {self.station} rendered for {station.id}")
        return bus.ForecastMessage(
            station=self.station, issued_at=format_ts(self.issued_at),
            made_at=format_ts(made_at), level_m=self.level_m,
            method="model" if self.method == "model" else "trend", fallback=self.fallback,
            fitted_at=format_ts(self.fitted_at) if self.fitted_at is not None else None,
            inputs=[bus.ForecastInputMessage(name=i.name, detail=i.detail, value=i.value,
                                             unit=i.unit, weights=list(i.weights))
                    for i in self.inputs],
            points=[bus.ForecastPointMessage(
                lead_min=p.lead_min, at=format_ts(self.issued_at + timedelta(minutes=p.lead_min)),
                level_m=p.level_m, low_m=p.low_m, high_m=p.high_m) for p in self.points],
            crossings=[bus.ForecastCrossingMessage(level=c.level, level_name=c.level_name,
                                                   at=format_ts(c.at), minutes=c.minutes)
                       for c in self.crossings])
