"""Public read on: a reader without a key gets only what residents may be told, on every
path -- alert history, one alert, open alerts, the live feed's snapshot, statuses and
events -- while a key still sees everything. Real broker, real InfluxDB, real uvicorn;
the events and their CAP rendered by the engine's own code (tests.api.alert_points).

Before: with public read on, every alert event's JSON reached keyless readers -- offline
and data-quality alerts, escalations on a single unconfirmed reading, officers'
acknowledgements -- and one alert's delivery details too; only the CAP XML was held back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from websockets.asyncio.client import connect

from floodwatch.alerts.model import AlertType, Cause, Transition
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.servers import MosquittoServer
from tests.api.alert_points import StoredAlerts, event, retain_status
from tests.api.live_support import publish_events, ws_message
from tests.api.support import VIEWER_HEADERS, VIEWER_KEY, api_server, eventually

NOW = datetime.now(UTC).replace(microsecond=0)
TOLD_4 = {"level": 4, "level_name": "danger", "label": {"ja": "氾濫危険水位", "en": "danger"},
          "official": None, "alert_level": 4}


def _status_alert(alert_id: str, alert_type: str, level: int, *, confirmed: bool,
                  public: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"alert_id": alert_id, "alert_type": alert_type, "level": level,
            "level_name": f"level{level}", "label": {"ja": "j", "en": "e"},
            "official": None, "alert_level": None, "raised_at": NOW.isoformat(),
            "level_since": NOW.isoformat(), "acknowledged": False, "confirmed": confirmed,
            "public": public}


def _ids(events: list[dict[str, Any]]) -> list[str]:
    return sorted(str(e["event_id"]) for e in events)


def test_a_keyless_reader_gets_only_what_residents_may_be_told(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    alerts = StoredAlerts(sample_registry)
    hours = [NOW - timedelta(hours=h) for h in range(6, 0, -1)]
    raised = event("sukagawa", 1, 1, Transition.RAISED, 3, hours[0], confirmed=False)
    told = event("sukagawa", 2, 1, Transition.CONFIRMED, 3, hours[1], previous_level=3)
    escalated = event("sukagawa", 3, 1, Transition.ESCALATED, 4, hours[2], previous_level=3,
                      first_confirmed=told)
    acknowledged = event("sukagawa", 4, 1, Transition.ACKNOWLEDGED, 4, hours[3],
                         previous_level=4, first_confirmed=told)
    unconfirmed = event("sukagawa", 5, 1, Transition.ESCALATED, 5, hours[4],
                        previous_level=4, confirmed=False, first_confirmed=told)
    offline = event("akutsu", 1, 1, Transition.RAISED, 1, hours[5],
                    alert_type=AlertType.OFFLINE)
    doubtful = event("iwanuma", 1, 1, Transition.RAISED, 1, hours[5],
                     alert_type=AlertType.DATA_QUALITY)
    # An officer declared flooding at motomiya: public, but the officer's name and note
    # are staff's.
    declared = event("motomiya", 1, 1, Transition.RAISED, 5, hours[5]).model_copy(update={
        "cause": Cause(kind="command", command_id="c-1", officer="佐藤 (river section)",
                       note="field report by phone, call back 090-0000-0000"),
        "rule": "flooding_declared"})
    stored = [raised, told, escalated, acknowledged, unconfirmed, offline, doubtful, declared]
    retain_status(mosquitto.port, "sukagawa", [_status_alert(
        "sukagawa/1", "river_level", 5, confirmed=False, public=TOLD_4)], seq=5)
    retain_status(mosquitto.port, "akutsu", [_status_alert(
        "akutsu/1", "offline", 1, confirmed=True)], offline=True)
    settings = make_settings(api_public_read=True)

    async def scenario() -> None:
        async with InfluxClient.from_settings(settings) as influx:
            await influx.create_database()
            await influx.write([alerts.line(e) for e in stored])
        async with api_server(settings, sample_registry) as base, \
                httpx.AsyncClient(base_url=base, timeout=15) as http:
            async def both_open() -> bool:
                response = await http.get("/api/v1/alerts/open", headers=VIEWER_HEADERS)
                return len(response.json()["alerts"]) == 2

            await eventually(both_open, "the retained statuses")
            await _rest(http, stored)
            await _live(base, mosquitto.port, alerts)

    asyncio.run(scenario())


async def _rest(http: httpx.AsyncClient, stored: list[Any]) -> None:
    keyless = await http.get("/api/v1/alerts/history")
    keyed = await http.get("/api/v1/alerts/history", headers=VIEWER_HEADERS)
    assert _ids(keyless.json()["events"]) == ["motomiya/1", "sukagawa/2", "sukagawa/3"]
    causes = {e["event_id"]: e["cause"] for e in keyless.json()["events"]}
    assert causes["motomiya/1"] == {"kind": "command", "command_id": "c-1"}
    assert {e["event_id"]: e["cause"] for e in keyed.json()["events"]}["motomiya/1"][
        "note"] == "field report by phone, call back 090-0000-0000"
    assert _ids(keyed.json()["events"]) == sorted(e.event_id for e in stored)
    # A page of one is filled from the query, not cut short after it.
    page = (await http.get("/api/v1/alerts/history", params={"limit": 2})).json()
    assert _ids(page["events"]) == ["motomiya/1", "sukagawa/3"]
    assert page["next"] is not None
    # No shared cache may hand one reader's answer to the other.
    assert keyless.headers["cache-control"] == "public, no-cache"
    assert keyed.headers["cache-control"] == "private, no-cache"
    assert keyless.headers["vary"] == "Authorization, X-API-Key"

    one = await http.get("/api/v1/alerts/sukagawa/1")
    assert one.status_code == 200
    assert [e["event_id"] for e in one.json()["events"]] == ["sukagawa/3", "sukagawa/2"]
    assert one.json()["delivery"] == []  # staff data
    assert len((await http.get("/api/v1/alerts/sukagawa/1", headers=VIEWER_HEADERS)
                ).json()["events"]) == 5
    for staff_only in ("/api/v1/alerts/akutsu/1", "/api/v1/alerts/iwanuma/1"):
        assert (await http.get(staff_only)).status_code == 404
        assert (await http.get(staff_only, headers=VIEWER_HEADERS)).status_code == 200

    open_keyless = (await http.get("/api/v1/alerts/open")).json()["alerts"]
    assert [(a["station"], a["level"], a["confirmed"]) for a in open_keyless] == [
        ("sukagawa", 4, True)]
    open_keyed = (await http.get("/api/v1/alerts/open", headers=VIEWER_HEADERS)).json()
    assert sorted((a["station"], a["level"]) for a in open_keyed["alerts"]) == [
        ("akutsu", 1), ("sukagawa", 5)]


async def _live(base: str, port: int, alerts: StoredAlerts) -> None:
    url = base.replace("http", "ws") + "/api/v1/live/ws?alerts_only=true"
    async with connect(url) as keyless, connect(f"{url}&access_token={VIEWER_KEY}") as keyed:
        snapshot = (await ws_message(keyless)).body
        statuses = {e["station"]: e["data"] for e in snapshot["events"]
                    if e["type"] == "status"}
        assert [a["level"] for a in statuses["sukagawa"]["alerts"]] == [4]
        assert statuses["akutsu"]["alerts"] == []
        assert statuses["akutsu"]["offline"] is True
        keyed_snapshot = (await ws_message(keyed)).body
        assert [a["level"] for e in keyed_snapshot["events"] if e["station"] == "sukagawa"
                for a in e["data"]["alerts"]] == [5]

        # The engine goes on: an unconfirmed 5 confirmed by the next reading, and in
        # between a doubtful reading at iwanuma (staff's own).
        first = event("sukagawa", 1, 1, Transition.RAISED, 3, NOW, confirmed=True)
        quality = event("iwanuma", 2, 1, Transition.ESCALATED, 1, NOW,
                        alert_type=AlertType.DATA_QUALITY, previous_level=1,
                        first_confirmed=first)
        confirmed = event("sukagawa", 6, 1, Transition.CONFIRMED, 5, NOW, previous_level=5,
                          first_confirmed=first)
        await publish_events(port, [alerts.document(quality), alerts.document(confirmed)])
        # Published first, the data-quality event would come first: the keyless client's
        # next message is the confirmation.
        shown = (await ws_message(keyless)).body
        assert (shown["type"], shown["data"]["event_id"]) == ("alert", "sukagawa/6")
        assert [(await ws_message(keyed)).body["data"]["event_id"] for _ in range(2)] == [
            "iwanuma/2", "sukagawa/6"]
