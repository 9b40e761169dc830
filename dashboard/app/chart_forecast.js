// The forecast on the chart (chart.js): its median as a dashed uPlot series, its band as
// an SVG path over the plot, and the expected crossing of the next reference level under
// it. `shown` is {forecast, reason, extent}: reason null while the forecast is current;
// an outdated one is grey and says when it was issued, never a crossing time.

import { crossingText, isTrendOnly, nextCrossing } from './forecast.js';
import { formatTime, t } from './i18n.js';

const SVG = 'http://www.w3.org/2000/svg';
export const FORECAST_COLOUR = { current: '#0f766e', stale: '#9ca3af' };

const stateOf = (shown) => (shown.reason === null ? 'current' : 'stale');

export function forecastSeries(shown) {
  const trend = isTrendOnly(shown.forecast) ? ` ${t('trendOnlyNote')}` : '';
  return {
    label: shown.reason === null ? `${t('forecastMedian')}${trend}`
      : t('forecastOutdated', formatTime(shown.forecast.issued_at)),
    stroke: FORECAST_COLOUR[stateOf(shown)], dash: [8, 4], width: 2,
    spanGaps: true, points: { show: false },
  };
}

// The band (low to high at each lead, from the level it was issued on) as an SVG path
// over the plot: uPlot's canvas bands leave nothing to point at, and tests (and an
// officer's inspector) can read this one's extent. The plot's scales go on `element`
// (data-scale) so the extent can be checked against them. A uPlot draw hook.
export function drawBand(plot, shown, element) {
  plot.over.querySelector('svg.forecast-overlay')?.remove();
  element.dataset.scale = JSON.stringify({ x: [plot.scales.x.min, plot.scales.x.max],
    y: [plot.scales.y.min, plot.scales.y.max] });
  if (!shown) return;
  const { forecast, extent } = shown;
  const edge = [{ time: extent.from, low: forecast.level_m, high: forecast.level_m },
    ...forecast.points.map((p) => ({ time: Date.parse(p.at) / 1000, low: p.low_m, high: p.high_m }))]
    .sort((a, b) => a.time - b.time);
  const at = (time, value) => `${plot.valToPos(time, 'x').toFixed(1)},${plot.valToPos(value, 'y').toFixed(1)}`;
  const outline = [...edge.map((p) => at(p.time, p.high)),
    ...[...edge].reverse().map((p) => at(p.time, p.low))];
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'forecast-overlay');
  const band = document.createElementNS(SVG, 'path');
  const state = stateOf(shown);
  band.setAttribute('d', `M${outline.join(' L')} Z`);
  band.setAttribute('class', 'forecast-band');
  band.setAttribute('fill', FORECAST_COLOUR[state]);
  Object.assign(band.dataset, { state, low: String(extent.low), high: String(extent.high),
    from: String(extent.from), until: String(extent.until) });
  svg.append(band);
  plot.over.append(svg);
}

// Under the plot: the expected crossing of the next level, or that none is expected in
// the forecast's three hours, or that the forecast is outdated.
export function forecastLabel(shown, station) {
  const label = document.createElement('p');
  label.className = 'forecast-label';
  label.dataset.state = stateOf(shown);
  label.dataset.method = shown.forecast.method ?? '';
  if (shown.reason !== null) {
    label.textContent = t('forecastOutdated', formatTime(shown.forecast.issued_at));
    return label;
  }
  const crossing = nextCrossing(shown.forecast, station);
  label.dataset.at = crossing ? new Date(crossing.at).toISOString() : '';
  label.textContent = crossing ? crossingText(crossing, shown.forecast)
    : `${t('noCrossing')}${isTrendOnly(shown.forecast) ? ` ${t('trendOnlyNote')}` : ''}`;
  return label;
}
