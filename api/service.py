"""``floodwatch api``: the API served by uvicorn until the stage is asked to stop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
from collections import Counter
from collections.abc import Iterator

import uvicorn

from floodwatch.api.app import create_app
from floodwatch.api.header_timeout import HeaderTimeoutProtocol
from floodwatch.api.peer_connections import (
    PeerConnectionLimit,
    PeerCountedWebSocket,
    trusted_networks,
)
from floodwatch.core.commandline import EXIT_RUNTIME, CheckedStage, StageFailed
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings


def check(settings: Settings, registry: StationRegistry) -> CheckedStage:
    """The API needs nothing beyond the settings and the registry, both already valid."""
    return CheckedStage(
        summary=f"{settings.stations}: settings and {len(registry)} stations are valid",
        run=functools.partial(serve_api, settings, registry))


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: whoever runs it sets ``should_exit``."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn's own handlers re-raise the signal after shutting down, so a clean
        # SIGTERM would end the process "killed by signal"; the stop event stands in.
        yield


def http_protocol(settings: Settings) -> type[PeerConnectionLimit]:
    """uvicorn's h11 protocol with the header timeout and the per-peer connection cap,
    configured by class attributes (uvicorn builds protocols itself, with no room for
    arguments); a class per server, so its per-peer count is that server's."""
    return type("FloodwatchHTTPProtocol", (PeerConnectionLimit, HeaderTimeoutProtocol), {
        "header_timeout_s": settings.api_header_timeout_s,
        "max_per_peer": settings.api_max_connections_per_client,
        "trusted": trusted_networks(settings.api_forwarded_allow_ips),
        "open_per_peer": Counter(),
    })


def server_config(settings: Settings, registry: StationRegistry) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings, registry), host=settings.api_host, port=settings.api_port,
        log_level=settings.log_level,
        # Requests are counted in /metrics; a line per request would drown the logs.
        access_log=False, lifespan="on",
        # uvicorn's lines (WebSocket handshakes with their query string among them) go
        # to the root handler of core.logging: our format, and secrets redacted.
        log_config=None,
        # Half-sent requests are closed (uvicorn has no header timeout of its own), idle
        # keep-alive connections too; api.connection_limits caps the rest per address.
        http=http_protocol(settings),
        # uvicorn's own choice ("auto" with websockets installed), counting its peer.
        ws=PeerCountedWebSocket,
        timeout_keep_alive=settings.api_keep_alive_s,
        ws_per_message_deflate=settings.api_ws_compression,
        # X-Forwarded-For is believed only from these proxies; scope["client"] is then
        # the real client, which the per-address caps count.
        proxy_headers=True, forwarded_allow_ips=settings.api_forwarded_allow_ips)


async def serve_api(settings: Settings, registry: StationRegistry, stop: asyncio.Event) -> None:
    """Serve until ``stop`` is set: then stop accepting, finish requests, and run the
    lifespan's exit (live feed and InfluxDB client closed)."""
    server = QuietServer(server_config(settings, registry))

    async def stop_when_asked() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(stop_when_asked(), name="api-stop")
    # Everything loaded so far (modules, the app, its schemas, the registry) lives as
    # long as the process: moved out of the collector's view, a full collection no
    # longer walks it. Measured under a WebSocket flood (bench.api_connections): full
    # collections of 60-260 ms, the REST p99's spikes, became 20-35 ms.
    gc.collect()  # garbage left by the imports is freed, not frozen
    gc.freeze()
    try:
        await server.serve()
    except SystemExit:
        # uvicorn ends a failed bind (port taken, address not ours) with sys.exit(3), its
        # own code: our exit statuses are core.commandline's, so it is turned into ours
        # below (1: the environment, not a wrong setting, stopped us).
        if server.started:
            raise
    finally:
        watcher.cancel()
    if not server.started:
        # The lifespan failed (broker refused us) or the port was taken: uvicorn logged why.
        raise StageFailed(f"api did not start on {settings.api_host}:{settings.api_port} "
                          "(is FLOODWATCH_API_PORT used by another process?)", EXIT_RUNTIME)
    if not stop.is_set():
        raise StageFailed("api stopped on its own", EXIT_RUNTIME)
