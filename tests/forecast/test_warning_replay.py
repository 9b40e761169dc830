"""The benchmark's replay through the real alert engine (bench/forecast_warnings.py):
hand-made readings and forecasts at three gauges of the sample registry, the shipped
rules, and the engine's own events scored as a hit with its lead, a false warning and
a missed crossing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.forecast_warnings import (
    EngineSkill,
    WarningReplay,
    load_rules,
    score_gauge,
    shuffled_ticks,
)
from floodwatch.core import bus
from floodwatch.core.readings import Reading, format_ts
from floodwatch.core.registry import StationKind, StationRegistry

START = datetime(2026, 10, 12, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def message(station: str, minutes: int, level: float, rate_m_per_h: float
            ) -> bus.ForecastMessage:
    """A straight-line forecast with no band (its lower bound is its median)."""
    points = [bus.ForecastPointMessage(
        lead_min=lead, at=format_ts(at(minutes + lead)),
        level_m=round(level + rate_m_per_h * lead / 60, 4),
        low_m=round(level + rate_m_per_h * lead / 60, 4),
        high_m=round(level + rate_m_per_h * lead / 60, 4)) for lead in range(10, 190, 10)]
    return bus.ForecastMessage(
        station=station, issued_at=format_ts(at(minutes)), made_at=format_ts(at(minutes)),
        level_m=level, method="model", inputs=[], points=points, crossings=[])


def test_a_hand_made_storm_scores_a_hit_a_false_warning_and_a_miss(
        sample_registry: StationRegistry) -> None:
    rules = load_rules(sample_registry)  # as shipped: 3 h horizons (no band: any bound)
    assert load_rules(sample_registry, bound="median").river("motomiya").forecast.bound \
        == "median"
    replay = WarningReplay(sample_registry, {"low": rules})
    for minutes in range(0, 370, 10):
        # motomiya (evacuation 5.30, danger 5.80) rises 0.36 m/h and is forecast to;
        # nihonmatsu (evacuation 5.50) stays near 5.0 m, forecast to rise 0.3 m/h;
        # fushiguro (evacuation 5.20, danger 6.00) rises as motomiya, forecast flat.
        gauges = (("motomiya", round(4.65 + 0.006 * minutes, 3), 0.36),
                  ("nihonmatsu", 5.0 if minutes % 20 else 5.02, 0.3),
                  ("fushiguro", round(4.93 + 0.006 * minutes, 3), 0.0))
        for station, level, rate in gauges:
            replay.reading(Reading(station, StationKind.RIVER, at(minutes),
                                   {"level_m": level}, "device", at(minutes)))
            replay.forecast(message(station, minutes, level, rate))
    horizons = rules.river("motomiya").forecast.horizon_s
    events = replay.events["low"]

    # Evacuation expected at once (108 min), danger from 00:20 (172 min): both reached,
    # evacuation at 01:50 (5.31 m), danger at 03:20 (5.85 m), where the level alert
    # takes over.
    hit = score_gauge(events["motomiya"], horizons)
    assert hit.warnings == [(3, at(0), False), (4, at(20), False)]
    assert hit.crossings == [(3, at(110), 110.0), (4, at(200), 180.0)]

    # Evacuation expected in 100 min, for six hours, and never reached: one false warning.
    false = score_gauge(events["nihonmatsu"], horizons)
    assert false.warnings == [(3, at(0), True)]
    assert false.crossings == []

    # Evacuation reached at 00:50 (5.23 m), danger at 03:00 (6.01 m), never warned.
    missed = score_gauge(events.get("fushiguro", []), horizons)
    assert missed.warnings == []
    assert missed.crossings == [(3, at(50), None), (4, at(180), None)]

    skill = EngineSkill(("low",))
    skill.add("hand-made", replay, {"low": rules}, ("motomiya", "fushiguro"))
    assert skill.crossings == [("hand-made", "motomiya", 3, {"low": 110.0}),
                               ("hand-made", "motomiya", 4, {"low": 180.0}),
                               ("hand-made", "fushiguro", 3, {"low": None}),
                               ("hand-made", "fushiguro", 4, {"low": None})]
    assert (skill.warnings["low"], skill.false["low"]) == (3, 1)
    assert skill.ignored["low"] == {}


def test_each_tick_is_shuffled_with_its_seed_in_time_order() -> None:
    readings = [Reading(station, StationKind.RIVER, at(minutes), {"level_m": 1.0}, "device",
                        at(minutes))
                for minutes in range(0, 60, 10)
                for station in ("akutsu", "motomiya", "nihonmatsu", "fushiguro", "marumori")]
    first = shuffled_ticks(readings, "24:typhoon 101")
    assert shuffled_ticks(readings, "24:typhoon 101") == first  # the same every run
    assert sorted(first, key=lambda r: (r.ts, r.station)) == sorted(
        readings, key=lambda r: (r.ts, r.station))
    assert [r.ts for r in first] == sorted(r.ts for r in readings)  # ticks stay in order
    orders = {tuple(r.station for r in shuffled_ticks(readings, seed)[:5])
              for seed in ("a", "b", "c", "d")}
    assert len(orders) > 1  # an order nobody chose, not the registry's


def test_a_re_issued_forecast_reaches_the_engine_as_a_replacement(
        sample_registry: StationRegistry) -> None:
    """As the stage re-issues motomiya's forecast once the upstream reading of the tick
    came: the same issued_at, made later -- evaluated (raised), counted as re-issued."""
    rules = load_rules(sample_registry)
    replay = WarningReplay(sample_registry, {"median": rules})
    replay.reading(Reading("motomiya", StationKind.RIVER, at(0), {"level_m": 5.0}, "device",
                           at(0)))
    replay.forecast(message("motomiya", 0, 5.0, 0.0))
    again = message("motomiya", 0, 5.0, 0.6).model_copy(
        update={"made_at": format_ts(at(0) + timedelta(seconds=2))})
    replay.forecast(again)
    assert [(e.transition.value, e.level) for e in replay.events["median"]["motomiya"]
            if e.alert_type.value == "forecast"] == [("raised", 4)]
    assert replay.ignored["median"] == {}
    assert replay.reissued == 1
    replay.forecast(again)  # the same forecast delivered again: a duplicate
    assert replay.ignored["median"] == {"duplicate": 1}
