"""Scale-out on one broker: two ingest processes in one shared-subscription group, two
alert engines partitioned by basin, two API processes; exact counts, no double work."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.support import (
    AlertsStageProcess,
    ApiProcess,
    FloodwatchProcess,
    InfluxQuery,
    IngestProcess,
    collect,
    mosquitto_pub_lines,
    wait_for,
)

BASINS = {"abukuma": 4, "natori": 4}
READINGS_PER_STATION = 250  # 2,000 in all


def two_basin_registry(path: Path) -> Path:
    lines = ["stations:"]
    for basin, count in BASINS.items():
        for index in range(count):
            lines.append(
                f"  - {{id: {basin}-{index}, kind: river, name: {{ja: {basin}{index}, en: "
                f"{basin} {index}}}, river: {basin}, basin: {basin}, location: {{lat: 38.0,"
                f" lon: 140.5}}, interval_s: 600, levels_m: {{standby: 1, caution: 2,"
                f" evacuation: 3, danger: 4}}}}")
    path.write_text("\n".join(lines) + "\n")
    return path


def metric(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith(name) and not line.startswith("#"))


def test_two_of_each_store_once_alert_once_and_serve_the_same_feed(
    tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery,
    settings_env: Callable[..., dict[str, str]],
) -> None:
    registry = two_basin_registry(tmp_path / "stations.yaml")
    stations = [f"{basin}-{i}" for basin, count in BASINS.items() for i in range(count)]
    started: list[FloodwatchProcess] = []

    def start(process: FloodwatchProcess) -> FloodwatchProcess:
        started.append(process)
        return process.start()

    ingest_metrics = [free_port(), free_port()]
    api_ports = [free_port(), free_port()]
    try:
        for index, port in enumerate(ingest_metrics):
            start(IngestProcess(settings_env(
                registry, ingest_client_id=f"ingest-{index}", ingest_share_group="ingest",
                metrics_port=port), tmp_path / f"ingest-{index}.log"))
        for basin in BASINS:
            start(AlertsStageProcess(settings_env(
                registry, alerts_client_id=f"alerts-{basin}", alerts_basins=basin),
                tmp_path / f"alerts-{basin}.log"))
        for index, port in enumerate(api_ports):
            start(ApiProcess(settings_env(
                registry, api_client_id=f"api-{index}", api_port=port, api_public_read="true"),
                tmp_path / f"api-{index}.log"))

        with collect(mosquitto.port, "floodwatch/alerts/#") as events:
            # Each station: 249 readings under its standby level (1 m), then one over it.
            start_ts = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
            publishers = []
            for station in stations:
                lines = []
                for step in range(READINGS_PER_STATION):
                    level = 1.2 if step == READINGS_PER_STATION - 1 else 0.5
                    ts = (start_ts + timedelta(minutes=step)).isoformat()
                    lines.append(json.dumps({"ts": ts, "level_m": level}))
                publishers.append(mosquitto_pub_lines(
                    mosquitto.port, f"sensors/river/{station}", lines))
            for publisher in publishers:
                assert publisher.wait(60) == 0
            total = READINGS_PER_STATION * len(stations)
            wait_for(lambda: influx.count("river", "level_m") == total, 60,
                     f"all {total} readings stored")
            stored = [metric(port, "floodwatch_ingest_readings_stored_total")
                      for port in ingest_metrics]
            # Exactly once: the two workers' counts add up to what was published, and
            # both took a share (the group really split the stream).
            assert sum(stored) == total, stored
            assert all(count > 0 for count in stored), stored

            wait_for(lambda: events.count() >= len(stations), 30, "a raise per station")
            raised = [e["station"] for e in events.payloads() if e["transition"] == "raised"
                      and e["alert_type"] == "river_level"]
            assert sorted(raised) == sorted(stations)  # each exactly once
        for process in started[2:4]:
            basin = process.env["FLOODWATCH_ALERTS_BASINS"]
            logged = {e["event_id"].split("/")[0] for e in process.log_events("alert event")}
            assert logged == {s for s in stations if s.startswith(basin)}, basin

        asyncio.run(same_live_reading_on_both(mosquitto.port, api_ports))
    finally:
        for process in reversed(started):
            process.stop()


async def same_live_reading_on_both(broker_port: int, api_ports: list[int]) -> None:
    async def first_reading(port: int, ready: asyncio.Event) -> dict[str, Any]:
        async with connect(f"ws://127.0.0.1:{port}/api/v1/live/ws?stations=natori-0") as ws:
            assert json.loads(await ws.recv())["type"] == "snapshot"
            ready.set()
            while True:
                message: dict[str, Any] = json.loads(await ws.recv())
                if message["type"] == "reading":
                    return message

    readies = [asyncio.Event() for _ in api_ports]
    waiting = [asyncio.create_task(first_reading(port, ready))
               for port, ready in zip(api_ports, readies, strict=True)]
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 10)
    ts = datetime.now(UTC).replace(microsecond=0).isoformat()
    publisher = mosquitto_pub_lines(broker_port, "sensors/river/natori-0",
                                    [json.dumps({"ts": ts, "level_m": 0.7})], linger_s=0.5)
    received = await asyncio.wait_for(asyncio.gather(*waiting), 15)
    await asyncio.to_thread(publisher.wait, 10)
    assert received[0] == received[1]
    assert received[0]["station"] == "natori-0"
