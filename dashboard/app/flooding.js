// Declaring 氾濫発生 (flooding: overtopping or a levee breach an officer has seen) at the
// chosen river station, or ending that declaration: POST /api/v1/stations/{id}/flooding.
// Both change what residents are told at once (警戒レベル5相当, or its end), so both are
// confirmed first (confirm.js). The button follows the engine's retained status
// (`flooding_declared`), never the click: the API's 202 means "sent", not "applied".

import { ApiError, api, keyStore } from './api.js';
import { confirmAction } from './confirm.js';
import { localized, t } from './i18n.js';

export class FloodingControl {
  constructor(element, store) {
    this.element = element;
    this.store = store;
    this.button = document.createElement('button');
    this.button.type = 'button';
    this.button.className = 'flooding-action';
    this.button.dataset.testid = 'flooding-action';
    this.message = document.createElement('span');
    this.message.className = 'flooding-message';
    this.message.setAttribute('role', 'status');
    this.element.replaceChildren(this.button, this.message);
    this.button.addEventListener('click', () => this.act());
    this.sentFor = null; // station whose command was sent and is not yet in its status
  }

  // Shown for a river station, to a page with a key (the API refuses viewers with 403).
  render() {
    const station = this.store.stations.get(this.store.selected);
    const usable = station?.kind === 'river' && Boolean(keyStore.get());
    this.element.hidden = !usable;
    if (!usable) return;
    const declared = Boolean(this.store.statuses.get(station.id)?.flooding_declared);
    this.element.dataset.station = station.id;
    this.element.dataset.declared = String(declared);
    this.button.textContent = declared ? t('endFlooding') : t('declareFlooding');
    this.button.classList.toggle('declare', !declared);
    if (this.sentFor && this.sentFor.station === station.id && this.sentFor.declared !== declared) {
      this.sentFor = null;
      this.say('');
    }
    this.button.disabled = this.sentFor?.station === station.id;
  }

  async act() {
    const station = this.store.stations.get(this.store.selected);
    if (!station) return;
    const declared = Boolean(this.store.statuses.get(station.id)?.flooding_declared);
    const name = localized(station.name);
    const confirmed = await confirmAction({
      heading: declared ? t('confirmEndTitle') : t('confirmDeclareTitle'),
      body: declared ? t('confirmEndText', name) : t('confirmDeclareText', name),
      confirmLabel: declared ? t('endFlooding') : t('declareFlooding'),
    });
    if (!confirmed) return;
    this.sentFor = { station: station.id, declared };
    this.render();
    try {
      await api.flooding(station.id, declared ? 'end' : 'declare');
      this.say(t('floodingSent'));
    } catch (error) {
      this.sentFor = null;
      this.render();
      const forbidden = error instanceof ApiError && error.status === 403;
      this.say(forbidden ? t('needsOfficer') : `${t('commandFailed')}: ${error.message}`, true);
    }
  }

  say(text, isError = false) {
    this.message.textContent = text;
    this.message.classList.toggle('error', isError);
  }
}
