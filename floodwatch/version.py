"""floodwatch's version: the installed distribution's metadata, whose one source is
pyproject.toml (an editable install has the same metadata as the wheel)."""

from __future__ import annotations

from importlib import metadata


def installed_version() -> str:
    try:
        return metadata.version("floodwatch")
    except metadata.PackageNotFoundError:  # run from a bare copy of the sources
        return "unknown (not installed)"
