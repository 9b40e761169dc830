"""A short-lived cache of downsampled histories, shared by every client of this process.

A 30-day chart is the same for every officer who opens it in the same minute, and the
cost of one is InfluxDB scanning every reading of the range (about 20 ms of InfluxDB CPU
and as much of ours per answer, measured in bench/api_load.py): during a storm, when
every dashboard and app polls, recomputing it per request would take the CPU that ingest
and the alert engine need. Only downsampled answers are cached, for ``api_history_cache_s``
seconds, with the range widened to whole buckets so that "the last 30 days" asked a few
seconds apart is one entry; InfluxQL labels buckets by their aligned start anyway, so the
widening changes no point but the partial first and last buckets. Short, raw ranges are
always read fresh; the live feed carries what is newer than a cached chart.

Concurrent misses for one entry share one query (no stampede when a chart goes viral).
An expired entry is still served for one more TTL while a single background query
refreshes it, and each entry's TTL is shortened by a random part of up to ``spread``:
otherwise every chart loaded in the same few seconds expires in the same few seconds,
and each of those requests waits for InfluxDB while the CPU is busiest (measured in
bench/api_load.py: that burst was the 30-day history's p99).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog

log = structlog.get_logger("api.history_cache")

# A cached chart is kept as the JSON array of its points, ready to send: a hit then
# builds no objects (500 points as Python objects, times hundreds of charts, also made
# every garbage collection pass slow: cache hits took 31 ms at p50 once the cache was
# full, 2 ms as Python-free bytes; bench/api_load.py).
Chart = bytes
Key = tuple[str, int, int, int]
REFRESH_CONCURRENCY = 2
# Misses too are queued rather than all sent at once: forty parallel 30-day scans make
# every one of them slow; four at a time kept the first pass's p99 at 260 ms instead of
# 320 and its worst at 341 ms instead of 615 (bench/api_load.py, cold cache).
LOAD_CONCURRENCY = 4


def aligned(start: datetime, end: datetime, bucket_s: int) -> tuple[datetime, datetime]:
    """[start, end) widened to whole buckets of ``bucket_s`` counted from the epoch."""
    first = int(start.timestamp()) // bucket_s * bucket_s
    last = -(-int(end.timestamp()) // bucket_s) * bucket_s
    return datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC)


class HistoryCache:
    def __init__(self, ttl_s: float, max_entries: int = 4096,
                 clock: Callable[[], float] = time.monotonic, spread: float = 0.25) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._spread = spread
        self._entries: OrderedDict[Key, tuple[float, asyncio.Future[Chart]]] = OrderedDict()
        self._refreshing: dict[Key, asyncio.Task[None]] = {}
        # Few at a time: a wave of expiries must not become hundreds of concurrent
        # InfluxDB scans that take both cores from the requests being answered (seen in
        # bench/api_load.py: p50 of cache hits 3 ms -> 31 ms during such a wave).
        self._refresh_slots = asyncio.Semaphore(REFRESH_CONCURRENCY)
        self._load_slots = asyncio.Semaphore(LOAD_CONCURRENCY)
        self.hits = self.misses = self.stale = 0

    def _fresh_until(self, now: float) -> float:
        return now + self.ttl_s * (1 - self._spread * random.random())  # noqa: S311

    async def get(self, key: Key, load: Callable[[], Awaitable[Chart]]) -> Chart:
        now = self._clock()
        entry = self._entries.get(key)
        if (entry is not None and entry[0] <= now < entry[0] + self.ttl_s
                and entry[1].done() and not entry[1].cancelled()
                and entry[1].exception() is None):
            self.stale += 1
            if key not in self._refreshing:
                self._refreshing[key] = asyncio.create_task(self._refresh(key, load))
            return entry[1].result()
        if entry is not None and entry[0] > now:
            self.hits += 1
            self._entries.move_to_end(key)
            try:
                return await asyncio.shield(entry[1])
            except asyncio.CancelledError:
                if not entry[1].cancelled():
                    raise  # this request itself went away
            return await load()  # the request that was loading it went away mid-query
        self.misses += 1
        future: asyncio.Future[Chart] = asyncio.get_running_loop().create_future()
        self._store(key, future)
        try:
            async with self._load_slots:
                chart = await load()
        except BaseException as exc:
            # A failure is not cached: the next request asks InfluxDB again.
            if key in self._entries and self._entries[key][1] is future:
                del self._entries[key]
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # retrieved: waiters re-raise it; nothing to log twice
            else:
                future.cancel()
            raise
        future.set_result(chart)
        return chart

    def _store(self, key: Key, future: asyncio.Future[Chart]) -> None:
        self._entries[key] = (self._fresh_until(self._clock()), future)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def _refresh(self, key: Key, load: Callable[[], Awaitable[Chart]]) -> None:
        """Replace a stale entry; on failure it stays until its stale time runs out."""
        try:
            async with self._refresh_slots:
                chart = await load()
        except Exception as exc:  # the next request after the stale time asks again
            log.warning("history refresh failed; serving the stale chart",
                        error=str(exc) or type(exc).__name__)
            return
        finally:
            self._refreshing.pop(key, None)
        future: asyncio.Future[Chart] = asyncio.get_running_loop().create_future()
        future.set_result(chart)
        self._store(key, future)
