"""Resuming the live feed (issue 21): ids on alert events, Last-Event-ID and since=,
replay from the buffer and from InfluxDB, and kinds= applied to alerts and status.
Real broker, real InfluxDB, real uvicorn, real clients that really disconnect."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from floodwatch.api.live_position import Position
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.api.live_support import (
    TIMEOUT_S,
    Message,
    alert_event,
    history_line,
    next_sse,
    publish_events,
    sse_messages,
    ws_message,
)
from tests.api.support import VIEWER_HEADERS, api_server

BASE = datetime.now(UTC).replace(microsecond=123456) - timedelta(hours=1)


def _events(station: str, seqs: range, kind: str = "river") -> list[dict[str, Any]]:
    return [alert_event(station, seq, BASE + timedelta(minutes=seq), kind) for seq in seqs]


def _ids(messages: list[Message]) -> list[str]:
    return [m.body["data"]["event_id"] for m in messages]


async def _alerts(ws: ClientConnection, count: int) -> list[Message]:
    received = [await ws_message(ws) for _ in range(count)]
    assert all(m.type == "alert" for m in received), [m.body for m in received]
    return received


def _ws_url(base: str, query: str = "") -> str:
    return base.replace("http", "ws") + "/api/v1/live/ws" + (f"?{query}" if query else "")


def test_sse_alert_events_carry_ids_and_last_event_id_resumes(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    """Before: no ``id:``, and Last-Event-ID ignored: a client back after a break had
    only a snapshot, every alert event in between lost."""
    events = _events("sukagawa", range(1, 8))

    async def scenario() -> None:
        async with (
            api_server(make_settings(), sample_registry) as base,
            # A second client, connected throughout: says when the API has the events.
            connect(_ws_url(base), additional_headers=VIEWER_HEADERS) as watcher,
            httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S, headers=VIEWER_HEADERS) as http,
        ):
            assert (await ws_message(watcher)).type == "snapshot"
            async with http.stream("GET", "/api/v1/live/sse") as response:
                messages = sse_messages(response)
                assert (await next_sse(messages)).type == "snapshot"
                await publish_events(mosquitto.port, events[:3])
                first = [await next_sse(messages) for _ in range(3)]
            assert _ids(first) == ["sukagawa/1", "sukagawa/2", "sukagawa/3"]
            assert all(m.id is not None and m.id == m.body["id"] for m in first)
            assert len({m.id for m in first}) == 3
            # Gone: four more events reach the API while this client is away.
            await publish_events(mosquitto.port, events[3:7])
            await _alerts(watcher, 7)
            last_id = first[-1].id
            assert last_id is not None
            headers = {"Last-Event-ID": last_id}
            # since= names an older position: the header (what EventSource sends on its
            # own when it reconnects to the same URL) wins.
            async with http.stream("GET", "/api/v1/live/sse", headers=headers,
                                   params={"since": first[0].id}) as response:
                messages = sse_messages(response)
                snapshot = await next_sse(messages)
                assert snapshot.type == "snapshot"
                assert snapshot.id == last_id  # a break right now still resumes from it
                missed = [await next_sse(messages) for _ in range(4)]
                assert _ids(missed) == ["sukagawa/4", "sukagawa/5", "sukagawa/6",
                                        "sukagawa/7"]
                await publish_events(mosquitto.port, _events("sukagawa", range(8, 9)))
                live = await next_sse(messages)
                assert _ids([live]) == ["sukagawa/8"]  # live again, nothing twice
            # since= alone, for clients that cannot set headers.
            async with http.stream("GET", "/api/v1/live/sse",
                                   params={"since": missed[-1].id}) as response:
                messages = sse_messages(response)
                assert (await next_sse(messages)).type == "snapshot"
                assert _ids([await next_sse(messages)]) == ["sukagawa/8"]

    asyncio.run(scenario())


def test_websocket_since_replays_from_influxdb_beyond_the_buffer_each_event_once(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    """A buffer of 2: the events a client missed come from InfluxDB, the newest from
    both (deduplicated), and one stored before it reached the bus only once."""
    settings = make_settings(api_live_replay_buffer=2)
    # Two stations at the same instants: the record's order is time, station, seq.
    events = [e for seq in range(1, 6) for e in (_events("akutsu", range(seq, seq + 1))
                                                  + _events("sukagawa", range(seq, seq + 1)))]

    async def scenario() -> None:
        async with InfluxClient.from_settings(settings) as influx:
            await influx.create_database()
            async with (
                api_server(settings, sample_registry) as base,
                connect(_ws_url(base), additional_headers=VIEWER_HEADERS) as watcher,
            ):
                assert (await ws_message(watcher)).type == "snapshot"
                async with connect(_ws_url(base), additional_headers=VIEWER_HEADERS) as ws:
                    assert (await ws_message(ws)).type == "snapshot"
                    await influx.write([history_line(e) for e in events[:2]])
                    await publish_events(mosquitto.port, events[:2])
                    first = await _alerts(ws, 2)
                # Away: six events, stored and published, as the engine does.
                await influx.write([history_line(e) for e in events[2:8]])
                await publish_events(mosquitto.port, events[2:8])
                await _alerts(watcher, 8)
                # Stored, not yet on the bus: the replay has it, the live feed must
                # not send it again when it arrives.
                await influx.write([history_line(events[8])])
                query = f"since={first[-1].id}"
                async with connect(_ws_url(base, query),
                                   additional_headers=VIEWER_HEADERS) as ws:
                    assert (await ws_message(ws)).type == "snapshot"
                    replayed = await _alerts(ws, 7)
                    assert _ids(replayed) == [e["event_id"] for e in events[2:9]]
                    await publish_events(mosquitto.port, events[8:10])
                    live = await _alerts(ws, 1)
                    assert _ids(live) == [events[9]["event_id"]]
                    # Where the watcher is, connected all along: the same events, the
                    # same id (an id is the last seq of each station).
                    assert live[-1].id == (await _alerts(watcher, 2))[-1].id

    asyncio.run(scenario())


def test_a_resume_with_influxdb_down_says_there_may_be_a_gap(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    settings = make_settings(api_live_replay_buffer=1, influx_url=f"http://127.0.0.1:{free_port()}",
                             influx_timeout_s=1)
    events = _events("sukagawa", range(1, 4))

    async def scenario() -> None:
        async with (
            api_server(settings, sample_registry) as base,
            connect(_ws_url(base), additional_headers=VIEWER_HEADERS) as watcher,
        ):
            assert (await ws_message(watcher)).type == "snapshot"
            await publish_events(mosquitto.port, events)
            seen = await _alerts(watcher, 3)
            async with connect(_ws_url(base, f"since={seen[0].id}"),
                               additional_headers=VIEWER_HEADERS) as ws:
                assert (await ws_message(ws)).type == "snapshot"
                # Before: the replay, then a vague warning. Now the gap FIRST, naming
                # what is missing, then what the buffer still holds: never a silent hole.
                gap = await ws_message(ws)
                assert gap.type == "gap"
                assert "/api/v1/alerts/history" in gap.body["reason"]
                assert gap.body["missing"] == [
                    {"station": "sukagawa", "from_seq": 2, "to_seq": 2}]
                assert _ids([await ws_message(ws)]) == ["sukagawa/3"]

    asyncio.run(scenario())


def test_kinds_road_leaves_out_river_alerts_and_status(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    """Before: kinds=road still sent every river status and alert (undocumented)."""
    river_status = {"station": "sukagawa", "kind": "river", "seq": 1, "alerts": []}
    road_status = {"station": "koriyama-r4-underpass", "kind": "road", "seq": 1,
                   "alerts": []}

    async def scenario() -> None:
        for status in (river_status, road_status):
            await asyncio.to_thread(_retain, mosquitto.port, status)
        async with (
            api_server(make_settings(), sample_registry) as base,
            connect(_ws_url(base, "kinds=road"), additional_headers=VIEWER_HEADERS) as ws,
        ):
            snapshot = await ws_message(ws)
            assert snapshot.type == "snapshot"
            assert [(e["type"], e["station"]) for e in snapshot.body["events"]] == [
                ("status", "koriyama-r4-underpass")]
            await publish_events(mosquitto.port, [
                *_events("sukagawa", range(1, 2)),
                *_events("koriyama-r4-underpass", range(1, 2), kind="road")])
            assert _ids(await _alerts(ws, 1)) == ["koriyama-r4-underpass/1"]

    asyncio.run(scenario())


def _retain(port: int, status: dict[str, Any]) -> None:
    import subprocess

    subprocess.run(["mosquitto_pub", "-p", str(port), "-q", "1", "-r", "-t",
                    f"floodwatch/status/{status['station']}", "-s"],
                   input=json.dumps(status).encode(), check=True, timeout=10)


@pytest.mark.parametrize(("since", "why"), [
    ("nonsense", "not an event id"),
    ("MScxLnN1a2FnYXdh", "not an event id"),
    ("A" * 9000, "longer than"),
    (Position({"sukagawa": 3}, "elsewhere").token, "another deployment"),
    (Position({"no-such-gauge": 3}, "local").token, "not in the registry"),
])
def test_an_unusable_event_id_starts_afresh_and_says_why(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer, since: str, why: str,
) -> None:
    """Before: 422, on which EventSource stops for good and the WebSocket recipe retries
    the same id forever. Now the feed starts afresh and a gap message says why."""
    settings = make_settings(deployment_id="local")

    async def scenario() -> None:
        async with (
            api_server(settings, sample_registry) as base,
            httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S, headers=VIEWER_HEADERS) as http,
        ):
            for request in ({"params": {"since": since}},
                            {"headers": {"Last-Event-ID": since}}):
                async with http.stream("GET", "/api/v1/live/sse",
                                       **request) as response:  # type: ignore[arg-type]
                    assert response.status_code == 200
                    messages = sse_messages(response)
                    assert (await next_sse(messages)).type == "snapshot"
                    gap = await next_sse(messages)
                    assert gap.type == "gap"
                    assert why in gap.body["reason"]
                    assert gap.body["missing"] == []
            # (A request line past 8 KB is refused by the WebSocket server itself, 414,
            # before this API sees it: the long id goes by header, on SSE, only.)
            ws_since = since if len(since) < 8_000 else "A" * 7_000
            async with connect(_ws_url(base, f"since={ws_since}"),
                               additional_headers=VIEWER_HEADERS) as ws:
                assert (await ws_message(ws)).type == "snapshot"
                gap = await ws_message(ws)
                assert gap.type == "gap"
                assert (why if ws_since == since else "not an event id") in gap.body["reason"]
            # A bad filter is still refused: that the client must fix.
            answer = await http.get("/api/v1/live/sse", params={"kinds": "lake"})
            assert answer.status_code == 422
            assert answer.headers["content-type"].startswith("application/problem+json")

    asyncio.run(scenario())
