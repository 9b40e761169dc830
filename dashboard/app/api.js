// The REST API as the page uses it, and where the API key lives.
//
// The key is kept in sessionStorage: it survives a reload but not closing the tab, is
// never written into the page's URL, and is sent only to this origin (as a Bearer
// header; the WebSocket, which cannot carry headers, gets it as ?access_token=).

const KEY_STORAGE = 'floodwatch.apiKey';
const BASE = new URL('.', document.baseURI);

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export const keyStore = {
  get() {
    return sessionStorage.getItem(KEY_STORAGE);
  },
  set(key) {
    sessionStorage.setItem(KEY_STORAGE, key);
  },
  clear() {
    sessionStorage.removeItem(KEY_STORAGE);
  },
};

function headers(extra = {}) {
  const key = keyStore.get();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

async function request(path, options = {}) {
  const response = await fetch(new URL(path, BASE), {
    ...options,
    headers: headers(options.headers),
    cache: 'no-store',
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export const api = {
  config: () => request('dashboard/config.json'),
  registry: () => request('dashboard/stations.json'),
  stations: () => request('api/v1/stations'),
  openAlerts: () => request('api/v1/alerts/open'),
  history(stationId, hours = 24) {
    const end = new Date();
    const start = new Date(end.getTime() - hours * 3600 * 1000);
    const query = new URLSearchParams({ start: start.toISOString(), end: end.toISOString() });
    return request(`api/v1/stations/${encodeURIComponent(stationId)}/readings?${query}`);
  },
  // A station's newest alert events first (the chart looks for a projection there).
  alertHistory(stationId, limit = 20) {
    const query = new URLSearchParams({ station: stationId, limit: String(limit) });
    return request(`api/v1/alerts/history?${query}`);
  },
  // Staff only (a key even with public read): every state by default, so each alert's
  // channels show; `states` narrows it (the unknown ones, fetched on their own so a long
  // storm's list, cut at 1000, can never hide a post an officer must check).
  deliveries(since, states = ['pending', 'sent', 'failed', 'expired', 'unknown', 'superseded']) {
    const query = new URLSearchParams({ since: since.toISOString(), limit: '1000' });
    for (const state of states) {
      query.append('state', state);
    }
    return request(`api/v1/deliveries?${query}`);
  },
  alert: (station, number) => request(
    `api/v1/alerts/${encodeURIComponent(station)}/${encodeURIComponent(number)}`),
  // Officers only: declare (action 'declare') or end ('end') 氾濫発生 at a river station.
  flooding(stationId, action) {
    return request(`api/v1/stations/${encodeURIComponent(stationId)}/flooding`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ action }),
    });
  },
  // level: the level the officer saw; the API and the engine refuse it if it has moved.
  acknowledge(alertId, level) {
    return request('api/v1/alerts/acknowledge', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ alert_id: alertId, level }),
    });
  },
};

export function liveUrl() {
  const url = new URL('api/v1/live/ws', BASE);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const key = keyStore.get();
  if (key) url.searchParams.set('access_token', key);
  return url.toString();
}
