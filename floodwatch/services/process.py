"""A local server process that floodwatch starts, watches and stops (broker, database).

Used by ``floodwatch services`` and by the test fixtures, so tests and a developer's
machine run exactly the same processes with the same configuration.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class ServiceError(Exception):
    """A local service could not be installed, started or stopped."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_is_open(port: int, host: str = "127.0.0.1", timeout_s: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise ServiceError(f"timed out after {timeout_s:.0f}s waiting for {what}")


class ManagedProcess:
    """One server process with a pid file and a log file under its own directory."""

    def __init__(self, name: str, argv: Sequence[str], workdir: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.workdir = workdir
        self.pid_file = workdir / f"{name}.pid"
        self.log_file = workdir / f"{name}.log"
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        if self._popen is not None:
            return self._popen.pid
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            # A session of its own: Ctrl-C in the developer's shell or the end of the
            # CLI command must not take the server down with it.
            self._popen = subprocess.Popen(  # noqa: S603 - argv is built by floodwatch
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{self._popen.pid}\n")

    def is_running(self) -> bool:
        if self._popen is not None:
            return self._popen.poll() is None
        pid = self.pid
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return _is_not_zombie(pid)

    def signal(self, signum: int) -> None:
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (servers save their state), then SIGKILL if it does not exit in time."""
        if self.is_running():
            self.signal(signal.SIGCONT)  # a SIGSTOPped server cannot handle SIGTERM
            self.signal(signal.SIGTERM)
            try:
                wait_until(lambda: not self.is_running(), timeout_s, f"{self.name} to exit")
            except ServiceError:
                self.kill()
        self._reap()
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        with contextlib.suppress(ServiceError):
            wait_until(lambda: not self.is_running(), 5.0, f"{self.name} to die")
        self._reap()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _reap(self) -> None:
        if self._popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=1)


def _is_not_zombie(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # not Linux, or gone: trust kill(pid, 0)
    return status.rsplit(")", 1)[-1].split()[0] != "Z"
