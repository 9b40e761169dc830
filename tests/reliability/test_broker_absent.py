"""A broker that is not there yet is waited for, not a reason to stop."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.support import InfluxQuery, IngestProcess, mosquitto_pub, wait_for


def test_ingest_waits_for_a_late_broker(
    tmp_path: Path, influx: InfluxQuery, settings_env: Callable[..., dict[str, str]]
) -> None:
    late = MosquittoServer(free_port(), tmp_path / "late-broker")
    env = settings_env(mqtt_url=late.url)
    ingest = IngestProcess(env, tmp_path / "ingest.log").start(wait_subscribed=False)
    time.sleep(3)
    assert ingest.process is not None
    assert ingest.process.poll() is None, ingest.log_text()
    late.start()
    try:
        wait_for(lambda: bool(ingest.log_events("subscribed")), 60, "ingest to connect")
        ts = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        mosquitto_pub(late.port, "sensors/river/fushiguro",
                      json.dumps({"ts": ts, "level_m": 3.0}))
        wait_for(lambda: influx.count("river", "level_m") == 1, 10, "the reading")
        assert ingest.log_events("broker unreachable; retrying")
        assert ingest.stop() == 0
    finally:
        late.stop()
