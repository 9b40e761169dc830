"""The rules file's ``forecast`` section (``defaults.river.forecast``, overridable per
station like every river rule): when the forecast stage's forecasts make a forecast
warning (alerts.forecast; docs/alerts.md "Forecast warnings")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ForecastRule(_Rules):
    """Forecast warnings (alerts.forecast, docs/alerts.md "Forecast warnings"): when a
    forecast of the forecast stage crosses a reference level the gauge is below."""

    # The median by default: replayed through this engine on storms never fitted
    # (bench/forecast_warnings.py, docs/benchmarks.md), the lower bound warned 1 of 15
    # evacuation/danger crossings an hour ahead (most 10-40 min), the median 15 of 15.
    bound: Literal["median", "low"] = Field(
        default="median", description="the line that must cross: the median forecast, or "
        "the band's lower bound (fewer false warnings, much less lead time)")
    horizon_s: dict[int, float] = Field(
        default_factory=lambda: {3: 10800.0, 4: 10800.0},
        description="reference level -> warn when it is expected within this many "
        "seconds of the forecast's issue; levels not listed are never warned of")
    trend_horizon_s: float = Field(
        default=3600, gt=0, description="a forecast by the gauge's own trend (method "
        "trend) warns only this far ahead: the rate-of-rise projection covers the trend")
    trend_min_span_s: float = Field(
        default=1200, gt=0, description="a forecast by the gauge's own trend (method "
        "trend) is used only when the engine's rate window for the station spans this "
        "long (its trend fitted over too few minutes: a wobble read as a rise); as the "
        "rate of rise's min_span_s, and no longer than its window_s")
    public: bool = Field(default=False, description="whether residents' channels (Public "
                         "CAP, social media) may carry forecast warnings")
    hold_s: float = Field(default=1800, ge=0, description="forecasts below the level's "
                          "deadband this long (forecast time) before lowering or clearing")
    confirm_forecasts: int = Field(default=1, ge=1, le=10,
                                   description="forecasts over a level before raising it")
    update_shift_s: float = Field(
        default=1800, gt=0, description="an ``updated`` event when the expected time "
        "moves this far from the one last told (earlier or later)")

    @model_validator(mode="after")
    def _levels(self) -> ForecastRule:
        if not self.horizon_s:
            raise ValueError("horizon_s: name at least one level (3 evacuation, 4 danger)")
        for level, seconds in self.horizon_s.items():
            if not 1 <= level <= 5:
                raise ValueError(f"horizon_s.{level}: a reference level is 1 to 5")
            if seconds <= 0:
                raise ValueError(f"horizon_s.{level}: must be more than 0 seconds")
        return self
