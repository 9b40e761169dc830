// A river gauge's level forecast (the forecast stage's message, from the live feed:
// docs/forecast.md) as the page shows it. Pure functions: the chart, the river view, the
// station list, the alert panel and their tests share them.
//
// A forecast is issued on one reading. Once a newer reading has come without a newer
// forecast, or the station is stale, it no longer says what the river will do now: the
// same rule as GET /api/v1/stations/{id}/forecast. Such a forecast is drawn grey on the
// chart, labelled with its issue time, and left out of the river view and the list.

import { bandName, formatClock, t } from './i18n.js';
import { BANDS, bandRank } from './trend.js';

// null: current; else why not ('station_stale' | 'newer_reading').
export function staleReason(forecast, station) {
  if (!station || station.stale) return 'station_stale';
  const latest = Date.parse(station.latest?.ts);
  if (Number.isFinite(latest) && Date.parse(forecast.issued_at) < latest) return 'newer_reading';
  return null;
}

export function isTrendOnly(forecast) {
  return forecast.method === 'trend';
}

// The point at `leadMin` minutes (10 ... 180), or null.
export function pointAt(forecast, leadMin) {
  return (forecast.points ?? []).find((point) => point.lead_min === leadMin) ?? null;
}

// The expected crossing of the next reference level above the band the station shows:
// {band, at (epoch ms), minutes (from `nowMs`, never negative)} or null when the median
// reaches none within the forecast's three hours.
export function nextCrossing(forecast, station, nowMs = Date.now()) {
  const rank = bandRank(station?.band);
  const crossing = [...(forecast.crossings ?? [])]
    .filter((c) => c.level > rank && BANDS[c.level])
    .sort((a, b) => a.level - b.level)[0];
  if (!crossing) return null;
  const at = Date.parse(crossing.at);
  if (!Number.isFinite(at)) return null;
  return { band: BANDS[crossing.level], level: crossing.level, at,
    minutes: Math.max(0, Math.round((at - nowMs) / 60_000)) };
}

// "氾濫危険水位 到達予測 14:20（85分後）" / "Flood danger level expected 14:20 (in 85 min)",
// with "（傾向のみ）" / "(trend only)" for a forecast from the gauge's own trend alone.
export function crossingText(crossing, forecast) {
  if (!crossing) return '';
  const text = t('forecastCrossing', bandName(crossing.band), formatClock(crossing.at / 1000),
    crossing.minutes);
  return isTrendOnly(forecast) ? `${text} ${t('trendOnlyNote')}` : text;
}

// What the band covers, from the level it was issued on to its last point: {low, high}
// in metres, {from, until} in epoch seconds (the chart's scale and band).
export function extent(forecast) {
  const points = forecast.points ?? [];
  if (!points.length) return null;
  return { low: Math.min(forecast.level_m, ...points.map((p) => p.low_m)),
    high: Math.max(forecast.level_m, ...points.map((p) => p.high_m)),
    from: Date.parse(forecast.issued_at) / 1000,
    until: Math.max(...points.map((p) => Date.parse(p.at) / 1000)) };
}
