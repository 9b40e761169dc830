"""The device contract's native JSON payloads, as strict pydantic models.

Strict: a number must be a JSON number (not "3.2", not true), finite and in range; a
timestamp must carry its offset. Unknown keys are ignored (and counted by the caller) so
a firmware that adds a field does not blind the service to the water level it also sends.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# Physical ranges (inclusive): anything outside is a broken sensor or a forged message,
# never a reading. Generous on purpose: the alert engine judges plausibility per station.
# Named once here: ingest.fast_payloads checks the very same bounds.
LEVEL_M = (-50.0, 100.0)
RAIN_MM = (0.0, 500.0)
BATTERY_V = (0.0, 60.0)
WATER_DEPTH_CM = (0.0, 1000.0)
SURFACE_TEMP_C = (-60.0, 90.0)
# Epoch seconds between 2000-01-01 and 2100-01-01; milliseconds are a common firmware
# mistake and fall outside, so they are refused rather than stored 50,000 years ahead.
EPOCH_SECONDS = (946_684_800.0, 4_102_444_800.0)

LevelM = Annotated[float, Field(ge=LEVEL_M[0], le=LEVEL_M[1], allow_inf_nan=False)]
RainMm = Annotated[float, Field(ge=RAIN_MM[0], le=RAIN_MM[1], allow_inf_nan=False)]
BatteryV = Annotated[float, Field(ge=BATTERY_V[0], le=BATTERY_V[1], allow_inf_nan=False)]
WaterDepthCm = Annotated[float, Field(ge=WATER_DEPTH_CM[0], le=WATER_DEPTH_CM[1],
                                      allow_inf_nan=False)]
SurfaceTempC = Annotated[float, Field(ge=SURFACE_TEMP_C[0], le=SURFACE_TEMP_C[1],
                                      allow_inf_nan=False)]
SurfaceState = Literal["dry", "wet", "slush", "snow", "ice"]
EpochSeconds = Annotated[float, Field(ge=EPOCH_SECONDS[0], le=EPOCH_SECONDS[1],
                                      allow_inf_nan=False)]

Timestamp = AwareDatetime | EpochSeconds


class _DevicePayload(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    ts: Timestamp | None = None

    def field_values(self) -> dict[str, float | str]:
        """The reading's values, without ts, unset optional fields or unknown keys."""
        # __dict__ holds the declared fields only (extras live apart): fast on the hot path.
        return {
            name: value
            for name, value in self.__dict__.items()
            if value is not None and name != "ts"
        }

    @property
    def unknown_keys(self) -> list[str]:
        return sorted(self.model_extra or {})


class RiverPayload(_DevicePayload):
    level_m: LevelM
    rain_mm: RainMm | None = None
    battery_v: BatteryV | None = None


class RoadPayload(_DevicePayload):
    water_depth_cm: WaterDepthCm | None = None
    surface_temp_c: SurfaceTempC | None = None
    surface_state: SurfaceState | None = None
    battery_v: BatteryV | None = None

    def has_observation(self) -> bool:
        return any(
            value is not None
            for value in (self.water_depth_cm, self.surface_temp_c, self.surface_state)
        )
