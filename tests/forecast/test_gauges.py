"""forecast.gauges in process: which readings issue which forecasts, and what they are
issued from (the real Forecaster and quality checks, no broker)."""

from __future__ import annotations

from floodwatch.core.quality_rules import river_level_quality
from floodwatch.forecast.forecaster import Forecaster
from floodwatch.forecast.gauges import Gauges
from floodwatch.forecast.history import GaugeHistory, Observation
from floodwatch.forecast.model import FittedModels
from tests.forecast.stage_support import (
    RULES_FILE,
    registry,
    rising,
    river,
    upstream_models,
)


def gauges(models: FittedModels | None = None) -> Gauges:
    stations = registry()
    return Gauges(stations, river_level_quality(RULES_FILE, stations),
                  Forecaster(stations, models))


def test_each_new_reading_issues_its_gauges_forecast_on_itself() -> None:
    state = gauges()
    for reading in rising("side", 8):
        outcome = state.on_reading(reading)
        assert [f.station for f in outcome.forecasts] == ["side"]
        (forecast,) = outcome.forecasts
        assert forecast.issued_at == reading.ts
        assert forecast.level_m == reading.values["level_m"]
        assert forecast.method == "trend"
        assert forecast.fallback is not None
        assert "no fitted models" in forecast.fallback


def test_repeated_and_older_readings_issue_nothing() -> None:
    state = gauges()
    readings = rising("side", 4)
    for reading in readings:
        state.on_reading(reading)
    assert state.on_reading(readings[-1]).ignored == "repeated"
    assert state.on_reading(readings[1]).ignored == "repeated"
    assert state.on_reading(river("u1", 50, 1.0)).ignored == "not_river"
    assert state.on_reading(river("side", 60, 1.2)).forecasts


def test_a_spike_issues_no_forecast_and_never_becomes_an_input() -> None:
    state = gauges()
    clean = rising("side", 10)
    for reading in clean[:6]:
        state.on_reading(reading)
    spike = river("side", 55, 9.5)
    outcome = state.on_reading(spike)
    assert outcome.forecasts == []
    assert outcome.ignored == "flagged"
    assert outcome.flag is not None
    assert outcome.flag.reason.value == "max_step"
    issued = [f for r in clean[6:] for f in state.on_reading(r).forecasts]
    assert [f.issued_at for f in issued] == [r.ts for r in clean[6:]]
    # Each later forecast is exactly the one made from the readings without the spike.
    for forecast, reading in zip(issued, clean[6:], strict=True):
        history = GaugeHistory.of([Observation(r.ts, float(r.values["level_m"]), None)
                                   for r in clean if r.ts <= reading.ts])
        expected = Forecaster(state.registry, None).forecast("side", {"side": history})
        assert forecast == expected


def test_a_gauge_whose_newest_reading_was_flagged_is_not_reissued_by_its_upstream() -> None:
    state = gauges(upstream_models())
    for reading in rising("down", 7) + rising("up", 7):
        state.on_reading(reading)
    assert state.on_reading(river("down", 70, 9.9)).ignored == "flagged"
    outcome = state.on_reading(river("up", 70, 1.2))
    assert [f.station for f in outcome.forecasts] == ["up"]


def test_an_upstream_reading_reissues_the_downstream_forecast_when_it_moves_it() -> None:
    state = gauges(upstream_models())
    for reading in rising("up", 7) + rising("down", 8):
        state.on_reading(reading)
    # "up" reports 10:70 late, after "down" did: "down"'s forecast at 10:70 gains it.
    outcome = state.on_reading(river("up", 70, 1.5))
    assert [f.station for f in outcome.forecasts] == ["up", "down"]
    down = outcome.forecasts[1]
    assert down.method == "model"
    assert down.issued_at == rising("down", 8)[-1].ts
    # rise of "up" over the hour to 10:70: 1.5 - 1.02 (at 10:10).
    assert abs(down.points[0].level_m - (down.level_m + 1.5 - 1.02)) < 1e-6
    # A reading of "up" that "down"'s forecast cannot see yet (it is newer than down's
    # newest) changes nothing there: only "up" is issued.
    assert [f.station for f in state.on_reading(river("up", 80, 1.6)).forecasts] == ["up"]
