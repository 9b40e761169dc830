"""``floodwatch services up|down|status|install``: the private local broker and database.

The ports come from the same settings the stages use (FLOODWATCH_MQTT_URL and
FLOODWATCH_INFLUX_URL, default 11883 and 18086), so a developer never has to keep two
places in step, and the system's own services on 1883/8086 are left alone.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from floodwatch.core.mqtt import BrokerAddress
from floodwatch.core.settings import Settings
from floodwatch.services.packages import install_missing, missing_packages
from floodwatch.services.process import ServiceError, port_is_open
from floodwatch.services.servers import InfluxServer, LocalServer, MosquittoServer

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _local_port(host: str | None, port: int | None, setting: str) -> int:
    if host not in LOOPBACK:
        raise ServiceError(
            f"{setting} points at {host}; 'floodwatch services' only runs "
            "services on this machine (127.0.0.1)"
        )
    if port is None:
        raise ServiceError(f"{setting} must name a port for the local service")
    return port


def local_servers(settings: Settings) -> tuple[MosquittoServer, InfluxServer]:
    root = Path(settings.state_dir).resolve() / "services"
    # The broker where the stages will look for it (the same parser, the same default
    # port); InfluxDB's is an HTTP URL, which must name its port.
    broker = BrokerAddress.from_settings(settings)
    mqtt_port = _local_port(broker.host, broker.port, "FLOODWATCH_MQTT_URL")
    influx = urlsplit(str(settings.influx_url))
    influx_port = _local_port(influx.hostname, influx.port, "FLOODWATCH_INFLUX_URL")
    return (
        MosquittoServer(mqtt_port, root / "mosquitto"),
        InfluxServer(influx_port, influx_port + 2, root / "influxdb"),
    )


def up(settings: Settings) -> list[str]:
    installed = install_missing()
    lines = [f"installed {', '.join(installed)}"] if installed else []
    mosquitto, influx = local_servers(settings)
    servers: list[tuple[LocalServer, str]] = [
        (mosquitto, "FLOODWATCH_MQTT_URL"), (influx, "FLOODWATCH_INFLUX_URL")
    ]
    claimed: dict[int, str] = {}
    for server, setting in servers:
        for port in server.ports:
            if port in claimed:
                raise ServiceError(f"port {port} is wanted by {claimed[port]} and by {setting}"
                                   f"{_derived(server, port)}; set one to another port")
            claimed[port] = setting
    running = [server.process.is_running() and port_is_open(server.port)
               for server, _ in servers]
    # Every port checked before anything starts: a refusal leaves nothing half up.
    for (server, setting), up_already in zip(servers, running, strict=True):
        for port in [] if up_already else server.ports:
            if port_is_open(port):
                raise ServiceError(f"port {port} is taken by another program; "
                                   f"set {setting} to a free port{_derived(server, port)}")
    for (server, _), up_already in zip(servers, running, strict=True):
        name = server.process.name
        if up_already:
            lines.append(f"{name} already running on {server.url}")
            continue
        server.write_config()
        server.start()
        lines.append(f"{name} started on {server.url} (data in {server.workdir})")
    return lines


def _derived(server: LocalServer, port: int) -> str:
    """What a port the setting does not name comes from (InfluxDB's RPC port)."""
    if port == server.port:
        return ""
    return (f" (port {port} is InfluxDB's backup/RPC port, the URL's port + 2: "
            "both must be free)")


def down(settings: Settings) -> list[str]:
    lines = []
    for server in local_servers(settings):
        name = server.process.name
        if server.process.is_running():
            server.stop()
            lines.append(f"{name} stopped")
        else:
            lines.append(f"{name} was not running")
    return lines


def status(settings: Settings) -> tuple[list[str], bool]:
    lines, healthy = [], True
    for server in local_servers(settings):
        running = server.process.is_running() and port_is_open(server.port)
        healthy = healthy and running
        state = f"running (pid {server.process.pid})" if running else "stopped"
        lines.append(f"{server.process.name:<10} {state:<22} {server.url}")
    missing = missing_packages()
    if missing:
        lines.append(f"not installed: {', '.join(missing)} (floodwatch services install)")
    return lines, healthy


def run_command(action: str, settings: Settings) -> None:
    if action == "up":
        output = up(settings)
    elif action == "down":
        output = down(settings)
    elif action == "install":
        installed = install_missing()
        output = [f"installed {', '.join(installed)}" if installed else "all installed"]
    else:
        output, healthy = status(settings)
        print("\n".join(output))
        if not healthy:
            raise SystemExit(3)
        return
    print("\n".join(output))
