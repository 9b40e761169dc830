"""Per-station alert state: what must survive a restart to neither repeat nor miss.

Everything here is persisted (as JSON, in SQLite) in the same transaction as the events
it led to: open alerts and their hold timers, the sequence number, the last reading's
time (for duplicates and out-of-order readings), the data-quality memory and the
rate-of-rise window.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from floodwatch.alerts.model import AlertType, EventRef
from floodwatch.core.quality import FieldMemory


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Track(_State):
    """One open alert. ``below_since``: reading time since which the value has been
    below the current level's deadband (the hold timer); None when it is not.
    ``confirmed_level``: the highest level residents may know of (see alerts.machine);
    ``agreeing``: readings in a row that agreed with a level not yet confirmed;
    ``first_confirmed``: the alert's first confirmed event (set with the first
    ``confirmed_level`` above 0, kept until the alert clears); ``level_since``: when it
    moved to its current ``level`` (the raise, or the last escalation or de-escalation),
    which officers read as "reached flooding at 08:00", not the raise at standby."""

    alert_id: str
    level: int
    raised_at: datetime
    acknowledged: bool = False
    below_since: datetime | None = None
    confirmed_level: int  # required: a new alert's confirmation is always decided
    agreeing: int = 0
    first_confirmed: EventRef | None = None
    raise_sent: datetime | None = None  # the raise's CAP ``sent`` (None: saved before)
    level_since: datetime | None = None  # None: saved before it was kept (not known)
    # Kept for staff by policy when it was raised (a forecast warning while the rules'
    # ``forecast.public`` is off): every event of the alert is Restricted.
    restricted: bool = False

    @model_validator(mode="before")
    @classmethod
    def _published_before_confirmation(cls, data: Any) -> Any:
        # A track saved before confirmation existed was published at once, to everyone:
        # residents know its level, and its all-clear must reach them.
        if isinstance(data, dict) and "confirmed_level" not in data and "level" in data:
            data = {**data, "confirmed_level": data["level"]}
        # Saved before the first confirmed event was kept: residents were told by the
        # raise (before confirmation) or by an event no longer known; the raise is the
        # reference that starts no second account of the alert.
        if isinstance(data, dict) and "first_confirmed" not in data \
                and data.get("confirmed_level", 0) > 0 and "alert_id" in data:
            data = {**data, "first_confirmed": {"event_id": data["alert_id"],
                                                "at": data.get("raised_at")}}
        return data

    @property
    def confirmed(self) -> bool:
        return self.confirmed_level >= self.level


class Chain(_State):
    """The CAP messages of one open alert, oldest first, per audience: ``every`` one
    (what staff's Restricted messages reference) and the ``public`` ones (what the next
    Public message references). A message whose ``expires`` has passed is dropped when
    the next one is issued (no receiver still holds it, so there is nothing left to
    supersede), except each audience's first: so an alert keeps at most the messages of
    one expiry duration, plus its first -- a dead gauge renewed for weeks does not grow
    its references without end."""

    every: tuple[EventRef, ...] = ()
    public: tuple[EventRef, ...] = ()


class ForecastMemory(_State):
    """What the forecast warning remembers of the forecasts (alerts.forecast):
    ``issued_at`` and ``made_at`` of the newest one evaluated (a retained forecast
    delivered again is not a second agreeing forecast; one of the same issue time made
    later replaces it); ``announced``: the expected crossing time the alert's newest
    event told (an update is news only when the time moves far from it); ``detail``:
    that event's forecast detail, which a renewal repeats.

    ``up_before``, ``agreeing_before``, ``level_before``: the warning's counts before
    the first forecast of ``issued_at`` was evaluated (machine.evaluate's up count
    towards ``confirm_forecasts``, the track's ``agreeing`` and its level), so that a
    replacement is counted in place of the forecast it replaces, never as a second one.
    A state saved before they were kept loads with none of them (``made_at`` None: a
    forecast of the same issue time is then a duplicate, as it was)."""

    issued_at: datetime
    made_at: datetime | None = None
    up_before: int = 0
    agreeing_before: int = 0
    level_before: int = 0
    announced: datetime | None = None
    detail: dict[str, float | str | None] = {}


class StationState(_State):
    station: str
    seq: int = 0
    last_ts: datetime | None = None  # newest reading evaluated
    heard_at: datetime | None = None  # engine clock when it was last heard from
    alerts: dict[AlertType, Track] = {}
    up_counts: dict[AlertType, int] = {}
    window: tuple[tuple[datetime, float], ...] = ()  # (ts, level_m) for the rate of rise
    last_level: float | None = None  # last level that passed the data-quality checks
    fields: dict[str, FieldMemory] = {}
    quality_good_run: int = 0
    flooding_declared: bool = False
    # The ``sent`` of each open alert's newest event: the next one is issued at least a
    # second later, so an alert's messages never go back in time (docs/cap.md).
    last_sent: dict[AlertType, datetime] = {}
    # Each open alert's CAP messages (what the next one references, and when the
    # newest is due for renewal); absent for an alert opened before they were kept.
    chains: dict[AlertType, Chain] = {}
    forecast: ForecastMemory | None = None  # None: no forecast evaluated yet

    def level_of(self, alert_type: AlertType) -> int:
        track = self.alerts.get(alert_type)
        return 0 if track is None else track.level


class Clock(_State):
    """The engine's event-time clock: ``origin`` is the first reading time it ever saw,
    and ``watermark`` the latest. Only readings move it: wall time never does (see
    alerts.silence for how wall time still reveals a pipeline that stopped)."""

    origin: datetime | None = None
    watermark: datetime | None = None


class NoDataTrack(_State):
    """One open "no data" alert of a scope (``all``, or ``basin/{basin}``)."""

    alert_id: str
    raised_at: datetime
    stations: tuple[str, ...]  # the scope's stations that were silent when it was raised
    last_reading: datetime | None  # the newest reading time when it was raised


class NoDataState(_State):
    """The engine's "no data" alerts: numbered engine-wide, at most one open per scope."""

    seq: int = 0
    open: dict[str, NoDataTrack] = {}
