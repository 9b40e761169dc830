"""The ``floodwatch`` subcommands that are tools rather than stages: ``services``,
``broker-acl`` and ``settings``."""

from __future__ import annotations

import argparse
from pathlib import Path

from floodwatch.core.commandline import EXIT_RUNTIME, configured_or_exit, fail
from floodwatch.core.settings import SettingsError, load_settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    services = commands.add_parser(
        "services", help="private local Mosquitto and InfluxDB for development and tests")
    services.add_argument("action", choices=["up", "down", "status", "install"])
    services.set_defaults(handler=cmd_services)

    acl = commands.add_parser("broker-acl",
                              help="print the broker ACL for the station registry")
    acl.set_defaults(handler=cmd_broker_acl)

    reference = commands.add_parser("settings", help="print the settings reference")
    reference.add_argument("--write", type=Path, metavar="README",
                           help="update the settings table and the bus section in this README, "
                           "and docs/configuration.md and .env.example beside it, instead")
    reference.set_defaults(handler=cmd_settings)


def cmd_services(args: argparse.Namespace) -> None:
    from floodwatch.services import stack  # noqa: PLC0415 - only this command needs it
    from floodwatch.services.process import ServiceError  # noqa: PLC0415

    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    try:
        stack.run_command(args.action, settings)
    except ServiceError as exc:
        fail(str(exc), EXIT_RUNTIME)


def cmd_broker_acl(_args: argparse.Namespace) -> None:
    from floodwatch.broker_acl import render_acl  # noqa: PLC0415

    print(render_acl(configured_or_exit().registry), end="")


def cmd_settings(args: argparse.Namespace) -> None:
    from floodwatch.reference import settings_table, write_reference  # noqa: PLC0415

    if args.write is None:
        print(settings_table())
        return
    changed = write_reference(args.write)
    print("updated: " + ", ".join(map(str, changed)) if changed else "already up to date")
