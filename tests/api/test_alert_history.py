"""Alert history read from the alert_event measurement (points written directly)."""

from __future__ import annotations

import asyncio
import base64
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
    # As the engine stamps its points (alerts.history): the event time plus seq ns.
    ns = int(at.timestamp()) * 1_000_000_000 + seq
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


def test_history_pages_by_cursor_without_losing_events_that_share_a_timestamp(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    """Issue 21: paging by time lost the events that share a timestamp (15 of 67): every
    station's n-th event of one storm instant has the same point time."""
    settings = make_settings()
    stations = sorted(s.id for s in sample_registry)
    written = [(stations[n % len(stations)], n // len(stations) + 1) for n in range(67)]
    base = NOW - timedelta(hours=2)

    async def scenario() -> None:
        async with InfluxClient.from_settings(settings) as influx:
            await influx.create_database()
            await influx.write([_line(station, seq, f"{station}/1", "raised",
                                      base + timedelta(minutes=seq))
                                for station, seq in written])
        # The record's order: time, then station, then seq (newest first).
        expected = [f"{station}/{seq}" for station, seq in
                    sorted(written, key=lambda e: (e[1], e[0], e[1]), reverse=True)]
        async with api_client(settings, sample_registry) as client:
            for limit in (1, 5, 14, 15, 66, 67, 1000):
                seen: list[str] = []
                params: dict[str, str | int] = {"limit": limit}
                pages = 0
                while True:
                    answer = await client.get("/api/v1/alerts/history", params=params)
                    assert answer.status_code == 200, answer.text
                    body = answer.json()
                    assert len(body["events"]) <= limit
                    seen += [e["event_id"] for e in body["events"]]
                    pages += 1
                    assert pages <= 67 + 1
                    if body["next"] is None:
                        break
                    params = {"limit": limit, "cursor": body["next"]}
                assert seen == expected, f"limit {limit}"
            # A station filter and the window still apply along the cursor.
            first = (await client.get("/api/v1/alerts/history",
                                      params={"station": "sukagawa", "limit": 2})).json()
            rest = (await client.get("/api/v1/alerts/history", params={
                "station": "sukagawa", "limit": 100, "cursor": first["next"]})).json()
            assert [e["event_id"] for e in first["events"] + rest["events"]] == [
                e for e in expected if e.startswith("sukagawa/")]
            assert rest["next"] is None
            # Before: a cursor was a bare place in the record, taken by any query: with
            # another station it silently paged that station from a foreign place.
            for other in ({"station": "akutsu"}, {},
                          {"station": "sukagawa", "start": base.isoformat()}):
                answer = await client.get("/api/v1/alerts/history",
                                          params={**other, "cursor": first["next"]})
                assert answer.status_code == 422, (other, answer.text)
                assert answer.json()["type"].endswith("/bad-cursor")
                assert "another query" in answer.json()["detail"]

    asyncio.run(scenario())


def test_a_bad_cursor_is_a_clear_problem(make_settings: Callable[..., Settings],
                                          sample_registry: StationRegistry) -> None:
    settings = make_settings()
    forged = [
        "not-a-cursor",
        base64.urlsafe_b64encode(b"1' OR 1=1 --.1.sukagawa").decode(),
        base64.urlsafe_b64encode(b"1.1.sukagawa' OR ''='").decode(),
        base64.urlsafe_b64encode(b"99999999999999999999.1.sukagawa").decode(),
        base64.urlsafe_b64encode("1.1.す".encode()).decode(),
        "%00", "====", "\u0000",
    ]

    async def scenario() -> None:
        async with api_client(settings, sample_registry) as client:
            for cursor in forged:
                answer = await client.get("/api/v1/alerts/history", params={"cursor": cursor})
                assert answer.status_code == 422, (cursor, answer.text)
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert answer.json()["type"].endswith("/bad-cursor"), cursor
            too_long = await client.get("/api/v1/alerts/history", params={"cursor": "A" * 300})
            assert too_long.status_code == 422

    asyncio.run(scenario())
