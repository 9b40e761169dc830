// Asking for the API key: a modal dialog with a password field. The key is checked by
// reading the registry with it; a refused key is forgotten at once and asked again.

import { ApiError, api, keyStore } from './api.js';
import { t } from './i18n.js';

const dialog = document.getElementById('key-dialog');
const form = document.getElementById('key-form');
const input = document.getElementById('key-input');
const error = document.getElementById('key-error');
const publicButton = document.getElementById('key-public');

function ask(errorText, allowPublic) {
  error.textContent = errorText ?? '';
  error.hidden = !errorText;
  publicButton.hidden = !allowPublic;
  input.value = '';
  return new Promise((resolve) => {
    const done = (key) => {
      form.removeEventListener('submit', onSubmit);
      publicButton.removeEventListener('click', onPublic);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      resolve(key);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      done(input.value.trim());
    };
    const onPublic = () => done(null);
    // Escape would leave the page with neither a key nor a choice: only allowed when
    // reading without a key is possible.
    const onCancel = (event) => {
      if (allowPublic) done(null);
      else event.preventDefault();
    };
    form.addEventListener('submit', onSubmit);
    publicButton.addEventListener('click', onPublic);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    input.focus();
  });
}

function refused(exc) {
  return exc instanceof ApiError && (exc.status === 401 || exc.status === 403);
}

// Resolves with the registry once the page may read: with a working key, or without
// one when the API allows public reading. ``force`` asks even if a key is stored.
export async function signIn(config, { force = false, errorText = null } = {}) {
  let message = errorText;
  let mustAsk = force || (!keyStore.get() && !config.public_read);
  for (;;) {
    if (mustAsk) {
      const key = await ask(message, config.public_read);
      if (key) keyStore.set(key);
      else keyStore.clear();
    }
    try {
      return await api.registry();
    } catch (exc) {
      if (!refused(exc)) throw exc;
      keyStore.clear();
      message = t('keyRejected');
      mustAsk = true;
    }
  }
}
