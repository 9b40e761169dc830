"""An outage of ingest is the pipeline's, not every gauge's: through the real ingest,
alert engine and notify processes, with the broker keeping ingest's backlog.

Time is scaled: gauges report every 2 s (a 10-minute gauge), ingest stays down for 8 s
(40 minutes), offline is due after 3 x 2 s.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion

from floodwatch.services.servers import MosquittoServer
from tests.alerts.conftest import RULES_FILE
from tests.support import (
    AlertsStageProcess,
    Collected,
    IngestProcess,
    NotifyStageProcess,
    collect,
    gauges_yaml,
    wait_for,
)

pytestmark = pytest.mark.slow

INTERVAL_S = 2
GAUGES = [f"g{n:02d}" for n in range(14)]


class Gauges:
    """The field devices: each gauge publishes its level every INTERVAL_S."""

    def __init__(self, port: int) -> None:
        self.silent: set[str] = set()
        self._stop = threading.Event()
        self._client = Client(CallbackAPIVersion.VERSION2, client_id=f"gauges-{uuid.uuid4()}")
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = datetime.now(UTC).isoformat()
            for gauge in GAUGES:
                if gauge not in self.silent:
                    payload = json.dumps({"ts": now, "level_m": 1.0})
                    self._client.publish(f"sensors/river/{gauge}", payload, qos=1)
            self._stop.wait(INTERVAL_S)

    @contextmanager
    def running(self) -> Iterator[Gauges]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            self._client.loop_stop()
            self._client.disconnect()


def outage(tmp_path: Path, mosquitto: MosquittoServer,
           settings_env: Callable[..., dict[str, str]],
           silent_gauge: str | None) -> tuple[Collected, Collected]:
    registry = tmp_path / "stations.yaml"
    registry.write_text(gauges_yaml({"abukuma": len(GAUGES)}, INTERVAL_S),
                        encoding="utf-8")
    notify_config = tmp_path / "notify.yaml"
    notify_config.write_text("network: {enabled: true}\n", encoding="utf-8")
    env = settings_env(registry, alerts_rules=RULES_FILE, alerts_tick_s=0.2,
                       alerts_client_id=f"alerts-{uuid.uuid4().hex[:8]}",
                       notify_client_id=f"notify-{uuid.uuid4().hex[:8]}",
                       notify_config=notify_config)

    def ingest(number: int) -> IngestProcess:
        return IngestProcess(env, tmp_path / f"ingest-{number}.log").start()

    alerts = AlertsStageProcess(env, tmp_path / "alerts.log").start()
    notify = NotifyStageProcess(env, tmp_path / "notify.log").start()
    first = ingest(1)
    try:
        with collect(mosquitto.port, "floodwatch/no-data") as bus, \
                collect(mosquitto.port, "bousai/floodwatch/#") as network, \
                Gauges(mosquitto.port).running() as gauges:
            time.sleep(3 * INTERVAL_S)
            assert first.stop() == 0  # ingest goes down; the broker keeps its session
            stopped = time.monotonic()
            if silent_gauge is not None:
                gauges.silent.add(silent_gauge)  # and one gauge really fails with it
            wait_for(lambda: bus.count() >= 1, 4 * INTERVAL_S + 10, "the no-data alert")
            wait_for(lambda: len(_silent_on_network(network)) == len(GAUGES), 10,
                     "the network's statuses to show the no-data alert")
            time.sleep(max(0.0, stopped + 4 * INTERVAL_S - time.monotonic()))  # "40 min"
            second = ingest(2)  # the broker hands it the backlog
            wait_for(lambda: bus.count() >= 2, 30, "the no-data clear")
            time.sleep(5 * INTERVAL_S)
            assert second.stop() == 0
        wait_for(lambda: not _silent_on_network(network), 10,
                 "the network's statuses to show the no-data alert cleared")
    finally:
        for process in (alerts, notify):
            if process.process is not None and process.process.poll() is None:
                process.stop()
    return bus, network


def _silent_on_network(network: Collected) -> set[str]:
    """Stations whose latest status on the disaster network names a no-data alert."""
    latest = {status["station"]: status
              for status in network.payloads("bousai/floodwatch/status/")}
    return {station for station, status in latest.items() if status.get("no_data")}


def _offline_raised(network: Collected) -> list[dict[str, Any]]:
    return [p for p in network.payloads("bousai/floodwatch/alerts/")
            if p["alert_type"] == "offline" and p["transition"] == "raised"]


def test_ingest_down_40_minutes_is_one_pipeline_alert_and_no_gauge_offline(
        tmp_path: Path, mosquitto: MosquittoServer,
        settings_env: Callable[..., dict[str, str]]) -> None:
    bus, network = outage(tmp_path, mosquitto, settings_env, silent_gauge=None)
    events = bus.payloads()
    assert [(e["scope"], e["transition"]) for e in events] == [
        ("all", "raised"), ("all", "cleared")]
    # Most of them at the raise (one whose last reading came late may join a tick later:
    # the network's statuses below show all 14 under the one alert).
    assert set(events[0]["stations"]) <= set(GAUGES)
    assert len(events[0]["stations"]) > len(GAUGES) / 2
    assert _offline_raised(network) == []
    named = {s["no_data"]["alert_id"] for s in network.payloads("bousai/floodwatch/status/")
             if s.get("no_data")}
    assert named == {events[0]["event_id"]}


def test_a_gauge_really_silent_through_the_outage_is_still_found(
        tmp_path: Path, mosquitto: MosquittoServer,
        settings_env: Callable[..., dict[str, str]]) -> None:
    bus, network = outage(tmp_path, mosquitto, settings_env, silent_gauge="g05")
    assert [(e["scope"], e["transition"]) for e in bus.payloads()] == [
        ("all", "raised"), ("all", "cleared")]
    offline = _offline_raised(network)
    assert [p["station"] for p in offline] == ["g05"]
    last = datetime.fromisoformat(offline[0]["detail"]["last_reading"])
    due = datetime.fromisoformat(offline[0]["at"])
    # On reading time: due 3 x interval after its last reading, as in a replay.
    assert (due - last).total_seconds() == pytest.approx(3 * INTERVAL_S, abs=0.01)
