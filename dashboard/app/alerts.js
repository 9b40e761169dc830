// The live alert panel: every open alert from the engine's retained status (snapshot,
// then status messages), highest level first, with acknowledgement for officers. An
// alert one reading raised is marked unconfirmed: residents have not been told yet.
// An acknowledgement is only shown as done when the engine's new status says so: the
// API's 202 means "command sent", not "applied".
// With a key, each alert shows its delivery state per channel (GET /api/v1/deliveries):
// the newest event's, except that any post of the alert whose outcome was lost
// ('unknown') marks the channel, and the alert, for an officer to check by hand.
// Acknowledging an alert at 警戒レベル4-5相当 asks for confirmation first (confirm.js);
// an acknowledged alert names who acknowledged it and when (acknowledgements.js).
// A forecast warning (alert type 'forecast': a level expected, not reached) carries a
// 予測 badge, a dashed border on a hatched ground and the expected time, so it is never
// taken for an observed level.

import { Acknowledgements } from './acknowledgements.js';
import { ApiError, api, keyStore } from './api.js';
import { confirmAction } from './confirm.js';
import { bandName, formatClock, formatTime, localized, t } from './i18n.js';
import { ALERT_LEVEL_COLOURS, BAND_COLOURS } from './map.js';

const CONFIRM_FROM_ALERT_LEVEL = 4; // 氾濫危険水位 (警戒レベル4相当) and 氾濫発生 (5)

// Whether residents are told to evacuate at this alert's level: then an acknowledgement
// is confirmed first. River bands count even without an alert_level in the rules.
export function needsConfirmation(alert) {
  return (alert.alert_level ?? 0) >= CONFIRM_FROM_ALERT_LEVEL
    || alert.level_name === 'danger' || alert.level_name === 'flooding';
}

// A rapid rise is not a level: amber, outside the 警戒レベル scale, never the grey of a
// minor notice.
const RAPID_RISE_COLOUR = '#f59e0b';

function colourOf(alert) {
  if (alert.alert_type === 'rate_of_rise') return RAPID_RISE_COLOUR;
  return BAND_COLOURS[alert.level_name] ?? ALERT_LEVEL_COLOURS[alert.alert_level]
    ?? ALERT_LEVEL_COLOURS[Math.min(5, alert.level)] ?? '#9ca3af';
}

function span(text, className) {
  const element = document.createElement('span');
  element.className = className;
  element.textContent = text;
  return element;
}

export class AlertPanel {
  constructor(list, message, store) {
    this.list = list;
    this.message = message;
    this.store = store;
    this.pending = new Set(); // alert ids acknowledged here, not yet confirmed by the engine
    this.deliveries = new Map(); // alert id -> Map(channel -> state)
    this.acks = new Acknowledgements(() => this.render());
  }

  async refreshDeliveries() {
    const alerts = this.store.openAlerts();
    if (!keyStore.get() || !alerts.length) {
      this.deliveries = new Map();
      return;
    }
    const week = Date.now() - 7 * 86400 * 1000;
    const raised = Math.min(...alerts.map((a) => Date.parse(a.raised_at) || week));
    try {
      const since = new Date(Math.max(week, raised - 60 * 1000));
      const [every, unknown] = await Promise.all([api.deliveries(since),
        api.deliveries(since, ['unknown'])]);
      this.deliveries = byAlert([...every.deliveries, ...unknown.deliveries]);
    } catch {
      return; // the connection state already says what is wrong; keep the last known
    }
    this.render();
  }

  render() {
    const alerts = this.store.openAlerts();
    this.list.replaceChildren();
    if (!alerts.length) {
      this.list.append(Object.assign(document.createElement('li'),
        { className: 'empty', textContent: t('noAlerts') }));
      return;
    }
    for (const alert of alerts) {
      if (alert.acknowledged) this.pending.delete(alert.alert_id);
      this.list.append(this.item(alert));
    }
  }

  item(alert) {
    const station = this.store.stations.get(alert.station);
    const li = document.createElement('li');
    li.className = 'alert';
    li.dataset.alertId = alert.alert_id;
    li.dataset.acknowledged = String(Boolean(alert.acknowledged));
    // Absent (an engine from before confirmation): everything was public at once.
    li.dataset.confirmed = String(alert.confirmed !== false);
    li.dataset.alertLevel = String(alert.alert_level ?? '');
    li.dataset.alertType = alert.alert_type ?? '';
    li.style.borderLeftColor = colourOf(alert);
    const forecast = alert.alert_type === 'forecast';
    li.addEventListener('click', () => this.store.select(alert.station));

    const head = document.createElement('div');
    head.className = 'alert-head';
    head.append(span(station ? localized(station.name) : alert.station, 'alert-station'));
    if (forecast) {
      const badge = span(t('forecast'), 'forecast-badge');
      badge.title = t('forecastBadgeTitle');
      head.append(badge);
    }
    head.append(span(`${alert.alert_type === 'rate_of_rise' ? '⇑ ' : ''}${localized(alert.label) || bandName(alert.level_name)}`,
      'alert-label'));
    if (forecast) head.append(this.expectedMark(alert));
    if (alert.official) head.append(span(localized(alert.official), 'alert-official'));
    if (alert.confirmed === false) {
      const mark = span(t('unconfirmed'), 'alert-unconfirmed');
      mark.title = t('unconfirmedTitle');
      head.append(mark);
    }

    const foot = document.createElement('div');
    foot.className = 'alert-foot';
    // When it reached the level it shows (level_since), not when the alert was first
    // raised: "氾濫発生 02:10" must not mean a flood that came at 08:00.
    const reached = alert.level_since ?? alert.raised_at;
    const time = span(formatTime(reached), 'alert-time');
    time.dataset.at = reached ?? '';
    if (alert.level_since && alert.level_since !== alert.raised_at) {
      time.title = t('raisedAt', formatTime(alert.raised_at));
    }
    foot.append(time);
    if (alert.acknowledged) {
      foot.append(this.acknowledgedMark(alert));
    } else if (keyStore.get()) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'ack';
      button.textContent = t('acknowledge');
      button.disabled = this.pending.has(alert.alert_id);
      button.addEventListener('click', (event) => {
        event.stopPropagation();
        this.acknowledge(alert, station, button);
      });
      foot.append(button);
    }
    li.append(head, this.deliveryLine(alert, li), foot);
    return li;
  }

  // When the forecast warning expects its level: its newest event's detail (live feed),
  // else the station's current forecast's crossing of that level.
  expectedMark(alert) {
    const detail = this.store.alertDetails.get(alert.alert_id);
    let at = Date.parse(detail?.expected_at);
    if (!Number.isFinite(at)) {
      const forecast = this.store.currentForecast(alert.station);
      const crossing = forecast?.crossings?.find((c) => c.level === alert.level);
      at = Date.parse(crossing?.at);
    }
    const mark = span('', 'alert-expected');
    if (!Number.isFinite(at)) return mark;
    mark.dataset.at = new Date(at).toISOString();
    mark.textContent = t('forecastExpected', formatClock(at / 1000),
      Math.max(0, Math.round((at - Date.now()) / 60_000)));
    return mark;
  }

  deliveryLine(alert, li) {
    const line = document.createElement('div');
    line.className = 'alert-delivery';
    const channels = this.deliveries.get(alert.alert_id) ?? new Map();
    for (const [channel, state] of [...channels].sort()) {
      const mark = span(`${channel}: ${t('deliveryStates')[state] ?? state}`, 'delivery');
      mark.dataset.channel = channel;
      mark.dataset.state = state;
      line.append(mark);
    }
    if ([...channels.values()].includes('unknown')) {
      li.dataset.deliveryUnknown = 'true';
      const flag = span(`⚠ ${t('deliveryUnknown')}`, 'delivery-unknown');
      flag.title = t('deliveryUnknownTitle');
      line.append(flag);
    }
    return line;
  }

  acknowledgedMark(alert) {
    const mark = span(`✓ ${t('acknowledged')}`, 'alert-acked');
    const who = this.acks.of(alert);
    if (who) {
      const officer = this.acks.isOwn(who.officer) ? t('you') : (who.officer ?? '—');
      mark.append(span(t('ackBy', officer, formatTime(who.at)), 'alert-acked-by'));
      mark.dataset.officer = who.officer ?? '';
      mark.dataset.at = who.at ?? '';
    }
    return mark;
  }

  async acknowledge(alert, station, button) {
    const alertId = alert.alert_id;
    if (needsConfirmation(alert)) {
      const confirmed = await confirmAction({
        heading: t('confirmAckTitle'),
        body: t('confirmAckText', station ? localized(station.name) : alert.station,
          localized(alert.label) || alert.level_name, localized(alert.official)),
        confirmLabel: t('acknowledge'),
      });
      if (!confirmed) return;
    }
    button.disabled = true;
    this.pending.add(alertId);
    try {
      await api.acknowledge(alertId, alert.level);
      this.say(t('ackSent'));
    } catch (error) {
      this.pending.delete(alertId);
      button.disabled = false;
      const forbidden = error instanceof ApiError && error.status === 403;
      const moved = error instanceof ApiError && error.status === 409;
      this.say(forbidden ? t('ackNeedsOfficer')
        : (moved ? t('ackLevelChanged') : `${t('ackFailed')}: ${error.message}`), true);
    }
  }

  // The engine's answer to an acknowledgement, from the live feed.
  onEvent(event) {
    if (event.transition === 'acknowledged') this.say('');
    this.acks.onEvent(event);
  }

  say(text, isError = false) {
    this.message.textContent = text;
    this.message.hidden = !text;
    this.message.classList.toggle('error', isError);
  }
}

function seqOf(eventId) {
  return Number(eventId.split('/').pop()) || 0;
}

// Deliveries (one per event and channel) -> alert id -> Map(channel -> state): the
// newest event's state, or 'unknown' if any of the alert's posts there was lost.
function byAlert(deliveries) {
  const newest = new Map();
  for (const delivery of deliveries) {
    if (!delivery.alert_id) continue;
    const key = `${delivery.alert_id}\n${delivery.channel}`;
    const known = newest.get(key);
    const lost = delivery.state === 'unknown' || known?.lost;
    if (!known || seqOf(delivery.event_id) > seqOf(known.event_id)) {
      newest.set(key, { ...delivery, lost });
    } else {
      known.lost = lost;
    }
  }
  const alerts = new Map();
  for (const delivery of newest.values()) {
    if (!alerts.has(delivery.alert_id)) alerts.set(delivery.alert_id, new Map());
    alerts.get(delivery.alert_id).set(delivery.channel, delivery.lost ? 'unknown' : delivery.state);
  }
  return alerts;
}
