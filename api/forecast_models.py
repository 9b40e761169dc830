"""The API's reader of the forecast stage's bus message (core.bus.ForecastMessage), and
the answer of ``GET /api/v1/stations/{id}/forecast``.

A tolerant reader, like the API's readers of readings and status: a field the forecast
stage adds is ignored here (and still passed on in the live feed as published), so the
stages can be upgraded one at a time. It checks what the dashboard draws from: times
with an offset, finite numbers (a NaN would reach JSON as null), and a known
``schema_version`` (a version 2 may mean something else by the same names: dropped, not
guessed at). tests/api/test_forecasts.py publishes messages built from the core model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from floodwatch.api.models import EXAMPLE_TS, UtcTime

# Ignore what the producer adds; refuse NaN and infinities (JSON has no such numbers).
_TOLERANT = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)


class ForecastPoint(BaseModel):
    model_config = _TOLERANT
    lead_min: int = Field(description="Minutes after issued_at: 10, 20, ... 180.")
    at: UtcTime
    level_m: float = Field(description="The median forecast level.")
    low_m: float = Field(description="The band's lower bound (docs/forecast.md).")
    high_m: float = Field(description="The band's upper bound.")


class ForecastInput(BaseModel):
    model_config = _TOLERANT
    name: str = Field(examples=["upstream:akutsu"])
    detail: str = Field(description="One line saying what the input is.")
    value: float = Field(description="The input's value at issue time, in ``unit``.")
    unit: str = Field(examples=["m/h"])
    weights: list[float] = Field(description="Per point (the order of ``points``): "
                                 "metres of forecast level per unit of the input.")


class ForecastCrossing(BaseModel):
    model_config = _TOLERANT
    level: int = Field(ge=1, le=5, description="The reference level: 1 standby ... "
                       "4 danger, 5 flooding.")
    level_name: str = Field(examples=["danger"])
    at: UtcTime = Field(description="When the median forecast first reaches it.")
    minutes: int = Field(description="From issued_at.")


class Forecast(BaseModel):
    """A river gauge's level forecast as the forecast stage published it (docs/forecast.md)."""

    model_config = _TOLERANT
    schema_version: Literal[1] = 1
    station: str
    issued_at: UtcTime = Field(description="The time of the reading it was issued on.")
    made_at: UtcTime = Field(description="When the forecast stage computed it.")
    level_m: float = Field(description="That reading's level: where the points start.")
    method: str = Field(description="'model' (the gauge's fitted model) or 'trend' (its "
                        "own trend only; ``fallback`` says why).", examples=["model"])
    fallback: str | None = None
    fitted_at: UtcTime | None = None
    inputs: list[ForecastInput]
    points: list[ForecastPoint]
    crossings: list[ForecastCrossing] = Field(description="Reference levels above the "
                                              "current one the median reaches, first first.")


StaleReason = Literal["newer_reading", "station_stale"]


class StationForecast(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "station": "sukagawa", "current": True, "stale_reason": None,
        "latest_reading_at": EXAMPLE_TS,
        "forecast": {
            "schema_version": 1, "station": "sukagawa", "issued_at": EXAMPLE_TS,
            "made_at": "2026-11-28T01:00:00.250000Z", "level_m": 4.1, "method": "model",
            "fallback": None, "fitted_at": "2026-11-27T18:00:00Z",
            "inputs": [{"name": "upstream:akutsu", "detail": "akutsu's rise over the "
                        "last 60 min, 80 min travel", "value": 0.42, "unit": "m",
                        "weights": [0.1, 0.2]}],
            "points": [{"lead_min": 10, "at": "2026-11-28T01:10:00Z", "level_m": 4.15,
                        "low_m": 4.1, "high_m": 4.2},
                       {"lead_min": 20, "at": "2026-11-28T01:20:00Z", "level_m": 4.2,
                        "low_m": 4.12, "high_m": 4.3}],
            "crossings": [{"level": 3, "level_name": "evacuation",
                           "at": "2026-11-28T02:30:00Z", "minutes": 90}]},
    }]})

    station: str
    current: bool = Field(description="False when the forecast was issued before the "
                          "station's newest reading, or the station is stale: it is not "
                          "what the river is expected to do now.")
    stale_reason: StaleReason | None = Field(description=(
        "Why it is not current: 'newer_reading' (a reading came after it and no newer "
        "forecast did), 'station_stale' (no reading for api_stale_factor x interval_s); "
        "null when current."))
    latest_reading_at: UtcTime | None = Field(
        description="The station's newest reading (bus or InfluxDB) it was compared with.")
    forecast: Forecast
