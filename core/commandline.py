"""What every ``floodwatch`` subcommand does at the process edge, in one place.

One line per problem on stderr (``floodwatch: FLOODWATCH_X: ...``) and a distinct exit
status -- never a traceback -- then settings, logging and the registry, and a clean stop
on SIGTERM/SIGINT. Every subcommand calls these; the stages (floodwatch/stages.py) also
answer their ``check`` with a ``CheckedStage`` and say why they cannot go on with
``StageFailed``, which the command turns into that one line.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import structlog

from floodwatch.core import config_paths
from floodwatch.core.logging import configure_logging
from floodwatch.core.redaction import configured_secrets
from floodwatch.core.registry import RegistryError, StationRegistry
from floodwatch.core.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

log = structlog.get_logger("config")

EXIT_RUNTIME = 1  # the environment failed us (broker refused, port taken)
EXIT_CONFIG = 2  # a setting, the registry or a rules file is wrong


@dataclass(frozen=True)
class CheckedStage:
    """A stage whose settings and configuration are valid, ready to run."""

    summary: str  # what ``floodwatch <stage> --check`` prints
    run: Callable[[asyncio.Event], Coroutine[Any, Any, None]]  # until the event is set


class StageFailed(Exception):
    """Why a stage cannot start or go on: the one line ``fail`` prints (naming the
    variable to fix when a setting is to blame), and the exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = EXIT_CONFIG) -> NoReturn:
    for line in message.splitlines() or [message]:
        print(f"floodwatch: {line}", file=sys.stderr)
    raise SystemExit(code)


def settings_or_exit() -> Settings:
    """The settings from the environment, with logging configured; exits 2 if wrong."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    configure_logging(settings.log_level, settings.log_format, configured_secrets(settings))
    return settings


@dataclass(frozen=True)
class Configured:
    """A process's settings, with its configuration files found, and its registry."""

    settings: Settings
    registry: StationRegistry
    files: list[config_paths.ConfigFile]  # where each file came from: log them to run

    def log_sources(self) -> None:
        config_paths.log_sources(self.files)
        if self.registry.sample:
            # Whatever path it came by (a setting, ./config, the image's /app/config): a
            # registry still marked as the sample has made-up reference levels.
            log.warning("the station registry is marked `sample: true`: its reference "
                        "levels are made up, not official; alerts computed from it must "
                        "not reach residents", registry=str(self.settings.stations),
                        fix="put the office's stations and official levels in it and "
                        "delete the `sample: true` line")


def configured_or_exit(*, allow_sample: bool = False) -> Configured:
    """The settings with their configuration files found (``allow_sample``: the packaged
    sample may stand in for a missing one, core.config_paths), and the registry."""
    settings, files = config_paths.resolve(settings_or_exit(), allow_sample=allow_sample)
    try:
        registry = StationRegistry.load(settings.stations, cache_dir=config_cache_dir(settings))
    except RegistryError as exc:
        failure = f"FLOODWATCH_STATIONS: {exc}"
        fail(failure + config_paths.missing_hint(settings, failure))
    return Configured(settings, registry, files)


def config_cache_dir(settings: Settings) -> Path:
    """Where a stage keeps its parsed configuration files (core.config_cache)."""
    return Path(settings.state_dir) / "cache"


def serve_metrics(settings: Settings) -> WSGIServer | None:
    """Prometheus metrics on ``metrics_host``:``metrics_port`` when the port is set (the
    containers' health check reads them: ``floodwatch healthcheck``); the server, which
    runs in a daemon thread for the life of the process."""
    if settings.metrics_port is None:
        return None
    from prometheus_client import start_http_server  # noqa: PLC0415 - only when asked

    server, _ = start_http_server(settings.metrics_port, addr=settings.metrics_host)
    return server


def run_until_signal(main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
    """Run ``main(stop)``; SIGTERM and SIGINT set ``stop`` for a clean shutdown."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await main(stop)

    asyncio.run(runner())
