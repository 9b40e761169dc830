"""The alert engine as a real subprocess, and bus helpers, for the end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion

from floodwatch.core.readings import Reading
from tests.support import REPO_ROOT, wait_for


class AlertsProcess:
    """``python -m floodwatch.alerts``, configured by environment."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.env = {**os.environ, **env, "FLOODWATCH_LOG_FORMAT": "json"}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> AlertsProcess:
        started = len(self.log_events("alerts running"))
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "floodwatch.alerts"], env=self.env, stdout=log,
                stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        wait_for(lambda: len(self.log_events("alerts running")) > started or self.exited(),
                 20, "the alert engine to start")
        assert not self.exited(), self.log_path.read_text(errors="replace")
        return self

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def log_events(self, event: str) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == event:
                found.append(record)
        return found

    def stop(self, signum: int = signal.SIGTERM, timeout_s: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout=timeout_s)


def publish_all(port: int, messages: Iterable[tuple[str, bytes]]) -> None:
    """Publish at QoS 1 and wait for every PUBACK, in order."""
    client = Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{time.monotonic_ns()}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def bus(readings: Iterable[Reading]) -> list[tuple[str, bytes]]:
    return [(reading.bus_topic, reading.to_json()) for reading in readings]
