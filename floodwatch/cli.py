"""The ``floodwatch`` command: one entry point, a subcommand per stage or tool.

The stages' subcommands and ``up`` come from the stage table (floodwatch/stages.py); each
tool registers its own subcommand.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from floodwatch.stages import STAGES, Stage, run_stage
from floodwatch.up import run_up
from floodwatch.version import installed_version

STAGE_NAMES = frozenset(stage.name for stage in STAGES)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every subcommand; for a stage's ``command``, the stages' alone: the tools' modules
    (the simulators, the health check with httpx's command line) took a quarter of
    ``floodwatch ingest``'s start, which a restart with a backlog waiting pays in full."""
    parser = argparse.ArgumentParser(
        prog="floodwatch",
        description="River and road monitoring: MQTT ingest, InfluxDB storage, alerts.",
        epilog="Settings come from FLOODWATCH_* environment variables (see README).",
    )
    parser.add_argument("--version", action="version",
                        version=f"floodwatch {installed_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for stage in STAGES:
        _add_stage(commands, stage)
    _add_up(commands)
    if command not in STAGE_NAMES:
        # The tools, only when asked for (see the docstring).
        from floodwatch import demo_config, healthcheck, starter, tools  # noqa: PLC0415
        from floodwatch.simulators import cli as simulate  # noqa: PLC0415

        for register in (starter.register, simulate.register, demo_config.register,
                         tools.register, healthcheck.register):
            register(commands)
    return parser


def _add_stage(commands: argparse._SubParsersAction[argparse.ArgumentParser],
               stage: Stage) -> None:
    parser = commands.add_parser(stage.name, help=stage.help)
    parser.add_argument("--check", action="store_true", help=stage.check_help)

    def handler(args: argparse.Namespace) -> None:
        run_stage(stage, check_only=args.check)

    parser.set_defaults(handler=handler)
    if stage.actions is not None:
        importlib.import_module(stage.actions).register(parser)


def _add_up(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    names = ", ".join(stage.name for stage in STAGES)
    parser = commands.add_parser("up", help=f"run every stage in one process ({names})")
    optional = [stage for stage in STAGES if stage.without is not None]
    for stage in optional:
        parser.add_argument(f"--without-{stage.name}", action="store_true", help=stage.without)

    def handler(args: argparse.Namespace) -> None:
        run_up({stage.name for stage in optional
                if getattr(args, f"without_{stage.name}")})

    parser.set_defaults(handler=handler)


def main(argv: Sequence[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(arguments[0] if arguments else None).parse_args(arguments)
    handler: Callable[[argparse.Namespace], None] = args.handler
    handler(args)


def main_of(command: str) -> None:
    """``python -m floodwatch.<command>``: the same as ``floodwatch <command>``."""
    main([command, *sys.argv[1:]])
