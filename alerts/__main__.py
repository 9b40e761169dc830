"""``python -m floodwatch.alerts``: the alert engine alone (``floodwatch alerts``)."""

from __future__ import annotations

import argparse
import sys

from floodwatch.alerts.command import register


def main() -> None:
    parser = argparse.ArgumentParser(prog="floodwatch")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register(commands)
    args = parser.parse_args(["alerts", *sys.argv[1:]])
    args.handler(args)


main()
