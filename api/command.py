"""``floodwatch api``: serve the API with uvicorn until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Iterator

import uvicorn

from floodwatch.api.app import create_app
from floodwatch.core.commandline import EXIT_RUNTIME, fail, settings_and_registry_or_exit


def run(_args: argparse.Namespace) -> None:
    settings, registry = settings_and_registry_or_exit()
    config = uvicorn.Config(
        create_app(settings, registry),
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level,
        # Requests are counted in /metrics; a line per request would drown the logs.
        access_log=False,
        lifespan="on",
    )
    server = QuietServer(config)
    asyncio.run(_serve(server))
    if not server.started:
        # The lifespan failed (broker refused us) or the port was taken: uvicorn logged why.
        fail(f"api did not start on {settings.api_host}:{settings.api_port}", EXIT_RUNTIME)


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: whoever runs it sets ``should_exit``."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn's own handlers re-raise the signal after shutting down, so a clean
        # SIGTERM would end the process "killed by signal"; _serve installs ours.
        yield


async def _serve(server: uvicorn.Server) -> None:
    """SIGTERM/SIGINT: stop accepting, finish requests, then run the lifespan's exit
    (live feed and InfluxDB client closed), and exit 0."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, setattr, server, "should_exit", True)
    await server.serve()
