"""A forecast warning over MQTT with the real processes: the ``floodwatch alerts``
process and Mosquitto. The test publishes river readings and, retained as the forecast
stage does, the forecasts issued on them (built from the contract's model): the warning
is raised before any reading crosses danger, then hands over to the level alert."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion

from floodwatch.core import bus as contract
from floodwatch.core.readings import format_ts
from floodwatch.services.servers import MosquittoServer
from tests.alerts.conftest import RULES_FILE, at, river, road, write_registry
from tests.alerts.forecasts import forecast_message
from tests.alerts.process import AlertsProcess, bus
from tests.support import InfluxQuery, collect, wait_for
from tests.xsd import assert_valid_cap

pytestmark = pytest.mark.slow

# g1 rises 0.1 m every 10 minutes from 3.1 m (above evacuation, 3.0): its forecasts say
# danger (4.0 m) at 00:90, which the reading of 01:30 reaches.
LEVELS = [round(3.1 + 0.1 * step, 2) for step in range(10)]
CROSSING = 9  # the step whose reading reaches danger


def step(index: int) -> list[tuple[str, bytes, bool]]:
    """One 10-minute step: every station's reading, then g1's forecast on its reading."""
    minute = 10 * index
    readings = [river("g1", minute, LEVELS[index]), river("g2", minute, 0.4),
                road("u1", minute, water_depth_cm=0.0)]
    forecast = forecast_message("g1", at(minute), LEVELS[index], 0.6, band_m_per_h=0.0)
    return [(topic, payload, False) for topic, payload in bus(readings)] + [
        (contract.FORECASTS.name(station="g1"), contract.encode(forecast), True)]


def publish(port: int, messages: list[tuple[str, bytes, bool]]) -> None:
    """In order, at QoS 1, each PUBACK awaited; forecasts retained (bus.FORECASTS)."""
    client = Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for topic, payload, retain in messages:
            client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.fixture
def engine(tmp_path: Path, mosquitto: MosquittoServer,
           influx: InfluxQuery) -> Iterator[AlertsProcess]:
    env = {"FLOODWATCH_MQTT_URL": mosquitto.url, "FLOODWATCH_INFLUX_URL": influx.url,
           "FLOODWATCH_INFLUX_DB": influx.database,
           "FLOODWATCH_STATIONS": str(write_registry(tmp_path)),
           "FLOODWATCH_ALERTS_RULES": str(RULES_FILE),
           "FLOODWATCH_STATE_DIR": str(tmp_path / "state"),
           "FLOODWATCH_ALERTS_CLIENT_ID": f"alerts-{uuid.uuid4().hex[:8]}",
           "FLOODWATCH_ALERTS_TICK_S": "0", "FLOODWATCH_LOG_LEVEL": "info"}
    process = AlertsProcess(env, tmp_path / "alerts.log").start()
    yield process
    if not process.exited():
        process.stop()


def of(payloads: list[dict[str, Any]], alert_type: str) -> list[tuple[str, int, str]]:
    return [(p["transition"], p["level"], p["at"]) for p in payloads
            if p["alert_type"] == alert_type and p["transition"] != "renewed"]


def test_a_forecast_warning_is_raised_before_the_crossing_and_hands_over(
        mosquitto: MosquittoServer, engine: AlertsProcess) -> None:
    with collect(mosquitto.port, "floodwatch/alerts/g1", "floodwatch/cap/g1") as got:
        publish(mosquitto.port, [m for index in range(CROSSING) for m in step(index)])
        wait_for(lambda: len(of(got.payloads("floodwatch/alerts/"), "forecast")) >= 2, 20,
                 "the forecast warning and its confirmation")
        before = got.payloads("floodwatch/alerts/")
        # Warned of danger while every reading was below it; no level alert at danger.
        assert of(before, "forecast") == [("raised", 4, format_ts(at(0))),
                                          ("confirmed", 4, format_ts(at(10)))]
        assert all(level < 4 for _, level, _ in of(before, "river_level"))
        raised = next(p for p in before if p["alert_type"] == "forecast")
        assert raised["detail"] == {
            "expected_at": format_ts(at(90)), "minutes": 90.0, "bound": "median",
            "issued_at": format_ts(at(0)), "method": "model", "level_m": 3.1,
            "threshold_m": 4.0}
        assert raised["headline"]["en"] == ("Gauge one: expected to reach Flood danger "
                                            "level at 10:30 (in 90 min, raised)")
        assert raised["cap"]["scope"] == "Restricted"  # officers first: policy off

        publish(mosquitto.port, step(CROSSING))
        wait_for(lambda: len(of(got.payloads("floodwatch/alerts/"), "forecast")) >= 3, 20,
                 "the hand-over")
    payloads = got.payloads("floodwatch/alerts/")
    crossed = format_ts(at(10 * CROSSING))
    assert ("escalated", 4, crossed) in of(payloads, "river_level")
    assert of(payloads, "forecast")[2] == ("cleared", 0, crossed)
    handed = [p for p in payloads if p["alert_type"] == "forecast"][2]
    # The level alert took over: its text says the level was reached, never all-clear.
    assert handed["rule"] == "forecast.reached"
    assert handed["headline"]["en"] == ("Gauge one: Flood danger level reached: the river "
                                        "level alert takes over")
    assert handed["cap"]["response_type"] == "Prepare"
    escalation = next(p for p in payloads if p["alert_type"] == "river_level"
                      and p["level"] == 4)
    assert handed["detail"]["handed_over_to"] == escalation["alert_id"]
    # Agreed by two forecasts, but for officers only: no residents' channel may carry any.
    assert [p["confirmed"] for p in payloads if p["alert_type"] == "forecast"] == [
        False, False, False]
    assert payloads.index(escalation) < payloads.index(handed)
    # The CAP of the warning: Possible (from the median, the shipped bound), from the
    # expected crossing, valid CAP 1.2.
    caps = [payload for topic, payload, _ in got.messages if topic == "floodwatch/cap/g1"
            and b"<certainty>Possible</certainty>" in payload]
    assert len(caps) == 2
    assert_valid_cap(caps[0])
    assert b"<onset>2026-10-12T10:30:00+09:00</onset>" in caps[0]
    assert engine.log_events("forecast ignored for warnings") == []
    assert engine.stop() == 0
