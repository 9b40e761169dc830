"""``floodwatch api``: serve the API with uvicorn until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator
from typing import NoReturn

import uvicorn

from api.app import create_app
from core.logging import configure_logging
from core.registry import RegistryError, StationRegistry
from core.settings import SettingsError, load_settings

EXIT_RUNTIME = 1
EXIT_CONFIG = 2


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("api", help="serve the REST API and live feed")
    parser.set_defaults(handler=run)


def _fail(message: str, code: int) -> NoReturn:
    for line in message.splitlines() or [message]:
        print(f"floodwatch: {line}", file=sys.stderr)
    raise SystemExit(code)


def run(_args: argparse.Namespace) -> None:
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(str(exc), EXIT_CONFIG)
    configure_logging(settings.log_level, settings.log_format)
    try:
        registry = StationRegistry.load(settings.stations)
    except RegistryError as exc:
        _fail(f"FLOODWATCH_STATIONS: {exc}", EXIT_CONFIG)
    config = uvicorn.Config(
        create_app(settings, registry),
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level,
        # Requests are counted in /metrics; a line per request would drown the logs.
        access_log=False,
        lifespan="on",
    )
    server = _Server(config)
    asyncio.run(_serve(server))
    if not server.started:
        # The lifespan failed (broker refused us) or the port was taken: uvicorn logged why.
        _fail(f"api did not start on {settings.api_host}:{settings.api_port}", EXIT_RUNTIME)


class _Server(uvicorn.Server):
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
