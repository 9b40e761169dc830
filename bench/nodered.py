"""The Node-RED peer's two scenarios in the ingest benchmark: backlog drain and live flood.

The peer (installed, configured and run by bench/nodered_peer.py) stores the device
topics in the same InfluxDB schema as floodwatch, so each scenario counts both with the
same query. Node-RED acknowledges each QoS 1 message as soon as it has received it, so
what a failed write drops is lost for good: ``PeerRun.lost`` counts it.

    python -m bench.nodered    # the peer alone, both flows, both scenarios
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from bench.nodered_peer import Flow, NodeRedError, NodeRedPeer, ensure_installed
from bench.rig import Rig, forget_session, payloads, publish
from bench.rig import rig as make_rig
from bench.stored import wait_stored


@dataclass
class PeerRun:
    """What Node-RED stored of ``total`` readings, and how fast."""

    name: str
    scenario: str
    total: int
    stored: int
    seconds: float  # from start (backlog) or first publish (live) to the last stored point
    lag_s: float | None = None  # live: last stored point after the last publish
    cpu_s: float = 0.0  # Node-RED's CPU time for the run (start-up included)

    @property
    def rate(self) -> float:
        return self.stored / self.seconds

    @property
    def lost(self) -> int:
        return self.total - self.stored


def backlog_drain(rig: Rig, flow: Flow, total: int, stations: int) -> PeerRun:
    """Readings published while Node-RED is stopped; time from its start to all stored."""
    database, client_id = f"bench_nodered_{flow}_backlog", f"bench-nodered-{flow}-backlog"
    peer = NodeRedPeer(flow, mqtt_url=rig.mosquitto.url, influx_url=rig.influx.url,
                       database=database, client_id=client_id, workdir=rig.workdir)
    with peer:
        pass  # the broker now holds a persistent session subscribed to sensors/#
    publish(rig.mosquitto.port, payloads(total, stations))
    started = time.perf_counter()
    peer.start(wait_ready=False)
    try:
        stored, finished, _ = wait_stored(rig, database, total, timeout_s=900, quiet_s=20)
        if not peer.is_running():
            raise NodeRedError(f"Node-RED exited during the drain:\n{peer.log_tail()}")
        cpu_s = peer.cpu_seconds()
    finally:
        peer.stop()
        forget_session(rig.mosquitto.port, client_id)
    rig.drop(database)
    return PeerRun(f"Node-RED ({flow})", "backlog drain", total, stored, finished - started,
                   cpu_s=cpu_s)


def live_flood(rig: Rig, flow: Flow, total: int, stations: int) -> PeerRun:
    """Publishers and Node-RED together; how long after the last publish it is stored."""
    database, client_id = f"bench_nodered_{flow}_live", f"bench-nodered-{flow}-live"
    with NodeRedPeer(flow, mqtt_url=rig.mosquitto.url, influx_url=rig.influx.url,
                     database=database, client_id=client_id, workdir=rig.workdir) as peer:
        started = time.perf_counter()
        publish(rig.mosquitto.port, payloads(total, stations, offset=total))
        published = time.perf_counter()
        stored, finished, _ = wait_stored(rig, database, total, timeout_s=900, quiet_s=20)
        cpu_s = peer.cpu_seconds()
    forget_session(rig.mosquitto.port, client_id)
    rig.drop(database)
    return PeerRun(f"Node-RED ({flow})", "live flood", total, stored, finished - started,
                   lag_s=finished - published, cpu_s=cpu_s)


def main() -> None:
    """``python -m bench.nodered``: the peer alone, both flows, both scenarios."""
    total = int(os.environ.get("BENCH_READINGS", "100000"))
    stations = 500
    ensure_installed()
    print(f"{total} QoS 1 readings over {stations} stations")
    with make_rig() as rig:
        for flow in ("batch", "plain"):
            for scenario in (backlog_drain, live_flood):
                run = scenario(rig, flow, total, stations)
                lag = "" if run.lag_s is None else f", {run.lag_s:.2f} s after the last publish"
                print(f"{run.name:<16} {run.scenario:<13} stored {run.stored:>7} "
                      f"(lost {run.lost}) in {run.seconds:6.2f} s = {run.rate:6.0f}/s, "
                      f"{run.cpu_s:5.1f} CPU s{lag}", flush=True)


if __name__ == "__main__":
    main()
