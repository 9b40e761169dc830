// The header on a phone: title and connection state stay in one line, the tools (language,
// key) fold behind a menu button (style.css shows the button only on narrow screens).
// Choosing a tool folds them again, so the alert list is back in view.

const header = document.querySelector('header');
const button = document.getElementById('menu-button');
const tools = document.getElementById('header-tools');

function setExpanded(expanded) {
  header.classList.toggle('expanded', expanded);
  button.setAttribute('aria-expanded', String(expanded));
}

button.addEventListener('click', () => setExpanded(!header.classList.contains('expanded')));
tools.addEventListener('click', (event) => {
  if (event.target.closest('button')) setExpanded(false);
});
