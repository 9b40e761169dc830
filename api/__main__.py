"""``python -m api``: the same as ``floodwatch api``."""

from __future__ import annotations

import argparse

from api import command

if __name__ == "__main__":
    command.run(argparse.Namespace())
