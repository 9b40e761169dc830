"""The dashboard shows each open alert's delivery state per channel, and flags a post
whose outcome was lost: a real headless Chromium, ``floodwatch api`` as a process, the
notifier's status lines from a real delivery ledger in a real InfluxDB."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from floodwatch.alerts.model import Transition
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.notify.deliveries import DeliveryLedger
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.api.alert_points import StoredAlerts, event
from tests.api.dashboard_stack import ApiProcess, chromium
from tests.api.support import OFFICER_KEY, TEST_KEYS
from tests.notify.ledger_states import Outcome, record, status_lines

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)

RAISED = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


def _at(minutes: float) -> float:
    return (RAISED + timedelta(minutes=minutes)).timestamp()


def _store(settings: Settings, registry: StationRegistry, tmp_path: Path) -> None:
    """sukagawa/1 raised, then escalated (sukagawa/2): on X the raise's post was lost
    and the escalation's was sent; Mastodon sent both; the network is still trying."""
    events = [event("sukagawa", 1, 1, Transition.RAISED, 3, RAISED),
              event("sukagawa", 2, 1, Transition.ESCALATED, 4, RAISED + timedelta(minutes=10),
                    previous_level=3),
              event("akutsu", 1, 1, Transition.RAISED, 3, RAISED + timedelta(minutes=19))]
    ledger = DeliveryLedger(tmp_path / "ledger.sqlite3")
    try:
        record(ledger, [
            Outcome("sukagawa/1", "x", "unknown", _at(1), "sukagawa/1"),
            Outcome("sukagawa/1", "mastodon", "sent", _at(1), "sukagawa/1"),
            Outcome("sukagawa/2", "x", "sent", _at(11), "sukagawa/1"),
            Outcome("sukagawa/2", "mastodon", "sent", _at(11), "sukagawa/1"),
            Outcome("sukagawa/2", "network", "failed", _at(12), "sukagawa/1"),
            Outcome("akutsu/1", "x", "sent", _at(20), "akutsu/1")])
        lines = status_lines(ledger)
    finally:
        ledger.close()
    alerts = StoredAlerts(registry)

    async def write() -> None:
        async with InfluxClient.from_settings(settings) as influx:
            await influx.create_database()
            await influx.write([alerts.line(e) for e in events] + lines)

    asyncio.run(write())


def _retain(port: int, station: str, level: int) -> None:
    status = {"station": station, "kind": "river", "seq": 1, "offline": False,
              "flooding_declared": False, "alerts": [{
                  "alert_id": f"{station}/1", "alert_type": "river_level", "level": level,
                  "level_name": "danger", "label": {"ja": "氾濫危険水位", "en": "Flood danger"},
                  "official": None, "alert_level": level,
                  "raised_at": RAISED.isoformat().replace("+00:00", "Z"),
                  "acknowledged": False, "confirmed": True}]}
    subprocess.run(["mosquitto_pub", "-p", str(port), "-q", "1", "-r", "-t",
                    f"floodwatch/status/{station}", "-s"],
                   input=json.dumps(status).encode(), check=True, timeout=10)


def test_each_alert_shows_its_delivery_per_channel_and_flags_lost_posts(
        tmp_path: Path, mosquitto: MosquittoServer, sample_registry: StationRegistry,
        settings_env: Callable[..., dict[str, str]],
        make_settings: Callable[..., Settings]) -> None:
    _store(make_settings(), sample_registry, tmp_path)
    _retain(mosquitto.port, "sukagawa", 4)
    _retain(mosquitto.port, "akutsu", 3)
    env = settings_env(api_keys=TEST_KEYS, dashboard_tiles_url="")
    api = ApiProcess(env, free_port(), tmp_path / "api.log").start()
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(api.url)
            page.fill("#key-input", OFFICER_KEY)
            page.press("#key-input", "Enter")
            expect(page.locator("body[data-ready=true]")).to_be_attached()

            alert = page.locator('li.alert[data-alert-id="sukagawa/1"]')
            channels = alert.locator(".delivery")
            expect(channels).to_have_count(3)
            # X: the escalation was sent, but the raise's post was lost: check by hand.
            expect(channels.nth(2)).to_have_attribute("data-channel", "x")
            expect(channels.nth(2)).to_have_attribute("data-state", "unknown")
            expect(channels.nth(2)).to_have_text("x: 結果不明")
            expect(alert).to_have_attribute("data-delivery-unknown", "true")
            expect(alert.locator(".delivery-unknown")).to_contain_text("要確認")
            expect(alert.locator('.delivery[data-channel="mastodon"]')).to_have_attribute(
                "data-state", "sent")
            expect(alert.locator('.delivery[data-channel="network"]')).to_have_attribute(
                "data-state", "failed")

            other = page.locator('li.alert[data-alert-id="akutsu/1"]')
            expect(other.locator('.delivery[data-channel="x"]')).to_have_attribute(
                "data-state", "sent")
            expect(other.locator(".delivery-unknown")).to_have_count(0)
            assert other.get_attribute("data-delivery-unknown") is None

            page.click("#language")
            expect(alert.locator(".delivery-unknown")).to_contain_text(
                "Check the account by hand")
            assert errors == []
    finally:
        api.stop()
