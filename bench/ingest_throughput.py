"""Ingest throughput: backlog drain and live flood, floodwatch against mosquitto_sub.

Backlog drain: the consumers' persistent sessions exist, the flood is published while
they are stopped (the broker queues it for each session), then each consumer starts on
its own and the clock runs from its start until all readings are stored (floodwatch:
queryable in InfluxDB) or received (mosquitto_sub). Live flood: consumers run, the
publishers flood, and we note how long after the last PUBACK the last reading is in.

    python -m bench.ingest_throughput --readings 20000
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.ingest_process import (
    REPO,
    Ingest,
    cpu_seconds,
    start_ingest,
    wait_connected,
    warm_start,
)
from bench.rig import Rig, create_session, forget_session, mosquitto_sub, payloads, publish
from bench.stored import wait_stored

INGEST_TOPICS = ["sensors/river/+", "sensors/road/+"]


@dataclass
class Result:
    name: str
    scenario: str
    total: int
    stored: int
    seconds: float
    lag_s: float | None = None
    note: str = ""
    progress: list[tuple[float, int]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds > 0 else 0.0

    @property
    def lost(self) -> int:
        return self.total - self.stored


def backlogs(rig: Rig, total: int, stations: int, repo: Path = REPO) -> list[Result]:
    """One flood queued for both consumers' sessions; then each drains it alone."""
    registry = rig.registry(stations)
    create_session(rig.mosquitto.port, "bench-sub-backlog", ["sensors/river/+"])
    create_session(rig.mosquitto.port, "bench-ingest-backlog", INGEST_TOPICS)
    publish(rig.mosquitto.port, payloads(total, stations))

    started = time.perf_counter()
    drain = mosquitto_sub(rig.mosquitto.port, "bench-sub-backlog", total)
    drain.wait(timeout=600)
    forget_session(rig.mosquitto.port, "bench-sub-backlog")
    limit = Result("mosquitto_sub (C)", "backlog drain", total, total,
                   time.perf_counter() - started, note="received")

    database = "bench_backlog"
    rig.create(database)
    warm_start(rig, registry, repo)
    started = time.perf_counter()
    ingest = start_ingest(rig, registry, database, "bench-ingest-backlog", repo=repo)
    try:
        stored, finished, progress = wait_stored(rig, database, total)
        cpu = cpu_seconds(ingest.process.pid)  # process start included, as in the clock
    finally:
        ingest.stop()
    rig.drop(database)
    ours = Result("floodwatch ingest", "backlog drain", total, stored, finished - started,
                  note=f"ingest CPU {cpu / max(stored, 1) * 1e6:.1f} us per reading",
                  progress=progress)
    return [limit, ours]


def shared_backlog(rig: Rig, total: int, stations: int, workers: int,
                   repo: Path = REPO) -> Result:
    """The backlog drain with ``workers`` ingest processes in one $share group: the broker
    queues the flood across the group's persistent sessions while they are stopped, then
    all start together. (In the live flood the publishers, not ingest, set the pace, so
    a speed-up can only show here.)"""
    registry = rig.registry(stations)
    database, group = f"bench_shared_{workers}", f"backlog{workers}"
    ids = [f"bench-shared-{workers}-{index}" for index in range(workers)]
    for client_id in ids:
        create_session(rig.mosquitto.port, client_id,
                       [f"$share/{group}/{topic}" for topic in INGEST_TOPICS])
    publish(rig.mosquitto.port, payloads(total, stations, offset=(5 + workers) * total))
    rig.create(database)
    warm_start(rig, registry, repo)
    started = time.perf_counter()
    ingests = [start_ingest(rig, registry, database, client_id, group, repo=repo)
               for client_id in ids]
    stored, finished, progress, received = _store_and_stop(rig, database, total, ingests)
    return Result(f"floodwatch ingest x{workers} ($share)", "backlog drain", total, stored,
                  finished - started, note=exactly_once(received, total, stored),
                  progress=progress)


def _store_and_stop(rig: Rig, database: str, total: int, ingests: list[Ingest],
                    ) -> tuple[int, float, list[tuple[float, int]], list[int]]:
    """Wait until stored (wait_stored), then stop the ingests and drop the database;
    also returns what each ingest received."""
    try:
        stored, finished, progress = wait_stored(rig, database, total)
        received = [ingest.received() for ingest in ingests]
    finally:
        for ingest in ingests:
            ingest.stop()
    rig.drop(database)
    return stored, finished, progress, received


def exactly_once(received: list[int], total: int, stored: int) -> str:
    shares = "+".join(str(count) for count in received)
    verdict = "exactly once" if sum(received) == total == stored else "NOT exactly once"
    return f"received {shares} = {sum(received)}: {verdict}"


def mosquitto_sub_live(rig: Rig, total: int, stations: int) -> Result:
    create_session(rig.mosquitto.port, "bench-sub-live", ["sensors/river/+"])
    sub = mosquitto_sub(rig.mosquitto.port, "bench-sub-live", total)
    time.sleep(1)
    started = time.perf_counter()
    publish(rig.mosquitto.port, payloads(total, stations, offset=total))
    published = time.perf_counter()
    sub.wait(timeout=600)
    finished = time.perf_counter()
    forget_session(rig.mosquitto.port, "bench-sub-live")
    return Result("mosquitto_sub (C)", "live flood", total, total, finished - started,
                  lag_s=finished - published, note="received")


def ingest_live(rig: Rig, total: int, stations: int, workers: int = 1,
                repo: Path = REPO) -> Result:
    """Publishers and ``workers`` ingest processes (one $share group) run together.
    With several, each message must have reached exactly one worker."""
    registry = rig.registry(stations)
    database = f"bench_live_{workers}"
    # A group of its own: should an earlier run's session outlive it (forget_session
    # failed), Mosquitto would queue that session's share of this flood for it.
    group = f"bench{workers}" if workers > 1 else None
    rig.create(database)
    ingests = [start_ingest(rig, registry, database, f"bench-live-{workers}-{i}", group,
                            repo=repo) for i in range(workers)]
    try:
        wait_connected(ingests)
        started = time.perf_counter()
        publish(rig.mosquitto.port, payloads(total, stations, offset=(1 + workers) * total))
        published = time.perf_counter()
    except BaseException:
        for ingest in ingests:
            ingest.stop()
        raise
    stored, finished, progress, received = _store_and_stop(rig, database, total, ingests)
    name = "floodwatch ingest" + (f" x{workers} ($share)" if workers > 1 else "")
    note = exactly_once(received, total, stored) if workers > 1 else ""
    return Result(name, "live flood", total, stored, finished - started,
                  lag_s=finished - published, note=note, progress=progress)


def progress_text(result: Result, points: int = 6) -> str:
    """The stored count over time, a few samples: '1.0s:12k 2.0s:30k ...'."""
    if not result.progress:
        return ""
    step = max(1, len(result.progress) // points)
    samples = result.progress[step - 1::step][:points]
    return " ".join(f"{at:.1f}s:{count:,}" for at, count in samples)


def main() -> None:
    from bench.rig import rig as make_rig  # noqa: PLC0415
    from bench.table import print_results  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument("--repo", type=Path, action="append",
                        help="checkout whose ingest to run (repeat to compare)")
    args = parser.parse_args()
    results: list[Result] = []
    with make_rig() as rig:
        for repo in args.repo or [REPO]:
            for result in [*backlogs(rig, args.readings, args.stations, repo),
                           ingest_live(rig, args.readings, args.stations, repo=repo)]:
                if len(args.repo or []) > 1:
                    result.name += f" [{repo}]"
                results.append(result)
    print_results(results, args.readings, args.stations)


if __name__ == "__main__":
    main()
