"""What every bus message is built on, and the two messages of the pipeline's plumbing.

The shared pieces: the schema version, the frozen pydantic base that refuses keys it
does not know (``_Message``), the Japanese and English text of alert events, statuses
and no-data alerts (``LocalText``), and the one JSON form a pydantic message takes
(``encode``). The other message modules (core.alert_messages, core.command_messages,
core.forecast_messages) build on them and none imports another, so there is no cycle.
Consumers import all of it from floodwatch.core.bus, the contract's one module.

The two messages that belong to no stage's domain live here too: each validated reading
(``ReadingMessage``) and each message a stage could not use (``DeadLetter``).
"""

from __future__ import annotations

from typing import Literal

import msgspec
from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 1


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


# Private: a base, never a message of its own; only the contract's modules subclass it.
class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_version: Literal[1] = 1  # SCHEMA_VERSION


class LocalText(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    ja: str
    en: str


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
