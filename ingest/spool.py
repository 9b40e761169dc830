"""The disk spool: where readings wait, safely, while InfluxDB is unavailable.

Append-only segment files of line protocol (``seg-000000000001.lp``, ...). A batch is
appended and fsynced *before* its messages are acknowledged to the broker, so a reading
is always either unacknowledged (the broker redelivers it) or on disk here. Replaying a
segment rewrites points InfluxDB may already have -- harmless, since a point is keyed by
measurement, tags and timestamp.

A crash in the middle of an append leaves a partial last line; that batch was never
acknowledged, so readers drop everything after the last newline.

Written by hand rather than with a queue library because the contract is small and
exact (fsync before ack, strict order, crash-safe tail) and must not add a server.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import structlog

log = structlog.get_logger("ingest.spool")

SEGMENT_BYTES = 8 * 1024 * 1024


class SpoolFull(Exception):
    """The spool reached its size bound; the caller must stop acknowledging."""


class Spool:
    def __init__(self, directory: Path, max_bytes: int, alarm_ratio: float = 0.5) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.alarm_bytes = int(max_bytes * alarm_ratio)
        directory.mkdir(parents=True, exist_ok=True)
        self._segments = sorted(directory.glob("seg-*.lp"))
        self._size = sum(path.stat().st_size for path in self._segments)
        self._alarmed = False
        self._open: Path | None = None  # the segment appends go to, if any
        if self._segments:
            log.warning("spool holds readings from before a restart",
                        segments=len(self._segments), bytes=self._size)

    @property
    def size_bytes(self) -> int:
        return self._size

    def is_empty(self) -> bool:
        return not self._segments

    def append(self, lines: Sequence[str]) -> None:
        """Durably append one batch. Raises SpoolFull when it would exceed the bound."""
        if not lines:
            return
        data = ("\n".join(lines) + "\n").encode()
        if self._size + len(data) > self.max_bytes:
            raise SpoolFull(f"spool at {self._size} of {self.max_bytes} bytes")
        if self._open is None or self._open.stat().st_size >= SEGMENT_BYTES:
            self._open = self._new_segment_path()
            self._segments.append(self._open)
        descriptor = os.open(self._open, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(descriptor, data)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        self._size += len(data)
        self._check_alarm()

    def oldest(self) -> tuple[Path, list[str]] | None:
        """The oldest segment and its complete lines. Seals it: new appends go elsewhere."""
        if not self._segments:
            return None
        path = self._segments[0]
        if path == self._open:
            self._open = None
        data = path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        # split, not splitlines: a string field may hold U+0085 or U+2028, which
        # splitlines would take for line ends; line protocol ends lines with \n only.
        return path, complete.decode().split("\n")[:-1]

    def remove(self, path: Path) -> None:
        """Forget a segment once every line of it is stored."""
        size = path.stat().st_size
        path.unlink()
        self._segments.remove(path)
        self._size -= size
        if self._size < self.alarm_bytes and self._alarmed:
            self._alarmed = False
            log.info("spool back under its alarm level", bytes=self._size)

    def _new_segment_path(self) -> Path:
        last = int(self._segments[-1].stem.removeprefix("seg-")) if self._segments else 0
        return self.directory / f"seg-{last + 1:012d}.lp"

    def _check_alarm(self) -> None:
        if self._size >= self.alarm_bytes and not self._alarmed:
            self._alarmed = True
            log.error("spool above its alarm level: InfluxDB has been unavailable for long",
                      bytes=self._size, max_bytes=self.max_bytes)
