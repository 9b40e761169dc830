"""The pure rules of the station list's trend and of the river view (dashboard/app/
trend.js, river.js), run in Chromium in the modules the page itself loads, served by
``floodwatch api``: no stack beyond the API and its broker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.api.dashboard_stack import ApiProcess, chromium
from tests.api.support import TEST_KEYS

pytestmark = pytest.mark.slow


RULES_JS = """async () => {
    const trend = await import('./dashboard/app/trend.js');
    const river = await import('./dashboard/app/river.js');
    const minute = 60_000;
    // 0.6 m/h with ±2 cm alternating noise, and a reading 2 h old left out.
    const rising = [{ t: -120 * minute, v: 9 }];
    for (let k = 0; k <= 6; k += 1) {
      rising.push({ t: (k - 6) * 10 * minute, v: 3 + 0.1 * k + (k % 2 ? 0.02 : -0.02) });
    }
    const flat = rising.slice(1).map((p, k) => ({ t: p.t, v: 3 + (k % 2 ? 0.02 : -0.02) }));
    const levels = { standby: 2.5, caution: 3.5, evacuation: 4.6, danger: 5.2, flooding: 6.4 };
    const other = { standby: 7, caution: 9.5, evacuation: 11.2, danger: 12.5, flooding: null };
    return {
      rising: trend.riseRate(rising), flat: trend.riseRate(flat),
      one: trend.riseRate(rising.slice(-1)), trend: trend.trendOf(trend.riseRate(flat)),
      toNext: trend.minutesToNext(levels, 3.6, 0.6),
      notRising: trend.minutesToNext(levels, 3.6, 0.01),
      aboveAll: trend.minutesToNext(levels, 7, 0.6),
      stages: ['standby', 'caution', 'evacuation', 'danger'].map(
        (band) => [river.stageFraction(levels, levels[band]),
                   river.stageFraction(other, other[band])]),
      between: river.stageFraction(levels, 4.05),
      label: trend.formatRate(-0.256),
      soon: trend.formatMinutes(trend.minutesToNext(levels, 3.6, 0.6)),
      far: trend.formatMinutes(trend.minutesToNext(levels, 3.6, 0.1)),
    };
}"""


# Three stations: one at 氾濫危険 (level 4), one at 氾濫注意 with a rapid rise, one normal
# with a rapid rise, plus a standby alert elsewhere.
ALERT_ORDER_JS = """async () => {
    const { Store } = await import('./dashboard/app/store.js');
    const store = new Store();
    store.loadRegistry(['a', 'b', 'c', 'd'].map((id) => ({ id, kind: 'river' })));
    const bands = { a: 'danger', b: 'caution', c: 'normal', d: 'standby' };
    for (const [id, band] of Object.entries(bands)) {
      Object.assign(store.stations.get(id), { band, stale: false });
    }
    const alert = (type, level, alertLevel, at) => ({ alert_id: `${type}/${level}/${at}`,
      alert_type: type, level, alert_level: alertLevel, raised_at: at });
    store.statuses.set('a', { alerts: [alert('river_level', 4, 4, '2026-12-07T01:00:00Z')] });
    store.statuses.set('b', { alerts: [alert('river_level', 2, 2, '2026-12-07T01:00:00Z'),
                                       alert('rate_of_rise', 1, null, '2026-12-07T02:00:00Z')] });
    store.statuses.set('c', { alerts: [alert('rate_of_rise', 1, null, '2026-12-07T03:00:00Z')] });
    store.statuses.set('d', { alerts: [alert('river_level', 1, null, '2026-12-07T04:00:00Z')] });
    return store.openAlerts().map((a) => `${a.station}:${a.alert_type}`);
}"""


# A storm: a fresh gauge at 平常, one at 氾濫注意, a silent one last seen at 平常, one the
# engine finds offline, and one whose newest value the engine flagged suspect.
DOUBTFUL_GAUGES_JS = """async () => {
    const { Store } = await import('./dashboard/app/store.js');
    const { RiverView } = await import('./dashboard/app/river.js');
    const store = new Store();
    const levels = { standby: 2.5, caution: 3.5, evacuation: 4.6, danger: 5.2, flooding: 6.4 };
    const ids = ['fresh', 'caution', 'silent', 'offline', 'suspect'];
    store.loadRegistry(ids.map((id) => ({ id, kind: 'river', river: 'r', levels_m: levels,
      river_name: { ja: '川', en: 'R' }, name: { ja: id, en: id }, interval_s: 600 })));
    const now = new Date().toISOString();
    const seen = (level, band, stale) => ({ latest: { ts: now, values: { level_m: level } },
      band, stale });
    Object.assign(store.stations.get('fresh'), seen(1.0, 'normal', false));
    Object.assign(store.stations.get('caution'), seen(3.6, 'caution', false));
    Object.assign(store.stations.get('silent'), seen(1.0, 'normal', true));
    Object.assign(store.stations.get('offline'), seen(1.0, 'normal', false));
    Object.assign(store.stations.get('suspect'), seen(6.0, 'flooding', false));
    store.statuses.set('offline', { offline: true, alerts: [] });
    store.statuses.set('suspect', { alerts: [{ alert_id: 'q', alert_type: 'data_quality',
      level: 1, raised_at: now }] });
    const element = document.createElement('div');
    document.body.append(element);
    new RiverView(element, store).render();
    const gauge = (id) => element.querySelector(`g.gauge[data-station="${id}"]`);
    return {
      severity: Object.fromEntries(ids.map((id) => [id, store.severity(id)])),
      suspect: gauge('suspect').dataset.suspect, fresh: gauge('fresh').dataset.suspect,
      hatched: Boolean(gauge('suspect').querySelector('.water-suspect')),
      marked: gauge('suspect').textContent.includes('要確認'),
    };
}"""


# Forecasts (forecast.js): current or outdated as the API says, the next level's crossing
# above the band the station shows, the band's extent from the level it was issued on; a
# forecast warning ranks under the level it expects and never raises the map marker.
FORECAST_RULES_JS = """async () => {
    const f = await import('./dashboard/app/forecast.js');
    const { Store } = await import('./dashboard/app/store.js');
    const { severityOf } = await import('./dashboard/app/map_markers.js');
    const issued = Date.parse('2026-12-07T01:00:00Z');
    const iso = (minutes) => new Date(issued + minutes * 60_000).toISOString();
    const forecast = { station: 'a', issued_at: iso(0), level_m: 4.7, method: 'trend',
      points: [10, 60, 180].map((lead) => ({ lead_min: lead, at: iso(lead),
        level_m: 4.7 + lead / 200, low_m: 4.72 + lead / 400, high_m: 4.7 + lead / 100 })),
      crossings: [{ level: 5, level_name: 'flooding', at: iso(170), minutes: 170 },
                  { level: 4, level_name: 'danger', at: iso(70), minutes: 70 },
                  { level: 3, level_name: 'evacuation', at: iso(5), minutes: 5 }] };
    const station = (band, ts, stale = false) => ({ band, stale, latest: { ts } });
    const store = new Store();
    store.loadRegistry(['a'].map((id) => ({ id, kind: 'river' })));
    const alert = (type, level) => ({ alert_id: `${type}${level}`, alert_type: type, level,
      alert_level: null, raised_at: iso(0) });
    store.statuses.set('a', { alerts: [alert('river_level', 3), alert('forecast', 4),
                                       alert('river_level', 4)] });
    return {
      current: f.staleReason(forecast, station('evacuation', iso(0))),
      newer: f.staleReason(forecast, station('evacuation', iso(10))),
      stale: f.staleReason(forecast, station('evacuation', iso(0), true)),
      next: f.nextCrossing(forecast, station('evacuation', iso(0)), issued + 10 * 60_000),
      fromCaution: f.nextCrossing(forecast, station('caution', iso(0)), issued).band,
      above: f.nextCrossing(forecast, station('flooding', iso(0)), issued),
      extent: f.extent(forecast), at60: f.pointAt(forecast, 60).level_m,
      text: f.crossingText(f.nextCrossing(forecast, station('evacuation', iso(0)),
                                          issued + 10 * 60_000), forecast),
      order: store.openAlerts().map((a) => a.alert_id),
      marker: severityOf({ latest: {}, band: 'evacuation' }, { alerts: [alert('forecast', 4)] }),
    };
}"""


def test_trend_and_stage_rules_in_the_page_modules(
        tmp_path: Path, mosquitto: MosquittoServer,
        settings_env: Callable[..., dict[str, str]]) -> None:
    """The pure rules of the list and the river view, in the modules the page loads:
    the rate is the last hour's least-squares fit (noise does not flip it), the time to
    the next level is "—" (null) unless rising, and every gauge's reference levels sit
    at the same heights of the river view whatever their metres."""
    env = settings_env(api_keys=TEST_KEYS, api_public_read="true", dashboard_tiles_url="")
    api = ApiProcess(env, free_port(), tmp_path / "api.log").start()
    try:
        with chromium() as browser:
            page = browser.new_page()
            page.goto(api.url)
            expect(page.locator("body[data-ready=true]")).to_be_attached()
            result = page.evaluate(RULES_JS)
            order = page.evaluate(ALERT_ORDER_JS)
            doubt = page.evaluate(DOUBTFUL_GAUGES_JS)
            forecast = page.evaluate(FORECAST_RULES_JS)
    finally:
        api.stop()
    assert result["rising"] == pytest.approx(0.6, abs=0.1)
    assert abs(result["flat"]) < 0.1
    assert result["trend"] == "steady"
    assert result["one"] is None
    assert result["toNext"] == 100  # 1.0 m at 0.6 m/h
    assert result["notRising"] is None
    assert result["aboveAll"] is None
    assert all(a == pytest.approx(b) for a, b in result["stages"]), result["stages"]
    assert result["stages"][0][0] < result["between"] < result["stages"][2][0]
    assert result["label"] == "−0.26 m/h"
    assert (result["soon"], result["far"]) == ("1 h 40 min", "> 6 h")
    # The alert panel's order: danger first; a rapid rise just above its station's own
    # level and never below 氾濫注意 elsewhere; standby last.
    assert order == ["a:river_level", "b:rate_of_rise", "c:rate_of_rise", "b:river_level",
                     "d:river_level"], order
    assert (forecast["current"], forecast["newer"], forecast["stale"]) == (
        None, "newer_reading", "station_stale")
    # At 避難判断 the next level is 氾濫危険 (the crossings come in any order), its minutes
    # from now (10 min after issue: 60), never from the issue time.
    assert forecast["next"] == {"band": "danger", "level": 4,
                                "at": forecast["next"]["at"], "minutes": 60}
    assert forecast["fromCaution"] == "evacuation"
    assert forecast["above"] is None
    assert forecast["extent"]["low"] == pytest.approx(4.7)  # the level it starts from
    assert forecast["extent"]["high"] == pytest.approx(6.5)
    assert forecast["at60"] == pytest.approx(5.0)
    assert forecast["text"] == "氾濫危険水位 到達予測 11:10（60分後） （傾向のみ）"
    assert forecast["order"] == ["river_level4", "forecast4", "river_level3"]
    assert forecast["marker"] == 3
    # A silent or offline gauge is a doubt, not an all-clear: above a fresh 平常 gauge,
    # below a gauge at 氾濫注意.
    severity = doubt["severity"]
    assert severity["fresh"] < severity["silent"] < severity["caution"], severity
    assert severity["fresh"] < severity["offline"] < severity["caution"], severity
    # A value the engine flagged is drawn hatched and marked 要確認 in the river view.
    assert (doubt["suspect"], doubt["fresh"]) == ("true", "false"), doubt
    assert doubt["hatched"], doubt
    assert doubt["marked"], doubt
