"""forecast.acceptance on small hand-made histories: a refit's new models replace the ones
in use only when the fitting window still holds storms and they forecast its latest
rising water no worse."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from floodwatch.forecast.acceptance import judge, recent_rising
from floodwatch.forecast.fit import MIN_RISING_H, fit_models
from floodwatch.forecast.forecaster import Forecaster
from floodwatch.forecast.history import GaugeHistory, Observation
from floodwatch.forecast.model import FittedModels
from tests.forecast.stage_support import T0, registry

DAYS = 16
DAY = timedelta(days=1)
# Seven storms, one every two days from day 1: some 40 h of rising water.
STORMS_H = [24.0 + 48.0 * k for k in range(7)]


def hydrograph(storms_h: list[float], days: int = DAYS) -> list[Observation]:
    """A gauge every 10 minutes: 1 m of base flow, and per storm 6 h of 4 mm per report,
    then a rise of 2-2.6 m peaking 8 h after the rain began and a slow recession."""
    readings = []
    for step in range(days * 144):
        hours = step / 6
        level, rain = 1.0, 0.0
        for index, start in enumerate(storms_h):
            since = hours - start
            if 0 <= since < 6:
                rain = 4.0
            if since > 2:
                rise = (since - 2) / 6
                level += (2.0 + 0.3 * (index % 3)) * rise * math.exp(1 - rise)
        level += 0.003 * math.sin(step * 1.7)  # a gauge's noise
        readings.append(Observation(T0 + timedelta(minutes=10 * step), round(level, 3),
                                    rain))
    return readings


def shifted(models: FittedModels, metres: float) -> FittedModels:
    """``models`` with "side"'s model forecasting ``metres`` higher at every lead."""
    gauge = models.gauges["side"]
    assert gauge.local is not None
    local = gauge.local.model_copy(
        update={"intercepts": [value + metres for value in gauge.local.intercepts]})
    return models.model_copy(
        update={"gauges": {"side": gauge.model_copy(update={"local": local})}})


@pytest.fixture(scope="module")
def stormy() -> tuple[list[Observation], FittedModels]:
    series = hydrograph(STORMS_H)
    models = fit_models(registry(), {"side": series}, fitted_at=T0)
    assert "side" in models.gauges  # enough storms for a model
    return series, models


def test_a_gauge_whose_window_lost_its_storms_keeps_its_model_and_others_take_theirs(
        stormy: tuple[list[Observation], FittedModels]) -> None:
    series, _ = stormy
    stations = registry()
    # Both gauges had storms; since then "side" had a calm summer (16 days of base
    # flow) and "up" more storms, at other times.
    current = fit_models(stations, {"side": series, "up": series}, fitted_at=T0)
    later = T0 + timedelta(days=DAYS)
    calm, storms = hydrograph([]), hydrograph([12.0 + 40.0 * k for k in range(9)])
    new = fit_models(stations, {"side": calm, "up": storms}, fitted_at=later)
    assert "side" in new.no_model
    assert new.gauges["up"] != current.gauges["up"]
    window = {"side": calm, "up": storms}
    verdict = judge(stations, current, new, window, min_rising_h=MIN_RISING_H)
    assert verdict.swap, verdict.reason
    assert verdict.kept == {"side": "the new fit has none (no model: 0 h of rising water in "
                                    "the history, 24 h needed): its models fitted at "
                                    "2026-10-12T00:00:00+00:00 stay"}
    swapped = verdict.models
    assert swapped.fitted_at == later
    assert swapped.gauges["up"] == new.gauges["up"]
    assert swapped.gauges["side"] == current.gauges["side"].model_copy(
        update={"fitted_at": T0})
    assert "side" not in swapped.no_model
    # Its forecasts say when its models were fitted; the others', the new fit's time.
    histories = {station: GaugeHistory.of(readings) for station, readings in window.items()}
    forecaster = Forecaster(stations, swapped)
    assert forecaster.forecast("side", histories).fitted_at == T0
    up = forecaster.forecast("up", histories)
    assert (up.method, up.fitted_at) == ("model", later)
    # Kept again by the next refit, still with the time it was fitted.
    again = judge(stations, swapped, new.model_copy(update={"fitted_at": later + DAY}),
                  window, min_rising_h=MIN_RISING_H)
    assert again.models.gauges["side"].fitted_at == T0


def test_new_models_that_forecast_the_latest_storms_worse_are_not_taken(
        stormy: tuple[list[Observation], FittedModels]) -> None:
    series, current = stormy
    worse = shifted(current, 0.3)
    verdict = judge(registry(), current, worse, {"side": series}, min_rising_h=MIN_RISING_H)
    assert not verdict.swap
    assert verdict.new_rmse_m is not None
    assert verdict.current_rmse_m is not None
    assert verdict.new_rmse_m > verdict.current_rmse_m
    assert verdict.reason.startswith("the new models forecast worse: RMSE on the last "
                                     "rising water")
    # The last 24 h of rising water at 10-minute readings.
    assert verdict.samples == 144
    # The other way round the swap is taken: the shifted models are the ones in use.
    back = judge(registry(), worse, current, {"side": series}, min_rising_h=MIN_RISING_H)
    assert back.swap
    assert (back.new_rmse_m, back.current_rmse_m) == (verdict.current_rmse_m,
                                                      verdict.new_rmse_m)


def test_without_models_in_use_the_new_ones_must_beat_the_trend(
        stormy: tuple[list[Observation], FittedModels]) -> None:
    series, fitted = stormy
    good = judge(registry(), None, fitted, {"side": series}, min_rising_h=MIN_RISING_H)
    assert good.swap
    assert good.new_rmse_m is not None
    assert good.current_rmse_m is not None
    assert good.new_rmse_m < good.current_rmse_m  # the trend overshoots every peak
    broken = judge(registry(), None, shifted(fitted, 2.0), {"side": series},
                   min_rising_h=MIN_RISING_H)
    assert not broken.swap


def test_the_scored_moments_are_the_latest_rising_water() -> None:
    history = GaugeHistory.of(hydrograph(STORMS_H))
    moments = recent_rising(history, hours=2)
    assert len(moments) == 12
    last_storm = T0.timestamp() + STORMS_H[-1] * 3600
    assert all(last_storm < moment < last_storm + 12 * 3600 for moment in moments)
    assert moments == sorted(moments)
    for moment in moments:
        level = history.level_at(moment, moment)
        hour_ago = history.level_at(moment - 3600, moment)
        assert level is not None
        assert hour_ago is not None
        assert level - hour_ago >= 0.05
    assert recent_rising(GaugeHistory.of(hydrograph([])), hours=24) == []
