"""The wheel installs one import root, ``floodwatch``, and runs an office on its own.

Other distributions on PyPI ship top-level ``core`` and ``api`` packages: a wheel that
installed those names would overwrite their files, and uninstalling either would delete
the other's. So the built wheel is opened and its top-level names listed, then installed
into a fresh virtual environment and run from a directory far from the checkout, as an
operator would: ``floodwatch init office``, then ``floodwatch up`` in it against a real
broker and InfluxDB, a reading stored and the dashboard served from the wheel's files.
"""

from __future__ import annotations

import ast
import json
import shutil
import signal
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from floodwatch.api.api_docs import VENDOR_FOLDERS
from floodwatch.api.dashboard import STATIC_FOLDERS
from floodwatch.core.config_paths import CONFIG_FILE_SETTINGS, default_path
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from floodwatch.starter import STARTER_FILES
from tests.support import REPO_ROOT, InfluxQuery, mosquitto_pub, wait_for

STAGE_FOLDERS = ("core", "ingest", "alerts", "forecast", "notify", "api", "simulators")
# What the API serves from the wheel (api/dashboard.py, api/api_docs.py) and must be there.
DASHBOARD_FILES = (
    "index.html", "app/main.js", "node_modules/leaflet/dist/leaflet-src.esm.js",
    "node_modules/leaflet/dist/leaflet.css", "node_modules/leaflet/LICENSE",
    "node_modules/uplot/dist/uPlot.esm.js", "node_modules/uplot/dist/uPlot.min.css",
    "node_modules/swagger-ui-dist/swagger-ui-bundle.js",
    "node_modules/swagger-ui-dist/swagger-ui.css", "node_modules/redoc/bundles/redoc.standalone.js",
)

pytestmark = pytest.mark.slow


def build_source(into: Path) -> Path:
    """A copy of what the wheel is built from: setuptools writes build/ and *.egg-info
    into the source tree. The npm libraries (tens of MB) are linked, not copied."""
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy(REPO_ROOT / name, into / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules")
    for folder in ("floodwatch", "config", "dashboard", *STAGE_FOLDERS):
        shutil.copytree(REPO_ROOT / folder, into / folder, symlinks=True, ignore=ignore)
    (into / "dashboard" / "node_modules").symlink_to(
        (REPO_ROOT / "dashboard" / "node_modules").resolve())
    return into


def build_wheel(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    # pip fetches the build backend (setuptools) from PyPI into an isolated build
    # environment: the project's venv keeps the setuptools it was made with, whose
    # pkg_resources twitter-text-parser imports at run time (removed in setuptools 81).
    return subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "--wheel-dir", str(out), str(source)],
        capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = build_wheel(build_source(tmp_path_factory.mktemp("source")), out)
    assert result.returncode == 0, result.stderr
    (built,) = out.glob("floodwatch-*.whl")
    print(f"\nwheel: {built.stat().st_size / 1e6:.1f} MB")
    return built


@dataclass(frozen=True)
class Installed:
    venv: Path
    purelib: str

    @property
    def floodwatch(self) -> str:
        return str(self.venv / "bin" / "floodwatch")

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def run(self, *argv: str, cwd: Path, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=120,
                              check=False, env={**self.env(), **(env or {})})

    def env(self) -> dict[str, str]:
        return {"PATH": f"{self.venv / 'bin'}:/usr/bin:/bin"}


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    # The dependencies come from this environment's site-packages (a .pth line adds the
    # folder; .pth files inside it, such as the checkout's editable install, are not read),
    # so the test needs no network and only the wheel itself is installed.
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    Path(purelib, "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300, check=False)
    assert install.returncode == 0, install.stderr
    return Installed(venv, purelib)


def test_floodwatch_is_the_wheels_only_top_level_name(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top_level = {name.split("/")[0] for name in names if not name.startswith("floodwatch-")}
    assert top_level == {"floodwatch"}
    for folder in STAGE_FOLDERS:
        assert f"floodwatch/{folder}/__init__.py" in names
    assert "floodwatch/simulators/scenarios/typhoon.yaml" in names
    assert "floodwatch/services/mosquitto.conf" in names


def test_the_wheel_carries_the_sample_configuration_dashboard_and_licence(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read("floodwatch-0.1.0.dist-info/METADATA").decode()
    for setting in CONFIG_FILE_SETTINGS:
        assert f"floodwatch/{default_path(setting)}" in names
    for starter in STARTER_FILES:
        assert f"floodwatch/{starter.path}" in names
    for name in DASHBOARD_FILES:
        assert f"floodwatch/dashboard/{name}" in names
    assert not [name for name in names if name.endswith(".map")]
    assert "floodwatch-0.1.0.dist-info/licenses/LICENSE" in names
    assert "License-Expression: Apache-2.0" in metadata.splitlines()


def test_the_build_checks_every_folder_the_api_serves() -> None:
    setup = ast.parse((REPO_ROOT / "setup.py").read_text())
    (served,) = [ast.literal_eval(node.value) for node in ast.walk(setup)
                 if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "SERVED"]
    assert set(served) == {"index.html", *STATIC_FOLDERS.values(), *VENDOR_FOLDERS.values()}


def test_no_wheel_without_the_dashboards_npm_libraries(tmp_path: Path) -> None:
    (tmp_path / "source").mkdir()
    source = build_source(tmp_path / "source")
    (source / "dashboard" / "node_modules").unlink()
    result = build_wheel(source, tmp_path / "out")
    assert result.returncode != 0
    assert "run `npm ci` in dashboard/" in result.stdout + result.stderr
    assert not list((tmp_path / "out").glob("*.whl"))


def test_the_installed_wheel_runs_outside_the_checkout(installed: Installed,
                                                       tmp_path: Path) -> None:
    helped = installed.run(installed.floodwatch, "--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    for command in ("ingest", "alerts", "notify", "api", "up", "simulate", "init"):
        assert command in helped.stdout
    version = installed.run(installed.floodwatch, "--version", cwd=tmp_path)
    assert (version.returncode, version.stdout) == (0, "floodwatch 0.1.0\n")

    where = installed.run(installed.python, "-c",
                          "import floodwatch.core.settings as s; print(s.__file__)", cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert where.stdout.startswith(installed.purelib), where.stdout

    for old_name in STAGE_FOLDERS:
        old = installed.run(installed.python, "-c", f"import {old_name}", cwd=tmp_path)
        assert old.returncode != 0, f"`import {old_name}` works in the installed wheel"
        assert "ModuleNotFoundError" in old.stderr


def test_a_stage_without_configuration_says_to_run_init(installed: Installed,
                                                        tmp_path: Path) -> None:
    # Production runs the stages one by one: never on the packaged sample.
    checked = installed.run(installed.floodwatch, "ingest", "--check", cwd=tmp_path)
    assert checked.returncode == 2
    assert "FLOODWATCH_STATIONS" in checked.stderr
    assert "floodwatch init" in checked.stderr


def test_init_then_up_stores_a_reading_and_serves_the_dashboard(
        installed: Installed, tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery,
        settings_env: Callable[..., dict[str, str]]) -> None:
    written = installed.run(installed.floodwatch, "init", "office", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    office = tmp_path / "office"
    assert "config/stations.yaml" in written.stdout
    assert (office / ".env").exists()
    again = installed.run(installed.floodwatch, "init", "office", cwd=tmp_path)
    assert again.returncode == 2
    assert "already there" in again.stderr

    env = settings_env(api_port=free_port(), log_format="json")
    del env["FLOODWATCH_STATIONS"]  # the office's own, from ./config/
    log_path = tmp_path / "up.log"
    with log_path.open("wb") as log:
        up = subprocess.Popen([installed.floodwatch, "up"], cwd=office, stdout=log,
                              stderr=subprocess.STDOUT, env={**installed.env(), **env})
    try:
        base = f"http://127.0.0.1:{env['FLOODWATCH_API_PORT']}"
        wait_for(lambda: _answers(f"{base}/readyz") or up.poll() is not None, 30,
                 "floodwatch up to be ready")
        assert up.poll() is None, log_path.read_text()
        ts = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0).isoformat()
        mosquitto_pub(mosquitto.port, "sensors/river/sukagawa",
                      json.dumps({"ts": ts, "level_m": 1.23}))
        wait_for(lambda: influx.count("river", "level_m") == 1, 15, "the reading stored")

        page = httpx.get(f"{base}/")
        assert page.status_code == 200
        assert "dashboard/app/main.js" in page.text
        for path in ("/dashboard/vendor/leaflet/leaflet.css", "/dashboard/app/main.js",
                     "/docs/vendor/redoc/redoc.standalone.js"):
            assert httpx.get(f"{base}{path}").status_code == 200, path
    finally:
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=30) == 0, log_path.read_text()
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    (files,) = [record for record in records if record["event"] == "configuration files"]
    assert files["stations"] == "config/stations.yaml (./config)"
    assert not [record for record in records if "SAMPLE" in record["event"]]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
