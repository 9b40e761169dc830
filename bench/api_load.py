"""API benchmark: latency of the latest-readings and 30-day history endpoints at a fixed
request rate, and the live feed's delivery delay to many WebSocket clients.

On a private Mosquitto + InfluxDB (bench.rig): N river gauges with D days of readings
every I seconds (500 x 30 days x 10 min = 2.16 M points, written in batches of 5,000),
then ``floodwatch api`` as its own process. Latency is measured with locust (PyPI,
installed with the dev dependencies) at a fixed offered load; the WebSocket fan-out by
bench/api_ws.py. Figures are printed, never asserted. Targets (issue #6): p99 < 50 ms
for latest, < 250 ms for a 30-day history, < 500 ms to all 1,000 WebSocket clients.

    python -m bench.api_load                                   # the full run
    python -m bench.api_load --stations 50 --days 3 --duration 10 --ws-clients 100
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.api_data import station_id, write_history, write_registry
from bench.api_ws import FanOut, measure
from bench.rig import Rig, rig
from floodwatch.core.influx import InfluxClient
from floodwatch.services.process import free_port

REPO = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).with_name("api_locustfile.py")
DATABASE = "bench_api"
KEY = "bench-viewer-key-0123456789"


@dataclass
class Latency:
    name: str
    requests: int
    failures: int
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    phase: str = ""


def start_api(bench: Rig, registry: Path, port: int,
              extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, **(extra_env or {}), "FLOODWATCH_MQTT_URL": bench.mosquitto.url,
           "FLOODWATCH_INFLUX_URL": bench.influx.url, "FLOODWATCH_INFLUX_DB": DATABASE,
           "FLOODWATCH_STATIONS": str(registry), "FLOODWATCH_API_PORT": str(port),
           "FLOODWATCH_API_KEYS": f"viewer:{KEY}", "FLOODWATCH_LOG_LEVEL": "warning",
           "FLOODWATCH_STATE_DIR": str(bench.workdir / "state")}
    process = subprocess.Popen([sys.executable, "-m", "floodwatch", "api"], env=env, cwd=REPO)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"floodwatch api exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError("floodwatch api did not become ready in 60 s")


def first_latest_ms(base_url: str) -> float:
    """The first /latest waits for InfluxDB's newest point of every series (started at
    start-up); measured apart so the table shows the steady state."""
    started = time.perf_counter()
    response = httpx.get(f"{base_url}/api/v1/latest", timeout=120,
                         headers={"Authorization": f"Bearer {KEY}"})
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000


def run_locust(scenario: str, base_url: str, args: argparse.Namespace) -> Latency:
    users = args.users
    env = {**os.environ, "API_BENCH_SCENARIO": scenario, "API_BENCH_KEY": KEY,
           "API_BENCH_RATE_PER_USER": str(args.rate / users),
           "API_BENCH_STATIONS": str(args.stations), "API_BENCH_DAYS": str(args.days)}
    with tempfile.TemporaryDirectory(prefix="api-bench-locust-") as tmp:
        prefix = Path(tmp) / scenario
        # locust's own summary goes to stderr: shown only if it fails.
        run = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
             "--host", base_url, "-u", str(users), "-r", str(users),
             "-t", f"{args.duration}s", "--csv", str(prefix), "--only-summary",
             "--loglevel", "WARNING", "--exit-code-on-error", "0"],
            env=env, cwd=REPO, check=False, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"locust failed ({run.returncode}):\n{run.stderr[-2000:]}")
        with open(f"{prefix}_stats.csv", newline="") as stats:
            row = next(r for r in csv.DictReader(stats) if r["Name"] == scenario)
    return Latency(scenario, int(row["Request Count"]), int(row["Failure Count"]),
                   float(row["Requests/s"]), float(row["50%"]), float(row["99%"]),
                   float(row["Max Response Time"]))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def print_table(args: argparse.Namespace, points: int, write_s: float,
                latencies: list[Latency], fan_out: FanOut | None) -> None:
    print(f"\nAPI benchmark: {args.stations} stations, {args.days:g} days every "
          f"{args.interval_s} s = {points:,} points (written in {write_s:.1f} s, "
          f"{points / write_s:,.0f} points/s)")
    print(f"{'endpoint':<28}{'offered/s':>10}{'done/s':>9}{'requests':>10}{'errors':>8}"
          f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'target p99':>12}")
    targets = {"latest": "< 50 ms", "history": "< 250 ms"}
    for result in latencies:
        name = "latest" if result.name == "latest" else f"history {args.days:g} d"
        name += f" ({result.phase})" if result.phase else ""
        print(f"{name:<28}{args.rate:>10.0f}{result.rate:>9.1f}{result.requests:>10}"
              f"{result.failures:>8}{result.p50_ms:>9.0f}{result.p99_ms:>9.0f}"
              f"{result.max_ms:>9.0f}{targets[result.name]:>12}")
    if fan_out is not None and fan_out.delays:
        delays, to_all = fan_out.all_delays(), fan_out.to_all()
        print(f"\nWebSocket fan-out: {fan_out.clients} clients, {len(fan_out.delays)} "
              f"readings, {fan_out.missing} deliveries missing")
        if delays:
            print(f"  per delivery   p50 {statistics.median(delays) * 1000:7.1f} ms   "
                  f"p99 {_percentile(delays, 0.99) * 1000:7.1f} ms   "
                  f"max {max(delays) * 1000:7.1f} ms")
        if to_all:
            print(f"  to all clients p50 {statistics.median(to_all) * 1000:7.1f} ms   "
                  f"p99 {_percentile(to_all, 0.99) * 1000:7.1f} ms   "
                  f"max {max(to_all) * 1000:7.1f} ms   (target < 500 ms)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api_load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--interval-s", type=int, default=600)
    parser.add_argument("--rate", type=float, default=200.0, help="offered requests/s")
    parser.add_argument("--users", type=int, default=40,
                        help="locust users sharing the rate (each paces itself)")
    parser.add_argument("--duration", type=int, default=60, help="seconds per endpoint")
    parser.add_argument("--ws-clients", type=int, default=1000)
    parser.add_argument("--ws-readings", type=int, default=20)
    parser.add_argument("--skip", action="append", default=[],
                        choices=["latest", "history", "ws"])
    args = parser.parse_args(argv)

    with rig() as bench:
        registry = write_registry(bench.workdir, args.stations, args.interval_s)

        async def fill() -> tuple[int, float]:
            async with InfluxClient(bench.influx.url, DATABASE, timeout_s=60) as influx:
                return await write_history(influx, args.stations, args.days,
                                           args.interval_s)

        points, write_s = asyncio.run(fill())
        port = free_port()
        # Every client here is 127.0.0.1, where in the field the 1,000 live clients are
        # as many addresses: the per-address caps (20 live streams by default, measured
        # by bench/api_connections.py) would refuse all but 20 of them.
        clients = args.ws_clients + args.users
        api = start_api(bench, registry, port, {
            "FLOODWATCH_API_MAX_LIVE_PER_CLIENT": str(args.ws_clients),
            "FLOODWATCH_API_MAX_CONNECTIONS_PER_CLIENT": str(clients),
            "FLOODWATCH_API_MAX_REQUESTS_PER_CLIENT": str(clients)})
        try:
            base_url = f"http://127.0.0.1:{port}"
            first_ms = first_latest_ms(base_url)
            latencies = [run_locust("latest", base_url, args)] if "latest" not in args.skip else []
            if "history" not in args.skip:
                # Right after start every chart is a miss; then the shared cache serves
                # (and refreshes) them: both phases are reported, the second as long again
                # so that entries expire and are refreshed within it.
                for phase in ("cold cache", "warm cache"):
                    latencies.append(run_locust("history", base_url, args))
                    latencies[-1].phase = phase
            fan_out = None
            if "ws" not in args.skip:
                fan_out = asyncio.run(measure(
                    f"ws://127.0.0.1:{port}/api/v1/live/ws?access_token={KEY}",
                    bench.mosquitto.port, station_id(0), clients=args.ws_clients,
                    probes=args.ws_readings))
        finally:
            api.terminate()
            api.wait(30)
    print_table(args, points, write_s, latencies, fan_out)
    print(f"\nfirst /latest after start (warm-up, not in the table): {first_ms:.0f} ms")


if __name__ == "__main__":
    main()
