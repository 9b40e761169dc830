"""The alert engine: a pure function of its inputs, in the order they arrive.

Inputs are readings, forecasts (of the forecast stage, for forecast warnings), clock
ticks and officers' commands; outputs are alert events and
new per-station states. Nothing here reads the wall clock, so replaying the same inputs
gives the same events, byte for byte (the service persists states and events together).

Time and ordering policy, per station:

- Every rule runs on the reading's own time (``ts``): hold timers, the rate-of-rise
  window and the data-quality memory.
- A reading whose ``ts`` equals the station's newest is a duplicate and is ignored; one
  older than the newest arrived out of order and is ignored too (it can never reopen or
  re-clear anything). Neither changes any state.
- The engine clock (``Clock.watermark``) is the newest reading time seen from any
  station; only readings move it. Offline gauges and the "no data" alert of a silent
  pipeline are alerts.silence's: live, the wall time elapsed since the last reading
  arrived lets it see a pipeline fall silent, without ever moving the clock.
- After each reading and tick, open alerts whose CAP messages are half-way to their
  ``expires`` are renewed (alerts.renewal), on the inputs' time -- and, live, on the
  issue clock too, as ``expires`` is a wall-clock promise to receivers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from floodwatch.alerts.commands import Command
from floodwatch.alerts.forecast import evaluate_forecast, gate, hand_over
from floodwatch.alerts.forecast import hold_still as forecast_hold_still
from floodwatch.alerts.forecast_input import ForecastInput
from floodwatch.alerts.machine import Step
from floodwatch.alerts.model import AlertType, Cause, Event, NoDataEvent
from floodwatch.alerts.officers import acknowledge, flooding
from floodwatch.alerts.quality import FlaggedReading, hold_still
from floodwatch.alerts.renewal import Schedule, renew
from floodwatch.alerts.river import evaluate_river, thresholds
from floodwatch.alerts.road import evaluate_flooding, evaluate_icing
from floodwatch.alerts.rules import AlertRules
from floodwatch.alerts.silence import ALL, Silence, Swept
from floodwatch.alerts.state import Clock, NoDataState, StationState
from floodwatch.core.bus import AcknowledgeCommand
from floodwatch.core.quality import FieldMemory, Flag, check_field
from floodwatch.core.readings import Reading, format_ts
from floodwatch.core.registry import Station, StationKind, StationRegistry


@dataclass(frozen=True)
class Outcome:
    events: list[Event] = field(default_factory=list)
    states: list[StationState] = field(default_factory=list)  # changed, to persist
    clock_changed: bool = False
    no_data_events: list[NoDataEvent] = field(default_factory=list)
    no_data: NoDataState | None = None  # changed, to persist
    ignored: str | None = None  # why an input had no effect (duplicate, late, ...)
    flags: list[FlaggedReading] = field(default_factory=list)  # suspect values, to store


class Engine:
    """Decides the alert events: readings, clock ticks and officers' commands in, alert
    events and the station states they changed out (``Outcome``), with no I/O and no
    wall clock, so the same inputs always give the same events. Persisting, publishing
    and acknowledging are the processor's (alerts.processor)."""

    def __init__(self, registry: StationRegistry, rules: AlertRules,
                 states: dict[str, StationState] | None = None,
                 clock: Clock | None = None, no_data: NoDataState | None = None, *,
                 everything: str = ALL,
                 issue_clock: Callable[[], datetime] | None = None) -> None:
        """``issue_clock``: the wall clock the service issues events by (their CAP
        ``sent``); the one thing the engine reads of it, and it decides nothing. Without
        it each event is issued at its own time, so a replay gives the same bytes."""
        self.registry = registry
        self.issue_clock = issue_clock
        self.rules = rules
        self.clock = clock or Clock()
        known = states or {}
        self.states = {s.id: known.get(s.id) or StationState(station=s.id) for s in registry}
        self.silence = Silence(registry, rules, no_data or NoDataState(), everything)
        self.renewals: Schedule | None = {}  # when each station's renewals fall due

    @property
    def no_data(self) -> NoDataState:
        return self.silence.no_data

    def restore(self, states: dict[str, StationState], clock: Clock,
                no_data: NoDataState) -> None:
        """Back to a known-good point after an input failed half-way (the processor's
        store, plus what its batch had decided before): a decision is never half made,
        e.g. an alert raised in memory whose event was never published."""
        self.states = {s.id: states.get(s.id) or StationState(station=s.id)
                       for s in self.registry}
        self.clock = clock
        self.silence.no_data = no_data
        self.silence.forget_schedule()  # sweep again on the next input, as at start
        if self.renewals is not None:
            self.renewals.clear()

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
        step = Step(state, self._issued(), self.rules.cap.expires)
        step.update(last_ts=reading.ts, heard_at=now)
        cause = Cause(kind="reading", reading_ts=reading.ts, values=reading.values)
        if AlertType.OFFLINE in step.state.alerts:
            step.move(AlertType.OFFLINE, 0, at=now, cause=cause, rule=AlertType.OFFLINE.value,
                      detail={"last_reading": format_ts(reading.ts)})
            # Back from silence: the forecasts it missed are not calm (alerts.forecast).
            forecast_hold_still(step)
        flags = self._quality(step, station, reading, cause)
        flagged = {suspect.flag.field for suspect in flags}
        hold_still(step, flagged, since=previous_ts, at=reading.ts)
        self._rules(step, station, reading, cause, flagged)
        hand_over(step, at=reading.ts, cause=cause)
        self.states[station.id] = step.state
        resumed = self.silence.resume(station.id, reading.ts, self.states)
        swept = self._sweep(now, exclude=station.id)
        return self._outcome(swept, events=step.events, states=[step.state, *resumed],
                             clock_changed=clock_changed, flags=flags)

    def on_forecast(self, forecast: ForecastInput) -> Outcome:
        """A river gauge's forecast (alerts.forecast): may raise, move or clear its
        forecast warning; ignored (``ignored`` says why) unless it was issued on the
        station's newest accepted reading while no offline or data-quality alert is
        open. It never moves the clock: only readings do."""
        station = self.registry.get(forecast.station)
        if station is None or station.kind is not StationKind.RIVER:
            return Outcome(ignored="unknown_station")
        state = self.states[station.id]
        rules = self.rules.river(station.id)
        why = gate(state, forecast, rules.forecast)
        step = Step(state, self._issued(), self.rules.cap.expires,
                    frozenset() if rules.forecast.public else frozenset({AlertType.FORECAST}))
        if why is not None:
            if why in ("offline", "data_quality", "short_trend"):
                forecast_hold_still(step)
            self.states[station.id] = step.state
            changed = [step.state] if step.state != state else []
            return Outcome(states=changed, ignored=why)
        evaluate_forecast(step, rules, thresholds(station, rules), forecast)
        self.states[station.id] = step.state
        return Outcome(events=step.events, states=[step.state])

    def on_clock(self, elapsed: timedelta) -> Outcome:
        """A live tick: ``elapsed`` is the wall time since the last reading arrived.
        It can only reveal a pipeline that fell silent (alerts.silence); it never moves
        the clock, so readings that arrive late still find it where they left it."""
        watermark = self.clock.watermark
        if watermark is None:
            return Outcome()
        return self._outcome(self._sweep(watermark + max(elapsed, timedelta(0)),
                                         exclude=None))

    def _outcome(self, swept: Swept, *, events: list[Event] | None = None,
                 states: list[StationState] | None = None, clock_changed: bool = False,
                 flags: list[FlaggedReading] | None = None) -> Outcome:
        return Outcome(events=[*(events or []), *swept.events],
                       states=[*(states or []), *swept.states], clock_changed=clock_changed,
                       no_data_events=swept.no_data_events,
                       no_data=self.silence.no_data if swept.no_data_changed else None,
                       flags=flags or [])

    def on_command(self, command: Command) -> Outcome:
        """Apply an officer's command; raises CommandRejected with the reason."""
        station = self.registry.get(command.station)
        assert station is not None  # parse_command checked it
        body = command.body
        step = Step(self.states[station.id], self._issued(), self.rules.cap.expires)
        cause = Cause(kind="command", command_id=body.command_id, officer=body.officer,
                      note=body.note)
        at = body.issued_at
        if isinstance(body, AcknowledgeCommand):
            acknowledge(step, body, cause)
        else:
            flooding(step, station, self.rules.river(station.id), body, cause=cause, at=at)
            hand_over(step, at=at, cause=cause)
        self.states[station.id] = step.state
        return Outcome(events=step.events, states=[step.state])

    # --- internals -----------------------------------------------------------------
    def _issued(self) -> datetime | None:
        return None if self.issue_clock is None else self.issue_clock()

    def _advance(self, moment: datetime) -> bool:
        watermark = self.clock.watermark
        if watermark is not None and moment <= watermark:
            return False
        self.clock = Clock(origin=self.clock.origin or moment, watermark=moment)
        return True

    def _sweep(self, now: datetime, exclude: str | None) -> Swept:
        """Silence (offline gauges, no data), then the renewals it may call for."""
        watermark, origin = self.clock.watermark, self.clock.origin
        assert watermark is not None
        assert origin is not None
        issued = self._issued()
        swept = self.silence.sweep(self.states, origin=origin, watermark=watermark, now=now,
                                   exclude=exclude, issued=issued)
        events, states = renew(self.states, at=now, issued=issued,
                               expiry=self.rules.cap.expires,
                               silenced=lambda station: self.silence.covering(station)
                               is not None, schedule=self.renewals)
        swept.events += events
        swept.states += states
        return swept

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
            evaluate_flooding(step, rules.flooding, depth, reading.ts, cause,
                              readings_to_confirm=rules.confirmation.readings)
        temp, surface = values.get("surface_temp_c"), values.get("surface_state")
        if isinstance(temp, float) and isinstance(surface, str) \
                and "surface_temp_c" not in flagged:
            evaluate_icing(step, rules.icing, temp, surface, at=reading.ts, cause=cause,
                           readings_to_confirm=rules.confirmation.readings)
