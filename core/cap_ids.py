"""floodwatch's CAP identifiers: ``floodwatch:{deployment_id}:{instance}:{event_id}``
(docs/cap.md). The instance is random, made with the alert engine's state, so neither
another deployment with the same sender nor this one after a state reset repeats an
identifier; receivers de-duplicating on sender + identifier never drop a new alert.

Identifiers of engines from before this form, ``floodwatch:{event_id}``, are still read
(a message queued across the upgrade is delivered, not dropped).
"""

from __future__ import annotations

import re

from floodwatch.core.bus import EVENT_ID_RE

CAP_IDENTIFIER_PREFIX = "floodwatch:"
DEPLOYMENT_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
# "{deployment_id}:{instance}": who issued an identifier (alerts.store.cap_namespace).
CAP_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}:[0-9a-f]{8,32}$")


def cap_identifier(namespace: str, event_id: str) -> str:
    """``namespace``: "{deployment_id}:{instance}" of the engine that issued the event."""
    return f"{CAP_IDENTIFIER_PREFIX}{namespace}:{event_id}"


def cap_identifier_event_id(identifier: str) -> str | None:
    """The event id inside one of our CAP identifiers (of either form); None for any
    other identifier."""
    if not identifier.startswith(CAP_IDENTIFIER_PREFIX):
        return None
    rest = identifier.removeprefix(CAP_IDENTIFIER_PREFIX)
    if EVENT_ID_RE.match(rest):  # an engine from before deployment namespaces
        return rest
    namespace, _, event_id = rest.rpartition(":")
    if not CAP_NAMESPACE_RE.match(namespace) or not EVENT_ID_RE.match(event_id):
        return None
    return event_id
