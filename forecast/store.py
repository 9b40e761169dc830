"""The forecast stage's local durable state: one SQLite file in FLOODWATCH_STATE_DIR.

One transaction per batch of readings holds what the batch took -- each gauge's newest
reading taken (``seen_s``: a repeated or older reading issues nothing, and the history
warmed from InfluxDB at a restart ends there, so the readings that arrived meanwhile
are forecast as they come) and the forecasts' InfluxDB lines -- and only then are the
readings acknowledged. The lines
wait here while InfluxDB is down (core.line_queue writes them when it is back): the
live forecasts on the bus never wait for InfluxDB.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import structlog

log = structlog.get_logger("forecast")

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (station TEXT PRIMARY KEY, seen_s REAL NOT NULL);
CREATE TABLE IF NOT EXISTS lines (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL);
"""

# 18 lines per forecast, some 150 bytes each: 500,000 lines are 75 MB, a day of a
# 200-gauge prefecture's forecasts. Beyond it the oldest give way, and an error says so
# (the forecasts themselves were published).
MAX_BACKLOG = 500_000


@dataclass
class Batch:
    """What one batch of readings issued; committed atomically."""

    seen: dict[str, float] = field(default_factory=dict)  # station -> epoch seconds
    lines: list[str] = field(default_factory=list)


class ForecastStore:
    def __init__(self, path: Path, max_backlog: int = MAX_BACKLOG) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_backlog = max_backlog
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._synchronous = ""

    def close(self) -> None:
        self._db.close()

    def load(self) -> dict[str, float]:
        """Each gauge's newest reading taken (epoch seconds)."""
        return {station: seen for station, seen
                in self._db.execute("SELECT station, seen_s FROM seen")}

    def commit(self, batch: Batch) -> None:
        if not batch.seen and not batch.lines:
            return
        db = self._db
        # FULL: on disk before the readings are acknowledged (alerts.store measured why).
        self._sync("FULL")
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR REPLACE INTO seen VALUES (?, ?)",
                           list(batch.seen.items()))
            db.executemany("INSERT INTO lines (line) VALUES (?)",
                           [(line,) for line in batch.lines])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # --- the InfluxDB queue (core.line_queue.LineQueue) -------------------------------
    def batch(self, limit: int) -> tuple[int, list[str]]:
        rows = self._db.execute("SELECT id, line FROM lines ORDER BY id LIMIT ?",
                                (limit,)).fetchall()
        return (rows[-1][0] if rows else 0), [row[1] for row in rows]

    def written(self, up_to_id: int) -> None:
        # NORMAL: losing this on a power cut only rewrites points (idempotent).
        self._sync("NORMAL")
        self._db.execute("DELETE FROM lines WHERE id <= ?", (up_to_id,))

    def backlog(self) -> int:
        count = int(self._db.execute("SELECT count(*) FROM lines").fetchone()[0])
        if count > self.max_backlog:
            excess = count - self.max_backlog
            self._sync("NORMAL")
            self._db.execute("DELETE FROM lines WHERE id IN (SELECT id FROM lines "
                             "ORDER BY id LIMIT ?)", (excess,))
            log.error("forecast backlog for InfluxDB full; oldest lines dropped",
                      dropped=excess, kept=self.max_backlog)
        return min(count, self.max_backlog)

    def _sync(self, mode: str) -> None:
        if mode != self._synchronous:
            self._db.execute(f"PRAGMA synchronous={mode}")
            self._synchronous = mode
