"""``python -m bench``: every benchmark on this machine, then one set of tables.

Each part starts its own Mosquitto and InfluxDB on free loopback ports (bench.rig).
Defaults are the sizes of issue #9; smaller ones for a quick look:

    python -m bench --readings 20000 --cost-seconds 5 --alert-probes 100 --skip api
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import alert_latency, cost_curve, forecast_skill
from bench.ingest_throughput import (
    Result,
    backlogs,
    ingest_live,
    mosquitto_sub_live,
    progress_text,
    shared_backlog,
)
from bench.rig import rig
from bench.table import print_results, print_rows

PARTS = ("ingest", "nodered", "scale", "cost", "alerts", "api", "forecast")
REPO = Path(__file__).resolve().parent.parent


def _nodered(bench_rig: Any, total: int, stations: int) -> list[Any]:
    """The peer, both flows, both scenarios (bench/nodered.py, written alongside)."""
    try:
        from bench import nodered  # noqa: PLC0415
        from bench.nodered_peer import NodeRedError  # noqa: PLC0415
    except ImportError as exc:
        print(f"Node-RED peer skipped: {exc}", file=sys.stderr)
        return []
    runs = []
    for flow in ("batch", "plain"):
        for scenario in (nodered.backlog_drain, nodered.live_flood):
            try:
                runs.append(scenario(bench_rig, flow, total, stations))
            except NodeRedError as exc:
                print(f"Node-RED ({flow}) {scenario.__name__} failed: {exc}", file=sys.stderr)
    return runs


def ingest_tables(args: argparse.Namespace, skip: set[str]) -> None:
    results: list[Any] = []
    with rig() as bench_rig:
        if "ingest" not in skip:
            results += backlogs(bench_rig, args.readings, args.stations)
            results.append(mosquitto_sub_live(bench_rig, args.readings, args.stations))
            results.append(ingest_live(bench_rig, args.readings, args.stations))
        if "nodered" not in skip:
            results += _nodered(bench_rig, args.readings, args.stations)
        if "scale" not in skip:
            for workers in (2, 3):
                results.append(shared_backlog(bench_rig, args.readings, args.stations,
                                              workers))
                results.append(ingest_live(bench_rig, args.readings, args.stations, workers))
    if not results:
        return
    print_results(results, args.readings, args.stations)
    for scenario in ("backlog drain", "live flood"):
        single = next((r for r in results if r.name == "floodwatch ingest"
                       and r.scenario == scenario), None)
        scaled = [r for r in results if r.name.startswith("floodwatch ingest x")
                  and r.scenario == scenario]
        if single is not None and scaled:
            print(f"\nscale-out speed-up over one ingest ({scenario}): " + ", ".join(
                f"{r.name.split()[2]} {r.rate / single.rate:.2f}x" for r in scaled))
    for result in results:
        if isinstance(result, Result) and result.name.startswith("floodwatch"):
            print(f"  stored over time, {result.name} {result.scenario}: "
                  f"{progress_text(result)}")


def cost_table(args: argparse.Namespace) -> None:
    with rig() as bench_rig:
        costs = cost_curve.run(bench_rig, args.cost_stations, args.cost_rate,
                               args.cost_seconds)
    print(f"\ncost curve at {args.cost_rate:,.0f} readings/s for {args.cost_seconds:g} s")
    print_rows(cost_curve.HEADER, cost_curve.rows(costs))


def alert_table(args: argparse.Namespace) -> None:
    result = alert_latency.run(args.alert_rate, args.stations, args.alert_probes)
    print(f"\nalert latency at {args.alert_rate:,.0f} readings/s background load")
    print_rows(["measure", "value"], [list(row) for row in result.rows()])


def api_table(args: argparse.Namespace) -> None:
    if not (REPO / "bench" / "api_load.py").exists():
        print("\nAPI benchmark: bench/api_load.py is not there; skipped")
        return
    print("\nAPI (bench/api_load.py)", flush=True)
    subprocess.run([sys.executable, "-m", "bench.api_load", *args.api_args.split()],
                   cwd=REPO, check=False)
    print("\nAPI connection caps (bench/api_connections.py)", flush=True)
    subprocess.run([sys.executable, "-m", "bench.api_connections"], cwd=REPO, check=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=int, default=100_000,
                        help="QoS 1 readings per throughput run")
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument("--cost-rate", type=float, default=1000, help="readings/s")
    parser.add_argument("--cost-seconds", type=float, default=20)
    parser.add_argument("--cost-stations", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--alert-rate", type=float, default=1000, help="readings/s")
    parser.add_argument("--alert-probes", type=int, default=300)
    parser.add_argument("--api-args", default="",
                        help="arguments for bench.api_load, e.g. '--duration 20'")
    parser.add_argument("--skip", action="append", default=[], choices=PARTS)
    args = parser.parse_args(argv)
    skip = set(args.skip)
    started = time.monotonic()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("ingest", lambda: ingest_tables(args, skip)),
        ("cost", lambda: cost_table(args)),
        ("alerts", lambda: alert_table(args)),
        ("api", lambda: api_table(args)),
        # In-process, no rig: simulated storms, the fit and every forecast (about a
        # minute on two cores).
        ("forecast", forecast_skill.run),
    ]
    for name, step in steps:
        if name in skip and name != "ingest":
            continue
        step()
        sys.stdout.flush()
    print(f"\nall benchmarks: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
