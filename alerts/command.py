"""The ``floodwatch alerts`` subcommand (registered by floodwatch.cli)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from floodwatch.alerts.rules import AlertRules
    from floodwatch.core.registry import StationRegistry
    from floodwatch.core.settings import Settings

from floodwatch.core.commandline import (
    EXIT_RUNTIME,
    fail,
    run_until_signal,
    serve_metrics,
    settings_and_registry_or_exit,
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "alerts", help="evaluate readings into alert events (bus -> alerts, status, history)")
    parser.add_argument("--check", action="store_true",
                        help="validate settings, registry and rules, then exit")
    parser.set_defaults(handler=cmd_alerts)


def cmd_alerts(args: argparse.Namespace) -> None:
    # Imported here so `floodwatch --help` stays light.
    from floodwatch.alerts.service import run_alerts  # noqa: PLC0415
    from floodwatch.core.mqtt import MqttError  # noqa: PLC0415

    settings, registry = settings_and_registry_or_exit()
    rules, registry = rules_and_partition_or_exit(settings, registry)
    if args.check:
        print(f"{settings.alerts_rules}: rules for {len(registry)} stations are valid")
        return
    serve_metrics(settings)

    try:
        run_until_signal(lambda stop: run_alerts(settings, registry, rules, stop))
    except* MqttError as errors:
        fail(f"FLOODWATCH_MQTT_URL: {errors.exceptions[0]}", EXIT_RUNTIME)


def rules_and_partition_or_exit(settings: Settings, registry: StationRegistry
                                ) -> tuple[AlertRules, StationRegistry]:
    """The rules (checked against the whole registry: one rules file serves every
    partition) and this process's partition; exits 2 with one line when either is wrong."""
    from floodwatch.alerts.rules import AlertRules, RulesError  # noqa: PLC0415
    from floodwatch.alerts.service import partition  # noqa: PLC0415

    try:
        rules = AlertRules.load(settings.alerts_rules, registry)
    except RulesError as exc:
        fail(f"FLOODWATCH_ALERTS_RULES: {exc}")
    own = partition(registry, settings.alerts_basins)
    if len(own) == 0:
        fail(f"FLOODWATCH_ALERTS_BASINS: no station of the registry is in "
             f"{settings.alerts_basins!r}")
    return rules, own
