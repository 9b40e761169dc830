"""``python -m floodwatch.notify``: the same as ``floodwatch notify``."""

from floodwatch.cli import main_of

main_of("notify")
