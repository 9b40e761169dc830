"""The ``floodwatch`` command: one entry point, a subcommand per stage or tool."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Sequence
from pathlib import Path

from floodwatch.core.commandline import (
    EXIT_RUNTIME,
    fail,
    run_until_signal,
    serve_metrics,
    settings_and_registry_or_exit,
)
from floodwatch.core.mqtt import MqttError
from floodwatch.core.settings import SettingsError, load_settings
from floodwatch.services.process import ServiceError


def cmd_ingest(_args: argparse.Namespace) -> None:
    from floodwatch.ingest.service import run_ingest  # noqa: PLC0415 - keep `services` light

    settings, registry = settings_and_registry_or_exit()
    serve_metrics(settings)
    try:
        run_until_signal(lambda stop: run_ingest(settings, registry, stop))
    except* MqttError as errors:  # from start-up, or from a task of the running stage
        fail(f"FLOODWATCH_MQTT_URL: {errors.exceptions[0]}", EXIT_RUNTIME)


def cmd_services(args: argparse.Namespace) -> None:
    from floodwatch.services import stack  # noqa: PLC0415

    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    try:
        stack.run_command(args.action, settings)
    except ServiceError as exc:
        fail(str(exc), EXIT_RUNTIME)


def cmd_settings(args: argparse.Namespace) -> None:
    from floodwatch.reference import settings_table, write_reference  # noqa: PLC0415

    if args.write is None:
        print(settings_table())
        return
    changed = write_reference(args.write)
    print("updated: " + ", ".join(map(str, changed)) if changed else "already up to date")


def cmd_broker_acl(_args: argparse.Namespace) -> None:
    from floodwatch.broker_acl import render_acl  # noqa: PLC0415

    _, registry = settings_and_registry_or_exit()
    print(render_acl(registry), end="")


def _deferred(module: str, name: str) -> Callable[[argparse.Namespace], None]:
    def handler(args: argparse.Namespace) -> None:
        command: Callable[[argparse.Namespace], None] = getattr(
            importlib.import_module(module), name)
        command(args)

    return handler


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="floodwatch",
        description="River and road monitoring: MQTT ingest, InfluxDB storage, alerts.",
        epilog="Settings come from FLOODWATCH_* environment variables (see README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help="store device readings (MQTT -> InfluxDB)")
    ingest.set_defaults(handler=cmd_ingest)

    services = commands.add_parser(
        "services", help="private local Mosquitto and InfluxDB for development and tests"
    )
    services.add_argument("action", choices=["up", "down", "status", "install"])
    services.set_defaults(handler=cmd_services)
    from floodwatch.simulators.command import register as register_simulate  # noqa: PLC0415

    register_simulate(commands)

    from floodwatch.alerts.command import register as register_alerts  # noqa: PLC0415

    register_alerts(commands)

    # The API and the all-in-one stack import FastAPI, uvicorn, tweepy and Mastodon.py:
    # only when they run, so that `floodwatch ingest` does not pay 0.5 s for them at
    # every (re)start, with a backlog waiting.
    api = commands.add_parser("api", help="serve the REST API and live feed")
    api.set_defaults(handler=_deferred("floodwatch.api.command", "run"))

    from floodwatch.notify.command import register as register_notify  # noqa: PLC0415

    register_notify(commands)

    up = commands.add_parser(
        "up", help="run every stage in one process (ingest, alerts, notify, api)")
    up.add_argument("--without-notify", action="store_true",
                    help="do not deliver alerts (no channel configured locally)")
    up.set_defaults(handler=_deferred("floodwatch.up", "cmd_up"))

    from floodwatch.healthcheck import register as register_healthcheck  # noqa: PLC0415

    register_healthcheck(commands)

    acl = commands.add_parser("broker-acl",
                              help="print the broker ACL for the station registry")
    acl.set_defaults(handler=cmd_broker_acl)

    reference = commands.add_parser("settings", help="print the settings reference")
    reference.add_argument("--write", type=Path, metavar="README",
                           help="update the table in this README, and docs/configuration.md and "
                           ".env.example beside it, instead")
    reference.set_defaults(handler=cmd_settings)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], None] = args.handler
    handler(args)
