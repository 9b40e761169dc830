"""Forecast warnings: a river gauge expected to reach a reference level, from the
forecast stage's forecasts (alerts.forecast_input), on the level alerts' machinery.

- The warning's level is the highest reference level (of the rules' ``forecast.
  horizon_s``) the gauge and its level alert are below that the forecast's chosen line
  (``bound``: the median, or the band's lower bound) reaches within that level's
  horizon -- within ``trend_horizon_s`` only for a forecast by the gauge's own trend.
  Raise, escalation, de-escalation, hold and confirmation are alerts.machine's, on the
  forecasts' issue times (reading times): a level is left once the forecasts have not
  reached it less its deadband (rules ``level.deadband_m``) for ``hold_s``.
- A moving expected time is news only when it moves ``update_shift_s`` or more from
  the time the alert last told (an ``updated`` event); a 10-minute wobble is not.
- Hand-over: once the level alert reaches the warning's level, the warning is cleared
  with rule ``forecast.reached`` -- the level alert takes over; its text says the level
  was reached, never an all-clear (alerts.render, alerts.cap_profile).
- Gates (``gate``): a forecast is used only when it was issued on the station's newest
  reading, that reading passed the data-quality checks, and no offline or data-quality
  alert is open. While a gate holds a warning, its hold timer starts again: a warning is
  never cleared on the strength of the doubtful stretch. A forecast by the gauge's own
  trend is used only when the station's rate window spans ``trend_min_span_s``.
- Replacements (``replaces``): a forecast of the same issue time made later (the stage
  re-issues a downstream gauge's forecast once its upstream reading of the tick
  arrives) is evaluated -- it may raise, escalate, update or lower -- but counted in
  place of the one it replaces, never as a second agreeing forecast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from floodwatch.alerts.forecast_input import ForecastInput
from floodwatch.alerts.forecast_rules import ForecastRule
from floodwatch.alerts.machine import Detail, Step, evaluate
from floodwatch.alerts.model import HANDOVER_RULE, AlertType, Cause, Transition
from floodwatch.alerts.river import Thresholds
from floodwatch.alerts.rules import RiverRules
from floodwatch.alerts.state import ForecastMemory, StationState
from floodwatch.core.crossings import crossing_minutes
from floodwatch.core.readings import format_ts

RULE = AlertType.FORECAST.value
# The engine's accepted level and the forecast's starting level are the same reading's:
# only float noise may tell them apart.
SAME_LEVEL_M = 1e-6


def gate(state: StationState, forecast: ForecastInput, rule: ForecastRule) -> str | None:
    """Why ``forecast`` must not move a warning (a metrics label), or None."""
    issued, newest = forecast.issued_at, state.last_ts
    memory = state.forecast
    accepted = state.window[-1] if state.window else None
    checks = (
        (memory is not None and issued == memory.issued_at
         and not replaces(memory, forecast), "duplicate"),
        (memory is not None and issued < memory.issued_at, "late"),
        # Its reading has not reached the engine (yet).
        (newest is None or issued > newest, "ahead"),
        # A newer reading came since: a retained forecast, a slow forecast stage.
        (newest is not None and issued < newest, "stale"),
        # Its reading failed the data-quality checks.
        (accepted is None or accepted[0] != newest, "flagged"),
        # Not the level the engine accepted for that reading.
        (accepted is not None and abs(accepted[1] - forecast.level_m) > SAME_LEVEL_M,
         "mismatch"),
        (AlertType.OFFLINE in state.alerts, "offline"),
        (AlertType.DATA_QUALITY in state.alerts, "data_quality"),
        # A trend fitted over a few minutes reads a wobble as a rise. The message does
        # not say over what span the stage fitted it; the engine's own rate window of
        # the station (the same accepted readings, the same hour by default) does.
        (forecast.method == "trend" and window_span_s(state) < rule.trend_min_span_s,
         "short_trend"),
    )
    return next((why for failed, why in checks if failed), None)


def window_span_s(state: StationState) -> float:
    """Seconds from the oldest to the newest reading of the station's rate window."""
    if len(state.window) < 2:
        return 0.0
    return (state.window[-1][0] - state.window[0][0]).total_seconds()


def replaces(memory: ForecastMemory | None, forecast: ForecastInput) -> bool:
    """Whether ``forecast`` replaces the one evaluated last: the same issue time (the
    same reading), made later -- the stage re-issues a downstream gauge's forecast when
    its upstream gauge's reading of the same tick arrives after its own (forecast/
    gauges.py). The same or an older ``made_at`` is the same forecast delivered again."""
    return memory is not None and forecast.issued_at == memory.issued_at \
        and forecast.made_at is not None and memory.made_at is not None \
        and forecast.made_at > memory.made_at


def hold_still(step: Step) -> None:
    """The warning's hold timer starts again (a gated forecast, a gauge back from
    offline): what the doubtful stretch did not show is not counted as calm."""
    track = step.state.alerts.get(AlertType.FORECAST)
    if track is not None and track.below_since is not None:
        step.put_track(AlertType.FORECAST, track.model_copy(update={"below_since": None}))


@dataclass(frozen=True, slots=True)
class Crossing:
    level: int
    metres: float
    minutes: int  # from the forecast's issue; 0: the gauge is there already

    def at(self, forecast: ForecastInput) -> datetime:
        return forecast.issued_at + timedelta(minutes=self.minutes)


def first_crossing(forecast: ForecastInput, metres: float, rule: ForecastRule,
                   horizon_s: float) -> int | None:
    """Minutes from issue until the chosen line reaches ``metres`` (core.crossings: linear
    between the 10-minute points, from the issuing reading at lead 0), 0 when the gauge is
    there already, or None when not within the horizon."""
    if forecast.level_m >= metres:
        return 0
    minutes = crossing_minutes(forecast.level_m, [p.lead_min for p in forecast.points],
                               [p.line(rule.bound) for p in forecast.points], metres)
    return minutes if minutes is not None and minutes * 60 <= horizon_s else None


def crossings(forecast: ForecastInput, rules: RiverRules, table: Thresholds,
              above: int, *, deadband: bool) -> dict[int, Crossing]:
    """The warned levels above ``above`` (the level alert's) the forecast reaches --
    with ``deadband``, reaches within its deadband (what an open warning still holds)."""
    rule = rules.forecast
    deadbands = rules.level.deadband_m.as_tuple()
    found = {}
    for level, metres in table:
        horizon_s = rule.horizon_s.get(level)
        if horizon_s is None or level <= above:
            continue
        if forecast.method == "trend":
            horizon_s = min(horizon_s, rule.trend_horizon_s)
        target = metres - deadbands[level - 1] if deadband else metres
        if not deadband and forecast.level_m >= metres:
            continue  # reached, not expected: the level alert's to tell
        minutes = first_crossing(forecast, target, rule, horizon_s)
        if minutes is not None:
            found[level] = Crossing(level, metres, minutes)
    return found


def evaluate_forecast(step: Step, rules: RiverRules, table: Thresholds,
                      forecast: ForecastInput) -> None:
    """Apply one forecast that passed ``gate`` to the station's forecast warning."""
    rule = rules.forecast
    counts = _count_once(step, forecast)
    above = step.state.level_of(AlertType.RIVER_LEVEL)
    reached = crossings(forecast, rules, table, above, deadband=False)
    held = crossings(forecast, rules, table, above, deadband=True)
    raw, sustain = max(reached, default=0), max(held, default=0)
    at = forecast.issued_at
    cause = Cause(kind="reading", reading_ts=at, values={"level_m": forecast.level_m})

    def detail(level: int) -> Detail:
        crossing = reached.get(level) or held.get(level)
        return {"expected_at": None if crossing is None else format_ts(crossing.at(forecast)),
                "minutes": None if crossing is None else float(crossing.minutes),
                "bound": rule.bound, "issued_at": format_ts(at), "method": forecast.method,
                "level_m": forecast.level_m,
                "threshold_m": dict(table).get(level)}

    before = len(step.events)
    evaluate(step, AlertType.FORECAST, raw=raw, sustain=sustain, at=at, cause=cause,
             hold_s=rule.hold_s, confirm=rule.confirm_forecasts,
             readings_to_confirm=rules.confirmation.readings, rule=RULE, detail=detail)
    track = step.state.alerts.get(AlertType.FORECAST)
    memory = step.state.forecast or ForecastMemory(issued_at=at)
    told = [event for event in step.events[before:]
            if event.alert_type is AlertType.FORECAST]
    if track is None:
        memory = ForecastMemory(issued_at=at)
    elif told:
        memory = _told(at, told[-1].detail)
    elif track.level in reached and _moved(memory, reached[track.level].at(forecast), rule):
        event = step.emit(AlertType.FORECAST, Transition.UPDATED, level=track.level,
                          previous=track.level, at=at, cause=cause, rule=RULE,
                          detail=detail(track.level), alert_id=track.alert_id,
                          raised_at=track.raised_at, confirmed=track.confirmed)
        memory = _told(at, event.detail)
    else:
        memory = memory.model_copy(update={"issued_at": at})
    step.update(forecast=memory.model_copy(update={"made_at": forecast.made_at, **counts}))


def _count_once(step: Step, forecast: ForecastInput) -> dict[str, int]:
    """The warning's counts before this issue time's first forecast (ForecastMemory).
    For a replacement (``replaces``), the counts go back to them first, so that it is
    counted in place of the forecast it replaces: with ``confirm_forecasts: 2`` a
    re-issued forecast over a level is still the first, not the second, and it never
    confirms a level for residents that one forecast raised. What the replaced forecast
    already did (events) stands; a level it raised in this tick counts from nothing."""
    memory = step.state.forecast
    track = step.state.alerts.get(AlertType.FORECAST)
    if memory is None or not replaces(memory, forecast):
        return {"up_before": step.state.up_counts.get(AlertType.FORECAST, 0),
                "agreeing_before": 0 if track is None else track.agreeing,
                "level_before": 0 if track is None else track.level}
    step.set_up_count(AlertType.FORECAST, memory.up_before)
    if track is not None and not track.confirmed:
        agreeing = memory.agreeing_before if track.level == memory.level_before else 0
        step.put_track(AlertType.FORECAST, track.model_copy(update={"agreeing": agreeing}))
    return {"up_before": memory.up_before, "agreeing_before": memory.agreeing_before,
            "level_before": memory.level_before}


def _told(at: datetime, detail: Detail) -> ForecastMemory:
    expected = detail.get("expected_at")
    return ForecastMemory(issued_at=at, detail=dict(detail), announced=None
                          if not isinstance(expected, str) else datetime.fromisoformat(expected))


def _moved(memory: ForecastMemory, expected: datetime, rule: ForecastRule) -> bool:
    if memory.announced is None:
        return True  # the last event told no time (a level only held): this one does
    return abs((expected - memory.announced).total_seconds()) >= rule.update_shift_s


def hand_over(step: Step, *, at: datetime, cause: Cause) -> None:
    """The level alert reached the warning's level: the warning ends, the level alert
    takes over (rule ``forecast.reached``; never an all-clear)."""
    track = step.state.alerts.get(AlertType.FORECAST)
    river = step.state.alerts.get(AlertType.RIVER_LEVEL)
    if track is None or river is None or river.level < track.level:
        return
    step.move(AlertType.FORECAST, 0, at=at, cause=cause, rule=HANDOVER_RULE,
              detail={"handed_over_to": river.alert_id, "level_m": step.state.last_level,
                      "reached_at": format_ts(at)})
    memory = step.state.forecast
    if memory is not None:
        step.update(forecast=memory.model_copy(update={"announced": None, "detail": {}}))
