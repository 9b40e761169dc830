"""The devices and the storm of test_compose_stack.py: a typhoon excerpt published by
each station's own client over TLS, and what InfluxDB must hold afterwards."""

from __future__ import annotations

import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from floodwatch.core.registry import StationRegistry
from floodwatch.ingest.validate import MessageValidator
from floodwatch.simulators.scenario import load_scenario
from floodwatch.simulators.simulation import Simulation
from tests.conftest import SAMPLE_REGISTRY
from tests.deployment.compose_stack import Compose
from tests.support import InfluxQuery

# The storm's 7th to 9th hour, ending two minutes ago: Sukagawa's gauge passes standby
# 7 h 40 min in (tests/alerts/test_typhoon.py). Without the scenario's clock faults, so
# which messages ingest accepts does not depend on when they arrive.
STORM_START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=9, minutes=2)
PARTS = {"flow": (7.0, 8.0), "influxdb stopped": (8.0, 8.25), "ingest killed": (8.25, 8.45),
         "ingest down": (8.45, 8.6), "influxdb restarted": (8.6, 9.0)}


@dataclass
class Stack:
    compose: Compose
    project: Path
    passwords: dict[str, str]
    influx: InfluxQuery
    timings: dict[str, float]
    counts: dict[str, int] = field(default_factory=dict)
    sent: set[tuple[str, str, int]] = field(default_factory=set)  # kind, station, ts_ns
    seen: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def ca_file(self) -> Path:
        return self.project / "config" / "mosquitto" / "certs" / "ca.crt"

    def publish(self, station: str, topic: str, payloads: list[bytes]
                ) -> subprocess.Popen[bytes]:
        """A field device: the real C client, TLS on the published port, its own user."""
        process = subprocess.Popen(
            ["mosquitto_pub", "-h", "localhost", "-p", "8883", "--cafile", str(self.ca_file),
             "-u", station, "-P", self.passwords[station], "-V", "mqttv5", "-q", "1",
             "-t", topic, "-l"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        assert process.stdin is not None
        process.stdin.write(b"".join(payload + b"\n" for payload in payloads))
        process.stdin.flush()
        return process

    def influx_answering(self) -> bool:
        """InfluxDB's container listens and answers again: ``compose start`` and
        ``restart`` return before it does, and a query then is refused (CI once failed
        on that ConnectError, polling what was stored)."""
        try:
            return httpx.get(f"{self.influx.url}/ping", timeout=5).status_code == 204
        except httpx.TransportError:
            return False

    def stored(self) -> set[tuple[str, str, int]]:
        kinds = {kind for kind, _station, _ts in self.sent}
        return {(kind, row["station"], row["time"]) for kind in kinds
                for row in self.influx.rows(f'SELECT * FROM "{kind}"')}


def excerpt(hours: tuple[float, float]) -> tuple[dict[tuple[str, str], list[bytes]],
                                                 set[tuple[str, str, int]]]:
    """The typhoon's device messages in ``hours``, per (station, topic), and the readings
    ingest accepts from them."""
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    validator = MessageValidator(registry, max_payload_bytes=16_384,
                                 max_future=timedelta(minutes=5), max_age=timedelta(days=30))
    start, end = (STORM_START + timedelta(hours=h) for h in hours)
    messages: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    accepted: set[tuple[str, str, int]] = set()
    simulation = Simulation(load_scenario("typhoon"), registry, start=STORM_START, seed=0,
                            scenario_faults=False)
    for event in simulation.events():
        if start <= event.sim_time < end:
            messages[(event.device, event.topic)].append(event.payload)
            for reading in validator.validate(event.topic, event.payload,
                                              event.sim_time).readings:
                accepted.add((reading.kind.value, reading.station, reading.ts_ns))
    return messages, accepted


def send_part(stack: Stack, part: str) -> list[subprocess.Popen[bytes]]:
    messages, accepted = excerpt(PARTS[part])
    assert accepted
    assert not accepted & stack.sent
    stack.sent |= accepted
    stack.counts[f"readings sent: {part}"] = len(accepted)
    return [stack.publish(station, topic, payloads)
            for (station, topic), payloads in messages.items()]


def finish(processes: list[subprocess.Popen[bytes]]) -> str:
    """Each device's output once it has sent everything. mosquitto_pub -l leaves at the
    end of its input without waiting for the last acknowledgements: the input stays open
    a little longer (tests/support.py's mosquitto_pub_lines)."""
    time.sleep(2)
    outputs = []
    for process in processes:
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.close()
        outputs.append(process.stdout.read().decode())
        process.stdout.close()
        assert process.wait(60) == 0, outputs[-1]
    return "".join(outputs)
