"""The wheel installs one import root, ``floodwatch``, and works outside the checkout.

Other distributions on PyPI ship top-level ``core`` and ``api`` packages: a wheel that
installed those names would overwrite their files, and uninstalling either would delete
the other's. So the built wheel is opened and its top-level names listed, then installed
into a fresh virtual environment and run from a directory far from the checkout.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

STAGE_FOLDERS = ("core", "ingest", "alerts", "notify", "api", "simulators")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy: setuptools writes build/ and *.egg-info into the source tree.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("floodwatch", *STAGE_FOLDERS):
        shutil.copytree(REPO_ROOT / folder, source / folder, symlinks=True, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        # pip fetches the build backend (setuptools) from PyPI into an isolated build
        # environment: the project's venv keeps the setuptools it was made with, whose
        # pkg_resources twitter-text-parser imports at run time (removed in setuptools 81).
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "--wheel-dir", str(out), str(source)],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    (built,) = out.glob("floodwatch-*.whl")
    return built


def test_floodwatch_is_the_wheels_only_top_level_name(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top_level = {name.split("/")[0] for name in names if not name.startswith("floodwatch-")}
    assert top_level == {"floodwatch"}
    for folder in STAGE_FOLDERS:
        assert f"floodwatch/{folder}/__init__.py" in names
    assert "floodwatch/simulators/scenarios/typhoon.yaml" in names
    assert "floodwatch/services/mosquitto.conf" in names


def test_the_installed_wheel_runs_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
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
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, cwd=elsewhere, timeout=120,
                              check=False, env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin"})

    helped = run(str(venv / "bin" / "floodwatch"), "--help")
    assert helped.returncode == 0, helped.stderr
    for stage in ("ingest", "alerts", "notify", "api", "up", "simulate"):
        assert stage in helped.stdout

    where = run(str(python), "-c", "import floodwatch.core.settings as s; print(s.__file__)")
    assert where.returncode == 0, where.stderr
    assert where.stdout.startswith(purelib), where.stdout

    for old_name in STAGE_FOLDERS:
        old = run(str(python), "-c", f"import {old_name}")
        assert old.returncode != 0, f"`import {old_name}` works in the installed wheel"
        assert "ModuleNotFoundError" in old.stderr
