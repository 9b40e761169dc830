"""Officers' commands to the alert engine (acknowledge an alert, declare or end
flooding), their encoding, and the engine's rejection of one it refused.

Part of the bus contract: consumers import these from floodwatch.core.bus.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from floodwatch.core.message_base import _Message
from floodwatch.core.text import OneLineText


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


def encode_command(command: AcknowledgeCommand | FloodingCommand) -> bytes:
    """A command leaves out what is at its default: a ``note`` not given, and
    ``schema_version`` while it is 1, so that an alert engine from before the contract
    (which refuses keys it does not know) accepts it while the stages are upgraded one
    by one."""
    return command.model_dump_json(exclude_defaults=True).encode()


class CommandRejection(_Message):
    topic: str
    command_id: str | None
    reason: str
    rejected_at: str
