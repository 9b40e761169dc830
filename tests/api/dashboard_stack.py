"""The whole stack for the dashboard's browser test: ``floodwatch api`` as a real
process (stopped and restarted to show a lost connection), and Debian's Chromium driven
by Playwright with the flags a root container needs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Browser, sync_playwright

from tests.support import REPO_ROOT, wait_for

CHROMIUM = "/usr/bin/chromium"
# Root in a container has no user namespace for the sandbox; nothing may phone home.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


# `make screenshot` sets it to docs/; the suite leaves it unset and writes to tmp_path.
SCREENSHOT_DIR_ENV = "FLOODWATCH_TEST_SCREENSHOT_DIR"


def screenshot_dir(tmp_path: Path) -> Path:
    """Where a browser test puts its pictures: never a tracked file unless asked."""
    folder = Path(os.environ.get(SCREENSHOT_DIR_ENV) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class ApiProcess:
    """``floodwatch api`` on a fixed port, configured only by its environment."""

    def __init__(self, env: Mapping[str, str], port: int, log_path: Path) -> None:
        self.env = {**os.environ, **env, "FLOODWATCH_API_PORT": str(port),
                    "FLOODWATCH_API_HOST": "127.0.0.1", "FLOODWATCH_LOG_FORMAT": "json"}
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ApiProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "floodwatch", "api"], env=self.env, stdout=log,
                stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        wait_for(lambda: self._subscribed() or self.exited(), 30, "the API to be ready")
        assert not self.exited(), self.log_path.read_text(errors="replace")
        return self

    def _subscribed(self) -> bool:
        try:
            answer = httpx.get(f"{self.url}/readyz", timeout=2)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200 and bool(answer.json()["broker"])

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@contextmanager
def chromium() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: run 'make install' (Debian chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
