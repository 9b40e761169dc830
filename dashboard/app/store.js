// What the page knows: every station (registry data, latest reading, level band,
// staleness) and every station's alert status. REST answers and live messages are
// merged here, newest reading by device time winning, and views are told to redraw.
// It also keeps each river gauge's last two hours of levels (for the rate of rise), the
// projection of the newest alert event that carried one (for the chart), each gauge's
// newest forecast (live feed) and the detail of forecast warnings' events.

import { staleReason } from './forecast.js';
import { bandRank, riseRate } from './trend.js';

const BANDS = ['normal', 'standby', 'caution', 'evacuation', 'danger', 'flooding'];
const RECENT_MS = 2 * 3600 * 1000;
const SILENT_GAUGE_SEVERITY = 1.5; // above 水防団待機 (1), below 氾濫注意 (2)

// The projection an alert event carries (docs/alerts.md, Projection), anchored at the
// reading that caused it: {from: epoch ms, minutes, level (1-5), rate (m/h)}.
export function projectionOf(event) {
  const projection = event?.projection;
  if (!projection || typeof projection.minutes !== 'number') return null;
  const from = Date.parse(event.cause?.reading_ts ?? event.at);
  if (!Number.isFinite(from)) return null;
  return { alertId: event.alert_id, from, minutes: projection.minutes,
    level: projection.level, rate: projection.rate_m_per_h };
}

// The same rule as the API (api/levels.py): a level equal to a threshold has reached it.
export function levelBand(levels, levelM) {
  if (!levels || typeof levelM !== 'number') return null;
  for (let rank = BANDS.length - 1; rank > 0; rank -= 1) {
    const threshold = levels[BANDS[rank]];
    if (threshold !== null && threshold !== undefined && levelM >= threshold) {
      return BANDS[rank];
    }
  }
  return 'normal';
}

export class Store {
  constructor() {
    this.stations = new Map();
    this.statuses = new Map();
    this.selected = null;
    this.staleFactor = 3;
    this.timeScale = 1;
    this.listeners = [];
    this.recent = new Map(); // station -> [{t, v}], oldest first, suspect values left out
    this.projections = new Map(); // station -> {alertId, from, minutes, level, rate}
    this.forecasts = new Map(); // station -> the forecast stage's newest message
    this.alertDetails = new Map(); // alert id -> detail of its newest event (forecasts)
  }

  subscribe(listener) {
    this.listeners.push(listener);
  }

  changed(what, stationId = null) {
    for (const listener of this.listeners) listener(what, stationId);
  }

  loadRegistry(entries) {
    for (const entry of entries) {
      const known = this.stations.get(entry.id);
      this.stations.set(entry.id, {
        latest: null, band: null, stale: true, ...known, ...entry,
      });
    }
    this.changed('stations');
  }

  // GET /api/v1/stations: the API's own stale flag and band are authoritative here.
  applySummaries(summaries) {
    for (const summary of summaries) {
      const station = this.stations.get(summary.id);
      if (!station) continue;
      const newer = summary.latest && (!station.latest
        || Date.parse(summary.latest.ts) >= Date.parse(station.latest.ts));
      if (newer || !station.latest) {
        station.latest = summary.latest;
        station.band = summary.level?.band ?? null;
      }
      station.stale = summary.stale && !this.freshByClock(station);
    }
    this.changed('stations');
  }

  // A live reading: {station, kind, ts, values, ...} as on the bus.
  applyReading(reading) {
    const station = this.stations.get(reading.station);
    if (!station) return;
    if (station.latest && Date.parse(reading.ts) < Date.parse(station.latest.ts)) return;
    station.latest = { ts: reading.ts, values: reading.values };
    station.band = levelBand(station.levels_m, reading.values.level_m);
    station.stale = !this.freshByClock(station);
    this.recordLevel(station.id, Date.parse(reading.ts), reading.values.level_m);
    this.changed('reading', station.id);
  }

  // Between REST refreshes a station goes stale by the API's rule, on the page's clock.
  freshByClock(station) {
    if (!station.latest) return false;
    const ageMs = Date.now() - Date.parse(station.latest.ts);
    return ageMs <= station.interval_s * this.staleFactor * 1000;
  }

  recheckStale() {
    let changed = false;
    for (const station of this.stations.values()) {
      if (!station.stale && !this.freshByClock(station)) {
        station.stale = true;
        changed = true;
      }
    }
    if (changed) this.changed('stations');
  }

  applyStatus(stationId, status) {
    this.statuses.set(stationId, status);
    this.changed('status', stationId);
  }

  openAlerts() {
    const alerts = [];
    for (const [stationId, status] of this.statuses) {
      for (const alert of status.alerts ?? []) alerts.push({ station: stationId, ...alert });
    }
    // Most urgent first, then the newest. Times are compared as times: their text has
    // a fraction only when it is not zero (docs/api.md), so it does not sort as text.
    return alerts.sort((a, b) => this.urgency(b) - this.urgency(a)
      || (Date.parse(b.raised_at) || 0) - (Date.parse(a.raised_at) || 0));
  }

  // An alert's place in the list, on the 警戒レベル scale. A rapid rise has no level of
  // its own (level 1) but is what an officer must see before the next level comes: it
  // ranks just above its station's own severity, and never below 氾濫注意 elsewhere.
  // A forecast warning ranks just under an observed alert of the level it expects (the
  // river has not reached it) and above the observed level below it.
  urgency(alert) {
    const level = alert.alert_level ?? alert.level ?? 0;
    if (alert.alert_type === 'forecast') return (alert.level ?? 0) - 0.5;
    if (alert.alert_type !== 'rate_of_rise') return level;
    return Math.max(this.severity(alert.station) + 0.5, 2.25);
  }

  recordLevel(stationId, t, value) {
    if (typeof value !== 'number' || !Number.isFinite(t)) return;
    const points = this.recent.get(stationId) ?? [];
    if (points.some((p) => p.t === t)) return;
    points.push({ t, v: value });
    points.sort((a, b) => a.t - b.t);
    const newest = points.at(-1).t;
    while (points.length && points[0].t < newest - RECENT_MS) points.shift();
    this.recent.set(stationId, points);
  }

  // The last two hours of every river gauge from REST history (`history(id, hours)`, as
  // api.history): at start and after a reconnection, whose missed readings the live
  // feed does not replay. Values the engine flagged suspect are left out of the rate.
  async loadRecent(history) {
    const rivers = [...this.stations.values()].filter((s) => s.kind === 'river');
    await Promise.all(rivers.map(async (station) => {
      let answer;
      try {
        answer = await history(station.id, RECENT_MS / 3_600_000);
      } catch {
        return; // the database is down: live readings still build the rate up
      }
      const suspect = new Set((answer.flags ?? []).filter((f) => f.field === 'level_m')
        .map((f) => Date.parse(f.ts)));
      station.suspectTimes = suspect;
      for (const point of answer.points) {
        const t = Date.parse(point.ts);
        if (!suspect.has(t)) this.recordLevel(station.id, t, point.values.level_m);
      }
    }));
    this.changed('stations');
  }

  // Metres per hour over the last hour of readings; null while that cannot be told (a
  // stale gauge has no rate: its last rise is not what the river does now).
  rate(stationId) {
    const station = this.stations.get(stationId);
    if (!station || station.stale) return null;
    // A compressed demo (timeScale storm seconds per wall second) stretches its wall
    // times back into storm time, so the hour and the m/h are the storm's.
    const points = this.recent.get(stationId);
    if (this.timeScale === 1 || !points) return riseRate(points);
    return riseRate(points.map((p) => ({ ...p, t: p.t * this.timeScale })));
  }

  openAlertsOf(stationId) {
    return this.statuses.get(stationId)?.alerts ?? [];
  }

  // What the station list sorts by: the worst of the engine's open level alerts and the
  // level band of a fresh reading (a stale reading's band is history, not the river).
  // A silent gauge (stale, or offline to the engine) is a doubt, not an all-clear: it
  // ranks at least with its last known band and never below 水防団待機 and a fresh
  // 平常 gauge, so in a storm it stays in sight instead of sinking to the bottom.
  severity(stationId) {
    const station = this.stations.get(stationId);
    let worst = station && !station.stale ? bandRank(station.band) : 0;
    if (station && (station.stale || this.statuses.get(stationId)?.offline)) {
      worst = Math.max(worst, bandRank(station.band), SILENT_GAUGE_SEVERITY);
    }
    for (const alert of this.openAlertsOf(stationId)) {
      if (['river_level', 'road_flooding', 'road_icing'].includes(alert.alert_type)) {
        worst = Math.max(worst, alert.level ?? 0);
      }
    }
    return worst;
  }

  // The data-quality and offline flags an officer must see next to a value.
  flags(stationId) {
    const station = this.stations.get(stationId);
    const status = this.statuses.get(stationId);
    const alerts = this.openAlertsOf(stationId);
    const latest = station?.latest ? Date.parse(station.latest.ts) : null;
    return {
      stale: Boolean(station?.stale),
      offline: Boolean(status?.offline),
      suspect: alerts.some((a) => a.alert_type === 'data_quality')
        || Boolean(latest && station?.suspectTimes?.has(latest)),
    };
  }

  // When the station reached the level band it shows now: the engine's level_since of
  // its river alert when that alert is at the same level (the engine's hysteresis is
  // the official account); otherwise the first of the latest run of readings in this
  // band. {at, atMost}: atMost when the run goes back past the readings kept.
  reachedAt(stationId) {
    const station = this.stations.get(stationId);
    if (!station?.band || station.stale) return null;
    const rank = bandRank(station.band);
    const alert = this.openAlertsOf(stationId).find((a) => a.alert_type === 'river_level');
    if (alert && alert.level === rank && alert.level_since) return { at: alert.level_since };
    const points = this.recent.get(stationId) ?? [];
    if (!points.length || rank === 0) return null;
    let first = null;
    for (let i = points.length - 1; i >= 0; i -= 1) {
      if (bandRank(levelBand(station.levels_m, points[i].v)) !== rank) {
        return first === null ? null : { at: new Date(first).toISOString() };
      }
      first = points[i].t;
    }
    return { at: new Date(first).toISOString(), atMost: true };
  }

  // A forecast from the live feed (or its snapshot): the newest by issue time wins.
  applyForecast(forecast) {
    if (!forecast?.station || !this.stations.has(forecast.station)) return;
    const known = this.forecasts.get(forecast.station);
    if (known && Date.parse(forecast.issued_at) < Date.parse(known.issued_at)) return;
    this.forecasts.set(forecast.station, forecast);
    this.changed('forecast', forecast.station);
  }

  // {forecast, reason}: reason null while it is current (forecast.js, staleReason).
  forecastOf(stationId) {
    const forecast = this.forecasts.get(stationId);
    if (!forecast) return null;
    return { forecast, reason: staleReason(forecast, this.stations.get(stationId)) };
  }

  // The station's forecast while it is current, else null.
  currentForecast(stationId) {
    const known = this.forecastOf(stationId);
    return known && known.reason === null ? known.forecast : null;
  }

  // An alert event from the live feed: keep the projection it carries (rate of rise or
  // level alerts), drop it when the alert clears.
  applyAlertEvent(event) {
    if (!event?.station) return;
    if (event.alert_type === 'forecast' && event.detail) {
      this.alertDetails.set(event.alert_id, event.detail);
    }
    const kept = this.projections.get(event.station);
    if (event.transition === 'cleared') {
      if (kept?.alertId === event.alert_id) this.projections.delete(event.station);
      return;
    }
    const projection = projectionOf(event);
    if (projection && (!kept || projection.from >= kept.from)) {
      this.projections.set(event.station, projection);
      this.changed('projection', event.station);
    }
  }

  select(stationId) {
    this.selected = stationId;
    this.changed('selected', stationId);
  }
}
