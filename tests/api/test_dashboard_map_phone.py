"""The dashboard in a storm, in Debian's Chromium against the real stack (Mosquitto,
InfluxDB, ingest, the alert engine, ``floodwatch api``): the map with its tile server
blocked, the worst station's marker on top, a 390 x 844 phone, and the confirmation an
officer gives before acknowledging a level-5 alert or declaring flooding."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import FloatRect, Locator, Page, Request, Route, expect

from floodwatch.core.registry import StationRegistry
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.alerts.process import AlertsProcess
from tests.api.dashboard_stack import ApiProcess, chromium, screenshot_dir
from tests.api.support import OFFICER_KEY, TEST_KEYS
from tests.api.test_dashboard import Stack, iso, open_dashboard
from tests.support import IngestProcess, mosquitto_pub, mosquitto_pub_lines

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)

# A tile server that never answers: the test aborts every request to it, as a closed
# network would refuse it.
TILES_HOST = "tiles.floodwatch.invalid"
TILES_URL = f"https://{TILES_HOST}/{{z}}/{{x}}/{{y}}.png"
# Sukagawa floods (6.40 m) next to its neighbour Shakado (2 km away: one marker's width
# at the opening zoom); akutsu is at caution; everything else is calm and current.
LEVELS = {"sukagawa": 6.55, "akutsu": 4.10, "fushiguro": 3.20}
WORST = "sukagawa"
# `make screenshot` sets this to docs/ (dashboard-map-offline.png, dashboard-phone.png);
# otherwise pictures go to the test's own folder: a test never rewrites a tracked file.
# Two readings a minute apart: the engine confirms a level the second reading agrees with.
READING_TIMES = (timedelta(minutes=1), timedelta(0))


@pytest.fixture
def stack(tmp_path: Path, mosquitto: MosquittoServer, sample_registry: StationRegistry,
          settings_env: Callable[..., dict[str, str]],
          start_ingest: Callable[..., IngestProcess]) -> Iterator[Stack]:
    start_ingest()
    env = settings_env(api_keys=TEST_KEYS, dashboard_tiles_url=TILES_URL,
                       dashboard_tiles_attribution="tiles: test server", api_heartbeat_s=2,
                       alerts_client_id=f"alerts-{uuid.uuid4().hex[:8]}")
    alerts = AlertsProcess(env, tmp_path / "alerts.log").start()
    api = ApiProcess(env, free_port(), tmp_path / "api.log").start()
    try:
        publish_storm(mosquitto.port, sample_registry)
        yield Stack(api, mosquitto.port, sample_registry)
    finally:
        api.stop()
        alerts.stop()


def publish_storm(port: int, registry: StationRegistry) -> None:
    now = datetime.now(UTC)
    for station in registry:
        topic = f"sensors/{station.kind.value}/{station.id}"
        if station.kind.value == "river":
            lines = [json.dumps({"ts": iso(now - ago), "level_m": LEVELS.get(station.id, 1.0)})
                     for ago in READING_TIMES]
            mosquitto_pub_lines(port, topic, lines).wait(timeout=20)
        else:
            mosquitto_pub(port, topic, json.dumps({
                "ts": iso(now), "water_depth_cm": 0.0, "surface_temp_c": 7.5,
                "surface_state": "dry"}))


def block_tiles(page: Page) -> list[str]:
    refused: list[str] = []

    def abort(route: Route) -> None:
        refused.append(route.request.url)
        route.abort("connectionrefused")

    page.route(f"https://{TILES_HOST}/**", abort)
    return refused


def markers_hit_themselves(page: Page) -> dict[str, str | None]:
    """For every marker, which station a tap at its centre reaches (elementFromPoint:
    what is on top there, as the browser decides it)."""
    hits: dict[str, str | None] = page.evaluate("""() => {
        const hits = {};
        for (const path of document.querySelectorAll('path[data-station]')) {
            const box = path.getBoundingClientRect();
            const x = box.x + box.width / 2;
            const top = document.elementFromPoint(x, box.y + box.height / 2);
            const hit = top?.closest('path[data-station]');
            hits[path.dataset.station] = hit ? hit.dataset.station : null;
        }
        return hits;
    }""")
    return hits


# Which station a tap 3 px inside the top of a station's tap target reaches.
TAP_NEAR_EDGE = """(station) => {
    const target = document.querySelector(`path[data-target-station="${station}"]`);
    const box = target.getBoundingClientRect();
    const top = document.elementFromPoint(box.x + box.width / 2, box.y + 3);
    const hit = top?.closest('[data-target-station], [data-station]');
    return hit ? (hit.dataset.targetStation ?? hit.dataset.station) : null;
}"""


def box_of(locator: Locator) -> FloatRect:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not displayed"
    return box


def wait_for_worst(page: Page) -> None:
    expect(page.locator(f'path[data-station="{WORST}"]')).to_have_attribute(
        "data-severity", "5")


def test_map_offline_outline_severity_and_shapes(stack: Stack, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        refused = block_tiles(page)
        open_dashboard(page, stack.api.url)
        wait_for_worst(page)

        # No tiles: the outline shipped with the dashboard is the map, credited.
        map_element = page.locator("#map")
        expect(map_element).to_have_attribute("data-outline", "drawn")
        expect(map_element).to_have_attribute("data-tiles", "unreachable")
        assert refused, "the page never asked the tile server"
        for prefecture in ("7", "4"):  # Fukushima, Miyagi
            expect(page.locator(f'path[data-prefecture="{prefecture}"]')).to_be_visible()
        expect(page.locator(".leaflet-control-attribution")).to_contain_text("japanmap")
        # Each river with two or more gauges is sketched through them, credited as such.
        gauges_per_river = Counter(s.river for s in stack.registry if s.kind == "river" and s.river)
        sketched = sorted(river for river, count in gauges_per_river.items() if count >= 2)
        expect(map_element).to_have_attribute("data-rivers", str(len(sketched)))
        assert sorted(page.locator("path[data-river]").evaluate_all(
            "lines => lines.map(l => l.dataset.river)")) == sketched
        expect(page.locator(".leaflet-control-attribution")).to_contain_text("schematic")
        assert page.locator("img.leaflet-tile").evaluate_all(
            "tiles => tiles.filter(t => getComputedStyle(t).visibility !== 'hidden').length"
        ) == 0

        # The worst station's marker is in the highest pane, above every other marker.
        panes = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
            'path[data-station]')].map(p => [p.dataset.station,
            Number(getComputedStyle(p.closest('.leaflet-pane[data-severity]')).zIndex)]))""")
        assert len(panes) == len(stack.registry)
        others = {station: z for station, z in panes.items() if station != WORST}
        assert panes[WORST] > max(others.values()), panes
        # ...and no marker is under another: a tap at each centre reaches that station.
        hits = markers_hit_themselves(page)
        assert hits == {station: station for station in hits}, hits
        shakado = box_of(page.locator('path[data-station="shakado-sukagawa"]'))
        sukagawa = box_of(page.locator(f'path[data-station="{WORST}"]'))
        assert abs(shakado["x"] - sukagawa["x"]) + abs(shakado["y"] - sukagawa["y"]) >= 20

        # Road sensors are diamonds (straight edges), river gauges circles (arcs).
        for path in page.locator('path[data-kind="road"]').all():
            shape = path.get_attribute("d") or ""
            assert "a" not in shape.lower(), shape
            assert shape.count("L") == 3, shape
        river_shape = page.locator('path[data-kind="river"]').first.get_attribute("d") or ""
        assert "a" in river_shape.lower()

        # Names: the severe stations' at the opening zoom, every name once zoomed in.
        def label(station: str) -> Locator:
            return page.locator(f'.station-label[data-station="{station}"]')

        expect(label(WORST)).to_be_visible()
        expect(label(WORST)).to_have_text("須賀川")
        expect(label("iwanuma")).to_be_hidden()
        page.screenshot(path=str(screenshot_dir(tmp_path) / "dashboard-map-offline.png"))
        page.evaluate("() => document.querySelector('#map').scrollIntoView()")
        for _ in range(2):
            page.click(".leaflet-control-zoom-in")
            time.sleep(0.4)
        expect(label("motomiya")).to_be_visible()
        expect(label("iwanuma")).to_be_visible()
        assert errors == []


def test_phone_layout(stack: Stack, tmp_path: Path) -> None:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844},
                                      is_mobile=True, has_touch=True, device_scale_factor=2)
        page = context.new_page()
        block_tiles(page)
        open_dashboard(page, stack.api.url)
        wait_for_worst(page)
        phone = screenshot_dir(tmp_path) / "dashboard-phone.png"
        page.screenshot(path=str(phone))
        assert phone.stat().st_size > 10_000

        overflow = page.evaluate("() => [document.documentElement.scrollWidth, "
                                 "document.documentElement.clientWidth]")
        assert overflow[0] <= overflow[1], overflow
        # The header is one line; its tools fold behind the menu and never wrap a word.
        header = box_of(page.locator("header"))
        assert header["height"] <= 64, header
        expect(page.locator("#key-button")).to_be_hidden()
        page.click("#menu-button")
        key_button = page.locator("#key-button")
        expect(key_button).to_be_visible()
        box = box_of(key_button)
        assert 44 <= box["height"] <= 60, box  # one line of text, not one character a line
        assert box["width"] > 80, box
        page.click("#menu-button")
        expect(key_button).to_be_hidden()

        # The alert list comes first; the worst alert is at its top.
        assert box_of(page.locator(".alerts-panel"))["y"] < box_of(page.locator(".map-panel"))["y"]
        expect(page.locator("li.alert").first).to_have_attribute(
            "data-alert-id", re.compile(f"^{WORST}/"))
        # Tap targets: every visible button at least 44 x 44 px.
        small = page.evaluate("""() => [...document.querySelectorAll('button')]
            .filter(b => b.offsetParent !== null)
            .map(b => [b.id || b.className || b.textContent, b.getBoundingClientRect()])
            .filter(([, r]) => r.width < 44 || r.height < 44).map(([name]) => name)""")
        assert small == []

        # Every station is reachable: its row fits the screen and a tap opens its chart;
        # every marker is tappable on its own.
        for station in stack.registry:
            row = page.locator(f'#stations [data-station="{station.id}"]')
            row.scroll_into_view_if_needed()
            box = box_of(row)
            assert box["x"] >= 0, box
            assert box["x"] + box["width"] <= 390, (station.id, box)
            assert box["height"] >= 44, (station.id, box)
            row.tap()
            expect(page.locator("#chart")).to_have_attribute("data-station", station.id)
        page.locator("#map").scroll_into_view_if_needed()
        hits = markers_hit_themselves(page)
        assert hits == {station: station for station in hits}, hits
        # On a touch screen each marker has a 44 px tap target of its own: a tap near
        # the edge of one still reaches that station.
        targets = page.locator("path[data-target-station]")
        expect(targets).to_have_count(len(stack.registry))
        for target in targets.all():
            box = box_of(target)
            assert min(box["width"], box["height"]) >= 44, box
        assert page.evaluate(TAP_NEAR_EDGE, "shakado-sukagawa") == "shakado-sukagawa"
        assert page.evaluate("() => document.documentElement.scrollWidth "
                             "<= document.documentElement.clientWidth")


def officer_id(key: str) -> str:
    return "api-key:" + hashlib.sha256(key.encode()).hexdigest()[:8]


def test_level5_acknowledgement_and_flooding_need_confirmation(stack: Stack) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        block_tiles(page)
        commands: list[str] = []

        def record(request: Request) -> None:
            if request.method == "POST":
                commands.append(request.url)

        page.on("request", record)
        open_dashboard(page, stack.api.url)
        alert = page.locator(f'li.alert[data-alert-id^="{WORST}/"]').first
        expect(alert).to_have_attribute("data-alert-level", "5")
        dialog = page.locator("#confirm-dialog")

        # Cancel: nothing is sent, the alert stays unacknowledged.
        alert.locator("button.ack").click()
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("須賀川")
        expect(dialog).to_contain_text("警戒レベル5相当")
        expect(page.locator("#confirm-cancel")).to_be_focused()
        page.click("#confirm-cancel")
        expect(dialog).to_be_hidden()
        time.sleep(1.0)
        assert commands == []
        expect(alert).to_have_attribute("data-acknowledged", "false")

        # Confirm: acknowledged by the engine, and the alert says who and when.
        alert.locator("button.ack").click()
        page.click("#confirm-ok")
        expect(alert).to_have_attribute("data-acknowledged", "true")
        assert [url.rsplit("/", 1)[-1] for url in commands] == ["acknowledge"]
        mark = alert.locator(".alert-acked")
        expect(mark).to_have_attribute("data-officer", officer_id(OFFICER_KEY))
        expect(mark.locator(".alert-acked-by")).to_contain_text("あなた")
        assert (mark.get_attribute("data-at") or "").startswith(str(datetime.now(UTC).year))

        # After a reload the live event is gone: who and when come from the alert's history.
        page.reload()
        expect(page.locator("body[data-ready=true]")).to_be_attached()
        expect(alert.locator(".alert-acked")).to_have_attribute(
            "data-officer", officer_id(OFFICER_KEY), timeout=30_000)

        # Below 警戒レベル4 an acknowledgement goes at once.
        caution = page.locator('li.alert[data-alert-id^="akutsu/"]').first
        expect(caution).to_have_attribute("data-alert-level", "2")
        caution.locator("button.ack").click()
        expect(caution).to_have_attribute("data-acknowledged", "true")
        expect(dialog).to_be_hidden()

        # Declaring flooding at fushiguro: cancelled first, then confirmed, then ended.
        commands.clear()
        page.click('#stations [data-station="fushiguro"]')
        actions = page.locator("#station-actions")
        expect(actions).to_have_attribute("data-declared", "false")
        actions.locator("button").click()
        expect(dialog).to_contain_text("伏黒")
        page.click("#confirm-cancel")
        time.sleep(1.0)
        assert commands == []
        actions.locator("button").click()
        page.click("#confirm-ok")
        expect(actions).to_have_attribute("data-declared", "true")
        expect(actions.locator("button")).to_have_text("氾濫発生の宣言を終了")
        expect(page.locator('li.alert[data-alert-id^="fushiguro/"]').first
               ).to_have_attribute("data-alert-level", "5")
        actions.locator("button").click()
        expect(dialog).to_contain_text("終了")
        page.click("#confirm-ok")
        expect(actions).to_have_attribute("data-declared", "false")
        assert [url.rsplit("/", 1)[-1] for url in commands] == ["flooding", "flooding"]
