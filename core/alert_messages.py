"""The alert engine's messages: each alert event (with its projection, its cause and its
CAP fields), each station's retained status, and each no-data alert (docs/alerts.md).

Part of the bus contract: consumers import these from floodwatch.core.bus.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from floodwatch.core.message_base import LocalText, _Message

EVENT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}/[0-9]{1,18}$")


class ProjectionBasisMessage(BaseModel):
    # The readings the projection's rate was fitted over (docs/alerts.md, Projection).
    model_config = ConfigDict(frozen=True, extra="forbid")
    method: Literal["least_squares_window", "least_squares_since_change"]
    readings: int
    since: str  # the first reading of the fit, format_ts
    span_s: float


class ProjectionMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    level: int
    level_name: str
    minutes: int
    rate_m_per_h: float  # the fitted rate; detail.rate_m_per_h is the alert rule's
    text: LocalText | None
    basis: ProjectionBasisMessage


class CauseMessage(BaseModel):
    # The engine's alerts.model.Cause on the wire: times as text in format_ts's one form.
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["reading", "clock", "command"]
    reading_ts: str | None = None
    values: dict[str, float | str] | None = None
    command_id: str | None = None
    officer: str | None = None
    note: str | None = None


class CapFieldsMessage(BaseModel):
    """What the event's CAP message says beyond the event (docs/cap.md), for a consumer
    of the JSON that never parses the XML: times in CAP's form (JST, +09:00)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    identifier: str
    sent: str  # when the engine issued it (never earlier than the alert's previous)
    expires: str
    msg_type: Literal["Alert", "Update"]
    scope: Literal["Public", "Restricted"]
    response_type: str  # CAP 1.2 responseType: Evacuate, Shelter, ..., AllClear
    instruction: LocalText | None  # the advice residents' posts carry


class AlertEventMessage(_Message):
    event_id: str = Field(pattern=EVENT_ID_RE.pattern)
    seq: int
    station: str
    kind: str
    alert_id: str
    alert_type: str
    # "renewed" (the same level said again before its CAP expires) and "updated" (a
    # forecast warning's expected time moved) came later: a consumer must treat a
    # transition it does not know as no news for residents.
    transition: Literal["raised", "escalated", "deescalated", "acknowledged", "cleared",
                        "confirmed", "renewed", "updated"]
    level: int  # 0 once cleared
    previous_level: int
    level_name: str
    label: LocalText
    official: LocalText | None
    alert_level: int | None
    headline: LocalText
    at: str
    rule: str
    detail: dict[str, float | str | None]
    projection: ProjectionMessage | None
    cause: CauseMessage
    # false: residents' channels (social media, Public CAP) must not carry this event.
    confirmed: bool
    # Added with the CAP profile (an engine from before it leaves it out): the same
    # identifier, sent, expires, msgType, scope, responseType and instruction as the
    # event's CAP message on bus.CAP.
    cap: CapFieldsMessage | None = None

    @field_serializer("cause")
    def _cause_without_unset(self, cause: CauseMessage) -> dict[str, Any]:
        return cause.model_dump(mode="json", exclude_none=True)


class StatusPublicLevel(BaseModel):
    """The level of an alert residents were last told of (a confirmed one), as a status
    names it while a higher level waits for its confirmation."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    level: int
    level_name: str
    label: LocalText
    official: LocalText | None
    alert_level: int | None


class StatusAlert(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    alert_id: str
    alert_type: str
    level: int
    level_name: str
    label: LocalText
    official: LocalText | None
    alert_level: int | None
    raised_at: str
    # When the alert reached its current level (format_ts); None: the engine's state
    # predates it. Added later: a reader treats it as optional.
    level_since: str | None = None
    acknowledged: bool
    confirmed: bool  # false: residents have not been told of this level (yet)
    # While ``confirmed`` is false: the level they were told of (None: none yet). Public
    # views show this one, so a station told at 3 stays listed while 4 is unconfirmed.
    public: StatusPublicLevel | None = None


class StatusMessage(_Message):
    station: str
    kind: str
    seq: int
    offline: bool
    flooding_declared: bool
    alerts: list[StatusAlert]
    no_data: StatusNoData | None = None


class NoDataMessage(_Message):
    event_id: str  # "no_data:{scope}/{seq}", numbered by the engine
    alert_id: str  # the event id of the raise
    scope: str  # "all" (or "basins/{a,b}" for a partition), or "basin/{basin}"
    transition: Literal["raised", "cleared"]
    at: str
    stations: list[str]  # the scope's silent stations when it was raised
    silent: int
    total: int  # the scope's stations not already offline on their own
    last_reading: str | None  # the newest reading time the engine had
    headline: LocalText


class StatusNoData(BaseModel):
    """The open no-data alert that found this station silent with most of its scope."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    alert_id: str
    scope: str
    raised_at: str
    last_reading: str | None
