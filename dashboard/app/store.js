// What the page knows: every station (registry data, latest reading, level band,
// staleness) and every station's alert status. REST answers and live messages are
// merged here, newest reading by device time winning, and views are told to redraw.

const BANDS = ['normal', 'standby', 'caution', 'evacuation', 'danger', 'flooding'];

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
    this.listeners = [];
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
    // Highest level first, then the newest. Times are compared as times: their text has
    // a fraction only when it is not zero (docs/api.md), so it does not sort as text.
    return alerts.sort((a, b) => (b.alert_level ?? b.level ?? 0) - (a.alert_level ?? a.level ?? 0)
      || (Date.parse(b.raised_at) || 0) - (Date.parse(a.raised_at) || 0));
  }

  select(stationId) {
    this.selected = stationId;
    this.changed('selected', stationId);
  }
}
