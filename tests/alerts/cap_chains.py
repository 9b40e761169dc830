"""What each CAP message of an alert must reference (docs/cap.md): CAP 1.2 says an
Update supersedes the messages it references, so each one names every earlier message
its audience may still hold -- a Public message every earlier Public one, a Restricted
one every earlier message of the alert -- and the first message of an audience is an
Alert that references nothing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from lxml import etree

from tests.cap_support import CAP


def triple(document: etree._Element) -> str:
    return ",".join(document.findtext(f"{CAP}{tag}") or ""
                    for tag in ("sender", "identifier", "sent"))


def _time(document: etree._Element, path: str) -> datetime:
    return datetime.fromisoformat(document.findtext(f"{CAP}{path}") or "")


def by_alert(documents: Iterable[tuple[str, etree._Element]]
             ) -> dict[str, list[etree._Element]]:
    """(alert id, CAP document) in the engine's order -> each alert's messages."""
    alerts: dict[str, list[etree._Element]] = {}
    for alert_id, document in documents:
        alerts.setdefault(alert_id, []).append(document)
    return alerts


def assert_each_supersedes_every_earlier(alerts: dict[str, list[etree._Element]]) -> int:
    """Returns how many messages referenced more than one earlier message."""
    several = 0
    for alert_id, documents in alerts.items():
        for n, document in enumerate(documents):
            public = document.findtext(f"{CAP}scope") == "Public"
            earlier = [d for d in documents[:n]
                       if not public or d.findtext(f"{CAP}scope") == "Public"]
            where = (alert_id, document.findtext(f"{CAP}identifier"))
            if not earlier:
                assert document.findtext(f"{CAP}msgType") == "Alert", where
                assert document.find(f"{CAP}references") is None, where
                continue
            # An expired message is held by no receiver: only the audience's first (its
            # Alert) is named once it has expired.
            sent = _time(document, "sent")
            named = earlier[:1] + [d for d in earlier[1:]
                                   if _time(d, f"info/{CAP}expires") > sent]
            assert document.findtext(f"{CAP}msgType") == "Update", where
            assert document.findtext(f"{CAP}references") == " ".join(
                triple(d) for d in named), where
            several += len(named) > 1
    return several
