"""Alert types, transitions and the alert event: what the engine decides.

An event is one transition of one station's alert, numbered per station (``seq``) so
consumers can order and de-duplicate; ``event_id`` is ``{station}/{seq}`` and stays the
same when a restart re-sends it. ``alert_id`` is the event id of the event that raised
the alert, so every update names its alert.

``confirmed`` is what keeps a single reading from reaching the public: false means
residents' channels (social media, Public CAP) must not carry the event. Officers see
every event at once; ``alerts.machine`` says when a level counts as confirmed.
``first_confirmed`` names the alert's first confirmed event: where the public's own
account of the alert begins (its first Public CAP message: a CAP Alert, never an
Update of a raise the public never saw). ``references`` are the earlier messages of the
event's audience it supersedes (alerts.machine keeps them per alert).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator


class AlertType(StrEnum):
    RIVER_LEVEL = "river_level"
    RATE_OF_RISE = "rate_of_rise"
    OFFLINE = "offline"
    DATA_QUALITY = "data_quality"
    ROAD_FLOODING = "road_flooding"
    ROAD_ICING = "road_icing"
    # A river gauge expected to reach a reference level (alerts.forecast): raised from
    # the forecast stage's forecasts, handed over to RIVER_LEVEL when the level is reached.
    FORECAST = "forecast"


class Transition(StrEnum):
    RAISED = "raised"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"
    # Enough readings agree with the open alert's level (or an officer said so): from
    # now on residents may be told of it. level == previous_level == that level.
    CONFIRMED = "confirmed"
    # Nothing changed, but the newest message of an audience is half-way to its CAP
    # ``expires``: the same level said again with a new one (alerts.renewal), so that
    # an open alert never lapses at a receiver. level == previous_level.
    RENEWED = "renewed"
    # Same level, but what the alert says moved enough to be news for officers: a
    # forecast warning's expected time (alerts.forecast). level == previous_level.
    UPDATED = "updated"


# Staff's own alert types: never told to residents (CAP Restricted).
STAFF_ONLY = frozenset({AlertType.OFFLINE, AlertType.DATA_QUALITY})


def tells_public(alert_type: AlertType, transition: Transition, confirmed: bool,
                 restricted: bool = False) -> bool:
    """Whether an event is for residents (a CAP Public message): confirmed, of an alert
    type residents are told of, not kept for staff by policy (``restricted``: a forecast
    warning while the rules' ``forecast.public`` is off), and not an officer's
    acknowledgement."""
    return confirmed and not restricted and alert_type not in STAFF_ONLY \
        and transition is not Transition.ACKNOWLEDGED


# The levels each alert type uses; the rules file must label every one of them.
REQUIRED_LEVELS: dict[AlertType, tuple[int, ...]] = {
    AlertType.RIVER_LEVEL: (1, 2, 3, 4, 5),
    AlertType.RATE_OF_RISE: (1,),
    AlertType.OFFLINE: (1,),
    AlertType.DATA_QUALITY: (1,),
    AlertType.ROAD_FLOODING: (1, 2),
    AlertType.ROAD_ICING: (1, 2),
    # The reference levels a forecast warns of by default (rules ``forecast.horizon_s``
    # may name others: the rules check those have labels too).
    AlertType.FORECAST: (3, 4),
}

FLOODING_LEVEL = 5

# The rule of a forecast warning's clear when the river level alert reached its level.
HANDOVER_RULE = "forecast.reached"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Cause(_Frozen):
    """What made the transition: a reading, the clock (offline) or an officer."""

    kind: Literal["reading", "clock", "command"]
    reading_ts: datetime | None = None
    values: dict[str, float | str] | None = None
    command_id: str | None = None
    officer: str | None = None
    note: str | None = None


# How a projection's rate was fitted (alerts.trend): a least-squares line over the whole
# rate window, or over the readings since the rate last changed (a rise starting).
FitMethod = Literal["least_squares_window", "least_squares_since_change"]


class ProjectionBasis(_Frozen):
    """The readings a projection's rate was fitted over."""

    method: FitMethod
    readings: int
    since: datetime  # the first reading of the fit
    span_s: float  # from it to the newest reading


class Projection(_Frozen):
    """When the next reference level is reached at the current rate of rise."""

    level: int
    minutes: int
    rate_m_per_h: float  # the fitted rate (``basis``), not necessarily the alert's
    basis: ProjectionBasis


class EventRef(_Frozen):
    """An earlier event of the same alert, as a CAP ``references`` entry names it:
    its identifier and its ``sent`` (None for one kept before issue times were: its
    reading time was its ``sent`` then), and its CAP ``expires`` (None: not kept)."""

    event_id: str
    at: datetime
    sent: datetime | None = None
    expires: datetime | None = None

    @property
    def issued(self) -> datetime:
        return self.sent or self.at


class Event(_Frozen):
    station: str
    seq: int
    alert_id: str
    alert_type: AlertType
    transition: Transition
    level: int  # 0 once cleared
    previous_level: int
    at: datetime
    raised_at: datetime  # when the alert this event belongs to was raised
    # When the engine issued it (CAP ``sent``, whole seconds): the wall clock, never
    # earlier than a second after the alert's previous event (alerts.machine). None
    # only for an event built by hand: ``at`` stands in for it.
    sent: datetime | None = None
    raise_sent: datetime | None = None  # the raise's ``sent`` (None: not kept then)
    cause: Cause
    rule: str
    confirmed: bool = False  # false: residents' channels must not carry this event
    # The alert's first confirmed event so far: this event itself when it is that first
    # one; None while no event of the alert was confirmed.
    first_confirmed: EventRef | None = None
    detail: dict[str, float | str | None] = {}
    projection: Projection | None = None
    # The earlier messages of its audience this one supersedes (CAP ``references``),
    # oldest first, decided by alerts.machine when the event is issued. None for an
    # event built by hand: the profile then references the audience's first message.
    references: tuple[EventRef, ...] | None = None
    # Kept for staff by policy, whatever its confirmation (a forecast warning while the
    # rules' ``forecast.public`` is off): CAP Restricted, never on residents' channels.
    restricted: bool = False

    @model_validator(mode="after")
    def _told_from_somewhere(self) -> Event:
        # A confirmed event without it would be rendered as if it began the public's
        # account of the alert (a CAP Alert): never guessed.
        if self.confirmed and self.first_confirmed is None:
            raise ValueError("a confirmed event names the alert's first confirmed event")
        return self

    @property
    def event_id(self) -> str:
        return f"{self.station}/{self.seq}"

    @property
    def issued(self) -> datetime:
        return self.sent or self.at

    @property
    def public(self) -> bool:
        return tells_public(self.alert_type, self.transition, self.confirmed,
                            self.restricted)

    @property
    def handed_over(self) -> bool:
        """A forecast warning ended because the level it expected was reached: the level
        alert took over. Never an all-clear (alerts.forecast)."""
        return self.alert_type is AlertType.FORECAST \
            and self.transition is Transition.CLEARED and self.rule == HANDOVER_RULE


class NoDataEvent(_Frozen):
    """Readings stopped arriving from most of a basin's stations, or of all of them: one
    alert for officers about the data flow (a pipeline, network or power failure), in
    place of one offline alert per gauge. Numbered engine-wide."""

    scope: str  # "all" (a partition: "basins/{a,b}"), or "basin/{basin}"
    seq: int
    alert_id: str
    transition: Literal[Transition.RAISED, Transition.CLEARED]
    at: datetime
    stations: tuple[str, ...]  # the scope's silent stations (at the raise)
    silent: int  # how many of the scope's stations were silent
    total: int  # of how many (those not already offline on their own)
    last_reading: datetime | None  # the newest reading time the engine had then

    @property
    def event_id(self) -> str:
        # "_" is in no station id: never an alert's id. The scope keeps the ids of two
        # engines (partitions) apart.
        return f"no_data:{self.scope}/{self.seq}"
