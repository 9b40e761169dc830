"""``python -m floodwatch.simulators``: the same as ``floodwatch simulate``."""

from floodwatch.cli import main_of

main_of("simulate")
