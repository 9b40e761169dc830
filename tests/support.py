"""Helpers for tests that drive real processes: ingest as a subprocess, MQTT, InfluxDB."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion

REPO_ROOT = Path(__file__).resolve().parent.parent
ALERT_RULES_FILE = REPO_ROOT / "config" / "alert-rules.yaml"


def wait_for(check: Callable[[], bool], timeout_s: float, what: str,
              interval_s: float = 0.05) -> float:
    """Poll until ``check()``; returns the seconds it took. Fails the test on timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def write_stations(folder: Path, registry_yaml: str) -> Path:
    """``registry_yaml`` as ``folder``/stations.yaml, for a stage's FLOODWATCH_STATIONS."""
    path = folder / "stations.yaml"
    path.write_text(registry_yaml, encoding="utf-8")
    return path


def bus_stage_env(mqtt_url: str, influx: InfluxQuery, stations: Path,
                  state_dir: Path) -> dict[str, str]:
    """What every stage process on the bus and InfluxDB needs in its environment, with
    the shipped alert rules; each test adds its stage's client id and its own settings."""
    return {
        "FLOODWATCH_MQTT_URL": mqtt_url,
        "FLOODWATCH_INFLUX_URL": influx.url,
        "FLOODWATCH_INFLUX_DB": influx.database,
        "FLOODWATCH_STATIONS": str(stations),
        "FLOODWATCH_ALERTS_RULES": str(ALERT_RULES_FILE),
        "FLOODWATCH_STATE_DIR": str(state_dir),
    }


class InfluxQuery:
    """Synchronous InfluxQL for assertions (the code under test uses core.influx)."""

    def __init__(self, url: str, database: str) -> None:
        self.url = url
        self.database = database

    def rows(self, influxql: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/query",
                             params={"db": self.database, "q": influxql, "epoch": "ns"})
        response.raise_for_status()
        rows: list[dict[str, Any]] = []
        for result in response.json().get("results", []):
            assert "error" not in result or "database not found" in result["error"], result
            for series in result.get("series", []):
                for values in series["values"]:
                    row = dict(zip(series["columns"], values, strict=True))
                    row.update(series.get("tags", {}))
                    row["_measurement"] = series["name"]
                    rows.append(row)
        return rows

    def count(self, measurement: str, field_name: str) -> int:
        rows = self.rows(f'SELECT count("{field_name}") FROM "{measurement}"')
        return int(rows[0]["count"]) if rows else 0


@dataclass
class Collected:
    messages: list[tuple[str, bytes, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def payloads(self, topic_prefix: str = "") -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(payload) for topic, payload, _ in self.messages
                    if topic.startswith(topic_prefix)]

    def count(self, topic_prefix: str = "") -> int:
        with self.lock:
            return sum(1 for topic, _, _ in self.messages if topic.startswith(topic_prefix))

    def __len__(self) -> int:
        with self.lock:
            return len(self.messages)


@contextmanager
def collect(port: int, *topics: str) -> Iterator[Collected]:
    """Subscribe (QoS 1) to ``topics`` for the duration of the block."""
    collected = Collected()
    subscribed = threading.Event()
    client = Client(CallbackAPIVersion.VERSION2, client_id=f"collector-{time.monotonic_ns()}")

    def on_message(_c: Client, _u: object, message: MQTTMessage) -> None:
        with collected.lock:
            collected.messages.append((message.topic, bytes(message.payload), time.monotonic()))

    client.on_message = on_message
    client.on_subscribe = lambda *_args: subscribed.set()
    client.on_connect = lambda c, *_args: c.subscribe([(topic, 1) for topic in topics])
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert subscribed.wait(5), "collector did not subscribe"
        yield collected
    finally:
        client.disconnect()
        client.loop_stop()


def mosquitto_pub(port: int, topic: str, payload: str | bytes, qos: int = 1) -> None:
    """One message through the real C client, as a field device or an operator would."""
    data = payload.encode() if isinstance(payload, str) else payload
    subprocess.run(
        ["mosquitto_pub", "-p", str(port), "-q", str(qos), "-t", topic, "-s"],
        input=data, check=True, timeout=10,
    )


def mosquitto_pub_lines(port: int, topic: str, lines: list[str], linger_s: float = 2.0
                        ) -> subprocess.Popen[bytes]:
    """Publish each line as one message with ``mosquitto_pub -l``. Its input stays open
    for ``linger_s`` after the last line: it exits before sending everything otherwise."""
    process = subprocess.Popen(
        ["mosquitto_pub", "-p", str(port), "-q", "1", "-t", topic, "-l"],
        stdin=subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write(("\n".join(lines) + "\n").encode())
    process.stdin.flush()
    stdin = process.stdin

    def close_later() -> None:
        time.sleep(linger_s)
        stdin.close()

    threading.Thread(target=close_later, daemon=True).start()
    return process


class FloodwatchProcess:
    """A ``floodwatch`` subcommand as a real subprocess, configured only by its
    environment; started means every one of ``READY`` has been logged."""

    SUBCOMMAND: tuple[str, ...] = ()
    READY: tuple[str, ...] = ()

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.env = {**os.environ, **env, "FLOODWATCH_LOG_FORMAT": "json"}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait_subscribed: bool = True) -> Self:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "floodwatch", *self.SUBCOMMAND],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
            )
        if wait_subscribed:
            wait_for(lambda: all(self.log_events(event) for event in self.READY)
                     or self._exited(), 30, f"floodwatch {' '.join(self.SUBCOMMAND)} to start")
            assert not self._exited(), self.log_text()
        return self

    def _exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_events(self, event: str) -> list[dict[str, Any]]:
        events = []
        for line in self.log_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("event") == event:
                events.append(record)
        return events

    def stop(self, signum: int = signal.SIGTERM, timeout_s: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout=timeout_s)


class IngestProcess(FloodwatchProcess):
    SUBCOMMAND = ("ingest",)
    READY = ("subscribed",)


class StackProcess(FloodwatchProcess):
    """``floodwatch up``: every stage in one process."""

    SUBCOMMAND = ("up",)
    READY = ("ingest running", "forecast running", "alerts running", "notify running",
             "api ready")


class AlertsStageProcess(FloodwatchProcess):
    SUBCOMMAND = ("alerts",)
    READY = ("alerts running",)


class NotifyStageProcess(FloodwatchProcess):
    SUBCOMMAND = ("notify",)
    READY = ("notify running",)


class ApiProcess(FloodwatchProcess):
    SUBCOMMAND = ("api",)
    READY = ("api ready",)


def gauges_yaml(basins: dict[str, int], interval_s: int) -> str:
    """A registry of river gauges g00, g01, ... -- ``count`` in each basin, in order --
    reporting every ``interval_s``, their levels far above the readings tests send."""
    lines = ["stations:"]
    number = 0
    for basin, count in basins.items():
        for _ in range(count):
            lines.append(
                f"  - {{id: g{number:02d}, kind: river, name: {{ja: 観測所{number},"
                f" en: G{number}}}, river: {basin}, basin: {basin},"
                f" location: {{lat: 37.5, lon: 140.4}}, interval_s: {interval_s},"
                f" levels_m: {{standby: 5, caution: 6, evacuation: 7, danger: 8}}}}")
            number += 1
    return "\n".join(lines) + "\n"
