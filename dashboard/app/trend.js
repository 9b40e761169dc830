// How fast a gauge is rising, from its own recent readings, and when it would reach its
// next reference level at that rate. Pure functions: the station list, the river view
// and their tests share them.

export const BANDS = ['normal', 'standby', 'caution', 'evacuation', 'danger', 'flooding'];
export const REFERENCE_BANDS = BANDS.slice(1);

// The rate is a least-squares line over the last hour of readings (device time): a
// two-point difference of 10-minute readings turns ±2 cm of sensor noise into ±0.24 m/h,
// which would flip the arrow between rising and falling on a flat river.
export const RATE_WINDOW_MS = 60 * 60 * 1000;
// Below this the river is steady: the noise left in an hour's fit (a few cm/h).
export const STEADY_M_PER_H = 0.05;
// A rise this fast gets the double arrow: below the engine's rate-of-rise alert
// (config/alert-rules.yaml: 0.5 m/h by default), so the list shows a fast rise before
// it becomes an alert. A display figure, not the rule.
export const FAST_M_PER_H = 0.3;
// A fit over less than this span (e.g. two readings a minute apart) says nothing.
const MIN_SPAN_MS = 15 * 60 * 1000;

// points: [{t: epoch ms, v: metres}], any order. Returns metres per hour, or null when
// the last hour holds too little to tell.
export function riseRate(points) {
  if (!points || points.length < 2) return null;
  const newest = Math.max(...points.map((p) => p.t));
  const recent = points.filter((p) => p.t >= newest - RATE_WINDOW_MS);
  if (recent.length < 2) return null;
  const oldest = Math.min(...recent.map((p) => p.t));
  if (newest - oldest < MIN_SPAN_MS) return null;
  const hours = recent.map((p) => (p.t - newest) / 3_600_000);
  const meanX = hours.reduce((a, b) => a + b, 0) / recent.length;
  const meanY = recent.reduce((a, p) => a + p.v, 0) / recent.length;
  let num = 0;
  let den = 0;
  recent.forEach((p, i) => {
    num += (hours[i] - meanX) * (p.v - meanY);
    den += (hours[i] - meanX) ** 2;
  });
  return den > 0 ? num / den : null;
}

// 'fast-rise' | 'rise' | 'steady' | 'fall' | null (unknown)
export function trendOf(rate) {
  if (typeof rate !== 'number') return null;
  if (rate >= FAST_M_PER_H) return 'fast-rise';
  if (rate >= STEADY_M_PER_H) return 'rise';
  if (rate <= -STEADY_M_PER_H) return 'fall';
  return 'steady';
}

export const TREND_ARROWS = { 'fast-rise': '⇑', rise: '↑', steady: '→', fall: '↓' };

export function trendArrow(rate) {
  return TREND_ARROWS[trendOf(rate)] ?? '';
}

// The first reference level above `value`: {band, value} or null (above them all).
export function nextLevel(levels, value) {
  if (!levels || typeof value !== 'number') return null;
  for (const band of REFERENCE_BANDS) {
    const threshold = levels[band];
    if (typeof threshold === 'number' && threshold > value) return { band, value: threshold };
  }
  return null;
}

// Minutes to the next reference level at `rate`; null when not rising (the page says
// "—": a projection from a flat or falling river would be a guess dressed as a number).
export function minutesToNext(levels, value, rate) {
  const next = nextLevel(levels, value);
  if (!next || typeof rate !== 'number' || rate < STEADY_M_PER_H) return null;
  return Math.max(0, Math.round(((next.value - value) / rate) * 60));
}

export function formatRate(rate) {
  if (typeof rate !== 'number') return '—';
  const sign = rate > 0.005 ? '+' : (rate < -0.005 ? '−' : '±');
  return `${sign}${Math.abs(rate).toFixed(2)} m/h`;
}

// As the alert engine's projection horizon (alert-rules.yaml, projection_horizon_s):
// a straight line held for more than six hours is not a forecast.
export const HORIZON_MIN = 6 * 60;

export function formatMinutes(minutes) {
  if (minutes === null || minutes === undefined) return '—';
  if (minutes > HORIZON_MIN) return `> ${HORIZON_MIN / 60} h`;
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
}

export function bandRank(band) {
  const rank = BANDS.indexOf(band);
  return rank < 0 ? 0 : rank;
}
