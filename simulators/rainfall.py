"""Rainfall over the basin: where and when it rains, in mm/h at each station and over
each river gauge's catchment.

Two kinds of rain add up:

- **Areas**: a hyetograph (a ``Profile`` of mm/h over scenario time) that falls on every
  station an area names, by station id, river or basin; an area naming nothing covers
  every station. Good for fronts and drizzle that cover a region evenly.
- **Storms**: a rain cell moving along a track of ``[time, lat, lon]`` waypoints (linear
  in between), with its centre intensity over time as a profile. At a point ``d`` km
  from the centre it rains ``centre * exp(-d^2 / (2 * radius^2))``: a Gaussian footprint,
  so a typhoon's rain band crosses the basin and upstream gauges get their rain first
  when the track runs upstream to downstream.

Both may carry a ``jitter`` (simulators/jitter.py): the bounds within which the run's
seed moves them; seed 0 is the scenario as written.

**Where it is measured.** A station's own rain gauge measures the rain at its mast (the
registry's coordinates): that is what it reports, and what a road sensor's surface
gets. A river, though, answers to the rain on its whole *local catchment*: a disc of
the catchment's area around its ``centroid`` (simulators/hydrology.py), over which the
rain is averaged with Radon's 7-point rule for a disc (weight 1/4 at the centre, 1/8 at
six points ``sqrt(2/3)`` of the radius out; exact for polynomials of degree 5). So two
gauges 2 km apart whose catchments lie on different sides get different storms, and a
gauge's own rain is a sample of its catchment's rain, not the same thing. Seven points
resolve a footprint whose radius is at least about half the catchment's (the typhoon's
45 km over catchments of 6-17 km: within 0.2 % of the exact mean); a smaller cell is
caught only roughly, and may fall between the points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from pydantic import BaseModel, ConfigDict, Field, model_validator

from floodwatch.core.registry import Station
from floodwatch.simulators.jitter import AS_WRITTEN, KM_PER_DEGREE, Draw, Jitter, StormJitter, draw
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
    jitter: Jitter = Jitter()

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
    jitter: StormJitter = StormJitter()

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

    def mm_h_at(self, elapsed_s: float, lat: float, lon: float,
                how: Draw = AS_WRITTEN) -> float:
        """The rain at (lat, lon), for the run whose weather deviates by ``how``."""
        cell = self.cell(elapsed_s, how)
        return 0.0 if cell is None else _footprint(self.radius_km, *cell, lat, lon)

    def cell(self, elapsed_s: float, how: Draw = AS_WRITTEN
             ) -> tuple[float, tuple[float, float]] | None:
        """(centre mm/h, centre) at a time, or None while it does not rain."""
        written_s = elapsed_s - how.shift_s
        peak = self.mm_h.at(written_s) * how.scale
        if peak <= 0:
            return None
        return peak, how.moved(*self.centre(written_s))


def _footprint(radius_km: float, peak: float, centre: tuple[float, float], lat: float,
               lon: float) -> float:
    distance = distance_km((lat, lon), centre)
    return peak * math.exp(-0.5 * (distance / radius_km) ** 2)


class RainSpec(_Frozen):
    areas: tuple[RainArea, ...] = ()
    storms: tuple[Storm, ...] = ()


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Catchment:
    """A river gauge's local catchment, as a disc of its area around its centroid."""

    station_id: str
    centroid: tuple[float, float]
    area_km2: float

    def sample_points(self) -> list[tuple[float, float, float]]:
        """(weight, lat, lon) of Radon's 7-point rule over the disc."""
        lat, lon = self.centroid
        ring_km = math.sqrt(2 / 3) * math.sqrt(self.area_km2 / math.pi)
        points = [(0.25, lat, lon)]
        for sixth in range(6):
            bearing = math.pi / 3 * sixth
            east_per_degree = KM_PER_DEGREE * math.cos(math.radians(lat))
            points.append((0.125, lat + ring_km * math.cos(bearing) / KM_PER_DEGREE,
                           lon + ring_km * math.sin(bearing) / east_per_degree))
        return points


class RainField:
    """Rain intensity (mm/h) at each of ``stations`` (by index) and over each of
    ``catchments`` (by station id), at a scenario time, for the weather of ``seed``."""

    def __init__(self, spec: RainSpec, stations: Sequence[Station], seed: int = 0,
                 catchments: Sequence[Catchment] = ()) -> None:
        self._storms = [(storm, draw(storm.jitter, seed, "storm", position, storm.name))
                        for position, storm in enumerate(spec.storms)]
        area_draws = [(area, draw(area.jitter, seed, "area", position, area.name))
                      for position, area in enumerate(spec.areas)]
        self._points = [(s.location.lat, s.location.lon) for s in stations]
        # Which areas cover which station never changes: resolve it once.
        self._areas = [
            tuple((area.mm_h, how) for area, how in area_draws if area.covers(station))
            for station in stations
        ]
        # A catchment gets the rain areas of its gauge (areas name stations, rivers and
        # basins), and the storms over its own ground.
        areas_of = {station.id: areas for station, areas in zip(stations, self._areas,
                                                                 strict=True)}
        self._catchments = [(c.station_id, areas_of.get(c.station_id, ()), c.sample_points())
                            for c in catchments]

    def mm_h(self, index: int, elapsed_s: float) -> float:
        """The rain at the station's own mast."""
        lat, lon = self._points[index]
        return max(0.0, _areas_mm_h(self._areas[index], elapsed_s)
                   + self._storms_mm_h(elapsed_s, lat, lon))

    def all_mm_h(self, elapsed_s: float) -> list[float]:
        cells = self._cells(elapsed_s)
        return [max(0.0, _areas_mm_h(areas, elapsed_s) + sum(
                    _footprint(radius_km, peak, centre, lat, lon)
                    for radius_km, (peak, centre) in cells))
                for (lat, lon), areas in zip(self._points, self._areas, strict=True)]

    def catchments_mm_h(self, elapsed_s: float) -> dict[str, float]:
        """The mean rain over each catchment."""
        cells = self._cells(elapsed_s)
        return {
            station_id: max(0.0, _areas_mm_h(areas, elapsed_s) + sum(
                weight * _footprint(radius_km, peak, centre, lat, lon)
                for weight, lat, lon in points for radius_km, (peak, centre) in cells))
            for station_id, areas, points in self._catchments
        }

    def _cells(self, elapsed_s: float) -> list[tuple[float, tuple[float, tuple[float, float]]]]:
        """(radius, (centre mm/h, centre)) of every storm raining now: once per step."""
        return [(storm.radius_km, cell) for storm, how in self._storms
                if (cell := storm.cell(elapsed_s, how)) is not None]

    def _storms_mm_h(self, elapsed_s: float, lat: float, lon: float) -> float:
        return sum(storm.mm_h_at(elapsed_s, lat, lon, how) for storm, how in self._storms)


def _areas_mm_h(areas: Sequence[tuple[Profile, Draw]], elapsed_s: float) -> float:
    return sum(profile.at(elapsed_s - how.shift_s) * how.scale for profile, how in areas)
