"""The two private servers floodwatch runs locally: Mosquitto and InfluxDB 1.x."""

from __future__ import annotations

import getpass
import urllib.request
from abc import ABC, abstractmethod
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


class LocalServer(ABC):
    """A server process on 127.0.0.1 with its configuration and data in ``workdir``."""

    binary = ""
    config_name = ""
    config_flag = "-c"
    start_timeout_s = 10.0

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.config_file = workdir / self.config_name
        self.process = ManagedProcess(
            self.binary,
            [str(require_binary(self.binary)), self.config_flag, str(self.config_file)],
            workdir,
        )

    @property
    def ports(self) -> list[int]:
        return [self.port]

    @property
    @abstractmethod
    def url(self) -> str: ...

    @abstractmethod
    def write_config(self) -> None: ...

    def ready(self) -> bool:
        return port_is_open(self.port)

    def start(self) -> None:
        for port in self.ports:
            if port_is_open(port):
                raise ServiceError(f"port {port} is already in use; choose another")
        if not self.config_file.exists():
            self.write_config()
        self.process.start()
        self._wait_ready()

    def stop(self) -> None:
        self.process.stop()

    def restart(self) -> None:
        self.process.stop()
        self.process.start()
        self._wait_ready()

    def _wait_ready(self) -> None:
        name = self.process.name
        try:
            wait_until(lambda: self.ready() or not self.process.is_running(),
                       self.start_timeout_s, f"{name} on port {self.port}")
        except ServiceError as exc:
            raise ServiceError(f"{exc}\n{self.process.log_tail()}") from exc
        if not self.process.is_running():
            raise ServiceError(f"{name} exited at start:\n{self.process.log_tail()}")


class MosquittoServer(LocalServer):
    """Mosquitto with floodwatch's shipped local configuration (mosquitto.conf)."""

    binary = "mosquitto"
    config_name = "mosquitto.conf"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def write_config(self) -> None:
        data_dir = self.workdir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(render_template(
            "mosquitto.conf", port=self.port, data_dir=data_dir, user=getpass.getuser()))


class InfluxServer(LocalServer):
    """InfluxDB 1.x on ``port`` (HTTP) and ``rpc_port`` (its backup/RPC service)."""

    binary = "influxd"
    config_name = "influxdb.conf"
    config_flag = "-config"
    start_timeout_s = 30.0

    def __init__(self, port: int, rpc_port: int, workdir: Path) -> None:
        self.rpc_port = rpc_port
        super().__init__(port, workdir)

    @property
    def ports(self) -> list[int]:
        return [self.port, self.rpc_port]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_config(self) -> None:
        data_dir = self.workdir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(render_template(
            "influxdb.conf", port=self.port, rpc_port=self.rpc_port, data_dir=data_dir))

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=0.5) as response:  # noqa: S310
                return int(response.status) == 204
        except OSError:
            return False
