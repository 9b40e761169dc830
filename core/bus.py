"""The bus contract: every MQTT topic floodwatch uses, and the model of every message.

One place for what the stages say to each other (and what devices and the disaster
network say to floodwatch), so a producer and its consumers cannot drift apart:

- producers build their messages from these models;
- consumers keep tolerant readers (unknown keys ignored, so a producer may add a field
  without stopping an older consumer) that are tested against these models;
- the broker ACL (floodwatch.broker_acl) and the README's bus table
  (``floodwatch settings --write README.md``) are generated from ``TOPICS``.

Every message carries ``schema_version``. A change that an older consumer could misread
(a renamed or retyped field, a changed meaning) raises it; adding a field does not.
The CAP 1.2 documents are XML whose schema is CAP's own; their identifiers are
core.cap_ids's.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer

from floodwatch.core.text import OneLineText
from floodwatch.core.topics import (
    ALERTS,
    CAP,
    COMMAND_REJECTIONS,
    COMMANDS,
    DEADLETTER,
    DEVICE,
    EDXL,
    FORECASTS,
    NETWORK,
    NO_DATA,
    READINGS,
    STATUS,
    TOPICS,
    Stage,
    Topic,
    commands_for,
    shared,
)

__all__ = [  # the topics, from core.topics: the contract is read as one module
    "ALERTS",
    "CAP",
    "COMMANDS",
    "COMMAND_REJECTIONS",
    "DEADLETTER",
    "DEVICE",
    "EDXL",
    "FORECASTS",
    "NETWORK",
    "NO_DATA",
    "READINGS",
    "STATUS",
    "TOPICS",
    "Stage",
    "Topic",
    "commands_for",
    "shared",
]

SCHEMA_VERSION = 1
EVENT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}/[0-9]{1,18}$")


# --- messages -----------------------------------------------------------------------

class ReadingMessage(msgspec.Struct, frozen=True):
    """A validated reading. A msgspec Struct, not pydantic: it is encoded once per reading
    on ingest's hot path (core.readings.Reading.to_json says what that costs)."""

    station: str
    kind: str
    ts: str  # RFC 3339 UTC, core.readings.format_ts
    ts_source: Literal["device", "received"]
    received_at: str
    values: dict[str, float | str]
    schema_version: int = SCHEMA_VERSION


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_version: Literal[1] = 1  # SCHEMA_VERSION


class LocalText(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    ja: str
    en: str


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


class _Command(_Message):
    command_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    issued_at: AwareDatetime
    officer: OneLineText = Field(min_length=1, max_length=64)
    note: OneLineText | None = Field(default=None, max_length=500)


class AcknowledgeCommand(_Command):
    alert_id: OneLineText = Field(min_length=1, max_length=100)
    # The level the officer saw and confirmed; refused when the alert has moved since,
    # so a confirmation given for 警戒レベル4 never acknowledges a 5 (absent: any level).
    level: int | None = Field(default=None, ge=0, le=9)


class FloodingCommand(_Command):
    action: Literal["declare", "end"]


COMMAND_VERBS: dict[str, type[AcknowledgeCommand] | type[FloodingCommand]] = {
    "acknowledge": AcknowledgeCommand, "flooding": FloodingCommand}


class ForecastPointMessage(BaseModel):
    """The forecast level at one lead time: the median and the band around it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    lead_min: int  # 10, 20, ... 180
    at: str  # issued_at + lead, format_ts
    level_m: float  # the median forecast
    low_m: float  # the band's lower bound (docs/forecast.md says which quantile)
    high_m: float  # the band's upper bound


class ForecastInputMessage(BaseModel):
    """One input of the forecast and what it weighs, so an officer can see why the
    forecast says what it says (no black box)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str  # "trend", "upstream:akutsu", "rain:fushiguro", ...
    detail: str  # one line, e.g. "akutsu's rise over the last 60 min, 80 min travel"
    value: float  # the input's value at issue time, in its unit
    unit: str  # "m", "m/h", "mm", ...
    weights: list[float]  # per point (the same order as ``points``): metres per unit


class ForecastCrossingMessage(BaseModel):
    """When the median forecast first reaches a reference level the gauge is below."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    level: int  # the river alert level: 1 standby ... 4 danger, 5 flooding
    level_name: str  # "danger"
    at: str  # format_ts
    minutes: int  # from issued_at


class ForecastMessage(_Message):
    """A river gauge's level forecast, issued on one of its readings (bus.FORECASTS)."""

    station: str
    issued_at: str  # the time of the reading it was issued on, format_ts
    made_at: str  # when the forecast stage computed it (wall clock), format_ts
    level_m: float  # the level of that reading: where every point starts from
    # "model": the fitted per-gauge model; "trend": the gauge's own trend, with the
    # reason in ``fallback`` (thin history, an input missing or flagged, ...).
    method: Literal["model", "trend"]
    fallback: str | None = None
    fitted_at: str | None = None  # when the model was fitted, format_ts
    inputs: list[ForecastInputMessage]
    points: list[ForecastPointMessage]
    crossings: list[ForecastCrossingMessage]


class CommandRejection(_Message):
    topic: str
    command_id: str | None
    reason: str
    rejected_at: str


class DeadLetter(_Message):
    topic: str
    reason: str
    detail: str
    received_at: str
    payload: str  # as text, invalid UTF-8 replaced, cut (``truncated``)
    payload_bytes: int
    truncated: bool


def encode(message: _Message) -> bytes:
    """Compact UTF-8 JSON, the one form every pydantic bus message takes."""
    return message.model_dump_json().encode()


def encode_command(command: AcknowledgeCommand | FloodingCommand) -> bytes:
    """A command leaves out what is at its default: a ``note`` not given, and
    ``schema_version`` while it is 1, so that an alert engine from before the contract
    (which refuses keys it does not know) accepts it while the stages are upgraded one
    by one."""
    return command.model_dump_json(exclude_defaults=True).encode()
