"""Fixtures of the API tests that more than one module uses."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from floodwatch.core.registry import StationRegistry
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.alerts.process import AlertsProcess
from tests.api.dashboard_stack import ApiProcess
from tests.api.storm_dashboard import TILES_URL, publish_storm
from tests.api.support import TEST_KEYS
from tests.api.test_dashboard import Stack
from tests.support import IngestProcess


@pytest.fixture
def storm_stack(tmp_path: Path, mosquitto: MosquittoServer, sample_registry: StationRegistry,
                settings_env: Callable[..., dict[str, str]],
                start_ingest: Callable[..., IngestProcess]) -> Iterator[Stack]:
    """Mosquitto, InfluxDB, ingest, the alert engine and ``floodwatch api``, with the
    storm published (tests.api.storm_dashboard) and the tile server that never answers."""
    start_ingest()
    env = settings_env(api_keys=TEST_KEYS, dashboard_tiles_url=TILES_URL,
                       dashboard_tiles_attribution="tiles: test server", api_heartbeat_s=2,
                       alerts_client_id=f"alerts-{uuid.uuid4().hex[:8]}")
    alerts = AlertsProcess(env, tmp_path / "alerts.log").start()
    api = ApiProcess(env, free_port(), tmp_path / "api.log").start()
    try:
        publish_storm(mosquitto.port, sample_registry)
        yield Stack(api, mosquitto.port, sample_registry)
    finally:
        api.stop()
        alerts.stop()
