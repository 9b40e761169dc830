"""Running the delivery stage in-process against the test's own broker and InfluxDB."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.notify.config import NotifyConfig
from floodwatch.notify.service import ledger_path, run_notify
from tests.alerts.process import publish_all

Body = Callable[[], Awaitable[None]]


def write_config(folder: Path, text: str) -> Path:
    path = folder / "notify.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def run_with(settings: Settings, registry: StationRegistry, config: NotifyConfig,
                   body: Body, clock: Callable[[], float] | None = None) -> None:
    """Start notify, run ``body`` once it is subscribed, then stop it cleanly."""
    stop = asyncio.Event()
    ready = asyncio.Event()
    extra: dict[str, Any] = {"clock": clock} if clock is not None else {}
    task = asyncio.create_task(run_notify(settings, registry, config, stop, ready=ready,
                                          **extra))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait([task, waiter], timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    assert ready.is_set(), "notify did not start"
    try:
        await body()
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def delivery_states(settings: Settings, channel: str) -> dict[str, str]:
    """event id -> state of ``channel``'s deliveries, read from the delivery ledger file."""
    path = ledger_path(settings)
    if not path.exists():
        return {}
    with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
        rows = db.execute("SELECT event_id, state FROM deliveries WHERE channel = ?",
                          (channel,)).fetchall()
    return {row[0]: row[1] for row in rows}


async def publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    await asyncio.to_thread(publish_all, port, messages)


async def until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
def notify_settings(make_settings: Callable[..., Settings], tmp_path: Path
                    ) -> Callable[..., Settings]:
    def build(config_text: str, registry: Path | None = None, **overrides: Any) -> Settings:
        extra: dict[str, Any] = {"notify_config": write_config(tmp_path, config_text),
                                 "notify_client_id": f"notify-{tmp_path.name[-12:]}"}
        if registry is not None:
            extra["registry"] = registry
        return make_settings(**extra, **overrides)

    return build
