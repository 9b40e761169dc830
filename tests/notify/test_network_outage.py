"""The disaster network's broker down for a minute in the middle of a storm, through the
real notify process: afterwards every event arrives, and per station in sequence order --
a console showing each station's latest message never shows a stale alert."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from floodwatch.core.mqtt import connect_properties
from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationRegistry
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.alerts.conftest import river
from tests.alerts.process import publish_all
from tests.notify.support import bus_messages, events_of
from tests.support import NotifyStageProcess, gauges_yaml, wait_for

pytestmark = pytest.mark.slow

STATIONS = 24
OUTAGE_S = 60.0
CONFIG = """
network:
  cap_topic: pref/cap/{station}
  json_topic: pref/json/{station}
  status_topic: pref/status/{station}
"""
# Up through caution (6 m), evacuation (7) and danger (8) and back down to the all-clear,
# never more than the 1 m a gauge may move between readings; each level held 30 minutes.
LEVELS = [4.6, 5.5, 6.4, 7.3, 8.2, 7.3, 6.4, 5.5, 4.6, 4.0]


def storm_readings() -> list[Reading]:
    """Every gauge through LEVELS, each 10 minutes behind the previous one."""
    readings = []
    for number in range(STATIONS):
        for step, level in enumerate(LEVELS):
            for repeat in range(3):
                minutes = 10 * number + 30 * step + 10 * repeat
                readings.append(river(f"g{number:02d}", minutes, level))
    return sorted(readings, key=lambda reading: reading.ts)


class Console:
    """A console on the disaster network: a persistent session (it gets what was sent
    while it was reconnecting), recording each event's first arrival -- receivers
    de-duplicate by event id."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, int]] = []  # (station, seq)
        self.repeats = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def on_message(self, _client: Client, _user: object, message: MQTTMessage) -> None:
        event = json.loads(message.payload)
        with self._lock:
            if event["event_id"] in self._seen:
                self.repeats += 1
                return
            self._seen.add(event["event_id"])
            self.arrivals.append((event["station"], event["seq"]))

    def seen(self) -> set[str]:
        with self._lock:
            return set(self._seen)


@contextmanager
def console_on(port: int) -> Iterator[Console]:
    console = Console()
    subscribed = threading.Event()
    client = Client(CallbackAPIVersion.VERSION2, client_id=f"console-{uuid.uuid4().hex[:8]}",
                    protocol=MQTTProtocolVersion.MQTTv5)
    client.reconnect_delay_set(1, 1)  # back soon after the broker is
    client.on_connect = lambda c, *_: c.subscribe("pref/json/#", qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = console.on_message
    client.connect("127.0.0.1", port, clean_start=False,
                   properties=connect_properties(session_expiry_s=3600))
    client.loop_start()
    try:
        assert subscribed.wait(5), "the console did not subscribe"
        yield console
    finally:
        client.disconnect()
        client.loop_stop()


def inversions(arrivals: list[tuple[str, int]]) -> int:
    """Arrivals of a station's event after a later event of the same station."""
    latest: dict[str, int] = {}
    count = 0
    for station, seq in arrivals:
        if seq < latest.get(station, -1):
            count += 1
        latest[station] = max(seq, latest.get(station, -1))
    return count


def test_network_broker_down_60_s_mid_storm_every_station_stays_in_order(
        tmp_path: Path, mosquitto: MosquittoServer,
        settings_env: Callable[..., dict[str, str]]) -> None:
    registry_file = tmp_path / "stations.yaml"
    registry_file.write_text(gauges_yaml({"abukuma": STATIONS}, 600), encoding="utf-8")
    registry = StationRegistry.load(registry_file)
    events = events_of(registry, storm_readings())
    transitions = {event.transition.value for event in events}
    assert {"raised", "escalated", "deescalated", "cleared"} <= transitions
    messages = bus_messages(registry, events)  # JSON then CAP of each event
    expected = {event.event_id for event in events}
    notify_config = tmp_path / "notify.yaml"
    notify_config.write_text(CONFIG, encoding="utf-8")
    network = MosquittoServer(free_port(), tmp_path / "network")
    network.start()
    env = settings_env(registry_file, notify_config=notify_config,
                       notify_client_id=f"notify-{uuid.uuid4().hex[:8]}",
                       notify_network_url=network.url)
    try:
        with console_on(network.port) as console:
            notify = NotifyStageProcess(env, tmp_path / "notify.log").start()
            try:
                half = len(messages) // 4 * 2  # whole events
                publish_all(mosquitto.port, messages[:half])
                wait_for(lambda: len(console.seen()) >= 20, 30, "the storm's first events")
                network.stop()  # mid-storm: the rest is published while it is away
                stopped = time.monotonic()
                publish_all(mosquitto.port, messages[half:])
                time.sleep(max(0.0, stopped + OUTAGE_S - time.monotonic()))
                network.start()  # the same port, its sessions kept on disk
                wait_for(lambda: console.seen() == expected, 120,
                         "every event once the network broker is back")
            finally:
                assert notify.stop() == 0
    finally:
        network.stop()
    delivered = notify.log_events("delivered")
    failed = notify.log_events("delivery failed; will retry")
    assert failed, "the outage was not noticed: nothing to prove"
    assert len(delivered) >= len(expected)
    count = inversions(console.arrivals)
    print(f"{len(expected)} events from {STATIONS} stations; per-station order inversions "
          f"on the disaster network after a {OUTAGE_S:g} s outage: {count} "
          f"({console.repeats} repeats de-duplicated)")
    assert count == 0
