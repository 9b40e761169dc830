"""The forecast stage's forecasts as the alert engine reads them (``bus.FORECASTS``).

A tolerant reader of ``bus.ForecastMessage``: only what a forecast warning needs is
required, and keys the forecast stage adds later are ignored, so an older engine keeps
warning while the stages are upgraded one by one (tests/alerts check it against the
contract's model). What it does require it checks hard: a forecast with a point out of
order, a band above its median or a number that is not finite is refused (and
dead-lettered by the processor), never half-read into a warning.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from floodwatch.core import bus

# Float noise of the forecast stage's own arithmetic, far below a gauge's centimetre.
BAND_TOLERANCE_M = 1e-6


class ForecastError(ValueError):
    """A message on bus.FORECASTS that is no forecast we can use; the text says why."""


class _Tolerant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)


class ForecastPoint(_Tolerant):
    lead_min: int = Field(gt=0)
    at: AwareDatetime
    level_m: float  # the median
    low_m: float  # the band's lower bound

    def line(self, bound: Literal["median", "low"]) -> float:
        return self.low_m if bound == "low" else self.level_m


class ForecastInput(_Tolerant):
    """One gauge's forecast: issued on its reading of ``issued_at`` (level ``level_m``)."""

    # Another version could mean something this reader would misread: refused.
    schema_version: Literal[1] = 1
    station: str
    issued_at: AwareDatetime
    # When the stage computed it: the stage re-issues a downstream gauge's forecast on
    # the same reading once its upstream gauge's reading of that tick arrives
    # (forecast/gauges.py), with the same ``issued_at`` and a later ``made_at`` -- a
    # replacement (alerts.forecast.gate). Tolerated absent: then never a replacement.
    made_at: AwareDatetime | None = None
    level_m: float
    method: Literal["model", "trend"]
    points: tuple[ForecastPoint, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> ForecastInput:
        leads = [point.lead_min for point in self.points]
        if leads != sorted(set(leads)):
            raise ValueError("points: lead_min must increase")
        for point in self.points:
            if point.low_m > point.level_m + BAND_TOLERANCE_M:
                raise ValueError(f"points: lead_min {point.lead_min}: low_m above level_m")
        return self


def decode_forecast(topic: str, payload: bytes) -> ForecastInput:
    """The forecast in ``payload``; ForecastError when it cannot be used, or when it
    names another station than its topic (a misrouted forecast warns nobody)."""
    try:
        forecast = ForecastInput.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ForecastError(f"not a forecast: {where}: {first['msg']}") from exc
    expected = bus.FORECASTS.name(station=forecast.station)
    if topic != expected:
        raise ForecastError(f"station {forecast.station!r} on topic {topic!r}")
    return forecast
