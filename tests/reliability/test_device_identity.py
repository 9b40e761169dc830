"""Device identity with the shipped deployment broker configuration: per-device
credentials, an ACL generated from the registry, and TLS -- against real Mosquitto."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from floodwatch.broker_acl import render_acl
from floodwatch.core.registry import StationRegistry
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.support import REPO_ROOT, InfluxQuery, IngestProcess, wait_for

PASSWORDS = {"floodwatch-ingest": "ingest-secret", "fushiguro": "fushiguro-secret",
             "marumori": "marumori-secret"}


@dataclass
class SecuredBroker:
    server: MosquittoServer
    tls_port: int
    ca_file: Path


def make_certificates(directory: Path) -> None:
    """A throwaway certificate authority and a server certificate for 127.0.0.1."""
    directory.mkdir()

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=floodwatch test CA", "-keyout", "ca.key", "-out", "ca.crt")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr")
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "server.crt")


@pytest.fixture
def secured_broker(tmp_path: Path, sample_registry: StationRegistry) -> Iterator[SecuredBroker]:
    make_certificates(tmp_path / "certs")
    passwd = tmp_path / "passwd"
    passwd.touch()
    for user, password in PASSWORDS.items():
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True)
    (tmp_path / "acl").write_text(render_acl(sample_registry))
    port, tls_port = free_port(), free_port()
    shipped = (REPO_ROOT / "config" / "mosquitto" / "mosquitto.conf").read_text()
    rewritten = (
        shipped.replace("/mosquitto/config/", f"{tmp_path}/")
        .replace("/mosquitto/certs/", f"{tmp_path}/certs/")
        .replace("/mosquitto/data/", f"{tmp_path}/data/")
        .replace("listener 8883 0.0.0.0", f"listener {tls_port} 127.0.0.1")
        .replace("listener 1883 0.0.0.0", f"listener {port} 127.0.0.1")
    ) + f"user {getpass.getuser()}\n"
    assert rewritten.count(str(tmp_path)) == 6, "the shipped config's paths changed"
    (tmp_path / "data").mkdir()
    server = MosquittoServer(port, tmp_path / "broker")
    server.config_file.parent.mkdir()
    server.config_file.write_text(rewritten)
    server.start()
    yield SecuredBroker(server, tls_port, tmp_path / "certs" / "ca.crt")
    server.stop()


def connect(port: int, user: str | None, password: str | None = None) -> tuple[Client, int]:
    client = Client(CallbackAPIVersion.VERSION2, client_id=f"{user}-client",
                    protocol=MQTTProtocolVersion.MQTTv5)
    if user is not None:
        client.username_pw_set(user, password)
    answered = threading.Event()
    outcome: list[int] = []

    def on_connect(_c: Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        outcome.append(reason.value)
        answered.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert answered.wait(5)
    return client, outcome[0]


def publish_outcome(client: Client, topic: str) -> int:
    """The PUBACK reason code the broker gives a QoS 1 publish."""
    acked = threading.Event()
    codes: list[int] = []

    def on_publish(_c: Client, _u: object, _mid: int, reason: ReasonCode, _p: object) -> None:
        codes.append(reason.value)
        acked.set()

    client.on_publish = on_publish
    client.publish(topic, '{"level_m": 3.0}', qos=1)
    assert acked.wait(5)
    return codes[0]


def test_anonymous_and_wrong_passwords_are_refused(secured_broker: SecuredBroker) -> None:
    port = secured_broker.server.port
    anonymous, code = connect(port, None)
    anonymous.loop_stop()
    assert code == 0x87  # not authorized
    wrong, code = connect(port, "fushiguro", "guess")
    wrong.loop_stop()
    # Mosquitto answers "not authorized" here too: it does not tell an attacker whether
    # the user exists.
    assert code == 0x87


def test_a_device_writes_only_its_own_topic(secured_broker: SecuredBroker) -> None:
    port = secured_broker.server.port
    seen = []
    listener = Client(CallbackAPIVersion.VERSION2, client_id="listener")
    listener.username_pw_set("floodwatch-ingest", PASSWORDS["floodwatch-ingest"])
    subscribed = threading.Event()
    listener.on_subscribe = lambda *_: subscribed.set()
    listener.on_message = lambda _c, _u, message: seen.append(message.topic)
    listener.connect("127.0.0.1", port)
    listener.subscribe("sensors/#", qos=1)
    listener.loop_start()
    assert subscribed.wait(5)

    device, code = connect(port, "fushiguro", PASSWORDS["fushiguro"])
    assert code == 0
    assert publish_outcome(device, "sensors/river/fushiguro") == 0
    assert publish_outcome(device, "sensors/river/marumori") == 0x87  # not authorized
    assert publish_outcome(device, "sensors/road/fushiguro") == 0x87
    assert publish_outcome(device, "floodwatch/readings/river/fushiguro") == 0x87
    wait_for(lambda: "sensors/river/fushiguro" in seen, 5, "the device's own reading")
    threading.Event().wait(0.5)
    assert seen == ["sensors/river/fushiguro"]
    device.loop_stop()
    listener.loop_stop()


def test_ingest_over_tls_with_its_own_credentials(
    tmp_path: Path, secured_broker: SecuredBroker, influx: InfluxQuery
) -> None:
    env = {
        "FLOODWATCH_MQTT_URL": f"mqtts://127.0.0.1:{secured_broker.tls_port}",
        "FLOODWATCH_MQTT_USERNAME": "floodwatch-ingest",
        "FLOODWATCH_MQTT_PASSWORD": PASSWORDS["floodwatch-ingest"],
        "FLOODWATCH_MQTT_CA_FILE": str(secured_broker.ca_file),
        "FLOODWATCH_INFLUX_URL": influx.url,
        "FLOODWATCH_INFLUX_DB": influx.database,
        "FLOODWATCH_STATE_DIR": str(tmp_path / "state"),
        "FLOODWATCH_STATIONS": str(REPO_ROOT / "config" / "stations.yaml"),
    }
    ingest = IngestProcess(env, tmp_path / "ingest.log").start()
    device, _ = connect(secured_broker.server.port, "fushiguro", PASSWORDS["fushiguro"])
    assert publish_outcome(device, "sensors/river/fushiguro") == 0
    device.loop_stop()
    wait_for(lambda: influx.count("river", "level_m") == 1, 10, "the reading over TLS")
    assert ingest.stop() == 0
    assert PASSWORDS["floodwatch-ingest"] not in ingest.log_text()


def test_ingest_with_a_wrong_password_stops_with_one_line(
    tmp_path: Path, secured_broker: SecuredBroker
) -> None:
    env = {**os.environ,
           "FLOODWATCH_MQTT_URL": f"mqtt://floodwatch-ingest:nope@127.0.0.1:"
                                  f"{secured_broker.server.port}",
           "FLOODWATCH_STATE_DIR": str(tmp_path / "state")}
    result = subprocess.run([sys.executable, "-m", "floodwatch", "ingest"], env=env,
                            capture_output=True, text=True, timeout=30, cwd=REPO_ROOT,
                            check=False)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == (f"floodwatch: FLOODWATCH_MQTT_URL: broker mqtt://floodwatch-ingest@"
                    f"127.0.0.1:{secured_broker.server.port} refused the connection: "
                    "not authorized")
    assert "nope" not in result.stderr
    assert "Traceback" not in result.stderr


def test_broker_acl_command_covers_the_registry(sample_registry: StationRegistry) -> None:
    result = subprocess.run([sys.executable, "-m", "floodwatch", "broker-acl"],
                            capture_output=True, text=True, timeout=30, cwd=REPO_ROOT,
                            check=True)
    for station in sample_registry:
        assert (f"user {station.id}\ntopic write sensors/{station.kind.value}/{station.id}\n"
                in result.stdout)
