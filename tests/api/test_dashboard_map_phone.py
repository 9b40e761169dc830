"""The dashboard in a storm, in Debian's Chromium against the real stack (Mosquitto,
InfluxDB, ingest, the alert engine, ``floodwatch api``): the map with its tile server
blocked, the worst station's marker on top, and a 390 x 844 phone (the storm:
tests.api.storm_dashboard; an officer's confirmations: test_dashboard_confirmation.py)."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pytest
from playwright.sync_api import FloatRect, Locator, Page, expect

from tests.api.dashboard_stack import chromium, screenshot_dir
from tests.api.storm_dashboard import WORST, block_tiles
from tests.api.test_dashboard import Stack, open_dashboard

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)


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


# `make screenshot` sets screenshot_dir to docs/ (dashboard-map-offline.png, dashboard-phone.png);
# otherwise pictures go to the test's own folder: a test never rewrites a tracked file.
def test_map_offline_outline_severity_and_shapes(storm_stack: Stack, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        refused = block_tiles(page)
        open_dashboard(page, storm_stack.api.url)
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
        gauges_per_river = Counter(s.river for s in storm_stack.registry
                                   if s.kind == "river" and s.river)
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
        assert len(panes) == len(storm_stack.registry)
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


def test_phone_layout(storm_stack: Stack, tmp_path: Path) -> None:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844},
                                      is_mobile=True, has_touch=True, device_scale_factor=2)
        page = context.new_page()
        block_tiles(page)
        open_dashboard(page, storm_stack.api.url)
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
        for station in storm_stack.registry:
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
        expect(targets).to_have_count(len(storm_stack.registry))
        for target in targets.all():
            box = box_of(target)
            assert min(box["width"], box["height"]) >= 44, box
        assert page.evaluate(TAP_NEAR_EDGE, "shakado-sukagawa") == "shakado-sukagawa"
        assert page.evaluate("() => document.documentElement.scrollWidth "
                             "<= document.documentElement.clientWidth")
