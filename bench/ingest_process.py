"""One ``floodwatch ingest`` process of the benchmarks, started as deployed.

Its environment (a bytecode cache and the parsed registry filled before any clock: what
a stage finds after its first start), its metrics, its CPU time, and its stop.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.rig import Rig, forget_session
from floodwatch.services.process import free_port

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Ingest:
    """One ``floodwatch ingest`` process with its metrics port."""

    process: subprocess.Popen[bytes]
    metrics_port: int
    client_id: str
    broker_port: int

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text

    def connected(self) -> bool:
        try:
            text = self.metrics()
        except httpx.HTTPError:
            return False
        return f'floodwatch_mqtt_connected{{client_id="{self.client_id}"}} 1.0' in text

    def received(self) -> int:
        for line in self.metrics().splitlines():
            if line.startswith("floodwatch_ingest_messages_received_total "):
                return int(float(line.split()[-1]))
        return 0

    def stop(self) -> None:
        """Stop the process and delete its session (bench.rig.forget_session says why)."""
        self.process.terminate()
        self.process.wait(60)
        try:
            forget_session(self.broker_port, self.client_id)
        except (OSError, TimeoutError) as exc:  # the other processes must still stop
            print(f"warning: session {self.client_id} not deleted: {exc}", file=sys.stderr)


def python_env(rig: Rig, repo: Path) -> dict[str, str]:
    """The environment of a floodwatch process, with Python's bytecode cache, as deployed.

    The image's ``pip install .`` compiles every module, floodwatch's own included; with
    PYTHONDONTWRITEBYTECODE set (as on this machine) floodwatch's ~60 modules were compiled
    at every start instead: about 0.1 s of CPU, a tenth of ingest's start. The cache lives
    in the rig's directory (never the checkout), filled by ``WARM_UP`` before any clock."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(rig.workdir / "pycache")
    if (rig.workdir, repo) not in _COMPILED:
        subprocess.run([sys.executable, "-c", WARM_UP, rig.influx.url], env=env, cwd=repo,
                       check=True)
        _COMPILED.add((rig.workdir, repo))
    return env


# Also what a stage imports once running: the prefix hides the venv's compiled files, and
# the 81 modules of httpx's transport (httpcore, h11, anyio: the first client and request)
# were compiled inside every timed start. Ingest's CPU from start to 100 readings stored:
# median 0.80 s with floodwatch's imports alone, 0.65 s with this (docs/benchmarks.md).
WARM_UP = """\
import asyncio, compileall, encodings.idna, sys
import floodwatch, floodwatch.cli, floodwatch.ingest.service, httpx
compileall.compile_dir(floodwatch.__path__[0], maxlevels=0, quiet=1)  # its __main__
async def request() -> None:
    async with httpx.AsyncClient() as client:
        await client.get(sys.argv[1] + "/ping")
asyncio.run(request())
"""
_COMPILED: set[tuple[Path, Path]] = set()
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """A running process's CPU time so far: user + system (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def ingest_env(rig: Rig, registry: Path, database: str, client_id: str,
               share_group: str | None = None, *, repo: Path = REPO) -> dict[str, str]:
    env = {**python_env(rig, repo), "FLOODWATCH_MQTT_URL": rig.mosquitto.url,
           "FLOODWATCH_INFLUX_URL": rig.influx.url, "FLOODWATCH_INFLUX_DB": database,
           "FLOODWATCH_STATIONS": str(registry), "FLOODWATCH_INGEST_CLIENT_ID": client_id,
           "FLOODWATCH_STATE_DIR": str(rig.workdir / "state"),
           "FLOODWATCH_METRICS_PORT": str(free_port()), "FLOODWATCH_LOG_LEVEL": "warning"}
    if share_group:
        env["FLOODWATCH_INGEST_SHARE_GROUP"] = share_group
    return env


def start_ingest(rig: Rig, registry: Path, database: str, client_id: str,
                 share_group: str | None = None, *, repo: Path = REPO) -> Ingest:
    """``repo`` lets a developer run another checkout's ingest (before/after)."""
    env = ingest_env(rig, registry, database, client_id, share_group, repo=repo)
    process = subprocess.Popen([sys.executable, "-m", "floodwatch", "ingest"], env=env,
                               cwd=repo)
    return Ingest(process, int(env["FLOODWATCH_METRICS_PORT"]), client_id, rig.mosquitto.port)


def warm_start(rig: Rig, registry: Path, repo: Path = REPO) -> None:
    """Before a clock: what a stage finds after its first start on that machine, as the
    bytecode cache (python_env) -- here the parsed registry in the state directory
    (core.config_cache), by ``floodwatch ingest --check``, which loads it and exits."""
    env = ingest_env(rig, registry, "warm-up", "bench-warm-up", repo=repo)
    subprocess.run([sys.executable, "-m", "floodwatch", "ingest", "--check"], env=env,
                   cwd=repo, check=True, stdout=subprocess.DEVNULL)


def wait_connected(ingests: list[Ingest], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(ingest.connected() for ingest in ingests):
        if time.monotonic() > deadline:
            raise TimeoutError("ingest did not connect to the broker")
        time.sleep(0.1)
    time.sleep(0.5)  # its SUBSCRIBE follows the CONNACK
