"""The two private servers floodwatch runs locally: Mosquitto and InfluxDB 1.x."""

from __future__ import annotations

import getpass
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from floodwatch.services.packages import require_binary
from floodwatch.services.process import (
    ManagedProcess,
    ServiceError,
    port_is_open,
    wait_until,
)


def render_template(name: str, **values: object) -> str:
    template = resources.files("floodwatch.services").joinpath(name).read_text()
    return Template(template).substitute({key: str(value) for key, value in values.items()})


@dataclass
class MosquittoServer:
    """A Mosquitto broker on 127.0.0.1:port with its data in ``workdir``."""

    port: int
    workdir: Path

    def __post_init__(self) -> None:
        self.config_file = self.workdir / "mosquitto.conf"
        self.process = ManagedProcess(
            "mosquitto", [str(require_binary("mosquitto")), "-c", str(self.config_file)],
            self.workdir,
        )

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def write_config(self, extra: str = "") -> None:
        data_dir = self.workdir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        text = render_template(
            "mosquitto.conf", port=self.port, data_dir=data_dir, user=getpass.getuser()
        )
        self.config_file.write_text(text + extra)

    def start(self, timeout_s: float = 10.0) -> None:
        if port_is_open(self.port):
            raise ServiceError(f"port {self.port} is already in use; choose another")
        if not self.config_file.exists():
            self.write_config()
        self.process.start()
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        try:
            wait_until(
                lambda: port_is_open(self.port) or not self.process.is_running(),
                timeout_s, f"mosquitto on port {self.port}",
            )
        except ServiceError as exc:
            raise ServiceError(f"{exc}\n{self.process.log_tail()}") from exc
        if not self.process.is_running():
            raise ServiceError(f"mosquitto exited at start:\n{self.process.log_tail()}")

    def stop(self) -> None:
        self.process.stop()

    def restart(self) -> None:
        self.process.stop()
        self.process.start()
        self._wait_ready(10.0)


@dataclass
class InfluxServer:
    """An InfluxDB 1.x server on 127.0.0.1:port (and rpc_port) with its data in ``workdir``."""

    port: int
    rpc_port: int
    workdir: Path

    def __post_init__(self) -> None:
        self.config_file = self.workdir / "influxdb.conf"
        self.process = ManagedProcess(
            "influxd", [str(require_binary("influxd")), "-config", str(self.config_file)],
            self.workdir,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_config(self) -> None:
        data_dir = self.workdir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(
            render_template("influxdb.conf", port=self.port, rpc_port=self.rpc_port,
                            data_dir=data_dir)
        )

    def ping(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=0.5) as response:  # noqa: S310
                return int(response.status) == 204
        except OSError:
            return False

    def start(self, timeout_s: float = 30.0) -> None:
        for port in (self.port, self.rpc_port):
            if port_is_open(port):
                raise ServiceError(f"port {port} is already in use; choose another")
        if not self.config_file.exists():
            self.write_config()
        self.process.start()
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        try:
            wait_until(lambda: self.ping() or not self.process.is_running(), timeout_s,
                       f"influxd on port {self.port}")
        except ServiceError as exc:
            raise ServiceError(f"{exc}\n{self.process.log_tail()}") from exc
        if not self.process.is_running():
            raise ServiceError(f"influxd exited at start:\n{self.process.log_tail()}")

    def stop(self) -> None:
        self.process.stop()

    def restart(self) -> None:
        self.process.stop()
        self.process.start()
        self._wait_ready(30.0)
