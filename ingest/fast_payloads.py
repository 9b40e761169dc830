"""The accept path for native JSON payloads: decoded and checked in one pass by msgspec.

Why a second decoder for one contract: the pydantic models (ingest.payloads) give the
rejection reasons and the unknown keys that the dead-letter topic and the metrics report,
and they are the reference. But nearly every message in a storm is valid, and on
ingest's hot path pydantic with the Python around it was the largest share of ingest's
CPU per reading (4.3 of ~21 us); msgspec decodes and checks a valid payload in 0.4 us.
So msgspec answers only "valid, and nothing unknown in it": every message it refuses --
invalid, or carrying a key it does not know -- goes to the pydantic path, which decides.
The bounds are ingest.payloads' own constants, and a property test
(tests/ingest/test_fast_payloads.py) keeps the two in agreement.

A timestamp with more than six fractional digits is left to pydantic too: msgspec rounds
it to the microsecond where pydantic truncates (.9999999 would move to the next second).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import msgspec

from floodwatch.core.registry import StationKind
from floodwatch.ingest.payloads import (
    BATTERY_V,
    EPOCH_SECONDS,
    LEVEL_M,
    RAIN_MM,
    SURFACE_TEMP_C,
    WATER_DEPTH_CM,
    SurfaceState,  # a plain Literal: msgspec reads it as pydantic does
)

# Bounds make msgspec refuse NaN and infinities too (no JSON number decodes to NaN, and
# an overflowing one such as 1e999 is refused as out of range).
LevelM = Annotated[float, msgspec.Meta(ge=LEVEL_M[0], le=LEVEL_M[1])]
RainMm = Annotated[float, msgspec.Meta(ge=RAIN_MM[0], le=RAIN_MM[1])]
BatteryV = Annotated[float, msgspec.Meta(ge=BATTERY_V[0], le=BATTERY_V[1])]
WaterDepthCm = Annotated[float, msgspec.Meta(ge=WATER_DEPTH_CM[0], le=WATER_DEPTH_CM[1])]
SurfaceTempC = Annotated[float, msgspec.Meta(ge=SURFACE_TEMP_C[0], le=SURFACE_TEMP_C[1])]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
EpochSeconds = Annotated[float, msgspec.Meta(ge=EPOCH_SECONDS[0], le=EPOCH_SECONDS[1])]


class FastRiver(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    level_m: LevelM
    ts: AwareDatetime | EpochSeconds | None = None
    rain_mm: RainMm | None = None
    battery_v: BatteryV | None = None

    def values(self) -> dict[str, float | str]:
        # In ingest.payloads' field order, so the stored line and bus message are the
        # same whichever path accepted the payload.
        values: dict[str, float | str] = {"level_m": self.level_m}
        if self.rain_mm is not None:
            values["rain_mm"] = self.rain_mm
        if self.battery_v is not None:
            values["battery_v"] = self.battery_v
        return values


class FastRoad(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    ts: AwareDatetime | EpochSeconds | None = None
    water_depth_cm: WaterDepthCm | None = None
    surface_temp_c: SurfaceTempC | None = None
    surface_state: SurfaceState | None = None
    battery_v: BatteryV | None = None

    def values(self) -> dict[str, float | str]:
        return {name: value for name, value in (
            ("water_depth_cm", self.water_depth_cm), ("surface_temp_c", self.surface_temp_c),
            ("surface_state", self.surface_state), ("battery_v", self.battery_v),
        ) if value is not None}


FastPayload = FastRiver | FastRoad

# Seconds with more than six fractional digits, as in "12:00:00.1234567" (a compact
# "level_m":12.3456789 matches too, and merely takes the pydantic path).
_BEYOND_MICROSECONDS = re.compile(rb":\d\d[.,]\d{7}")

_DECODERS: dict[StationKind, msgspec.json.Decoder[FastRiver] | msgspec.json.Decoder[FastRoad]]
_DECODERS = {
    StationKind.RIVER: msgspec.json.Decoder(FastRiver),
    StationKind.ROAD: msgspec.json.Decoder(FastRoad),
}


def decode_valid(kind: StationKind, body: bytes) -> FastPayload | None:
    """The payload if it is valid and holds only known keys; None means "ask pydantic"."""
    try:
        payload = _DECODERS[kind].decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    # A road reading needs an observation (ingest.validate says which): pydantic decides.
    if type(payload) is FastRoad and (payload.water_depth_cm is None
                                      and payload.surface_temp_c is None
                                      and payload.surface_state is None):
        return None
    if type(payload.ts) is datetime and _BEYOND_MICROSECONDS.search(body):
        return None
    return payload
