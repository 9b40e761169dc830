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
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from core.readings import FieldValue

Points = list[tuple[datetime, dict[str, FieldValue]]]
Key = tuple[str, int, int, int]


def aligned(start: datetime, end: datetime, bucket_s: int) -> tuple[datetime, datetime]:
    """[start, end) widened to whole buckets of ``bucket_s`` counted from the epoch."""
    first = int(start.timestamp()) // bucket_s * bucket_s
    last = -(-int(end.timestamp()) // bucket_s) * bucket_s
    return datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC)


class HistoryCache:
    def __init__(self, ttl_s: float, max_entries: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Key, tuple[float, asyncio.Future[Points]]] = OrderedDict()
        self.hits = self.misses = 0

    async def get(self, key: Key, load: Callable[[], Awaitable[Points]]) -> Points:
        now = self._clock()
        entry = self._entries.get(key)
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
        future: asyncio.Future[Points] = asyncio.get_running_loop().create_future()
        self._entries[key] = (now + self.ttl_s, future)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        try:
            points = await load()
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
        future.set_result(points)
        return points
