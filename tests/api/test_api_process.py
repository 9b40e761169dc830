"""``floodwatch api`` as an operator starts it: its exit status when it cannot serve."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable

from floodwatch.core.commandline import EXIT_RUNTIME
from tests.support import REPO_ROOT


def test_port_in_use_exits_with_the_runtime_status_and_one_line(
        settings_env: Callable[..., dict[str, str]]) -> None:
    """uvicorn exits 3 on a failed bind; the documented status for "the environment
    stopped us" is core.commandline's EXIT_RUNTIME, with a line saying what to check."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, **settings_env(api_port=port, api_host="127.0.0.1")}
        run = subprocess.run([sys.executable, "-m", "floodwatch", "api"], env=env,
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                             check=False)
    assert run.returncode == EXIT_RUNTIME, run.stderr[-2000:]
    assert f"floodwatch: api did not start on 127.0.0.1:{port}" in run.stderr
    assert "FLOODWATCH_API_PORT" in run.stderr
    assert "Traceback" not in run.stderr
