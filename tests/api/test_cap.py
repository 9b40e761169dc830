"""CAP XML of one alert event and the public Atom feed of current alerts, from events
rendered and stored exactly as the alert engine does (alert_event.cap_xml)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree

from floodwatch.alerts.model import AlertType, Transition
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.servers import MosquittoServer
from tests.api.alert_points import StoredAlerts, event, retain_status
from tests.api.support import api_client, eventually
from tests.xsd import cap_schema

NOW = datetime.now(UTC).replace(microsecond=0)
ATOM = "{http://www.w3.org/2005/Atom}"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def _canonical(xml: bytes) -> bytes:
    return etree.tostring(etree.fromstring(xml), method="c14n")


def test_cap_messages_and_public_atom_feed(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    alerts = StoredAlerts(sample_registry)
    # One reading raised it: for staff (Restricted) until the next agrees, which tells
    # the public (their first message of it, an Alert).
    raised = event("sukagawa", 1, 1, Transition.RAISED, 3, NOW - timedelta(hours=2),
                   confirmed=False)
    told = event("sukagawa", 2, 1, Transition.CONFIRMED, 3,
                 NOW - timedelta(hours=1, minutes=50), previous_level=3)
    escalated = event("sukagawa", 3, 1, Transition.ESCALATED, 4, NOW - timedelta(hours=1),
                      previous_level=3, first_confirmed=told)
    # An officer acknowledged it: staff's own message (Restricted), never the public's.
    acknowledged = event("sukagawa", 4, 1, Transition.ACKNOWLEDGED, 4,
                         NOW - timedelta(minutes=30), previous_level=4, first_confirmed=told)
    # One reading took it to 5: for staff until the next agrees (scope Restricted).
    unconfirmed = event("sukagawa", 5, 1, Transition.ESCALATED, 5,
                        NOW - timedelta(minutes=10), previous_level=4, confirmed=False,
                        first_confirmed=told)
    offline = event("akutsu", 1, 1, Transition.RAISED, 1, NOW - timedelta(hours=1),
                    alert_type=AlertType.OFFLINE)
    doubtful = event("iwanuma", 1, 1, Transition.RAISED, 1, NOW - timedelta(minutes=20),
                     alert_type=AlertType.DATA_QUALITY)
    motomiya_raised = event("motomiya", 1, 1, Transition.RAISED, 3, NOW - timedelta(hours=3))
    cleared = event("motomiya", 2, 1, Transition.CLEARED, 0, NOW - timedelta(minutes=30),
                    previous_level=3, first_confirmed=motomiya_raised)
    old_clear = event("nihonmatsu", 2, 1, Transition.CLEARED, 0, NOW - timedelta(days=2),
                      previous_level=2)
    without_cap = event("fushiguro", 1, 1, Transition.RAISED, 2, NOW - timedelta(hours=1))
    for station, alert_type in (("sukagawa", "river_level"), ("akutsu", "offline"),
                                ("fushiguro", "river_level"), ("iwanuma", "data_quality")):
        retain_status(mosquitto.port, station, [{"alert_id": f"{station}/1",
                                                 "alert_type": alert_type, "level": 1}])
    schema = cap_schema()
    settings = make_settings(api_public_read=True)

    async def scenario() -> None:
        async with InfluxClient.from_settings(settings) as influx:
            await influx.create_database()
            await influx.write([alerts.line(e) for e in
                                (raised, told, escalated, acknowledged, unconfirmed, offline,
                                 doubtful, motomiya_raised, cleared, old_clear)]
                               + [alerts.line(without_cap, with_cap=False)])
        viewer = {"Authorization": "Bearer viewer-key-0123456789"}
        async with api_client(settings, sample_registry, headers={}) as anonymous:
            async def four_open() -> bool:
                # With a key: without one the staff's open alerts are not listed.
                response = await anonymous.get("/api/v1/alerts/open", headers=viewer)
                return len(response.json()["alerts"]) == 4

            await eventually(four_open, "the retained statuses")

            # Without a key, the newest is the newest the public may read.
            newest = await anonymous.get("/api/v1/alerts/sukagawa/1/cap")
            assert newest.status_code == 200
            assert newest.headers["content-type"] == "application/cap+xml"
            assert _canonical(newest.content) == _canonical(alerts.cap(escalated))
            pending = await anonymous.get("/api/v1/alerts/sukagawa/1/cap", params={"seq": 5})
            assert pending.status_code == 401
            acknowledgement = await anonymous.get("/api/v1/alerts/sukagawa/1/cap",
                                                  params={"seq": 4})
            assert acknowledgement.status_code == 401
            staff_newest = await anonymous.get("/api/v1/alerts/sukagawa/1/cap", headers=viewer)
            assert _canonical(staff_newest.content) == _canonical(alerts.cap(unconfirmed))
            assert etree.fromstring(staff_newest.content).findtext(f"{CAP}scope") == (
                "Restricted")
            assert schema.validate(etree.fromstring(newest.content)), schema.error_log
            # The raise was for staff; the public's account of the alert starts with
            # its confirmation, which the Update they can read references.
            raise_cap = await anonymous.get("/api/v1/alerts/sukagawa/1/cap",
                                            params={"seq": 1})
            assert raise_cap.status_code == 401
            first = await anonymous.get("/api/v1/alerts/sukagawa/1/cap", params={"seq": 2})
            assert _canonical(first.content) == _canonical(alerts.cap(told))
            first_document = etree.fromstring(first.content)
            assert first_document.findtext(f"{CAP}msgType") == "Alert"
            assert first_document.find(f"{CAP}references") is None
            assert etree.fromstring(newest.content).findtext(f"{CAP}references") == ",".join(
                first_document.findtext(f"{CAP}{tag}") or ""
                for tag in ("sender", "identifier", "sent"))

            missing = await anonymous.get("/api/v1/alerts/sukagawa/1/cap", params={"seq": 7})
            assert missing.status_code == 404
            assert missing.json()["type"].endswith("/unknown-alert")
            staff = await anonymous.get("/api/v1/alerts/akutsu/1/cap")
            assert staff.status_code == 401
            assert staff.headers["content-type"] == "application/problem+json"
            quality = await anonymous.get("/api/v1/alerts/iwanuma/1/cap")
            assert quality.status_code == 401  # data quality: staff's own
            with_key = await anonymous.get("/api/v1/alerts/akutsu/1/cap", headers=viewer)
            assert with_key.status_code == 200
            assert etree.fromstring(with_key.content).findtext(f"{CAP}scope") == "Restricted"
            no_cap = await anonymous.get("/api/v1/alerts/fushiguro/1/cap", headers=viewer)
            assert no_cap.status_code == 404
            assert no_cap.json()["type"].endswith("/no-cap")

            feed = await anonymous.get("/api/v1/alerts/feed.atom")
            assert feed.status_code == 200
            assert feed.headers["content-type"] == "application/atom+xml"
            root = etree.fromstring(feed.content)
            assert root.tag == f"{ATOM}feed"
            assert root.findtext(f"{ATOM}id") == "http://api.test/api/v1/alerts/feed.atom"
            entries = root.findall(f"{ATOM}entry")
            # Newest first; the staff-only (offline, data quality), CAP-less and
            # long-cleared alerts are absent,
            # and sukagawa shows what the public last heard (not its acknowledgement nor
            # its unconfirmed 5). The all-clear is an Update (never a Cancel).
            expected = [(cleared, "Update"), (escalated, "Update")]
            assert len(entries) == len(expected)
            for entry, (shown, msg_type) in zip(entries, expected, strict=True):
                await _check_entry(anonymous, entry, shown, msg_type, alerts)

            english = etree.fromstring(
                (await anonymous.get("/api/v1/alerts/feed.atom", params={"lang": "en"})).content)
            titles = [e.findtext(f"{ATOM}title") for e in english.findall(f"{ATOM}entry")]
            assert titles == [alerts.document(cleared)["headline"]["en"],
                              alerts.document(escalated)["headline"]["en"]]
        async with api_client(make_settings(), sample_registry, headers={}) as private:
            refused = await private.get("/api/v1/alerts/feed.atom")
            assert refused.status_code == 401

    asyncio.run(scenario())


async def _check_entry(client: Any, entry: Any, shown: Any, msg_type: str,
                       alerts: StoredAlerts) -> None:
    link = entry.find(f"{ATOM}link")
    assert link.get("type") == "application/cap+xml"
    assert link.get("rel") == "alternate"
    assert entry.findtext(f"{ATOM}id") == link.get("href")
    assert entry.findtext(f"{ATOM}title") == alerts.document(shown)["headline"]["ja"]
    assert entry.find(f"{ATOM}category").get("term") == msg_type
    assert datetime.fromisoformat(entry.findtext(f"{ATOM}updated")) == shown.issued
    linked = await client.get(link.get("href").removeprefix("http://api.test"))
    assert linked.status_code == 200
    assert _canonical(linked.content) == _canonical(alerts.cap(shown))
