"""The forecast stage's message: a river gauge's level forecast, with its points, its
inputs and when it crosses a reference level (docs/forecast.md).

Part of the bus contract: consumers import these from floodwatch.core.bus.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from floodwatch.core.message_base import _Message


class ForecastPointMessage(BaseModel):
    """The forecast level at one lead time: the median and the band around it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    lead_min: int  # 10, 20, ... 180
    at: str  # issued_at + lead, format_ts
    level_m: float  # the median forecast
    low_m: float  # the band's lower bound (docs/forecast.md says which quantile)
    high_m: float  # the band's upper bound


class ForecastInputMessage(BaseModel):
    """One input of the forecast and what it weighs, so an officer can see why the
    forecast says what it says (no black box)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str  # "trend", "upstream:akutsu", "rain:fushiguro", ...
    detail: str  # one line, e.g. "akutsu's rise over the last 60 min, 80 min travel"
    value: float  # the input's value at issue time, in its unit
    unit: str  # "m", "m/h", "mm", ...
    weights: list[float]  # per point (the same order as ``points``): metres per unit


class ForecastCrossingMessage(BaseModel):
    """When the median forecast first reaches a reference level the gauge is below."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    level: int  # the river alert level: 1 standby ... 4 danger, 5 flooding
    level_name: str  # "danger"
    at: str  # format_ts
    minutes: int  # from issued_at


class ForecastMessage(_Message):
    """A river gauge's level forecast, issued on one of its readings (bus.FORECASTS)."""

    station: str
    issued_at: str  # the time of the reading it was issued on, format_ts
    made_at: str  # when the forecast stage computed it (wall clock), format_ts
    level_m: float  # the level of that reading: where every point starts from
    # "model": the fitted per-gauge model; "trend": the gauge's own trend, with the
    # reason in ``fallback`` (thin history, an input missing or flagged, ...).
    method: Literal["model", "trend"]
    fallback: str | None = None
    fitted_at: str | None = None  # when the model was fitted, format_ts
    inputs: list[ForecastInputMessage]
    points: list[ForecastPointMessage]
    crossings: list[ForecastCrossingMessage]
