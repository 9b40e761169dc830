"""Road rules: underpass flooding from water depth, icing from surface temperature and state.

Flooding: level 1 caution at ``caution_cm``, level 2 close-the-road at ``close_cm``.
Icing: level 1 when a wet/slushy/snowy surface is at or below ``temp_c``; level 2 when
the sensor reports ice. Both leave a level only after ``hold_s`` below its deadband.
"""

from __future__ import annotations

from datetime import datetime

from floodwatch.alerts.machine import Detail, Step, evaluate
from floodwatch.alerts.model import AlertType, Cause
from floodwatch.alerts.rules import FloodingRule, IcingRule


def evaluate_flooding(step: Step, rule: FloodingRule, depth_cm: float, at: datetime,
                      cause: Cause, *, readings_to_confirm: int) -> None:
    bands = ((1, rule.caution_cm), (2, rule.close_cm))
    raw = max((level for level, cm in bands if depth_cm >= cm), default=0)
    sustain = max((level for level, cm in bands if depth_cm >= cm - rule.deadband_cm),
                  default=0)
    by_level = dict(bands)

    def detail(level: int) -> Detail:
        return {"water_depth_cm": depth_cm, "threshold_cm": by_level.get(level)}

    evaluate(step, AlertType.ROAD_FLOODING, raw=raw, sustain=sustain, at=at, cause=cause,
             hold_s=rule.hold_s, confirm=1, readings_to_confirm=readings_to_confirm,
             rule=AlertType.ROAD_FLOODING.value, detail=detail)


def evaluate_icing(step: Step, rule: IcingRule, temp_c: float, surface: str, *,
                   at: datetime, cause: Cause, readings_to_confirm: int) -> None:
    icy = surface in rule.ice_states
    wet = surface in rule.wet_states
    raw = 2 if icy else 1 if wet and temp_c <= rule.temp_c else 0
    sustain = 2 if icy else 1 if (wet and temp_c <= rule.temp_c + rule.deadband_c) else 0

    def detail(_level: int) -> Detail:
        return {"surface_temp_c": temp_c, "surface_state": surface,
                "threshold_c": rule.temp_c}

    evaluate(step, AlertType.ROAD_ICING, raw=raw, sustain=sustain, at=at, cause=cause,
             hold_s=rule.hold_s, confirm=1, readings_to_confirm=readings_to_confirm,
             rule=AlertType.ROAD_ICING.value, detail=detail)
