"""The fit on simulated storms (in-process, no broker): it beats the trend at a gauge
with an upstream gauge on a storm it never saw, learns a travel time down the river,
and refuses a gauge whose history holds too little rising water."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.forecast_skill import replay
from bench.forecast_storms import Series, fitting_period, storm_series
from floodwatch.core.registry import StationRegistry
from floodwatch.forecast.fit import fit_models
from floodwatch.forecast.forecaster import Forecaster
from floodwatch.forecast.model import FittedModels
from floodwatch.forecast.scores import paired, rmse

EPOCH = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def storms() -> list[Series]:
    """Typhoons of seeds 1 and 2 (fitted) and 3 (scored), four days apart."""
    return [storm_series("typhoon", seed, EPOCH + timedelta(days=4 * index))
            for index, seed in enumerate((1, 2, 3))]


@pytest.fixture(scope="module")
def models(storms: list[Series], sample_registry: StationRegistry) -> FittedModels:
    return fit_models(sample_registry, fitting_period(storms[:2]), fitted_at=EPOCH,
                      min_rising_h=6, with_nowcast=True)


@pytest.mark.slow
def test_the_model_beats_the_trend_downstream_on_an_unseen_storm(
        storms: list[Series], models: FittedModels, sample_registry: StationRegistry) -> None:
    scored = replay(storms[2], {"trend": Forecaster(sample_registry, None),
                                "model": Forecaster(sample_registry, models)})
    for gauge in ("motomiya", "fushiguro"):
        observed = scored.observed[gauge]
        for lead in (60, 180):
            trend = rmse(*paired(scored.issued[("trend", gauge, "median")], observed, lead))
            model = rmse(*paired(scored.issued[("model", gauge, "median")], observed, lead))
            assert model < 0.8 * trend, (gauge, lead, model, trend)
    assert scored.methods.get("model", 0) > 0.9 * sum(scored.methods.values())


@pytest.mark.slow
def test_travel_time_and_gain_are_learned_down_the_river(models: FittedModels) -> None:
    motomiya = models.gauges["motomiya"]
    (link,) = motomiya.links
    assert link.upstream == "akutsu"
    # Akutsu is 13 km up the Abukuma: about an hour and a half of wave travel and
    # channel storage in the simulated basin; the rise carries over.
    assert 30 * 60 <= link.travel_s <= 4 * 3600
    assert link.gain > 0.3
    assert link.correlation > 0.8
    assert motomiya.full is not None
    names = [spec.name for spec in motomiya.full.inputs]
    assert "upstream:akutsu:due" in names
    assert "rain:own:3h" in names
    assert models.gauges["sukagawa"].full is None  # a headwater gauge: nothing upstream


def test_too_little_rising_water_gets_no_model(sample_registry: StationRegistry) -> None:
    calm = storm_series("calm", 1, EPOCH)
    models = fit_models(sample_registry, calm, fitted_at=EPOCH)
    assert models.gauges == {}
    assert models.no_model["motomiya"] == ("no model: 0 h of rising water in the "
                                           "history, 24 h needed")


@pytest.mark.slow
def test_the_nowcast_model_learns_that_rain_to_come_raises_the_river(
        models: FittedModels) -> None:
    nowcast = models.gauges["motomiya"].nowcast
    assert nowcast is not None
    index = [spec.name for spec in nowcast.inputs].index("nowcast:motomiya:3h")
    assert nowcast.weights[-1][index] > 0  # metres at +3 h per mm expected
    full = models.gauges["motomiya"].full
    assert full is not None
    assert nowcast.rmse_m[-1] < full.rmse_m[-1]  # knowing the rain to come helps
