"""One alert event as CAP 1.2 XML, exactly as the alert engine rendered it and stored it
in ``alert_event.cap_xml`` (the API never renders CAP itself: one renderer, one truth).

CAP messages whose ``scope`` is not ``Public`` (offline and data-quality alerts and
officers' acknowledgements, which are for staff, and an escalation no second reading
has confirmed yet) are served only to
callers with a key, even when public read is on. Without a key, an alert's "newest"
message is the newest Public one: a pending confirmation does not hide what the public
was already told.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from xml.etree import ElementTree as ET

import structlog
from fastapi import APIRouter, Query, Request, Response

from floodwatch.api.alert_history import AlertNumber, StationPath, unknown_alert
from floodwatch.api.alert_store import StoredCap, alert_caps
from floodwatch.api.deps import InfluxDep, PublicReader, RegistryDep, SettingsDep
from floodwatch.api.http_cache import (
    ISSUED_MAX_AGE_S,
    KEY_HEADERS,
    NOT_MODIFIED,
    REVALIDATE,
    cache_control,
    conditional,
)
from floodwatch.api.problems import ProblemError, problem_responses, unknown_station

log = structlog.get_logger("api.cap")

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

CAP_MEDIA_TYPE = "application/cap+xml"
CAP_NS = "{urn:oasis:names:tc:emergency:cap:1.2}"
EXAMPLE_CAP = ("<?xml version='1.0' encoding='utf-8'?><alert xmlns=\"urn:oasis:names:tc:"
               "emergency:cap:1.2\"><identifier>floodwatch:pref-a:3f9a1c2e5b7d4e60:sukagawa/2"
               "</identifier>"
               "<sender>bousai@pref.example.jp</sender><sent>2026-11-28T10:00:00+09:00</sent>"
               "<status>Actual</status><msgType>Update</msgType><scope>Public</scope>"
               "...</alert>")


# How far back the public's newest looks for a Public message: past the staff-only events
# an alert has in a row (unconfirmed escalations, acknowledgements, their Restricted
# renewals -- a Public renewal comes at least as often, so a long alert stays in reach).
PUBLIC_LOOKBACK = 100


@dataclass(frozen=True, slots=True)
class CapSummary:
    """What an index of CAP messages (the Atom feed) shows of one."""

    identifier: str
    sent: str
    msg_type: str
    scope: str
    headlines: dict[str, str]  # CAP language (ja-JP, en-US) -> headline
    area: str | None


def summarize(cap_xml: str) -> CapSummary | None:
    """None for a document that does not parse (never expected: it is logged)."""
    try:
        # The document is the alert engine's own output read back from our database,
        # not input from outside; expat resolves no external entities.
        root = ET.fromstring(cap_xml)  # noqa: S314
    except ET.ParseError as exc:
        log.error("stored CAP XML does not parse", error=str(exc))
        return None

    def text(parent: ET.Element, tag: str) -> str:
        return (parent.findtext(CAP_NS + tag) or "").strip()

    headlines = {}
    area = None
    for info in root.findall(CAP_NS + "info"):
        headlines[text(info, "language") or "en-US"] = text(info, "headline")
        area = area or (info.findtext(f"{CAP_NS}area/{CAP_NS}areaDesc") or None)
    return CapSummary(text(root, "identifier"), text(root, "sent"), text(root, "msgType"),
                      text(root, "scope"), headlines, area)


def is_public(stored: StoredCap) -> bool:
    summary = None if stored.cap_xml is None else summarize(stored.cap_xml)
    return summary is not None and summary.scope == "Public"


def staff_only() -> ProblemError:
    return ProblemError(401, "unauthorized", "Unauthorized",
                        "this CAP message is for staff only (scope Restricted): "
                        "a valid API key is required")


@router.get(
    "/{station_id}/{number}/cap", response_class=Response,
    summary="One alert event as CAP 1.2 XML (the alert's newest event, or ?seq=)",
    responses={200: {"content": {CAP_MEDIA_TYPE: {"example": EXAMPLE_CAP}},
                     "description": "The CAP 1.2 message as the alert engine published it."},
               **problem_responses(401, 404, 422, 503), **NOT_MODIFIED})
async def cap_message(
    *, request: Request, settings: SettingsDep, registry: RegistryDep, influx: InfluxDep,
    reader: PublicReader,
    station_id: StationPath, number: AlertNumber,
    seq: Annotated[int | None, Query(ge=1, le=999_999_999_999, examples=[2],
                                     description="One event of the alert, by its seq.")
                   ] = None,
) -> Response:
    if station_id not in registry:
        raise unknown_station(station_id)
    alert_id = f"{station_id}/{number}"
    event_id = None if seq is None else f"{station_id}/{seq}"
    public_newest = event_id is None and reader.key_id is None
    found = await alert_caps(influx, station_id, alert_id, event_id=event_id,
                             limit=PUBLIC_LOOKBACK if public_newest else 1)
    stored = next((cap for cap in found if is_public(cap)), found[0]) if found else None
    if stored is None:
        if event_id is None:
            raise unknown_alert(alert_id)
        raise ProblemError(404, "unknown-alert", "Unknown alert event",
                           f"alert {alert_id!r} has no event {event_id!r}")
    if stored.cap_xml is None:
        raise ProblemError(404, "no-cap", "No CAP message",
                           f"event {stored.event_id!r} was stored without CAP XML")
    summary = summarize(stored.cap_xml)
    public = summary is not None and summary.scope == "Public"
    if reader.key_id is None and not public:
        raise staff_only()
    # One event's message never changes once issued; "the newest" can at any moment.
    directive = f"max-age={ISSUED_MAX_AGE_S}, immutable" if seq is not None else REVALIDATE
    return conditional(request, stored.cap_xml.encode(), CAP_MEDIA_TYPE,
                       cache_control(settings, directive, public_content=public),
                       vary=KEY_HEADERS)
