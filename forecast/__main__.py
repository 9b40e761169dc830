"""``python -m floodwatch.forecast``: the same as ``floodwatch forecast``."""

from floodwatch.cli import main_of

main_of("forecast")
