"""The faults a simulated device can have, and how a scenario or the command switches them.

| kind            | effect                                                                 |
| --------------- | ---------------------------------------------------------------------- |
| `offline`       | the device is silent; with `backfill: true` it sends what it missed as |
|                 | SenML packs when it comes back (store-and-forward)                     |
| `stuck`         | the measured value (level_m / water_depth_cm) freezes                  |
| `spike`         | one reading's value jumps by `magnitude` (default 3 m / 60 cm)         |
| `drift`         | the value creeps by `magnitude` per hour (default 0.1 m / 2 cm)        |
| `clock_skew`    | the device's `ts` is off by `magnitude` seconds (default -600)         |
| `duplicate`     | the same message is delivered twice                                    |
| `malformed`     | the payload is broken (truncated, quoted number, NaN, epoch ms, junk)  |
| `wrong_station` | the device publishes under a station id that is not in the registry    |

Each fault is switched either by **rate** (per reading: the chance that an episode of
``for`` (default 1h) starts, for offline/stuck/drift/clock_skew; the chance that this
reading is hit, for the others) or by **schedule** (``at``, from the scenario start:
for ``for``, or just the first reading at or after ``at`` for the one-reading kinds).
``stations`` limits it to some devices (default: all).

In a scenario file::

    faults:
      - {kind: offline, stations: [nihonmatsu], at: 20h, for: 2h, backfill: true}
      - {kind: spike, rate: 0.002}

On the command line (repeatable)::

    --fault spike=0.01
    --fault offline:at=20h,for=2h,stations=nihonmatsu+akutsu,backfill=true
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from floodwatch.core.config_files import first_error
from floodwatch.core.registry import StationKind
from floodwatch.simulators.timeline import Duration, PositiveDuration


class FaultKind(StrEnum):
    OFFLINE = "offline"
    STUCK = "stuck"
    SPIKE = "spike"
    DRIFT = "drift"
    CLOCK_SKEW = "clock_skew"
    DUPLICATE = "duplicate"
    MALFORMED = "malformed"
    WRONG_STATION = "wrong_station"


# Faults that last a while once they start, as opposed to hitting single readings.
EPISODIC = frozenset({FaultKind.OFFLINE, FaultKind.STUCK, FaultKind.DRIFT,
                      FaultKind.CLOCK_SKEW})
_MAGNITUDES = {FaultKind.SPIKE, FaultKind.DRIFT, FaultKind.CLOCK_SKEW}
DEFAULT_EPISODE_S = 3600.0
DEFAULT_MAGNITUDE: dict[tuple[FaultKind, StationKind | None], float] = {
    (FaultKind.SPIKE, StationKind.RIVER): 3.0,
    (FaultKind.SPIKE, StationKind.ROAD): 60.0,
    (FaultKind.DRIFT, StationKind.RIVER): 0.1,
    (FaultKind.DRIFT, StationKind.ROAD): 2.0,
    (FaultKind.CLOCK_SKEW, None): -600.0,
}


class FaultSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    kind: FaultKind
    stations: tuple[str, ...] = ()
    rate: float | None = Field(default=None, ge=0, le=1)
    at: Duration | None = None
    for_: PositiveDuration | None = Field(default=None, alias="for")
    magnitude: float | None = None
    backfill: bool = False

    @field_validator("kind", mode="before")
    @classmethod
    def _dashes(cls, value: object) -> object:
        return value.replace("-", "_").lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> FaultSpec:
        if (self.rate is None) == (self.at is None):
            raise ValueError("give either 'rate' (chance per reading) or 'at' (a schedule)")
        if self.backfill and self.kind is not FaultKind.OFFLINE:
            raise ValueError("'backfill' applies to offline only")
        if self.magnitude is not None and self.kind not in _MAGNITUDES:
            raise ValueError(f"'magnitude' does not apply to {self.kind.value}")
        return self

    def applies_to(self, station_id: str) -> bool:
        return not self.stations or station_id in self.stations

    @property
    def episode_s(self) -> float | None:
        """How long one occurrence lasts; None: a single reading."""
        if self.for_ is not None:
            return self.for_
        return DEFAULT_EPISODE_S if self.kind in EPISODIC else None

    def magnitude_for(self, kind: StationKind) -> float:
        if self.magnitude is not None:
            return self.magnitude
        return DEFAULT_MAGNITUDE.get((self.kind, kind), DEFAULT_MAGNITUDE.get(
            (self.kind, None), 0.0))


def parse_fault_option(text: str) -> FaultSpec:
    """``KIND=RATE`` or ``KIND:key=value,...`` (stations joined by ``+``) to a FaultSpec."""
    fields: dict[str, Any]
    head, colon, rest = text.partition(":")
    if not colon and "=" in head:
        kind, _, rate = head.partition("=")
        fields = {"kind": kind, "rate": rate}
    else:
        fields = {"kind": head}
        for item in filter(None, rest.split(",")):
            key, equals, value = item.partition("=")
            if not equals:
                raise ValueError(f"{text!r}: expected key=value, got {item!r}")
            fields[key.strip()] = value.strip()
    if "stations" in fields:
        fields["stations"] = tuple(filter(None, fields["stations"].split("+")))
    for key in ("rate", "magnitude"):
        if key in fields:
            try:
                fields[key] = float(fields[key])
            except ValueError:
                raise ValueError(f"{text!r}: {key} must be a number") from None
    if "backfill" in fields:
        fields["backfill"] = fields["backfill"].lower() in ("1", "true", "yes", "on")
    try:
        return FaultSpec.model_validate(fields)
    except ValidationError as exc:
        raise ValueError(f"{text!r}: {first_error(exc)}") from exc
