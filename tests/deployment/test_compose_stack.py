"""Issue 23, item 2: docker-compose.yml started for real (podman, Debian's docker-compose).

Images built here (compose_stack.py says how and why), then: every health check turns
healthy; field devices publish over TLS with their own credentials and are refused on
another station's topic; a typhoon excerpt flows ingest -> InfluxDB -> alerts -> notify
(the disaster network's CAP) -> the API on its published port; a killed ingest container
and a restarted InfluxDB lose no reading; `down` keeps the named volumes and `up`
resumes with the alert state intact. The tests run in this order, on one stack.

Several minutes (images built cold): `pytest -m "not compose"` leaves it out locally.
"""

from __future__ import annotations

import json
import shutil
import ssl
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion

from floodwatch.core.registry import StationRegistry
from floodwatch.services.process import free_port
from tests.api.support import OFFICER_KEY, TEST_KEYS
from tests.conftest import SAMPLE_REGISTRY
from tests.deployment.compose_stack import (
    OBSERVER,
    STAGES,
    Compose,
    HealthChecks,
    build_images,
    podman_service,
    prepare_project,
    project_volumes,
    remove_everything,
)
from tests.deployment.compose_traffic import Stack, finish, send_part
from tests.support import InfluxQuery, wait_for

pytestmark = [pytest.mark.compose, pytest.mark.slow, pytest.mark.timeout(1500)]

SERVICES = ("mosquitto", "influxdb", *STAGES, "prometheus")
API = "http://127.0.0.1:8080"
PROMETHEUS = "http://127.0.0.1:9090/api/v1"
OFFICER = {"Authorization": f"Bearer {OFFICER_KEY}"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
          ) -> Iterator[Stack]:
    missing = [tool for tool in ("podman", "docker-compose", "openssl", "mosquitto_pub")
               if shutil.which(tool) is None]
    assert not missing, f"{missing}: `make install` sets them up (deploy/podman/setup.sh)"
    workdir = tmp_path_factory.mktemp("compose")
    project = workdir / "project"
    project.mkdir()
    remove_everything()  # what an interrupted run may have left
    started = time.monotonic()
    timings = build_images(workdir)
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    passwords = prepare_project(project, TEST_KEYS, [station.id for station in registry])
    influx_port = free_port()
    health_checks = HealthChecks()
    with podman_service(workdir / "podman.sock", workdir / "podman.log") as docker_host:
        compose = Compose(project, docker_host, influx_port)
        health_checks.start()
        try:
            up = time.monotonic()
            compose("up", "-d", timeout=900)
            timings["up (until every dependency is healthy)"] = time.monotonic() - up
            stack = Stack(compose, project, passwords,
                          InfluxQuery(f"http://127.0.0.1:{influx_port}", "floodwatch"), timings)
            yield stack
        finally:
            for service in SERVICES:
                (workdir / f"{service}.log").write_text(compose.logs(service))
            health_checks.stop()
            compose("down", "--volumes", "--timeout", "10", check=False, timeout=300)
            remove_everything()
    timings["whole compose test"] = time.monotonic() - started
    report(request, [f"compose stack: {step}: {seconds:.1f} s"
                     for step, seconds in timings.items()]
           + [f"compose stack: {what}: {count}" for what, count in stack.counts.items()])


def report(request: pytest.FixtureRequest, lines: list[str]) -> None:
    """Figures on the terminal, with or without -s."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    assert capture is not None
    assert reporter is not None
    with capture.global_and_fixture_disabled():
        for line in lines:
            reporter.write_line(line)


@pytest.fixture(scope="module")
def observer(stack: Stack) -> Iterator[list[tuple[str, bytes]]]:
    """Every alert event and disaster-network message, read over TLS as a broker user."""
    client = Client(CallbackAPIVersion.VERSION2, client_id="compose-test-observer")
    client.tls_set(ca_certs=str(stack.ca_file), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.username_pw_set(OBSERVER, stack.passwords[OBSERVER])
    subscribed = threading.Event()

    def on_message(_c: Client, _u: object, message: MQTTMessage) -> None:
        stack.seen.append((message.topic, bytes(message.payload)))

    client.on_message = on_message
    client.on_subscribe = lambda *_args: subscribed.set()
    client.on_connect = lambda c, *_args: c.subscribe(
        [("floodwatch/alerts/#", 1), ("bousai/#", 1)])
    client.connect("localhost", 8883)
    client.loop_start()
    try:
        assert subscribed.wait(15), "the observer did not subscribe over TLS"
        yield stack.seen
    finally:
        client.disconnect()
        client.loop_stop()


def every_service_healthy(stack: Stack) -> bool:
    return all(stack.compose.health(service) == "healthy" for service in SERVICES)


def test_every_health_check_turns_healthy(stack: Stack) -> None:
    started = time.monotonic()
    wait_for(lambda: every_service_healthy(stack), 180, "every service healthy")
    stack.timings["stages healthy after up"] = time.monotonic() - started
    ready = httpx.get(f"{API}/readyz", timeout=10)
    assert ready.json() == {"status": "ok", "broker": True, "influxdb": True}


def test_a_device_is_refused_on_another_stations_topic(stack: Stack) -> None:
    reading = json.dumps({"ts": datetime.now(UTC).isoformat(), "level_m": 9.99}).encode()
    output = finish([stack.publish("sukagawa", "sensors/river/shakado-sukagawa", [reading])])
    assert "not authorized" in output.lower(), output
    time.sleep(2)
    rows = stack.influx.rows('SELECT * FROM "river" WHERE level_m = 9.99')
    assert rows == []


def test_a_typhoon_flows_from_devices_to_the_disaster_network_and_the_api(
    stack: Stack, observer: list[tuple[str, bytes]],
) -> None:
    finish(send_part(stack, "flow"))
    wait_for(lambda: stack.stored() == stack.sent, 60, "every reading stored")
    wait_for(lambda: any(topic == "floodwatch/alerts/sukagawa" for topic, _ in observer),
             60, "Sukagawa's alert event")
    wait_for(lambda: any(topic == "bousai/floodwatch/cap/sukagawa" for topic, _ in observer),
             60, "Sukagawa's CAP on the disaster network")
    cap = next(payload for topic, payload in observer
               if topic == "bousai/floodwatch/cap/sukagawa")
    assert b"urn:oasis:names:tc:emergency:cap:1.2" in cap
    wait_for(lambda: "sukagawa" in open_alerts(), 30, "the open alert in the API")
    assert httpx.get(f"{API}/api/v1/stations/sukagawa", headers=OFFICER,
                     timeout=10).status_code == 200


def open_alerts() -> dict[str, list[dict[str, Any]]]:
    alerts = httpx.get(f"{API}/api/v1/alerts/open", headers=OFFICER, timeout=10).json()
    by_station: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in alerts["alerts"]:
        by_station[alert["station"]].append(alert)
    return by_station


def prometheus(path: str) -> Any:
    return httpx.get(f"{PROMETHEUS}/{path}", timeout=10).json()["data"]


def test_prometheus_scrapes_every_stage(stack: Stack) -> None:
    def stages_up() -> list[str]:
        return sorted(target["labels"]["stage"] for target in
                      prometheus("targets")["activeTargets"] if target["health"] == "up")

    wait_for(lambda: stages_up() == sorted(STAGES), 90, "every stage's target up")
    loaded = {rule["name"] for group in prometheus("rules")["groups"]
              for rule in group["rules"]}
    assert {"FloodwatchIngestWritesFailing", "FloodwatchSpoolFilling",
            "FloodwatchStageDisconnected", "FloodwatchDeliveriesFailing",
            "FloodwatchStationsSilent"} <= loaded


def rule_state(name: str) -> str:
    """firing, pending, or inactive."""
    states = [alert["state"] for alert in prometheus("alerts")["alerts"]
              if alert["labels"]["alertname"] == name]
    return "firing" if "firing" in states else states[0] if states else "inactive"


def test_a_rule_fires_when_ingests_influxdb_is_stopped(stack: Stack) -> None:
    assert rule_state("FloodwatchIngestWritesFailing") == "inactive"
    stack.compose("stop", "influxdb")
    started = time.monotonic()
    finish(send_part(stack, "influxdb stopped"))
    wait_for(lambda: rule_state("FloodwatchIngestWritesFailing") == "firing", 150,
             "the rule on ingest's failed writes firing")
    stack.timings["InfluxDB stopped until the rule fires"] = time.monotonic() - started
    stack.compose("start", "influxdb")
    wait_for(stack.influx_answering, 120, "InfluxDB answering again")
    wait_for(lambda: stack.stored() == stack.sent, 120, "the spool written once it is back")


def test_a_killed_ingest_container_loses_nothing(stack: Stack) -> None:
    publishers = send_part(stack, "ingest killed")
    stack.compose("kill", "ingest")  # SIGKILL, while those arrive
    assert stack.compose.state("ingest") == "exited"
    finish(publishers)
    finish(send_part(stack, "ingest down"))  # queued by the broker in ingest's session
    stack.compose("start", "ingest")
    wait_for(lambda: stack.stored() == stack.sent, 90, "every reading stored after the kill")


def test_a_restarted_influxdb_loses_nothing(stack: Stack) -> None:
    publishers = send_part(stack, "influxdb restarted")
    stack.compose("restart", "influxdb")
    finish(publishers)
    wait_for(stack.influx_answering, 120, "InfluxDB answering again")
    wait_for(lambda: stack.stored() == stack.sent, 120, "every reading stored after restart")
    wait_for(lambda: every_service_healthy(stack), 120, "every service healthy again")


def sukagawa_events(seen: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    return [json.loads(payload) for topic, payload in seen
            if topic == "floodwatch/alerts/sukagawa"]


def test_down_keeps_the_volumes_and_up_resumes_the_alert_state(stack: Stack) -> None:
    def identity(alerts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(a["alert_id"], a["alert_type"], a["level"], a["raised_at"]) for a in alerts]

    before = identity(open_alerts()["sukagawa"])
    assert before
    seen_before = len(stack.seen)
    known = {event["event_id"] for event in sukagawa_events(stack.seen)}
    stack.compose("down", "--timeout", "30")
    volumes = project_volumes()
    for volume in ("mosquitto-data", "influxdb-data", "ingest-spool", "alerts-state",
                   "notify-outbox", "api-state", "prometheus-data"):
        assert any(name.endswith(f"_{volume}") for name in volumes), (volume, volumes)
    started = time.monotonic()
    stack.compose("up", "-d", timeout=600)
    wait_for(lambda: every_service_healthy(stack), 180, "every service healthy after up")
    stack.timings["down, then up until healthy"] = time.monotonic() - started
    assert stack.stored() == stack.sent
    assert identity(open_alerts()["sukagawa"]) == before
    # The engine resumed from its state: no new river-level alert for Sukagawa (the
    # broker's retained copy of the last event may arrive again, with its own id).
    time.sleep(5)
    raised_again = [event for event in sukagawa_events(stack.seen[seen_before:])
                    if event["event_id"] not in known and event["alert_type"] == "river_level"]
    assert raised_again == []
