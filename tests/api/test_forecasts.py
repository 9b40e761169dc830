"""Forecasts in the API (issue 24): the forecast stage's retained messages, built from the
core model and published on the real broker, answered by GET /stations/{id}/forecast
(current or stale, with InfluxDB down) and pushed on the live feed (WebSocket and SSE;
in the snapshot, never replayed); a message the API cannot read is dropped."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from websockets.asyncio.client import connect

from floodwatch.api.hub import LiveHub
from floodwatch.api.live import LiveCache
from floodwatch.core import bus
from floodwatch.core.mqtt import MqttSession
from floodwatch.core.readings import format_ts
from floodwatch.core.registry import Station, StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.alerts.process import publish_all
from tests.api.forecast_points import on_bus, publish_retained, rising_forecast
from tests.api.live_support import TIMEOUT_S, next_sse, sse_messages, ws_message
from tests.api.support import VIEWER_HEADERS, api_client, api_server, eventually


def _station(registry: StationRegistry, station_id: str) -> Station:
    station = registry.get(station_id)
    assert station is not None
    return station


def _reading(station: str, at: datetime, level: float) -> tuple[str, bytes]:
    return bus.READINGS.name(kind="river", station=station), json.dumps({
        "station": station, "kind": "river", "ts": format_ts(at), "ts_source": "device",
        "received_at": format_ts(at), "values": {"level_m": level}}).encode()


def _influx_down(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(influx_url=f"http://127.0.0.1:{free_port()}", influx_timeout_s=1)


def test_the_newest_forecast_current_until_a_newer_reading_with_influxdb_down(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    sukagawa = _station(sample_registry, "sukagawa")
    first = rising_forecast(sukagawa, now - timedelta(minutes=10), 4.2, rise_m_per_h=0.6)
    # Retained before the API starts: it has it from its first subscription.
    publish_retained(mosquitto.port, [on_bus(first)])

    async def scenario() -> None:
        async with api_client(_influx_down(make_settings), sample_registry) as client:
            async def answer(station: str = "sukagawa") -> dict[str, Any] | None:
                got = await client.get(f"/api/v1/stations/{station}/forecast")
                return got.json() if got.status_code == 200 else None

            body = await eventually(answer, "the retained forecast")
            assert body["forecast"] == first.model_dump(mode="json")
            # No reading yet: a station without a reading is stale, and so is its forecast.
            assert (body["current"], body["stale_reason"]) == (False, "station_stale")
            assert body["latest_reading_at"] is None

            await asyncio.to_thread(publish_all, mosquitto.port, [
                _reading("sukagawa", now - timedelta(minutes=10), 4.2)])
            body = await eventually(
                lambda: _when(answer(), lambda b: b["latest_reading_at"] is not None),
                "the reading the forecast was issued on")
            assert (body["current"], body["stale_reason"]) == (True, None)
            assert body["latest_reading_at"] == format_ts(now - timedelta(minutes=10))

            # A newer reading and no newer forecast: the forecast is no longer current.
            await asyncio.to_thread(publish_all, mosquitto.port, [
                _reading("sukagawa", now, 4.3)])
            body = await eventually(lambda: _when(answer(), lambda b: not b["current"]),
                                    "the forecast marked stale")
            assert body["stale_reason"] == "newer_reading"
            assert body["forecast"]["issued_at"] == first.issued_at

            # The forecast on that reading makes it current again; an older one published
            # after it (a retained message again after a reconnect) replaces nothing.
            second = rising_forecast(sukagawa, now, 4.3, rise_m_per_h=0.9, method="trend")
            await asyncio.to_thread(publish_all, mosquitto.port, [on_bus(second), on_bus(first)])
            body = await eventually(lambda: _when(answer(), lambda b: b["current"]),
                                    "the newer forecast")
            assert body["forecast"] == second.model_dump(mode="json")
            assert body["forecast"]["method"] == "trend"
            assert body["forecast"]["fallback"].startswith("thin history")
            assert [c["level_name"] for c in body["forecast"]["crossings"]] == [
                "evacuation", "danger", "flooding"]

            # A gauge silent for two hours (interval 10 min x stale factor 3): stale.
            fushiguro = _station(sample_registry, "fushiguro")
            old = now - timedelta(hours=2)
            await asyncio.to_thread(publish_all, mosquitto.port, [
                _reading("fushiguro", old, 2.0),
                on_bus(rising_forecast(fushiguro, old, 2.0, rise_m_per_h=0.1))])
            body = await eventually(lambda: answer("fushiguro"), "fushiguro's forecast")
            assert (body["current"], body["stale_reason"]) == (False, "station_stale")

            none = await client.get("/api/v1/stations/akutsu/forecast")
            assert none.status_code == 404
            assert none.headers["content-type"].startswith("application/problem+json")
            assert none.json()["type"].endswith("/no-forecast")
            unknown = await client.get("/api/v1/stations/nowhere/forecast")
            assert unknown.json()["type"].endswith("/unknown-station")
            # Conditional requests like the other station resources.
            again = await client.get("/api/v1/stations/sukagawa/forecast")
            etag = again.headers["etag"]
            unchanged = await client.get("/api/v1/stations/sukagawa/forecast",
                                         headers={"If-None-Match": etag})
            assert unchanged.status_code == 304

    asyncio.run(scenario())


async def _when(pending: Any, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    body = cast(dict[str, Any] | None, await pending)
    return body if body is not None and ready(body) else None


def test_the_live_feed_pushes_forecasts_and_holds_the_newest_in_its_snapshot(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    sukagawa = _station(sample_registry, "sukagawa")
    retained = rising_forecast(sukagawa, now - timedelta(minutes=10), 4.2, rise_m_per_h=0.6)
    publish_retained(mosquitto.port, [on_bus(retained)])

    async def scenario() -> None:
        async with api_server(_influx_down(make_settings), sample_registry) as base:
            url = base.replace("http", "ws") + "/api/v1/live/ws"
            async with connect(f"{url}?stations=sukagawa",
                               additional_headers=VIEWER_HEADERS) as ws:
                snapshot = (await ws_message(ws)).body
                assert snapshot["type"] == "snapshot"
                assert {"type": "forecast", "station": "sukagawa",
                        "data": json.loads(bus.encode(retained))} in snapshot["events"]
                resume_id = snapshot["id"]
                newer = rising_forecast(sukagawa, now, 4.3, rise_m_per_h=0.8)
                await asyncio.to_thread(publish_all, mosquitto.port, [on_bus(newer)])
                pushed = await ws_message(ws)
                # Not an alert event: no id (a forecast is replaced, never replayed).
                assert pushed.id is None
                assert pushed.body == {"type": "forecast", "station": "sukagawa",
                                       "data": json.loads(bus.encode(newer))}
            # A client resuming gets the newest forecast in its snapshot, not the missed ones.
            async with connect(f"{url}?stations=sukagawa&since={resume_id}",
                               additional_headers=VIEWER_HEADERS) as ws:
                snapshot = (await ws_message(ws)).body
                forecasts = [e for e in snapshot["events"] if e["type"] == "forecast"]
                assert [f["data"]["issued_at"] for f in forecasts] == [newer.issued_at]
            # Alerts only: readings and forecasts are data, not alerts.
            async with connect(f"{url}?alerts_only=true",
                               additional_headers=VIEWER_HEADERS) as ws:
                snapshot = (await ws_message(ws)).body
                assert all(e["type"] != "forecast" for e in snapshot["events"])
            async with (httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S,
                                          headers=VIEWER_HEADERS) as http,
                        http.stream("GET", "/api/v1/live/sse",
                                    params={"kinds": "river"}) as response):
                messages = sse_messages(response)
                snapshot = (await next_sse(messages)).body
                assert any(e["type"] == "forecast" for e in snapshot["events"])
                latest = rising_forecast(sukagawa, now + timedelta(minutes=10), 4.4,
                                         rise_m_per_h=0.8)
                await asyncio.to_thread(publish_all, mosquitto.port, [on_bus(latest)])
                pushed = await next_sse(messages)
                assert (pushed.type, pushed.id) == ("forecast", None)
                assert pushed.body["data"]["issued_at"] == latest.issued_at

    asyncio.run(scenario())


def _cache() -> LiveCache:
    # The bus reader's seam: handle() never touches the subscription.
    return LiveCache(cast(MqttSession, None), LiveHub(queue_size=10, replay_size=10))


def test_a_forecast_the_api_cannot_read_is_dropped(sample_registry: StationRegistry) -> None:
    cache = _cache()
    now = datetime(2026, 11, 28, 1, tzinfo=UTC)
    station = _station(sample_registry, "sukagawa")
    good = json.loads(bus.encode(rising_forecast(station, now, 4.2, rise_m_per_h=0.6)))
    topic = bus.FORECASTS.name(station="sukagawa")
    bad: list[dict[str, Any]] = [
        {**good, "points": [{**good["points"][0], "level_m": math.nan}]},  # NaN
        {**good, "issued_at": "2026-11-28T01:00:00"},  # no offset
        {key: value for key, value in good.items() if key != "points"},
        {**good, "schema_version": 2},  # may mean something else by the same names
        {**good, "station": "akutsu"},  # on another station's topic
    ]
    for payload in bad:
        try:
            cache.handle(topic, json.dumps(payload).encode())
        except ValueError:
            pass
        else:
            raise AssertionError(f"accepted {payload}")
    assert cache.forecast("sukagawa") is None
    # A field the stage adds later passes (tolerant reader), and reaches the feed as sent.
    event = cache.handle(topic, json.dumps({**good, "ensemble": 12}).encode())
    assert event is not None
    assert event.type == "forecast"
    assert event.data["ensemble"] == 12
    assert cache.forecast("sukagawa") is not None
    # An emptied retained message: the station has no forecast any more.
    assert cache.handle(topic, b"") is None
    assert cache.forecast("sukagawa") is None
