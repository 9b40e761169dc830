"""``floodwatch notify`` at the process edge: one line per problem, exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.notify.conftest import write_config
from tests.support import REPO_ROOT


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "floodwatch", "notify", *args],
                          env={**os.environ, **env}, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60, check=False)


def test_check_accepts_the_shipped_configuration(
        settings_env: Callable[..., dict[str, str]]) -> None:
    result = run(settings_env(), "--check")
    assert result.returncode == 0, result.stderr
    assert "config/notify.yaml: delivery configuration is valid" in result.stdout


def test_a_wrong_file_is_one_line_naming_the_setting(
        tmp_path: Path, settings_env: Callable[..., dict[str, str]]) -> None:
    path = write_config(tmp_path, "x: {enabled: true, budget: {per_day: 0}}\n")
    result = run(settings_env(notify_config=path), "--check")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"floodwatch: FLOODWATCH_NOTIFY_CONFIG: {path}: x.budget.per_day: "
        "Input should be greater than or equal to 1"]


def test_no_usable_channel_stops_with_every_problem(
        tmp_path: Path, settings_env: Callable[..., dict[str, str]]) -> None:
    path = write_config(tmp_path, "network: {enabled: false}\nx: {enabled: true}\n"
                        "public_page_url: https://bousai.example.jp/floodwatch/public/stations\n"
                        "basins: {abukuma: {ja: 阿武隈川, en: Abukuma River}}\n"
                        "webhooks: [{name: city, url: 'ftp://example.jp/x'}]\n")
    result = run(settings_env(notify_config=path, notify_webhook_secrets="city:k"))
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("floodwatch: FLOODWATCH_NOTIFY_CONFIG: no channel is usable: ")
    assert "webhook:city: url 'ftp://example.jp/x' is not an http(s) URL" in last
    assert "x: missing credentials: FLOODWATCH_NOTIFY_X_CONSUMER_KEY" in last
