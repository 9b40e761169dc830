"""Rainfall over the basin: where and when it rains, in mm/h at each station.

Two kinds of rain add up at a station:

- **Areas**: a hyetograph (a ``Profile`` of mm/h over scenario time) that falls on every
  station an area names, by station id, river or basin; an area naming nothing covers
  every station. Good for fronts and drizzle that cover a region evenly.
- **Storms**: a rain cell moving along a track of ``[time, lat, lon]`` waypoints (linear
  in between), with its centre intensity over time as a profile. At a station ``d`` km
  from the centre it rains ``centre * exp(-d^2 / (2 * radius^2))``: a Gaussian footprint,
  so a typhoon's rain band crosses the basin and upstream gauges get their rain first
  when the track runs upstream to downstream.

Stations are points (the registry's coordinates); the gauge's own rain and the rain on
its catchment are taken to be the same, which is the usual lumped-model simplification.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

from pydantic import BaseModel, ConfigDict, Field, model_validator

from floodwatch.core.registry import Station
from floodwatch.simulators.timeline import Duration, Profile

EARTH_RADIUS_KM = 6371.0


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RainArea(_Frozen):
    """Rain falling evenly on the stations it names (all, when it names none)."""

    name: str = Field(min_length=1)
    stations: tuple[str, ...] = ()
    rivers: tuple[str, ...] = ()
    basins: tuple[str, ...] = ()
    mm_h: Profile

    def covers(self, station: Station) -> bool:
        if not (self.stations or self.rivers or self.basins):
            return True
        return (
            station.id in self.stations
            or (station.river is not None and station.river in self.rivers)
            or station.basin in self.basins
        )


class Storm(_Frozen):
    """A rain cell with a Gaussian footprint moving along a track."""

    name: str = Field(min_length=1)
    radius_km: float = Field(gt=0, le=2000)
    track: tuple[tuple[Duration, float, float], ...] = Field(
        min_length=1, description="[time, lat, lon] waypoints of the centre"
    )
    mm_h: Profile = Field(description="intensity at the centre over time")

    @model_validator(mode="after")
    def _track(self) -> Storm:
        times = [time for time, _, _ in self.track]
        if any(later <= earlier for earlier, later in pairwise(times)):
            raise ValueError("track times must increase")
        for _, lat, lon in self.track:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError(f"track point ({lat}, {lon}) is not a latitude, longitude")
        return self

    def centre(self, elapsed_s: float) -> tuple[float, float]:
        track = self.track
        if elapsed_s <= track[0][0]:
            return track[0][1], track[0][2]
        for (t0, lat0, lon0), (t1, lat1, lon1) in pairwise(track):
            if elapsed_s <= t1:
                share = (elapsed_s - t0) / (t1 - t0)
                return lat0 + (lat1 - lat0) * share, lon0 + (lon1 - lon0) * share
        return track[-1][1], track[-1][2]

    def mm_h_at(self, elapsed_s: float, lat: float, lon: float) -> float:
        peak = self.mm_h.at(elapsed_s)
        if peak <= 0:
            return 0.0
        distance = distance_km((lat, lon), self.centre(elapsed_s))
        return peak * math.exp(-0.5 * (distance / self.radius_km) ** 2)


class RainSpec(_Frozen):
    areas: tuple[RainArea, ...] = ()
    storms: tuple[Storm, ...] = ()


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


class RainField:
    """Rain intensity (mm/h) at each of ``stations``, by index, at a scenario time."""

    def __init__(self, spec: RainSpec, stations: Sequence[Station]) -> None:
        self._storms = spec.storms
        self._points = [(s.location.lat, s.location.lon) for s in stations]
        # Which areas cover which station never changes: resolve it once.
        self._areas = [
            tuple(area.mm_h for area in spec.areas if area.covers(station))
            for station in stations
        ]

    def mm_h(self, index: int, elapsed_s: float) -> float:
        rain = sum(profile.at(elapsed_s) for profile in self._areas[index])
        lat, lon = self._points[index]
        rain += sum(storm.mm_h_at(elapsed_s, lat, lon) for storm in self._storms)
        return max(0.0, rain)

    def all_mm_h(self, elapsed_s: float) -> list[float]:
        return [self.mm_h(index, elapsed_s) for index in range(len(self._points))]
