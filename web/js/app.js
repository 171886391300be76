// app.js — the dashboard's shell: sign-in, the top bar (language, account), the navigation
// and a hash router (#/phone, #/contacts/ID) that renders one page module at a time.
// Pages live in pages/<name>.js and export default render(ctx) → optional cleanup function.
import * as api from './api.js';
import { t, LANGUAGES, lang, setLanguage, onLanguage } from './i18n.js';
import { h, clear, field, errorBox } from './ui.js';

const PAGES = [
  { id: 'overview', label: 'nav_overview', icon: '◔', load: () => import('./pages/overview.js') },
  { id: 'contacts', label: 'nav_contacts', icon: '☺', load: () => import('./pages/contacts.js') },
  { id: 'campaigns', label: 'nav_campaigns', icon: '➚', load: () => import('./pages/campaigns.js') },
  { id: 'journeys', label: 'nav_journeys', icon: '⇢', load: () => import('./pages/journeys.js') },
  { id: 'templates', label: 'nav_templates', icon: '▤', load: () => import('./pages/templates.js') },
  { id: 'inbox', label: 'nav_inbox', icon: '✉', load: () => import('./pages/inbox.js') },
  { id: 'settings', label: 'nav_settings', icon: '⚙', load: () => import('./pages/settings.js') },
  { id: 'phone', label: 'nav_phone', icon: '☏', load: () => import('./pages/phone.js') },
];

const root = document.getElementById('app');
let session = null;
let cleanup = null;
let renderSeq = 0;

function route() {
  const parts = (location.hash.replace(/^#\/?/, '') || 'overview').split('/').map(decodeURIComponent);
  const page = PAGES.find((p) => p.id === parts[0]) || PAGES[0];
  return { page, params: parts.slice(1) };
}

function languageSelect() {
  const sel = h('select', { id: 'lang-select', onchange: (e) => setLanguage(e.target.value) },
    LANGUAGES.map((l) => h('option', { value: l.code, lang: l.code, selected: l.code === lang() }, l.name)));
  sel.value = lang();
  return h('div', { class: 'lang' }, h('label', { for: 'lang-select' }, t('language')), sel);
}

async function signOut() {
  try { await api.post('/api/v1/auth/logout'); } catch { /* the cookie is cleared anyway */ }
  session = null;
  api.setCsrf(null);
  renderLogin();
}

function renderShell() {
  const { page } = route();
  const nav = h('nav', { class: 'sidenav', 'aria-label': t('main_nav') },
    h('ul', {}, PAGES.map((p) => h('li', {},
      h('a', { href: '#/' + p.id, 'aria-current': p.id === page.id ? 'page' : null, 'data-page': p.id },
        h('span', { class: 'nav-icon', 'aria-hidden': 'true' }, p.icon), t(p.label))))));
  const who = session.agent;
  const top = h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: '#/overview' }, h('img', { src: 'favicon.svg', alt: '', width: 24, height: 24 }), t('app_name')),
    h('div', { class: 'topbar-end' },
      languageSelect(),
      h('span', { class: 'who' }, h('bdi', {}, who.name || who.email), ' · ', t('role_' + who.role)),
      h('button', { type: 'button', class: 'secondary', onclick: signOut }, t('sign_out'))));
  const main = h('main', { id: 'main', tabindex: '-1' });
  clear(root, h('div', { class: 'shell' }, top, nav, main));
  root.removeAttribute('aria-busy');
  return main;
}

async function renderPage(focus) {
  if (!session) return;
  const seq = ++renderSeq;
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  const main = renderShell();
  const { page, params } = route();
  document.title = t(page.label) + ' · carewire';
  try {
    const mod = await page.load();
    if (seq !== renderSeq) return;
    const ctx = { root: main, params, session, navigate: (hash) => { location.hash = hash; } };
    const c = await mod.default(ctx);
    if (seq !== renderSeq) { if (typeof c === 'function') c(); return; }
    cleanup = typeof c === 'function' ? c : null;
  } catch (err) {
    if (seq === renderSeq) main.append(errorBox(err));
  }
  if (focus) {
    const title = document.getElementById('page-title');
    (title || main).focus();
  }
}

function renderLogin(message) {
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const status = h('p', { class: 'form-status', role: 'alert' }, message || '');
  const button = h('button', { type: 'submit' }, t('sign_in'));
  const form = h('form', { class: 'login-card', 'aria-labelledby': 'login-title', onsubmit: async (e) => {
    e.preventDefault();
    button.disabled = true;
    status.textContent = t('signing_in');
    try {
      const s = await api.post('/api/v1/auth/login', { email: email.value, password: password.value });
      session = s;
      api.setCsrf(s.csrf_token);
      renderPage(true);
    } catch (err) {
      status.textContent = err.status === 429 ? t('locked_login') : err.status === 401 ? t('wrong_login') : t('error', { message: err.message });
      button.disabled = false;
      password.select();
    }
  } },
  h('h1', { id: 'login-title' }, h('img', { src: 'favicon.svg', alt: '', width: 32, height: 32 }), t('sign_in_title')),
  field(t('email'), email),
  field(t('password'), password),
  button, status,
  h('p', { class: 'hint' }, t('sign_in_hint')));
  clear(root, h('div', { class: 'login' }, h('div', { class: 'login-lang' }, languageSelect()), h('main', { id: 'main' }, form)));
  root.removeAttribute('aria-busy');
  email.focus();
}

async function boot() {
  api.onUnauthorized(() => {
    if (session) { session = null; api.setCsrf(null); renderLogin(t('session_ended')); }
  });
  onLanguage(() => (session ? renderPage(false) : renderLogin()));
  window.addEventListener('hashchange', () => renderPage(true));
  try {
    session = await api.get('/api/v1/auth/me');
    api.setCsrf(session.csrf_token);
    renderPage(false);
  } catch (err) {
    if (err.status === 401) renderLogin();
    else clear(root, errorBox(err, boot));
  }
}

boot();
