// Who acknowledged an alert, and when. The engine's status says only *that* an alert is
// acknowledged; the officer and the time are in its ``acknowledged`` event: taken from
// the live feed as it happens, else read once from the alert's history
// (GET /api/v1/alerts/{station}/{n}, events newest first). While InfluxDB is down that
// read fails: the alert still shows as acknowledged, without the name, and the read is
// tried again a little later.
//
// The officer is the API key's digest prefix ("api-key:1a2b3c4d", what the API puts in
// every command); the page's own key is recognised by the same digest and shown as
// "you" (crypto.subtle exists only in secure contexts: elsewhere just the prefix).

import { api, keyStore } from './api.js';

const RETRY_MS = 30_000; // the history could not be read (InfluxDB down)
const NOT_STORED_RETRY_MS = 3_000; // read, but the event is not written yet

async function ownOfficerId() {
  const key = keyStore.get();
  if (!key || !globalThis.crypto?.subtle) return null;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `api-key:${hex.slice(0, 8)}`;
}

export class Acknowledgements {
  constructor(onChange) {
    this.onChange = onChange;
    this.known = new Map(); // alert id -> {officer, at}
    this.retryAt = new Map(); // alert id -> when its history may be read again
    this.reading = new Set();
    this.tries = new Map();
    this.own = null;
    this.ownFor = undefined; // the key `own` was computed for (it changes on sign-in)
  }

  isOwn(officer) {
    const key = keyStore.get();
    if (key !== this.ownFor) {
      this.ownFor = key;
      this.own = null;
      ownOfficerId().then((own) => {
        if (keyStore.get() !== key) return;
        this.own = own;
        if (own) this.onChange();
      }).catch(() => {});
    }
    return Boolean(this.own) && officer === this.own;
  }

  // An alert event from the live feed.
  onEvent(event) {
    if (event.transition !== 'acknowledged') return;
    this.known.set(event.alert_id, { officer: event.cause?.officer ?? null, at: event.at });
    this.onChange();
  }

  // What is known of an acknowledged alert; starts the history read when nothing is.
  of(alert) {
    const found = this.known.get(alert.alert_id);
    if (!found && keyStore.get()) this.read(alert);
    return found ?? null;
  }

  async read(alert) {
    const id = alert.alert_id;
    if (this.reading.has(id) || Date.now() < (this.retryAt.get(id) ?? 0)) return;
    const [station, number] = id.split('/');
    this.reading.add(id);
    try {
      const detail = await api.alert(station, number);
      const event = detail.events.find((e) => e.transition === 'acknowledged');
      if (event) {
        this.known.set(id, { officer: event.cause?.officer ?? null, at: event.at });
        this.onChange();
      } else {
        // Soon at first (the history writer is a moment behind the live feed), then
        // rarely: an alert whose event never comes must not poll every few seconds.
        const tries = (this.tries.get(id) ?? 0) + 1;
        this.tries.set(id, tries);
        const delay = tries < 5 ? NOT_STORED_RETRY_MS : RETRY_MS;
        this.retryAt.set(id, Date.now() + delay);
        setTimeout(() => this.onChange(), delay);
      }
    } catch {
      this.retryAt.set(id, Date.now() + RETRY_MS);
    } finally {
      this.reading.delete(id);
    }
  }
}
