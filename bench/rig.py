"""A private Mosquitto + InfluxDB for one benchmark run, and the flood of readings."""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from floodwatch.services.process import free_port
from floodwatch.services.servers import InfluxServer, MosquittoServer


@dataclass
class Rig:
    workdir: Path
    mosquitto: MosquittoServer
    influx: InfluxServer

    def registry(self, stations: int) -> Path:
        path = self.workdir / f"stations-{stations}.yaml"
        lines = ["stations:"]
        for index in range(stations):
            lines.append(
                f"  - {{id: g{index:05d}, kind: river, name: {{ja: g{index}, en: g{index}}},"
                f" river: abukuma, basin: abukuma, location: {{lat: 37.5, lon: 140.4}},"
                f" interval_s: 60, levels_m: {{standby: 1, caution: 2, evacuation: 3,"
                f" danger: 4}}}}")
        path.write_text("\n".join(lines) + "\n")
        return path

    def count(self, database: str, measurement: str = "river") -> int:
        response = httpx.get(f"{self.influx.url}/query",
                             params={"db": database,
                                     "q": f'SELECT count("level_m") FROM "{measurement}"'})
        series = response.json()["results"][0].get("series")
        return int(series[0]["values"][0][1]) if series else 0

    def create(self, database: str) -> None:
        """Before a consumer's clock starts, as bench.nodered does for Node-RED and as in
        production after the first start (creating it cost ingest ~0.2 s of a 3 s drain)."""
        httpx.post(f"{self.influx.url}/query",
                   params={"q": f'CREATE DATABASE "{database}"'}).raise_for_status()

    def drop(self, database: str) -> None:
        httpx.post(f"{self.influx.url}/query", params={"q": f'DROP DATABASE "{database}"'})


@contextmanager
def rig() -> Iterator[Rig]:
    with tempfile.TemporaryDirectory(prefix="floodwatch-bench-") as tmp:
        root = Path(tmp)
        mosquitto = MosquittoServer(free_port(), root / "mosquitto")
        influx = InfluxServer(free_port(), free_port(), root / "influxdb")
        mosquitto.start()
        influx.start()
        try:
            yield Rig(root, mosquitto, influx)
        finally:
            mosquitto.stop()
            influx.stop()


def payloads(total: int, stations: int, offset: int = 0) -> list[tuple[str, bytes]]:
    """``total`` device-contract readings (~90 bytes), unique station + timestamp."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    messages = []
    for sequence in range(offset, offset + total):
        station = sequence % stations
        ts = (start + timedelta(seconds=sequence // stations)).isoformat()
        body = {"ts": ts, "level_m": round(1 + (sequence % 997) / 1000, 3),
                "rain_mm": 4.5, "battery_v": 12.6}
        messages.append((f"sensors/river/g{station:05d}", json.dumps(body).encode()))
    return messages


def publish(port: int, messages: list[tuple[str, bytes]], publishers: int = 2) -> float:
    """Publish at QoS 1 from ``publishers`` connections; returns when all are PUBACKed."""
    def run(chunk: list[tuple[str, bytes]], index: int) -> None:
        # Our own window of 500 unacknowledged, paho's limit off: paho rescans its whole
        # queue on every PUBACK, which makes a large queue quadratic.
        window = threading.Semaphore(500)
        client = Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{index}")
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)
        client.on_publish = lambda *_: window.release()
        client.connect("127.0.0.1", port)
        client.loop_start()
        for topic, payload in chunk:
            window.acquire()
            client.publish(topic, payload, qos=1)
        for _ in range(500):
            window.acquire()
        client.disconnect()
        client.loop_stop()

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(messages[i::publishers], i))
               for i in range(publishers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def mosquitto_sub(port: int, client_id: str, count: int, clean: bool = False
                  ) -> subprocess.Popen[bytes]:
    """The C client on a persistent QoS 1 session, exiting after ``count`` messages."""
    argv = ["mosquitto_sub", "-p", str(port), "-q", "1", "-i", client_id, "-t",
            "sensors/river/+", "-C", str(count)]
    if not clean:
        argv.append("-c")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL)


def create_session(port: int, client_id: str, topics: list[str]) -> None:
    """Leave a persistent MQTT 5 session subscribed to ``topics`` on the broker, as the
    consumer's first run would, so every later publish queues for it (deterministic,
    unlike starting the consumer and guessing when it has subscribed)."""
    subscribed = threading.Event()
    client = Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                    protocol=MQTTProtocolVersion.MQTTv5)
    client.on_subscribe = lambda *_: subscribed.set()
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 3600
    client.connect("127.0.0.1", port, clean_start=False, properties=properties)
    client.loop_start()
    client.subscribe([(topic, SubscribeOptions(qos=1)) for topic in topics])
    if not subscribed.wait(10):
        raise TimeoutError(f"could not subscribe {client_id}")
    client.disconnect()
    client.loop_stop()


def forget_session(port: int, client_id: str) -> None:
    """Delete a consumer's persistent session once its run is over (its process gone).

    Left on the broker, it would have every later flood of the run queued for it --
    and saved to disk every 5 s (autosave_interval) -- so each part would load the broker
    more than the one before it (measured: Mosquitto's CPU per reading drained grew
    18 -> 29 us over three drains with the sessions kept)."""
    connected = threading.Event()
    client = Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                    protocol=MQTTProtocolVersion.MQTTv5)
    refused: list[str] = []

    def on_connect(_client: Client, _userdata: object, _flags: object, reason: Any,
                   _properties: object) -> None:
        if reason.is_failure:
            refused.append(str(reason))
        connected.set()

    client.on_connect = on_connect
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 0  # clean start drops the old; this one dies too
    client.connect("127.0.0.1", port, clean_start=True, properties=properties)
    client.loop_start()
    try:
        if not connected.wait(10) or refused:
            raise TimeoutError(f"could not connect as {client_id} to forget its session"
                               f" {refused}")
    finally:
        client.disconnect()
        client.loop_stop()
