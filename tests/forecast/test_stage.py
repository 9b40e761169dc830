"""``floodwatch forecast`` as a real process on a real broker and InfluxDB: readings in,
a retained forecast per reading out and its points stored (later, when InfluxDB was
down); thin history said; spikes kept out."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from floodwatch.core.readings import parse_ts
from floodwatch.forecast.model import LEADS_MIN
from floodwatch.forecast.refit import save_models
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.alerts.process import bus, publish_all
from tests.forecast.process import ForecastProcess, forecasts, issued, keys, stage_env
from tests.forecast.stage_support import rising, river, upstream_models, write_registry
from tests.support import InfluxQuery, collect, wait_for

pytestmark = pytest.mark.slow


def test_each_reading_issues_a_retained_forecast_stored_in_influxdb(
        tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery) -> None:
    env = stage_env(tmp_path, mosquitto, influx, write_registry(tmp_path))
    stage = ForecastProcess(env, tmp_path / "forecast.log").start()
    readings = rising("side", 6) + rising("up", 3, start=2.0)
    with collect(mosquitto.port, "floodwatch/forecasts/+") as got:
        publish_all(mosquitto.port, bus(readings))
        wait_for(lambda: issued(got) >= keys(readings), 30, "a forecast per reading")
    # Retained: a client subscribing now has each gauge's newest forecast at once.
    with collect(mosquitto.port, "floodwatch/forecasts/+") as late:
        wait_for(lambda: len(late) >= 2, 10, "the retained forecasts")
    newest = {f["station"]: parse_ts(f["issued_at"]) for f in forecasts(late)}
    assert newest == {"side": readings[5].ts, "up": readings[-1].ts}
    # Stored: 18 points per forecast, at the issue time, tagged by station and lead.
    wait_for(lambda: influx.count("forecast", "level_m") >= 18 * len(readings), 30,
             "the forecast points in InfluxDB")
    assert stage.stop() == 0
    rows = influx.rows('SELECT * FROM "forecast" WHERE "station" = \'side\'')
    assert len(rows) == 18 * 6
    last = max(parse_ts(f["issued_at"]) for f in forecasts(got) if f["station"] == "side")
    message = next(f for f in forecasts(got) if f["station"] == "side"
                   and parse_ts(f["issued_at"]) == last)
    stored = {int(row["lead_min"]): row for row in rows
              if row["time"] == int(last.timestamp()) * 1_000_000_000}
    assert sorted(stored) == list(LEADS_MIN)
    for point in message["points"]:
        row = stored[point["lead_min"]]
        assert (row["level_m"], row["low_m"], row["high_m"], row["method"]) == (
            point["level_m"], point["low_m"], point["high_m"], "trend")
        assert (row["river"], row["basin"]) == ("abukuma", "abukuma")


def test_thin_history_falls_back_to_the_trend_and_says_why(
        tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery) -> None:
    models = tmp_path / "models.json"
    save_models(models, upstream_models(fitted_at=datetime.now(UTC)))
    env = stage_env(tmp_path, mosquitto, influx, write_registry(tmp_path),
                    FLOODWATCH_FORECAST_MODELS=str(models))
    stage = ForecastProcess(env, tmp_path / "forecast.log").start()
    early = [r for pair in zip(rising("up", 4), rising("down", 4), strict=True) for r in pair]
    later = [r for pair in zip(rising("up", 8, first_minute=40, start=1.08),
                               rising("down", 8, first_minute=40, start=1.08), strict=True)
             for r in pair]
    with collect(mosquitto.port, "floodwatch/forecasts/down") as got:
        publish_all(mosquitto.port, bus(early))
        wait_for(lambda: issued(got) >= keys(r for r in early if r.station == "down"), 30,
                 "the early forecasts")
        thin = forecasts(got)
        publish_all(mosquitto.port, bus(later))
        wait_for(lambda: issued(got) >= keys(r for r in later if r.station == "down"), 30,
                 "the later forecasts")
    assert stage.stop() == 0
    # Half an hour of "up": the model's hour-long rise cannot be read yet.
    for forecast in thin:
        assert forecast["method"] == "trend"
        assert forecast["fitted_at"] is None
        assert "up's history covers" in forecast["fallback"], forecast["fallback"]
        assert [i["name"] for i in forecast["inputs"]] == ["trend"]
    # With an hour of it, the model: its input named, its weight given, no fallback.
    modelled = [f for f in forecasts(got) if f["method"] == "model"]
    assert modelled, [f["fallback"] for f in forecasts(got)]
    for forecast in modelled:
        assert forecast["fallback"] is None
        assert forecast["fitted_at"] is not None
        assert [i["name"] for i in forecast["inputs"]] == ["upstream:up:1h"]
        assert forecast["inputs"][0]["weights"] == [1.0] * len(LEADS_MIN)


def test_a_spike_issues_no_forecast_and_never_enters_a_later_one(
        tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery) -> None:
    env = stage_env(tmp_path, mosquitto, influx, write_registry(tmp_path))
    stage = ForecastProcess(env, tmp_path / "forecast.log").start()
    before, after = rising("side", 6), rising("side", 6, first_minute=60, start=1.12)
    spike = river("side", 55, 9.5)
    with collect(mosquitto.port, "floodwatch/forecasts/side") as got:
        publish_all(mosquitto.port, bus([*before, spike, *after]))
        wait_for(lambda: issued(got) >= keys(before + after), 30, "the good readings' forecasts")
        spike_seen = stage.log_events(
            "flagged reading kept out of the forecasts; no forecast issued on it")
    assert stage.stop() == 0
    assert ("side", spike.ts.isoformat()) not in issued(got)
    assert [(e["station"], e["reason"]) for e in spike_seen] == [("side", "max_step")]
    # No later forecast saw it: every level and band stays near the steady rise (a
    # trend through 9.5 m would carry the river metres up within the hour).
    for forecast in forecasts(got):
        assert all(p["high_m"] < 2.5 for p in forecast["points"]), forecast
        if parse_ts(forecast["issued_at"]) > before[0].ts:  # a trend needs two readings
            assert forecast["inputs"][0]["value"] == pytest.approx(0.12, abs=1e-6)


def test_with_influxdb_down_forecasts_are_published_and_stored_once_it_is_back(
        tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery) -> None:
    registry = write_registry(tmp_path)
    down = {**stage_env(tmp_path, mosquitto, influx, registry),
            "FLOODWATCH_INFLUX_URL": f"http://127.0.0.1:{free_port()}"}
    stage = ForecastProcess(down, tmp_path / "forecast-down.log").start()
    readings = rising("side", 5)
    with collect(mosquitto.port, "floodwatch/forecasts/side") as got:
        publish_all(mosquitto.port, bus(readings))
        wait_for(lambda: issued(got) >= keys(readings), 30, "forecasts without InfluxDB")
    assert stage.stop() == 0
    queued = sqlite3.connect(tmp_path / "state" / "forecast" /
                             f"{down['FLOODWATCH_FORECAST_CLIENT_ID']}.sqlite3")
    assert queued.execute("SELECT count(*) FROM lines").fetchone() == (18 * 5,)
    queued.close()
    # Back: the same state directory and client id, InfluxDB reachable.
    up = {**down, "FLOODWATCH_INFLUX_URL": influx.url}
    again = ForecastProcess(up, tmp_path / "forecast-up.log").start()
    wait_for(lambda: influx.count("forecast", "level_m") >= 18 * 5, 30,
             "the queued points written")
    assert again.stop() == 0
    times = {row["time"] for row in influx.rows('SELECT "level_m" FROM "forecast"')}
    assert times == {int(r.ts.timestamp()) * 1_000_000_000 for r in readings}
