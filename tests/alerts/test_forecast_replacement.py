"""A forecast re-issued on the same reading (the same ``issued_at``, a later ``made_at``):
the forecast stage does it for a downstream gauge when its upstream gauge's reading of
the same tick arrives after its own (forecast/gauges.py). The engine evaluates the
replacement -- raise, escalate, update, lower -- but counts it in place of the forecast
it replaces, never as a second agreeing one; the same or an older ``made_at`` is a
duplicate. Exact event sequences through the pure engine."""

from __future__ import annotations

from pathlib import Path

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import AlertType
from floodwatch.alerts.state import ForecastMemory
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import at, restart, river, rules_with
from tests.alerts.forecasts import forecast, told, warnings


def test_a_later_made_forecast_of_the_same_reading_is_evaluated(engine: Engine) -> None:
    engine.on_reading(river("g1", 0, 2.5))
    # Made before the upstream reading of the tick arrived: flat, nothing expected.
    first = engine.on_forecast(forecast("g1", 0, 2.5, 0.0, made_s=1))
    assert (first.ignored, first.events) == (None, [])
    # Re-issued once it arrived: danger at +150 min.
    again = engine.on_forecast(forecast("g1", 0, 2.5, 0.6, made_s=5))
    assert again.ignored is None
    assert told(warnings(again.events)) == [("raised", 4, 150.0)]
    assert warnings(again.events)[0].at == at(0)
    # The same made_at again (a retained message redelivered), or an older one (the
    # first, late): duplicates.
    for made_s in (5, 1):
        repeated = engine.on_forecast(forecast("g1", 0, 2.5, 0.6, made_s=made_s))
        assert (repeated.ignored, repeated.events) == ("duplicate", [])
    memory = engine.states["g1"].forecast
    assert memory is not None
    assert memory.made_at is not None
    assert (memory.made_at - at(0)).total_seconds() == 5


def test_a_replacement_never_confirms_what_its_forecast_raised(engine: Engine) -> None:
    # confirmation.readings is 2: two forecasts in a row, not one forecast twice.
    engine.on_reading(river("g1", 0, 2.5))
    raised = warnings(engine.on_forecast(forecast("g1", 0, 2.5, 0.6, made_s=1)).events)
    assert told(raised) == [("raised", 4, 150.0)]
    replaced = engine.on_forecast(forecast("g1", 0, 2.5, 0.65, made_s=9))
    assert (replaced.ignored, warnings(replaced.events)) == (None, [])
    track = engine.states["g1"].alerts[AlertType.FORECAST]
    assert (track.confirmed, track.agreeing) == (False, 1)
    engine.on_reading(river("g1", 10, 2.6))
    later = warnings(engine.on_forecast(forecast("g1", 10, 2.6, 0.6, made_s=1)).events)
    assert told(later) == [("confirmed", 4, 140.0)]


def test_a_replacement_counts_in_place_of_the_forecast_it_replaces(
        registry: StationRegistry) -> None:
    rules = rules_with(registry, "stations: {g1: {forecast: {confirm_forecasts: 2}}}")
    engine = Engine(registry, rules)
    engine.on_reading(river("g1", 0, 2.5))
    for made_s, rate in ((1, 0.6), (5, 0.6), (9, 0.6)):  # one forecast over danger, thrice
        assert warnings(engine.on_forecast(forecast("g1", 0, 2.5, rate,
                                                    made_s=made_s)).events) == []
    engine.on_reading(river("g1", 10, 2.6))
    # Flat first, then re-issued over danger: the tick counts once, as its replacement.
    assert warnings(engine.on_forecast(forecast("g1", 10, 2.6, 0.0, made_s=1)).events) == []
    second = warnings(engine.on_forecast(forecast("g1", 10, 2.6, 0.6, made_s=5)).events)
    assert told(second) == [("raised", 4, 140.0)]
    assert second[0].at == at(10)


def test_a_replacement_escalates_and_updates(engine: Engine) -> None:
    engine.on_reading(river("g1", 0, 2.5))
    # Evacuation (3.0) at +100 min; replaced: danger (4.0) at +150.
    assert told(warnings(engine.on_forecast(forecast("g1", 0, 2.5, 0.3, made_s=1)).events)) \
        == [("raised", 3, 100.0)]
    escalated = warnings(engine.on_forecast(forecast("g1", 0, 2.5, 0.6, made_s=5)).events)
    assert told(escalated) == [("escalated", 4, 150.0)]
    # Replaced again, faster: danger at +75, 75 min earlier than told.
    updated = warnings(engine.on_forecast(forecast("g1", 0, 2.5, 1.2, made_s=9)).events)
    assert told(updated) == [("updated", 4, 75.0)]


def test_a_replacement_lowers_when_the_hold_allows(registry: StationRegistry) -> None:
    engine = Engine(registry, rules_with(registry, "stations: {g1: {forecast: {hold_s: 0}}}"))
    engine.on_reading(river("g1", 0, 2.5))
    assert told(warnings(engine.on_forecast(forecast("g1", 0, 2.5, 0.6, made_s=1)).events)) \
        == [("raised", 4, 150.0)]
    lowered = warnings(engine.on_forecast(forecast("g1", 0, 2.5, 0.3, made_s=5)).events)
    assert told(lowered) == [("deescalated", 3, 100.0)]
    cleared = warnings(engine.on_forecast(forecast("g1", 0, 2.5, 0.0, made_s=9)).events)
    assert told(cleared) == [("cleared", 0, None)]


def test_made_at_survives_a_restart_and_old_states_load_without_it(
        engine: Engine, tmp_path: Path) -> None:
    engine.on_reading(river("g1", 0, 2.5))
    engine.on_forecast(forecast("g1", 0, 2.5, 0.6, made_s=3))
    restarted = restart(engine, tmp_path)
    assert restarted.on_forecast(forecast("g1", 0, 2.5, 0.6, made_s=3)).ignored == "duplicate"
    replaced = restarted.on_forecast(forecast("g1", 0, 2.5, 0.6, made_s=4))
    assert (replaced.ignored, warnings(replaced.events)) == (None, [])
    assert not restarted.states["g1"].alerts[AlertType.FORECAST].confirmed
    # Saved before made_at was kept: a forecast of the same issue time stays a duplicate.
    old = ForecastMemory.model_validate({"issued_at": "2026-10-12T00:00:00Z"})
    assert (old.made_at, old.up_before, old.agreeing_before, old.level_before) == \
        (None, 0, 0, 0)
    state = restarted.states["g1"]
    restarted.states["g1"] = state.model_copy(update={"forecast": old})
    assert restarted.on_forecast(forecast("g1", 0, 2.5, 0.6, made_s=60)).ignored \
        == "duplicate"
