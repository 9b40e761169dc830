"""Ingest's cost in instructions (callgrind): figures that the machine's load cannot move.

Wall-clock benchmarks on two cores shared with other jobs vary by half from one run to
the next; the number of instructions a piece of work executes does not (within a few
tenths of a percent). So a change to ingest's hot path or start is measured here:

- ``pipeline``: ``IngestPipeline.receive`` in-process (validate, line protocol, bus JSON,
  the PUBLISH packets), fed drains of 300 device messages from a stand-in source; runs
  of N and 2N messages, each less a run that only makes the messages: per message.
- ``process``: ``python -m floodwatch ingest`` as deployed (bytecode cached), against the
  rig's Mosquitto and InfluxDB, from its start until a queued backlog of N readings is
  stored, then stopped: the start (N = 100) and, with a second, larger N, the cost per
  reading of the real process (MQTT I/O, PUBACKs, the InfluxDB write included).

    python -m bench.instructions                  # both, the default sizes
    python -m bench.instructions --skip process   # only the in-process pipeline (~1 min)

Each callgrind output is kept (``--keep DIR``) for ``callgrind_annotate``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.ingest_process import REPO, python_env
from bench.ingest_throughput import INGEST_TOPICS
from bench.rig import Rig, create_session, payloads, publish, rig
from bench.stored import wait_stored
from floodwatch.core.mqtt import PublishWindow, ReceivedMessage
from floodwatch.core.registry import StationRegistry
from floodwatch.ingest.pipeline import IngestPipeline
from floodwatch.ingest.validate import MessageValidator
from floodwatch.services.process import free_port

DRAIN = 300  # messages per drain, about what one socket read brings in a backlog


def callgrind(argv: Sequence[str], out: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["valgrind", "--tool=callgrind", "--quiet",
                             f"--callgrind-out-file={out}", *argv], env=env, cwd=REPO)


def total_instructions(out: Path) -> int:
    for line in out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise ValueError(f"no totals in {out}")


# --- in-process pipeline ---------------------------------------------------------------

def run_pipeline(messages: int, stations: int, *, dry: bool) -> None:
    """The measured work itself (run under callgrind by ``pipeline``)."""
    registry = _registry(stations)

    class Source:
        """Drains of DRAIN messages received together; publishes encoded and dropped."""

        def __init__(self, received: list[ReceivedMessage]) -> None:
            self._runs = [received[i:i + DRAIN] for i in range(0, len(received), DRAIN)]
            self.published = 0

        def drain(self) -> list[ReceivedMessage]:
            self._window = PublishWindow()  # a fresh one per drain: never full
            self._window.connected(self._sent, 10_000)
            return self._runs.pop(0) if self._runs else []

        def _sent(self, data: bytes) -> None:
            return None  # dropped: the broker's part is not measured here

        async def wait(self, timeout_s: float) -> None:
            if not self._runs:
                stop.set()

        async def wait_for_publish_room(self) -> None:
            return None

        def ack(self, messages: Sequence[ReceivedMessage]) -> None:
            return None

        def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
            self._window.add(topic, payload, retain)
            self.published += 1

        def publish_all(self, messages: Sequence[tuple[str, bytes]]) -> None:
            self._window.add_all(messages)
            self.published += len(messages)

    at = datetime.now(UTC)
    received = [ReceivedMessage(topic, payload, index % 65_535 + 1, 1, at, 1)
                for index, (topic, payload) in enumerate(payloads(messages, stations))]
    source = Source(received)
    validator = MessageValidator(registry, max_payload_bytes=65_536,
                                 max_future=timedelta(minutes=5), max_age=timedelta(days=7))
    stop = asyncio.Event()

    async def main() -> None:
        pipeline = IngestPipeline(source, validator, registry, None, _NoSpool(),  # type: ignore[arg-type]
                                  batch_size=5000, batch_interval_s=60, batch_pause_s=60)
        taken = asyncio.create_task(_discard_batches(pipeline))
        await pipeline.receive(stop)
        await taken

    if dry:  # everything but the pipeline's work: subtracted from the full run's count
        return
    asyncio.run(main())
    assert source.published == messages, (source.published, messages)


async def _discard_batches(pipeline: object) -> None:
    ready = pipeline._ready  # type: ignore[attr-defined]
    while await ready.get() is not None:
        pass


class _NoSpool:
    def is_empty(self) -> bool:
        return True

    size_bytes = 0


def _registry(stations: int) -> StationRegistry:
    with tempfile.TemporaryDirectory() as tmp:
        path = Rig(Path(tmp), None, None).registry(stations)  # type: ignore[arg-type]
        return StationRegistry.load(path)


def pipeline(messages: int, stations: int, keep: Path) -> float:
    """Instructions per message through the in-process pipeline: runs of N and 2N
    messages, each less the same run without the pipeline's work (making the messages,
    the imports), so that only the pipeline's own work per message is left."""
    env = {key: value for key, value in os.environ.items()
           if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(keep / "pycache")
    run = [sys.executable, "-m", "bench.instructions", "--stations", str(stations),
           "--run-pipeline"]
    subprocess.run([*run, "100"], env=env, cwd=REPO, check=True)  # fills the bytecode cache
    counts = {}
    for size in (messages, 2 * messages):
        for dry in (False, True):
            out = keep / f"pipeline-{size}{'-dry' * dry}.callgrind"
            process = callgrind([*run, str(size), *(["--dry"] if dry else [])], out, env)
            if process.wait() != 0:
                raise RuntimeError(f"the pipeline run of {size} failed")
            counts[size, dry] = total_instructions(out)
    large = counts[2 * messages, False] - counts[2 * messages, True]
    small = counts[messages, False] - counts[messages, True]
    return (large - small) / messages


# --- the real process ------------------------------------------------------------------

def process(bench_rig: Rig, readings: int, stations: int, keep: Path, run: int) -> int:
    """Instructions of ``floodwatch ingest`` from its start until ``readings`` queued
    readings are stored, and its stop."""
    registry = bench_rig.registry(stations)
    client_id, database = f"bench-instructions-{run}", f"bench_instructions_{run}"
    create_session(bench_rig.mosquitto.port, client_id, INGEST_TOPICS)
    publish(bench_rig.mosquitto.port, payloads(readings, stations, offset=run * 1_000_000))
    bench_rig.create(database)
    env = {**python_env(bench_rig, REPO), "FLOODWATCH_MQTT_URL": bench_rig.mosquitto.url,
           "FLOODWATCH_INFLUX_URL": bench_rig.influx.url, "FLOODWATCH_INFLUX_DB": database,
           "FLOODWATCH_STATIONS": str(registry), "FLOODWATCH_INGEST_CLIENT_ID": client_id,
           "FLOODWATCH_STATE_DIR": str(bench_rig.workdir / "state"),
           "FLOODWATCH_METRICS_PORT": str(free_port()), "FLOODWATCH_LOG_LEVEL": "warning"}
    out = keep / f"process-{readings}.callgrind"
    ingest = callgrind([sys.executable, "-m", "floodwatch", "ingest"], out, env)
    try:
        stored, _, _ = wait_stored(bench_rig, database, readings, timeout_s=1800, quiet_s=900)
    finally:
        ingest.send_signal(signal.SIGTERM)
        ingest.wait(300)
    if stored != readings:
        raise RuntimeError(f"{stored} of {readings} stored")
    time.sleep(0.2)
    return total_instructions(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--readings", type=int, default=10_000)
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument("--skip", choices=("pipeline", "process"), action="append", default=[])
    parser.add_argument("--keep", type=Path, help="directory for the callgrind outputs")
    parser.add_argument("--run-pipeline", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dry", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_pipeline:
        run_pipeline(args.run_pipeline, args.stations, dry=args.dry)
        return
    with tempfile.TemporaryDirectory(prefix="floodwatch-callgrind-") as tmp:
        keep = args.keep or Path(tmp)
        keep.mkdir(parents=True, exist_ok=True)
        if "pipeline" not in args.skip:
            per_message = pipeline(args.messages, args.stations, keep)
            print(f"pipeline in-process: {per_message / 1000:.1f}k instructions per message")
        if "process" not in args.skip:
            with rig() as bench_rig:
                start = process(bench_rig, 100, args.stations, keep, 1)
                print(f"ingest process, start to 100 readings stored and stop:"
                      f" {start / 1e9:.3f} G instructions")
                full = process(bench_rig, args.readings, args.stations, keep, 2)
                print(f"ingest process, start to {args.readings:,} readings stored and stop:"
                      f" {full / 1e9:.3f} G instructions:"
                      f" {(full - start) / (args.readings - 100) / 1000:.1f}k per further"
                      " reading")


if __name__ == "__main__":
    main()
