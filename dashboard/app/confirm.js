// A second look before a command that residents will feel: acknowledging an alert at
// 警戒レベル4-5相当 and declaring or ending 氾濫発生. A modal dialog names the station and
// what will be sent; Cancel has the focus, so a stray Enter or a double tap never
// confirms, and Escape cancels. Resolves true only for the confirm button.

import { t } from './i18n.js';

const dialog = document.getElementById('confirm-dialog');
const title = document.getElementById('confirm-title');
const text = document.getElementById('confirm-text');
const okButton = document.getElementById('confirm-ok');
const cancelButton = document.getElementById('confirm-cancel');

export function confirmAction({ heading, body, confirmLabel, severity = 'danger' }) {
  title.textContent = heading;
  text.textContent = body;
  okButton.textContent = confirmLabel;
  cancelButton.textContent = t('cancel');
  dialog.dataset.severity = severity;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    cancelButton.focus();
  });
}
