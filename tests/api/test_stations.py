"""Stations and latest readings, fed by the real ingest through the real broker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.api.support import api_client, eventually
from tests.support import mosquitto_pub


def _station(body: dict[str, Any], station_id: str) -> dict[str, Any]:
    return next(s for s in body["stations"] if s["id"] == station_id)


def test_lists_every_station_stale_without_readings(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry
) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry) as client:
            response = await client.get("/api/v1/stations")
            assert response.status_code == 200
            body = response.json()
            assert body["source"] == "influxdb+bus"
            assert [s["id"] for s in body["stations"]] == [s.id for s in sample_registry]
            assert all(s["stale"] and s["latest"] is None for s in body["stations"])

    asyncio.run(scenario())


def test_reading_from_ingest_shows_latest_band_and_fresh(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    start_ingest: Callable[..., Any], mosquitto: MosquittoServer,
) -> None:
    station = sample_registry.get("sukagawa")
    assert station is not None
    assert station.levels_m is not None
    caution = station.levels_m.caution
    level = caution + 0.1
    start_ingest()

    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry) as client:
            await asyncio.to_thread(mosquitto_pub, mosquitto.port, "sensors/river/sukagawa",
                                    json.dumps({"level_m": level, "rain_mm": 2}))

            async def seen() -> dict[str, Any] | None:
                body = (await client.get("/api/v1/latest")).json()
                entry = _station(body, "sukagawa")
                return entry if entry["latest"] else None

            entry = await eventually(seen, "the reading in /latest")
            assert entry["latest"]["values"] == {"level_m": level, "rain_mm": 2.0}
            assert entry["level"] == {"band": "caution", "rank": 2}
            assert entry["stale"] is False

            one = (await client.get("/api/v1/stations/sukagawa")).json()
            assert one["levels_m"]["caution"] == caution
            assert one["interval_s"] == station.interval_s
            assert one["level"]["band"] == "caution"

    asyncio.run(scenario())


def test_live_cache_answers_while_influxdb_is_down(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    # Nothing listens on this port: InfluxDB is "down" for this app from the start.
    settings = make_settings(influx_url=f"http://127.0.0.1:{free_port()}",
                             influx_timeout_s=1)
    reading = {"station": "sukagawa", "kind": "river", "ts": "2026-11-28T01:00:00Z",
               "ts_source": "device", "received_at": "2026-11-28T01:00:00.100000Z",
               "values": {"level_m": 1.0}}

    async def scenario() -> None:
        async with api_client(settings, sample_registry) as client:
            await asyncio.to_thread(mosquitto_pub, mosquitto.port,
                                    "floodwatch/readings/river/sukagawa", json.dumps(reading))

            async def seen() -> dict[str, Any] | None:
                body = (await client.get("/api/v1/stations")).json()
                return body if _station(body, "sukagawa")["latest"] else None

            body = await eventually(seen, "the bus reading")
            assert body["source"] == "bus"
            entry = _station(body, "sukagawa")
            assert entry["latest"]["ts"] == "2026-11-28T01:00:00Z"
            assert entry["level"] == {"band": "normal", "rank": 0}
            assert entry["stale"] is True  # an old reading: known, but stale

            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json() == {"status": "degraded", "broker": True, "influxdb": False}

            history = await client.get("/api/v1/stations/sukagawa/readings")
            assert history.status_code == 503
            assert history.headers["content-type"] == "application/problem+json"
            assert history.json()["type"].endswith("/store-unavailable")

    asyncio.run(scenario())


def test_unknown_station_is_a_problem(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry
) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry) as client:
            response = await client.get("/api/v1/stations/nowhere")
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert body["status"] == 404
            assert body["type"].endswith("/unknown-station")
            assert "nowhere" in body["detail"]

            bad = await client.get("/api/v1/stations/Not_An_Id")
            assert bad.status_code == 422
            assert bad.json()["type"].endswith("/bad-parameter")

    asyncio.run(scenario())
