// The selected station's last 24 hours (REST history, then live readings appended),
// with its reference levels drawn as dashed lines in their band colours.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { api } from './api.js';
import { bandName, formatClock, formatTime, localized, t } from './i18n.js';
import { BAND_COLOURS } from './map.js';

const REFERENCE_BANDS = ['standby', 'caution', 'evacuation', 'danger', 'flooding'];
const HEIGHT = 260;
const HOURS = 24;

function fieldOf(station) {
  return station.kind === 'river' ? 'level_m' : 'water_depth_cm';
}

export class LevelChart {
  constructor(element, title, store) {
    this.element = element;
    this.title = title;
    this.store = store;
    this.plot = null;
    this.station = null;
    this.times = [];
    this.values = [];
    this.arrivedWhileLoading = null;
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(element);
  }

  size() {
    return { width: Math.max(300, this.element.clientWidth), height: HEIGHT };
  }

  async show(stationId) {
    const station = this.store.stations.get(stationId);
    if (!station) return;
    this.station = station;
    this.title.textContent = localized(station.name);
    const field = fieldOf(station);
    // Live readings that arrive while the history loads are kept and added after it.
    this.arrivedWhileLoading = [];
    let points = [];
    try {
      points = (await api.history(stationId, HOURS)).points;
    } catch {
      this.arrivedWhileLoading = null;
      this.message(t('historyFailed'));
      return;
    }
    if (this.station !== station) return; // another station was chosen meanwhile
    const usable = points.filter((point) => typeof point.values[field] === 'number');
    this.times = usable.map((point) => Date.parse(point.ts) / 1000);
    this.values = usable.map((point) => point.values[field]);
    const arrived = this.arrivedWhileLoading;
    this.arrivedWhileLoading = null;
    this.draw();
    for (const reading of arrived) this.append(reading);
  }

  // A live reading of the shown station: append it if it is newer than the last point.
  append(reading) {
    if (!this.station || reading.station !== this.station.id) return;
    if (this.arrivedWhileLoading) {
      this.arrivedWhileLoading.push(reading);
      return;
    }
    const value = reading.values[fieldOf(this.station)];
    const at = Date.parse(reading.ts) / 1000;
    if (typeof value !== 'number' || (this.times.length && at <= this.times.at(-1))) return;
    this.times.push(at);
    this.values.push(value);
    // A screen left open for days keeps the chart at the same 24 hours.
    while (this.times.length > 1 && this.times[0] < at - HOURS * 3600) {
      this.times.shift();
      this.values.shift();
    }
    if (this.plot) this.plot.setData(this.data());
    else this.draw();
    this.element.dataset.points = String(this.times.length);
  }

  references() {
    const levels = this.station.levels_m;
    if (!levels) return [];
    return REFERENCE_BANDS.filter((band) => typeof levels[band] === 'number')
      .map((band) => ({ band, value: levels[band] }));
  }

  data() {
    const lines = this.references().map((ref) => this.times.map(() => ref.value));
    return [this.times, this.values, ...lines];
  }

  message(text) {
    this.plot?.destroy();
    this.plot = null;
    const note = document.createElement('p');
    note.className = 'chart-note';
    note.textContent = text;
    this.element.replaceChildren(note);
    this.element.dataset.points = '0';
  }

  draw() {
    this.plot?.destroy();
    this.plot = null;
    this.element.replaceChildren();
    this.element.dataset.station = this.station.id;
    this.element.dataset.points = String(this.times.length);
    if (!this.times.length) {
      this.message(t('noHistory'));
      return;
    }
    const river = this.station.kind === 'river';
    const references = this.references();
    const all = [...this.values, ...references.map((ref) => ref.value)];
    const options = {
      ...this.size(),
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Asia/Tokyo'),
      scales: { y: { range: () => [Math.min(...all) - 0.3, Math.max(...all) + 0.3] } },
      axes: [{ values: (plot, splits) => splits.map(formatClock) }, { label: river ? t('chartLevel') : t('chartDepth'), size: 60 }],
      series: [
        { label: t('time'),
          value: (plot, seconds) => (seconds == null ? '--' : formatTime(seconds * 1000)) },
        { label: river ? t('chartLevel') : t('chartDepth'), stroke: '#1d4ed8', width: 2,
          points: { show: this.times.length < 60 } },
        ...references.map((ref) => ({
          label: `${bandName(ref.band)} ${ref.value.toFixed(2)} m`,
          stroke: BAND_COLOURS[ref.band] === '#f2e700' ? '#c9bf00' : BAND_COLOURS[ref.band],
          dash: [6, 4], width: 1.5, points: { show: false },
        })),
      ],
    };
    this.plot = new uPlot(options, this.data(), this.element);
  }

  // After a language switch: labels are part of the uPlot options.
  redraw() {
    if (this.station) {
      this.title.textContent = localized(this.station.name);
      this.draw();
    }
  }
}
