"""From a river's flow to its water level: the gauge's rating curve and its levee crest.

**Rating curve.** Discharge becomes water level through the H-Q rating curve that Japanese
river offices use, ``Q = a * (H - h0)^2``, i.e. ``H = h0 + sqrt(Q / a)``. It is given
by ``zero_flow_m`` (``h0``, the stage of zero flow) and ``danger_flow_m3s`` (the flow
at which the stage reaches the station's danger level), so a scenario tunes a gauge
in the registry's own terms. Defaults: ``h0 = standby - (caution - standby)`` and a
danger flow of 1 m^3/s per km^2 of total upstream catchment.

**Levees.** The river holds at most the flow of ``bank_full_m + overtopping_m``
(default: the registry's flooding level, or ``danger + (danger - caution)`` where it
has none; and 0.3 m of water over the crest). What comes beyond spills onto the
floodplain and is lost to the river (``spilled_m3``): the stage flattens at the cap
and the stations downstream see less than the upstream peak. (The gauge's reading
adds its few millimetres of noise to the capped stage.)
"""

from __future__ import annotations

import math

from floodwatch.core.registry import ReferenceLevels, Station


class RatingCurve:
    """``H = h0 + sqrt(Q / a)``: the H-Q formula ``Q = a (H - h0)^2``."""

    def __init__(self, zero_flow_m: float, a: float) -> None:
        self.zero_flow_m = zero_flow_m
        self.a = a

    @classmethod
    def through(cls, zero_flow_m: float, stage_m: float, flow_m3s: float) -> RatingCurve:
        if stage_m <= zero_flow_m:
            raise ValueError(f"zero_flow_m {zero_flow_m} must be below the danger level "
                             f"{stage_m}")
        return cls(zero_flow_m, flow_m3s / (stage_m - zero_flow_m) ** 2)

    def stage(self, flow_m3s: float) -> float:
        return self.zero_flow_m + math.sqrt(max(0.0, flow_m3s) / self.a)

    def flow(self, stage_m: float) -> float:
        return self.a * max(0.0, stage_m - self.zero_flow_m) ** 2


def rating_curve(station: Station, zero_flow_m: float | None, danger_flow_m3s: float | None,
                 total_area_km2: float) -> RatingCurve:
    """The station's curve through its danger level at ``danger_flow_m3s``."""
    levels = _levels(station)
    zero = zero_flow_m
    if zero is None:
        zero = levels.standby - (levels.caution - levels.standby)
    flow = danger_flow_m3s or 1.0 * total_area_km2
    try:
        return RatingCurve.through(zero, levels.danger, flow)
    except ValueError as exc:
        raise ValueError(f"{station.id}: {exc}") from exc


def levee_capacity(station: Station, rating: RatingCurve, bank_full_m: float | None,
                   overtopping_m: float) -> float:
    """The most the river holds (m^3/s): the flow at the crest plus ``overtopping_m``."""
    levels = _levels(station)
    if bank_full_m is None:
        bank_full_m = (levels.flooding if levels.flooding is not None
                       else levels.danger + (levels.danger - levels.caution))
    crest = bank_full_m + overtopping_m
    if crest <= rating.zero_flow_m:
        raise ValueError(f"{station.id}: bank_full_m + overtopping_m ({crest:g} m) must "
                         f"be above the stage of zero flow ({rating.zero_flow_m:g} m)")
    return rating.flow(crest)


def _levels(station: Station) -> ReferenceLevels:
    levels = station.levels_m
    assert levels is not None  # the registry guarantees levels for river stations
    return levels
