"""Open data and SensorThings latency: ``python -m bench.open_data [--stations N]``.

A private Mosquitto and InfluxDB (bench.rig), N river gauges with two days of 10-minute
readings (bench.api_data, as ingest writes them), and the API app in this process
(httpx's ASGI transport, lifespan run: no socket, so the figures are the app's and
InfluxDB's work, not uvicorn's). Each request kind is asked ``--repeat`` times in turn;
the figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from bench.api_data import station_id, write_history, write_registry
from bench.rig import rig
from bench.table import print_rows
from floodwatch.api.app import create_app
from floodwatch.core.influx import InfluxClient
from floodwatch.core.readings import JST
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings

DATABASE = "open_data_bench"


def requests(stations: int) -> dict[str, Callable[[int], str]]:
    """Request kinds: name -> the URL of the i-th request (a different station each)."""
    yesterday = datetime.now(JST).date() - timedelta(days=1)

    def one(index: int) -> str:
        return station_id(index % stations)

    return {
        "day file, JSON (144 readings)":
            lambda i: f"/open-data/v1/stations/{one(i)}/readings/{yesterday}.json",
        "day file, CSV (144 readings)":
            lambda i: f"/open-data/v1/stations/{one(i)}/readings/{yesterday}.csv",
        "STA Datastream Observations, $top=100":
            lambda i: f"/sta/v1.1/Datastreams('{one(i)}:level_m')/Observations?$top=100",
        "STA newest of each Datastream, 100 Things":
            lambda i: "/sta/v1.1/Things?$top=100&$skip=" + str(i % max(1, stations // 100)
                                                                * 100)
            + "&$expand=Datastreams/Observations($top=1;$orderby=phenomenonTime desc)",
        "STA /Observations newest 100, all stations":
            lambda _i: "/sta/v1.1/Observations?$top=100&$orderby=phenomenonTime%20desc",
    }


async def measure(settings: Settings, registry: StationRegistry, stations: int,
                  repeat: int) -> list[list[str]]:
    app = create_app(settings, registry)
    rows = []
    async with (app.router.lifespan_context(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                  base_url="http://bench", timeout=60) as client):
        for name, url in requests(stations).items():
            times, size = [], 0
            for index in range(repeat):
                started = time.perf_counter()
                response = await client.get(url(index))
                times.append(time.perf_counter() - started)
                response.raise_for_status()
                size = len(response.content)
            times.sort()
            rows.append([name, f"{statistics.median(times) * 1000:.1f}",
                         f"{times[int(len(times) * 0.95) - 1] * 1000:.1f}",
                         f"{size / 1024:.1f}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument("--days", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with rig() as bench_rig:
        settings = Settings.model_validate({
            "mqtt_url": bench_rig.mosquitto.url, "influx_url": bench_rig.influx.url,
            "influx_db": DATABASE, "state_dir": str(bench_rig.workdir / "state"),
            "stations": str(write_registry(bench_rig.workdir, args.stations, 600))})
        registry = StationRegistry.load(settings.stations)

        async def run() -> list[list[str]]:
            async with InfluxClient.from_settings(settings) as influx:
                points, seconds = await write_history(
                    influx, args.stations, args.days, 600,
                    datetime.now(UTC) - timedelta(minutes=10))
            print(f"wrote {points} points in {seconds:.1f} s")
            return await measure(settings, registry, args.stations, args.repeat)

        rows = asyncio.run(run())
    print(f"\n{args.stations} river gauges, {args.days:g} days of 10-minute readings, "
          f"{args.repeat} requests each, in-process (ASGI), sequential")
    print_rows(["request", "median ms", "p95 ms", "answer KB"], rows)


if __name__ == "__main__":
    main()
