"""The public CAP index: an Atom feed of current alerts, the form public alerting
aggregators (Google Public Alerts, the WMO register of alerting authorities) poll.

Each entry is one alert's newest Public event and links to its CAP 1.2 message. Current means
open in the alert engine's retained status, plus alerts cleared in the last
``CLEARED_WINDOW`` so an aggregator that polls sees the all-clear (an ``Update`` with
responseType ``AllClear``, docs/cap.md) and withdraws the alert instead of letting it
expire. Staff-only CAP messages (scope Restricted: offline, data quality, officers'
acknowledgements, an escalation not yet confirmed) are never listed.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Query, Request, Response

from floodwatch.api.alert_store import alert_caps, cleared_since
from floodwatch.api.cap import CAP_MEDIA_TYPE, PUBLIC_LOOKBACK, CapSummary, summarize
from floodwatch.api.deps import InfluxDep, LiveDep, RegistryDep, SettingsDep
from floodwatch.api.http_cache import NOT_MODIFIED, REVALIDATE, cache_control, conditional
from floodwatch.api.live import LiveCache
from floodwatch.api.problems import problem_responses
from floodwatch.core.influx import InfluxClient
from floodwatch.core.readings import format_ts
from floodwatch.core.registry import StationRegistry

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

ATOM_MEDIA_TYPE = "application/atom+xml"
ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
CLEARED_WINDOW = timedelta(hours=24)
LANGUAGES = {"ja": "ja-JP", "en": "en-US"}
TITLES = {"ja": "floodwatch 発表中の警報・情報", "en": "floodwatch: current alerts"}
EXAMPLE_FEED = (f'<?xml version=\'1.0\' encoding=\'utf-8\'?><feed xmlns="{ATOM_NS}" '
                'xml:lang="ja"><id>http://api.example/api/v1/alerts/feed.atom</id>...'
                '<entry><id>http://api.example/api/v1/alerts/sukagawa/1/cap?seq=2</id>'
                '<title>須賀川 河川水位: 避難判断水位 (上昇)</title>'
                '<updated>2026-11-28T10:00:00+09:00</updated><link rel="alternate" '
                f'type="{CAP_MEDIA_TYPE}" href="http://api.example/api/v1/alerts/sukagawa/1/'
                'cap?seq=2"/></entry></feed>')


async def _current(influx: InfluxClient, live: LiveCache, registry: StationRegistry
                   ) -> list[tuple[str, str]]:
    """(station, alert_id) of open alerts and of those cleared within the window."""
    current: dict[str, str] = {}
    for station, alert in live.open_alerts():
        if isinstance(alert.get("alert_id"), str):
            current[alert["alert_id"]] = station
    for station, alert_id in await cleared_since(influx, datetime.now(UTC) - CLEARED_WINDOW):
        current.setdefault(alert_id, station)
    return [(station, alert_id) for alert_id, station in current.items()
            if station in registry]


def _cap_url(request: Request, station: str, alert_id: str, event_id: str) -> str:
    number = alert_id.rpartition("/")[2]
    seq = event_id.rpartition("/")[2]
    return f"{request.url_for('cap_message', station_id=station, number=number)}?seq={seq}"


def _sent_at(summary: CapSummary) -> datetime:
    try:
        sent = datetime.fromisoformat(summary.sent)
    except ValueError:
        sent = None
    # CAP requires an offset; a message without one sorts last rather than failing.
    return sent if sent is not None and sent.tzinfo else datetime(1970, 1, 1, tzinfo=UTC)


def _entry(feed: ET.Element, url: str, summary: CapSummary, language: str) -> None:
    def sub(parent: ET.Element, tag: str, text: str | None = None,
            **attributes: str) -> ET.Element:
        element = ET.SubElement(parent, tag, attributes)
        element.text = text
        return element

    entry = sub(feed, "entry")
    sub(entry, "id", url)
    headline = summary.headlines.get(language) or next(iter(summary.headlines.values()), "")
    sub(entry, "title", headline or summary.identifier)
    sub(entry, "updated", summary.sent)
    sub(entry, "published", summary.sent)
    sub(entry, "category", term=summary.msg_type, label="CAP msgType")
    if summary.area:
        sub(entry, "summary", f"{headline} ({summary.area})")
    sub(entry, "link", rel="alternate", type=CAP_MEDIA_TYPE, href=url)


@router.get(
    "/feed.atom", response_class=Response,
    summary="Public CAP index: Atom feed of current alerts, each linking to its CAP XML",
    responses={200: {"content": {ATOM_MEDIA_TYPE: {"example": EXAMPLE_FEED}},
                     "description": "Atom 1.0 (RFC 4287); entries newest first."},
               **problem_responses(401, 422, 503), **NOT_MODIFIED})
async def cap_feed(
    *, request: Request, settings: SettingsDep, influx: InfluxDep, live: LiveDep,
    registry: RegistryDep,
    lang: Annotated[Literal["ja", "en"], Query(description="Language of entry titles.")
                    ] = "ja",
) -> Response:
    current = await _current(influx, live, registry)
    found = await asyncio.gather(*(alert_caps(influx, station, alert_id,
                                              limit=PUBLIC_LOOKBACK)
                                   for station, alert_id in current))
    entries = []
    for (station, alert_id), stored in zip(current, found, strict=True):
        # Its newest Public message: an escalation awaiting confirmation (Restricted)
        # leaves the alert listed as the public last heard of it. Events stored before
        # CAP XML was kept have nothing to link to.
        for cap in stored:
            summary = None if cap.cap_xml is None else summarize(cap.cap_xml)
            if summary is not None and summary.scope == "Public":
                entries.append((summary, _cap_url(request, station, alert_id, cap.event_id)))
                break
    entries.sort(key=lambda item: _sent_at(item[0]), reverse=True)

    # Plain tags under an xmlns attribute: the Atom namespace becomes the default one
    # without ET.register_namespace, which changes a process-wide table.
    feed = ET.Element("feed", {"xmlns": ATOM_NS, XML_LANG: lang})
    self_url = str(request.url_for("cap_feed"))
    for tag, text in (("id", self_url), ("title", TITLES[lang]),
                      ("updated", entries[0][0].sent if entries
                       # Whole minutes: an empty feed keeps its ETag for a minute.
                       else format_ts(datetime.now(UTC).replace(second=0, microsecond=0)))):
        ET.SubElement(feed, tag).text = text
    author = ET.SubElement(feed, "author")
    ET.SubElement(author, "name").text = "floodwatch"
    ET.SubElement(feed, "link", rel="self", type=ATOM_MEDIA_TYPE, href=self_url)
    for summary, url in entries:
        _entry(feed, url, summary, LANGUAGES[lang])
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    # Revalidated on every poll (a 304 while nothing changed): a new warning is never
    # held back by a cache.
    return conditional(request, body, ATOM_MEDIA_TYPE, cache_control(settings, REVALIDATE))
