"""api.memory_trim: freed memory is handed back once a burst of closed streams is over."""

from __future__ import annotations

import asyncio

from floodwatch.api import memory_trim
from floodwatch.api.memory_trim import MALLOC_TRIM, TRIM_AFTER, MemoryTrimmer


def test_one_trim_after_a_burst_of_closings() -> None:
    assert MALLOC_TRIM is not None, "this host's C library (glibc) has malloc_trim"
    calls: list[int] = []

    def counted_trim(pad: int) -> int:
        calls.append(pad)
        assert MALLOC_TRIM is not None
        return MALLOC_TRIM(pad)

    async def scenario() -> None:
        trimmer = MemoryTrimmer(counted_trim)
        for _ in range(TRIM_AFTER - 1):
            trimmer.stream_closed()
        await asyncio.sleep(memory_trim.DELAY_S + 0.5)
        assert calls == [], "a few closed streams are not worth a heap walk"
        for _ in range(3 * TRIM_AFTER):  # a mass disconnect
            trimmer.stream_closed()
        assert calls == [], "not in the middle of the burst"
        await asyncio.sleep(memory_trim.DELAY_S + 0.5)
        assert calls == [0]
        assert trimmer.trims == 1

    asyncio.run(scenario())


def test_without_malloc_trim_nothing_is_scheduled() -> None:
    # Scheduling a trim takes the running event loop (call_later), so closings counted
    # where there is no loop at all prove none is scheduled: this fails (RuntimeError)
    # if the trimmer schedules anything. Waiting DELAY_S and counting trims could not
    # fail, since with no malloc_trim to call the count cannot rise.
    trimmer = MemoryTrimmer(None)
    for _ in range(2 * TRIM_AFTER):
        trimmer.stream_closed()
    assert trimmer.trims == 0
