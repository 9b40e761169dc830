"""Alert latency: device publish -> alert event on ``floodwatch/alerts/{station}``, and on
to the disaster network (``bousai/floodwatch/alerts/{station}``, config/notify.yaml),
through the real ingest, alert and notify processes, under a steady background load.

Probe gauges sit at a baseline below the standby level; one at a time, a probe gets a
reading over its standby level (a rise smaller than the spike rule, so it is not taken for
a faulty sensor) and the clock runs from just before that PUBLISH until the "raised"
event arrives. Evaluation and commit cost per reading come from the alert process's own
Prometheus histograms (``floodwatch_alerts_evaluation_seconds`` and ``..._commit_...``).

    python -m bench.alert_latency --rate 1000 --probes 200
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion

from bench.rig import Rig, rig
from floodwatch.services.process import free_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE_M, OVER_STANDBY_M = 0.5, 1.2  # standby is 1.0 m in Rig.registry; spike rule 1.5 m


class EventLike(Protocol):
    def is_set(self) -> bool: ...


ListLike = Any  # a multiprocessing manager's list proxy


@dataclass
class LatencyResult:
    rate: float
    samples: list[float]
    bus_samples: list[float]
    network_samples: list[float]
    missing: int
    evaluation_us: float
    commit_us: float
    readings: int

    def percentile(self, share: float, samples: list[float] | None = None) -> float:
        ordered = sorted(self.samples if samples is None else samples)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    def _p50_p99(self, samples: list[float]) -> str:
        if not samples:
            return "-"
        return f"{self.percentile(0.50, samples):.1f} / {self.percentile(0.99, samples):.1f}"

    def rows(self) -> list[tuple[str, str]]:
        if not self.samples:
            return [("alert latency", f"no samples ({self.missing} probes missing)")]
        return [
            ("background load (readings/s, achieved)", f"{self.rate:,.0f}"),
            ("device -> alert event p50 (ms)", f"{self.percentile(0.50):.1f}"),
            ("device -> alert event p99 (ms)", f"{self.percentile(0.99):.1f}"),
            ("device -> alert event max (ms)", f"{max(self.samples) * 1000:.1f}"),
            ("  of which device -> bus reading p50 / p99 (ms)",
             self._p50_p99(self.bus_samples)),
            ("device -> disaster network p50 / p99 (ms)",
             self._p50_p99(self.network_samples)),
            ("  disaster network deliveries seen", f"{len(self.network_samples)}"),
            ("probes answered / missing", f"{len(self.samples)} / {self.missing}"),
            ("evaluation per reading (us, alert process)", f"{self.evaluation_us:.1f}"),
            ("SQLite commit per reading (us, alert process)", f"{self.commit_us:.1f}"),
        ]


def _reading(level: float) -> bytes:
    return json.dumps({"ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                       "level_m": level, "battery_v": 12.6}).encode()


def _client(port: int, name: str) -> Client:
    client = Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{name}-{os.getpid()}")
    client.max_inflight_messages_set(0)  # we pace ourselves; paho's queue scan is quadratic
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def _background(port: int, stations: list[str], rate: float, stop: EventLike,
                sent: ListLike) -> None:
    client = _client(port, "load")
    started = time.perf_counter()
    count = 0
    while not stop.is_set():
        due = started + count / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        client.publish(f"sensors/river/{stations[count % len(stations)]}",
                       _reading(BASELINE_M), qos=1)
        count += 1
    sent.append(count)
    sent.append(int((time.perf_counter() - started) * 1000))
    client.disconnect()
    client.loop_stop()


def _process(rig_: Rig, registry: str, database: str, argv: list[str],
             extra: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FLOODWATCH_MQTT_URL": rig_.mosquitto.url,
           "FLOODWATCH_INFLUX_URL": rig_.influx.url, "FLOODWATCH_INFLUX_DB": database,
           "FLOODWATCH_STATIONS": registry, "FLOODWATCH_STATE_DIR": str(rig_.workdir / "state"),
           "FLOODWATCH_LOG_LEVEL": "warning", **extra}
    return subprocess.Popen([sys.executable, "-m", *argv], env=env, cwd=REPO)


def _wait_connected(metrics_ports: list[int], timeout_s: float = 60) -> None:
    """Until every process says it is connected to the broker (a slow start on a busy
    machine must not lose the probes' first readings)."""
    deadline = time.monotonic() + timeout_s
    for port in metrics_ports:
        while True:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.HTTPError:
                text = ""
            if any(line.startswith("floodwatch_mqtt_connected{") and line.endswith(" 1.0")
                   for line in text.splitlines()):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("ingest or alerts did not connect to the broker")
            time.sleep(0.1)
    time.sleep(1)  # their SUBSCRIBEs follow the CONNACK


def _histogram(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(f"{name}_sum"):
            return float(line.split()[-1])
    return 0.0


def _counter(metrics: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in metrics.splitlines()
               if line.startswith(name))


def _start_stages(rig_: Rig, registry: str) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    """Ingest, alerts and notify (the shipped delivery config: the disaster network on the
    same broker, no social media); returns them and their metrics ports, in that order."""
    ports = [free_port() for _ in range(3)]
    stages = [
        _process(rig_, registry, "bench_alerts", ["floodwatch", "ingest"],
                 {"FLOODWATCH_INGEST_CLIENT_ID": "bench-alerts-ingest",
                  "FLOODWATCH_METRICS_PORT": str(ports[0])}),
        _process(rig_, registry, "bench_alerts", ["floodwatch", "alerts"],
                 {"FLOODWATCH_METRICS_PORT": str(ports[1])}),
        _process(rig_, registry, "bench_alerts", ["floodwatch", "notify"],
                 {"FLOODWATCH_METRICS_PORT": str(ports[2])}),
    ]
    return stages, ports


def run(rate: float = 1000, background_stations: int = 500, probes: int = 200,
        probe_interval_s: float = 0.1, warmup_s: float = 5) -> LatencyResult:
    with rig() as rig_:
        registry = rig_.registry(background_stations + probes)
        names = [f"g{index:05d}" for index in range(background_stations + probes)]
        load_names, probe_names = names[:background_stations], names[background_stations:]
        stages, metrics_ports = _start_stages(rig_, str(registry))
        arrived: dict[str, float] = {}
        on_bus: dict[str, float] = {}
        on_network: dict[str, float] = {}
        watcher = _client(rig_.mosquitto.port, "watch")

        def on_message(_c: Client, _u: object, message: MQTTMessage) -> None:
            document = json.loads(message.payload)
            if message.topic.startswith("floodwatch/readings/"):
                if document["values"].get("level_m") == OVER_STANDBY_M:
                    on_bus.setdefault(document["station"], time.perf_counter())
            elif message.topic.startswith("bousai/"):
                if document.get("transition") == "raised":
                    on_network.setdefault(document["station"], time.perf_counter())
            elif document.get("alert_type") == "river_level" and document.get(
                    "transition") == "raised":
                arrived.setdefault(document["station"], time.perf_counter())

        watcher.on_message = on_message
        # Only the probes' topics: decoding the whole background load in this process
        # would delay the very callbacks that take the arrival times.
        watcher.subscribe([(f"{prefix}/{station}", 1) for station in probe_names
                           for prefix in ("floodwatch/alerts", "floodwatch/readings/river",
                                          "bousai/floodwatch/alerts")])
        _wait_connected(metrics_ports)
        prober = _client(rig_.mosquitto.port, "probe")
        for station in probe_names:
            prober.publish(f"sensors/river/{station}", _reading(BASELINE_M), qos=1)
        # The load runs in its own process, so its publishing never holds the GIL
        # while this process timestamps probes.
        manager = multiprocessing.Manager()
        stop, sent = manager.Event(), manager.list()
        load = multiprocessing.Process(target=_background,
                                       args=(rig_.mosquitto.port, load_names, rate, stop, sent))
        load.start()
        time.sleep(warmup_s)
        published: dict[str, float] = {}
        try:
            for station in probe_names:
                published[station] = time.perf_counter()
                prober.publish(f"sensors/river/{station}", _reading(OVER_STANDBY_M), qos=1)
                time.sleep(probe_interval_s)
            deadline = time.perf_counter() + 10
            while (len(arrived) < len(published) or len(on_network) < len(published)) \
                    and time.perf_counter() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            load.join()
            load_counts = list(sent)
            manager.shutdown()
            metrics = httpx.get(f"http://127.0.0.1:{metrics_ports[1]}/metrics").text
            for process in stages:
                process.terminate()
                process.wait(30)
            for client in (watcher, prober):
                client.disconnect()
                client.loop_stop()
        readings = max(1.0, _counter(metrics, "floodwatch_alerts_readings_total"))
        samples = [arrived[s] - published[s] for s in published if s in arrived]
        return LatencyResult(
            rate=load_counts[0] / (load_counts[1] / 1000), samples=samples,
            bus_samples=[on_bus[s] - published[s] for s in published if s in on_bus],
            network_samples=[on_network[s] - published[s] for s in published if s in on_network],
            missing=len(published) - len(samples),
            evaluation_us=_histogram(metrics, "floodwatch_alerts_evaluation_seconds")
            / readings * 1e6,
            commit_us=_histogram(metrics, "floodwatch_alerts_commit_seconds") / readings * 1e6,
            readings=int(readings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000, help="background readings/s")
    parser.add_argument("--stations", type=int, default=500, help="background stations")
    parser.add_argument("--probes", type=int, default=200, help="latency samples")
    args = parser.parse_args()
    result = run(args.rate, args.stations, args.probes)
    width = max(len(name) for name, _ in result.rows())
    for name, value in result.rows():
        print(f"{name:<{width}}  {value}")
    print(f"(median of samples: {statistics.median(result.samples) * 1000:.1f} ms)"
          if result.samples else "")


if __name__ == "__main__":
    main()
