"""forecast.gauges in process: which readings issue which forecasts, and what they are
issued from (the real Forecaster and quality checks, no broker)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from floodwatch.core.quality_rules import river_quality
from floodwatch.forecast.forecaster import Forecaster
from floodwatch.forecast.gauges import Gauges
from floodwatch.forecast.history import GaugeHistory, Observation
from floodwatch.forecast.inputs import InputKind, InputSpec
from floodwatch.forecast.issued import Forecast
from floodwatch.forecast.model import LEADS_MIN, FittedModels, GaugeModel, StationModels
from tests.forecast.stage_support import (
    RULES_FILE,
    T0,
    at,
    registry,
    rising,
    river,
    upstream_models,
)


def gauges(models: FittedModels | None = None) -> Gauges:
    stations = registry()
    return Gauges(stations, river_quality(RULES_FILE, stations),
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


def upstream_rain_models() -> FittedModels:
    """A hand-made model of "down" that reads "up"'s rain over the last hour (1 cm of
    rise per mm at every lead): any rain "up" reports moves "down"'s forecast."""
    rain = InputSpec(name="rain:up:1h", detail="rain at up over the last hour",
                     kind=InputKind.RAIN, station="up", recent_s=0.0, span_s=3600.0)
    count = len(LEADS_MIN)
    model = GaugeModel(inputs=[rain], intercepts=[0.0] * count, weights=[[0.01]] * count,
                       low_quantiles=[-1.0] * count, high_quantiles=[1.0] * count,
                       mid_quantiles=[0.0] * count, samples=100, rmse_m=[0.1] * count)
    return FittedModels(fitted_at=T0, gauges={"down": StationModels(full=model)})


def flagged_count(field: str, reason: str) -> float:
    value = REGISTRY.get_sample_value("floodwatch_forecast_flagged_inputs_total",
                                      {"field": field, "reason": reason})
    return value or 0.0


def test_an_upstream_rain_spike_never_enters_the_downstream_forecast() -> None:
    state = gauges(upstream_rain_models())
    spike_minute = 60
    before = flagged_count("rain_mm", "out_of_range")
    issued: list[Forecast] = []
    for step in range(9):
        minute = 10 * step
        rain = 400.0 if minute == spike_minute else 1.0
        up = state.on_reading(river("up", minute, 1.0 + 0.01 * step, rain))
        if minute == spike_minute:
            # The rain is flagged; the level is good and still issues "up"'s forecast.
            assert up.ignored is None
            assert up.rain_flag is not None
            assert up.rain_flag.reason.value == "out_of_range"
            assert up.flag is None
            assert [f.station for f in up.forecasts][:1] == ["up"]
            assert state.histories["up"].newest == Observation(
                at(minute), 1.0 + 0.01 * step, None)
        else:
            assert up.rain_flag is None
        issued += [f for f in up.forecasts if f.station == "down"]
        issued += state.on_reading(river("down", minute, 2.0, 0.0)).forecasts
    assert flagged_count("rain_mm", "out_of_range") == before + 1
    downstream = [f for f in issued if f.station == "down" and f.method == "model"]
    assert [f.issued_at for f in downstream] == [at(m) for m in range(60, 81, 10)]
    for forecast in downstream:
        (rain_input,) = forecast.inputs
        assert rain_input.name == "rain:up:1h"
        # 1 mm per report over the hour: six reports, the flagged one counting none.
        assert rain_input.value == 5.0, forecast.issued_at
        assert rain_input.value < 400
        assert forecast.points[-1].level_m == 2.0 + 0.01 * 5.0


def test_a_warmed_rain_spike_is_left_out_and_its_level_kept() -> None:
    state = gauges()
    stored = [(at(10 * step), 1.0 + 0.01 * step, 400.0 if step == 3 else 0.5)
              for step in range(6)]
    assert state.warm("side", stored) == 1
    history = state.histories["side"]
    assert len(history) == 6  # the level of the flagged rain's reading counts
    assert history.observations()[3] == Observation(at(30), 1.03, None)
    assert history.rain_between(at(-1).timestamp(), at(50).timestamp()) == 2.5
