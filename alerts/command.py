"""The ``floodwatch alerts`` subcommand (registered by floodwatch.cli)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import NoReturn

EXIT_CONFIG = 2
EXIT_RUNTIME = 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "alerts", help="evaluate readings into alert events (bus -> alerts, status, history)")
    parser.add_argument("--check", action="store_true",
                        help="validate settings, registry and rules, then exit")
    parser.set_defaults(handler=cmd_alerts)


def _fail(message: str, code: int = EXIT_CONFIG) -> NoReturn:
    for line in message.splitlines() or [message]:
        print(f"floodwatch: {line}", file=sys.stderr)
    raise SystemExit(code)


def cmd_alerts(args: argparse.Namespace) -> None:
    # Imported here so `floodwatch --help` stays light.
    from alerts.rules import AlertRules, RulesError  # noqa: PLC0415
    from alerts.service import partition, run_alerts  # noqa: PLC0415
    from core.logging import configure_logging  # noqa: PLC0415
    from core.mqtt import MqttError  # noqa: PLC0415
    from core.registry import RegistryError, StationRegistry  # noqa: PLC0415
    from core.settings import SettingsError, load_settings  # noqa: PLC0415

    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(str(exc))
    configure_logging(settings.log_level, settings.log_format)
    try:
        registry = StationRegistry.load(settings.stations)
    except RegistryError as exc:
        _fail(f"FLOODWATCH_STATIONS: {exc}")
    try:
        # Checked against the whole registry: one rules file serves every partition.
        rules = AlertRules.load(settings.alerts_rules, registry)
    except RulesError as exc:
        _fail(f"FLOODWATCH_ALERTS_RULES: {exc}")
    registry = partition(registry, settings.alerts_basins)
    if len(registry) == 0:
        _fail(f"FLOODWATCH_ALERTS_BASINS: no station of the registry is in "
              f"{settings.alerts_basins!r}")
    if args.check:
        print(f"{settings.alerts_rules}: rules for {len(registry)} stations are valid")
        return
    if settings.metrics_port is not None:
        from prometheus_client import start_http_server  # noqa: PLC0415

        start_http_server(settings.metrics_port, addr="127.0.0.1")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_alerts(settings, registry, rules, stop)

    try:
        asyncio.run(main())
    except* MqttError as errors:
        _fail(f"FLOODWATCH_MQTT_URL: {errors.exceptions[0]}", EXIT_RUNTIME)
