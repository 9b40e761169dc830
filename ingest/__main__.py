"""``python -m floodwatch.ingest``: the same as ``floodwatch ingest``."""

from floodwatch.cli import main_of

main_of("ingest")
