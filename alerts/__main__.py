"""``python -m floodwatch.alerts``: the same as ``floodwatch alerts``."""

from floodwatch.cli import main_of

main_of("alerts")
