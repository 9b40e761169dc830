"""The ``floodwatch notify`` subcommand (registered by floodwatch.cli)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from floodwatch.core.settings import Settings
    from floodwatch.notify.config import NotifyConfig

from floodwatch.core.commandline import (
    EXIT_RUNTIME,
    fail,
    run_until_signal,
    serve_metrics,
    settings_and_registry_or_exit,
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "notify", help="deliver alert events (disaster network, webhooks, X, Mastodon)")
    parser.add_argument("--check", action="store_true",
                        help="validate settings, registry and the delivery config, then exit")
    parser.set_defaults(handler=cmd_notify)


def cmd_notify(args: argparse.Namespace) -> None:
    # Imported here so `floodwatch --help` stays light.
    from floodwatch.core.mqtt import MqttError  # noqa: PLC0415
    from floodwatch.notify.service import NoChannels, run_notify  # noqa: PLC0415

    settings, registry = settings_and_registry_or_exit()
    config = notify_config_or_exit(settings)
    if args.check:
        print(f"{settings.notify_config}: delivery configuration is valid")
        return
    serve_metrics(settings)
    try:
        run_until_signal(lambda stop: run_notify(settings, registry, config, stop))
    except* MqttError as errors:
        fail(f"FLOODWATCH_MQTT_URL: {errors.exceptions[0]}", EXIT_RUNTIME)
    except* NoChannels as errors:
        fail(f"FLOODWATCH_NOTIFY_CONFIG: {errors.exceptions[0]}")


def notify_config_or_exit(settings: Settings) -> NotifyConfig:
    """The delivery configuration; exits 2 with one line when it is wrong."""
    from floodwatch.notify.config import ConfigError, NotifyConfig  # noqa: PLC0415

    try:
        return NotifyConfig.load(settings.notify_config)
    except ConfigError as exc:
        fail(f"FLOODWATCH_NOTIFY_CONFIG: {exc}")
