"""Dead letters: rejected messages, published with their reason for operators.

Published on ``bus.DEADLETTER`` as a ``bus.DeadLetter`` (by ingest for device messages,
by the alert engine for bus messages it could not evaluate)::

    {"schema_version": 1, "topic": "sensors/river/x", "reason": "unknown_station",
     "detail": "x is not in the registry", "received_at": "...Z",
     "payload": "{\\"level_m\\": 3.1}", "payload_bytes": 17, "truncated": false}

The payload is kept as text (invalid UTF-8 replaced) and cut at ``MAX_PAYLOAD_CHARS``
so that a hostile 1 MB message does not become a 1 MB dead letter.
"""

from __future__ import annotations

from datetime import datetime

from floodwatch.core import bus
from floodwatch.core.readings import format_ts

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
