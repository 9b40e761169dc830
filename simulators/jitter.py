"""Weather drawn from a seed: each run's rain varies within the bounds its scenario gives.

A scenario describes a storm as written (its track, its timing, its intensity) and how
far a run may stray from it (``jitter``). The run's seed draws one weather inside those
bounds, so different seeds are different storms of the same kind -- what a forecast
must be fitted and scored on -- and the same seed is always the same storm.

- ``timing``: the whole profile (and a storm's whole track) moves earlier or later by
  up to this duration, drawn uniformly from ``[-timing, +timing]``;
- ``intensity``: every mm/h is scaled by ``1 + u``, ``u`` uniform in
  ``[-intensity, +intensity]`` (a fraction, below 1);
- ``track_km`` (storms only): the whole track moves by up to this distance in any
  direction, uniformly over the disc of that radius.

Seed 0 (the default of ``floodwatch simulate``) is the scenario exactly as written: the
centre of every bound, which the scenario's own tests and the demo rely on. Every other
seed draws each storm and each rain area from its own random stream, seeded from
(seed, "weather", kind, position, name), so adding a storm leaves the others' draws alone.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from floodwatch.simulators.devices import random_stream
from floodwatch.simulators.timeline import Duration

KM_PER_DEGREE = 111.195  # along a meridian (6371 km Earth radius)


class Jitter(BaseModel):
    """How far a seed may move a rain area from the scenario as written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timing: Duration = Field(default=0.0, le=24 * 3600)
    intensity: float = Field(default=0.0, ge=0, lt=1)


class StormJitter(Jitter):
    """How far a seed may move a storm: its timing, intensity and track."""

    track_km: float = Field(default=0.0, ge=0, le=500)


@dataclass(frozen=True)
class Draw:
    """One run's deviation from the scenario as written; ``Draw()`` is none at all."""

    shift_s: float = 0.0
    scale: float = 1.0
    north_km: float = 0.0
    east_km: float = 0.0

    def moved(self, lat: float, lon: float) -> tuple[float, float]:
        """A track point moved by this draw's offset."""
        if not (self.north_km or self.east_km):
            return lat, lon
        east_per_degree = KM_PER_DEGREE * max(0.01, math.cos(math.radians(lat)))
        return lat + self.north_km / KM_PER_DEGREE, lon + self.east_km / east_per_degree


AS_WRITTEN = Draw()


def draw(jitter: Jitter, seed: int, kind: str, position: int, name: str) -> Draw:
    """The deviation of the ``position``-th ``kind`` ("storm" or "area") for ``seed``."""
    if seed == 0:
        return AS_WRITTEN
    rng = random_stream(seed, "weather", kind, str(position), name)
    shift_s = jitter.timing * _symmetric(rng)
    scale = 1.0 + jitter.intensity * _symmetric(rng)
    north_km = east_km = 0.0
    if isinstance(jitter, StormJitter):
        bearing = rng.uniform(0.0, 2 * math.pi)
        distance = jitter.track_km * math.sqrt(rng.random())  # uniform over the disc
        north_km, east_km = distance * math.cos(bearing), distance * math.sin(bearing)
    return Draw(shift_s, scale, north_km, east_km)


def _symmetric(rng: random.Random) -> float:
    return rng.uniform(-1.0, 1.0)
