"""Road sensors: underpass flooding, surface temperature and surface state.

**Weather.** The air temperature is the scenario's ``air_c`` profile (the day-to-day
trend: a cold front is a falling profile) plus a daily cosine of ``daily_amplitude_c``
peaking at ``warmest_hour`` (JST), plus the station's ``temp_offset_c`` (a mountain pass
is colder). Rain means cloud: the daily swing shrinks to 30 % under 2 mm/h or more.
The road surface swings half as much again as the air (sun-warmed asphalt by day,
radiative cooling on clear nights). Precipitation falls as snow when the air is at or
below ``snow_below_c``.

**Ponding.** An underpass is a sump fed by a catchment ``catchment_ratio`` times its
own area and emptied by a pump (``pump_cm_h``) and by gravity drains (a linear
reservoir, ``drain_k``)::

    d(depth_cm)/dt = catchment_ratio * rain_mm_h / 10 - pump_cm_h - depth_cm / drain_k

so the water rises only when the rain outruns the pump, and drains after it. An open
road or a pass has ``catchment_ratio: 0`` and never ponds.

**Surface water, snow and state.** A water film (up to ``FILM_MAX_MM``; rain beyond it
runs off) evaporates faster the warmer the surface; snow accumulates (mm water
equivalent) and melts at a degree-hour rate into the film. The reported
``water_depth_cm`` is the ponded depth plus the film. ``surface_state`` is:

- ``snow`` with snow cover and a surface at or below 0 degC, ``slush`` when it is above;
- ``ice`` with water (film or ponding) on a surface at or below 0 degC, ``wet`` above;
- ``dry`` otherwise.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from floodwatch.simulators.timeline import PositiveDuration, Profile

FILM_MAX_MM = 0.5
WET_FILM_MM = 0.05
SNOW_COVER_MM = 0.3
MELT_MM_PER_DEGREE_H = 0.15


class WeatherSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    air_c: Profile = Profile.constant(15.0)
    daily_amplitude_c: float = Field(default=4.0, ge=0, le=20)
    warmest_hour: float = Field(default=14.0, ge=0, lt=24)
    snow_below_c: float = Field(default=1.0, ge=-5, le=5)


class RoadParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    catchment_ratio: float = Field(default=0.0, ge=0, le=1000)
    pump_cm_h: float = Field(default=4.0, ge=0)
    drain_k: PositiveDuration = 1800.0
    temp_offset_c: float = Field(default=0.0, ge=-30, le=30)
    interval: PositiveDuration | None = None


def cloud_clearness(rain_mm_h: float) -> float:
    """1 under a clear sky, 0.3 under steady rain: how much of the daily swing is left."""
    return 1.0 - 0.7 * min(1.0, rain_mm_h / 2.0)


def air_temperature(weather: WeatherSpec, elapsed_s: float, hour: float,
                    rain_mm_h: float, offset_c: float = 0.0) -> float:
    daily = math.cos(2 * math.pi * (hour - weather.warmest_hour) / 24)
    swing = weather.daily_amplitude_c * cloud_clearness(rain_mm_h) * daily
    return weather.air_c.at(elapsed_s) + offset_c + swing


class RoadSurface:
    """The state of one sensor's stretch of road."""

    def __init__(self, params: RoadParams, weather: WeatherSpec) -> None:
        self.params = params
        self.weather = weather
        self.ponded_cm = 0.0
        self.film_mm = 0.0
        self.snow_mm = 0.0
        self.surface_c = weather.air_c.at(0.0) + params.temp_offset_c

    def step(self, elapsed_s: float, hour: float, rain_mm_h: float, dt_s: float) -> None:
        """Advance by ``dt_s`` ending at ``elapsed_s`` (scenario time), ``hour`` in JST."""
        hours = dt_s / 3600
        air = air_temperature(self.weather, elapsed_s, hour, rain_mm_h,
                              self.params.temp_offset_c)
        daily = math.cos(2 * math.pi * (hour - self.weather.warmest_hour) / 24)
        self.surface_c = air + 0.5 * self.weather.daily_amplitude_c * cloud_clearness(
            rain_mm_h) * daily
        precipitation = rain_mm_h * hours
        liquid = 0.0
        if air <= self.weather.snow_below_c:
            self.snow_mm += precipitation
        else:
            liquid = precipitation
        if self.surface_c > 0 and self.snow_mm > 0:
            melt = min(self.snow_mm, MELT_MM_PER_DEGREE_H * self.surface_c * hours)
            self.snow_mm -= melt
            liquid += melt
        self._pond(rain_mm_h if liquid > 0 else 0.0, hours)
        evaporation = (0.03 + 0.02 * self.surface_c if self.surface_c > 0 else 0.005) * hours
        self.film_mm = min(FILM_MAX_MM, max(0.0, self.film_mm + liquid - evaporation))

    def _pond(self, rain_mm_h: float, hours: float) -> None:
        p = self.params
        inflow = p.catchment_ratio * rain_mm_h / 10
        drain_h = p.drain_k / 3600
        # Euler is enough here: model steps are a minute, drain_k is tens of minutes.
        change = inflow - (p.pump_cm_h if self.ponded_cm > 0 or inflow > 0 else 0.0)
        self.ponded_cm = max(0.0, self.ponded_cm + (change - self.ponded_cm / drain_h) * hours)

    @property
    def water_depth_cm(self) -> float:
        return self.ponded_cm + self.film_mm / 10

    @property
    def state(self) -> str:
        frozen = self.surface_c <= 0.0
        if self.snow_mm >= SNOW_COVER_MM:
            return "snow" if frozen else "slush"
        if self.film_mm >= WET_FILM_MM or self.ponded_cm > 0.05:
            return "ice" if frozen else "wet"
        return "dry"
