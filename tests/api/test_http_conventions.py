"""HTTP conventions (docs/api.md): ETag with conditional GET and Cache-Control on the
read-only resources, HEAD wherever GET exists, 413 for any oversized body (chunked
too), and one time format in REST and on the live feed. HEAD, chunked bodies and the
live feed go through a real uvicorn; the rest through the in-process app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from floodwatch.alerts.model import Transition
from floodwatch.api.http_cache import etag_of
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.servers import MosquittoServer
from tests.api.alert_points import StoredAlerts, event
from tests.api.support import (
    OFFICER_KEY,
    VIEWER_HEADERS,
    VIEWER_KEY,
    api_client,
    api_server,
    eventually,
)
from tests.api.test_readings import START, _write_levels
from tests.support import mosquitto_pub

TIMEOUT_S = 15.0


async def _revalidated(client: httpx.AsyncClient, path: str, **params: str) -> httpx.Response:
    """GET ``path``, then GET it again with its ETag: asserts the 304; returns the 200."""
    first = await client.get(path, params=params)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    assert len(etag) == 34  # a quoted 128-bit hex digest: a strong validator
    assert etag[0] == etag[-1] == '"'
    again = await client.get(path, params=params, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == first.headers["cache-control"]
    # A different ETag (or a weak form of this one) is answered as it should be.
    other = await client.get(path, params=params, headers={"If-None-Match": '"other"'})
    assert other.status_code == 200
    assert other.content == first.content
    weak = await client.get(path, params=params, headers={"If-None-Match": f'"x", W/{etag}'})
    assert weak.status_code == 304
    return first


@pytest.mark.parametrize(("public_read", "audience"), [(False, "private"), (True, "public")])
def test_stations_latest_and_history_have_etags_and_cache_control(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    public_read: bool, audience: str,
) -> None:
    settings = make_settings(api_public_read=public_read)
    headers = {} if public_read else VIEWER_HEADERS

    async def scenario() -> None:
        await _write_levels(settings, 12)
        async with api_client(settings, sample_registry, headers=headers) as client:
            for path in ("/api/v1/stations", "/api/v1/latest", "/api/v1/stations/sukagawa"):
                response = await _revalidated(client, path)
                assert response.headers["cache-control"] == f"{audience}, max-age=5"
            # A range that ended long ago changes only by a late reading: cached longer.
            past = await _revalidated(client, "/api/v1/stations/sukagawa/readings",
                                      start=START.isoformat(),
                                      end=(START + timedelta(hours=2)).isoformat())
            assert past.headers["cache-control"] == f"{audience}, max-age=600"
            assert len(past.json()["points"]) == 12
            # A range still open (the default one is too, but its start and end move with
            # the clock, and so does its ETag).
            now = datetime.now(UTC).replace(microsecond=0)
            current = await _revalidated(client, "/api/v1/stations/sukagawa/readings",
                                         start=(now - timedelta(hours=1)).isoformat(),
                                         end=(now + timedelta(hours=1)).isoformat())
            assert current.headers["cache-control"] == f"{audience}, max-age=5"

    asyncio.run(scenario())


def test_cap_messages_and_the_feed_have_etags_and_cache_control(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    alerts = StoredAlerts(sample_registry)
    now = datetime.now(UTC).replace(microsecond=0)
    raised = event("motomiya", 1, 1, Transition.RAISED, 3, now - timedelta(hours=3))
    pending = event("motomiya", 2, 1, Transition.ESCALATED, 4, now - timedelta(hours=2),
                    previous_level=3, confirmed=False, first_confirmed=raised)
    cleared = event("motomiya", 3, 1, Transition.CLEARED, 0, now - timedelta(minutes=30),
                    previous_level=3, first_confirmed=raised)
    settings = make_settings(api_public_read=True)

    async def scenario() -> None:
        async with InfluxClient.from_settings(settings) as influx:
            await influx.create_database()
            await influx.write([alerts.line(e) for e in (raised, pending, cleared)])
        async with api_client(settings, sample_registry, headers={}) as client:
            cap = "/api/v1/alerts/motomiya/1/cap"
            issued = await _revalidated(client, cap, seq="1")
            assert issued.headers["cache-control"] == "public, max-age=86400, immutable"
            assert issued.headers["vary"] == "Authorization, X-API-Key"
            newest = await _revalidated(client, cap)
            assert newest.headers["cache-control"] == "public, no-cache"
            # A staff-only message is for the key holder's cache alone.
            staff = await client.get(cap, params={"seq": "2"}, headers=VIEWER_HEADERS)
            assert staff.status_code == 200
            assert staff.headers["cache-control"] == "private, max-age=86400, immutable"
            feed = await _revalidated(client, "/api/v1/alerts/feed.atom")
            assert feed.headers["cache-control"] == "public, no-cache"
            assert b"motomiya" in feed.content

    asyncio.run(scenario())


async def _sse_headers(base: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S) as http:
        return await http.head("/api/v1/live/sse", params={"access_token": VIEWER_KEY})


def test_head_is_answered_wherever_get_is(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    del mosquitto  # the live feed's broker
    settings = make_settings()

    async def scenario() -> None:
        async with (
            api_server(settings, sample_registry) as base,
            httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S, headers=VIEWER_HEADERS) as http,
        ):
            for path in ("/healthz", "/readyz", "/api/v1/stations", "/api/v1/latest",
                         "/api/v1/stations/sukagawa",
                         "/api/v1/stations/sukagawa/readings?start=2026-11-01T00:00:00Z"
                         "&end=2026-11-02T00:00:00Z",
                         "/openapi.json", "/", "/api/v1/stations/nowhere"):
                get = await http.get(path)
                head = await http.head(path)
                assert head.status_code == get.status_code, path
                assert head.content == b"", path
                assert head.headers["content-type"] == get.headers["content-type"], path
                assert head.headers["content-length"] == str(len(get.content)), path
                if "etag" in get.headers:
                    assert head.headers["etag"] == get.headers["etag"], path
            # Where GET is not allowed, neither is HEAD.
            assert (await http.head("/api/v1/alerts/acknowledge")).status_code == 405
            # The SSE stream: its headers, then the exchange is over (not held open).
            sse = await asyncio.wait_for(_sse_headers(base), TIMEOUT_S)
            assert sse.status_code == 200
            assert sse.headers["content-type"].startswith("text/event-stream")
            # The WebSocket route is untouched, and the server still answers.
            url = base.replace("http", "ws") + f"/api/v1/live/ws?access_token={VIEWER_KEY}"
            async with connect(url) as ws:
                first = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
                assert first["type"] == "snapshot"
            assert (await http.get("/healthz")).json() == {"status": "ok"}

    asyncio.run(scenario())


def test_an_oversized_chunked_body_is_413_like_a_declared_one(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    mosquitto: MosquittoServer,
) -> None:
    del mosquitto
    settings = make_settings(api_max_body_bytes=1024)
    officer = {"Authorization": f"Bearer {OFFICER_KEY}", "Content-Type": "application/json"}

    async def chunks(count: int) -> AsyncIterator[bytes]:
        yield b'{"station": "sukagawa", "note": "'
        for _ in range(count):
            yield b"x" * 400
        yield b'"}'

    async def scenario() -> None:
        async with (
            api_server(settings, sample_registry) as base,
            httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S, headers=officer) as http,
        ):
            path = "/api/v1/alerts/acknowledge"
            # httpx sends a generator body with Transfer-Encoding: chunked.
            chunked = await http.post(path, content=chunks(4))
            assert chunked.status_code == 413, chunked.text
            assert chunked.headers["content-type"] == "application/problem+json"
            assert chunked.json()["type"].endswith("/body-too-large")
            declared = await http.post(path, content=b"x" * 2000)
            assert declared.status_code == 413
            # A chunked body within the limit is read and judged as usual.
            small = await http.post(path, content=chunks(1))
            assert small.status_code not in {400, 413}, small.text
            assert (await http.get("/healthz")).status_code == 200

    asyncio.run(scenario())


def test_rest_and_the_live_feed_write_the_same_time_form(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
    start_ingest: Callable[..., Any], mosquitto: MosquittoServer,
) -> None:
    start_ingest()
    settings = make_settings()
    sent = "2026-11-28T10:00:00+09:00"  # a device's local time, whole seconds

    async def scenario() -> None:
        async with (
            api_server(settings, sample_registry) as base,
            httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S, headers=VIEWER_HEADERS) as http,
        ):
            url = (base.replace("http", "ws")
                   + f"/api/v1/live/ws?stations=sukagawa&access_token={VIEWER_KEY}")
            async with connect(url) as ws:
                assert json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))["type"] == (
                    "snapshot")
                await asyncio.to_thread(mosquitto_pub, mosquitto.port, "sensors/river/sukagawa",
                                        json.dumps({"ts": sent, "level_m": 2.75}))
                while True:
                    live = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
                    if live["type"] == "reading":
                        break

            async def stored() -> list[Any]:
                response = await http.get("/api/v1/stations/sukagawa/readings", params={
                    "start": "2026-11-28T00:00:00Z", "end": "2026-11-29T00:00:00Z"})
                points: list[Any] = response.json()["points"]
                return points

            points = await eventually(stored, "the reading in InfluxDB")
            station = (await http.get("/api/v1/stations/sukagawa")).json()
        expected = "2026-11-28T01:00:00Z"  # UTC, Z, no zero fraction
        assert live["data"]["ts"] == expected
        assert points[0]["ts"] == expected
        assert station["latest"]["ts"] == expected
        # The receive time has a fraction: six digits, Z.
        received = live["data"]["received_at"]
        assert received.endswith("Z")
        assert datetime.fromisoformat(received).tzinfo == UTC

    asyncio.run(scenario())


def test_a_shared_body_is_hashed_once_and_tags_equal_bytes_alike() -> None:
    body = json.dumps({"stations": ["x" * 10_000]}).encode()
    copy = bytes(bytearray(body))  # equal, another object
    assert copy is not body
    assert etag_of(body, shared=True) == etag_of(copy) == etag_of(body, shared=True)
    assert etag_of(body + b" ") != etag_of(body)


def test_a_browser_app_on_another_origin_can_revalidate(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    origin = "https://bousai.example.jp"
    settings = make_settings(api_cors_origins=origin, api_public_read=True)

    async def scenario() -> None:
        async with api_client(settings, sample_registry, headers={}) as client:
            preflight = await client.options("/api/v1/latest", headers={
                "Origin": origin, "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "if-none-match"})
            assert preflight.status_code == 200
            assert "if-none-match" in preflight.headers["access-control-allow-headers"].lower()
            response = await client.get("/api/v1/latest", headers={"Origin": origin})
            assert "etag" in response.headers["access-control-expose-headers"].lower()
            again = await client.get("/api/v1/latest", headers={
                "Origin": origin, "If-None-Match": response.headers["etag"]})
            assert again.status_code == 304

    asyncio.run(scenario())
