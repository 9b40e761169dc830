"""Issue 24, item 4 in a real Chromium against the real stack (Mosquitto, InfluxDB, ingest,
``floodwatch api``): forecasts as the forecast stage publishes them (core.bus models,
retained on bus.FORECASTS) and a forecast warning in the alert engine's retained status.

The chart draws the band ahead of the last reading over exactly the forecast's extent and
names the expected crossing of the next level; a trend-only forecast says so; an outdated
one is grey and says when it was issued; the river view and the station list show the
forecast; the forecast warning is visibly a forecast and does not raise the map marker;
the phone layout stays within the screen."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from floodwatch.core import bus
from floodwatch.core.readings import format_ts
from floodwatch.core.registry import Station, StationRegistry
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.alerts.process import publish_all
from tests.api.dashboard_stack import ApiProcess, chromium, screenshot_dir
from tests.api.forecast_points import on_bus, publish_retained, rising_forecast
from tests.api.support import OFFICER_KEY, TEST_KEYS
from tests.api.test_dashboard import open_dashboard
from tests.support import IngestProcess, wait_for

pytestmark = pytest.mark.slow
expect.set_options(timeout=20_000)

JST = ZoneInfo("Asia/Tokyo")
HEADERS = {"Authorization": f"Bearer {OFFICER_KEY}"}
# sukagawa: at 避難判断水位 (4.60) and rising 0.45 m/h: 氾濫危険水位 (5.20) at +70 min.
# akutsu: the trend only (thin history). fushiguro: a forecast, then a newer reading.
SCENE = {"sukagawa": (4.25, 4.70, 0.45), "akutsu": (3.9, 4.2, 0.5), "fushiguro": (3.1, 3.2, 0.1)}
TREND_ONLY = "akutsu"
OUTDATED = "fushiguro"


def _station(registry: StationRegistry, station_id: str) -> Station:
    station = registry.get(station_id)
    assert station is not None
    return station


@pytest.fixture
def scene(tmp_path: Path, mosquitto: MosquittoServer, sample_registry: StationRegistry,
          settings_env: Callable[..., dict[str, str]],
          start_ingest: Callable[..., IngestProcess]
          ) -> Iterator[tuple[ApiProcess, datetime, int]]:
    start_ingest()
    env = settings_env(api_keys=TEST_KEYS, dashboard_tiles_url="", api_heartbeat_s=2)
    api = ApiProcess(env, free_port(), tmp_path / "api.log").start()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    readings: list[tuple[str, str]] = []
    forecasts: list[bus.ForecastMessage] = []
    for station_id, (start, end, rise) in SCENE.items():
        station = _station(sample_registry, station_id)
        # Two hours of readings every 10 minutes up to `end` at `now`.
        for k in range(13):
            at = now - timedelta(minutes=10 * (12 - k))
            readings.append((f"sensors/river/{station_id}", json.dumps(
                {"ts": at.isoformat(), "level_m": round(start + (end - start) * k / 12, 2)})))
        issued = now - timedelta(minutes=10) if station_id == OUTDATED else now
        level = end if station_id != OUTDATED else round(start + (end - start) * 11 / 12, 2)
        forecasts.append(rising_forecast(station, issued, level, rise_m_per_h=rise,
                                         method="trend" if station_id == TREND_ONLY else "model"))
    publish_all(mosquitto.port, [(topic, payload.encode()) for topic, payload in readings])
    wait_for(lambda: all(_latest(api, s) == format_ts(now) for s in SCENE), 60,
             "the readings stored and on the bus")
    publish_retained(mosquitto.port, [on_bus(f) for f in forecasts])
    publish_retained(mosquitto.port, [forecast_warning(forecasts[0])])
    publish_all(mosquitto.port, [warning_event(forecasts[0])])
    try:
        yield api, now, mosquitto.port
    finally:
        api.stop()


def _latest(api: ApiProcess, station: str) -> str | None:
    answer = httpx.get(f"{api.url}/api/v1/stations/{station}", headers=HEADERS, timeout=10)
    latest = answer.json()["latest"]
    return None if latest is None else str(latest["ts"])


LABEL = bus.LocalText(ja="氾濫危険水位 到達予測", en="Flood danger level expected")


def forecast_warning(forecast: bus.ForecastMessage) -> tuple[str, bytes]:
    """The engine's retained status with an observed level-3 alert and a forecast warning
    of level 4 (docs/alerts.md, forecast warnings), from the core models."""
    def alert(alert_id: str, alert_type: str, level: int, name: str,
              label: bus.LocalText) -> bus.StatusAlert:
        return bus.StatusAlert(alert_id=alert_id, alert_type=alert_type, level=level,
                               level_name=name, label=label, official=None, alert_level=None,
                               raised_at=forecast.issued_at, level_since=forecast.issued_at,
                               acknowledged=False, confirmed=True)
    status = bus.StatusMessage(
        station=forecast.station, kind="river", seq=2, offline=False, flooding_declared=False,
        alerts=[alert(f"{forecast.station}/1", "river_level", 3, "evacuation",
                      bus.LocalText(ja="避難判断水位", en="Evacuation judgement level")),
                alert(f"{forecast.station}/2", "forecast", 4, "danger", LABEL)])
    return bus.STATUS.name(station=forecast.station), bus.encode(status)


def warning_event(forecast: bus.ForecastMessage) -> tuple[str, bytes]:
    danger = next(c for c in forecast.crossings if c.level_name == "danger")
    event = bus.AlertEventMessage(
        event_id=f"{forecast.station}/2", seq=2, station=forecast.station, kind="river",
        alert_id=f"{forecast.station}/2", alert_type="forecast", transition="raised", level=4,
        previous_level=0, level_name="danger", label=LABEL, official=None, alert_level=None,
        headline=LABEL, at=forecast.issued_at, rule="forecast",
        detail={"expected_at": danger.at, "minutes": danger.minutes, "bound": "low",
                "issued_at": forecast.issued_at, "method": forecast.method},
        projection=None, cause=bus.CauseMessage(kind="reading", reading_ts=forecast.issued_at),
        confirmed=True)
    return bus.ALERTS.name(station=forecast.station), bus.encode(event)


def band_matches_its_extent(page: Page) -> dict[str, float]:
    """The band's box on screen against where the chart's own scales put the forecast's
    first time, last time, lowest low and highest high (pixels)."""
    result: dict[str, float] = page.evaluate("""() => {
        const chart = document.querySelector('#chart');
        const band = chart.querySelector('svg.forecast-overlay path.forecast-band');
        const over = chart.querySelector('.u-over').getBoundingClientRect();
        const box = band.getBoundingClientRect();
        const { x, y } = JSON.parse(chart.dataset.scale);
        const px = (t) => over.left + (t - x[0]) / (x[1] - x[0]) * over.width;
        const py = (v) => over.top + (1 - (v - y[0]) / (y[1] - y[0])) * over.height;
        const d = band.dataset;
        return { left: box.left - px(Number(d.from)), right: box.right - px(Number(d.until)),
                 top: box.top - py(Number(d.high)), bottom: box.bottom - py(Number(d.low)),
                 width: box.width, height: box.height };
    }""")
    return result


def test_forecasts_on_the_chart_river_view_list_and_alerts(
        scene: tuple[ApiProcess, datetime, int], sample_registry: StationRegistry,
        tmp_path: Path) -> None:
    api, now, broker = scene
    pictures = screenshot_dir(tmp_path)
    sukagawa = rising_forecast(_station(sample_registry, "sukagawa"), now, SCENE["sukagawa"][1],
                               rise_m_per_h=SCENE["sukagawa"][2])
    danger = next(c for c in sukagawa.crossings if c.level_name == "danger")
    danger_at = datetime.fromisoformat(danger.at)
    assert danger.minutes == 70
    clock = danger_at.astimezone(JST).strftime("%H:%M")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        open_dashboard(page, api.url)

        # The chart: the band ahead of the last reading, over the forecast's own extent.
        page.click('#stations tr[data-station="sukagawa"]')
        chart = page.locator("#chart")
        expect(chart).to_have_attribute("data-forecast", "current")
        band = chart.locator("svg.forecast-overlay path.forecast-band")
        expect(band).to_have_attribute("data-state", "current")
        assert float(band.get_attribute("data-from") or 0) == now.timestamp()
        assert float(band.get_attribute("data-until") or 0) == (
            now + timedelta(minutes=180)).timestamp()
        assert float(band.get_attribute("data-high") or 0) == pytest.approx(
            max(p.high_m for p in sukagawa.points))
        # From the level it was issued on: the lowest edge of a rising forecast's band.
        assert float(band.get_attribute("data-low") or 0) == pytest.approx(sukagawa.level_m)
        offsets = band_matches_its_extent(page)
        assert offsets["width"] > 20, offsets
        assert offsets["height"] > 10, offsets
        for edge in ("left", "right", "top", "bottom"):
            assert abs(offsets[edge]) <= 2, offsets
        # The expected crossing of the next level: 氾濫危険水位 (the gauge is at 避難判断).
        label = page.locator("#chart .forecast-label")
        expect(label).to_have_attribute("data-state", "current")
        text = label.text_content() or ""
        found = re.fullmatch(r"氾濫危険水位 到達予測 (\d\d:\d\d)（(\d+)分後）", text)
        assert found, text
        assert found[1] == clock
        assert abs(int(found[2]) - (danger_at - datetime.now(UTC)).total_seconds() / 60) <= 2
        expect(page.locator("#chart .u-legend")).to_contain_text("予測水位")
        # The forecast replaces no observed data: the last reading is still the chart's.
        page.locator(".chart-panel").screenshot(path=str(pictures / "dashboard-forecast.png"))

        # Trend only: said on the chart and in the list.
        page.click(f'#stations tr[data-station="{TREND_ONLY}"]')
        expect(chart).to_have_attribute("data-station", TREND_ONLY)
        expect(page.locator("#chart .forecast-label")).to_contain_text("（傾向のみ）")
        expect(page.locator("#chart .u-legend")).to_contain_text("傾向のみ")
        expect(page.locator(f'#stations tr[data-station="{TREND_ONLY}"] td.forecast '
                            ".trend-only-badge")).to_have_text("傾向のみ")

        # Outdated (a newer reading came, no newer forecast): grey, with its issue time.
        page.click(f'#stations tr[data-station="{OUTDATED}"]')
        expect(chart).to_have_attribute("data-forecast", "stale")
        expect(chart.locator("path.forecast-band")).to_have_attribute("data-state", "stale")
        expect(page.locator("#chart .forecast-label")).to_contain_text("古い予測")
        expect(page.locator(f'#stations tr[data-station="{OUTDATED}"] td.forecast')
               ).to_have_attribute("data-state", "stale")

        # Station list: the expected crossing of the next level.
        cell = page.locator('#stations tr[data-station="sukagawa"] td.forecast')
        expect(cell).to_contain_text(f"氾濫危険水位 {clock}")
        assert datetime.fromisoformat(cell.get_attribute("data-at") or "") == danger_at

        # River view: the +3 h band beside the staff, the +1 h and +3 h medians, the
        # crossing in the text; nothing drawn for the outdated forecast.
        gauge = page.locator('#river g.gauge[data-station="sukagawa"]')
        three = next(p for p in sukagawa.points if p.lead_min == 180)
        bar = gauge.locator("g.forecast rect.forecast-band")
        expect(bar).to_have_attribute("data-high", str(three.high_m))
        expect(bar).to_have_attribute("data-low", str(three.low_m))
        expect(gauge.locator("line.forecast-1h")).to_have_count(1)
        expect(page.locator(f'#river g.gauge[data-station="{OUTDATED}"] g.forecast')
               ).to_have_count(0)
        river_text = page.locator('#river li[data-station="sukagawa"] .river-forecast')
        expect(river_text).to_contain_text(f"3時間後 {three.level_m:.2f} m")
        expect(river_text).to_contain_text(f"氾濫危険水位 到達予測 {clock}")
        expect(page.locator(f'#river li[data-station="{OUTDATED}"] .river-forecast')
               ).to_have_attribute("data-state", "stale")
        page.locator("#river-panel").screenshot(path=str(pictures / "dashboard-forecast-river.png"))

        # The forecast warning: a 予測 badge, dashed, its expected time; the observed alert
        # has none; the map marker shows the observed level (3), not the expected one.
        warning = page.locator('#alerts li[data-alert-type="forecast"]')
        expect(warning.locator(".forecast-badge")).to_have_text("予測")
        expect(warning).to_have_css("border-left-style", "dashed")
        expect(warning.locator(".alert-expected")).to_contain_text(clock)
        assert datetime.fromisoformat(
            warning.locator(".alert-expected").get_attribute("data-at") or "") == danger_at
        observed = page.locator('#alerts li[data-alert-type="river_level"]')
        expect(observed.locator(".forecast-badge")).to_have_count(0)
        expect(observed).to_have_css("border-left-style", "solid")
        expect(page.locator('path[data-station="sukagawa"]')).to_have_attribute(
            "data-severity", "3")
        # Danger expected ranks under danger reached, above the evacuation level reached.
        order = page.locator("#alerts li.alert").evaluate_all(
            "items => items.map((li) => li.dataset.alertType)")
        assert order == ["forecast", "river_level"], order
        page.locator(".alerts-panel").screenshot(
            path=str(pictures / "dashboard-forecast-alert.png"))

        # English.
        page.click("#language")
        page.click('#stations tr[data-station="sukagawa"]')
        expect(page.locator("#chart .forecast-label")).to_have_text(
            re.compile(rf"Flood danger level expected {clock} \(in \d+ min\)"))
        expect(warning.locator(".forecast-badge")).to_have_text("Forecast")

        # Live: a newer reading greys the drawn forecast; the forecast on it is current.
        later = max(datetime.now(UTC).replace(microsecond=0), now + timedelta(seconds=1))
        publish_all(broker, [("sensors/river/sukagawa", json.dumps(
            {"ts": later.isoformat(), "level_m": 4.75}).encode())])
        expect(chart).to_have_attribute("data-forecast", "stale")
        expect(page.locator("#chart .forecast-label")).to_contain_text("Outdated forecast")
        publish_retained(broker, [on_bus(rising_forecast(
            _station(sample_registry, "sukagawa"), later, 4.75, rise_m_per_h=0.45))])
        expect(chart).to_have_attribute("data-forecast", "current")
        expect(page.locator("#chart .forecast-label")).to_contain_text(
            "Flood danger level expected")

        # A 390 px phone: nothing wider than the screen or its panel.
        page.set_viewport_size({"width": 390, "height": 844})
        page.click("#menu-button")  # the language button folds behind it on a phone
        page.click("#language")
        expect(page.locator("#chart .forecast-label")).to_contain_text("到達予測")
        expect(page.locator("#chart path.forecast-band")).to_have_count(1)
        widths = page.evaluate("() => [document.documentElement.scrollWidth, "
                               "document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], widths
        for panel in (".stations-panel", "#river-panel", ".chart-panel", ".alerts-panel"):
            widths = page.eval_on_selector(panel, "e => [e.scrollWidth, e.clientWidth]")
            assert widths[0] <= widths[1], (panel, widths)
        page.locator(".chart-panel").screenshot(
            path=str(pictures / "dashboard-phone-forecast.png"))
        assert errors == []
