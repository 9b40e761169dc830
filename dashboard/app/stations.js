// The station list: one row per station with its current value, band and time. Rows
// are built with textContent only (names come from configuration, never as HTML).

import { bandName, formatTime, localized, t } from './i18n.js';
import { BAND_COLOURS } from './map.js';

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

export class StationList {
  constructor(body, store) {
    this.body = body;
    this.store = store;
    this.rows = new Map();
  }

  render() {
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
      this.update(station.id);
    }
  }

  update(stationId) {
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
    const time = cell(formatTime(station.latest?.ts), 'time');
    if (station.stale) {
      const badge = document.createElement('span');
      badge.className = 'stale-badge';
      badge.textContent = t('stale');
      badge.title = t('staleTitle');
      time.append(badge);
    }
    row.replaceChildren(name, cell(currentValue(station), 'value'), band, time);
    row.dataset.band = station.band ?? 'none';
    row.dataset.stale = String(station.stale);
    row.classList.toggle('stale', station.stale);
    row.classList.toggle('selected', this.store.selected === stationId);
    row.setAttribute('aria-selected', String(this.store.selected === stationId));
  }

  updateAll() {
    for (const stationId of this.rows.keys()) this.update(stationId);
  }
}
