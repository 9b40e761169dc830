"""Local durable state of the alert engine: one SQLite file in FLOODWATCH_STATE_DIR.

One transaction per batch of inputs holds everything the batch changed -- station
states, the engine clock and its no-data alerts, the new events to publish
(``event_publications``: each event's JSON and CAP, until the broker confirms them),
their InfluxDB history lines and
the ids of applied commands -- and only then are the inputs acknowledged to the broker.
A crash before the commit loses nothing (the broker redelivers, and the engine ignores
what it had already applied); a crash after it re-sends unpublished events with their
original ids.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import structlog

from floodwatch.alerts.state import Clock, NoDataState, StationState

log = structlog.get_logger("alerts")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS station_state (station TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS event_publications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    published INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS event_publications_unpublished
    ON event_publications (published, id);
CREATE TABLE IF NOT EXISTS history (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commands (command_id TEXT PRIMARY KEY);
"""

# Published events kept for inspection; older ones are pruned.
KEEP_PUBLISHED = 10_000
# History lines waiting for InfluxDB (a few kB each, with their CAP): some 100 MB, days
# of a typhoon's events. Beyond it the oldest are dropped and an error says so.
MAX_HISTORY_BACKLOG = 50_000
# Before the table's name said what it holds, it was "outbox" (as notify's delivery
# records and the MQTT publish window also were): a state file from then is renamed.
RENAMED_TABLES = {"outbox": "event_publications"}
RENAMED_INDEXES = ("outbox_unpublished",)


class NamespaceMismatch(Exception):
    """The state was created for another deployment id (its CAP identifiers')."""


@dataclass(frozen=True, slots=True)
class EventPublication:
    """One message an event publishes (its JSON, or its CAP), kept until confirmed."""

    event_id: str
    topic: str
    payload: bytes


@dataclass
class Changes:
    """What one batch of inputs changed; committed atomically."""

    states: dict[str, StationState]
    clock: Clock | None
    publications: list[EventPublication]
    history: list[str]
    commands: list[str]
    no_data: NoDataState | None = None

    @classmethod
    def empty(cls) -> Changes:
        return cls({}, None, [], [], [])

    def __bool__(self) -> bool:
        return bool(self.states or self.clock or self.publications or self.history
                    or self.commands or self.no_data)


class AlertStore:
    def __init__(self, path: Path, max_history_backlog: int = MAX_HISTORY_BACKLOG) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_history_backlog = max_history_backlog
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._rename_old_tables()
        self._db.executescript(SCHEMA)
        self._synchronous = ""

    def close(self) -> None:
        self._db.close()

    def _rename_old_tables(self) -> None:
        tables = {row[0] for row in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        for old, new in RENAMED_TABLES.items():
            if old in tables and new not in tables:
                self._db.execute(f"ALTER TABLE {old} RENAME TO {new}")
            elif old in tables:  # both: an older version ran again after the rename
                # The names are this module's constants, never input.
                copy = (f"INSERT OR IGNORE INTO {new} (event_id, topic, payload) "  # noqa: S608
                        f"SELECT event_id, topic, payload FROM {old} WHERE published = 0 "
                        "ORDER BY id")
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(copy)
                self._db.execute(f"DROP TABLE {old}")
                self._db.execute("COMMIT")
        for index in RENAMED_INDEXES:
            self._db.execute(f"DROP INDEX IF EXISTS {index}")

    def load(self) -> tuple[dict[str, StationState], Clock]:
        states = {station: StationState.model_validate_json(text)
                  for station, text in self._db.execute("SELECT station, state FROM station_state")}
        row = self._db.execute("SELECT value FROM meta WHERE key = 'clock'").fetchone()
        clock = Clock.model_validate_json(row[0]) if row else Clock()
        return states, clock

    def cap_namespace(self, deployment_id: str) -> str:
        """"{deployment_id}:{instance}" of this state's CAP identifiers. The instance is
        random, made once with the state: a fresh state directory (a rebuilt or second
        deployment with the same sender) never repeats an identifier. The deployment id
        is kept with it: changing it under open alerts would make their updates
        reference identifiers never sent, so that is refused."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'cap_namespace'").fetchone()
        if row is None:
            namespace = f"{deployment_id}:{secrets.token_hex(8)}"
            self._db.execute("INSERT INTO meta VALUES ('cap_namespace', ?)", (namespace,))
            return namespace
        namespace = str(row[0])
        kept = namespace.rpartition(":")[0]
        if kept != deployment_id:
            raise NamespaceMismatch(
                f"the alert state {self.path} was created for deployment {kept!r}, not "
                f"{deployment_id!r}: set it back, or start from a fresh state directory")
        return namespace

    def load_no_data(self) -> NoDataState:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'no_data'").fetchone()
        return NoDataState.model_validate_json(row[0]) if row else NoDataState()

    def commit(self, changes: Changes) -> None:
        if not changes:
            return
        db = self._db
        # FULL: the batch is on disk (WAL fsynced) before its input is acknowledged.
        self._sync("FULL")
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR REPLACE INTO station_state VALUES (?, ?)",
                           [(s, state.model_dump_json()) for s, state in changes.states.items()])
            if changes.clock is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('clock', ?)",
                           (changes.clock.model_dump_json(),))
            if changes.no_data is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('no_data', ?)",
                           (changes.no_data.model_dump_json(),))
            db.executemany(
                "INSERT INTO event_publications (event_id, topic, payload) VALUES (?, ?, ?)",
                [(e.event_id, e.topic, e.payload) for e in changes.publications])
            db.executemany("INSERT INTO history (line) VALUES (?)",
                           [(line,) for line in changes.history])
            db.executemany("INSERT OR IGNORE INTO commands VALUES (?)",
                           [(c,) for c in changes.commands])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _sync(self, mode: str) -> None:
        if mode != self._synchronous:
            self._db.execute(f"PRAGMA synchronous={mode}")
            self._synchronous = mode

    def _bookkeeping(self, sql: str, parameters: tuple[int, ...]) -> None:
        # NORMAL (no fsync of its own): losing this on a power cut only means re-sending
        # an event with its same id, or rewriting a history point (idempotent); the next
        # FULL commit makes it durable anyway. An fsync here doubled the engine's p99.
        self._sync("NORMAL")
        self._db.execute(sql, parameters)

    def command_seen(self, command_id: str) -> bool:
        row = self._db.execute("SELECT 1 FROM commands WHERE command_id = ?",
                               (command_id,)).fetchone()
        return row is not None

    # --- event publications --------------------------------------------------------
    def unpublished(self, limit: int = 1000) -> list[tuple[int, EventPublication]]:
        rows = self._db.execute(
            "SELECT id, event_id, topic, payload FROM event_publications WHERE published = 0 "
            "ORDER BY id LIMIT ?", (limit,))
        return [(row[0], EventPublication(row[1], row[2], bytes(row[3]))) for row in rows]

    def mark_published(self, up_to_id: int) -> None:
        self._bookkeeping(
            "UPDATE event_publications SET published = 1 WHERE published = 0 AND id <= ?",
            (up_to_id,))
        self._bookkeeping("DELETE FROM event_publications WHERE published = 1 AND id <= ?",
                          (up_to_id - KEEP_PUBLISHED,))

    def kept_publications(self) -> list[EventPublication]:
        """Every kept event publication, oldest first (tests and inspection)."""
        rows = self._db.execute(
            "SELECT event_id, topic, payload FROM event_publications ORDER BY id")
        return [EventPublication(row[0], row[1], bytes(row[2])) for row in rows]

    # --- history for InfluxDB --------------------------------------------------------
    def history_batch(self, limit: int) -> tuple[int, list[str]]:
        rows = self._db.execute("SELECT id, line FROM history ORDER BY id LIMIT ?",
                                (limit,)).fetchall()
        return (rows[-1][0] if rows else 0), [row[1] for row in rows]

    def history_written(self, up_to_id: int) -> None:
        self._bookkeeping("DELETE FROM history WHERE id <= ?", (up_to_id,))

    def history_backlog(self) -> int:
        count = int(self._db.execute("SELECT count(*) FROM history").fetchone()[0])
        if count > self.max_history_backlog:
            # Bounded (the disk is not): past days of an InfluxDB outage the oldest
            # records give way, loudly; the events themselves were published.
            excess = count - self.max_history_backlog
            self._bookkeeping("DELETE FROM history WHERE id IN (SELECT id FROM history "
                              "ORDER BY id LIMIT ?)", (excess,))
            log.error("alert history backlog full; oldest lines dropped", dropped=excess,
                      kept=self.max_history_backlog)
        return min(count, self.max_history_backlog)
