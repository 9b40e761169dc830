"""``python -m floodwatch.api`` as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from floodwatch.services.process import free_port
from tests.support import REPO_ROOT, wait_for


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_serves_until_sigterm(settings_env: Callable[..., dict[str, str]],
                              tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, **settings_env(api_port=port, api_keys="viewer:k" * 3 + "0" * 10)}
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "floodwatch.api"], env=env, cwd=REPO_ROOT,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _healthy(f"http://127.0.0.1:{port}/readyz"), 20, "the API to be ready")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "k" * 3 + "0" * 10 not in log.read_text()


def test_config_error_is_one_line_and_exit_2(
    settings_env: Callable[..., dict[str, str]]
) -> None:
    env = {**os.environ, **settings_env(api_port="not-a-port")}
    result = subprocess.run([sys.executable, "-m", "floodwatch.api"], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("floodwatch: FLOODWATCH_API_PORT:")
    assert len(result.stderr.strip().splitlines()) == 1
