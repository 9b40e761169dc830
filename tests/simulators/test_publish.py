"""End to end: ``floodwatch simulate`` publishes every simulated message, exactly once
each, to a real Mosquitto, and reports what the broker acknowledged."""

from __future__ import annotations

import pytest

from floodwatch.core.registry import StationRegistry
from floodwatch.services.servers import MosquittoServer
from floodwatch.simulators.faults import parse_fault_option
from floodwatch.simulators.runner import build_simulation
from tests.conftest import SAMPLE_REGISTRY
from tests.simulators.cli import simulate
from tests.simulators.conftest import TYPHOON_START
from tests.support import collect, wait_for

FAULTS = ("duplicate=0.1", "wrong-station=0.05", "malformed=0.05")


def test_simulate_publishes_every_message_to_a_real_broker(
    mosquitto: MosquittoServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], sample_registry: StationRegistry
) -> None:
    monkeypatch.setenv("FLOODWATCH_MQTT_URL", mosquitto.url)
    monkeypatch.setenv("FLOODWATCH_STATIONS", str(SAMPLE_REGISTRY))
    monkeypatch.setenv("FLOODWATCH_LOG_LEVEL", "warning")
    expected = [event.wire for event in build_simulation(
        sample_registry, "typhoon", duration_s=6 * 3600, seed=5, start=TYPHOON_START,
        faults=[parse_fault_option(text) for text in FAULTS]).events()]
    fault_flags = [flag for text in FAULTS for flag in ("--fault", text)]

    with collect(mosquitto.port, "sensors/#") as collected:
        simulate("--scenario", "typhoon", "--speed", "0", "--duration", "6h", "--seed", "5",
                 "--start", TYPHOON_START.isoformat(), *fault_flags)
        wait_for(lambda: len(collected) >= len(expected), 10, "every message")

    received = sorted((topic, payload) for topic, payload, _ in collected.messages)
    assert received == sorted(expected)
    summary = capsys.readouterr().out
    assert summary.startswith(f"published {len(expected)} messages over 14 connections, "
                              f"{len(expected)} acknowledged")
