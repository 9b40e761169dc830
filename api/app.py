"""The FastAPI application: ``create_app(settings, registry)`` wires routers, error
handling and the lifespan that opens InfluxDB and the bus subscription."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from floodwatch.api import (
    alert_history,
    api_docs,
    cap,
    cap_feed,
    commands,
    dashboard,
    delivery_list,
    forecasts,
    health,
    open_data,
    problems,
    public_stations,
    readings,
    stations,
    stream,
)
from floodwatch.api.auth import KeyRing, document_security
from floodwatch.api.connection_limits import Caps, ConnectionLimits
from floodwatch.api.deps import Services, public_reader
from floodwatch.api.head_requests import HeadAsGet
from floodwatch.api.history_cache import HistoryCache
from floodwatch.api.limits import BodyLimit
from floodwatch.api.live import LiveCache
from floodwatch.api.open_access import EXPOSED_HEADERS
from floodwatch.api.security_headers import SecurityHeaders
from floodwatch.api.sensorthings import routes as sensorthings
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings

log = structlog.get_logger("api")

# Starting is not blocked for long by a broker that is down: the connection keeps
# retrying in the background and /readyz reports it.
BROKER_START_TIMEOUT_S = 5.0


def create_app(settings: Settings, registry: StationRegistry) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            influx = await stack.enter_async_context(InfluxClient.from_settings(settings))
            live = LiveCache.from_settings(settings)
            await live.start(BROKER_START_TIMEOUT_S)
            stack.push_async_callback(live.close)
            task = asyncio.create_task(live.run(), name="api-live-cache")
            stack.push_async_callback(_cancel, task)
            app.state.services = services = Services(
                settings, registry, influx, live, KeyRing.from_settings(settings),
                history_cache=HistoryCache(settings.api_history_cache_s))
            services.stored_latest.prefetch(influx)
            stack.push_async_callback(services.stored_latest.close)
            log.info("api ready", stations=len(registry))
            yield

    app = FastAPI(
        title="floodwatch API",
        version="1",
        summary="River gauges and road sensors: stations, readings, alerts with CAP 1.2 and "
                "delivery status, officers' commands, live feed, health.",
        lifespan=lifespan,
        # Served by api.api_docs from local files, not FastAPI's CDN pages.
        docs_url=None, redoc_url=None,
    )
    problems.install(app)
    document_security(app, public_read=settings.api_public_read)
    readers = [Depends(public_reader)]
    app.include_router(stations.router, dependencies=readers)
    app.include_router(forecasts.router, dependencies=readers)
    app.include_router(readings.router, dependencies=readers)
    app.include_router(alert_history.router, dependencies=readers)
    app.include_router(cap.router, dependencies=readers)
    app.include_router(cap_feed.router, dependencies=readers)
    # Delivery outcomes are staff data: their route asks for a key itself.
    app.include_router(delivery_list.router)
    # Commands check the officer role themselves (no public subset).
    app.include_router(commands.router)
    # The WebSocket route checks its key itself (it must accept before it can explain).
    app.include_router(stream.router)
    app.include_router(health.router)
    # Residents' page: only what they are told, so no key even without public read.
    app.include_router(public_stations.router)
    # Open data (files per day, the SensorThings view): public by design, no key ever.
    app.include_router(open_data.router)
    app.include_router(sensorthings.router)
    dashboard.install(app, settings)
    api_docs.install(app, settings)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    # Outside the routes and the body limit: they see the GET a HEAD request mirrors.
    app.add_middleware(HeadAsGet)
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[o.strip() for o in settings.api_cors_origins.split(",")],
            allow_methods=["GET", "HEAD", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "If-None-Match",
                           "Last-Event-ID"],
            # A browser app revalidating by hand reads the ETag it sends back; the open
            # data's licence Link and file name must stay readable when a configured
            # origin asks (this middleware replaces api.open_access's expose list).
            expose_headers=list(EXPOSED_HEADERS),
        )
    # Outermost: caps refuse before anything is read; every answer, refusals included,
    # carries the security headers.
    app.add_middleware(ConnectionLimits, caps=Caps.from_settings(settings))
    app.add_middleware(SecurityHeaders)
    return app


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
