"""Live fan-out delay: one validated reading published on the bus (as ingest does) until
it has arrived at each of N concurrent WebSocket clients of the API.

Publisher and clients share one process and one clock (perf_counter). Each reading
carries its probe number in its timestamp; a client notes when the frame is in. The
figure is an upper bound: the N clients are read by one Python process, so the last
client's time includes this process reading the N-1 frames before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion
from websockets.asyncio.client import ClientConnection, connect

from floodwatch.core.readings import Reading, bus_topic
from floodwatch.core.registry import StationKind

# Connections opened at once: a burst of 1,000 SYNs would only measure the accept queue.
CONNECT_CONCURRENCY = 50
# A probe's device time: now, and its number in the microseconds, so each is newer than
# the station's history (the API keeps a station's latest by device time) and findable.
PROBE_TS = re.compile(r'"ts":"([0-9T:.-]+Z)"')


@dataclass
class FanOut:
    clients: int
    # probe -> arrival delay (s) at each client that got it
    delays: dict[int, list[float]] = field(default_factory=dict)
    missing: int = 0

    def all_delays(self) -> list[float]:
        return [delay for delays in self.delays.values() for delay in delays]

    def to_all(self) -> list[float]:
        """Per probe: the time until the last client had it."""
        return [max(delays) for delays in self.delays.values() if delays]


def _probe(station: str, probe: int) -> tuple[str, bytes]:
    """The probe's device time as the bus writes it, and the bus message (as ingest's)."""
    now = datetime.now(UTC)
    reading = Reading(station, StationKind.RIVER, now.replace(microsecond=probe),
                      {"level_m": 1.0 + probe / 1000}, "device", now)
    payload = reading.to_json()
    found = PROBE_TS.search(payload.decode())
    assert found is not None
    return found.group(1), payload


async def _client(url: str, gate: asyncio.Semaphore, connected: Callable[[], None],
                  sent: dict[str, tuple[int, float]], result: FanOut) -> None:
    async with gate:
        websocket = await connect(url, max_size=2**24, open_timeout=120)
        await _read_snapshot(websocket)
    connected()
    async with websocket:
        async for frame in websocket:
            arrived = time.perf_counter()
            # A substring, not json.loads: this process reads every client's frames,
            # and the less it does per frame the less it adds to the figures.
            found = PROBE_TS.search(str(frame))
            probe = sent.get(found.group(1)) if found else None
            if probe is not None:
                result.delays[probe[0]].append(arrived - probe[1])


async def _read_snapshot(websocket: ClientConnection) -> None:
    first = json.loads(await websocket.recv())
    if first.get("type") != "snapshot":
        raise RuntimeError(f"expected a snapshot first, got {first!r}"[:300])


async def measure(ws_url: str, mqtt_port: int, station: str, *, clients: int, probes: int,
                  gap_s: float = 1.0, settle_s: float = 5.0) -> FanOut:
    """Connect ``clients``, then publish ``probes`` readings ``gap_s`` apart."""
    result = FanOut(clients)
    sent: dict[str, tuple[int, float]] = {}
    ready, count = asyncio.Event(), [0]
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    def connected() -> None:
        count[0] += 1
        if count[0] == clients:
            ready.set()

    tasks = [asyncio.create_task(_client(ws_url, gate, connected, sent, result))
             for _ in range(clients)]
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait({waiting, *tasks}, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        if task.done() and task.exception() is not None:
            waiting.cancel()
            raise RuntimeError("a WebSocket client failed") from task.exception()
    publisher = Client(CallbackAPIVersion.VERSION2, client_id="bench-api-ws-publisher")
    publisher.connect("127.0.0.1", mqtt_port)
    publisher.loop_start()
    try:
        for probe in range(probes):
            result.delays[probe] = []
            stamp, payload = _probe(station, probe)
            sent[stamp] = (probe, time.perf_counter())
            publisher.publish(bus_topic(StationKind.RIVER, station), payload, qos=1)
            await asyncio.sleep(gap_s)
        for _ in range(int(settle_s * 10)):  # stragglers, if any
            if all(len(d) == clients for d in result.delays.values()):
                break
            await asyncio.sleep(0.1)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
    result.missing = sum(clients - len(d) for d in result.delays.values())
    return result
