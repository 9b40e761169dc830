"""The hook for a rainfall nowcast: rain expected over a gauge's catchment ahead.

A nowcast (radar extrapolation, JMA's 降水短時間予報, a private service) would tell the
forecast about rain that has not fallen yet, which no gauge can. floodwatch implements
none against an external service: the hook is here so one can be wired in without
touching the model. ``Forecaster(..., nowcast=None)`` is the default; docs/forecast.md
says how a nowcast's rain enters a forecast.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from floodwatch.core.registry import Station


class RainNowcast(Protocol):
    def expected_rain_mm(self, station: Station, horizon: timedelta) -> float | None:
        """Rain expected at ``station`` over the next ``horizon``, in mm; None when the
        nowcast has nothing for it (the forecast then goes on without)."""
        ...
