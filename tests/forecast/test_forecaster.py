"""Forecaster in-process: the trend baseline, fallbacks and their reasons, crossings,
bounds, the bus message and the models' JSON round trip (hand-made models)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from floodwatch.core import bus
from floodwatch.core.registry import Station, StationRegistry
from floodwatch.forecast.forecaster import LEADS_MIN, Forecaster
from floodwatch.forecast.history import GaugeHistory, Observation
from floodwatch.forecast.inputs import HOUR_S, InputKind, InputSpec
from floodwatch.forecast.model import FittedModels, GaugeModel, Link, StationModels

START = datetime(2026, 10, 12, tzinfo=UTC)
LEADS = len(LEADS_MIN)


def history(levels: list[float], *, start: datetime = START) -> GaugeHistory:
    """Readings every 10 minutes from ``start``."""
    return GaugeHistory.of([Observation(start + timedelta(minutes=10 * i), level, 0.0)
                            for i, level in enumerate(levels)])


def model(inputs: list[InputSpec], per_input: float, *, intercept: float = 0.0
          ) -> GaugeModel:
    return GaugeModel(inputs=inputs, intercepts=[intercept] * LEADS,
                      weights=[[per_input * (i + 1) / LEADS] * len(inputs)
                               for i in range(LEADS)],
                      low_quantiles=[-0.5] * LEADS, mid_quantiles=[0.0] * LEADS,
                      high_quantiles=[0.5] * LEADS, samples=1000, rmse_m=[0.1] * LEADS)


OWN_TREND = InputSpec(name="trend", kind=InputKind.TREND, station="marumori",
                      detail="own slope")
UPSTREAM_RISE = InputSpec(name="upstream:fushiguro:next", kind=InputKind.RISE,
                          station="fushiguro", span_s=HOUR_S, detail="fushiguro's rise")


def fitted(full: GaugeModel | None, local: GaugeModel | None) -> FittedModels:
    link = Link(upstream="fushiguro", travel_s=6000, gain=1.5, correlation=0.9)
    reason = "no model: 3 h of rising water in the history, 24 h needed"
    return FittedModels(fitted_at=START, gauges={"marumori": StationModels(
        full=full, local=local, links=[link])}, no_model={"iwanuma": reason})


def test_the_trend_is_the_last_hours_slope_carried_forward(
        sample_registry: StationRegistry) -> None:
    rising = [8.0 + 0.05 * i for i in range(12)]  # 0.3 m/h
    forecast = Forecaster(sample_registry, None).forecast("marumori",
                                                          {"marumori": history(rising)})
    assert (forecast.method, forecast.fallback) == ("trend", "no fitted models yet")
    assert forecast.issued_at == START + timedelta(minutes=110)
    assert forecast.level_m == pytest.approx(8.55)
    by_lead = {point.lead_min: point for point in forecast.points}
    assert by_lead[60].level_m == pytest.approx(8.85)
    assert by_lead[180].level_m == pytest.approx(9.45)
    assert by_lead[180].low_m < by_lead[180].level_m < by_lead[180].high_m
    assert forecast.inputs[0].name == "trend"
    assert forecast.inputs[0].value == pytest.approx(0.3)
    # caution (9.50) is crossed at 9.50 - 8.55 = 0.95 m / 0.3 m/h = 190 min: beyond 3 h.
    assert forecast.crossings == ()


def test_crossings_are_where_the_median_reaches_each_level_above(
        sample_registry: StationRegistry) -> None:
    rising = [9.0 + 1 / 6 * i for i in range(7)]  # 1 m/h, 10.0 m now
    forecast = Forecaster(sample_registry, None).forecast("marumori",
                                                          {"marumori": history(rising)})
    crossings = [(c.level_name, c.minutes) for c in forecast.crossings]
    assert crossings == [("evacuation", 72), ("danger", 150)]  # 11.20 and 12.50 m
    assert forecast.crossings[0].at == forecast.issued_at + timedelta(minutes=72)


def test_thin_history_falls_back_to_the_trend_and_says_why(
        sample_registry: StationRegistry) -> None:
    models = fitted(model([OWN_TREND, UPSTREAM_RISE], 0.5), model([OWN_TREND], 0.5))
    forecaster = Forecaster(sample_registry, models)
    one = forecaster.forecast("marumori", {"marumori": history([8.0])})
    assert one.method == "trend"
    assert one.fallback is not None
    assert "fewer than two readings in the last hour: the level is held" in one.fallback
    assert all(point.level_m == 8.0 for point in one.points)
    unfitted = forecaster.forecast("iwanuma", {"iwanuma": history([3.0, 3.1])})
    assert unfitted.fallback == "no model: 3 h of rising water in the history, 24 h needed"


def test_a_silent_upstream_gauge_gives_the_model_without_it(
        sample_registry: StationRegistry) -> None:
    models = fitted(model([OWN_TREND, UPSTREAM_RISE], 0.5), model([OWN_TREND], 0.5))
    forecaster = Forecaster(sample_registry, models)
    own = history([8.0 + 0.05 * i for i in range(13)])  # 0.3 m/h up to 120 min
    upstream = history([4.0 + 0.1 * i for i in range(13)])  # 0.6 m/h, reporting
    both = forecaster.forecast("marumori", {"marumori": own, "fushiguro": upstream})
    assert (both.method, both.fallback) == ("model", None)
    assert [i.name for i in both.inputs] == ["trend", "upstream:fushiguro:next"]
    assert both.inputs[1].value == pytest.approx(0.6)
    # change at 3 h = 0.5 * trend + 0.5 * rise = 0.15 + 0.3
    assert both.points[-1].level_m == pytest.approx(8.6 + 0.45)
    assert both.fitted_at == START
    silent = history([4.0 + 0.1 * i for i in range(6)])  # nothing for the last 70 min
    without = forecaster.forecast("marumori", {"marumori": own, "fushiguro": silent})
    assert without.method == "model"
    assert without.fallback == ("model without upstream gauges: fushiguro silent for "
                                "70 min")
    assert [i.name for i in without.inputs] == ["trend"]
    assert without.points[-1].level_m == pytest.approx(8.6 + 0.15)


def test_a_model_giving_no_number_falls_back_to_the_trend(
        sample_registry: StationRegistry) -> None:
    broken = model([OWN_TREND], math.inf)
    forecast = Forecaster(sample_registry, fitted(None, broken)).forecast(
        "marumori", {"marumori": history([8.0 + 0.05 * i for i in range(12)])})
    assert forecast.method == "trend"
    assert forecast.fallback == "the model gave a level that is not a number"
    assert all(math.isfinite(p.level_m) and math.isfinite(p.low_m) and math.isfinite(p.high_m)
               for p in forecast.points)


def test_no_forecast_goes_below_the_recent_low(sample_registry: StationRegistry) -> None:
    falling = [9.0 - 0.2 * i for i in range(12)]  # 1.2 m/h down to 6.8 m
    forecast = Forecaster(sample_registry, None).forecast("marumori",
                                                          {"marumori": history(falling)})
    assert min(p.low_m for p in forecast.points) == pytest.approx(6.8 - 0.25)
    assert all(p.low_m <= p.level_m <= p.high_m for p in forecast.points)


def test_the_bus_message_carries_every_point_input_and_crossing(
        sample_registry: StationRegistry) -> None:
    forecast = Forecaster(sample_registry, None).forecast(
        "marumori", {"marumori": history([9.0 + 1 / 6 * i for i in range(7)])})
    station = sample_registry.get("marumori")
    assert station is not None
    made = START + timedelta(hours=2)
    message = forecast.to_message(station, made_at=made)
    again = bus.ForecastMessage.model_validate_json(bus.encode(message))
    assert again == message
    assert [p.lead_min for p in message.points] == list(LEADS_MIN)
    assert message.points[0].at == "2026-10-12T01:10:00Z"
    assert message.inputs[0].weights == [lead / 60 for lead in LEADS_MIN]
    assert [c.level for c in message.crossings] == [3, 4]
    other = sample_registry.get("iwanuma")
    assert other is not None
    with pytest.raises(ValueError, match="rendered for iwanuma"):
        forecast.to_message(other, made_at=made)


def test_fitted_models_survive_a_json_round_trip(sample_registry: StationRegistry) -> None:
    models = fitted(model([OWN_TREND, UPSTREAM_RISE], 0.5), model([OWN_TREND], 0.5))
    again = FittedModels.from_json(models.to_json())
    assert again == models
    histories = {"marumori": history([8.0 + 0.05 * i for i in range(13)]),
                 "fushiguro": history([4.0 + 0.1 * i for i in range(13)])}
    assert (Forecaster(sample_registry, again).forecast("marumori", histories)
            == Forecaster(sample_registry, models).forecast("marumori", histories))


def test_only_a_river_gauge_with_a_reading_is_forecast(
        sample_registry: StationRegistry) -> None:
    forecaster = Forecaster(sample_registry, None)
    with pytest.raises(ValueError, match="not a river gauge"):
        forecaster.forecast("koriyama-r4-underpass", {})
    with pytest.raises(ValueError, match="no reading"):
        forecaster.forecast("marumori", {"marumori": GaugeHistory()})


class FixedNowcast:
    """A nowcast that expects ``mm`` over any horizon (None: it has nothing)."""

    def __init__(self, mm: float | None) -> None:
        self.mm = mm
        self.asked: list[tuple[str, timedelta]] = []

    def expected_rain_mm(self, station: Station, horizon: timedelta) -> float | None:
        self.asked.append((station.id, horizon))
        return self.mm


def test_a_nowcast_feeds_the_nowcast_model_and_its_absence_does_not(
        sample_registry: StationRegistry) -> None:
    expected = InputSpec(name="nowcast:marumori:3h", kind=InputKind.NOWCAST,
                         station="marumori", span_s=3 * HOUR_S, detail="rain expected")
    local = model([OWN_TREND], 0.5)
    with_rain = model([OWN_TREND, expected], 0.01)
    models = FittedModels(fitted_at=START, gauges={"marumori": StationModels(
        local=local, nowcast=with_rain)})
    histories = {"marumori": history([8.0 + 0.05 * i for i in range(13)])}
    wet, dry, silent = FixedNowcast(40.0), FixedNowcast(0.0), FixedNowcast(None)
    forecasts = {name: Forecaster(sample_registry, models, nowcast=nowcast).forecast(
        "marumori", histories) for name, nowcast in (("wet", wet), ("dry", dry),
                                                     ("silent", silent))}
    assert wet.asked == [("marumori", timedelta(hours=3))]
    assert forecasts["wet"].inputs[1].value == 40.0
    # 0.01 m per mm at 3 h: 40 mm expected is 0.40 m more
    assert (forecasts["wet"].points[-1].level_m - forecasts["dry"].points[-1].level_m
            == pytest.approx(0.40))
    assert [i.name for i in forecasts["silent"].inputs] == ["trend"]
    assert forecasts["silent"].fallback is None
    without = Forecaster(sample_registry, models).forecast("marumori", histories)
    assert without == forecasts["silent"]
