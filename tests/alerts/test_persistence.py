"""State in SQLite: a restart resumes the same sequence, and redelivered input repeats
nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import structlog

from floodwatch.alerts.engine import Engine, Outcome
from floodwatch.alerts.model import Event
from floodwatch.alerts.rules import AlertRules
from floodwatch.alerts.store import AlertStore, Changes, EventPublication
from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import river, road


def scenario() -> list[Reading]:
    levels = [0.5, 1.2, 2.1, 3.1, 2.95, 2.5, 2.5, 2.5, 2.5, 1.7, 0.9, 0.5, 0.5, 0.5]
    readings = []
    for index, level in enumerate(levels):
        readings.append(river("g1", 10 * index, level))
        if index < 4:  # g2 falls silent after 30 minutes
            readings.append(river("g2", 10 * index, 0.4))
        readings.append(road("u1", 10 * index, water_depth_cm=12.0 if index in (3, 4) else 0))
    return readings


def run(engine: Engine, store: AlertStore, readings: list[Reading]) -> list[Event]:
    events: list[Event] = []
    for reading in readings:
        outcome: Outcome = engine.on_reading(reading)
        store.commit(Changes(
            states={s.station: s for s in outcome.states},
            clock=engine.clock if outcome.clock_changed else None,
            publications=[EventPublication(e.event_id, "t", e.model_dump_json().encode())
                    for e in outcome.events],
            history=[], commands=[]))
        events.extend(outcome.events)
    return events


def test_restart_resumes_the_same_sequence(tmp_path: Path, registry: StationRegistry,
                                           rules: AlertRules) -> None:
    readings = scenario()
    expected = run(Engine(registry, rules), AlertStore(tmp_path / "one.sqlite3"), readings)
    assert len(expected) >= 8

    path = tmp_path / "two.sqlite3"
    first = AlertStore(path)
    split = len(readings) // 2
    before = run(Engine(registry, rules), first, readings[:split])
    first.close()

    second = AlertStore(path)
    states, clock = second.load()
    resumed = Engine(registry, rules, states, clock)
    # The broker redelivers what was processed but not acknowledged: it changes nothing.
    after = run(resumed, second, readings[split - 5:])
    assert before + after == expected
    assert [e.event_id for e in second.kept_publications()] == [e.event_id for e in expected]
    for station in ("g1", "g2", "u1"):
        seqs = [e.seq for e in expected if e.station == station]
        assert seqs == list(range(1, len(seqs) + 1))


def test_event_publications_and_history_queue(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "s.sqlite3")
    entries = [EventPublication(f"g1/{n}", "floodwatch/alerts/g1", b"{}") for n in range(1, 4)]
    store.commit(Changes(states={}, clock=None, publications=entries, history=["a", "b"],
                         commands=["c-1"]))
    assert [entry for _, entry in store.unpublished()] == entries
    first_id = store.unpublished()[0][0]
    store.mark_published(first_id)
    assert [entry.event_id for _, entry in store.unpublished()] == ["g1/2", "g1/3"]
    assert store.command_seen("c-1")
    assert not store.command_seen("c-2")
    up_to, lines = store.history_batch(10)
    assert lines == ["a", "b"]
    store.history_written(up_to)
    assert store.history_backlog() == 0


def test_a_state_file_from_before_the_rename_keeps_its_unpublished_events(
        tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL UNIQUE, topic TEXT NOT NULL, payload BLOB NOT NULL,
            published INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX outbox_unpublished ON outbox (published, id);
        INSERT INTO outbox (event_id, topic, payload, published)
            VALUES ('g1/1', 'floodwatch/alerts/g1', x'7b7d', 1),
                   ('g1/2', 'floodwatch/alerts/g1', x'7b7d', 0);
    """)
    old.close()
    store = AlertStore(path)
    assert [entry.event_id for _, entry in store.unpublished()] == ["g1/2"]
    assert [entry.payload for entry in store.kept_publications()] == [b"{}", b"{}"]
    indexes = {row[0] for row in sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "outbox_unpublished" not in indexes


def test_unpublished_events_left_by_an_older_version_run_after_the_rename_are_kept(
        tmp_path: Path) -> None:
    path = tmp_path / "both.sqlite3"
    store = AlertStore(path)
    store.commit(Changes(states={}, clock=None, history=[], commands=[], publications=[
        EventPublication("g1/1", "floodwatch/alerts/g1", b"{}")]))
    store.close()
    older = sqlite3.connect(path)  # an older version, started again, made its own table
    older.executescript("""
        CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL UNIQUE, topic TEXT NOT NULL, payload BLOB NOT NULL,
            published INTEGER NOT NULL DEFAULT 0);
        INSERT INTO outbox (event_id, topic, payload, published)
            VALUES ('g1/1', 'floodwatch/alerts/g1', x'7b7d', 0),
                   ('g1/2', 'floodwatch/alerts/g1', x'7b7d', 0),
                   ('g1/3', 'floodwatch/alerts/g1', x'7b7d', 1);
    """)
    older.close()
    store = AlertStore(path)
    assert [entry.event_id for _, entry in store.unpublished()] == ["g1/1", "g1/2"]
    tables = {row[0] for row in sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "outbox" not in tables


def test_the_history_backlog_is_bounded_and_says_so(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.sqlite3", max_history_backlog=3)
    changes = Changes.empty()
    changes.history.extend(f"m v={n}.0 {n}" for n in range(5))
    store.commit(changes)
    with structlog.testing.capture_logs() as logs:
        assert store.history_backlog() == 3
    assert store.history_batch(10)[1] == ["m v=2.0 2", "m v=3.0 3", "m v=4.0 4"]
    assert [(e["event"], e["dropped"]) for e in logs] == [
        ("alert history backlog full; oldest lines dropped", 2)]
    store.close()

