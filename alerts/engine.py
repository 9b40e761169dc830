"""The alert engine: a pure function of its inputs, in the order they arrive.

Inputs are readings, clock ticks and officers' commands; outputs are alert events and
new per-station states. Nothing here reads the wall clock, so replaying the same inputs
gives the same events, byte for byte (the service persists states and events together).

Time and ordering policy, per station:

- Every rule runs on the reading's own time (``ts``): hold timers, the rate-of-rise
  window and the data-quality memory.
- A reading whose ``ts`` equals the station's newest is a duplicate and is ignored; one
  older than the newest arrived out of order and is ignored too (it can never reopen or
  re-clear anything). Neither changes any state.
- The engine clock (``Clock.watermark``) is the newest reading time seen from any
  station, advanced further by wall-clock ticks in live operation. A station is offline
  when the clock is ``k x interval_s`` past the moment it was last heard from (on the
  engine clock, so a late burst of back-filled readings counts as being heard now). The
  offline event is stamped with that due moment, not with the tick that noticed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from floodwatch.alerts.commands import Command, CommandRejected
from floodwatch.alerts.machine import Step
from floodwatch.alerts.model import FLOODING_LEVEL, AlertType, Cause, Event, Transition
from floodwatch.alerts.quality import Flag, FlaggedReading, check_field, hold_still
from floodwatch.alerts.river import evaluate_river, sustained_level, thresholds
from floodwatch.alerts.road import evaluate_flooding, evaluate_icing
from floodwatch.alerts.rules import AlertRules
from floodwatch.alerts.state import Clock, FieldMemory, StationState
from floodwatch.core.bus import AcknowledgeCommand, FloodingCommand
from floodwatch.core.readings import Reading, format_ts
from floodwatch.core.registry import Station, StationKind, StationRegistry


@dataclass(frozen=True)
class Outcome:
    events: list[Event] = field(default_factory=list)
    states: list[StationState] = field(default_factory=list)  # changed, to persist
    clock_changed: bool = False
    ignored: str | None = None  # why an input had no effect (duplicate, late, ...)
    flags: list[FlaggedReading] = field(default_factory=list)  # suspect values, to store


class Engine:
    """Decides the alert events: readings, clock ticks and officers' commands in, alert
    events and the station states they changed out (``Outcome``), with no I/O and no
    wall clock, so the same inputs always give the same events. Persisting, publishing
    and acknowledging are the processor's (alerts.processor)."""

    def __init__(self, registry: StationRegistry, rules: AlertRules,
                 states: dict[str, StationState] | None = None,
                 clock: Clock | None = None) -> None:
        self.registry = registry
        self.rules = rules
        self.clock = clock or Clock()
        known = states or {}
        self.states = {s.id: known.get(s.id) or StationState(station=s.id) for s in registry}
        self._silence = {s.id: timedelta(seconds=rules.offline(s.id).factor * s.interval_s)
                         for s in registry}
        # Earliest moment any station can go offline: the sweep over all stations runs
        # only once the clock passes it, not on every reading.
        self._next_due: datetime | None = None

    def restore(self, states: dict[str, StationState], clock: Clock) -> None:
        """Back to a known-good point after an input failed half-way (the processor's
        store, plus what its batch had decided before): a decision is never half made,
        e.g. an alert raised in memory whose event was never published."""
        self.states = {s.id: states.get(s.id) or StationState(station=s.id)
                       for s in self.registry}
        self.clock = clock
        self._next_due = None  # sweep again on the next input, as at start

    # --- inputs --------------------------------------------------------------------
    def on_reading(self, reading: Reading) -> Outcome:
        station = self.registry.get(reading.station)
        if station is None or station.kind is not reading.kind:
            return Outcome(ignored="unknown_station")
        state = self.states[station.id]
        if state.last_ts is not None and reading.ts <= state.last_ts:
            return Outcome(ignored="duplicate" if reading.ts == state.last_ts else "late")
        clock_changed = self._advance(reading.ts)
        now = self.clock.watermark
        assert now is not None
        previous_ts = state.last_ts
        step = Step(state)
        step.update(last_ts=reading.ts, heard_at=now)
        cause = Cause(kind="reading", reading_ts=reading.ts, values=reading.values)
        if AlertType.OFFLINE in step.state.alerts:
            step.move(AlertType.OFFLINE, 0, at=now, cause=cause, rule=AlertType.OFFLINE.value,
                      detail={"last_reading": format_ts(reading.ts)})
        flags = self._quality(step, station, reading, cause)
        flagged = {suspect.flag.field for suspect in flags}
        hold_still(step, flagged, since=previous_ts, at=reading.ts)
        self._rules(step, station, reading, cause, flagged)
        self.states[station.id] = step.state
        due = now + self._silence[station.id]
        if self._next_due is not None and due < self._next_due:
            self._next_due = due
        outcome = self._sweep(exclude=station.id)
        return Outcome(events=step.events + outcome.events,
                       states=[step.state, *outcome.states], clock_changed=clock_changed,
                       flags=flags)

    def on_clock(self, now: datetime) -> Outcome:
        """A wall-clock tick (live operation): lets offline detection see time pass
        when no reading arrives at all."""
        if not self._advance(now):
            return Outcome()
        outcome = self._sweep(exclude=None)
        return Outcome(events=outcome.events, states=outcome.states, clock_changed=True)

    def on_command(self, command: Command) -> Outcome:
        """Apply an officer's command; raises CommandRejected with the reason."""
        station = self.registry.get(command.station)
        assert station is not None  # parse_command checked it
        body = command.body
        step = Step(self.states[station.id])
        cause = Cause(kind="command", command_id=body.command_id, officer=body.officer,
                      note=body.note)
        at = body.issued_at
        if isinstance(body, AcknowledgeCommand):
            self._acknowledge(step, body, cause)
        else:
            self._flooding(step, station, body, cause, at)
        self.states[station.id] = step.state
        return Outcome(events=step.events, states=[step.state])

    # --- internals -----------------------------------------------------------------
    def _advance(self, moment: datetime) -> bool:
        watermark = self.clock.watermark
        if watermark is not None and moment <= watermark:
            return False
        self.clock = Clock(origin=self.clock.origin or moment, watermark=moment)
        return True

    def _sweep(self, exclude: str | None) -> Outcome:
        now, origin = self.clock.watermark, self.clock.origin
        assert now is not None
        assert origin is not None
        events: list[Event] = []
        changed: list[StationState] = []
        if self._next_due is not None and now < self._next_due:
            return Outcome()
        next_due: datetime | None = None
        for station in self.registry:
            state = self.states[station.id]
            if AlertType.OFFLINE in state.alerts:
                continue
            silent = self._silence[station.id]
            due = (state.heard_at or origin) + silent
            if now < due or station.id == exclude:
                next_due = due if next_due is None else min(next_due, due)
                continue
            step = Step(state)
            step.move(AlertType.OFFLINE, 1, at=due, cause=Cause(kind="clock"),
                      rule=AlertType.OFFLINE.value,
                      detail={"silent_s": silent.total_seconds(), "interval_s": station.interval_s,
                       "last_reading": None if state.last_ts is None
                       else format_ts(state.last_ts)})
            self.states[station.id] = step.state
            events.extend(step.events)
            changed.append(step.state)
        # None (every station already offline) means: sweep again on the next input,
        # when a reading may have brought one back.
        self._next_due = next_due
        return Outcome(events=events, states=changed)

    def _quality(self, step: Step, station: Station, reading: Reading,
                 cause: Cause) -> list[FlaggedReading]:
        checks = self.rules.quality(station.id)
        flags: list[Flag] = []
        memories = dict(step.state.fields)
        checked = False
        for name, rule in checks.items():
            value = reading.values.get(name)
            if not isinstance(value, float):
                continue
            checked = True
            flag, memories[name] = check_field(name, value, reading.ts, rule,
                                               memories.get(name, FieldMemory()),
                                               interval_s=station.interval_s)
            if flag is not None:
                flags.append(flag)
        step.update(fields=memories)
        if not checked:
            return []
        if flags:
            first = flags[0]
            step.update(quality_good_run=0)
            before = len(step.events)
            step.move(AlertType.DATA_QUALITY, 1, at=reading.ts, cause=cause,
                      rule=f"{AlertType.DATA_QUALITY.value}.{first.reason}",
                      detail={"field": first.field, "value": first.value,
                              "reason": first.reason.value})
            raised = step.events[before:]
            alert_id = step.state.alerts[AlertType.DATA_QUALITY].alert_id
            return [FlaggedReading(station.id, reading.ts, flag, alert_id,
                                   raised[0].event_id if raised else None) for flag in flags]
        if AlertType.DATA_QUALITY in step.state.alerts:
            run = step.state.quality_good_run + 1
            needed = max(rule.clear_readings for rule in checks.values())
            if run >= needed:
                step.update(quality_good_run=0)
                step.move(AlertType.DATA_QUALITY, 0, at=reading.ts, cause=cause,
                          rule=AlertType.DATA_QUALITY.value,
                          detail={"good_readings": float(run)})
            else:
                step.update(quality_good_run=run)
        return []

    def _rules(self, step: Step, station: Station, reading: Reading, cause: Cause,
               flagged: set[str]) -> None:
        values = reading.values
        if station.kind is StationKind.RIVER:
            level = values.get("level_m")
            if isinstance(level, float) and "level_m" not in flagged:
                evaluate_river(step, station, self.rules.river(station.id), level,
                               at=reading.ts, cause=cause)
            return
        rules = self.rules.road(station.id)
        depth = values.get("water_depth_cm")
        if isinstance(depth, float) and "water_depth_cm" not in flagged:
            evaluate_flooding(step, rules.flooding, depth, reading.ts, cause)
        temp, surface = values.get("surface_temp_c"), values.get("surface_state")
        if isinstance(temp, float) and isinstance(surface, str) \
                and "surface_temp_c" not in flagged:
            evaluate_icing(step, rules.icing, temp, surface, at=reading.ts, cause=cause)

    @staticmethod
    def _acknowledge(step: Step, body: AcknowledgeCommand, cause: Cause) -> None:
        for alert_type, track in step.state.alerts.items():
            if track.alert_id != body.alert_id:
                continue
            if track.acknowledged:
                raise CommandRejected(f"alert {body.alert_id} is already acknowledged",
                                      body.command_id)
            step.emit(alert_type, Transition.ACKNOWLEDGED, level=track.level,
                      previous=track.level, at=body.issued_at, cause=cause,
                      rule=alert_type.value, alert_id=track.alert_id, raised_at=track.raised_at)
            step.put_track(alert_type, track.model_copy(update={"acknowledged": True}))
            return
        raise CommandRejected(f"no open alert {body.alert_id} at this station",
                              body.command_id)

    def _flooding(self, step: Step, station: Station, body: FloodingCommand, cause: Cause,
                  at: datetime) -> None:
        rules = self.rules.river(station.id)
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
        step.emit(AlertType.RIVER_LEVEL, Transition.ACKNOWLEDGED, level=track.level,
                  previous=track.level, at=at, cause=cause, rule=rule, detail=detail,
                  alert_id=track.alert_id, raised_at=track.raised_at)
        step.put_track(AlertType.RIVER_LEVEL, track.model_copy(update={"acknowledged": True}))
