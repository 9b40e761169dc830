"""Load mode against a real broker: every message acknowledged (QoS 1), and the achieved
rate printed -- a measurement for the benchmarks, never a pass/fail on timing."""

from __future__ import annotations

from floodwatch.services.servers import MosquittoServer
from floodwatch.simulators.runner import run_load


def test_load_mode_rate_is_measured_and_nothing_is_lost(mosquitto: MosquittoServer) -> None:
    report = run_load(mosquitto.url, devices=500, rate=50_000, duration_s=2)
    print(f"\nload mode: {report.summary()}")
    assert report.unacknowledged == 0
    assert report.acknowledged == report.published == 100_000
