"""``floodwatch up``: every stage in one process, for a laptop or a demo.

The stages are the same coroutines their own subcommands run (``ingest``, ``alerts``,
``notify``, ``api``); they still talk to each other only through the broker and InfluxDB,
each with its own MQTT session and state file, so what runs here behaves as the separate
processes of a deployment do. One stage failing stops the others (a stack that silently
lost its alert engine would be worse than one that stops and says so).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog
import uvicorn

from floodwatch.alerts.command import rules_and_partition_or_exit
from floodwatch.alerts.rules import AlertRules
from floodwatch.alerts.service import run_alerts
from floodwatch.api.app import create_app
from floodwatch.api.command import QuietServer
from floodwatch.core.commandline import (
    EXIT_RUNTIME,
    fail,
    run_until_signal,
    serve_metrics,
    settings_and_registry_or_exit,
)
from floodwatch.core.mqtt import MqttError
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.ingest.service import run_ingest
from floodwatch.notify.command import notify_config_or_exit
from floodwatch.notify.config import NotifyConfig
from floodwatch.notify.service import NoChannels, run_notify

log = structlog.get_logger("up")


def cmd_up(args: argparse.Namespace) -> None:
    settings, registry = settings_and_registry_or_exit()
    rules, alerts_registry = rules_and_partition_or_exit(settings, registry)
    notify_config = None if args.without_notify else notify_config_or_exit(settings)
    serve_metrics(settings)
    try:
        run_until_signal(lambda stop: run_stack(
            settings, registry, stop, rules=rules, alerts_registry=alerts_registry,
            notify_config=notify_config))
    except* MqttError as errors:
        fail(f"FLOODWATCH_MQTT_URL: {errors.exceptions[0]}", EXIT_RUNTIME)
    except* NoChannels as errors:
        fail(f"FLOODWATCH_NOTIFY_CONFIG: {errors.exceptions[0]} "
             "(or run with --without-notify)")
    except* ApiDidNotStart as errors:
        fail(str(errors.exceptions[0]), EXIT_RUNTIME)


class ApiDidNotStart(Exception):
    """uvicorn logged why (port taken, lifespan failed); this says where."""


async def run_stack(settings: Settings, registry: StationRegistry, stop: asyncio.Event, *,
                    rules: AlertRules, alerts_registry: StationRegistry,
                    notify_config: NotifyConfig | None) -> None:
    server = QuietServer(uvicorn.Config(
        create_app(settings, registry), host=settings.api_host, port=settings.api_port,
        log_level=settings.log_level, access_log=False, lifespan="on"))
    stages: dict[str, Coroutine[Any, Any, None]] = {
        "ingest": run_ingest(settings, registry, stop),
        "alerts": run_alerts(settings, alerts_registry, rules, stop),
        "api": _serve_api(server, stop, settings),
    }
    if notify_config is not None:
        stages["notify"] = run_notify(settings, registry, notify_config, stop)
    log.info("stack starting", stages=sorted(stages),
             dashboard=f"http://{settings.api_host}:{settings.api_port}/")
    async with asyncio.TaskGroup() as tasks:
        for name, stage in stages.items():
            tasks.create_task(stage, name=f"up-{name}")
    log.info("stack stopped")


async def _serve_api(server: uvicorn.Server, stop: asyncio.Event, settings: Settings) -> None:
    async def stop_when_asked() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(stop_when_asked(), name="up-api-stop")
    try:
        await server.serve()
    finally:
        watcher.cancel()
    if not server.started:
        raise ApiDidNotStart(f"api did not start on {settings.api_host}:{settings.api_port}")
    if not stop.is_set():
        raise ApiDidNotStart("api stopped on its own")
