"""The delivery stage's Prometheus metrics. Labels are channel names and fixed states.

Counters restart at zero with the process; ``floodwatch_notify_ledger_deliveries`` is
read from the delivery ledger itself, so a post whose outcome is unknown stays visible
after any number of restarts until it is pruned (30 days).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable

from prometheus_client import Counter, Gauge

DELIVERIES = Counter("floodwatch_notify_deliveries_total",
                     "Delivery state changes, by channel and state.", ["channel", "state"])
UNKNOWN = Counter("floodwatch_notify_unknown_total",
                  "Deliveries whose outcome is unknown after a crash: an officer must check "
                  "the channel (never re-posted automatically).", ["channel"])
BACKLOG = Gauge("floodwatch_notify_backlog", "Deliveries not yet sent, by channel.", ["channel"])
STATUS_BACKLOG = Gauge("floodwatch_notify_status_backlog",
                       "Delivery status points waiting for InfluxDB.")
CHANNEL_PROBLEMS = Gauge("floodwatch_notify_channel_problems",
                         "Configuration problems found at start (channel disabled).")
RATE_LIMITED = Gauge("floodwatch_notify_rate_limited_until",
                     "Epoch seconds until which the platform asked us to wait.", ["channel"])
# Not "floodwatch_notify_deliveries": the counter above owns that name.
LEDGER_DELIVERIES = Gauge(
    "floodwatch_notify_ledger_deliveries",
    "Deliveries in the ledger now, by channel and state (pending, sending, sent, expired, "
    "unknown: an officer must check the account by hand); survives restarts.",
    ["channel", "state"])

LEDGER_REFRESH_S = 1.0  # at most one count of the ledger per second in a storm


def ledger_counts(ledger_db: sqlite3.Connection) -> dict[tuple[str, str], int]:
    """(channel, state) -> deliveries in that state now, from notify.deliveries' table."""
    rows = ledger_db.execute("SELECT channel, state, count(*) FROM deliveries "
                             "GROUP BY channel, state")
    return {(row[0], row[1]): int(row[2]) for row in rows}


class LedgerStates:
    """Keeps ``floodwatch_notify_ledger_deliveries`` equal to the ledger's counts: set at
    start (``refresh``), then again soon after each change (a call), which is passed on
    to ``then``."""

    def __init__(self, ledger_db: sqlite3.Connection, then: Callable[[], None]) -> None:
        self._db = ledger_db
        self._then = then
        self._shown: set[tuple[str, str]] = set()
        self._changed = asyncio.Event()

    def __call__(self) -> None:
        self._changed.set()
        self._then()

    def refresh(self) -> None:
        counts = ledger_counts(self._db)
        for gone in self._shown - counts.keys():  # a state emptied reads 0, not its last count
            LEDGER_DELIVERIES.labels(*gone).set(0)
        for labels, count in counts.items():
            LEDGER_DELIVERIES.labels(*labels).set(count)
        self._shown |= counts.keys()

    async def run(self) -> None:
        """Refresh after changes, until cancelled."""
        while True:
            await self._changed.wait()
            self._changed.clear()
            self.refresh()
            await asyncio.sleep(LEDGER_REFRESH_S)
