"""Running ``floodwatch simulate`` in-process through the parser ``register`` builds."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import structlog

from floodwatch.simulators.cli import register


def simulate(*arguments: str) -> None:
    parser = argparse.ArgumentParser(prog="floodwatch")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["simulate", *arguments])
    handler: Callable[[argparse.Namespace], None] = args.handler
    try:
        handler(args)
    finally:
        # The command configures logging onto this test's captured stderr; later tests
        # must not write to it once pytest has closed it.
        structlog.reset_defaults()
