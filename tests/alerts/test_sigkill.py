"""SIGKILL in the middle of a stream, restart: the same events as an uninterrupted run."""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.render import event_payload
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationRegistry
from floodwatch.services.servers import MosquittoServer
from tests.alerts.conftest import RULES_FILE, river, road, write_registry
from tests.alerts.process import AlertsProcess, bus, publish_all
from tests.alerts.test_typhoon import typhoon_readings
from tests.conftest import SAMPLE_REGISTRY
from tests.support import InfluxQuery, bus_stage_env, collect, wait_for

pytestmark = pytest.mark.slow


def triangle(step: int, period: int, low: float, high: float) -> float:
    phase = step % period
    half = period / 2
    fraction = phase / half if phase < half else (period - phase) / half
    return round(low + (high - low) * fraction, 3)


def stream() -> list[Reading]:
    """Two gauges rising and falling through their levels, an underpass flooding now
    and then: about fifty events over 25 hours of readings."""
    readings = []
    for step in range(150):
        minute = 10 * step
        readings.append(river("g1", minute, triangle(step, 40, 0.4, 4.6)))
        readings.append(river("g2", minute, triangle(step + 13, 50, 0.6, 3.6)))
        readings.append(road("u1", minute, water_depth_cm=25.0 if step % 30 in (5, 6) else 0.0))
    return readings


def run_env(tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery,
            name: str, registry: Path) -> dict[str, str]:
    return {
        **bus_stage_env(mosquitto.url, influx, registry, tmp_path / f"state-{name}"),
        "FLOODWATCH_ALERTS_CLIENT_ID": f"alerts-{name}-{uuid.uuid4().hex[:6]}",
        "FLOODWATCH_ALERTS_TICK_S": "0",
    }


@pytest.mark.parametrize("scenario", ["synthetic", "typhoon"])
def test_sigkill_and_restart_gives_the_uninterrupted_sequence(
        tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery,
        scenario: str) -> None:
    if scenario == "typhoon":
        registry_file = SAMPLE_REGISTRY
        registry = StationRegistry.load(registry_file)
        readings = typhoon_readings(registry)
    else:
        registry_file = write_registry(tmp_path)
        registry = StationRegistry.load(registry_file)
        readings = stream()
    rules = AlertRules.load(RULES_FILE, registry)
    messages = bus(readings)
    engine = Engine(registry, rules)
    expected: list[dict[str, object]] = []
    for reading in readings:
        for event in engine.on_reading(reading).events:
            station = registry.get(event.station)
            assert station is not None
            expected.append(decided(event_payload(event, station, rules.labels)))
    assert len(expected) >= 40

    def log(name: str) -> Path:
        return tmp_path / f"{name}.log"

    # Uninterrupted run.
    whole_env = run_env(tmp_path, mosquitto, influx, "whole", registry_file)
    whole = AlertsProcess(whole_env, log("whole")).start()
    with collect(mosquitto.port, "floodwatch/alerts/#") as got:
        publish_all(mosquitto.port, messages)
        wait_for(lambda: got.count() >= len(expected), 60, "the uninterrupted run's events")
    assert whole.stop() == 0
    uninterrupted = [payload for _, payload, _ in got.messages]
    assert [decided(payload) for payload in uninterrupted] == expected
    assert_issued_in_order(uninterrupted)

    # Killed half-way through, while readings keep arriving, then restarted.
    env = run_env(tmp_path, mosquitto, influx, "killed", registry_file)
    first = AlertsProcess(env, log("killed-1")).start()
    with collect(mosquitto.port, "floodwatch/alerts/#") as got:
        half = len(messages) // 2
        publish_all(mosquitto.port, messages[:half])
        wait_for(lambda: got.count() >= 10, 60, "some events before the kill")
        rest = threading.Thread(target=publish_all, args=(mosquitto.port, messages[half:]))
        rest.start()
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
        rest.join()
        second = AlertsProcess(env, log("killed-2")).start()
        wait_for(lambda: len(unique(got.messages)) >= len(expected), 60,
                 "the restarted run's events")
        # Let any stray re-send arrive before judging.
        time.sleep(1)
    assert second.stop() == 0
    received = [payload for _, payload, _ in got.messages]
    deduplicated = unique(got.messages)
    assert [decided(payload) for payload in deduplicated] == expected
    assert_issued_in_order(deduplicated)
    # A re-send after the kill repeats an event id with the very same bytes, never a
    # different event under the same id.
    by_id: dict[str, set[bytes]] = {}
    for payload in received:
        by_id.setdefault(json.loads(payload)["event_id"], set()).add(payload)
    assert all(len(versions) == 1 for versions in by_id.values())


def decided(payload: bytes) -> dict[str, object]:
    """What the engine decided of an event: all but its CAP fields, whose ``sent`` is the
    wall clock when it was issued and whose identifier names the engine's state."""
    document: dict[str, object] = json.loads(payload)
    document.pop("cap", None)
    return document


def assert_issued_in_order(payloads: list[bytes]) -> None:
    """Each alert's messages are sent later and later, across the kill too."""
    last: dict[str, datetime] = {}
    for payload in payloads:
        document = json.loads(payload)
        sent = datetime.fromisoformat(document["cap"]["sent"])
        if document["alert_id"] in last:
            assert sent > last[document["alert_id"]], document["event_id"]
        last[document["alert_id"]] = sent


def unique(messages: list[tuple[str, bytes, float]]) -> list[bytes]:
    seen: set[str] = set()
    result = []
    for _, payload, _ in list(messages):
        event_id = json.loads(payload)["event_id"]
        if event_id not in seen:
            seen.add(event_id)
            result.append(payload)
    return result


