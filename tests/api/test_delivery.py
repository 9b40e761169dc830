"""Delivery status of one alert, from the notifiers' ``alert_delivery`` measurement
(tags station, channel; fields event_id, state, attempts, detail; time = state change),
written here point by point as the notifiers would."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from floodwatch.alerts.model import Transition
from floodwatch.core.influx import InfluxClient
from floodwatch.core.lineprotocol import format_point
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from tests.api.alert_points import StoredAlerts, event
from tests.api.support import api_client

NOW = datetime.now(UTC).replace(microsecond=0)
T0 = NOW - timedelta(hours=1)


def _delivery(station: str, channel: str, event_id: str, state: str, attempts: int,  # noqa: PLR0917
              seconds: int, detail: str = "") -> str:
    at = T0 + timedelta(seconds=seconds)
    return format_point("alert_delivery", {"station": station, "channel": channel},
                        {"event_id": event_id, "state": state, "attempts": attempts,
                         "detail": detail}, int(at.timestamp()) * 1_000_000_000)


def test_one_alert_with_delivery_status(make_settings: Callable[..., Settings],
                                        sample_registry: StationRegistry) -> None:
    alerts = StoredAlerts(sample_registry)
    events = [event("sukagawa", 1, 1, Transition.RAISED, 3, T0),
              event("sukagawa", 2, 1, Transition.ESCALATED, 4, T0 + timedelta(minutes=10),
                    previous_level=3),
              event("sukagawa", 3, 3, Transition.RAISED, 1, T0 + timedelta(minutes=20))]
    settings = make_settings()

    async def scenario() -> None:
        async with InfluxClient.from_settings(settings) as influx:
            await influx.create_database()
            await influx.write([alerts.line(e) for e in events] + [
                _delivery("sukagawa", "mastodon", "sukagawa/1", "pending", 0, 1),
                _delivery("sukagawa", "mastodon", "sukagawa/1", "sent", 1, 3,
                          "https://social.example/@bousai/1"),
                _delivery("sukagawa", "x", "sukagawa/1", "pending", 0, 1),
                _delivery("sukagawa", "x", "sukagawa/1", "failed", 3, 90, "HTTP 503"),
                _delivery("sukagawa", "mastodon", "sukagawa/2", "pending", 0, 601),
                _delivery("sukagawa", "mastodon", "sukagawa/3", "sent", 1, 1201),
                _delivery("akutsu", "mastodon", "sukagawa/1", "expired", 1, 5),
            ])
        async with api_client(settings, sample_registry) as client:
            response = await client.get("/api/v1/alerts/sukagawa/1")
            assert response.status_code == 200
            body = response.json()
            assert body["alert_id"] == "sukagawa/1"
            assert [e["event_id"] for e in body["events"]] == ["sukagawa/2", "sukagawa/1"]
            shown = [(d["event_id"], d["channel"], d["state"], d["attempts"], d["detail"])
                     for d in body["delivery"]]
            assert shown == [
                ("sukagawa/2", "mastodon", "pending", 0, ""),
                ("sukagawa/1", "mastodon", "sent", 1, "https://social.example/@bousai/1"),
                ("sukagawa/1", "x", "failed", 3, "HTTP 503"),
            ]
            failed_at = datetime.fromisoformat(body["delivery"][2]["at"])
            assert failed_at == T0 + timedelta(seconds=90)

            other = (await client.get("/api/v1/alerts/sukagawa/3")).json()
            assert [d["state"] for d in other["delivery"]] == ["sent"]

    asyncio.run(scenario())
