"""Ingest throughput: backlog drain and live flood, floodwatch against mosquitto_sub."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.rig import Rig, mosquitto_sub, payloads, publish

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    name: str
    scenario: str
    received: int
    seconds: float
    lag_s: float | None = None

    @property
    def rate(self) -> float:
        return self.received / self.seconds


def start_ingest(rig: Rig, registry: Path, database: str, client_id: str,
                 share_group: str | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FLOODWATCH_MQTT_URL": rig.mosquitto.url,
           "FLOODWATCH_INFLUX_URL": rig.influx.url, "FLOODWATCH_INFLUX_DB": database,
           "FLOODWATCH_STATIONS": str(registry), "FLOODWATCH_INGEST_CLIENT_ID": client_id,
           "FLOODWATCH_STATE_DIR": str(rig.workdir / "state"),
           "FLOODWATCH_LOG_LEVEL": "warning"}
    if share_group:
        env["FLOODWATCH_INGEST_SHARE_GROUP"] = share_group
    return subprocess.Popen([sys.executable, "-m", "floodwatch", "ingest"], env=env,
                            cwd=REPO)


def wait_stored(rig: Rig, database: str, total: int, timeout_s: float = 600) -> float:
    started = time.perf_counter()
    while rig.count(database) < total:
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError(f"only {rig.count(database)} of {total} stored")
        time.sleep(0.1)
    return time.perf_counter()


def ingest_backlog(rig: Rig, total: int, stations: int) -> Result:
    registry = rig.registry(stations)
    database, client_id = "bench_backlog", "bench-ingest-backlog"
    first = start_ingest(rig, registry, database, client_id)
    time.sleep(3)  # the persistent session exists and is subscribed
    first.terminate()
    first.wait()
    publish(rig.mosquitto.port, payloads(total, stations))
    started = time.perf_counter()
    ingest = start_ingest(rig, registry, database, client_id)
    finished = wait_stored(rig, database, total)
    ingest.terminate()
    ingest.wait()
    stored = rig.count(database)
    rig.drop(database)
    return Result("floodwatch ingest", "backlog drain", stored, finished - started)


def mosquitto_sub_backlog(rig: Rig, total: int, stations: int) -> Result:
    client_id = "bench-sub-backlog"
    first = mosquitto_sub(rig.mosquitto.port, client_id, total)
    time.sleep(1)
    first.terminate()
    first.wait()
    publish(rig.mosquitto.port, payloads(total, stations))
    started = time.perf_counter()
    drain = mosquitto_sub(rig.mosquitto.port, client_id, total)
    drain.wait(timeout=600)
    return Result("mosquitto_sub (C)", "backlog drain", total, time.perf_counter() - started)


def ingest_live(rig: Rig, total: int, stations: int, workers: int = 1) -> Result:
    """Publishers and ``workers`` ingest processes (one shared group) run together."""
    registry = rig.registry(stations)
    database = f"bench_live_{workers}"
    group = "bench" if workers > 1 else None
    processes = [start_ingest(rig, registry, database, f"bench-live-{workers}-{i}", group)
                 for i in range(workers)]
    time.sleep(3)
    started = time.perf_counter()
    publish(rig.mosquitto.port, payloads(total, stations, offset=workers * total))
    published = time.perf_counter()
    finished = wait_stored(rig, database, total)
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait()
    stored = rig.count(database)
    rig.drop(database)
    name = "floodwatch ingest" + (f" x{workers} ($share)" if workers > 1 else "")
    result = Result(name, "live flood", stored, finished - started)
    result.lag_s = finished - published
    return result


def mosquitto_sub_live(rig: Rig, total: int, stations: int) -> Result:
    sub = mosquitto_sub(rig.mosquitto.port, "bench-sub-live", total, clean=True)
    time.sleep(1)
    started = time.perf_counter()
    publish(rig.mosquitto.port, payloads(total, stations))
    published = time.perf_counter()
    sub.wait(timeout=600)
    finished = time.perf_counter()
    result = Result("mosquitto_sub (C)", "live flood", total, finished - started)
    result.lag_s = finished - published
    return result


def main() -> None:
    from bench.rig import rig as make_rig  # noqa: PLC0415

    total = int(os.environ.get("BENCH_READINGS", "100000"))
    stations = 500
    with make_rig() as rig:
        results = [
            mosquitto_sub_backlog(rig, total, stations),
            ingest_backlog(rig, total, stations),
            mosquitto_sub_live(rig, total, stations),
            ingest_live(rig, total, stations),
            ingest_live(rig, total, stations, workers=2),
            ingest_live(rig, total, stations, workers=3),
        ]
    print(f"\n{total} QoS 1 readings over {stations} stations")
    print(f"| {'consumer':<28} | {'scenario':<13} | {'stored/received':>15} | "
          f"{'seconds':>8} | {'per second':>10} | {'lag after last publish':>22} |")
    print(f"|{'-' * 30}|{'-' * 15}|{'-' * 17}|{'-' * 10}|{'-' * 12}|{'-' * 24}|")
    for result in results:
        lag = f"{result.lag_s:.2f} s" if result.lag_s is not None else ""
        print(f"| {result.name:<28} | {result.scenario:<13} | {result.received:>15} | "
              f"{result.seconds:>8.2f} | {result.rate:>10.0f} | {lag:>22} |")


if __name__ == "__main__":
    main()
