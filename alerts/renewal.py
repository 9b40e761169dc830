"""Renewals: an open alert's CAP messages never lapse while it is open (docs/cap.md).

A CAP message is valid until its ``expires`` (sent + the alert type's duration), and
receivers such as L-Alert stop showing it then. Nothing else is sent while a level
holds steady (a long 氾濫発生) or while the gauge is silent, so without renewals the
public message would lapse -- to a receiver, an all-clear nobody decided. So, on each
input (a reading or a clock tick), every open alert whose newest message of an audience
is half-way to its ``expires`` is said again: a ``renewed`` event, at the same level,
an Update referencing what came before, with a new ``expires``.

- The public's newest message is its newest Public one; staff's is the alert's newest
  message, or, while an escalation waits for its confirmation, the newest Restricted
  one (a Public message at the level residents know says nothing of the higher one).
- A confirmed alert is renewed by one event (Public, or Restricted for staff's own
  alert types), which renews both. An unconfirmed one may need two: a Public renewal
  at the level residents were told (``confirmed_level``) and a Restricted one at the
  alert's own level.
- While the station sends nothing (offline, or covered by a no-data alert) the
  renewal says so (``detail.data_missing``, the last reading's time): it repeats the
  last level known, never lowers it.
- Half-way is judged on the inputs' time (the reading time the message was decided
  at, against the engine's clock: the watermark, plus on a tick the wall time since
  the last reading arrived), so a replay renews exactly where the live run did; and,
  live, also on the issue clock against the message's ``sent``: ``expires`` is a
  wall-clock promise, kept even if readings arrive stamped hours late. (A backlog
  replayed fast is renewed as often as its readings' time says: more messages, never
  fewer.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from floodwatch.alerts.cap_settings import Expiry
from floodwatch.alerts.machine import Detail, Step
from floodwatch.alerts.model import STAFF_ONLY, AlertType, Cause, Event, EventRef, Transition
from floodwatch.alerts.state import StationState, Track
from floodwatch.core.readings import format_ts

# Why a renewal repeats the last level known rather than a current reading.
OFFLINE, NO_DATA = "offline", "no_data"


def half_gone(message: EventRef, duration: timedelta, at: datetime,
              issued: datetime | None) -> bool:
    """Whether ``message`` is half-way to its expiry, by the inputs' time ``at`` or the
    issue clock ``issued`` (for a message kept without its expiry: the alert type's
    duration after it was sent)."""
    half = _half(message, duration)
    return at >= message.at + half or (issued is not None and issued >= message.issued + half)


def _half(message: EventRef, duration: timedelta) -> timedelta:
    return ((message.expires or message.issued + duration) - message.issued) / 2


@dataclass(frozen=True)
class Due:
    """When the earliest renewal of a station's open alerts falls due: on the inputs'
    clock (``at``) or the issue clock (``issued``); None: never, as things stand. Valid
    for the one ``state`` and ``expiry`` it was worked out from (states are immutable:
    any change to the station's alerts is a new state)."""

    state: StationState
    expiry: Expiry
    at: datetime | None
    issued: datetime | None

    def reached(self, at: datetime, issued: datetime | None) -> bool:
        return (self.at is not None and at >= self.at) or (
            issued is not None and self.issued is not None and issued >= self.issued)


# Per station, when its renewals fall due. Worked out once per state: walking every open
# alert's CAP messages on every reading was 85 % of the alert process's CPU at 1,000
# readings/s with a few hundred alerts open (py-spy, docs/benchmarks.md), and grows with
# the alerts open -- in a storm, every station's. Skipping a station before its time is
# exact: nothing of it is due (test_properties' twin engines check it).
Schedule = dict[str, Due]


def renew(states: dict[str, StationState], *, at: datetime, issued: datetime | None,
          expiry: Expiry, silenced: Callable[[str], bool],
          schedule: Schedule | None = None) -> tuple[list[Event], list[StationState]]:
    """Renew what is due in every station's open alerts; ``states`` is updated in place.
    ``at``: the inputs' time now (the events' ``at``); ``issued``: the issue clock's
    (None: no wall clock, a replay); ``silenced``: whether a no-data alert covers the
    station; ``schedule``: the engine's, kept between calls (None: look at every alert)."""
    events: list[Event] = []
    changed: list[StationState] = []
    for station, state in states.items():
        if not state.alerts:
            continue
        if schedule is not None:
            due = schedule.get(station)
            if due is None or due.state is not state or due.expiry is not expiry:
                due = schedule[station] = next_due(state, expiry)
            if not due.reached(at, issued):
                continue
        step = Step(state, issued, expiry)
        for alert_type in sorted(state.alerts):
            _renew_alert(step, alert_type, at=at, issued=issued, expiry=expiry,
                         missing=OFFLINE if AlertType.OFFLINE in state.alerts
                         else NO_DATA if silenced(station) else None)
        if step.events:
            states[station] = step.state
            events += step.events
            changed.append(step.state)
    return events, changed


def next_due(state: StationState, expiry: Expiry) -> Due:
    """The earliest moment any of ``state``'s open alerts has a message half-way to its
    expiry: the same messages (``_newest``) and the same test as ``_renew_alert``'s."""
    step = Step(state, None, expiry)
    moments: list[tuple[datetime, datetime]] = []
    for alert_type in state.alerts:
        duration = expiry.of(alert_type)
        for message in _newest(step, alert_type):
            if message is not None:
                half = _half(message, duration)
                moments.append((message.at + half, message.issued + half))
    return Due(state, expiry, min((at for at, _ in moments), default=None),
               min((issued for _, issued in moments), default=None))


def _newest(step: Step, alert_type: AlertType) -> tuple[EventRef | None, EventRef | None]:
    """The messages whose age decides a renewal: the public's newest Public one (for an
    alert residents were told of), and staff's newest own (module docstring)."""
    track = step.state.alerts[alert_type]
    chain = step.chain(alert_type)
    public = chain.public[-1] if alert_type not in STAFF_ONLY \
        and track.confirmed_level > 0 and chain.public else None
    told = {message.event_id for message in chain.public}
    staff_own = chain.every if track.confirmed \
        else tuple(m for m in chain.every if m.event_id not in told) or chain.every
    return public, staff_own[-1] if staff_own else None


def _renew_alert(step: Step, alert_type: AlertType, *, at: datetime,
                 issued: datetime | None, expiry: Expiry, missing: str | None) -> None:
    track = step.state.alerts[alert_type]
    duration = expiry.of(alert_type)
    public, staff = _newest(step, alert_type)
    public_due = public is not None and half_gone(public, duration, at, issued)
    staff_due = staff is not None and half_gone(staff, duration, at, issued)
    if track.confirmed:
        if public_due or staff_due:
            _emit(step, alert_type, track, track.level, confirmed=True, at=at,
                  missing=missing)
        return
    if public_due:
        _emit(step, alert_type, track, track.confirmed_level, confirmed=True, at=at,
              missing=missing)
    if staff_due:
        _emit(step, alert_type, track, track.level, confirmed=False, at=at, missing=missing)


def _emit(step: Step, alert_type: AlertType, track: Track, level: int, *,
          confirmed: bool, at: datetime, missing: str | None) -> None:
    state = step.state
    detail: Detail
    # A forecast warning says its expected time again, as its last event told it.
    told: Detail = _from_now(dict(state.forecast.detail), at) \
        if alert_type is AlertType.FORECAST and state.forecast is not None else {}
    if missing is not None:
        detail = {**told, "data_missing": missing, "last_reading":
                  None if state.last_ts is None else format_ts(state.last_ts)}
    elif told:
        detail = told
    elif state.last_level is not None and alert_type in (AlertType.RIVER_LEVEL,
                                                         AlertType.RATE_OF_RISE):
        detail = {"level_m": state.last_level}
    else:
        detail = {}
    step.emit(alert_type, Transition.RENEWED, level=level, previous=level, at=at,
              cause=Cause(kind="clock"), rule=f"{alert_type.value}.renewal",
              detail=detail, alert_id=track.alert_id, raised_at=track.raised_at,
              confirmed=confirmed)


def _from_now(detail: Detail, at: datetime) -> Detail:
    """A forecast warning's detail said again at ``at``: its ``minutes`` count from the
    renewal, as every forecast event's count from its own time (an hour-old "in 96 min"
    would be wrong by the hour); None once the expected time has passed (alerts.render
    then says by when it was expected)."""
    expected = detail.get("expected_at")
    if not isinstance(expected, str):
        return detail
    left = round((datetime.fromisoformat(expected) - at).total_seconds() / 60)
    return {**detail, "minutes": float(left) if left > 0 else None}
