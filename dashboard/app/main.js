// The dashboard's wiring: sign in, load the registry and the stations' latest state
// over REST, then follow the live feed. The REST state is refreshed on every
// (re)connection and periodically, because the API's stale flags and InfluxDB's
// latest values are what a restarted API or a missed message would leave out.

import { api, keyStore, liveUrl } from './api.js';
import { AlertPanel } from './alerts.js';
import { LevelChart } from './chart.js';
import { FloodingControl } from './flooding.js';
import './header.js';
import { currentLanguage, setLanguage, t } from './i18n.js';
import { signIn } from './key.js';
import { LiveConnection } from './live.js';
import { StationMap } from './map.js';
import { RiverView } from './river.js';
import { StationList } from './stations.js';
import { Store } from './store.js';

const REFRESH_MS = 30_000;
const STALE_CHECK_MS = 10_000;

const element = (id) => document.getElementById(id);
const store = new Store();
const view = {};
const status = { connection: { state: 'connecting' }, busOnly: false, failure: null };

function showStatus() {
  const { connection } = status;
  const indicator = element('connection');
  indicator.dataset.state = connection.state;
  if (connection.state === 'lost') {
    const seconds = Math.max(0, Math.ceil((connection.retryAt - Date.now()) / 1000));
    indicator.textContent = t('reconnecting', seconds);
  } else {
    indicator.textContent = t(connection.state === 'live' ? 'live' : 'connecting');
  }
  const offline = connection.state !== 'live';
  document.body.classList.toggle('offline', offline);
  const banner = element('banner');
  let text = status.failure;
  if (!text && offline && connection.state !== 'connecting') text = t('lostBanner');
  // The engine's no-data alert (most stations silent at once) is in each silent
  // station's status: one banner, not a row of offline stations.
  const silent = [...store.statuses.values()].filter((s) => s.no_data);
  if (!text && silent.length) {
    const last = silent[0].no_data.last_reading;
    text = t('noDataBanner', silent.length, last ? new Date(last).toLocaleTimeString() : '—');
  }
  if (!text && status.busOnly) text = t('busOnly');
  banner.textContent = text ?? '';
  banner.hidden = !text;
  banner.dataset.kind = offline || status.failure ? 'error' : 'warning';
  const keyButton = element('key-button');
  keyButton.textContent = keyStore.get() ? t('signOut') : t('signIn');
  const publicView = element('public-view');
  publicView.textContent = t('publicView');
  publicView.hidden = Boolean(keyStore.get());
}

async function refreshStations() {
  try {
    const answer = await api.stations();
    status.busOnly = answer.source === 'bus';
    store.applySummaries(answer.stations);
  } catch {
    // The live feed's state says whether the API is reachable; nothing to add here.
  }
  showStatus();
  view.alerts.refreshDeliveries();
}

function onLiveMessage(message) {
  switch (message.type) {
    case 'snapshot':
      // The snapshot replaces every status at once: one redraw of the panel, not one
      // per station (the engine keeps a status for every station).
      store.statuses.clear();
      store.forecasts.clear(); // a forecast withdrawn meanwhile is not in the snapshot
      for (const event of message.events) {
        if (event.type === 'status') store.statuses.set(event.station, event.data);
        else onLiveMessage(event);
      }
      view.alerts.render();
      view.map.updateAll();
      view.flooding.render();
      refreshStations();
      store.loadRecent(api.history); // readings missed while disconnected: for the trends
      showStatus();
      break;
    case 'reading':
      store.applyReading(message.data);
      view.chart.append(message.data);
      break;
    case 'status':
      store.applyStatus(message.station, message.data);
      showStatus();
      break;
    case 'alert':
      store.applyAlertEvent(message.data);
      view.alerts.onEvent(message.data);
      break;
    case 'forecast':
      store.applyForecast(message.data);
      break;

    default: // heartbeat; dropped is followed by the server closing the socket
  }
}

async function onLiveState(state) {
  status.connection = state;
  showStatus();
  if (state.state === 'refused') {
    // The key stopped working (revoked, or the API's keys changed): ask again.
    view.live.stop();
    await signIn(view.config, { force: true, errorText: t('authBanner') });
    view.live.start();
  }
}

function wireStore() {
  store.subscribe((what, stationId) => {
    if (what === 'stations') {
      view.list.updateAll();
      view.map.updateAll();
    } else if (what === 'reading') {
      view.list.update(stationId);
      view.map.update(stationId);
    } else if (what === 'forecast') {
      view.list.update(stationId);
      view.alerts.render(); // a forecast warning's expected time may come from it
      view.chart.onForecast(stationId);
    } else if (what === 'status') {
      view.alerts.render();
      view.map.update(stationId);
      view.flooding.render();
    } else if (what === 'selected') {
      view.list.updateAll();
      view.map.focus(stationId);
      view.chart.show(stationId);
      view.flooding.render();
    }
  });
}

function wireButtons() {
  element('language').addEventListener('click', () => {
    setLanguage(currentLanguage() === 'ja' ? 'en' : 'ja');
    element('language').textContent = t('language');
    view.list.updateAll();
    view.map.updateAll();
    view.alerts.render();
    view.chart.redraw();
    view.flooding.render();
    view.river.render();
    showStatus();
  });
  element('key-button').addEventListener('click', async () => {
    const hadKey = Boolean(keyStore.get());
    keyStore.clear();
    view.live.stop();
    if (hadKey && view.config.public_read) {
      view.live.start();
    } else {
      await signIn(view.config, { force: true });
      view.live.start();
    }
    view.alerts.render();
    view.flooding.render();
    showStatus();
  });
}

// A compressed demo says so on every view, so nobody takes it for a real storm.
function showDemoNotice(timeScale) {
  if (timeScale <= 1 || document.getElementById('demo-notice')) return;
  const notice = Object.assign(document.createElement('div'), {
    id: 'demo-notice', className: 'banner', textContent: t('demoNotice', timeScale),
  });
  notice.dataset.kind = 'warning';
  element('banner').before(notice);
}

async function start() {
  setLanguage(currentLanguage());
  element('language').textContent = t('language');
  let registry;
  for (let delay = 1; ; delay = Math.min(30, delay * 2)) {
    try {
      view.config = await api.config();
      store.staleFactor = view.config.stale_factor;
      store.timeScale = view.config.time_scale ?? 1;
      showDemoNotice(store.timeScale);
      registry = await signIn(view.config);
      break;
    } catch (exc) {
      status.failure = `${t('lostBanner')} (${exc.message})`;
      showStatus();
      await new Promise((resolve) => { setTimeout(resolve, delay * 1000); });
    }
  }
  status.failure = null;
  view.map = new StationMap(element('map'), store, view.config);
  view.list = new StationList(element('stations'), store);
  view.chart = new LevelChart(element('chart'), element('chart-title'), store);
  view.alerts = new AlertPanel(element('alerts'), element('ack-message'), store);
  view.flooding = new FloodingControl(element('station-actions'), store);
  view.river = new RiverView(element('river'), store);
  wireStore();
  store.loadRegistry(registry.stations);
  view.list.render();
  view.map.placeStations();
  view.alerts.render();
  await refreshStations();
  wireButtons();
  view.live = new LiveConnection({
    url: liveUrl, heartbeatS: view.config.heartbeat_s,
    onMessage: onLiveMessage, onState: onLiveState,
  });
  view.live.start();
  setInterval(refreshStations, REFRESH_MS);
  setInterval(() => store.recheckStale(), STALE_CHECK_MS);
  setInterval(() => { if (status.connection.state === 'lost') showStatus(); }, 1000);
  document.body.dataset.ready = 'true';
}

start();
