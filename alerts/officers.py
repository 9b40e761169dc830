"""What an officer's command does to a station's alerts (alerts.engine.on_command).

- ``acknowledge``: an officer has seen an open alert (an ``acknowledged`` event, for
  staff); a higher level lapses it again (alerts.machine).
- ``flooding``: an officer declares 氾濫発生 (the river alert goes to the flooding level
  at once, confirmed by their word) or ends the declaration (the alert falls, without
  a hold time, to what the last reading still sustains). A command that changes no
  level is answered by an acknowledgement of the river alert.

Both raise CommandRejected with the reason when they do not apply.
"""

from __future__ import annotations

from datetime import datetime

from floodwatch.alerts.commands import CommandRejected
from floodwatch.alerts.machine import Step
from floodwatch.alerts.model import FLOODING_LEVEL, AlertType, Cause, Transition
from floodwatch.alerts.river import sustained_level, thresholds
from floodwatch.alerts.rules import RiverRules
from floodwatch.core.bus import AcknowledgeCommand, FloodingCommand
from floodwatch.core.registry import Station


def acknowledge(step: Step, body: AcknowledgeCommand, cause: Cause) -> None:
    for alert_type, track in step.state.alerts.items():
        if track.alert_id != body.alert_id:
            continue
        if track.acknowledged:
            raise CommandRejected(f"alert {body.alert_id} is already acknowledged",
                                  body.command_id)
        if body.level is not None and body.level != track.level:
            raise CommandRejected(f"alert {body.alert_id} is now at level {track.level}, "
                                  f"not {body.level} as the officer saw it: look again",
                                  body.command_id)
        step.emit(alert_type, Transition.ACKNOWLEDGED, level=track.level,
                  previous=track.level, at=body.issued_at, cause=cause,
                  rule=alert_type.value, alert_id=track.alert_id, raised_at=track.raised_at,
                  confirmed=track.confirmed)
        step.put_track(alert_type, track.model_copy(update={"acknowledged": True}))
        return
    raise CommandRejected(f"no open alert {body.alert_id} at this station",
                          body.command_id)

def flooding(step: Step, station: Station, rules: RiverRules, body: FloodingCommand, *,
             cause: Cause, at: datetime) -> None:
    rule = AlertType.RIVER_LEVEL.value
    current = step.state.level_of(AlertType.RIVER_LEVEL)
    table = thresholds(station, rules)
    detail: dict[str, float | str | None] = {"level_m": step.state.last_level,
                                             "action": body.action}
    if body.action == "declare":
        if step.state.flooding_declared:
            raise CommandRejected("flooding is already declared", body.command_id)
        step.update(flooding_declared=True)
        if current < FLOODING_LEVEL:
            step.move(AlertType.RIVER_LEVEL, FLOODING_LEVEL, at=at, cause=cause, rule=rule,
                      detail=detail)
            return
    else:
        if not step.state.flooding_declared:
            raise CommandRejected("flooding was not declared by an officer",
                                  body.command_id)
        step.update(flooding_declared=False)
        last = step.state.last_level
        target = 0 if last is None else sustained_level(
            last, table, rules.level.deadband_m.as_tuple())
        if target < current:
            # The officer's word ends it at once: no hold time.
            step.move(AlertType.RIVER_LEVEL, target, at=at, cause=cause, rule=rule,
                      detail=detail)
            return
    # No level change (already at, or still above, the flooding level): the
    # command is answered by an acknowledgement of the river alert.
    track = step.state.alerts.get(AlertType.RIVER_LEVEL)
    assert track is not None
    if body.action == "declare" and not track.confirmed:
        # An officer's word confirms a flooding level one reading reached.
        step.confirm(AlertType.RIVER_LEVEL, at=at, cause=cause, rule=rule, detail=detail)
        track = step.state.alerts[AlertType.RIVER_LEVEL]
    step.emit(AlertType.RIVER_LEVEL, Transition.ACKNOWLEDGED, level=track.level,
              previous=track.level, at=at, cause=cause, rule=rule, detail=detail,
              alert_id=track.alert_id, raised_at=track.raised_at,
              confirmed=track.confirmed)
    step.put_track(AlertType.RIVER_LEVEL, track.model_copy(update={"acknowledged": True}))
