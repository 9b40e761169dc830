"""InfluxDB's newest point of every station, shared by all requests for a moment.

``/latest`` and ``/stations`` are what every dashboard and app polls. The bus cache
(api.live) already holds every reading that crossed the bus since the API started, so
InfluxDB only fills in stations the bus has not spoken for (after a restart, or while
the API's subscription was down). Asking InfluxDB once per ``REFRESH_S`` instead of once
per request keeps those endpoints fast and InfluxDB's load independent of the number of
clients; one query is in flight at a time, and requests do not wait for it. An outage
is remembered the same way, so requests do not each wait for the timeout while
InfluxDB is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from floodwatch.api.store import latest_by_station
from floodwatch.core.influx import DatabaseNotFound, InfluxClient, InfluxError
from floodwatch.core.readings import FieldValue
from floodwatch.core.registry import StationKind

log = structlog.get_logger("api.latest")

Latest = dict[str, tuple[datetime, dict[str, FieldValue]]]

# Longest a point that reached InfluxDB but not the bus stays unseen by /latest.
REFRESH_S = 2.0
# The newest point of every series means reading every shard: with a month of data that
# costs InfluxDB about a second of CPU. So only every FULL_REFRESH_S; the refreshes in
# between ask for the points of the last RECENT_WINDOW and merge them in (the bus
# carries every reading anyway: InfluxDB is the safety net).
FULL_REFRESH_S = 300.0
RECENT_WINDOW = timedelta(minutes=10)


async def query_latest(influx: InfluxClient, since: datetime | None = None) -> Latest | None:
    """Every station's newest point (from ``since`` on); None when InfluxDB cannot be
    asked."""
    latest: Latest = {}
    try:
        for kind in StationKind:
            latest.update(await latest_by_station(influx, kind, since))
    except DatabaseNotFound:
        return latest  # a database not created yet simply holds nothing
    except InfluxError as exc:
        log.warning("latest readings unavailable from InfluxDB", error=str(exc))
        return None
    return latest


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    generation: int  # changes when a refresh changed the answer: renderings depend on it
    latest: Latest | None


class StoredLatest:
    """``query_latest`` behind a short-lived cache, refreshed in the background.

    Only requests before the first answer (started at start-up by ``prefetch``) wait
    for InfluxDB. Later ones get the last answer at once while one refresh at a time
    runs behind them (stale-while-revalidate): requests queueing behind a query every
    ``refresh_s`` would be the slowest the endpoint answers."""

    def __init__(self, refresh_s: float = REFRESH_S,
                 full_refresh_s: float = FULL_REFRESH_S) -> None:
        self._refresh_s = refresh_s
        self._full_refresh_s = full_refresh_s
        self._value = StoredSnapshot(0, None)
        self._fetched_at = float("-inf")
        self._full_at = float("-inf")
        self._refreshing: asyncio.Task[None] | None = None

    def prefetch(self, influx: InfluxClient) -> None:
        """Start the first query now (at start-up), so the first request need not wait."""
        self._start_refresh(influx)

    async def get(self, influx: InfluxClient) -> StoredSnapshot:
        if self._value.generation == 0:
            # Nothing to answer with yet: wait for the first query (shielded: one
            # request going away must not cancel it for the others).
            await asyncio.shield(self._start_refresh(influx))
        elif time.monotonic() - self._fetched_at >= self._refresh_s:
            self._start_refresh(influx)
        return self._value

    def _start_refresh(self, influx: InfluxClient) -> asyncio.Task[None]:
        if self._refreshing is None:
            self._refreshing = asyncio.create_task(self._refresh(influx),
                                                   name="api-latest-refresh")
            self._refreshing.add_done_callback(self._refreshed)
        return self._refreshing

    async def _refresh(self, influx: InfluxClient) -> None:
        started = time.monotonic()
        known = self._value.latest
        if known is None or started - self._full_at >= self._full_refresh_s:
            latest = await query_latest(influx)
            self._full_at = started
        else:
            recent = await query_latest(influx, datetime.now(UTC) - RECENT_WINDOW)
            latest = None if recent is None else _merged(known, recent)
        if latest != known or self._value.generation == 0:
            # A new generation only when something changed: it makes answers re-render.
            self._value = StoredSnapshot(self._value.generation + 1, latest)
        self._fetched_at = time.monotonic()

    def _refreshed(self, task: asyncio.Task[None]) -> None:
        self._refreshing = None
        if not task.cancelled() and task.exception() is not None:
            log.error("refreshing the latest readings failed", exc_info=task.exception())

    async def close(self) -> None:
        """Stop a refresh in flight (before the InfluxDB client closes)."""
        task = self._refreshing
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _merged(known: Latest, recent: Latest) -> Latest:
    merged = dict(known)
    for station, (ts, values) in recent.items():
        if station not in merged or ts >= merged[station][0]:
            merged[station] = (ts, values)
    return merged


class RenderedBody:
    """The last rendered answer and what it was rendered from: polled endpoints answer
    hundreds of clients from one rendering until an input changes."""

    def __init__(self) -> None:
        self._key: Hashable = None
        self._body = b""

    def get(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        if key != self._key or not self._body:
            self._body = render()
            self._key = key
        return self._body
