// The river view: a schematic longitudinal section of one river, its gauges from
// upstream (left) to downstream (right) in registry order, each drawn as a staff with
// its own reference levels. Gauges have different datums and levels, so the height is
// not metres but "how far through its reference levels": every gauge's standby,
// caution, evacuation, danger and flooding levels sit at the same heights, the bands
// run across the whole river, and the line joining the water surfaces shows the flood
// wave travelling downstream. A stale gauge is drawn missing (never as a low level) and
// breaks the line. Beside each staff, the gauge's current forecast: its band at +3 h as a
// bar and the median at +1 h and +3 h as ticks, and in the text under the drawing those
// levels and the expected crossing of the next level (an outdated forecast is not drawn;
// the text says it is outdated). SVG only: it needs no map tiles.

import { bandName, formatTime, localized, t } from './i18n.js';
import { BAND_COLOURS } from './map.js';
import { forecastMarks, forecastText } from './river_forecast.js';
import { BANDS, REFERENCE_BANDS, formatMinutes, formatRate, minutesToNext, nextLevel,
  trendArrow, trendOf } from './trend.js';

const SVG = 'http://www.w3.org/2000/svg';
// Drawn at the panel's own width in pixels (redrawn when it changes), so text keeps its
// size on a phone instead of shrinking with a scaled drawing.
const TOP = 24;
const PLOT = 220; // height of the staff
const WIDE_COLUMN = 80; // below this per gauge: short labels, names slanted
// The bands' names left of the first staff; on a narrow screen only the 警戒レベル number.
const GUTTER = { wide: 150, narrow: 20 };
// Where each reference level sits on every staff (fraction of PLOT from the bottom).
const STOPS = { standby: 0.3, caution: 0.45, evacuation: 0.6, danger: 0.75, flooding: 0.9 };

function node(name, attributes = {}, text = null) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== null) element.textContent = text;
  return element;
}

// The levels a gauge is drawn against: its own, with a flooding level where it has none
// (one danger-evacuation step above danger), so the top band has a height.
function stops(levels) {
  const known = REFERENCE_BANDS.filter((band) => typeof levels?.[band] === 'number')
    .map((band) => ({ band, metres: levels[band], at: STOPS[band] }));
  if (known.length < 2) return known;
  if (known.at(-1).band !== 'flooding') {
    const [below, top] = known.slice(-2);
    known.push({ band: 'flooding', metres: top.metres + (top.metres - below.metres), at: STOPS.flooding, assumed: true });
  }
  return known;
}

// A level in metres -> fraction of the staff height, piecewise linear through the
// gauge's reference levels, continued below standby and above flooding at the nearest
// segment's scale; clamped to the staff (the value is printed, so nothing is hidden).
export function stageFraction(levels, metres) {
  const points = stops(levels);
  if (points.length < 2 || typeof metres !== 'number') return null;
  let i = 1;
  while (i < points.length - 1 && metres > points[i].metres) i += 1;
  const [a, b] = [points[i - 1], points[i]];
  const fraction = a.at + ((metres - a.metres) / (b.metres - a.metres)) * (b.at - a.at);
  return Math.min(1, Math.max(0, fraction));
}

export function riversOf(stations) {
  const rivers = new Map();
  for (const station of stations) {
    if (station.kind !== 'river' || !station.river) continue;
    if (!rivers.has(station.river)) rivers.set(station.river, { id: station.river, name: station.river_name, gauges: [] });
    rivers.get(station.river).gauges.push(station);
  }
  return [...rivers.values()];
}

export class RiverView {
  constructor(element, store) {
    this.element = element;
    this.store = store;
    this.river = null;
    this.pending = false;
    this.width = 0;
    new ResizeObserver(() => {
      if (Math.abs(this.element.clientWidth - this.width) > 8) this.schedule();
    }).observe(element);
    store.subscribe((what) => {
      if (['stations', 'reading', 'status', 'forecast'].includes(what)) this.schedule();
    });
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  render() {
    const rivers = riversOf(this.store.stations.values());
    if (!rivers.length) {
      this.element.replaceChildren();
      return;
    }
    // The longest river first by default: on the sample registry, the Abukuma.
    if (!rivers.some((r) => r.id === this.river)) {
      this.river = [...rivers].sort((a, b) => b.gauges.length - a.gauges.length)[0].id;
    }
    const river = rivers.find((r) => r.id === this.river);
    const tabs = document.createElement('div');
    tabs.className = 'river-tabs';
    tabs.setAttribute('role', 'tablist');
    for (const each of rivers) {
      const tab = document.createElement('button');
      tab.type = 'button';
      tab.setAttribute('role', 'tab');
      tab.dataset.river = each.id;
      tab.setAttribute('aria-selected', String(each.id === this.river));
      tab.textContent = localized(each.name) || each.id;
      tab.addEventListener('click', () => {
        this.river = each.id;
        this.render();
      });
      tabs.append(tab);
    }
    const direction = document.createElement('p');
    direction.className = 'river-direction';
    direction.textContent = t('riverDirection');
    this.element.replaceChildren(tabs, direction, this.section(river), this.details(river));
    this.element.dataset.river = river.id;
  }

  gaugeState(station) {
    const value = station.latest?.values?.level_m;
    const stale = station.stale || typeof value !== 'number';
    const rate = stale ? null : this.store.rate(station.id);
    // A value the engine flagged (spike, dropout, flat line) is drawn, but marked 要確認
    // and hatched: never a plain water column an officer would take at its word.
    const suspect = !stale && this.store.flags(station.id).suspect;
    const known = this.store.forecastOf(station.id);
    return { value: stale ? null : value, stale, suspect, rate,
      next: stale ? null : nextLevel(station.levels_m, value),
      minutes: stale ? null : minutesToNext(station.levels_m, value, rate),
      forecast: known?.reason === null ? known.forecast : null,
      outdated: known && known.reason !== null ? known.forecast : null };
  }

  section(river) {
    this.width = this.element.clientWidth;
    const width = Math.max(280, this.width);
    const wide = width >= 640;
    const gutter = wide ? GUTTER.wide : GUTTER.narrow;
    const column = (width - gutter) / Math.max(2, river.gauges.length);
    const narrow = column < WIDE_COLUMN;
    const height = TOP + PLOT + (narrow ? 64 : 40);
    const y = (fraction) => TOP + PLOT * (1 - fraction);
    const layout = { gutter, column, narrow, y };
    const svg = node('svg', { viewBox: `0 0 ${width} ${height}`, class: 'river-section',
      role: 'img', 'aria-label': `${localized(river.name) || river.id}: ${t('riverView')}` });
    // The bands across the whole river: the same heights on every staff.
    const edges = [0, ...REFERENCE_BANDS.map((band) => STOPS[band]), 1];
    BANDS.forEach((band, i) => {
      svg.append(node('rect', { x: 0, y: y(edges[i + 1]), width, height: y(edges[i]) - y(edges[i + 1]),
        fill: BAND_COLOURS[band], 'fill-opacity': band === 'normal' ? 0.06 : 0.14, class: `band band-${band}` }));
      if (band !== 'normal') {
        svg.append(node('line', { x1: 0, x2: width, y1: y(edges[i]), y2: y(edges[i]),
          stroke: BAND_COLOURS[band], 'stroke-dasharray': '4 4', 'stroke-width': 1 }));
        // 警戒レベル2-5相当 from caution up (standby has no alert-level equivalent).
        if (wide) {
          svg.append(node('text', { x: 4, y: y(edges[i]) - 3, class: 'band-label' }, bandName(band)));
          if (i >= 2) svg.append(node('text', { x: 4, y: y(edges[i]) - 14, class: 'band-level' }, t('alertLevelOf', i)));
        } else if (i >= 2) {
          svg.append(node('text', { x: 4, y: y(edges[i]) - 4, class: 'band-label' }, String(i)));
        }
      }
    });
    // The water surface, joined across neighbouring gauges that both report.
    let run = [];
    const flush = () => {
      if (run.length > 1) svg.append(node('polyline', { points: run.join(' '), class: 'surface' }));
      run = [];
    };
    river.gauges.forEach((station, index) => {
      const state = this.gaugeState(station);
      const fraction = state.stale ? null : stageFraction(station.levels_m, state.value);
      if (fraction === null) flush();
      else run.push(`${gutter + index * column + column / 2},${y(fraction)}`);
    });
    flush();
    river.gauges.forEach((station, index) => svg.append(this.gauge(station, index, layout)));
    return svg;
  }

  gauge(station, index, { gutter, column, narrow, y }) {
    const state = this.gaugeState(station);
    const x = gutter + index * column + column / 2;
    const group = node('g', { class: 'gauge', 'data-station': station.id, 'data-order': index,
      'data-stale': String(state.stale), 'data-suspect': String(state.suspect), 'data-band': state.stale ? 'missing' : (station.band ?? 'none'),
      'data-level': state.value === null ? '' : state.value.toFixed(2),
      'data-trend': trendOf(state.rate) ?? 'unknown', tabindex: 0 });
    group.addEventListener('click', () => this.store.select(station.id));
    group.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') this.store.select(station.id);
    });
    const staff = { x: x - 9, y: y(1), width: 18, height: y(0) - y(1) };
    group.append(node('rect', { ...staff, class: state.stale ? 'staff staff-missing' : 'staff' }));
    // Each reference level's value in metres as a tick on the staff (and in the tooltip).
    for (const stop of stops(station.levels_m)) {
      if (stop.assumed) continue;
      group.append(node('line', { x1: x - 13, x2: x + 13, y1: y(stop.at), y2: y(stop.at),
        stroke: BAND_COLOURS[stop.band], 'stroke-width': 2 }));
    }
    const name = localized(station.name);
    if (state.stale) {
      group.append(node('text', { x, y: y(0.5), class: 'gauge-missing', 'text-anchor': 'middle' }, t('stale')));
    } else {
      const fraction = stageFraction(station.levels_m, state.value);
      const colour = BAND_COLOURS[station.band] ?? '#9ca3af';
      group.append(node('rect', { x: x - 9, y: y(fraction), width: 18, height: y(0) - y(fraction),
        fill: colour, class: state.suspect ? 'water water-suspect' : 'water' }));
      if (state.suspect) {
        group.append(node('text', { x, y: y(0) - 6, class: 'gauge-suspect', 'text-anchor': 'middle' },
          t('suspect')));
      }
      group.append(node('circle', { cx: x, cy: y(fraction), r: 6, fill: colour, class: 'surface-dot' }));
      const label = `${state.value.toFixed(2)}${narrow ? '' : ' m'} ${trendArrow(state.rate)}`.trim();
      group.append(node('text', { x, y: Math.max(12, y(fraction) - 10), 'text-anchor': 'middle', class: 'gauge-value' }, label));
      if (state.forecast) {
        group.append(forecastMarks(state.forecast, x, (metres) => y(stageFraction(station.levels_m, metres))));
      }
    }
    group.append(narrow
      ? node('text', { x: x + 4, y: y(0) + 14, 'text-anchor': 'end', class: 'gauge-name',
        transform: `rotate(-35 ${x + 4} ${y(0) + 14})` }, name)
      : node('text', { x, y: y(0) + 18, 'text-anchor': 'middle', class: 'gauge-name' }, name));
    const levels = stops(station.levels_m).filter((s) => !s.assumed)
      .map((s) => `${bandName(s.band)} ${s.metres.toFixed(2)} m`).join('\n');
    const now = state.stale ? t('stale')
      : `${state.value.toFixed(2)} m ${formatRate(state.rate)}${state.suspect ? ` (${t('suspect')})` : ''}`;
    group.append(node('title', {}, `${name}: ${now}\n${levels}`));
    return group;
  }

  // The same facts as text under the drawing: readable on a phone, and for screen readers.
  details(river) {
    const list = document.createElement('ol');
    list.className = 'river-gauges';
    for (const station of river.gauges) {
      const state = this.gaugeState(station);
      const item = document.createElement('li');
      item.dataset.station = station.id;
      item.dataset.stale = String(state.stale);
      item.dataset.suspect = String(state.suspect);
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = state.stale ? 'transparent' : (BAND_COLOURS[station.band] ?? '#9ca3af');
      const name = document.createElement('strong');
      name.textContent = localized(station.name);
      const now = document.createElement('span');
      now.className = 'river-now';
      now.textContent = state.stale
        ? `${t('stale')} (${formatTime(station.latest?.ts) || t('noData')})`
        : `${state.value.toFixed(2)} m ${bandName(station.band)} ${trendArrow(state.rate)} ${formatRate(state.rate)}${state.suspect ? ` ${t('suspect')}` : ''}`;
      const next = document.createElement('span');
      next.className = 'river-next';
      next.dataset.minutes = state.minutes ?? '';
      next.textContent = state.next
        ? `${t('nextLevel', bandName(state.next.band))} ${formatMinutes(state.minutes)}`
        : (state.stale ? '' : t('aboveAll'));
      item.append(swatch, name, now, next);
      const forecast = forecastText(station, state);
      if (forecast) item.append(forecast);
      item.addEventListener('click', () => this.store.select(station.id));
      list.append(item);
    }
    return list;
  }
}
