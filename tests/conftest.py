"""Fixtures: real Mosquitto and InfluxDB processes on free loopback ports, never the
system's own services."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.process import free_port
from floodwatch.services.servers import InfluxServer, MosquittoServer
from tests.brokers import LockedBroker
from tests.support import REPO_ROOT, InfluxQuery, IngestProcess

SAMPLE_REGISTRY = REPO_ROOT / "config" / "stations.yaml"

# Hypothesis profiles. "ci", the default, keeps Hypothesis's 100 examples per property
# (tests that set their own count keep it) and sets no deadline: timings here are figures,
# never assertions, and two shared cores make them noisy. "long" is the fuzzing run, 100
# times the examples: `pytest tests/core/mqtt/test_link_fuzz.py --hypothesis-profile=long
# --timeout=3600` (docs/mqtt-link.md; a property can take longer than the suite's 300 s).
settings.register_profile("ci", deadline=None)
settings.register_profile("long", parent=settings.get_profile("ci"), max_examples=10_000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


@pytest.fixture(scope="session")
def influx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    server = InfluxServer(free_port(), free_port(), tmp_path_factory.mktemp("influxdb"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def influx(influx_server: InfluxServer) -> InfluxQuery:
    """A fresh, not yet created database on the shared test InfluxDB."""
    return InfluxQuery(influx_server.url, f"test_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoServer]:
    """A broker of the test's own, with the configuration floodwatch ships."""
    server = MosquittoServer(free_port(), tmp_path / "mosquitto")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def locked_broker(tmp_path: Path) -> Iterator[LockedBroker]:
    """A broker with a password file and an ACL (tests.brokers.LockedBroker)."""
    broker = LockedBroker.start(tmp_path / "locked-broker")
    yield broker
    broker.server.stop()


@pytest.fixture(scope="session")
def sample_registry() -> StationRegistry:
    return StationRegistry.load(SAMPLE_REGISTRY)


def generated_registry_yaml(river: int, road: int = 0) -> str:
    """A registry of ``river`` gauges (r-000...) and ``road`` sensors (d-000...)."""
    lines = ["stations:"]
    for index in range(river):
        lines.append(
            f"  - {{id: r-{index:03d}, kind: river, name: {{ja: 観測所{index}, en: Gauge {index}}},"
            f" river: abukuma, basin: abukuma, location: {{lat: 37.5, lon: 140.4}},"
            f" interval_s: 60, levels_m: {{standby: 1, caution: 2, evacuation: 3, danger: 4}}}}"
        )
    for index in range(road):
        lines.append(
            f"  - {{id: d-{index:03d}, kind: road, name: {{ja: 道路{index}, en: Road {index}}},"
            f" route: route-4, basin: abukuma, location: {{lat: 37.5, lon: 140.4}},"
            f" interval_s: 60}}"
        )
    return "\n".join(lines) + "\n"


@pytest.fixture
def settings_env(
    tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery
) -> Callable[..., dict[str, str]]:
    """Environment for a floodwatch process against this test's broker and database."""

    def build(registry: Path = SAMPLE_REGISTRY, **overrides: Any) -> dict[str, str]:
        env = {
            "FLOODWATCH_MQTT_URL": mosquitto.url,
            "FLOODWATCH_INFLUX_URL": influx.url,
            "FLOODWATCH_INFLUX_DB": influx.database,
            "FLOODWATCH_STATIONS": str(registry),
            "FLOODWATCH_STATE_DIR": str(tmp_path / "state"),
            "FLOODWATCH_INGEST_CLIENT_ID": f"ingest-{uuid.uuid4().hex[:8]}",
            "FLOODWATCH_LOG_LEVEL": "info",
        }
        env.update({f"FLOODWATCH_{key.upper()}": str(value) for key, value in overrides.items()})
        return env

    return build


@pytest.fixture
def make_settings(settings_env: Callable[..., dict[str, str]]) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        env = settings_env(**overrides)
        return Settings.model_validate(
            {key.removeprefix("FLOODWATCH_").lower(): value for key, value in env.items()}
        )

    return build


@pytest.fixture
def start_ingest(
    tmp_path: Path, settings_env: Callable[..., dict[str, str]]
) -> Iterator[Callable[..., IngestProcess]]:
    started: list[IngestProcess] = []

    def start(registry: Path = SAMPLE_REGISTRY, wait_subscribed: bool = True,
              **overrides: Any) -> IngestProcess:
        log = tmp_path / f"ingest-{len(started)}.log"
        process = IngestProcess(settings_env(registry, **overrides), log)
        started.append(process)
        return process.start(wait_subscribed=wait_subscribed)

    yield start
    for process in started:
        if process.process is not None and process.process.poll() is None:
            process.stop()
