"""Dead letters: rejected messages, published with their reason for operators.

Published on ``bus.DEADLETTER`` as a ``bus.DeadLetter`` (by ingest for device messages,
by the alert engine and the forecast stage for bus messages they could not use)::

    {"schema_version": 1, "topic": "sensors/river/x", "reason": "unknown_station",
     "detail": "x is not in the registry", "received_at": "...Z",
     "payload": "{\\"level_m\\": 3.1}", "payload_bytes": 17, "truncated": false}

The payload is kept as text (invalid UTF-8 replaced) and cut at ``MAX_PAYLOAD_CHARS``
so that a hostile 1 MB message does not become a 1 MB dead letter.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from floodwatch.core import bus
from floodwatch.core.readings import format_ts

if TYPE_CHECKING:
    from floodwatch.core.mqtt import ReceivedMessage

DEADLETTER_TOPIC = bus.DEADLETTER.name()
MAX_PAYLOAD_CHARS = 1024


def deadletter_payload(
    topic: str, payload: bytes, reason: str, detail: str, received_at: datetime
) -> bytes:
    text = payload[: MAX_PAYLOAD_CHARS * 4].decode("utf-8", errors="replace")
    truncated = len(text) > MAX_PAYLOAD_CHARS or len(payload) > MAX_PAYLOAD_CHARS * 4
    return bus.encode(bus.DeadLetter(
        topic=topic, reason=reason, detail=detail[:500], received_at=format_ts(received_at),
        payload=text[:MAX_PAYLOAD_CHARS], payload_bytes=len(payload), truncated=truncated))


def dead_letter(message: ReceivedMessage, reason: str, detail: str) -> tuple[str, bytes]:
    """(topic, payload) of the dead letter of a bus message a stage could not use."""
    return DEADLETTER_TOPIC, deadletter_payload(message.topic, message.payload, reason,
                                                detail, message.received_at)
