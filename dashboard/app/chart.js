// The selected station's last 24 hours (REST history, then live readings appended),
// with its reference levels drawn as dashed lines in their band colours, the date on
// the time axis when the points are not all from today, and ahead of the last reading the
// gauge's forecast: the median dashed, the band shaded (an SVG over the plot), the
// expected crossing of the next reference level under it. An outdated forecast is drawn
// grey and says when it was issued. Where no current forecast is, the open alert's
// projection (a straight line at the alert's rate) is drawn dashed instead.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { api } from './api.js';
import { drawBand, forecastLabel, forecastSeries } from './chart_forecast.js';
import { extent } from './forecast.js';
import { bandName, formatClock, formatTime, localized, t } from './i18n.js';
import { BAND_COLOURS } from './map.js';
import { projectionOf } from './store.js';
import { BANDS } from './trend.js';

const DAY = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo', year: 'numeric',
  month: '2-digit', day: '2-digit' });
const MONTH_DAY = new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', month: 'numeric',
  day: 'numeric' });
const dayOf = (seconds) => DAY.format(new Date(seconds * 1000));

// Tick labels: 24-hour Japan time; when the range is not all today's, each tick that
// starts a new day (and the first) also carries its date, so a two-day-old point never
// reads as this morning's.
export function tickLabels(splits, dated) {
  let previous = null;
  return splits.map((seconds) => {
    const day = dayOf(seconds);
    const label = dated && day !== previous
      ? `${MONTH_DAY.format(new Date(seconds * 1000))}\n${formatClock(seconds)}`
      : formatClock(seconds);
    previous = day;
    return label;
  });
}

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
    this.projection = null; // {from, until (s), startValue, target} while one is drawn
    this.forecast = null; // {forecast, reason, extent} while one is drawn
    store.subscribe((what, stationId) => {
      // The page's clock made the station stale: a drawn forecast is outdated now.
      if (what === 'stations' && this.forecast && this.plot
          && (this.store.forecastOf(this.station.id)?.reason ?? null) !== this.forecast.reason) {
        this.draw();
        return;
      }
      // A projection arrives with its alert event; whether that alert is still open comes
      // with the status (either may be first).
      if (stationId !== this.station?.id || !this.times.length || this.arrivedWhileLoading) return;
      if (what === 'projection' || (what === 'status' && this.store.projections.has(stationId))) {
        this.draw();
      }
    });
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
    await this.loadProjection(station);
    if (this.station !== station) return;
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
    // A drawn projection starts at the last reading, and a forecast is outdated by a newer
    // one: redraw them.
    if (this.plot && !this.projection && !this.forecast) this.plot.setData(this.data());
    else this.draw();
    this.element.dataset.points = String(this.times.length);
  }

  // The projection of the station's open alert: the live feed's newest, or else the
  // newest event in its history (a page opened after the alert was raised).
  async loadProjection(station) {
    if (station.kind !== 'river' || this.store.projections.has(station.id)) return;
    const open = new Set(this.store.openAlertsOf(station.id).map((alert) => alert.alert_id));
    if (!open.size) return;
    try {
      const { events } = await api.alertHistory(station.id, 20);
      const found = events.find((event) => open.has(event.alert_id) && projectionOf(event));
      if (found && !this.store.projections.has(station.id)) {
        this.store.projections.set(station.id, projectionOf(found));
      }
    } catch {
      // No history (database down): the chart goes without the projection.
    }
  }

  // A forecast of the shown station came (or went): draw it.
  onForecast(stationId) {
    if (stationId !== this.station?.id || !this.times.length || this.arrivedWhileLoading) return;
    this.draw();
  }

  shownForecast() {
    const known = this.store.forecastOf(this.station.id);
    const range = known && extent(known.forecast);
    // One that ended before the chart's 24 hours begin would only stretch the axis.
    if (!range || range.until < this.times[0]) return null;
    return { ...known, extent: range };
  }

  // Drawn from the last reading to the projected level at the projected time, only while
  // that time is still ahead of the last reading and the alert is open, and no current
  // forecast is drawn: the forecast is the better-informed of the two (docs/dashboard.md).
  currentProjection() {
    if (this.store.currentForecast(this.station.id)) return null;
    const projection = this.store.projections.get(this.station.id);
    if (!projection || !this.times.length) return null;
    const open = this.store.openAlertsOf(this.station.id).some((a) => a.alert_id === projection.alertId);
    const target = this.station.levels_m?.[BANDS[projection.level]];
    const until = (projection.from + projection.minutes * 60_000) / 1000;
    const last = this.times.at(-1);
    const startValue = this.values.at(-1);
    if (!open || typeof target !== 'number' || until <= last || startValue >= target) return null;
    return { from: last, until, startValue, target, level: projection.level };
  }

  references() {
    const levels = this.station.levels_m;
    if (!levels) return [];
    return REFERENCE_BANDS.filter((band) => typeof levels[band] === 'number')
      .map((band) => ({ band, value: levels[band] }));
  }

  // One time axis for the readings, the projection's end and the forecast's points (an
  // outdated forecast's lie among the readings); each series null where it has no value.
  data() {
    const { projection, forecast } = this;
    const readings = new Map(this.times.map((time, i) => [time, this.values[i]]));
    const median = new Map();
    if (forecast) {
      median.set(forecast.extent.from, forecast.forecast.level_m);
      for (const point of forecast.forecast.points) median.set(Date.parse(point.at) / 1000, point.level_m);
    }
    const all = new Set([...this.times, ...median.keys()]);
    if (projection) all.add(projection.until);
    const times = [...all].sort((a, b) => a - b);
    const series = [times, times.map((time) => readings.get(time) ?? null),
      ...this.references().map((ref) => times.map(() => ref.value))];
    if (projection) {
      series.push(times.map((time) => (time === projection.from ? projection.startValue
        : (time === projection.until ? projection.target : null))));
    }
    if (forecast) series.push(times.map((time) => median.get(time) ?? null));
    return series;
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
    this.projection = river ? this.currentProjection() : null;
    this.forecast = river ? this.shownForecast() : null;
    const all = [...this.values, ...references.map((ref) => ref.value)];
    if (this.forecast) all.push(this.forecast.extent.low, this.forecast.extent.high);
    const today = dayOf(Date.now() / 1000);
    const dated = dayOf(this.times[0]) !== today || dayOf(this.times.at(-1)) !== today;
    this.element.dataset.dated = String(dated);
    this.element.dataset.projection = this.projection
      ? new Date(this.projection.until * 1000).toISOString() : '';
    this.element.dataset.forecast = this.forecast
      ? (this.forecast.reason === null ? 'current' : 'stale') : '';
    const ticks = (plot, splits) => {
      const labels = tickLabels(splits, dated);
      this.element.dataset.ticks = labels.join('|'); // what the axis shows, for tests
      return labels;
    };
    const options = {
      ...this.size(),
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Asia/Tokyo'),
      scales: { y: { range: () => [Math.min(...all) - 0.3, Math.max(...all) + 0.3] } },
      axes: [{ values: ticks, size: dated ? 56 : 40 },
        { label: river ? t('chartLevel') : t('chartDepth'), size: 60 }],
      series: [
        { label: t('time'),
          value: (plot, seconds) => (seconds == null ? '--' : formatTime(seconds * 1000)) },
        { label: river ? t('chartLevel') : t('chartDepth'), stroke: '#1d4ed8', width: 2,
          spanGaps: true, points: { show: this.times.length < 60 } },
        ...references.map((ref) => ({
          label: `${bandName(ref.band)} ${ref.value.toFixed(2)} m`,
          stroke: BAND_COLOURS[ref.band] === '#f2e700' ? '#c9bf00' : BAND_COLOURS[ref.band],
          dash: [6, 4], width: 1.5, points: { show: false },
        })),
        ...(this.projection ? [{
          label: t('projection', bandName(BANDS[this.projection.level]),
            formatTime(this.projection.until * 1000)),
          stroke: '#0e7490', dash: [4, 4], width: 2.5, spanGaps: true, points: { show: true },
        }] : []),
        ...(this.forecast ? [forecastSeries(this.forecast)] : []),
      ],
      hooks: { draw: [(plot) => drawBand(plot, this.forecast, this.element)] },
    };
    this.plot = new uPlot(options, this.data(), this.element);
    if (this.forecast) this.element.append(forecastLabel(this.forecast, this.station));
  }

  // After a language switch: labels are part of the uPlot options.
  redraw() {
    if (this.station) {
      this.title.textContent = localized(this.station.name);
      this.draw();
    }
  }
}
