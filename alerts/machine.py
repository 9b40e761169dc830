"""The lifecycle of one alert type at one station: raise, escalate, de-escalate, clear.

Escalation happens on the first reading (or ``confirm`` consecutive readings) whose
raw level is above the open alert's. Leaving a level needs the value to stay below that
level's deadband (``sustain``) for ``hold_s`` of reading time; then the alert moves
straight to the level the value still sustains, or clears. So a level that wobbles
around a threshold raises one alert, and a clear is never decided by the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from floodwatch.alerts.model import AlertType, Cause, Event, Projection, Transition
from floodwatch.alerts.state import StationState, Track

Detail = dict[str, float | str | None]


class Step:
    """One input's effect on one station: the new state and the events, in order."""

    def __init__(self, state: StationState) -> None:
        self.state = state
        self.events: list[Event] = []

    def update(self, **changes: object) -> None:
        self.state = self.state.model_copy(update=changes)

    def put_track(self, alert_type: AlertType, track: Track | None) -> None:
        alerts = dict(self.state.alerts)
        if track is None:
            alerts.pop(alert_type, None)
        else:
            alerts[alert_type] = track
        self.update(alerts=alerts)

    def set_up_count(self, alert_type: AlertType, count: int) -> None:
        if self.state.up_counts.get(alert_type, 0) == count:
            return
        counts = dict(self.state.up_counts)
        if count:
            counts[alert_type] = count
        else:
            counts.pop(alert_type, None)
        self.update(up_counts=counts)

    def emit(self, alert_type: AlertType, transition: Transition, *, level: int,
             previous: int, at: datetime, cause: Cause, rule: str,
             detail: Detail | None = None,
             projection: Projection | None = None, alert_id: str | None = None,
             raised_at: datetime | None = None) -> Event:
        seq = self.state.seq + 1
        self.update(seq=seq)
        event = Event(
            station=self.state.station, seq=seq, alert_id=alert_id or f"{self.state.station}/{seq}",
            alert_type=alert_type, transition=transition, level=level, previous_level=previous,
            at=at, raised_at=raised_at or at, cause=cause, rule=rule, detail=detail or {},
            projection=projection)
        self.events.append(event)
        return event

    def move(self, alert_type: AlertType, level: int, *, at: datetime, cause: Cause,
             rule: str, detail: Detail | None = None,
             projection: Projection | None = None) -> None:
        """Raise, escalate, de-escalate or clear ``alert_type`` to ``level``."""
        track = self.state.alerts.get(alert_type)
        current = 0 if track is None else track.level
        if level == current:
            return
        if track is None:
            event = self.emit(alert_type, Transition.RAISED, level=level, previous=0, at=at,
                              cause=cause, rule=rule, detail=detail, projection=projection)
            self.put_track(alert_type, Track(alert_id=event.alert_id, level=level, raised_at=at))
        elif level == 0:
            self.emit(alert_type, Transition.CLEARED, level=0, previous=current, at=at,
                      cause=cause, rule=rule, detail=detail, projection=projection,
                      alert_id=track.alert_id, raised_at=track.raised_at)
            self.put_track(alert_type, None)
        elif level > current:
            self.emit(alert_type, Transition.ESCALATED, level=level, previous=current, at=at,
                      cause=cause, rule=rule, detail=detail, projection=projection,
                      alert_id=track.alert_id, raised_at=track.raised_at)
            # A higher level needs new attention: an earlier acknowledgement lapses.
            self.put_track(alert_type, track.model_copy(
                update={"level": level, "acknowledged": False, "below_since": None}))
        else:
            self.emit(alert_type, Transition.DEESCALATED, level=level, previous=current,
                      at=at, cause=cause, rule=rule, detail=detail, projection=projection,
                      alert_id=track.alert_id, raised_at=track.raised_at)
            self.put_track(alert_type, track.model_copy(
                update={"level": level, "below_since": None}))


def evaluate(step: Step, alert_type: AlertType, *, raw: int, sustain: int, at: datetime,
             cause: Cause, hold_s: float, confirm: int, rule: str,
             detail: Callable[[int], Detail] | None = None,
             projection: Callable[[], Projection | None] | None = None) -> None:
    """Apply one reading's ``raw`` level (what the value reaches now) and ``sustain``
    level (what it still holds with the deadbands) to the alert's lifecycle."""
    track = step.state.alerts.get(alert_type)
    current = 0 if track is None else track.level

    def go(level: int) -> None:
        step.move(alert_type, level, at=at, cause=cause, rule=rule,
                  detail=detail(level) if detail is not None else None,
                  projection=projection() if projection is not None else None)

    if raw > current:
        count = step.state.up_counts.get(alert_type, 0) + 1
        if count >= confirm:
            step.set_up_count(alert_type, 0)
            go(raw)
        else:
            step.set_up_count(alert_type, count)
            if track is not None and track.below_since is not None:
                step.put_track(alert_type, track.model_copy(update={"below_since": None}))
        return
    step.set_up_count(alert_type, 0)
    if track is None:
        return
    if sustain >= current:
        if track.below_since is not None:
            step.put_track(alert_type, track.model_copy(update={"below_since": None}))
        return
    below_since = track.below_since or at
    if (at - below_since).total_seconds() >= hold_s:
        go(sustain)
    elif track.below_since is None:
        step.put_track(alert_type, track.model_copy(update={"below_since": at}))
