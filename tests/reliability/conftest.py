"""Fixtures of the fault tests: each test its own InfluxDB and ingest processes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from floodwatch.services.process import free_port
from floodwatch.services.servers import InfluxServer, MosquittoServer
from tests.conftest import generated_registry_yaml
from tests.support import IngestProcess

STATIONS = 20


@pytest.fixture
def own_influx(tmp_path: Path) -> Iterator[InfluxServer]:
    server = InfluxServer(free_port(), free_port(), tmp_path / "influxdb")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def rig(tmp_path: Path, mosquitto: MosquittoServer, own_influx: InfluxServer
        ) -> Callable[..., IngestProcess]:
    registry = tmp_path / "stations.yaml"
    registry.write_text(generated_registry_yaml(river=STATIONS))
    client_id = f"ingest-{uuid.uuid4().hex[:6]}"

    def ingest(**overrides: str) -> IngestProcess:
        env = {
            "FLOODWATCH_MQTT_URL": mosquitto.url,
            "FLOODWATCH_INFLUX_URL": own_influx.url,
            "FLOODWATCH_INFLUX_DB": "faults",
            "FLOODWATCH_STATIONS": str(registry),
            "FLOODWATCH_STATE_DIR": str(tmp_path / "state"),
            "FLOODWATCH_INGEST_CLIENT_ID": client_id,
            "FLOODWATCH_INFLUX_TIMEOUT_S": "2",
            **{f"FLOODWATCH_{key.upper()}": value for key, value in overrides.items()},
        }
        return IngestProcess(env, tmp_path / "ingest.log")

    return ingest
