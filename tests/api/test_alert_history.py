"""Alert history read from the alert_event measurement (points written directly)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from floodwatch.core.influx import InfluxClient
from floodwatch.core.lineprotocol import format_field_value
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from tests.api.support import api_client

NOW = datetime.now(UTC).replace(microsecond=0)


def _line(station: str, seq: int, alert_id: str, transition: str, at: datetime) -> str:
    payload = json.dumps({"event_id": f"{station}/{seq}", "seq": seq, "station": station,
                          "alert_id": alert_id, "transition": transition}, ensure_ascii=False)
    ns = int(at.timestamp()) * 1_000_000_000
    return (f"alert_event,kind=river,station={station},transition={transition} "
            f'event_id="{station}/{seq}",alert_id="{alert_id}",seq={seq}i,'
            f"payload={format_field_value(payload)} {ns}")


def test_history_and_one_alert(make_settings: Callable[..., Settings],
                               sample_registry: StationRegistry) -> None:
    settings = make_settings()

    async def scenario() -> None:
        async with InfluxClient.from_settings(settings) as influx:
            await influx.create_database()
            await influx.write([
                _line("sukagawa", 1, "sukagawa/1", "raised", NOW - timedelta(hours=3)),
                _line("sukagawa", 2, "sukagawa/1", "escalated", NOW - timedelta(hours=2)),
                _line("akutsu", 1, "akutsu/1", "raised", NOW - timedelta(hours=1)),
                _line("sukagawa", 3, "sukagawa/3", "raised", NOW - timedelta(days=30)),
            ])
        async with api_client(settings, sample_registry) as client:
            recent = (await client.get("/api/v1/alerts/history")).json()["events"]
            assert [e["event_id"] for e in recent] == ["akutsu/1", "sukagawa/2", "sukagawa/1"]
            one = await client.get("/api/v1/alerts/history",
                                   params={"station": "sukagawa", "limit": 1})
            assert [e["event_id"] for e in one.json()["events"]] == ["sukagawa/2"]
            alert = (await client.get("/api/v1/alerts/sukagawa/1")).json()["events"]
            assert [e["transition"] for e in alert] == ["escalated", "raised"]
            missing = await client.get("/api/v1/alerts/sukagawa/99")
            assert missing.status_code == 404
            assert missing.json()["type"].endswith("/unknown-alert")
            unknown = await client.get("/api/v1/alerts/history", params={"station": "x-y"})
            assert unknown.status_code == 404

    asyncio.run(scenario())
