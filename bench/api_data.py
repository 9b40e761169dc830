"""The data behind the API benchmark: a generated registry of river gauges and their
history (one reading every ``interval_s`` for ``days``), written to InfluxDB in batches
of 5,000 lines through core.influx, as ingest writes them."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from floodwatch.core.influx import InfluxClient
from floodwatch.core.lineprotocol import format_point

BATCH = 5000
# Writes in flight: enough to keep InfluxDB busy, few enough not to swamp a small machine.
CONCURRENT_WRITES = 3


def station_id(index: int) -> str:
    return f"r-{index:03d}"


def registry_yaml(stations: int, interval_s: int) -> str:
    """River gauges r-000, r-001, ... in the registry format (config/stations.yaml)."""
    lines = ["stations:"]
    for index in range(stations):
        # Spread over the basin so a map would not stack them.
        lat, lon = 37.0 + (index % 25) * 0.04, 140.0 + (index // 25) * 0.04
        lines.append(
            f"  - {{id: {station_id(index)}, kind: river,"
            f" name: {{ja: 観測所{index}, en: Gauge {index}}}, river: abukuma,"
            f" basin: abukuma, location: {{lat: {lat:.2f}, lon: {lon:.2f}}},"
            f" interval_s: {interval_s},"
            f" levels_m: {{standby: 2, caution: 3, evacuation: 4, danger: 5}}}}")
    return "\n".join(lines) + "\n"


def write_registry(folder: Path, stations: int, interval_s: int) -> Path:
    path = folder / f"api-bench-stations-{stations}.yaml"
    path.write_text(registry_yaml(stations, interval_s), encoding="utf-8")
    return path


def level(index: int, step: int) -> float:
    """A plausible daily tide of the river, different per station."""
    return round(1.5 + math.sin(step / 72 + index) * 0.8 + (index % 7) * 0.05, 3)


def history_lines(stations: int, days: float, interval_s: int,
                  end: datetime) -> Iterator[list[str]]:
    """Batches of line protocol, oldest first, every station at every step."""
    steps = int(days * 86400 // interval_s)
    start_s = int(end.timestamp()) - steps * interval_s
    batch: list[str] = []
    for step in range(steps):
        ns = (start_s + step * interval_s) * 1_000_000_000
        for index in range(stations):
            batch.append(format_point(
                "river", {"station": station_id(index), "river": "abukuma",
                          "basin": "abukuma"},
                {"level_m": level(index, step), "rain_mm": float(step % 5),
                 "battery_v": 12.6}, ns))
            if len(batch) == BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


async def write_history(influx: InfluxClient, stations: int, days: float,
                        interval_s: int, end: datetime | None = None) -> tuple[int, float]:
    """Write the history; returns (points, seconds)."""
    await influx.create_database()
    end = end or datetime.now(UTC) - timedelta(seconds=interval_s)
    started = time.perf_counter()
    points = 0
    in_flight: set[asyncio.Task[None]] = set()
    for batch in history_lines(stations, days, interval_s, end):
        if len(in_flight) >= CONCURRENT_WRITES:
            done, in_flight = await asyncio.wait(in_flight,
                                                 return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        in_flight.add(asyncio.create_task(influx.write(batch)))
        points += len(batch)
    for finished in asyncio.as_completed(in_flight):
        await finished
    return points, time.perf_counter() - started
