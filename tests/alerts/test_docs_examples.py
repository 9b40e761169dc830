"""The worked examples of docs/alerts.md, replayed through the engine.

Each test feeds the readings (and commands) an example shows to the pure Engine, with
the sample registry (config/stations.yaml) and the shipped rules, and asserts the
events, times and numbers its text states: the documentation cannot drift from the code.
The examples list one alert type's events each, so the tests filter by alert type.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest

from floodwatch.alerts import history
from floodwatch.alerts.commands import parse_command
from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import AlertType, Event, NoDataEvent, Transition
from floodwatch.alerts.river import rate_m_per_h
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.readings import FieldValue, Reading
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import RULES_FILE, T0, at, river, road
from tests.alerts.test_silence import GAUGES, basin_registry, round_of
from tests.support import REPO_ROOT

Row = tuple[str, str, int, bool]  # time, transition, level, confirmed


@pytest.fixture(scope="module")
def samples() -> StationRegistry:
    return StationRegistry.load(REPO_ROOT / "config" / "stations.yaml")


@pytest.fixture
def engine(samples: StationRegistry) -> Engine:
    return Engine(samples, AlertRules.load(RULES_FILE, samples))


def minutes(hh_mm: str) -> int:
    hours, mins = hh_mm.split(":")
    return int(hours) * 60 + int(mins)


def clock(moment: datetime) -> str:
    total = int((moment - T0).total_seconds()) // 60
    return f"{total // 60:02d}:{total % 60:02d}"


def every(step_min: int, start: str, values: Iterable[float]) -> list[tuple[int, float]]:
    return [(minutes(start) + i * step_min, value) for i, value in enumerate(values)]


def rows(events: Iterable[Event], alert_type: AlertType) -> list[Row]:
    return [(clock(e.at), e.transition.value, e.level, e.confirmed)
            for e in events if e.alert_type is alert_type]


def own(engine: Engine, reading: Reading) -> list[Event]:
    """The reading's station's events (the other sample stations, never heard from, go
    offline or silent meanwhile: not part of the example)."""
    return [e for e in engine.on_reading(reading).events if e.station == reading.station]


def hold_since(engine: Engine, station: str, alert_type: AlertType) -> str | None:
    track = engine.states[station].alerts.get(alert_type)
    if track is None or track.below_since is None:
        return None
    return clock(track.below_since)


def flooding_command(engine: Engine, when: str, action: str) -> list[Event]:
    body = {"command_id": f"c-{action}", "issued_at": at(minutes(when)).isoformat(),
            "officer": "sato", "action": action}
    command = parse_command("floodwatch/commands/flooding/motomiya",
                            json.dumps(body).encode(), engine.registry)
    return engine.on_command(command).events


def test_lifecycle_deadband_hold_deescalation_and_clear(engine: Engine) -> None:
    levels = [3.80, 4.60, 4.45, 4.55, 4.52, 4.35, 4.42, 4.30, 4.10, 3.80, 3.60, 3.35,
              3.30, 3.25, 3.20]
    events: list[Event] = []
    hold: dict[str, str | None] = {}
    for minute, level in every(10, "00:00", levels):
        events += own(engine, river("motomiya", minute, level))
        hold[clock(at(minute))] = hold_since(engine, "motomiya", AlertType.RIVER_LEVEL)
    assert rows(events, AlertType.RIVER_LEVEL) == [
        ("00:00", "raised", 1, False),
        ("00:10", "confirmed", 1, True), ("00:10", "escalated", 2, False),
        ("00:40", "confirmed", 2, True),  # 4.45 at 00:20 disagreed: 4.55, 4.52 agree
        ("01:40", "deescalated", 1, True),
        ("02:20", "cleared", 0, True)]
    # 4.45 is below 4.50 but within its deadband: no hold timer. 4.35 starts one,
    # 4.42 resets it, 4.30 starts it again; then below standby's 3.40 from 01:50.
    assert [hold[t] for t in ("00:20", "00:50", "01:00", "01:10", "01:30", "01:50",
                              "02:10")] == [None, "00:50", None, "01:10", "01:10",
                                            "01:50", "01:50"]
    assert [row[:2] for row in rows(events, AlertType.RATE_OF_RISE)
            if row[1] != "confirmed"] == [("00:20", "raised"), ("01:40", "cleared")]


def test_rate_of_rise(engine: Engine) -> None:
    levels = [2.00, 2.05, 2.15, 2.30, 2.40, 2.45, 2.48, 2.50, 2.50, 2.50, 2.50, 2.50]
    rule = engine.rules.river("motomiya").rate_of_rise
    events: list[Event] = []
    rates: dict[str, float | None] = {}
    hold: dict[str, str | None] = {}
    for minute, level in every(10, "00:00", levels):
        events += own(engine, river("motomiya", minute, level))
        when = clock(at(minute))
        rates[when] = rate_m_per_h(engine.states["motomiya"].window, rule)
        hold[when] = hold_since(engine, "motomiya", AlertType.RATE_OF_RISE)
    assert rows(events, AlertType.RATE_OF_RISE) == [
        ("00:30", "raised", 1, False), ("00:40", "confirmed", 1, True),
        ("01:50", "cleared", 0, True)]
    assert rows(events, AlertType.RIVER_LEVEL) == []  # below standby all along
    assert rates["00:10"] is None  # the window spans 10 min < min_span_s
    assert [rates[t] for t in ("00:20", "00:30", "00:40", "01:10", "01:20", "01:50")] \
        == pytest.approx([0.45, 0.60, 0.60, 0.45, 0.35, 0.05])
    assert (hold["01:10"], hold["01:20"], hold["01:40"]) == (None, "01:20", "01:20")
    raised = events[0]
    assert raised.detail["rate_m_per_h"] == pytest.approx(0.6)
    assert raised.projection is not None
    assert (raised.projection.level, raised.projection.minutes) == (1, 120)


def test_offline_one_silent_gauge_while_its_neighbours_report(engine: Engine) -> None:
    events: list[Event] = []
    no_data: list[NoDataEvent] = []
    raised_by = None
    for minute in range(minutes("09:00"), minutes("11:00") + 1, 5):
        for station in engine.registry:
            silent = station.id == "nihonmatsu" \
                and minutes("10:00") < minute < minutes("10:50")
            if minute % (station.interval_s // 60) or silent:
                continue
            reading: Reading = river(station.id, minute, 0.50) \
                if station.kind.value == "river" else \
                road(station.id, minute, water_depth_cm=0.0, surface_temp_c=10.0,
                     surface_state="dry")
            outcome = engine.on_reading(reading)
            if outcome.events and raised_by is None:
                raised_by = (reading.station, clock(reading.ts))
            events += outcome.events
            no_data += outcome.no_data_events
    assert {e.station for e in events} == {"nihonmatsu"}
    assert no_data == []  # one gauge of fourteen: offline, not "no data"
    assert rows(events, AlertType.OFFLINE) == [("10:30", "raised", 1, True),
                                               ("10:50", "cleared", 0, True)]
    assert raised_by == ("sukagawa", "10:30")  # the first reading stamped 10:30
    raised, cleared = events
    assert raised.cause.kind == "clock"
    assert raised.detail == {"silent_s": 1800.0, "interval_s": 600.0,
                             "last_reading": "2026-10-12T10:00:00Z"}
    assert cleared.cause.kind == "reading"


def test_road_flooding(engine: Engine) -> None:
    depths = [4, 11, 22, 25, 18, 16, 14, 13, 12, 6, 4, 2, 1]
    events: list[Event] = []
    hold: dict[str, str | None] = {}
    for minute, depth in every(5, "10:00", depths):
        reading = road("koriyama-r4-underpass", minute, water_depth_cm=float(depth))
        events += own(engine, reading)
        hold[clock(at(minute))] = hold_since(engine, "koriyama-r4-underpass",
                                             AlertType.ROAD_FLOODING)
    assert rows(events, AlertType.ROAD_FLOODING) == [
        ("10:05", "raised", 1, False),
        ("10:10", "confirmed", 1, True), ("10:10", "escalated", 2, False),
        ("10:15", "confirmed", 2, True),
        ("10:40", "deescalated", 1, True),
        ("11:00", "cleared", 0, True)]
    assert [hold[t] for t in ("10:20", "10:25", "10:35", "10:45", "10:55")] == [
        None, "10:25", "10:25", "10:45", "10:45"]


def test_road_icing(engine: Engine) -> None:
    surface: list[tuple[int, float, str]] = [
        (minutes("05:00"), 2.5, "wet"), (minutes("05:10"), 0.8, "wet"),
        (minutes("05:20"), 0.2, "wet"), (minutes("05:30"), -0.4, "ice"),
        *[(minute, -0.6, "ice") for minute in range(minutes("05:40"), minutes("07:00"), 10)],
        *[(minute, temp, "wet") for minute, temp in
          every(10, "07:00", [1.2, 1.5, 1.6, 1.8, 2.5, 2.8])],
        (minutes("08:00"), 3.0, "dry"), (minutes("08:10"), 3.2, "dry")]
    events: list[Event] = []
    hold: dict[str, str | None] = {}
    for minute, temp, state in surface:
        reading = road("tsuchiyu-pass", minute, surface_temp_c=temp, surface_state=state)
        events += own(engine, reading)
        hold[clock(at(minute))] = hold_since(engine, "tsuchiyu-pass",
                                             AlertType.ROAD_ICING)
    assert rows(events, AlertType.ROAD_ICING) == [
        ("05:10", "raised", 1, False), ("05:20", "confirmed", 1, True),
        ("05:30", "escalated", 2, False), ("05:40", "confirmed", 2, True),
        ("07:30", "deescalated", 1, True),
        ("08:10", "cleared", 0, True)]
    assert [hold[t] for t in ("06:50", "07:00", "07:20", "07:40", "08:00")] == [
        None, "07:00", "07:00", "07:40", "07:40"]


def test_flooding_declared_and_ended_by_an_officer(engine: Engine) -> None:
    def readings(start: str, levels: list[float]) -> list[Event]:
        events: list[Event] = []
        for minute, level in every(10, start, levels):
            events += own(engine, river("motomiya", minute, level))
        return events

    rising = readings("02:00", [5.40, 5.85, 6.10])
    declared = flooding_command(engine, "02:25", "declare")
    held = readings("02:30", [6.25, 6.15, 5.95, 5.50])
    ended = flooding_command(engine, "03:05", "end")
    assert rows(rising, AlertType.RIVER_LEVEL) == [
        ("02:00", "raised", 3, False),
        ("02:10", "confirmed", 3, True), ("02:10", "escalated", 4, False),
        ("02:20", "confirmed", 4, True)]
    assert rows(rising, AlertType.RATE_OF_RISE) == [("02:20", "raised", 1, False)]
    assert rows(declared, AlertType.RIVER_LEVEL) == [("02:25", "escalated", 5, True)]
    assert (declared[0].cause.kind, declared[0].cause.officer) == ("command", "sato")
    assert rows(held, AlertType.RIVER_LEVEL) == []  # below 7.00 m, yet it holds
    assert rows(ended, AlertType.RIVER_LEVEL) == [("03:05", "deescalated", 3, True)]
    assert ended[0].detail["level_m"] == 5.50


def test_every_tag_and_field_written_to_influxdb_is_documented(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    written: dict[str, set[str]] = {}

    def record(measurement: str, tags: dict[str, str],
               fields: dict[str, FieldValue | int | bool], _ns: int) -> str:
        written.setdefault(measurement, set()).update(tags, fields)
        return ""

    monkeypatch.setattr(history, "format_point", record)
    station = engine.registry.get("motomiya")
    assert station is not None
    events: list[Event] = []
    for minute, level in every(10, "00:00", [2.00, 2.05, 2.15, 2.30, 45.0]):
        outcome = engine.on_reading(river("motomiya", minute, level))
        events += outcome.events
        for flagged in outcome.flags:
            history.flag_line(flagged, station)
    projected = next(e for e in events if e.projection is not None)
    history.history_line(projected, station, engine.rules.labels, b"{}", b"<alert/>")
    history.no_data_history_line(NoDataEvent(
        scope="all", seq=1, alert_id="no_data:all/1", transition=Transition.RAISED,
        at=at(30), stations=("motomiya",), silent=1, total=1, last_reading=at(0)), b"{}")
    assert set(written) == {"alert_event", "reading_flag", "no_data_event"}
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    docs = (REPO_ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
    for measurement, names in written.items():
        (row,) = [line for line in readme if line.startswith(f"| `{measurement}` |")]
        section = docs.split(f"## InfluxDB: measurement `{measurement}`\n")[1]
        section = section.split("\n## ")[0]
        for name in names:
            assert f"`{name}`" in row, f"README's InfluxDB schema: {measurement}.{name}"
            assert f"`{name}`" in section, f"docs/alerts.md: {measurement}.{name}"


def test_no_data_event_lines_of_the_silence_example() -> None:
    registry = basin_registry({"abukuma": 14})
    fourteen = Engine(registry, AlertRules.load(RULES_FILE, registry))
    for reading in round_of(minutes("10:00"), GAUGES):
        fourteen.on_reading(reading)
    no_data = [event for elapsed in range(1, 41)
               for event in fourteen.on_clock(timedelta(minutes=elapsed)).no_data_events]
    for reading in round_of(minutes("10:10"), GAUGES):
        no_data += fourteen.on_reading(reading).no_data_events
    lines = [history.no_data_history_line(event, b"{}") for event in no_data]
    ten_fifteen_ns = int(at(minutes("10:15")).timestamp()) * 1_000_000_000
    assert lines == [
        'no_data_event,scope=all,transition=raised event_id="no_data:all/1",'
        f'alert_id="no_data:all/1",silent=14i,total=14i,payload="{{}}" {ten_fifteen_ns + 1}',
        'no_data_event,scope=all,transition=cleared event_id="no_data:all/2",'
        f'alert_id="no_data:all/1",silent=0i,total=14i,payload="{{}}" {ten_fifteen_ns + 2}']
