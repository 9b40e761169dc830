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
The CAP 1.2 documents are XML whose schema is CAP's own; their ``identifier`` is
``floodwatch:{deployment_id}:{instance}:{event_id}`` (``cap_identifier``; docs/cap.md):
the instance is random, made with the alert engine's state, so neither another
deployment with the same sender nor this one after a state reset repeats an identifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer

from floodwatch.core.registry import StationKind

SCHEMA_VERSION = 1
Stage = Literal["devices", "ingest", "alerts", "notify", "api", "operators", "network"]
EVENT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}/[0-9]{1,18}$")
CAP_IDENTIFIER_PREFIX = "floodwatch:"
DEPLOYMENT_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
# "{deployment_id}:{instance}": who issued an identifier (alerts.store.cap_namespace).
CAP_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}:[0-9a-f]{8,32}$")


@dataclass(frozen=True)
class Topic:
    """One topic family: how a topic is named, how consumers subscribe, who uses it."""

    template: str  # "floodwatch/alerts/{station}"
    filters: tuple[str, ...]  # what consumers subscribe to
    payload: str  # the model (or format) of its messages, for the README
    producers: tuple[Stage, ...]
    consumers: tuple[Stage, ...]
    meaning: str
    retained: bool = False

    def name(self, **parts: str) -> str:
        return self.template.format(**parts)

    @property
    def prefix(self) -> str:
        """The fixed start every topic of this family has."""
        return self.template.split("{", 1)[0]


def _kinds(template: str) -> tuple[str, ...]:
    return tuple(template.format(kind=kind.value, station="+") for kind in StationKind)


DEVICE = Topic(
    "sensors/{kind}/{station}", _kinds("sensors/{kind}/{station}"),
    "device JSON or SenML (see Device contract)", ("devices",), ("ingest",),
    "one station's readings, from its own device")
READINGS = Topic(
    "floodwatch/readings/{kind}/{station}", ("floodwatch/readings/#",), "ReadingMessage",
    ("ingest",), ("alerts", "api"), "each validated reading, times in UTC (`...Z`)")
DEADLETTER = Topic(
    "floodwatch/deadletter", ("floodwatch/deadletter",), "DeadLetter", ("ingest", "alerts"),
    ("operators",), "each message a stage could not use, with the reason")
ALERTS = Topic(
    "floodwatch/alerts/{station}", ("floodwatch/alerts/+",), "AlertEventMessage",
    ("alerts",), ("notify", "api"), "each alert event (docs/alerts.md)")
CAP = Topic(
    "floodwatch/cap/{station}", ("floodwatch/cap/+",), "CAP 1.2 XML", ("alerts",),
    ("notify",), "the same event as CAP 1.2 (docs/cap.md), `identifier` "
    "`floodwatch:{deployment_id}:{instance}:{event_id}`")
# For partner systems subscribed on the bus broker (an L-Alert relay); notify does not
# read it (docs/edxl.md says what a notify channel for it would need).
EDXL = Topic(
    "floodwatch/edxl/{station}", ("floodwatch/edxl/+",), "EDXL-DE 1.0 XML", ("alerts",),
    ("network",), "the same CAP in an EDXL-DE 1.0 envelope, `distributionID` "
    "`{identifier}:edxl` (docs/edxl.md)")
STATUS = Topic(
    "floodwatch/status/{station}", ("floodwatch/status/+",), "StatusMessage", ("alerts",),
    ("notify", "api"), "the station's current alert state", retained=True)
# The open ones are also in each silent station's status (StatusMessage.no_data), which
# is how notify, the API and the dashboard see them.
NO_DATA = Topic(
    "floodwatch/no-data", ("floodwatch/no-data",), "NoDataMessage", ("alerts",),
    ("operators",), "for officers: most stations of a basin or of all fell silent at "
    "once, and when data flows again (docs/alerts.md)")
COMMANDS = Topic(
    "floodwatch/commands/{verb}/{station}", ("floodwatch/commands/#",),
    "AcknowledgeCommand (verb `acknowledge`), FloodingCommand (verb `flooding`)", ("api",),
    ("alerts",), "officers' commands; answered by an alert event with `cause.command_id`")
COMMAND_REJECTIONS = Topic(
    "floodwatch/command-rejections", ("floodwatch/command-rejections",), "CommandRejection",
    ("alerts",), ("operators",), "a command the engine refused, with the reason")
# The disaster network's topics are notify's settings (config/notify.yaml); these are
# their defaults, and the ACL grants notify the family on the bus broker.
NETWORK = Topic(
    "bousai/floodwatch/{part}/{station}", ("bousai/floodwatch/#",),
    "`cap`: CAP 1.2 XML, `alerts`: AlertEventMessage, `status`: StatusMessage (retained); "
    "`edxl`: EDXL-DE 1.0 XML when configured",
    ("notify",), ("network",), "what the disaster network receives (docs/notify.md)")

TOPICS: tuple[Topic, ...] = (DEVICE, READINGS, DEADLETTER, ALERTS, CAP, EDXL, STATUS,
                             NO_DATA, COMMANDS, COMMAND_REJECTIONS, NETWORK)


def shared(topic_filter: str, group: str) -> str:
    """An MQTT 5 shared subscription: the group's subscribers split the messages."""
    return f"$share/{group}/{topic_filter}"


def commands_for(station: str) -> str:
    """The filter of every command to one station (a partitioned alert engine)."""
    return COMMANDS.name(verb="+", station=station)


def cap_identifier(namespace: str, event_id: str) -> str:
    """``namespace``: "{deployment_id}:{instance}" of the engine that issued the event."""
    return f"{CAP_IDENTIFIER_PREFIX}{namespace}:{event_id}"


def cap_identifier_event_id(identifier: str) -> str | None:
    """The event id inside one of our CAP identifiers; None for any other identifier."""
    if not identifier.startswith(CAP_IDENTIFIER_PREFIX):
        return None
    namespace, _, event_id = identifier.removeprefix(CAP_IDENTIFIER_PREFIX).rpartition(":")
    if not CAP_NAMESPACE_RE.match(namespace) or not EVENT_ID_RE.match(event_id):
        return None
    return event_id


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
    # "renewed" (the same level said again before its CAP expires) came later: a
    # consumer must treat a transition it does not know as no news for residents.
    transition: Literal["raised", "escalated", "deescalated", "acknowledged", "cleared",
                        "confirmed", "renewed"]
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
    officer: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=500)


class AcknowledgeCommand(_Command):
    alert_id: str = Field(min_length=1, max_length=100)


class FloodingCommand(_Command):
    action: Literal["declare", "end"]


COMMAND_VERBS: dict[str, type[AcknowledgeCommand] | type[FloodingCommand]] = {
    "acknowledge": AcknowledgeCommand, "flooding": FloodingCommand}


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
