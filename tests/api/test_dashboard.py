"""The officers' dashboard in a real headless Chromium against the real stack: Mosquitto,
InfluxDB, ingest, the alert engine and ``floodwatch api`` as processes. Readings go in
the way devices send them (``mosquitto_pub``) and come out on the page."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from floodwatch.core.registry import StationRegistry
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.alerts.process import AlertsProcess
from tests.api.dashboard_stack import ApiProcess, chromium
from tests.api.support import OFFICER_KEY, TEST_KEYS, VIEWER_KEY
from tests.support import IngestProcess, mosquitto_pub, mosquitto_pub_lines

# `make screenshot` sets this to docs/dashboard.png; otherwise the picture is only taken
# (the page must render) into the test's own folder: a test never rewrites a tracked file.
SCREENSHOT_ENV = "FLOODWATCH_TEST_SCREENSHOT"
# Fractions of the way through the reference levels, so the map shows every colour.
RIVER_LEVELS = {"sukagawa": 4.80, "akutsu": 3.20, "motomiya": 4.70, "nihonmatsu": 5.60,
                "fushiguro": 6.10, "marumori": 6.00}
STALE_STATION = "iwanuma"

pytestmark = pytest.mark.slow
# A loaded CI machine (two cores, many processes) may be slow to start a page.
expect.set_options(timeout=15_000)


@dataclass
class Stack:
    api: ApiProcess
    broker_port: int
    registry: StationRegistry


@pytest.fixture
def stack(tmp_path: Path, mosquitto: MosquittoServer, sample_registry: StationRegistry,
          settings_env: Callable[..., dict[str, str]],
          start_ingest: Callable[..., IngestProcess]) -> Iterator[Stack]:
    start_ingest()
    # No tiles in tests: there is no internet, and the page must work without a base map.
    env = settings_env(api_keys=TEST_KEYS, dashboard_tiles_url="", api_heartbeat_s=2,
                       alerts_client_id=f"alerts-{uuid.uuid4().hex[:8]}")
    alerts = AlertsProcess(env, tmp_path / "alerts.log").start()
    api = ApiProcess(env, free_port(), tmp_path / "api.log").start()
    try:
        yield Stack(api, mosquitto.port, sample_registry)
    finally:
        api.stop()
        alerts.stop()


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def publish_scene(stack: Stack) -> None:
    """Current readings for every station, one stale station, and sukagawa's last three
    hours (older than its current reading, so they only go to the history)."""
    now = datetime.now(UTC)
    for station in stack.registry:
        if station.id == STALE_STATION:
            reading = {"ts": iso(now - timedelta(hours=2)), "level_m": 1.0}
        elif station.kind.value == "river":
            reading = {"ts": iso(now), "level_m": RIVER_LEVELS.get(station.id, 0.8)}
        else:
            reading = {"ts": iso(now), "water_depth_cm": 0.0, "surface_temp_c": 7.5,
                       "surface_state": "dry"}
        mosquitto_pub(stack.broker_port, f"sensors/{station.kind.value}/{station.id}",
                      json.dumps(reading))
    history = [json.dumps({"ts": iso(now - timedelta(minutes=10 * step)),
                           "level_m": round(4.70 - 0.15 * (step - 1), 2)})
               for step in range(18, 0, -1)]
    mosquitto_pub_lines(stack.broker_port, "sensors/river/sukagawa", history).wait(timeout=20)


def retain_status(port: int, station: str, alert_id: str,
                  no_data: dict[str, str] | None = None) -> None:
    """The alert engine's retained status, as it would publish it, with one open alert
    (and the no-data alert that found the station silent, if any)."""
    status = {"station": station, "kind": "river", "seq": 1, "offline": False,
              "no_data": no_data,
              "flooding_declared": False, "alerts": [{
                  "alert_id": alert_id, "alert_type": "river_level", "level": 2,
                  "level_name": "caution", "label": {"ja": "氾濫注意水位", "en": "Flood caution"},
                  "official": None, "alert_level": 2, "raised_at": "2026-11-28T01:00:00Z",
                  "acknowledged": False, "confirmed": True}]}
    subprocess.run(["mosquitto_pub", "-p", str(port), "-q", "1", "-r", "-t",
                    f"floodwatch/status/{station}", "-s"],
                   input=json.dumps(status).encode(), check=True, timeout=10)


def open_dashboard(page: Page, url: str) -> None:
    page.goto(url)
    dialog = page.locator("#key-dialog")
    expect(dialog).to_be_visible()
    page.fill("#key-input", "not-a-valid-key-0000")
    page.press("#key-input", "Enter")
    expect(page.locator("#key-error")).to_be_visible()
    page.fill("#key-input", OFFICER_KEY)
    page.press("#key-input", "Enter")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")


def test_dashboard_live_alerts_and_reconnect(stack: Stack, tmp_path: Path) -> None:
    screenshot = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "dashboard.png")
    publish_scene(stack)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        open_dashboard(page, stack.api.url)

        # Every station is listed, coloured by its band; the old one is marked stale.
        rows = page.locator("#stations tr")
        expect(rows).to_have_count(len(stack.registry))
        expect(page.locator('#stations tr[data-station="sukagawa"]')).to_have_attribute(
            "data-band", "evacuation")
        expect(page.locator('#stations tr[data-station="fushiguro"]')).to_have_attribute(
            "data-band", "danger")
        expect(page.locator(f'#stations tr[data-station="{STALE_STATION}"]')
               ).to_have_attribute("data-stale", "true")
        expect(page.locator('#stations tr[data-station="akutsu"]')).to_have_attribute(
            "data-stale", "false")
        expect(page.locator("path.leaflet-interactive[data-station]")).to_have_count(
            len(stack.registry))
        expect(page.locator('path.leaflet-interactive[data-station="fushiguro"]')
               ).to_have_attribute("data-band", "danger")

        # A reading published like a device's appears on the page.
        akutsu = page.locator('#stations tr[data-station="akutsu"] td.value')
        expect(akutsu).to_have_text("3.20 m")
        started = time.monotonic()
        with subprocess.Popen(["mosquitto_pub", "-p", str(stack.broker_port), "-q", "1",
                               "-t", "sensors/river/akutsu", "-m", '{"level_m": 4.321}']):
            # A function, not an expression: the page's CSP (no unsafe-eval) refuses the
            # eval Playwright would repeat on every poll of an expression.
            page.wait_for_function(
                "() => document.querySelector('#stations tr[data-station=\"akutsu\"] td.value')"
                ".textContent === '4.32 m'", polling="raf", timeout=10_000)
            delay = time.monotonic() - started
        print(f"\nmosquitto_pub -> dashboard: {delay * 1000:.0f} ms "
              "(includes starting mosquitto_pub)")
        expect(page.locator('#stations tr[data-station="akutsu"]')).to_have_attribute(
            "data-band", "caution")

        # The chart of the chosen station, with its reference levels.
        page.click('#stations tr[data-station="sukagawa"]')
        chart = page.locator("#chart")
        expect(chart).to_have_attribute("data-station", "sukagawa")
        page.wait_for_function(
            "() => Number(document.querySelector('#chart').dataset.points) >= 18",
            timeout=10_000)
        legend = page.locator("#chart .u-legend")
        for label in ("水防団待機水位 2.50 m", "氾濫注意水位 3.50 m", "避難判断水位 4.60 m",
                      "氾濫危険水位 5.20 m"):
            expect(legend).to_contain_text(label)

        # An officer acknowledges an open alert; the engine's answer comes back live.
        alert = page.locator('li.alert[data-alert-id^="sukagawa/"]').first
        expect(alert).to_have_attribute("data-acknowledged", "false")
        # Raised by one reading (the history arrives after it, older: ignored): marked
        # unconfirmed until a further reading agrees.
        expect(alert).to_have_attribute("data-confirmed", "false")
        expect(alert.locator(".alert-unconfirmed")).to_have_text("未確定")
        alert_id = alert.get_attribute("data-alert-id")
        page.screenshot(path=str(screenshot))
        assert screenshot.stat().st_size > 10_000
        alert.locator("button.ack").click()
        acknowledged = page.locator(f'li.alert[data-alert-id="{alert_id}"]')
        expect(acknowledged).to_have_attribute("data-acknowledged", "true", timeout=15_000)
        expect(acknowledged).to_contain_text("確認済み")
        open_alerts = httpx.get(f"{stack.api.url}/api/v1/alerts/open",
                                headers={"Authorization": f"Bearer {OFFICER_KEY}"}).json()
        assert {"alert_id": alert_id, "acknowledged": True}.items() <= next(
            a for a in open_alerts["alerts"] if a["alert_id"] == alert_id).items()

        # English.
        page.click("#language")
        expect(page.locator("h1")).to_have_text("floodwatch rivers and roads")
        expect(page.locator('#stations tr[data-station="sukagawa"] td.name')).to_have_text(
            "Sukagawa")
        expect(acknowledged).to_contain_text("Acknowledged")

        # The API goes away: the page says so plainly, then reconnects by itself.
        stack.api.stop()
        expect(page.locator("#connection")).to_have_attribute("data-state", "lost")
        expect(page.locator("#banner")).to_contain_text("Connection lost")
        expect(page.locator("body")).to_have_class("offline")
        stack.api.start()
        expect(page.locator("#connection")).to_have_attribute("data-state", "live",
                                                              timeout=40_000)
        expect(page.locator("#banner")).to_be_hidden()
        # And it is live again, not just connected.
        mosquitto_pub(stack.broker_port, "sensors/river/akutsu", '{"level_m": 4.5}')
        expect(akutsu).to_have_text("4.50 m")
        assert errors == []


def test_public_read_needs_no_key(
    tmp_path: Path, mosquitto: MosquittoServer, sample_registry: StationRegistry,
    settings_env: Callable[..., dict[str, str]], start_ingest: Callable[..., IngestProcess],
) -> None:
    start_ingest()
    env = settings_env(api_keys=TEST_KEYS, api_public_read="true", dashboard_tiles_url="")
    api = ApiProcess(env, free_port(), tmp_path / "api.log").start()
    try:
        with chromium() as browser:
            page = browser.new_page()
            page.goto(api.url)
            expect(page.locator("body[data-ready=true]")).to_be_attached()
            expect(page.locator("#key-dialog")).to_be_hidden()
            expect(page.locator("#stations tr")).to_have_count(len(sample_registry))
            expect(page.locator("#connection")).to_have_attribute("data-state", "live")
            mosquitto_pub(mosquitto.port, "sensors/river/fushiguro", '{"level_m": 4.5}')
            row = page.locator('#stations tr[data-station="fushiguro"]')
            expect(row.locator("td.value")).to_have_text("4.50 m")
            expect(row).to_have_attribute("data-band", "caution")
            expect(page.locator("#key-button")).to_have_text("キーを入力")
            assert page.evaluate("sessionStorage.length") == 0
            # An officer must not take the residents' view for the whole picture.
            public_view = page.locator("#public-view")
            expect(public_view).to_be_visible()
            expect(public_view).to_contain_text("職員向けの警報")
            # Without a key there is nothing to acknowledge with; a viewer key is refused.
            retain_status(mosquitto.port, "sukagawa", "sukagawa/1")
            alert = page.locator('li.alert[data-alert-id="sukagawa/1"]')
            expect(alert).to_be_visible()
            expect(alert.locator("button.ack")).to_have_count(0)
            page.click("#key-button")
            page.fill("#key-input", VIEWER_KEY)
            page.press("#key-input", "Enter")
            expect(page.locator("#key-button")).to_have_text("キーを消去")
            expect(public_view).to_be_hidden()
            alert.locator("button.ack").click()
            expect(page.locator("#ack-message")).to_have_text(
                "確認には担当職員（officer）のキーが必要です")
            expect(alert).to_have_attribute("data-acknowledged", "false")
            # Most stations silent at once: one banner about the data, not the gauges.
            no_data = {"alert_id": "no_data:all/1", "scope": "all",
                       "raised_at": "2026-11-28T01:30:00Z",
                       "last_reading": "2026-11-28T01:00:00Z"}
            for station in ("sukagawa", "akutsu"):
                retain_status(mosquitto.port, station, f"{station}/1", no_data)
            banner = page.locator("#banner")
            expect(banner).to_contain_text("2観測所からデータが届いていません")
            expect(banner).to_have_attribute("data-kind", "warning")
            for station in ("sukagawa", "akutsu"):
                retain_status(mosquitto.port, station, f"{station}/1")
            expect(banner).to_be_hidden()
    finally:
        api.stop()
