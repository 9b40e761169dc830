"""Issue 22 (items 2, 3, 7) in a real Chromium against the real stack: the typhoon's
first 26 hours published the way devices send them (through ingest into InfluxDB, and
the alert engine), ending now, so the flood wave is travelling down the Abukuma.

The river view lists the gauges upstream to downstream, at the levels the API reports,
with a gauge gone silent drawn missing; the station list is worst first, then fastest
rising, with the rate the readings show; the chart dates its axis when its points are
not all today's."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from floodwatch.core.registry import StationRegistry
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from floodwatch.simulators.scenario import load_scenario
from floodwatch.simulators.simulation import Simulation
from tests.alerts.process import AlertsProcess, publish_all
from tests.api.dashboard_stack import ApiProcess, chromium, screenshot_dir
from tests.api.support import OFFICER_KEY, TEST_KEYS
from tests.api.test_dashboard import open_dashboard
from tests.support import IngestProcess, wait_for

pytestmark = pytest.mark.slow
expect.set_options(timeout=20_000)

STORM_SO_FAR = timedelta(hours=26)
SILENT = "marumori"  # its last hour is held back: the view must show it missing
SILENT_FOR = timedelta(hours=1)
# Its last two hours are replaced by a steady rise through a reference level, so the alert
# engine escalates with a projection of the next level (the chart draws it).
RISER = "ouse-koriyama"
RISE_FOR = timedelta(hours=2)
# Where screenshots go; by default the test's own folder (never a tracked file).
HEADERS = {"Authorization": f"Bearer {OFFICER_KEY}"}


@pytest.fixture
def storm(tmp_path: Path, mosquitto: MosquittoServer, sample_registry: StationRegistry,
          settings_env: Callable[..., dict[str, str]],
          start_ingest: Callable[..., IngestProcess]) -> Iterator[ApiProcess]:
    start_ingest()
    env = settings_env(api_keys=TEST_KEYS, dashboard_tiles_url="", api_heartbeat_s=2)
    alerts = AlertsProcess(env, tmp_path / "alerts.log").start()
    api = ApiProcess(env, free_port(), tmp_path / "api.log").start()
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - STORM_SO_FAR
    simulation = Simulation(load_scenario("typhoon"), sample_registry, start=start, seed=0,
                            duration_s=STORM_SO_FAR.total_seconds())
    messages = [event.wire for event in simulation.events()
                if event.sim_time <= now
                and not (event.device == SILENT and event.sim_time > now - SILENT_FOR)
                and not (event.device == RISER and event.sim_time > now - RISE_FOR)]
    publish_all(mosquitto.port, [*messages, *rise(sample_registry, messages, now)])
    # Every gauge's newest reading stored (ingest batches its writes).
    wait_for(lambda: all(s["latest"] is not None for s in stations(api)), 60,
             "every station's latest reading")
    try:
        yield api
    finally:
        api.stop()
        alerts.stop()


def rise(registry: StationRegistry, sent: list[tuple[str, bytes]],
         now: datetime) -> list[tuple[str, bytes]]:
    """RISER's last two hours: from its last level up past the next reference level, to
    60 % of the way to the one after (a projection's target, within its horizon)."""
    last = json.loads(next(p for t, p in reversed(sent) if t.endswith(f"/{RISER}")))
    station = registry.get(RISER)
    assert station is not None
    assert station.levels_m is not None
    above = sorted(v for v in station.levels_m.model_dump().values()
                   if v is not None and v > last["level_m"])
    assert len(above) >= 2, (last, above)  # the typhoon has left it below danger by now
    end = above[0] + 0.6 * (above[1] - above[0])
    steps = int(RISE_FOR / timedelta(minutes=10))
    return [(f"sensors/river/{RISER}", json.dumps({
        "ts": (now - RISE_FOR + timedelta(minutes=10 * k)).isoformat(),
        "level_m": round(last["level_m"] + (end - last["level_m"]) * k / steps, 2)}).encode())
        for k in range(1, steps + 1)]


def stations(api: ApiProcess) -> list[dict[str, object]]:
    answer = httpx.get(f"{api.url}/api/v1/stations", headers=HEADERS, timeout=10)
    answer.raise_for_status()
    result: list[dict[str, object]] = answer.json()["stations"]
    return result


def least_squares_rate(api: ApiProcess, station: str) -> float:
    """m/h over the last hour of the station's readings, as the page fits it."""
    end = datetime.now(UTC) + timedelta(minutes=1)
    answer = httpx.get(f"{api.url}/api/v1/stations/{station}/readings", headers=HEADERS,
                       params={"start": (end - timedelta(hours=2)).isoformat(),
                               "end": end.isoformat()}, timeout=10).json()
    points = [(datetime.fromisoformat(p["ts"]).timestamp() / 3600,
               float(p["values"]["level_m"]))
              for p in answer["points"]]
    newest = points[-1][0]
    recent = [(t - newest, v) for t, v in points if t >= newest - 1]
    mean_t = sum(t for t, _ in recent) / len(recent)
    mean_v = sum(v for _, v in recent) / len(recent)
    return (sum((t - mean_t) * (v - mean_v) for t, v in recent)
            / sum((t - mean_t) ** 2 for t, _ in recent))


def test_river_view_station_list_and_dated_chart_in_a_typhoon(
        storm: ApiProcess, sample_registry: StationRegistry, tmp_path: Path) -> None:
    api = storm
    latest = {s["id"]: s for s in stations(api)}
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        open_dashboard(page, api.url)

        # River view: the Abukuma's gauges upstream to downstream, as in the registry.
        abukuma = [s.id for s in sample_registry if s.river == "abukuma"]
        gauges = page.locator("#river svg g.gauge")
        expect(gauges).to_have_count(len(abukuma))
        assert [gauges.nth(i).get_attribute("data-station")
                for i in range(len(abukuma))] == abukuma
        expect(page.locator(f'#river g.gauge[data-station="{SILENT}"]')).to_have_attribute(
            "data-stale", "true")
        expect(page.locator(f'#river g.gauge[data-station="{SILENT}"]')).to_have_attribute(
            "data-level", "")
        # Each reporting gauge at the level the API has for it.
        for station in abukuma:
            summary = latest[station]
            if summary["stale"]:
                continue
            values = summary["latest"]["values"]  # type: ignore[index]
            expect(page.locator(f'#river g.gauge[data-station="{station}"]')
                   ).to_have_attribute("data-level", f"{values['level_m']:.2f}")
        # The wave is on its way: somewhere on the Abukuma above caution and rising.
        bands = [gauges.nth(i).get_attribute("data-band") for i in range(len(abukuma))]
        assert {"evacuation", "danger", "flooding"} & set(bands), bands
        page.locator("#river-panel").screenshot(
            path=str(screenshot_dir(tmp_path) / "dashboard-river.png"))
        render_ms = page.evaluate("""() => {
            const tab = document.querySelector('#river button[data-river="abukuma"]');
            const started = performance.now();
            tab.click(); // redraws the section synchronously
            return performance.now() - started;
        }""")
        print(f"\nriver view redraw ({len(abukuma)} gauges): {render_ms:.1f} ms")

        # Station list: worst first, then the fastest rising.
        rows = page.locator("#stations tr[data-station]")
        expect(rows).to_have_count(len(sample_registry))
        page.wait_for_function(
            "() => [...document.querySelectorAll('#stations td.trend')]"
            ".some((td) => td.dataset.rate !== '')")
        table = page.eval_on_selector_all("#stations tr[data-station]", """rows => rows.map(
            r => [r.dataset.station, Number(r.dataset.severity),
                  r.querySelector('td.trend').dataset.rate])""")
        order = [(severity, -float(rate) if rate else float("inf"))
                 for _, severity, rate in table]
        assert [-s for s, _ in order] == sorted(-s for s, _ in order), table
        for (severity, rate), (next_severity, next_rate) in itertools.pairwise(order):
            if severity == next_severity:
                assert rate <= next_rate, table
        assert table[0][1] >= 3, table  # a storm's worst gauge is at the top
        # The rise per hour is the last hour's readings' fit, as the API has them.
        station, _, shown = next(row for row in table if row[2])
        assert float(shown) == pytest.approx(least_squares_rate(api, station), abs=0.01)
        row = page.locator(f'#stations tr[data-station="{station}"]')
        arrow = {"fast-rise": "⇑", "rise": "↑", "steady": "→", "fall": "↓"}[
            row.locator("td.trend").get_attribute("data-trend") or ""]
        expect(row.locator("td.trend")).to_contain_text(arrow)
        expect(page.locator(f'#stations tr[data-station="{SILENT}"]')).to_have_attribute(
            "data-stale", "true")
        # Reached: the engine's level_since (its status, via /api/v1/alerts/open) where
        # its river alert is at the level the row shows; not the alert's raise.
        open_alerts = httpx.get(f"{api.url}/api/v1/alerts/open", headers=HEADERS).json()
        ranks = {"standby": 1, "caution": 2, "evacuation": 3, "danger": 4, "flooding": 5}
        checked = 0
        for alert in open_alerts["alerts"]:
            shown = latest.get(alert["station"])
            if alert["alert_type"] != "river_level" or not shown or shown["stale"]:
                continue
            if ranks.get(shown["level"]["band"]) != alert["level"]:  # type: ignore[index]
                continue
            assert alert["level_since"] is not None
            since = page.locator(f'#stations tr[data-station="{alert["station"]}"] td.since')
            expect(since).to_have_attribute("data-at", alert["level_since"])
            # The alert panel says the same: when the level was reached, not first raised.
            card = page.locator(f'#alerts li[data-alert-id="{alert["alert_id"]}"] .alert-time')
            expect(card).to_have_attribute("data-at", alert["level_since"])
            checked += 1
        assert checked, open_alerts
        # The alert panel: the river alerts by 警戒レベル, worst first.
        levels = page.locator('#alerts li.alert[data-alert-type="river_level"]').evaluate_all(
            "items => items.map(li => Number(li.dataset.alertLevel || 0))")
        assert levels, levels
        assert levels == sorted(levels, reverse=True), levels

        # Sortable: by name, then back to the worst first by status.
        page.click('th[data-column="name"] button')
        expect(page.locator('th[data-column="name"]')).to_have_attribute(
            "aria-sort", "ascending")

        # The chart of the gauge rising through its levels: the alert's projection of the
        # next level, dashed, ahead of the last reading.
        page.click(f'#stations tr[data-station="{RISER}"]')
        chart = page.locator("#chart")
        expect(chart).to_have_attribute("data-station", RISER)
        expect(chart).not_to_have_attribute("data-projection", "")
        projected = datetime.fromisoformat(chart.get_attribute("data-projection") or "")
        assert datetime.now(UTC) - timedelta(minutes=5) < projected
        assert projected < datetime.now(UTC) + timedelta(hours=6)
        expect(page.locator("#chart .u-legend")).to_contain_text("予測")
        page.locator(".chart-panel").screenshot(
            path=str(screenshot_dir(tmp_path) / "dashboard-projection.png"))

        # Chart: 24 hours of a storm cross midnight (Japan time): the axis carries dates.
        page.click(f'#river g.gauge[data-station="{abukuma[0]}"]')
        expect(chart).to_have_attribute("data-station", abukuma[0])
        expect(chart).to_have_attribute("data-dated", "true")
        ticks = chart.get_attribute("data-ticks") or ""
        assert "/" in ticks, ticks  # e.g. "12/7\n00:00"
        # The rule itself, in the page's own module (Japan time whatever the machine's
        # zone): ticks at 23:00, 00:00 and 01:00 JST, 7-8 December 2026.
        eleven = datetime(2026, 12, 7, 14, tzinfo=UTC).timestamp()
        labels = page.evaluate(
            """async (start) => {
                const { tickLabels } = await import('./dashboard/app/chart.js');
                const splits = [start, start + 3600, start + 7200];
                return [tickLabels(splits, true), tickLabels(splits, false)];
            }""", eleven)
        assert labels == [["12/7\n23:00", "12/8\n00:00", "01:00"], ["23:00", "00:00", "01:00"]]
        page.screenshot(path=str(screenshot_dir(tmp_path) / "dashboard-storm.png"))

        # English: the river's and gauges' names, the list's headings.
        page.click("#language")
        expect(page.locator('#river button[data-river="abukuma"]')).to_have_text("Abukuma River")
        expect(page.locator("#river g.gauge text.gauge-name").first).to_have_text("Sukagawa")
        expect(page.locator('th[data-column="trend"]')).to_have_text("Trend (1 h)")
        page.locator("#river-panel").screenshot(
            path=str(screenshot_dir(tmp_path) / "dashboard-river-en.png"))

        # A phone: the list is cards and neither the list nor the river view is wider
        # than its panel (nothing cut off, no sideways scrolling).
        page.set_viewport_size({"width": 390, "height": 844})
        expect(rows.first).to_have_css("display", "grid")
        for panel in (".stations-panel", "#river-panel"):
            widths = page.eval_on_selector(panel, "e => [e.scrollWidth, e.clientWidth]")
            assert widths[0] <= widths[1], (panel, widths)
        page.locator(".stations-panel").screenshot(
            path=str(screenshot_dir(tmp_path) / "dashboard-phone-stations.png"))
        page.locator("#river-panel").screenshot(
            path=str(screenshot_dir(tmp_path) / "dashboard-phone-river.png"))
        assert errors == []

