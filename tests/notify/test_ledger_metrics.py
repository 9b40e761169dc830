"""floodwatch_notify_ledger_deliveries: the ledger's deliveries by channel and state,
so a post whose outcome is unknown is still counted after notify restarts (the counters
start again at zero)."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from floodwatch.core.settings import Settings
from floodwatch.notify import metrics
from floodwatch.notify.deliveries import DeliveryLedger
from floodwatch.notify.service import ledger_path
from floodwatch.services.process import free_port
from tests.notify.ledger_states import Outcome, record
from tests.support import NotifyStageProcess

GAUGE = "floodwatch_notify_ledger_deliveries"


def _scrape(port: int) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(sample.labels["channel"], sample.labels["state"]): sample.value
            for family in text_string_to_metric_families(text) if family.name == GAUGE
            for sample in family.samples}


def _gauge(channel: str, state: str) -> float | None:
    return REGISTRY.get_sample_value(GAUGE, {"channel": channel, "state": state})


def test_unknown_posts_are_counted_by_a_fresh_process(
        tmp_path: Path, settings_env: Callable[..., dict[str, str]],
        make_settings: Callable[..., Settings]) -> None:
    notify_config = tmp_path / "notify.yaml"
    notify_config.write_text("network: {enabled: true}\n", encoding="utf-8")
    port = free_port()
    overrides = {"notify_client_id": f"notify-{uuid.uuid4().hex[:8]}",
                 "notify_config": notify_config, "metrics_port": port}
    # What a previous run left: two X posts and one Mastodon post whose outcome was lost.
    ledger = DeliveryLedger(ledger_path(make_settings(**overrides)))
    now = time.time()
    try:
        record(ledger, [Outcome("sukagawa/1", "x", "unknown", now - 300),
                        Outcome("sukagawa/1", "mastodon", "unknown", now - 299),
                        Outcome("akutsu/1", "x", "unknown", now - 200),
                        Outcome("akutsu/1", "network", "sent", now - 199),
                        Outcome("akutsu/2", "x", "sent", now - 100)])
    finally:
        ledger.close()

    notify = NotifyStageProcess(settings_env(**overrides), tmp_path / "notify.log").start()
    try:
        shown = _scrape(port)  # set before "notify running", which start() waited for
        assert shown[("x", "unknown")] == 2
        assert shown[("mastodon", "unknown")] == 1
        assert shown[("x", "sent")] == 1
        assert shown[("network", "sent")] == 1
    finally:
        assert notify.stop() == 0


def test_a_state_emptied_reads_zero(tmp_path: Path) -> None:
    channel = "webhook:ledger-metrics-test"  # its own labels in this process's registry
    ledger = DeliveryLedger(tmp_path / "ledger.sqlite3")
    now = time.time()
    try:
        record(ledger, [Outcome("sukagawa/1", channel, "pending", now)])
        changes: list[str] = []
        states = metrics.LedgerStates(ledger.db, then=lambda: changes.append("told"))
        states.refresh()
        assert _gauge(channel, "pending") == 1
        delivery = ledger.due(channel, now + 1)[0]
        ledger.begin([delivery])
        ledger.finish([delivery], "sent", "", now + 1)
        states()
        assert changes == ["told"]
        states.refresh()
        assert _gauge(channel, "pending") == 0
        assert _gauge(channel, "sent") == 1
    finally:
        ledger.close()
