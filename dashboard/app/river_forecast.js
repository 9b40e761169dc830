// The forecast in the river view (river.js): beside each staff the band at +3 h as a bar
// and the median at +1 h and +3 h as ticks, on the staff's own scale; under the drawing
// the same as text with the expected crossing of the next level. Only a current forecast
// is drawn; an outdated one is named as such in the text and nothing else.

import { crossingText, isTrendOnly, nextCrossing, pointAt } from './forecast.js';
import { formatTime, t } from './i18n.js';

const SVG = 'http://www.w3.org/2000/svg';

function node(name, attributes = {}) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  return element;
}

// `at(metres)`: the y of a level on the gauge's staff; `x`: the staff's centre.
export function forecastMarks(forecast, x, at) {
  const group = node('g', { class: 'forecast', 'data-method': forecast.method ?? '' });
  const three = pointAt(forecast, 180);
  const one = pointAt(forecast, 60);
  if (three) {
    const [top, bottom] = [at(three.high_m), at(three.low_m)];
    group.append(node('rect', { x: x + 11, y: top, width: 6, height: Math.max(2, bottom - top),
      class: isTrendOnly(forecast) ? 'forecast-band forecast-trend' : 'forecast-band',
      'data-low': three.low_m, 'data-high': three.high_m }));
  }
  for (const [point, lead] of [[one, '1h'], [three, '3h']]) {
    if (!point) continue;
    group.append(node('line', { x1: x + 9, x2: x + 19, y1: at(point.level_m), y2: at(point.level_m),
      class: `forecast-median forecast-${lead}`, 'data-level': point.level_m }));
  }
  return group;
}

// state: river.js's gaugeState ({stale, forecast (current), outdated}).
export function forecastText(station, state) {
  const span = document.createElement('span');
  span.className = 'river-forecast';
  if (state.outdated && !state.stale) {
    span.dataset.state = 'stale';
    span.textContent = t('forecastOutdated', formatTime(state.outdated.issued_at));
    return span;
  }
  const { forecast } = state;
  if (!forecast || state.stale) return null;
  span.dataset.state = 'current';
  span.dataset.method = forecast.method ?? '';
  const [one, three] = [pointAt(forecast, 60), pointAt(forecast, 180)];
  const ahead = one && three ? t('forecastAhead', one.level_m.toFixed(2),
    three.level_m.toFixed(2), three.low_m.toFixed(2), three.high_m.toFixed(2)) : '';
  const crossing = nextCrossing(forecast, station);
  span.dataset.at = crossing ? new Date(crossing.at).toISOString() : '';
  const expected = crossing ? crossingText(crossing, forecast)
    : `${t('noCrossing')}${isTrendOnly(forecast) ? ` ${t('trendOnlyNote')}` : ''}`;
  span.textContent = [ahead, expected].filter(Boolean).join(' ／ ');
  return span;
}
