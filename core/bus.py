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

This module defines nothing itself: consumers import everything from here, and each
group is written in a module of its own, which re-exported here reads as one contract:

- the topics: core.topics;
- the schema version, the messages' base and ``LocalText``, ``encode``, and the
  reading and dead-letter messages: core.message_base;
- alert events, statuses and no-data alerts: core.alert_messages;
- officers' commands, ``encode_command`` and command rejections: core.command_messages;
- forecasts: core.forecast_messages.
"""

from __future__ import annotations

from floodwatch.core.alert_messages import (
    EVENT_ID_RE,
    AlertEventMessage,
    CapFieldsMessage,
    CauseMessage,
    NoDataMessage,
    ProjectionBasisMessage,
    ProjectionMessage,
    StatusAlert,
    StatusMessage,
    StatusNoData,
    StatusPublicLevel,
)
from floodwatch.core.command_messages import (
    COMMAND_VERBS,
    AcknowledgeCommand,
    CommandRejection,
    FloodingCommand,
    encode_command,
)
from floodwatch.core.forecast_messages import (
    ForecastCrossingMessage,
    ForecastInputMessage,
    ForecastMessage,
    ForecastPointMessage,
)
from floodwatch.core.message_base import (
    SCHEMA_VERSION,
    DeadLetter,
    LocalText,
    ReadingMessage,
    encode,
)
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

# Everything above, the topics and the messages alike: the contract is read as one module
# (the imports say which module each name is written in).
__all__ = [
    "ALERTS",
    "CAP",
    "COMMANDS",
    "COMMAND_REJECTIONS",
    "COMMAND_VERBS",
    "DEADLETTER",
    "DEVICE",
    "EDXL",
    "EVENT_ID_RE",
    "FORECASTS",
    "NETWORK",
    "NO_DATA",
    "READINGS",
    "SCHEMA_VERSION",
    "STATUS",
    "TOPICS",
    "AcknowledgeCommand",
    "AlertEventMessage",
    "CapFieldsMessage",
    "CauseMessage",
    "CommandRejection",
    "DeadLetter",
    "FloodingCommand",
    "ForecastCrossingMessage",
    "ForecastInputMessage",
    "ForecastMessage",
    "ForecastPointMessage",
    "LocalText",
    "NoDataMessage",
    "ProjectionBasisMessage",
    "ProjectionMessage",
    "ReadingMessage",
    "Stage",
    "StatusAlert",
    "StatusMessage",
    "StatusNoData",
    "StatusPublicLevel",
    "Topic",
    "commands_for",
    "encode",
    "encode_command",
    "shared",
]
