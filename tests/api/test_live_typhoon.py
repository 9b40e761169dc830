"""Issue 21's done-when: a client that drops off during a typhoon and comes back with
its last event id has every alert event exactly once.

Everything real: Mosquitto, InfluxDB, the alert engine as its own process (writing the
alert_event history), the API behind uvicorn, and clients that really close their
connection. The storm is the simulator's typhoon, time-compressed: its readings go onto
the bus as fast as the broker takes them, so the client's 60 s away is simulated time
(the storm's 9th to 13th hour, 60 s at 240x), while the engine keeps publishing events.

Once with SSE and the default buffer (the missed events come from the API's memory,
Last-Event-ID as EventSource sends it), once with the WebSocket and a 5-event buffer
(the missed events come from InfluxDB, the newest from both).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncGenerator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.servers import MosquittoServer
from tests.alerts.conftest import RULES_FILE
from tests.alerts.process import AlertsProcess, bus, publish_all
from tests.alerts.test_typhoon import typhoon_readings
from tests.api.live_support import Message, sse_messages, ws_message
from tests.api.support import VIEWER_HEADERS, api_server, eventually
from tests.simulators.conftest import TYPHOON_START
from tests.support import InfluxQuery

pytestmark = pytest.mark.slow

AWAY = (timedelta(hours=9), timedelta(hours=13))
DROP_AFTER = 3  # events of the away window the client still gets before its link drops


class FeedClient:
    """One live client's reader task, collecting alert events with their ids."""

    def __init__(self, transport: str, base: str) -> None:
        self.transport = transport
        self.base = base
        self.alerts: list[Message] = []
        self.other: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def start(self, since: str | None, *, drop_at: int | None = None) -> None:
        """Read until cancelled, or until ``drop_at`` alert events in all, when the
        reader itself closes the connection (no poll can let more arrive first)."""
        self._task = asyncio.create_task(self._read(since, drop_at))

    @property
    def reading(self) -> bool:
        return self._task is not None and not self._task.done()

    async def close(self) -> None:
        """Drop the connection, as a phone leaving coverage: whatever was in flight is
        lost; the last id kept is that of the last event actually received."""
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def stop(self) -> None:
        """At the end, also after a failure (a connection left open would hold uvicorn's
        shutdown, and the timeout would hide the failure): whatever ended the reader was
        already seen in what it collected."""
        if self._task is not None and not self._task.done():
            await self.close()

    @property
    def last_id(self) -> str:
        ids = [m.id for m in self.alerts if m.id is not None]
        return ids[-1]

    async def _read(self, since: str | None, drop_at: int | None) -> None:
        # aclosing: leaving the loop must close the connection now, not when the
        # abandoned generator is garbage-collected.
        async with contextlib.aclosing(self._messages(since)) as messages:
            async for message in messages:
                if message.type == "alert":
                    self.alerts.append(message)
                    if len(self.alerts) == drop_at:
                        return  # the link drops here
                elif message.type != "heartbeat":
                    self.other.append(message.type)

    async def _messages(self, since: str | None) -> AsyncGenerator[Message, None]:
        if self.transport == "sse":
            headers = dict(VIEWER_HEADERS)
            if since is not None:
                headers["Last-Event-ID"] = since  # what EventSource sends by itself
            async with (
                httpx.AsyncClient(base_url=self.base, headers=headers, timeout=None) as http,
                http.stream("GET", "/api/v1/live/sse") as response,
            ):
                async for message in sse_messages(response):
                    yield message
        else:
            url = self.base.replace("http", "ws") + "/api/v1/live/ws"
            if since is not None:
                url += f"?since={since}"
            async with connect(url, additional_headers=VIEWER_HEADERS) as ws:
                while True:
                    yield await ws_message(ws)


def _phases(readings: list[Reading]) -> tuple[list[Reading], list[Reading], list[Reading]]:
    start, end = (TYPHOON_START + offset for offset in AWAY)
    return ([r for r in readings if r.ts < start],
            [r for r in readings if start <= r.ts < end],
            [r for r in readings if r.ts >= end])


@pytest.mark.parametrize(("transport", "buffer"), [("sse", 1000), ("ws", 5)])
def test_a_client_away_during_a_typhoon_gets_every_alert_event_once(
    transport: str, buffer: int, *, make_settings: Callable[..., Settings],
    settings_env: Callable[..., dict[str, str]], sample_registry: StationRegistry,
    mosquitto: MosquittoServer, influx: InfluxQuery, tmp_path: Any,
) -> None:
    before, away, after = _phases(typhoon_readings(sample_registry))
    engine = AlertsProcess(settings_env(
        alerts_rules=RULES_FILE, alerts_client_id=f"alerts-{uuid.uuid4().hex[:8]}",
        alerts_tick_s=0), tmp_path / "alerts.log")
    settings = make_settings(api_live_replay_buffer=buffer, api_heartbeat_s=1)

    def stored() -> list[str]:
        return [json.loads(row["payload"])["event_id"]
                for row in influx.rows('SELECT "payload" FROM "alert_event"')]

    async def scenario() -> None:
        async with api_server(settings, sample_registry) as base:
            # Connected throughout: every event as it reached the API, in arrival order.
            watcher = FeedClient("ws", base)
            client = FeedClient(transport, base)
            try:
                await storm(watcher, client)
            finally:
                await client.stop()
                await watcher.stop()

    async def storm(watcher: FeedClient, client: FeedClient) -> None:
        watcher.start(None)
        client.start(None)
        await eventually(_async(lambda: "snapshot" in client.other
                                and "snapshot" in watcher.other), "both snapshots")
        await asyncio.to_thread(publish_all, mosquitto.port, bus(before))
        await _settled(watcher, stored)
        assert len(client.alerts) == len(watcher.alerts) > 0
        # The away window's readings flow; the client's link drops a few events in (it
        # reconnects first, with nothing missed, to be told where to drop).
        await client.close()
        client.start(client.last_id, drop_at=len(client.alerts) + DROP_AFTER)
        publishing = threading.Thread(target=publish_all, args=(mosquitto.port, bus(away)))
        publishing.start()
        await eventually(_async(lambda: not client.reading), "the client's link to drop")
        kept = list(client.alerts)
        await asyncio.to_thread(publishing.join)
        await _settled(watcher, stored)
        missed = len(watcher.alerts) - len(kept)
        assert missed > 0
        # The default buffer holds them all; the small one leaves most to InfluxDB.
        assert missed < buffer if buffer > 100 else missed > buffer
        # Back with its last id; the storm goes on meanwhile.
        client.start(kept[-1].id)
        await asyncio.to_thread(publish_all, mosquitto.port, bus(after))
        await _settled(watcher, stored)
        await eventually(_async(lambda: len(client.alerts) >= len(watcher.alerts)),
                         "the client to catch up", timeout_s=30)
        await asyncio.sleep(0.5)  # a duplicate would arrive now
        await client.close()
        await watcher.close()
        print(f"\n{transport}: {len(watcher.alerts)} alert events, {missed} missed "
              f"while away and replayed (buffer {buffer})")
        every = [m.body["data"]["event_id"] for m in watcher.alerts]
        received = [m.body["data"]["event_id"] for m in client.alerts]
        assert [n for n, c in Counter(received).items() if c > 1] == []
        assert sorted(received) == sorted(every) == sorted(stored())
        assert "gap" not in client.other
        # Each station's events in their order (seq); in the end the client is where
        # the watcher is (the ids are positions: the same events, the same id).
        by_station: dict[str, list[int]] = defaultdict(list)
        for message in client.alerts:
            by_station[message.body["station"]].append(message.body["data"]["seq"])
        assert all(seqs == sorted(seqs) for seqs in by_station.values())
        assert client.last_id == watcher.last_id

    engine.start()
    try:
        # Bounded: after a failure, a connection left open would hold uvicorn's shutdown
        # for ever; the failure is then the timeout's context in the report.
        asyncio.run(asyncio.wait_for(scenario(), 240))
    finally:
        engine.stop()


def _async(check: Callable[[], bool]) -> Callable[[], Any]:
    async def run() -> bool:
        return check()

    return run


async def _settled(watcher: FeedClient, stored: Callable[[], list[str]]) -> None:
    """Until the engine is done with what was published: every event it stored has
    reached the API, and nothing new for a moment."""
    last = -1
    for _ in range(60):
        await asyncio.sleep(1.0)
        count = len(await asyncio.to_thread(stored))
        if count == len(watcher.alerts) == last:
            return
        last = count
    raise AssertionError(f"not settled: {count} stored, {len(watcher.alerts)} on the feed "
                         f"({watcher.other[-3:]})")
