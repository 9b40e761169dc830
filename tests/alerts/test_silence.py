"""Silence (alerts.silence): offline gauges on reading time, and one no-data alert when
the pipeline or most of a basin falls silent -- never a flood of per-gauge alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from floodwatch.alerts.engine import Engine, Outcome
from floodwatch.alerts.model import AlertType, Event, NoDataEvent
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationKind, StationRegistry
from tests.alerts.conftest import RULES_FILE, at, river, road
from tests.support import gauges_yaml

GAUGES = [f"g{n:02d}" for n in range(14)]


def basin_registry(basins: dict[str, int]) -> StationRegistry:
    """10-minute gauges, ``count`` in each basin."""
    return StationRegistry.from_yaml_text(gauges_yaml(basins, 600))


@pytest.fixture
def fourteen() -> Engine:
    registry = basin_registry({"abukuma": 14})
    return Engine(registry, AlertRules.load(RULES_FILE, registry))


def round_of(minute: float, stations: list[str]) -> list[Reading]:
    return [river(station, minute, 1.0) for station in stations]


def apply(engine: Engine, outcome: Outcome, events: list[Event],
          no_data: list[NoDataEvent]) -> None:
    events += outcome.events
    no_data += outcome.no_data_events


def run(engine: Engine, readings: list[Reading], events: list[Event],
        no_data: list[NoDataEvent]) -> None:
    for reading in readings:
        apply(engine, engine.on_reading(reading), events, no_data)


def offline(events: list[Event]) -> list[tuple[str, str]]:
    return [(e.station, e.transition.value) for e in events
            if e.alert_type is AlertType.OFFLINE]


def ingest_down_40_minutes(engine: Engine, back: list[str]
                           ) -> tuple[list[Event], list[NoDataEvent]]:
    """Every gauge reports at 00:00, then nothing arrives for 40 minutes of live ticks;
    then the broker's backlog from 00:10 brings the readings of the ``back`` gauges."""
    events: list[Event] = []
    no_data: list[NoDataEvent] = []
    run(engine, round_of(0, GAUGES), events, no_data)
    for minutes in range(1, 41):
        apply(engine, engine.on_clock(timedelta(minutes=minutes)), events, no_data)
    assert engine.clock.watermark == at(0)  # wall time never moves the clock
    assert [(e.scope, e.transition.value, e.silent, e.total) for e in no_data] == [
        ("all", "raised", 14, 14)]
    assert no_data[0].at == at(15)  # a report missed: 1.5 x 600 s after the last reading
    assert no_data[0].last_reading == at(0)
    for minute in range(10, 90, 10):
        run(engine, round_of(minute, back), events, no_data)
    return events, no_data


def test_a_silent_pipeline_is_one_no_data_alert_and_its_backlog_raises_nothing(
        fourteen: Engine) -> None:
    events, no_data = ingest_down_40_minutes(fourteen, GAUGES)
    assert offline(events) == []
    assert [(e.scope, e.transition.value) for e in no_data] == [
        ("all", "raised"), ("all", "cleared")]
    assert no_data[1].alert_id == no_data[0].alert_id == no_data[0].event_id
    assert no_data[1].at == at(15)  # never before its raise
    assert fourteen.no_data.open == {}


def test_a_gauge_really_silent_through_the_outage_is_found_on_reading_time(
        fourteen: Engine) -> None:
    events, no_data = ingest_down_40_minutes(fourteen, GAUGES[1:])  # g00 never again
    assert offline(events) == [("g00", "raised")]
    raised = next(e for e in events if e.alert_type is AlertType.OFFLINE)
    assert raised.at == at(30)  # its own due time: 3 x interval after its last reading
    assert [e.transition.value for e in no_data] == ["raised", "cleared"]


def test_readings_resuming_without_a_backlog_do_not_blame_the_gauges(
        fourteen: Engine) -> None:
    events: list[Event] = []
    no_data: list[NoDataEvent] = []
    run(fourteen, round_of(0, GAUGES), events, no_data)
    apply(fourteen, fourteen.on_clock(timedelta(hours=2)), events, no_data)
    # The broker lost the backlog: readings resume two hours later, a few at a time.
    for minute in (120, 121, 122):
        run(fourteen, [river(g, minute, 1.0) for g in GAUGES[1:]
                       if int(g[1:]) % 3 == minute % 3], events, no_data)
    assert offline(events) == []
    assert [e.transition.value for e in no_data] == ["raised", "cleared"]
    # g00 never came back: offline three intervals after the flow resumed, not at once
    # (the two hours between were lost, not silent).
    for minute in range(130, 200, 10):
        run(fourteen, round_of(minute, GAUGES[1:]), events, no_data)
    assert offline(events) == [("g00", "raised")]
    assert next(e for e in events if e.alert_type is AlertType.OFFLINE).at == at(150)


def test_one_dead_gauge_among_reporting_neighbours_is_offline_not_no_data(
        fourteen: Engine) -> None:
    events: list[Event] = []
    no_data: list[NoDataEvent] = []
    run(fourteen, round_of(0, GAUGES), events, no_data)
    for minute in range(10, 70, 10):
        run(fourteen, round_of(minute, GAUGES[:-1]), events, no_data)
        apply(fourteen, fourteen.on_clock(timedelta(minutes=5)), events, no_data)
    assert offline(events) == [("g13", "raised")]
    assert no_data == []


def test_most_of_one_basin_silent_is_one_basin_alert() -> None:
    registry = basin_registry({"abukuma": 10, "ara": 4})
    engine = Engine(registry, AlertRules.load(RULES_FILE, registry))
    abukuma, ara = GAUGES[:10], GAUGES[10:]
    events: list[Event] = []
    no_data: list[NoDataEvent] = []
    run(engine, round_of(0, GAUGES), events, no_data)
    # Ara's link goes down after minute 0 (three of its four gauges); Abukuma reports on.
    for minute in range(10, 60, 10):
        run(engine, round_of(minute, [*abukuma, ara[0]]), events, no_data)
    assert offline(events) == []
    assert [(e.scope, e.transition.value, e.stations) for e in no_data] == [
        ("basin/ara", "raised", tuple(ara[1:]))]
    assert no_data[0].at == at(20)  # each had missed a report (00:15)
    # The link comes back without the lost readings.
    run(engine, round_of(60, GAUGES), events, no_data)
    assert [(e.scope, e.transition.value) for e in no_data] == [
        ("basin/ara", "raised"), ("basin/ara", "cleared")]
    assert offline(events) == []


def test_a_dead_gauge_does_not_make_its_basin_look_mostly_silent(engine: Engine) -> None:
    # Three stations: u1 never reports and goes offline on its own; later g2 stops too.
    # One of the two left is not "most": g2 is offline, not a no-data alert.
    readings = [river(g, minute, 0.5) for minute in (0, 10, 20) for g in ("g1", "g2")]
    readings += [river("g1", minute, 0.5) for minute in range(30, 90, 10)]
    outcomes = [engine.on_reading(reading) for reading in readings]
    assert [(e.station, e.at) for o in outcomes for e in o.events
            if e.alert_type is AlertType.OFFLINE] == [("u1", at(15)), ("g2", at(50))]
    assert all(not o.no_data_events for o in outcomes)


def test_no_data_survives_a_restart_and_clears_once(fourteen: Engine) -> None:
    run(fourteen, round_of(0, GAUGES), [], [])
    raised = fourteen.on_clock(timedelta(minutes=31))
    assert [e.transition.value for e in raised.no_data_events] == ["raised"]
    assert raised.no_data is not None
    resumed = Engine(fourteen.registry, fourteen.rules, fourteen.states, fourteen.clock,
                     raised.no_data)
    assert resumed.on_clock(timedelta(minutes=45)).no_data_events == []  # still open
    cleared = resumed.on_reading(river("g03", 10, 1.0))
    assert [(e.transition.value, e.alert_id) for e in cleared.no_data_events] == [
        ("cleared", raised.no_data_events[0].alert_id)]


def test_a_road_sensor_silent_with_the_rivers_reporting_is_offline(engine: Engine) -> None:
    readings: list[Reading] = [road("u1", 0, water_depth_cm=0.0)]
    readings += [river(g, minute, 0.5) for minute in range(0, 40, 10) for g in ("g1", "g2")]
    events = [e for r in readings for e in engine.on_reading(r).events]
    assert [(e.station, e.transition.value, e.at) for e in events
            if e.alert_type is AlertType.OFFLINE] == [("u1", "raised", at(15))]
    assert engine.on_reading(Reading("u1", StationKind.ROAD, at(41), {"water_depth_cm": 0.0},
                                     "device", at(41))).events[0].transition.value == "cleared"


def test_a_station_silent_a_moment_after_the_raise_joins_the_open_alert(
        fourteen: Engine) -> None:
    run(fourteen, round_of(0, GAUGES[:-1]), [], [])
    run(fourteen, [river(GAUGES[-1], 2, 1.0)], [], [])  # its reading came two minutes late
    raised = fourteen.on_clock(timedelta(minutes=13))  # the clock is at 00:02 + 13
    assert [(e.transition.value, e.silent) for e in raised.no_data_events] == [
        ("raised", 13)]
    wider = fourteen.on_clock(timedelta(minutes=16))
    assert wider.no_data_events == []  # the same alert, no second event
    assert wider.no_data is not None
    assert wider.no_data.open["all"].stations == tuple(GAUGES)
    assert fourteen.silence.covering(GAUGES[-1]) is not None
    assert offline(wider.events) == []


def test_a_basin_whose_gauges_report_at_different_minutes_is_one_basin_alert() -> None:
    registry = basin_registry({"abukuma": 10, "ara": 4})
    engine = Engine(registry, AlertRules.load(RULES_FILE, registry))
    abukuma, ara = GAUGES[:10], GAUGES[10:]
    offsets = dict(zip(ara, (0.5, 3.5, 6.5, 9.5), strict=True))
    events: list[Event] = []
    no_data: list[NoDataEvent] = []
    readings = [river(g, 0, 1.0) for g in abukuma]
    readings += [river(g, offset, 1.0) for g, offset in offsets.items()]
    # Ara's link fails after 00:10; its gauges' last reports were minutes apart.
    for minute in range(10, 60, 10):
        readings += [river(g, minute, 1.0) for g in abukuma]
    run(engine, sorted(readings, key=lambda r: r.ts), events, no_data)
    assert offline(events) == []
    assert [(e.scope, e.transition.value, e.stations) for e in no_data] == [
        ("basin/ara", "raised", tuple(ara))]


def test_a_no_data_alert_of_a_basin_no_longer_in_the_registry_is_cleared(
        fourteen: Engine) -> None:
    from floodwatch.alerts.state import NoDataState, NoDataTrack

    saved = NoDataState(seq=3, open={"basin/gone": NoDataTrack(
        alert_id="no_data:basin/gone/3", raised_at=at(0), stations=("x1",),
        last_reading=at(0))})
    engine = Engine(fourteen.registry, fourteen.rules, no_data=saved)
    outcome = engine.on_reading(river("g00", 0, 1.0))  # no KeyError: evaluated
    assert [(e.scope, e.transition.value) for e in outcome.no_data_events] == [
        ("basin/gone", "cleared")]
    assert engine.no_data.open == {}


def test_what_is_decided_never_depends_on_where_the_engine_restarted(engine: Engine) -> None:
    # The same inputs give the same events whether or not the engine restarts between.
    def events_of(engine_in: Engine, restart_at: int | None) -> list[tuple[str, str]]:
        current = engine_in
        seen = []
        readings = [river(g, m, 0.5) for m in range(0, 60, 1) for g in ("g1", "g2")
                    if m % 10 == 0]
        # u1 (every 5 min) is back at 00:21, then silent until 00:39, past its due time
        # (00:36) but before any other reading shows it: the sweep's schedule must not
        # make the answer depend on where the engine restarted.
        readings += [road("u1", 21, water_depth_cm=0.0), road("u1", 39, water_depth_cm=0.0)]
        for index, reading in enumerate(sorted(readings, key=lambda r: r.ts)):
            if index == restart_at:
                current = Engine(current.registry, current.rules, current.states,
                                 current.clock, current.no_data)
            seen += [(e.station, e.transition.value)
                     for e in current.on_reading(reading).events
                     if e.alert_type is AlertType.OFFLINE]
        return seen

    without = events_of(Engine(engine.registry, engine.rules), None)
    assert without[:2] == [("u1", "raised"), ("u1", "cleared")]
    for restart_at in range(1, 18):
        assert events_of(Engine(engine.registry, engine.rules), restart_at) == without, \
            restart_at


def test_a_restart_during_an_outage_keeps_the_no_data_alert_open(fourteen: Engine) -> None:
    run(fourteen, round_of(0, GAUGES), [], [])
    raised = fourteen.on_clock(timedelta(minutes=20))
    assert raised.no_data is not None
    # Restarted: the tick counts from the restart, a few seconds, as if data had just come.
    restarted = Engine(fourteen.registry, fourteen.rules, fourteen.states, fourteen.clock,
                       raised.no_data)
    assert restarted.on_clock(timedelta(seconds=30)).no_data_events == []
    assert list(restarted.no_data.open) == ["all"]
    cleared = restarted.on_reading(river("g00", 10, 1.0))  # data again: that clears it
    assert [e.transition.value for e in cleared.no_data_events] == ["cleared"]
