"""docker-compose.yml started for real on podman, for test_compose_stack.py.

No image registry is reachable on these machines, so every image is built here first
(deploy/compose-test/: Debian stand-ins under the official names, floodwatch from a
wheelhouse made on the host), then Debian's docker-compose 1.29 drives podman's
Docker-compatible socket with the production file plus deploy/compose-test's override.
podman leaves health checks to systemd timers, and there is no systemd here: a thread
runs each container's own check (`podman healthcheck run`) every few seconds, as
Docker's engine would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.deployment.test_wheel import build_source, build_wheel
from tests.support import REPO_ROOT

TEST_DEPLOY = REPO_ROOT / "deploy" / "compose-test"
PROJECT = "floodwatch-compose-test"
# Kept between runs (ignored by git): the wheelhouse, checked against the lock's hashes.
CACHE = REPO_ROOT / ".floodwatch" / "compose-test"
STAGES = ("ingest", "forecast", "alerts", "notify", "api")
IMAGES = {
    "docker.io/library/eclipse-mosquitto:2.0": "mosquitto.Dockerfile",
    "docker.io/library/influxdb:1.6": "influxdb.Dockerfile",
    "docker.io/prom/prometheus:v2.42.0": "prometheus.Dockerfile",
    "localhost/floodwatch:latest": "floodwatch.Dockerfile",
}


def run(argv: list[str], *, timeout: float = 600, check: bool = True,
        env: dict[str, str] | None = None, cwd: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                            env=env, cwd=cwd, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {result.returncode}:\n"
                             f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def build_images(workdir: Path) -> dict[str, float]:
    """The three images, tagged as the compose files name them; seconds per step."""
    timings: dict[str, float] = {}
    context = workdir / "image-context"
    context.mkdir()
    started = time.monotonic()
    lock = REPO_ROOT / "requirements-runtime.lock"
    wheelhouse = CACHE / "wheelhouse"
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--require-hashes",
         "-r", str(lock), "--wheel-dir", str(wheelhouse)])
    shutil.copytree(wheelhouse, context / "wheelhouse")
    shutil.copy(lock, context / "requirements-runtime.lock")
    (workdir / "wheel-source").mkdir()
    built = build_wheel(build_source(workdir / "wheel-source"), context / "dist")
    assert built.returncode == 0, built.stderr
    shutil.copytree(REPO_ROOT / "config", context / "config",
                    ignore=shutil.ignore_patterns("acl", "passwd", "certs"))
    timings["wheelhouse and wheel"] = time.monotonic() - started
    for tag, dockerfile in IMAGES.items():
        started = time.monotonic()
        shutil.copy(TEST_DEPLOY / dockerfile, context / dockerfile)
        run(["podman", "build", "--quiet", "--layers", "-t", tag, "-f",
             str(context / dockerfile), str(context)], timeout=900)
        timings[f"image {tag}"] = time.monotonic() - started
    return timings


@contextmanager
def podman_service(socket: Path, log: Path) -> Iterator[str]:
    """podman's Docker-compatible API on ``socket``; stopped by its own pid."""
    with log.open("w") as out:
        service = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{socket}"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not socket.exists():
            assert service.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "podman's socket did not appear"
            time.sleep(0.1)
        yield f"unix://{socket}"
    finally:
        service.terminate()
        try:
            service.wait(15)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait(5)


class HealthChecks(threading.Thread):
    """Runs every project container's own health check, as Docker's engine does (podman
    needs systemd for that)."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="compose-health-checks")
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(2):
            for name in project_containers(running_only=True):
                with suppress(subprocess.TimeoutExpired):
                    subprocess.run(["podman", "healthcheck", "run", name],
                                   capture_output=True, timeout=20, check=False)

    def stop(self) -> None:
        self.stopping.set()
        self.join(30)


def project_containers(*, running_only: bool = False) -> list[str]:
    argv = ["podman", "ps", "--format", "{{.Names}}",
            "--filter", f"label=com.docker.compose.project={PROJECT}"]
    result = run(argv if running_only else [*argv, "--all"], timeout=60, check=False)
    return result.stdout.split()


class Compose:
    """docker-compose with the production file and the test override, in ``project``."""

    def __init__(self, project: Path, docker_host: str, influx_port: int) -> None:
        self.project = project
        self.env = {**os.environ, "DOCKER_HOST": docker_host, "DOCKER_BUILDKIT": "0",
                    "COMPOSE_DOCKER_CLI_BUILD": "0",
                    "FLOODWATCH_TEST_INFLUX_PORT": str(influx_port)}

    def __call__(self, *args: str, timeout: float = 600, check: bool = True
                 ) -> subprocess.CompletedProcess[str]:
        return run(["docker-compose", "--no-ansi", "-p", PROJECT,
                    "-f", "docker-compose.yml", "-f", "docker-compose.test.yml", *args],
                   timeout=timeout, check=check, env=self.env, cwd=self.project)

    @staticmethod
    def container(service: str) -> str:
        return f"{PROJECT}_{service}_1"

    def health(self, service: str) -> str:
        result = run(["podman", "inspect", "--format", "{{.State.Health.Status}}",
                      self.container(service)], timeout=60, check=False)
        return result.stdout.strip()

    def state(self, service: str) -> str:
        result = run(["podman", "inspect", "--format", "{{.State.Status}}",
                      self.container(service)], timeout=60, check=False)
        return result.stdout.strip()

    def logs(self, service: str) -> str:
        # podman logs gives the container's stderr on its own stderr.
        result = run(["podman", "logs", self.container(service)], timeout=60, check=False)
        return result.stdout + result.stderr


def remove_everything() -> None:
    """Containers, the network and the named volumes of the test project, whatever state
    a failed run left them in."""
    for name in project_containers():
        run(["podman", "rm", "--force", "--time", "0", name], timeout=120, check=False)
    volumes = run(["podman", "volume", "ls", "--quiet", "--filter",
                   f"label=com.docker.compose.project={PROJECT}"], check=False).stdout.split()
    for volume in volumes:
        run(["podman", "volume", "rm", "--force", volume], timeout=120, check=False)
    networks = run(["podman", "network", "ls", "--quiet", "--filter",
                    f"label=com.docker.compose.project={PROJECT}"], check=False).stdout.split()
    for network in networks:
        run(["podman", "network", "rm", "--force", network], timeout=120, check=False)


def project_volumes() -> list[str]:
    result = run(["podman", "volume", "ls", "--format", "{{.Name}}", "--filter",
                  f"label=com.docker.compose.project={PROJECT}"], check=False)
    return sorted(result.stdout.split())


OBSERVER = "floodwatch-test-observer"  # reads every topic, for the test's assertions
# A broker password per stage, from the stage list (a stage added to the compose file
# without its secret here left the forecast service unable to log in).
SECRETS = ("influxdb_admin_password", "floodwatch_influx_token",
           *(f"{stage}_mqtt_password" for stage in STAGES))


def prepare_project(project: Path, api_keys: str, stations: list[str]) -> dict[str, str]:
    """What docker-compose.yml's header asks for before the first `up`, done as an
    operator would (`floodwatch broker-acl`, `mosquitto_passwd -b`, openssl), in a copy
    of the compose file's folder. Returns every broker user's password."""
    shutil.copy(REPO_ROOT / "docker-compose.yml", project / "docker-compose.yml")
    shutil.copy(TEST_DEPLOY / "docker-compose.test.yml", project / "docker-compose.test.yml")
    shutil.copy(REPO_ROOT / ".env.example", project / ".env")
    shutil.copytree(REPO_ROOT / "deploy" / "prometheus", project / "deploy" / "prometheus")
    broker = project / "config" / "mosquitto"
    (broker / "certs").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "config" / "mosquitto" / "mosquitto.conf", broker)
    secrets = project / "secrets"
    secrets.mkdir()
    passwords = {user: f"{user}-password" for user in
                 [*(f"floodwatch-{stage}" for stage in STAGES), OBSERVER, *stations]}
    for name in SECRETS:
        stage_user = f"floodwatch-{name.removesuffix('_mqtt_password')}"
        (secrets / name).write_text(passwords.get(stage_user, f"{name}-value"))
    (secrets / "floodwatch_api_keys").write_text(api_keys)
    passwd = broker / "passwd"
    passwd.touch()
    for user, password in passwords.items():
        run(["mosquitto_passwd", "-b", str(passwd), user, password])
    acl = run([sys.executable, "-m", "floodwatch", "broker-acl"],
              env={**os.environ, "FLOODWATCH_STATIONS": str(REPO_ROOT / "config" /
                                                             "stations.yaml")}).stdout
    (broker / "acl").write_text(f"{acl}\nuser {OBSERVER}\ntopic read #\n")
    certs = broker / "certs"
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=floodwatch test CA", "-keyout", str(certs / "ca.key"),
         "-out", str(certs / "ca.crt")])
    run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-keyout", str(certs / "server.key"), "-out", str(certs / "server.csr")])
    extensions = certs / "san.ext"
    extensions.write_text("subjectAltName=DNS:localhost,DNS:mosquitto,IP:127.0.0.1\n")
    run(["openssl", "x509", "-req", "-in", str(certs / "server.csr"), "-CA",
         str(certs / "ca.crt"), "-CAkey", str(certs / "ca.key"), "-CAcreateserial",
         "-days", "2", "-extfile", str(extensions), "-out", str(certs / "server.crt")])
    # The containers' users (mosquitto, floodwatch) are not the host's: readable files.
    for path in project.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return passwords
