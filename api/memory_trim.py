"""Give the memory of closed live clients back to the operating system.

Measured (bench/api_connections.py): after 1,000 WebSockets closed, nothing in Python
still referred to them (tracemalloc: the traced total was back to its baseline, the hub
and the tasks were empty), yet the API's RSS stayed at its peak. glibc's malloc keeps
freed heap memory for reuse unless it lies at the top of the heap, and thousands of
connections' buffers freed in any order leave it scattered, so RSS only ever grows to
the highest number of clients seen: on a shared host, or in a container with a memory
limit, a flood at 3 a.m. would leave the API looking (and being accounted) as large for
the rest of the typhoon. ``malloc_trim(0)`` hands the free pages back.

It is called once a burst of closings has calmed down: after TRIM_AFTER closed streams,
DELAY_S later, at most once per DELAY_S. Where the C library has no malloc_trim (musl,
macOS) this does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger("api.memory")

# Streams closed before a trim is considered: a trim walks the heap (a few ms at 100 MB),
# pointless for a handful of clients.
TRIM_AFTER = 100
# Wait for the burst to end: trimming between two closings of a mass disconnect would
# only have to be done again.
DELAY_S = 2.0


def _libc_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


MALLOC_TRIM = _libc_malloc_trim()


class MemoryTrimmer:
    def __init__(self, trim: Callable[[int], int] | None = MALLOC_TRIM) -> None:
        self._trim = trim
        self._closed = 0
        self._pending: asyncio.TimerHandle | None = None
        self.trims = 0

    def stream_closed(self) -> None:
        """A live stream ended (or was refused): maybe schedule a trim."""
        if self._trim is None:
            return
        self._closed += 1
        if self._closed >= TRIM_AFTER and self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(DELAY_S, self._run)

    def _run(self) -> None:
        assert self._trim is not None
        self._pending = None
        closed, self._closed = self._closed, 0
        started = time.perf_counter()
        released = self._trim(0)
        self.trims += 1
        log.debug("returned freed memory to the system", closed_streams=closed,
                  released=bool(released), ms=round((time.perf_counter() - started) * 1000, 1))
