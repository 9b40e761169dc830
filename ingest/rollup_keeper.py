"""Keeps the hourly rollups (core.rollups) true to the raw points ingest stores.

Every stored batch marks the hours its points fall in; an hour is recomputed from the
raw points once it has ended and its writes have settled (late and replayed readings
mark old hours again, so they are recomputed too). Settling matters with several
ingest workers in one shared group: each recomputes the hours it wrote to, and the last
recompute of an hour reads it after the last write to it.

What is only in memory is lost with the process, so the keeper also reconciles: at start
(after a delay, so a waiting backlog is drained first) over the longest range the API
serves, then every hour over the last day, it compares each hour's raw counts with its
rollups' and recomputes the hours that differ.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from core import rollups
from core.influx import InfluxClient, InfluxError
from core.registry import StationKind

log = structlog.get_logger("ingest.rollups")

_KIND_BY_PREFIX = {f"{kind.value},": kind for kind in StationKind}


@dataclass
class _Dirty:
    first_s: float  # wall time of the first write since the hour was last recomputed
    last_s: float  # and of the latest


class RollupKeeper:
    def __init__(
        self, influx: InfluxClient, *, reconcile_days: float, settle_s: float = 10.0,
        max_wait_s: float = 60.0, tick_s: float = 5.0, start_delay_s: float = 30.0,
        recent_days: float = 1.0, reconcile_every_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._influx = influx
        self._reconcile_days = reconcile_days
        self._settle_s = settle_s
        self._max_wait_s = max_wait_s
        self._tick_s = tick_s
        self._start_delay_s = start_delay_s
        self._recent_days = recent_days
        self._reconcile_every_s = reconcile_every_s
        self._clock = clock
        self._dirty: dict[tuple[StationKind, int], _Dirty] = {}

    @property
    def pending_hours(self) -> int:
        return len(self._dirty)

    def note_stored(self, lines: list[str]) -> None:
        """Mark the hours of stored points (line protocol, nanosecond timestamps)."""
        hours = set()
        for line in lines:
            kind = _KIND_BY_PREFIX.get(line[:line.find(",") + 1])
            if kind is not None:
                hours.add((kind, int(line[line.rfind(" ") + 1:]) // rollups.HOUR_NS))
        now = self._clock()
        for key in hours:
            dirty = self._dirty.get(key)
            if dirty is None:
                self._dirty[key] = _Dirty(now, now)
            else:
                dirty.last_s = now

    def due(self, now_s: float) -> list[tuple[StationKind, int]]:
        """Hours that ended and whose writes settled, or that waited long enough."""
        return sorted(
            key for key, dirty in self._dirty.items()
            if (key[1] + 1) * rollups.HOUR_S + self._settle_s <= now_s
            and (dirty.last_s + self._settle_s <= now_s
                 or dirty.first_s + self._max_wait_s <= now_s))

    async def recompute_due(self) -> int:
        """Recompute the due hours; returns how many. An hour written to while it was
        being read stays marked (from then on), so it is read again."""
        started = self._clock()
        due = self.due(started)
        for kind in StationKind:
            hours = [hour for key_kind, hour in due if key_kind is kind]
            for first, end in rollups.hour_runs(hours):
                await rollups.recompute(self._influx, kind, first, end)
                for hour in range(first, end):
                    dirty = self._dirty.get((kind, hour))
                    if dirty is not None and dirty.last_s < started:
                        del self._dirty[(kind, hour)]
                    elif dirty is not None:
                        dirty.first_s = started
        return len(due)

    async def reconcile(self, days: float) -> int:
        """Recompute the ended hours of the last ``days`` whose rollups disagree with
        the raw counts; returns how many."""
        end_hour = int(self._clock()) // rollups.HOUR_S
        first_hour = end_hour - int(days * 24)
        return await rollups.reconcile(self._influx, first_hour, end_hour)

    async def run(self) -> None:
        """Recompute and reconcile for as long as the process runs."""
        started = self._clock()
        next_reconcile = started + self._start_delay_s
        window = self._reconcile_days
        while True:
            await asyncio.sleep(self._tick_s)
            try:
                if self._dirty:
                    await self.recompute_due()
                if self._clock() >= next_reconcile:
                    recomputed = await self.reconcile(window)
                    if recomputed:
                        log.info("rollups reconciled", hours=recomputed, days=window)
                    window = self._recent_days
                    next_reconcile = self._clock() + self._reconcile_every_s
            except InfluxError as exc:
                # Kept marked: the next tick tries again (InfluxDB down, or the
                # database not created yet).
                log.warning("rollups not updated", error=str(exc) or type(exc).__name__)
