"""Cost curve: ingest CPU per reading and resident memory at a fixed rate, for a growing
number of stations. The cost per reading should stay flat as stations grow.

    python -m bench.cost_curve --rate 1000 --seconds 20 --stations 100 1000 10000
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from dataclasses import dataclass

from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion

from bench.ingest_process import start_ingest, wait_connected
from bench.rig import Rig, payloads
from bench.stored import wait_stored

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Cost:
    stations: int
    readings: int
    rate: float
    cpu_us_per_reading: float
    rss_mb: float
    stored: int


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def paced_publish(port: int, messages: list[tuple[str, bytes]], rate: float) -> float:
    """QoS 1 at ``rate`` messages/s from one connection; returns the achieved rate."""
    window = threading.Semaphore(500)
    client = Client(CallbackAPIVersion.VERSION2, client_id=f"bench-paced-{os.getpid()}")
    client.max_inflight_messages_set(0)  # our own window (paho's queue scan is quadratic)
    client.on_publish = lambda *_: window.release()
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.perf_counter()
    for count, (topic, payload) in enumerate(messages):
        delay = started + count / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        window.acquire()
        client.publish(topic, payload, qos=1)
    for _ in range(500):
        window.acquire()
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return len(messages) / elapsed


def measure(rig: Rig, stations: int, rate: float, seconds: float) -> Cost:
    total = int(rate * seconds)
    database = f"bench_cost_{stations}"
    ingest = start_ingest(rig, rig.registry(stations), database, f"bench-cost-{stations}")
    try:
        wait_connected([ingest])
        time.sleep(1)  # let start-up work settle before the CPU clock starts
        cpu_before = _cpu_seconds(ingest.process.pid)
        achieved = paced_publish(rig.mosquitto.port, payloads(total, stations), rate)
        stored, _, _ = wait_stored(rig, database, total, quiet_s=15)
        cpu = _cpu_seconds(ingest.process.pid) - cpu_before
        rss = _rss_mb(ingest.process.pid)
    finally:
        ingest.stop()
    rig.drop(database)
    return Cost(stations, total, achieved, cpu / max(1, stored) * 1e6, rss, stored)


def run(rig: Rig, station_counts: list[int], rate: float, seconds: float) -> list[Cost]:
    return [measure(rig, stations, rate, seconds) for stations in station_counts]


def rows(costs: list[Cost]) -> list[list[str]]:
    return [[f"{c.stations:,}", f"{c.rate:,.0f}", f"{c.stored:,} / {c.readings:,}",
             f"{c.cpu_us_per_reading:.0f}", f"{c.rss_mb:.0f}"] for c in costs]


HEADER = ["stations", "readings/s (achieved)", "stored / published",
          "ingest CPU per reading (us)", "ingest RSS (MB)"]


def main() -> None:
    from bench.rig import rig as make_rig  # noqa: PLC0415
    from bench.table import print_rows  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--stations", type=int, nargs="+", default=[100, 1000, 10000])
    args = parser.parse_args()
    with make_rig() as rig:
        costs = run(rig, args.stations, args.rate, args.seconds)
    print_rows(HEADER, rows(costs))


if __name__ == "__main__":
    main()
