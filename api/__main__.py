"""``python -m floodwatch.api``: the same as ``floodwatch api``."""

from __future__ import annotations

import argparse

from floodwatch.api import command

if __name__ == "__main__":
    command.run(argparse.Namespace())
