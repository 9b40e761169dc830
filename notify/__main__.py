"""``python -m floodwatch.notify``: the delivery stage alone (same as ``floodwatch notify``)."""

from __future__ import annotations

import argparse
import sys

from floodwatch.notify.command import register


def main() -> None:
    parser = argparse.ArgumentParser(prog="floodwatch")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register(commands)
    args = parser.parse_args(["notify", *sys.argv[1:]])
    args.handler(args)


main()
