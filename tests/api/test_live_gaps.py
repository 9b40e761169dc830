"""Review findings on the live feed's promise (every alert event once, or the client is
told): a hole at the END of a replay, a hole in the replay BUFFER, a seq jump on the LIVE
stream, an id naming nothing. Through the code's seams (api.resume, the stream's
generator) against a real InfluxDB, and the real API for what a client sees."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from websockets.asyncio.client import connect

from floodwatch.api.event_keys import EventKey
from floodwatch.api.hub import LiveEvent, LiveFilter
from floodwatch.api.live_position import Position
from floodwatch.api.replay_gaps import Missing
from floodwatch.api.resume import REPLAY_MAX, replay_since
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.servers import MosquittoServer
from tests.api.live_support import (
    alert_event,
    history_line,
    publish_events,
    sent_after_join,
    ws_message,
)
from tests.api.support import VIEWER_HEADERS, api_server

STATION = "sukagawa"
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def _event(seq: int) -> dict[str, Any]:
    return alert_event(STATION, seq, BASE + timedelta(minutes=seq))


def _live(seq: int) -> LiveEvent:
    event = _event(seq)
    key = EventKey.of_event(event)
    assert key is not None
    return LiveEvent("alert", STATION, "river", event, key)


def _seqs(events: list[LiveEvent]) -> list[int]:
    return [event.key.seq for event in events if event.key is not None]


async def _replay(settings: Settings, registry: StationRegistry, stored: range, *,
                  buffered: list[LiveEvent], had: int, newest: int) -> tuple[
                      list[int], list[Missing]]:
    async with InfluxClient.from_settings(settings) as influx:
        await influx.create_database()
        if stored:
            await influx.write([history_line(_event(seq)) for seq in stored])
        replay = await replay_since(
            Position({STATION: had}), newest=Position({STATION: newest}), buffered=buffered,
            influx=influx, registry=registry, live_filter=LiveFilter(frozenset({STATION})),
            reads=asyncio.Semaphore(1), window_days=settings.api_live_replay_days)
    return _seqs(replay.events), replay.missing


def test_a_replay_short_of_the_newest_seq_names_the_rest(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    """Before: InfluxDB up to 6, the engine's status at 8: 3..6 replayed as complete, and
    live seq 9 then moved the client past 7 and 8 with no word."""
    seqs, missing = asyncio.run(_replay(make_settings(), sample_registry, range(1, 7),
                                        buffered=[], had=2, newest=8))
    assert seqs == [3, 4, 5, 6]
    assert missing == [Missing(STATION, 7, 8)]


def test_a_hole_in_the_buffer_is_filled_from_influxdb(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    """Before: a buffer of [6, 8] (7 lost on a broker reconnect: the API's session does
    not outlive one) replayed as complete. Now InfluxDB fills the hole."""
    seqs, missing = asyncio.run(_replay(make_settings(), sample_registry, range(1, 9),
                                        buffered=[_live(6), _live(8)], had=5, newest=8))
    assert seqs == [6, 7, 8]
    assert missing == []


def test_a_hole_neither_has_is_named(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    seqs, missing = asyncio.run(_replay(make_settings(), sample_registry, range(1, 7),
                                        buffered=[_live(6), _live(8)], had=5, newest=8))
    assert seqs == [6, 8]
    assert missing == [Missing(STATION, 7, 7)]


def test_a_live_seq_jump_is_told_not_skipped() -> None:
    """Before: the live path took any jump (events lost between the bus and this API)
    and moved the client's id past them silently."""
    messages = sent_after_join([_live(5)], [_live(seq) for seq in (6, 9, 10)])
    assert [kind for kind, _, _ in messages] == ["snapshot", "alert", "gap", "alert",
                                                 "alert"]
    assert '"missing":[{"station":"sukagawa","from_seq":7,"to_seq":8}]' in messages[2][1]
    assert Position.parse(messages[-1][2] or "").seqs == {STATION: 10}


def test_an_id_naming_nothing_does_not_replay_the_record(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    """An id given before the API knew any status names no events: before, it replayed
    every event (up to 10,000) of every station; now it is a fresh start, told."""
    settings = make_settings()

    async def scenario() -> None:
        async with api_server(settings, sample_registry) as base:
            url = base.replace("http", "ws") + "/api/v1/live/ws"
            async with connect(url, additional_headers=VIEWER_HEADERS) as watcher:
                assert (await ws_message(watcher)).type == "snapshot"
                await publish_events(mosquitto.port, [_event(seq) for seq in (1, 2, 3)])
                for _ in range(3):
                    assert (await ws_message(watcher)).type == "alert"
            empty = Position(deployment=settings.deployment_id).token
            async with connect(f"{url}?since={empty}", additional_headers=VIEWER_HEADERS) as ws:
                assert (await ws_message(ws)).type == "snapshot"
                gap = await ws_message(ws)
                assert gap.type == "gap", gap.body
                assert "named no alert events" in gap.body["reason"]
                await publish_events(mosquitto.port, [_event(4)])
                live = await ws_message(ws)
                assert live.type == "alert"
                assert live.body["data"]["seq"] == 4

    asyncio.run(scenario())


def test_more_than_the_replay_max_is_a_gap_at_once_without_reading_influxdb(
    sample_registry: StationRegistry,
) -> None:
    """Before: up to 10,000 events read (the OLDEST, ORDER BY time ASC LIMIT) and the
    newest left for the live stream to skip. Now the count is known from the seqs: the
    gap names the whole range, and InfluxDB is not read at all (no client here)."""
    replay = asyncio.run(replay_since(
        Position({STATION: 10}), newest=Position({STATION: 10 + REPLAY_MAX + 1}),
        buffered=[], influx=cast(InfluxClient, None), registry=sample_registry,
        live_filter=LiveFilter(frozenset({STATION})), reads=asyncio.Semaphore(1),
        window_days=1))
    assert replay.events == []
    assert replay.missing == [Missing(STATION, 11, 10 + REPLAY_MAX + 1)]
    assert str(REPLAY_MAX) in replay.reason
