// The station list: one row per station with its current value, trend, band, when it
// reached that band, the forecast's expected crossing of the next level (a current
// forecast only; an outdated one says so), and its time and flags. Sortable by any column; by default the worst
// first, then the fastest rising, so a storm's rising gauges are at the top. Below
// 430 px wide (river.css) each row is drawn as a card. Rows are built with textContent
// only (names come from configuration, never as HTML).

import { isTrendOnly, nextCrossing } from './forecast.js';
import { bandName, formatClock, formatTime, localized, t } from './i18n.js';
import { BAND_COLOURS } from './map.js';
import { formatRate, trendArrow, trendOf } from './trend.js';

function currentValue(station) {
  const values = station.latest?.values;
  if (!values) return t('noData');
  if (typeof values.level_m === 'number') return `${values.level_m.toFixed(2)} m`;
  const parts = [];
  if (typeof values.water_depth_cm === 'number') parts.push(`${values.water_depth_cm.toFixed(1)} cm`);
  if (typeof values.surface_temp_c === 'number') parts.push(`${values.surface_temp_c.toFixed(1)} °C`);
  if (values.surface_state) parts.push(values.surface_state);
  return parts.join(' / ') || t('noData');
}

function cell(text, className = '') {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function badge(text, className, title) {
  const span = document.createElement('span');
  span.className = className;
  span.textContent = text;
  span.title = title;
  return span;
}

const byText = (a, b) => a.localeCompare(b, 'ja');
const nullsLast = (a, b) => (a === null) - (b === null);

// Each column: its words key, and how two stations compare (ascending).
const COLUMNS = [
  { key: 'name', word: 'station', compare: (l, a, b) => byText(l.name(a), l.name(b)) },
  { key: 'value', word: 'value',
    compare: (l, a, b) => nullsLast(l.level(a), l.level(b)) || (l.level(a) ?? 0) - (l.level(b) ?? 0) },
  { key: 'trend', word: 'trend',
    compare: (l, a, b) => nullsLast(l.rate(a), l.rate(b)) || (l.rate(a) ?? 0) - (l.rate(b) ?? 0) },
  { key: 'band', word: 'band', compare: (l, a, b) => l.store.severity(a.id) - l.store.severity(b.id) },
  { key: 'forecast', word: 'forecastColumn',
    compare: (l, a, b) => nullsLast(l.expected(a), l.expected(b))
      || (l.expected(a)?.at ?? 0) - (l.expected(b)?.at ?? 0) },
  { key: 'since', word: 'since',
    compare: (l, a, b) => (Date.parse(l.since(a)?.at) || 0) - (Date.parse(l.since(b)?.at) || 0) },
  { key: 'time', word: 'time',
    compare: (l, a, b) => (Date.parse(a.latest?.ts) || 0) - (Date.parse(b.latest?.ts) || 0) },
];

export class StationList {
  constructor(body, store) {
    this.body = body;
    this.store = store;
    this.rows = new Map();
    this.order = [...store.stations.keys()]; // registry order: the last tie-break
    this.sort = null; // {key, descending}; null: severity, then rate of rise
    this.pending = false;
    // Statuses (open alerts: level_since, data quality, offline) change rows too.
    store.subscribe((what, stationId) => {
      if (what === 'status') this.update(stationId);
    });
  }

  name(station) { return localized(station.name); }

  level(station) {
    const values = station.latest?.values;
    if (!values || station.stale) return null;
    return values.level_m ?? values.water_depth_cm ?? null;
  }

  rate(station) { return this.store.rate(station.id); }

  since(station) { return this.store.reachedAt(station.id); }

  // The current forecast's crossing of the next level: {band, at, minutes} or null.
  expected(station) {
    const forecast = this.store.currentForecast(station.id);
    return forecast ? nextCrossing(forecast, station) : null;
  }

  forecastCell(station) {
    const td = cell('—', 'forecast');
    const known = this.store.forecastOf(station.id);
    if (station.kind !== 'river' || !known) return td;
    td.dataset.state = known.reason === null ? 'current' : 'stale';
    td.dataset.method = known.forecast.method ?? '';
    if (known.reason !== null) {
      // A stale station is flagged already; an outdated forecast is named, never shown.
      td.textContent = station.stale ? '—' : t('forecastOutdated', formatTime(known.forecast.issued_at));
      return td;
    }
    const crossing = this.expected(station);
    td.dataset.at = crossing ? new Date(crossing.at).toISOString() : '';
    td.textContent = crossing
      ? t('forecastShort', bandName(crossing.band), formatClock(crossing.at / 1000), crossing.minutes)
      : t('noCrossingShort');
    if (isTrendOnly(known.forecast)) {
      td.append(badge(t('trendOnly'), 'trend-only-badge', t('trendOnlyTitle')));
    }
    return td;
  }

  renderHead() {
    const table = this.body.closest('table');
    const row = table?.tHead?.rows[0];
    if (!row) return;
    row.replaceChildren(...COLUMNS.map((column) => {
      const th = document.createElement('th');
      th.dataset.column = column.key;
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'sort';
      button.textContent = t(column.word);
      button.addEventListener('click', () => this.sortBy(column.key));
      th.append(button);
      const active = this.sort?.key === column.key;
      th.setAttribute('aria-sort', active ? (this.sort.descending ? 'descending' : 'ascending') : 'none');
      return th;
    }));
  }

  sortBy(key) {
    // First click on a column: worst/highest/newest first for the numeric columns, the
    // soonest first for the expected crossing.
    if (this.sort?.key === key) this.sort = { key, descending: !this.sort.descending };
    else this.sort = { key, descending: !['name', 'forecast'].includes(key) };
    this.renderHead();
    this.reorder();
  }

  sorted() {
    const stations = [...this.store.stations.values()];
    const registry = (a, b) => this.order.indexOf(a.id) - this.order.indexOf(b.id);
    if (!this.sort) {
      return stations.sort((a, b) => this.store.severity(b.id) - this.store.severity(a.id)
        || nullsLast(this.rate(a), this.rate(b)) || (this.rate(b) ?? 0) - (this.rate(a) ?? 0)
        || registry(a, b));
    }
    const column = COLUMNS.find((c) => c.key === this.sort.key);
    const sign = this.sort.descending ? -1 : 1;
    return stations.sort((a, b) => sign * column.compare(this, a, b) || registry(a, b));
  }

  reorder() {
    const wanted = this.sorted().map((station) => this.rows.get(station.id)).filter(Boolean);
    if (wanted.every((row, i) => this.body.children[i] === row)) return;
    // Keep focus on the row the officer is on while rows move.
    const focused = document.activeElement;
    this.body.append(...wanted);
    if (focused && this.body.contains(focused)) focused.focus();
  }

  // Many readings arrive together: one re-sort per frame.
  scheduleReorder() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.reorder();
    });
  }

  render() {
    this.order = [...this.store.stations.keys()];
    this.renderHead();
    this.body.replaceChildren();
    this.rows.clear();
    for (const station of this.store.stations.values()) {
      const row = document.createElement('tr');
      row.dataset.station = station.id;
      row.tabIndex = 0;
      row.addEventListener('click', () => this.store.select(station.id));
      row.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') this.store.select(station.id);
      });
      this.rows.set(station.id, row);
      this.body.append(row);
      this.update(station.id, false);
    }
    this.reorder();
  }

  update(stationId, resort = true) {
    const station = this.store.stations.get(stationId);
    const row = this.rows.get(stationId);
    if (!station || !row) return;
    const name = cell(localized(station.name), 'name');
    const band = cell(station.band ? bandName(station.band) : (station.kind === 'road' ? t('road') : ''),
      'band');
    if (station.band) {
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = BAND_COLOURS[station.band];
      band.prepend(swatch);
    }
    const rate = this.rate(station);
    const trend = cell(station.kind === 'river' ? `${trendArrow(rate)} ${formatRate(rate)}`.trim() : '', 'trend');
    trend.dataset.trend = trendOf(rate) ?? 'unknown';
    trend.dataset.rate = typeof rate === 'number' ? rate.toFixed(3) : '';
    const reached = this.since(station);
    const since = cell(reached ? `${reached.atMost ? '≤ ' : ''}${formatTime(reached.at)}` : '—', 'since');
    since.dataset.at = reached?.at ?? '';
    const time = cell(formatTime(station.latest?.ts), 'time');
    const flags = this.store.flags(stationId);
    if (station.stale) time.append(badge(t('stale'), 'stale-badge', t('staleTitle')));
    if (flags.offline && !station.stale) time.append(badge(t('offline'), 'stale-badge', t('offlineTitle')));
    if (flags.suspect) time.append(badge(t('suspect'), 'suspect-badge', t('suspectTitle')));
    const value = cell(currentValue(station), 'value');
    const forecast = this.forecastCell(station);
    const cells = { station: name, value, trend, band, forecastColumn: forecast, since, time };
    for (const [word, td] of Object.entries(cells)) td.dataset.label = t(word); // card captions
    row.replaceChildren(...Object.values(cells));
    row.dataset.band = station.band ?? 'none';
    row.dataset.stale = String(station.stale);
    row.dataset.severity = String(this.store.severity(stationId));
    row.dataset.suspect = String(flags.suspect);
    row.classList.toggle('stale', station.stale);
    row.classList.toggle('selected', this.store.selected === stationId);
    row.setAttribute('aria-selected', String(this.store.selected === stationId));
    if (resort) this.scheduleReorder();
  }

  updateAll() {
    this.renderHead();
    for (const stationId of this.rows.keys()) this.update(stationId, false);
    this.reorder();
  }
}
