"""The lifecycle of one alert type at one station: raise, escalate, de-escalate, clear.

Escalation happens on the first reading (or ``confirm`` consecutive readings) whose
raw level is above the open alert's. Leaving a level needs the value to stay below that
level's deadband (``sustain``) for ``hold_s`` of reading time; then the alert moves
straight to the level the value still sustains, or clears. So a level that wobbles
around a threshold raises one alert, and a clear is never decided by the wall clock.

Confirmation (what residents may be told): officers see an escalation at once, but it
is ``confirmed`` only when ``readings_to_confirm`` readings in a row agree with it (the
escalating one included; agreeing = the reading's raw level is at least the alert's),
or when an officer caused it. A disagreeing reading starts the count again. The
reading that completes the count emits a ``confirmed`` event *before* anything else it
does, so in a steady rise each level is confirmed by the reading that escalates past
it, one reading late, instead of waiting for the rise to stop. ``confirmed_level``
falls with the alert: residents never keep a level higher than the water's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from floodwatch.alerts.cap_settings import Expiry
from floodwatch.alerts.model import (
    AlertType,
    Cause,
    Event,
    EventRef,
    Projection,
    Transition,
    tells_public,
)
from floodwatch.alerts.state import Chain, StationState, Track

Detail = dict[str, float | str | None]


class Step:
    """One input's effect on one station: the new state and the events, in order."""

    def __init__(self, state: StationState, issued: datetime | None = None,
                 expiry: Expiry | None = None,
                 restricted: frozenset[AlertType] = frozenset()) -> None:
        """``issued``: when the input is handled (the wall clock, live); None issues
        each event at its own time (a replay that must give the same bytes).
        ``expiry``: how long each alert type's CAP messages are valid (rules file).
        ``restricted``: alert types kept for staff by policy (a forecast warning while
        ``forecast.public`` is off); an alert raised so stays so (``Track.restricted``)."""
        self.state = state
        self.events: list[Event] = []
        self._issued = issued
        self._expiry = expiry or Expiry()
        self._restricted = restricted

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
             raised_at: datetime | None = None, confirmed: bool) -> Event:
        seq = self.state.seq + 1
        event_id = f"{self.state.station}/{seq}"
        track = self.state.alerts.get(alert_type)
        sent = self._sent(alert_type, at)
        cleared = transition is Transition.CLEARED
        expires = sent + (self._expiry.all_clear if cleared else self._expiry.of(alert_type))
        restricted = alert_type in self._restricted if track is None else track.restricted
        public = tells_public(alert_type, transition, confirmed, restricted)
        chain = self.chain(alert_type)
        every, told = _in_force(chain.every, sent), _in_force(chain.public, sent)
        message = EventRef(event_id=event_id, at=at, sent=sent, expires=expires)
        last_sent, chains = dict(self.state.last_sent), dict(self.state.chains)
        if cleared:
            last_sent.pop(alert_type, None)
            chains.pop(alert_type, None)
        else:
            last_sent[alert_type] = sent
            chains[alert_type] = Chain(every=(*every, message),
                                       public=(*told, message) if public else told)
        self.update(seq=seq, last_sent=last_sent, chains=chains)
        first_confirmed = None if track is None else track.first_confirmed
        if first_confirmed is None and confirmed:
            # The callers keep it on the track (``move``, ``confirm``: the only ones that
            # can confirm a level for the first time).
            first_confirmed = message
        event = Event(
            station=self.state.station, seq=seq, alert_id=alert_id or event_id,
            alert_type=alert_type, transition=transition, level=level, previous_level=previous,
            at=at, raised_at=raised_at or at, sent=sent,
            raise_sent=sent if track is None else track.raise_sent,
            cause=cause, rule=rule, detail=detail or {},
            projection=projection, confirmed=confirmed, first_confirmed=first_confirmed,
            # Public: every earlier Public message; Restricted: every earlier one.
            references=told if public else every, restricted=restricted)
        self.events.append(event)
        return event

    def chain(self, alert_type: AlertType) -> Chain:
        """The open alert's CAP messages so far; for an alert opened before they were
        kept, the messages its references used to name (the raise, the first Public)."""
        track = self.state.alerts.get(alert_type)
        if track is None:
            return Chain()
        kept = self.state.chains.get(alert_type)
        if kept is not None:
            return kept
        raised = EventRef(event_id=track.alert_id, at=track.raised_at, sent=track.raise_sent)
        told = () if track.first_confirmed is None else (track.first_confirmed,)
        return Chain(every=(raised,), public=told)

    def _sent(self, alert_type: AlertType, at: datetime) -> datetime:
        """The event's CAP ``sent``: when it is issued, in whole seconds (CAP has no
        fractions), at least a second after the alert's previous message -- an
        acknowledgement issued at 09:05 is never followed by an escalation sent 09:03."""
        sent = (self._issued or at).replace(microsecond=0)
        previous = self.state.last_sent.get(alert_type)
        if previous is not None and self.state.alerts.get(alert_type) is not None:
            sent = max(sent, previous + timedelta(seconds=1))
        return sent

    def move(self, alert_type: AlertType, level: int, *, at: datetime, cause: Cause,
             rule: str, detail: Detail | None = None,
             projection: Projection | None = None, readings_to_confirm: int = 1,
             agrees: bool = False) -> None:
        """Raise, escalate, de-escalate or clear ``alert_type`` to ``level``.
        ``agrees``: the reading that lowers the alert already agrees with the new level
        (it counts towards confirming it)."""
        track = self.state.alerts.get(alert_type)
        current = 0 if track is None else track.level
        if level == current:
            return
        told = 0 if track is None else track.confirmed_level
        if level > current:
            # An officer's word needs no second reading.
            confirmed = readings_to_confirm <= 1 or cause.kind == "command"
            transition = Transition.RAISED if track is None else Transition.ESCALATED
            event = self.emit(alert_type, transition, level=level, previous=current, at=at,
                              cause=cause, rule=rule, detail=detail, projection=projection,
                              alert_id=None if track is None else track.alert_id,
                              raised_at=None if track is None else track.raised_at,
                              confirmed=confirmed)
            confirmation = {"confirmed_level": level if confirmed else told,
                            "agreeing": 0 if confirmed else 1,
                            "first_confirmed": event.first_confirmed}
            if track is None:
                self.put_track(alert_type, Track(alert_id=event.alert_id, level=level,
                                                 raised_at=at, raise_sent=event.sent,
                                                 level_since=at,
                                                 restricted=event.restricted,
                                                 **confirmation))
            else:
                # A higher level needs new attention: an earlier acknowledgement lapses.
                self.put_track(alert_type, track.model_copy(update={
                    "level": level, "acknowledged": False, "below_since": None,
                    "level_since": at, **confirmation}))
            return
        assert track is not None
        # Residents hear of a fall only if they were told of the alert, and only below
        # the level they were told: a fall back to it from a level only staff saw (an
        # unconfirmed escalation) changes nothing they know.
        self.emit(alert_type, Transition.CLEARED if level == 0 else Transition.DEESCALATED,
                  level=level, previous=current, at=at, cause=cause, rule=rule,
                  detail=detail, projection=projection, alert_id=track.alert_id,
                  raised_at=track.raised_at, confirmed=level < told)
        if level == 0:
            self.put_track(alert_type, None)
            return
        confirmed_level = min(told, level)
        self.put_track(alert_type, track.model_copy(update={
            "level": level, "below_since": None, "confirmed_level": confirmed_level,
            "level_since": at,
            "agreeing": 1 if agrees and level > confirmed_level else 0}))

    def confirm(self, alert_type: AlertType, *, at: datetime, cause: Cause, rule: str,
                detail: Detail | None = None, projection: Projection | None = None) -> None:
        """The open alert's level is confirmed: residents may now be told of it."""
        track = self.state.alerts[alert_type]
        event = self.emit(alert_type, Transition.CONFIRMED, level=track.level,
                          previous=track.level, at=at, cause=cause, rule=rule,
                          detail=detail, projection=projection, alert_id=track.alert_id,
                          raised_at=track.raised_at, confirmed=True)
        self.put_track(alert_type, track.model_copy(update={
            "confirmed_level": track.level, "agreeing": 0,
            "first_confirmed": event.first_confirmed}))


def evaluate(step: Step, alert_type: AlertType, *, raw: int, sustain: int, at: datetime,
             cause: Cause, hold_s: float, confirm: int, readings_to_confirm: int,
             rule: str, detail: Callable[[int], Detail] | None = None,
             projection: Callable[[], Projection | None] | None = None) -> None:
    """Apply one reading's ``raw`` level (what the value reaches now) and ``sustain``
    level (what it still holds with the deadbands) to the alert's lifecycle.
    ``confirm``: readings over a level before escalating to it (for everyone);
    ``readings_to_confirm``: agreeing readings before residents may be told of it."""

    def go(level: int) -> None:
        step.move(alert_type, level, at=at, cause=cause, rule=rule,
                  detail=detail(level) if detail is not None else None,
                  projection=projection() if projection is not None else None,
                  readings_to_confirm=readings_to_confirm, agrees=raw >= level)

    if _confirms(step, alert_type, raw, readings_to_confirm):
        level = step.state.level_of(alert_type)
        step.confirm(alert_type, at=at, cause=cause, rule=rule,
                     detail=detail(level) if detail is not None else None,
                     projection=projection() if projection is not None else None)
    track = step.state.alerts.get(alert_type)
    current = 0 if track is None else track.level

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


def _confirms(step: Step, alert_type: AlertType, raw: int,
              readings_to_confirm: int) -> bool:
    """Count the reading for or against the open alert's unconfirmed level, before the
    reading moves the alert (so it may confirm the level it is about to leave behind);
    True when it completes the count."""
    track = step.state.alerts.get(alert_type)
    if track is None or track.confirmed:
        return False
    if raw < track.level:
        if track.agreeing:
            step.put_track(alert_type, track.model_copy(update={"agreeing": 0}))
        return False
    agreeing = track.agreeing + 1
    if agreeing >= readings_to_confirm:
        return True
    step.put_track(alert_type, track.model_copy(update={"agreeing": agreeing}))
    return False


def _in_force(messages: tuple[EventRef, ...], at: datetime) -> tuple[EventRef, ...]:
    """The messages a receiver may still hold at ``at``: the first (the audience's CAP
    Alert, which every later message names) and every one not yet expired."""
    return messages[:1] + tuple(message for message in messages[1:]
                                if message.expires is None or message.expires > at)
