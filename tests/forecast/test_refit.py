"""Fitting from InfluxDB history: ``floodwatch forecast fit`` once, and the stage's own
refit while it runs; the models saved where the stage loads them, and taken up by a
running stage when another process saved them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from floodwatch.core.lineprotocol import format_point
from floodwatch.core.readings import Reading, parse_ts
from floodwatch.forecast.model import FittedModels
from floodwatch.forecast.refit import save_models
from floodwatch.forecast.storage import time_ns
from floodwatch.services.servers import MosquittoServer
from tests.alerts.process import bus, publish_all
from tests.forecast.process import ForecastProcess, forecasts, issued, keys, stage_env
from tests.forecast.stage_support import T0, rising, upstream_models, write_registry
from tests.support import REPO_ROOT, InfluxQuery, collect, wait_for

pytestmark = pytest.mark.slow


def store_history(influx: InfluxQuery, hours: int = 6) -> None:
    """Six hours of "up" and "down", and one spike of "down" the fit must leave out."""
    lines = []
    for step in range(hours * 6):
        moment = time_ns(T0 + timedelta(minutes=10 * step))
        spike = step == 20
        for station, level in (("up", 1.5 + 0.01 * step),
                               ("down", 12.0 if spike else 1.0 + 0.008 * step)):
            lines.append(format_point("river", {"station": station, "river": "abukuma",
                                                "basin": "abukuma"},
                                      {"level_m": level}, moment))
    httpx.post(f"{influx.url}/query", params={"q": f'CREATE DATABASE "{influx.database}"'}
               ).raise_for_status()
    httpx.post(f"{influx.url}/write", params={"db": influx.database, "precision": "ns"},
               content="\n".join(lines)).raise_for_status()


def fit(env: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "floodwatch", "forecast", "fit", *options],
                          env={**os.environ, **env}, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


def models_used_downstream(stage: ForecastProcess, mosquitto: MosquittoServer,
                           readings: list[Reading]) -> set[datetime]:
    """Publish ``readings``, collect the stage's forecasts of "down" for them, stop the
    stage (cleanly), and return the fit times of the models those forecasts used."""
    with collect(mosquitto.port, "floodwatch/forecasts/down") as got:
        publish_all(mosquitto.port, bus(readings))
        wait_for(lambda: issued(got) >= keys(r for r in readings if r.station == "down"), 30,
                 "the forecasts")
    assert stage.stop() == 0
    modelled = [f for f in forecasts(got) if f["method"] == "model"]
    assert modelled
    return {parse_ts(f["fitted_at"]) for f in modelled}


def test_fit_saves_the_models_with_each_gauges_reason(
        tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery) -> None:
    env = stage_env(tmp_path, mosquitto, influx, write_registry(tmp_path))
    nothing = fit(env)
    assert nothing.returncode == 1
    assert "no river readings in InfluxDB" in nothing.stderr
    assert not (tmp_path / "state" / "forecast" / "models.json").exists()

    store_history(influx)
    before = datetime.now(UTC)
    result = fit(env)
    assert result.returncode == 0, result.stderr
    saved = tmp_path / "state" / "forecast" / "models.json"
    models = FittedModels.from_json(saved.read_bytes())
    assert models.fitted_at >= before
    # Six hours are too little rising water for a model: each gauge says why, and
    # "side", which never reported, too.
    assert models.gauges == {}
    assert sorted(models.no_model) == ["down", "side", "up"]
    assert "no readings" in models.no_model["side"]
    assert f"{saved}: models for 0 gauges" in result.stdout
    for station, reason in models.no_model.items():
        assert f"  {station}: {reason}" in result.stdout


def test_the_running_stage_fits_at_once_without_models_and_says_so_in_its_forecasts(
        tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery) -> None:
    store_history(influx)
    env = stage_env(tmp_path, mosquitto, influx, write_registry(tmp_path))
    stage = ForecastProcess(env, tmp_path / "forecast.log").start()
    wait_for(lambda: bool(stage.log_events("forecast models fitted")), 60, "the first fit")
    assert (tmp_path / "state" / "forecast" / "models.json").exists()
    # The spike is kept out of the fit, as it is out of the warmed history.
    left_out = stage.log_events("flagged readings left out of the fit")
    assert [(e["station"], e["flagged"]) for e in left_out] == [("down", 1)]
    assert stage.log_events("histories warmed from InfluxDB")[0]["flagged"] == 1
    later = rising("up", 3, start=1.86, first_minute=360)
    with collect(mosquitto.port, "floodwatch/forecasts/up") as got:
        publish_all(mosquitto.port, bus(later))
        wait_for(lambda: issued(got) >= keys(later), 30, "the forecasts after the fit")
    assert stage.stop() == 0
    for forecast in forecasts(got):
        assert forecast["method"] == "trend"
        assert forecast["fallback"].startswith("no model: "), forecast["fallback"]
    # Warmed from the six stored hours: the forecasts carry their trend on at once.
    assert forecasts(got)[0]["inputs"][0]["value"] == pytest.approx(0.06, abs=1e-6)


def test_models_saved_by_another_process_are_taken_up_while_the_stage_runs(
        tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery) -> None:
    models = tmp_path / "models.json"
    older = datetime.now(UTC) - timedelta(hours=1)
    save_models(models, upstream_models(fitted_at=older))
    env = stage_env(tmp_path, mosquitto, influx, write_registry(tmp_path),
                    FLOODWATCH_FORECAST_MODELS=str(models))
    stage = ForecastProcess(env, tmp_path / "forecast.log").start()
    newer = datetime.now(UTC).replace(microsecond=0)
    save_models(models, upstream_models(fitted_at=newer))  # as `forecast fit` would
    wait_for(lambda: bool(stage.log_events("forecast models taken up from the file")), 30,
             "the new models taken up")
    readings = [r for pair in zip(rising("up", 8), rising("down", 8), strict=True)
                for r in pair]
    assert models_used_downstream(stage, mosquitto, readings) == {newer}


def test_a_fit_on_a_window_without_storms_keeps_the_saved_model_of_that_gauge(
        tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery) -> None:
    store_history(influx)  # six hours: too little rising water for any gauge's model
    env = stage_env(tmp_path, mosquitto, influx, write_registry(tmp_path))
    saved = tmp_path / "state" / "forecast" / "models.json"
    before = upstream_models()  # "down" has a model, fitted at T0
    save_models(saved, before)
    result = fit(env)
    assert result.returncode == 0, result.stderr
    assert f"  down: kept its models fitted at {T0.isoformat()}" in result.stdout
    models = FittedModels.from_json(saved.read_bytes())
    assert models.fitted_at > T0
    assert models.gauges == {"down": before.gauges["down"].model_copy(
        update={"fitted_at": T0})}
    assert sorted(models.no_model) == ["side", "up"]
    forced = fit(env, "--force")  # the new fit as it is: no model anywhere
    assert forced.returncode == 0, forced.stderr
    assert FittedModels.from_json(saved.read_bytes()).gauges == {}


def test_the_running_stage_keeps_a_gauges_model_when_the_refit_lost_its_storms(
        tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery) -> None:
    store_history(influx)
    models = tmp_path / "models.json"
    save_models(models, upstream_models())  # fitted at T0: the refit is due at once
    env = stage_env(tmp_path, mosquitto, influx, write_registry(tmp_path),
                    FLOODWATCH_FORECAST_MODELS=str(models))
    stage = ForecastProcess(env, tmp_path / "forecast.log").start()
    wait_for(lambda: bool(stage.log_events("forecast models fitted")), 60, "the refit")
    (kept,) = stage.log_events("a gauge's models kept from an earlier fit")
    assert kept["station"] == "down"
    assert kept["why"].startswith("the new fit has none (no model: ")
    # On from the six stored hours (warmed at start): the next hour of both gauges.
    readings = [r for pair in zip(rising("up", 6, 1.86, 0.01, first_minute=360),
                                  rising("down", 6, 1.29, 0.008, first_minute=360),
                                  strict=True) for r in pair]
    assert models_used_downstream(stage, mosquitto, readings) == {T0}
    assert FittedModels.from_json(models.read_bytes()).fitted_at > T0
