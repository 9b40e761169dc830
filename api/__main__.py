"""``python -m floodwatch.api``: the same as ``floodwatch api``."""

from floodwatch.cli import main_of

main_of("api")
