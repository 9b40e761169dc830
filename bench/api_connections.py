"""Connection caps under a flood from one address (issue 21, item 5).

On a private Mosquitto + InfluxDB (bench.rig), ``floodwatch api`` as its own process with
its live-feed caps set; then ATTEMPTS WebSocket connections from this one address, at
most CONCURRENCY opening at a time, each held open if accepted until every attempt is
done, then all closed. Printed: how many were accepted and refused (and with which
status), the API process's RSS at baseline, at its peak and after the clients left, its
live-client gauge afterwards, and the latency of /api/v1/latest and of one station
(/api/v1/stations/{id}) measured by a separate thread throughout. Figures are printed,
never asserted. Targets: the cap holds, RSS back within 20 % of baseline, p99 < 50 ms.

    python -m bench.api_connections                        # 3,000 attempts
    python -m bench.api_connections --attempts 500 --live-per-client 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.api_data import station_id, write_history, write_registry
from bench.api_load import DATABASE, KEY, start_api
from bench.rig import rig
from floodwatch.core.influx import InfluxClient
from floodwatch.core.settings import Settings
from floodwatch.services.process import free_port

HEADERS = {"Authorization": f"Bearer {KEY}"}
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LIVE_GAUGE = re.compile(r"^floodwatch_api_live_clients (\S+)$", re.MULTILINE)


@dataclass
class Flood:
    accepted: list[ClientConnection] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # "status/close code" -> count
    failed: Counter[str] = field(default_factory=Counter)  # exception type -> count


def probe_latency(base_url: str, stations: int, stop: Any, results: Any) -> None:
    """GET /latest and one station's detail, alternately, every 20 ms until ``stop``.
    Run in a process of its own: in the flood's process its timings would include
    waiting for the GIL behind 200 WebSocket handshakes."""
    # (wall-clock time, ms) per request: the report keeps those sent during a flood.
    latency_ms: dict[str, list[tuple[float, float]]] = {"latest": [], "station": []}
    errors: Counter[int] = Counter()
    with httpx.Client(base_url=base_url, headers=HEADERS, timeout=30) as client:
        count = 0
        while not stop.is_set():
            name = "latest" if count % 2 == 0 else "station"
            path = ("/api/v1/latest" if name == "latest"
                    else f"/api/v1/stations/{station_id(count % stations)}")
            sent, started = time.time(), time.perf_counter()
            response = client.get(path)
            latency_ms[name].append((sent, (time.perf_counter() - started) * 1000))
            if response.status_code != 200:
                errors[response.status_code] += 1
            count += 1
            time.sleep(0.02)
    results.put((latency_ms, dict(errors)))


class Sampler:
    """The API's RSS (a thread reading /proc) and request latency (a process)."""

    def __init__(self, base_url: str, pid: int, stations: int) -> None:
        self.pid = pid
        self.peak_rss = 0
        self.latency_ms: dict[str, list[tuple[float, float]]] = {}
        self.errors: dict[int, int] = {}
        context = multiprocessing.get_context("spawn")
        self.stop = context.Event()
        self.results: Any = context.Queue()
        self.prober = context.Process(target=probe_latency, daemon=True,
                                      args=(base_url, stations, self.stop, self.results))
        self.rss_thread = threading.Thread(target=self._rss, daemon=True)

    def start(self) -> None:
        self.prober.start()
        self.rss_thread.start()

    def _rss(self) -> None:
        while not self.stop.is_set():
            self.peak_rss = max(self.peak_rss, rss(self.pid))
            time.sleep(0.05)

    def finish(self) -> None:
        self.stop.set()
        self.latency_ms, self.errors = self.results.get(timeout=60)
        self.prober.join(30)
        self.rss_thread.join()


async def attempt(url: str, gate: asyncio.Semaphore, flood: Flood) -> None:
    async with gate:
        try:
            websocket = await connect(url, additional_headers=HEADERS, open_timeout=60)
            first = json.loads(await asyncio.wait_for(websocket.recv(), 60))
        except (OSError, TimeoutError, ConnectionClosed) as exc:
            flood.failed[type(exc).__name__] += 1
            return
        if first.get("type") == "snapshot":
            flood.accepted.append(websocket)
            return
        status = first.get("problem", {}).get("status")
        try:
            await asyncio.wait_for(websocket.recv(), 60)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            flood.refused[f"{status}/{code}"] += 1
            return
        flood.refused[f"{status}/no close"] += 1


async def run_flood(url: str, attempts: int, concurrency: int, hold_s: float) -> Flood:
    flood = Flood()
    gate = asyncio.Semaphore(concurrency)
    await asyncio.gather(*(attempt(url, gate, flood) for _ in range(attempts)))
    await asyncio.sleep(hold_s)
    await asyncio.gather(*(ws.close() for ws in flood.accepted), return_exceptions=True)
    return flood


def rss(pid: int) -> int:
    """Resident set size in bytes (Linux /proc: no extra package for one number)."""
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def live_clients(base_url: str) -> float:
    found = LIVE_GAUGE.search(httpx.get(f"{base_url}/metrics", timeout=10).text)
    return float(found.group(1)) if found else float("nan")


def _pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


DEFAULT_LIVE_PER_CLIENT = Settings.model_fields["api_max_live_per_client"].default
DEFAULT_LIVE_TOTAL = Settings.model_fields["api_max_live_clients"].default


@dataclass
class Round:
    flood: Flood
    started: float  # wall-clock time.time()
    ended: float
    rss_after: int
    api_cpu_s: float  # the API process's CPU during the flood

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api_connections",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attempts", type=int, default=3000, help="per round")
    parser.add_argument("--rounds", type=int, default=2,
                        help="floods one after the other: a leak grows RSS round by round")
    parser.add_argument("--concurrency", type=int, default=200,
                        help="WebSocket handshakes in flight at once")
    parser.add_argument("--live-per-client", type=int, default=DEFAULT_LIVE_PER_CLIENT,
                        help="FLOODWATCH_API_MAX_LIVE_PER_CLIENT of the API under test "
                        "(default: the setting's default)")
    parser.add_argument("--live-total", type=int, default=DEFAULT_LIVE_TOTAL,
                        help="FLOODWATCH_API_MAX_LIVE_CLIENTS of the API under test")
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--hold-s", type=float, default=3.0,
                        help="accepted clients stay this long after the last attempt")
    parser.add_argument("--settle-s", type=float, default=10.0,
                        help="RSS is read this long after the clients closed")
    args = parser.parse_args(argv)
    env = {"FLOODWATCH_API_MAX_LIVE_PER_CLIENT": str(args.live_per_client),
           "FLOODWATCH_API_MAX_LIVE_CLIENTS": str(args.live_total),
           # REST polling from the same address must still fit beside the streams.
           "FLOODWATCH_API_MAX_REQUESTS_PER_CLIENT": str(args.live_per_client + 100)}

    with rig() as bench:
        registry = write_registry(bench.workdir, args.stations, 600)

        async def fill() -> None:
            async with InfluxClient(bench.influx.url, DATABASE, timeout_s=60) as influx:
                await write_history(influx, args.stations, 1, 600)

        asyncio.run(fill())
        port = free_port()
        api = start_api(bench, registry, port, env)
        base_url = f"http://127.0.0.1:{port}"
        url = f"ws://127.0.0.1:{port}/api/v1/live/ws"
        try:
            # Warm-up: the first /latest loads InfluxDB's newest points, the first
            # WebSockets import and allocate what every later one reuses.
            httpx.get(f"{base_url}/api/v1/latest", headers=HEADERS, timeout=120)
            asyncio.run(run_flood(url, 20, 20, 0))
            time.sleep(2)
            baseline = rss(api.pid)
            sampler = Sampler(base_url, api.pid, args.stations)
            sampler.start()
            rounds = []
            for _ in range(args.rounds):
                started, cpu_before = time.time(), cpu_s(api.pid)
                flood = asyncio.run(run_flood(url, args.attempts, args.concurrency,
                                              args.hold_s))
                ended, cpu = time.time(), cpu_s(api.pid) - cpu_before
                time.sleep(args.settle_s)
                rounds.append(Round(flood, started, ended, rss(api.pid), cpu))
            sampler.finish()
            live_after = live_clients(base_url)
        finally:
            api.terminate()
            api.wait(30)
    print_report(args, rounds, sampler, baseline=baseline, live_after=live_after)


def print_report(args: argparse.Namespace, rounds: list[Round], sampler: Sampler, *,
                 baseline: int, live_after: float) -> None:
    mib = 1024 * 1024
    print(f"\nConnection flood: {args.rounds} x {args.attempts} WebSocket attempts from one "
          f"address, {args.concurrency} at a time, accepted clients held {args.hold_s:g} s")
    print(f"  caps: {args.live_per_client} live streams per address, {args.live_total} in "
          f"total; API RSS at baseline {baseline / mib:.1f} MiB")
    cap = min(args.live_per_client, args.live_total)
    for number, done in enumerate(rounds, 1):
        flood = done.flood
        refused = ", ".join(f"{n} x {k}" for k, n in sorted(flood.refused.items())) or "-"
        print(f"  round {number} ({done.seconds:.1f} s): accepted {len(flood.accepted)}, "
              f"refused {sum(flood.refused.values())} ({refused}; problem status/close code)"
              f", failed {sum(flood.failed.values())} {dict(flood.failed) or ''}; cap "
              f"{'held' if len(flood.accepted) <= cap else 'NOT held'}; RSS "
              f"{args.settle_s:g} s after close {done.rss_after / mib:.1f} MiB "
              f"({(done.rss_after - baseline) / baseline * 100:+.1f} % of baseline); API CPU "
              f"{done.api_cpu_s:.1f} s = {done.api_cpu_s * 1000 / args.attempts:.2f} ms per "
              "attempt")
    accepted = max(len(done.flood.accepted) for done in rounds)
    per_client_kib = (sampler.peak_rss - baseline) / 1024 / max(1, accepted)
    print(f"  peak RSS {sampler.peak_rss / mib:.1f} MiB (+{per_client_kib:.0f} KiB per accepted "
          f"client); target after close: within 20 % of baseline; live clients after: "
          f"{live_after:g}")
    print("  latency of REST requests sent while a flood ran (a process of their own):")
    for name, timed in sampler.latency_ms.items():
        values = [ms for sent, ms in timed
                  if any(done.started <= sent <= done.ended for done in rounds)]
        path = "/api/v1/latest" if name == "latest" else "/api/v1/stations/{id}"
        print(f"  {path:<24} {len(values):5d} requests  p50 "
              f"{statistics.median(values):6.1f} ms  p99 {_pct(values, 0.99):6.1f} ms  "
              f"max {max(values):6.1f} ms (target p99 < 50 ms)")
    if sampler.errors:
        print(f"  non-200 answers during the floods: {dict(sampler.errors)}")


if __name__ == "__main__":
    main()
