"""Publishing simulated devices' events over MQTT, exactly as field devices would.

Each device gets its own MQTT connection and client id (``floodwatch-sim-{station}``),
as in the field, unless there are more than ``PER_DEVICE_LIMIT`` devices or a single
shared connection is asked for (hundreds of threads and sockets would measure the
simulator, not floodwatch). The clients are paho's, made by core.mqtt's ``new_client``
from a ``BrokerAddress``. Every message is QoS 1; paho's queue is unbounded
(``new_client`` sets ``max_queued_messages_set(0)``) so nothing is dropped while a
connection is down, and a run is complete only when the broker has acknowledged
(PUBACK) every message. ``max_outstanding`` bounds the messages in flight, so a load
run measures what the broker takes rather than filling memory.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

import structlog
from paho.mqtt.client import Client, ConnectFlags
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from floodwatch.core.mqtt import BrokerAddress, MqttError, new_client
from floodwatch.core.readings import JST
from floodwatch.simulators.clock import Pacer
from floodwatch.simulators.messages import Event

PER_DEVICE_LIMIT = 50
CLIENT_PREFIX = "floodwatch-sim"
PROGRESS_EVERY_S = 60.0

log = structlog.get_logger("simulators")


@dataclass(frozen=True)
class PublishReport:
    published: int
    acknowledged: int
    refused: int  # PUBACK with a failure reason code (e.g. not authorised)
    elapsed_s: float
    connections: int
    interrupted: bool = False
    first_sim_time: datetime | None = None
    last_sim_time: datetime | None = None

    @property
    def unacknowledged(self) -> int:
        return self.published - self.acknowledged - self.refused

    @property
    def rate_per_s(self) -> float:
        return self.acknowledged / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> str:
        text = (f"published {self.published} messages over {self.connections} "
                f"connection{'s' if self.connections != 1 else ''}, {self.acknowledged} "
                f"acknowledged in {self.elapsed_s:.1f}s ({self.rate_per_s:.1f} msg/s)")
        if self.refused:
            text += f", {self.refused} refused by the broker"
        if self.unacknowledged:
            text += f", {self.unacknowledged} not acknowledged"
        if self.first_sim_time is not None and self.last_sim_time is not None:
            text += (f"; simulated {self.first_sim_time.astimezone(JST).isoformat()} .. "
                     f"{self.last_sim_time.astimezone(JST).isoformat()}")
        return text + (" (interrupted)" if self.interrupted else "")


class DevicePublisher:
    """Connections for a set of devices, and the books of what the broker confirmed."""

    def __init__(self, address: BrokerAddress, devices: Sequence[str], *,
                 single_connection: bool | None = None, max_outstanding: int = 1000,
                 connect_timeout_s: float = 10.0) -> None:
        if single_connection is None:
            single_connection = len(devices) > PER_DEVICE_LIMIT
        self.address = address
        self.max_outstanding = max_outstanding
        self.connect_timeout_s = connect_timeout_s
        self.published = self.acknowledged = self.refused = 0
        self._books = threading.Condition()
        self._connected: dict[str, threading.Event] = {}
        self._refusals: dict[str, str] = {}
        if single_connection:
            shared = self._client(f"{CLIENT_PREFIX}-{os.getpid()}")
            self._by_device = dict.fromkeys(devices, shared)
            self._clients = [shared]
        else:
            self._by_device = {device: self._client(f"{CLIENT_PREFIX}-{device}")
                               for device in devices}
            self._clients = list(self._by_device.values())

    def _client(self, client_id: str) -> Client:
        # paho's own in-flight limit off (it rescans its whole queue on every PUBACK);
        # ``max_outstanding`` keeps the window instead, within the broker's Receive
        # Maximum (Mosquitto: max_inflight_messages, 10,000 in the shipped config).
        client = new_client(self.address, client_id, max_inflight=0)
        client.user_data_set(client_id)
        self._connected[client_id] = threading.Event()
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        return client

    def _on_connect(self, _client: Client, client_id: str, _flags: ConnectFlags,
                    reason: ReasonCode, _properties: Properties | None) -> None:
        if reason.is_failure:
            self._refusals[client_id] = str(reason)
        self._connected[client_id].set()

    def _on_publish(self, _client: Client, _userdata: Any, _mid: int, reason: ReasonCode,
                    _properties: Properties) -> None:
        with self._books:
            if reason.is_failure:
                self.refused += 1
            else:
                self.acknowledged += 1
            self._books.notify_all()

    @property
    def connections(self) -> int:
        return len(self._clients)

    def __enter__(self) -> DevicePublisher:
        try:
            for client in self._clients:
                client.connect(self.address.host, self.address.port, keepalive=30)
                client.loop_start()
        except OSError as exc:
            self.close()
            raise MqttError(f"cannot connect to {self.address}: {exc.strerror or exc}") from exc
        deadline = time.monotonic() + self.connect_timeout_s
        for client_id, connected in self._connected.items():
            if not connected.wait(max(0.0, deadline - time.monotonic())):
                self.close()
                raise MqttError(f"{self.address} did not answer {client_id}'s CONNECT in "
                                f"{self.connect_timeout_s:.0f}s")
            if client_id in self._refusals:
                self.close()
                raise MqttError(f"{self.address} refused {client_id}: "
                                f"{self._refusals[client_id]}")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def publish(self, event: Event, stop: threading.Event | None = None) -> bool:
        """Queue one QoS 1 message; False when ``stop`` was set while waiting for room."""
        with self._books:
            while self.published - self.acknowledged - self.refused >= self.max_outstanding:
                if stop is not None and stop.is_set():
                    return False
                self._books.wait(0.1)
            self.published += 1
        self._by_device[event.device].publish(event.topic, event.payload, qos=1)
        return True

    def wait_acknowledged(self, timeout_s: float, give_up: threading.Event | None = None
                          ) -> bool:
        """True once every published message is acknowledged or refused."""
        deadline = time.monotonic() + timeout_s
        with self._books:
            while self.acknowledged + self.refused < self.published:
                left = deadline - time.monotonic()
                if left <= 0 or (give_up is not None and give_up.is_set()):
                    return False
                self._books.wait(min(left, 0.1))
        return True

    def close(self) -> None:
        for client in self._clients:
            client.disconnect()
            client.loop_stop()


def publish_events(address: BrokerAddress, events: Iterable[Event], devices: Sequence[str],
                   *, speed: float, sim_origin: datetime,
                   single_connection: bool | None = None,
                   stop: threading.Event | None = None, give_up: threading.Event | None = None,
                   drain_timeout_s: float = 60.0, simulated: bool = True) -> PublishReport:
    """Publish ``events`` paced at ``speed`` (0: unpaced) from ``sim_origin``, then wait
    until the broker has acknowledged every one (or ``drain_timeout_s`` passes, or
    ``give_up`` is set). Setting ``stop`` ends the run early, cleanly. ``simulated``:
    report the span of simulated time covered (not for load runs)."""
    stop = stop or threading.Event()
    first: datetime | None = None
    last: datetime | None = None
    interrupted = False
    with DevicePublisher(address, devices, single_connection=single_connection) as publisher:
        pacer = Pacer(sim_origin, speed, stop)
        started = time.monotonic()
        next_progress = started + PROGRESS_EVERY_S
        for event in events:
            if not pacer.wait_for(event.sim_time) or not publisher.publish(event, stop):
                interrupted = True
                break
            first = first or event.sim_time
            last = event.sim_time
            if time.monotonic() >= next_progress:
                next_progress += PROGRESS_EVERY_S
                log.info("simulating", sim_time=last.isoformat(),
                         published=publisher.published, acknowledged=publisher.acknowledged)
        publisher.wait_acknowledged(drain_timeout_s, give_up)
        elapsed = time.monotonic() - started
        if not simulated:
            first = last = None
        return PublishReport(publisher.published, publisher.acknowledged, publisher.refused,
                             elapsed, publisher.connections, interrupted, first, last)
