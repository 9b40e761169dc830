"""GET /api/v1/deliveries: the latest state of each (event, channel), from the status
lines a real delivery ledger queued, written to a real InfluxDB."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from floodwatch.alerts.model import Transition
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.notify.deliveries import DeliveryLedger
from tests.api.alert_points import StoredAlerts, event
from tests.api.support import api_client
from tests.notify.ledger_states import Outcome, record, status_lines

NOW = datetime.now(UTC).replace(microsecond=0)
T0 = NOW - timedelta(hours=1)


def _at(minutes: float) -> float:
    return (T0 + timedelta(minutes=minutes)).timestamp()


OUTCOMES = [
    Outcome("sukagawa/1", "x", "sent", _at(1), "sukagawa/1"),
    Outcome("sukagawa/1", "mastodon", "unknown", _at(2), "sukagawa/1"),
    Outcome("sukagawa/2", "x", "failed", _at(11), "sukagawa/1"),
    Outcome("sukagawa/2", "mastodon", "pending", _at(12), "sukagawa/1"),
    Outcome("akutsu/1", "network", "expired", _at(20)),
    Outcome("akutsu/1", "x", "unknown", _at(21)),
]


def _stored(settings: Settings, registry: StationRegistry, tmp_path: Path) -> None:
    alerts = StoredAlerts(registry)
    events = [event("sukagawa", 1, 1, Transition.RAISED, 3, T0),
              event("sukagawa", 2, 1, Transition.ESCALATED, 4, T0 + timedelta(minutes=10),
                    previous_level=3),
              event("akutsu", 1, 1, Transition.RAISED, 3, T0 + timedelta(minutes=19))]
    ledger = DeliveryLedger(tmp_path / "ledger.sqlite3")
    try:
        record(ledger, OUTCOMES)
        lines = status_lines(ledger)
    finally:
        ledger.close()

    async def write() -> None:
        async with InfluxClient.from_settings(settings) as influx:
            await influx.create_database()
            await influx.write([alerts.line(e) for e in events] + lines)

    asyncio.run(write())


def _shown(body: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    return [(d["event_id"], d["channel"], d["state"], d["alert_id"])
            for d in body["deliveries"]]


def test_failed_unknown_and_pending_newest_first_with_their_alert(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry,
        tmp_path: Path) -> None:
    settings = make_settings()
    _stored(settings, sample_registry, tmp_path)

    async def scenario() -> None:
        async with api_client(settings, sample_registry) as client:
            response = await client.get("/api/v1/deliveries")
            assert response.status_code == 200, response.text
            body = response.json()
            assert _shown(body) == [
                ("akutsu/1", "x", "unknown", "akutsu/1"),
                ("sukagawa/2", "x", "failed", "sukagawa/1"),
                # pending since planned, 2 s before the event's first outcome
                ("sukagawa/2", "mastodon", "pending", "sukagawa/1"),
                ("sukagawa/1", "mastodon", "unknown", "sukagawa/1"),
            ]
            assert body["truncated"] is False
            unknown = body["deliveries"][3]
            assert unknown["detail"] == "outcome lost; check the account"
            assert unknown["attempts"] == 1
            assert datetime.fromisoformat(unknown["at"]).timestamp() == _at(2)

            sent = (await client.get("/api/v1/deliveries",
                                     params={"state": ["sent", "expired"]})).json()
            assert _shown(sent) == [("akutsu/1", "network", "expired", "akutsu/1"),
                                    ("sukagawa/1", "x", "sent", "sukagawa/1")]

            only_x = (await client.get("/api/v1/deliveries", params={
                "channel": "x", "station": "sukagawa"})).json()
            assert _shown(only_x) == [("sukagawa/2", "x", "failed", "sukagawa/1")]

            first = (await client.get("/api/v1/deliveries", params={"limit": 1})).json()
            assert _shown(first) == [("akutsu/1", "x", "unknown", "akutsu/1")]
            assert first["truncated"] is True

            # The state at `until`: sukagawa/1 on x was still pending then.
            until = datetime.fromtimestamp(_at(1) - 1, UTC).isoformat()
            earlier = (await client.get("/api/v1/deliveries", params={
                "until": until, "channel": "x"})).json()
            assert _shown(earlier) == [("sukagawa/1", "x", "pending", "sukagawa/1")]

            since = datetime.fromtimestamp(_at(15), UTC).isoformat()
            recent = (await client.get("/api/v1/deliveries", params={"since": since})).json()
            assert [d["event_id"] for d in recent["deliveries"]] == ["akutsu/1"]

    asyncio.run(scenario())


def test_bad_filters_are_problems(make_settings: Callable[..., Settings],
                                  sample_registry: StationRegistry) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry) as client:
            assert (await client.get("/api/v1/deliveries",
                                     params={"state": "lost"})).status_code == 422
            assert (await client.get("/api/v1/deliveries",
                                     params={"channel": "x' OR 1=1"})).status_code == 422
            assert (await client.get("/api/v1/deliveries",
                                     params={"station": "nowhere"})).status_code == 404
            backwards = await client.get("/api/v1/deliveries", params={
                "since": NOW.isoformat(), "until": T0.isoformat()})
            assert backwards.status_code == 400
            empty = await client.get("/api/v1/deliveries")  # no database yet: nothing
            assert empty.json() == {"deliveries": [], "truncated": False}

    asyncio.run(scenario())


def test_staff_only_even_with_public_read(make_settings: Callable[..., Settings],
                                          sample_registry: StationRegistry) -> None:
    settings = make_settings(api_public_read="true")

    async def scenario() -> None:
        async with api_client(settings, sample_registry, headers={}) as anonymous:
            assert (await anonymous.get("/api/v1/alerts/open")).status_code == 200
            assert (await anonymous.get("/api/v1/deliveries")).status_code == 401
            schema = (await anonymous.get("/openapi.json")).json()
            operation = schema["paths"]["/api/v1/deliveries"]["get"]
            assert {} not in operation["security"]
            assert {} in schema["paths"]["/api/v1/alerts/open"]["get"]["security"]

    asyncio.run(scenario())
