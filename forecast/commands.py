"""``floodwatch forecast fit`` and ``floodwatch forecast verify``: the forecast stage's
own subcommands, for operators and tests.

Only argparse here: `floodwatch forecast` imports this module at each start, and the
subcommands' modules (numpy, rich) are imported when one of them runs.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from floodwatch.core.commandline import (
    EXIT_CONFIG,
    EXIT_RUNTIME,
    Configured,
    StageFailed,
    configured_or_exit,
    fail,
)
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings


def register(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    fit = actions.add_parser(
        "fit", help="fit the forecast models once from InfluxDB history, save them, exit")
    fit.add_argument("--force", action="store_true",
                     help="save the new fit as it is: not checked against the saved "
                     "models, and no gauge keeps its saved model (docs/forecast.md)")
    fit.set_defaults(handler=cmd_fit)
    verify = actions.add_parser(
        "verify", help="score the stored forecasts against the stored readings")
    verify.add_argument("--start", required=True, type=moment, metavar="TIME",
                        help="first issue time scored (ISO 8601 with offset, e.g. "
                        "2026-10-12T00:00:00+09:00)")
    verify.add_argument("--end", required=True, type=moment, metavar="TIME",
                        help="last issue time scored (ISO 8601 with offset)")
    verify.add_argument("--band", choices=["median", "low"], default="median",
                        help="the forecast level a warning is read from (default: median)")
    verify.set_defaults(handler=cmd_verify)


def moment(text: str) -> datetime:
    """An ISO 8601 time with its UTC offset (a time without one would be read in the
    machine's zone, which on a server is rarely the office's)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-10-12T00:00:00+09:00)") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no UTC offset (add +09:00 or Z)")
    return parsed.astimezone(UTC)


def cmd_fit(args: argparse.Namespace) -> None:
    from floodwatch.core.influx import InfluxError  # noqa: PLC0415 - only when asked
    from floodwatch.forecast.refit import (  # noqa: PLC0415
        ModelsKept,
        NoHistory,
        fit_now,
        load_models,
        models_path,
    )
    from floodwatch.forecast.service import quality_rules  # noqa: PLC0415

    configured = configured_or_exit()
    rules = rules_or_exit(quality_rules, configured)
    current = load_models(models_path(configured.settings))
    try:
        models = asyncio.run(fit_now(configured.settings, configured.registry, rules,
                                     current, force=args.force))
    except InfluxError as exc:
        fail(f"FLOODWATCH_INFLUX_URL: {exc}", EXIT_RUNTIME)
    except NoHistory as exc:
        fail(str(exc), EXIT_RUNTIME)
    except ModelsKept as exc:
        # Not an error: the saved models are the better ones. Said on stdout, status 0,
        # so a timer running `fit` daily does not page anyone for a calm month.
        print(f"{models_path(configured.settings)}: {exc} (--force saves the new ones)")
        return
    kept = {station: gauge.fitted_at for station, gauge in models.gauges.items()
            if gauge.fitted_at is not None}
    print(f"{models_path(configured.settings)}: models for {len(models.gauges)} gauges "
          f"fitted at {models.fitted_at.isoformat()}; none for {len(models.no_model)}")
    for station, reason in sorted(models.no_model.items()):
        print(f"  {station}: {reason}")
    for station, fitted_at in sorted(kept.items()):
        print(f"  {station}: kept its models fitted at {fitted_at.isoformat()} (the new fit "
              "had none)")


def cmd_verify(args: argparse.Namespace) -> None:
    from floodwatch.core.influx import InfluxError  # noqa: PLC0415 - only when asked
    from floodwatch.forecast.service import quality_rules  # noqa: PLC0415
    from floodwatch.forecast.verify import print_report, verify  # noqa: PLC0415

    start, end = args.start, args.end
    if start >= end:
        fail(f"--start {start.isoformat()} is not before --end {end.isoformat()}",
             EXIT_CONFIG)
    configured = configured_or_exit()
    rules = rules_or_exit(quality_rules, configured)
    try:
        report = asyncio.run(verify(configured.settings, configured.registry, rules,
                                    start, end, band=args.band))
    except InfluxError as exc:
        fail(f"FLOODWATCH_INFLUX_URL: {exc}", EXIT_RUNTIME)
    print_report(report)


R = TypeVar("R")


def rules_or_exit(read: Callable[[Settings, StationRegistry], R], configured: Configured) -> R:
    try:
        return read(configured.settings, configured.registry)
    except StageFailed as exc:
        fail(str(exc), exc.code)
