"""``python -m api``: run the API alone, until floodwatch/cli.py wires ``floodwatch api``."""

from __future__ import annotations

import argparse

from api import command

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="floodwatch")
    commands = parser.add_subparsers(dest="command", required=True)
    command.register(commands)
    args = parser.parse_args(["api"])
    args.handler(args)
