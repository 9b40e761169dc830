"""The instruments: what a field device reads off the modelled world, with sensor noise.

- **Water level**: the modelled stage plus a little water-surface noise (sd 4 mm),
  rounded to the gauge's 1 cm resolution, so it flickers by a centimetre now and then.
- **Rain**: a tipping-bucket gauge of 0.5 mm per tip with its own catch efficiency
  (95-105 %). It reports the tips counted since its last report; the part of a tip not
  yet filled carries over, as in the real bucket.
- **Battery**: a solar-charged 12 V lead-acid pack: about 12.6-12.7 V at night, up to
  13.0 V while charging around midday, less under rain clouds.
- **Road sensor**: water depth at 1 mm resolution (0.1 cm), surface temperature at
  0.1 degC (sd 0.1 degC noise), and the surface state the road model derives.

Each device draws from its own random stream, seeded from (seed, station), so one
device's readings never depend on how many other devices there are.
"""

from __future__ import annotations

import math
import random
from datetime import datetime

from floodwatch.core.registry import Station, StationKind
from floodwatch.simulators.messages import FieldValue, Observation
from floodwatch.simulators.roads import RoadSurface, cloud_clearness
from floodwatch.simulators.timeline import local_hour

TIP_MM = 0.5
LEVEL_NOISE_M = 0.004
TEMP_NOISE_C = 0.1


def random_stream(seed: int, *names: str) -> random.Random:
    """An independent, reproducible random stream for one purpose of one device."""
    # Seeding from text is stable across runs and platforms (unlike hash()).
    return random.Random("/".join((str(seed), *names)))  # noqa: S311 - not cryptography


def battery_voltage(moment: datetime, rain_mm_h: float, offset: float,
                    rng: random.Random) -> float:
    hour = local_hour(moment)
    daylight = max(0.0, math.sin(math.pi * (hour - 6) / 12))
    volts = 12.65 + 0.3 * daylight * cloud_clearness(rain_mm_h) + offset
    return round(min(13.0, max(12.6, volts + rng.gauss(0, 0.01))), 2)


class RiverDevice:
    """A water-level gauge with a tipping-bucket rain gauge on the same mast."""

    def __init__(self, station: Station, seed: int) -> None:
        self.station = station
        self._rng = random_stream(seed, station.id, "sensor")
        self._catch = self._rng.uniform(0.95, 1.05)
        self._battery_offset = self._rng.uniform(-0.04, 0.04)
        self._bucket_mm = 0.0

    def collect(self, rain_mm: float) -> None:
        self._bucket_mm += rain_mm * self._catch

    def observe(self, moment: datetime, stage_m: float, rain_mm_h: float) -> Observation:
        tips = math.floor(self._bucket_mm / TIP_MM + 1e-9)
        self._bucket_mm = max(0.0, self._bucket_mm - tips * TIP_MM)
        level = round(stage_m + self._rng.gauss(0, LEVEL_NOISE_M), 2)
        values: dict[str, FieldValue] = {
            "level_m": min(100.0, max(-50.0, level)),
            "rain_mm": round(tips * TIP_MM, 1),
            "battery_v": battery_voltage(moment, rain_mm_h, self._battery_offset, self._rng),
        }
        return Observation(self.station.id, StationKind.RIVER, moment, values)


class RoadDevice:
    """A road-weather sensor: water depth, surface temperature, surface state."""

    def __init__(self, station: Station, seed: int) -> None:
        self.station = station
        self._rng = random_stream(seed, station.id, "sensor")

    def observe(self, moment: datetime, surface: RoadSurface) -> Observation:
        depth = surface.water_depth_cm
        if depth > 0.05:  # an ultrasonic echo off a dry road is steady; off water it is not
            depth += self._rng.gauss(0, 0.1)
        temperature = surface.surface_c + self._rng.gauss(0, TEMP_NOISE_C)
        values: dict[str, FieldValue] = {
            "water_depth_cm": round(min(1000.0, max(0.0, depth)), 1),
            "surface_temp_c": round(min(90.0, max(-60.0, temperature)), 1) + 0.0,  # never -0.0
            "surface_state": surface.state,
        }
        return Observation(self.station.id, StationKind.ROAD, moment, values)
