// ui.js — small DOM helpers shared by the pages. Everything is built with createElement and
// textContent: no HTML from data ever reaches innerHTML.
import { t, lang, dir, fmtNumber } from './i18n.js';

// h('button', {class: 'x', onclick: fn}, 'text', child...) → element.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function loading() {
  return h('p', { class: 'muted', role: 'status' }, t('loading'));
}

let uid = 0;
export const nextId = (p) => `${p || 'id'}-${++uid}`;

// A labelled form field: label + control (+ hint).
export function field(label, control, hint) {
  if (!control.id) control.id = nextId('f');
  const hintEl = hint ? h('p', { class: 'hint', id: control.id + '-hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

// A panel that says honestly which endpoints are missing.
export function notAvailable(endpoints) {
  return h('section', { class: 'notice notice-unavailable', role: 'note', 'data-state': 'not-available' },
    h('h2', {}, t('not_available_title')),
    h('p', {}, t('not_available_text')),
    h('ul', { class: 'endpoints' }, endpoints.map((e) => h('li', {}, h('code', { dir: 'ltr' }, e)))),
    h('p', { class: 'muted' }, t('not_available_after')));
}

export function errorBox(err, retry) {
  return h('div', { class: 'notice notice-error', role: 'alert' },
    h('p', {}, t('error', { message: err && err.message ? err.message : String(err) })),
    retry ? h('button', { type: 'button', onclick: retry }, t('retry')) : null);
}

// Renders a failed call: "not available yet" when the endpoint is missing, else the error.
export function failure(err, endpoints, retry) {
  return err && err.missing ? notAvailable(endpoints) : errorBox(err, retry);
}

// A table from rows and columns [{label, cell: (row) => node|string}].
export function table(columns, rows, opts = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'table' },
      opts.caption ? h('caption', {}, opts.caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', opts.rowAttrs ? opts.rowAttrs(r) : {},
        columns.map((c) => h('td', {}, c.cell(r))))))));
}

// A link back to a list, its arrow pointing the way the page reads.
export function backLink(href, text) {
  return h('p', {}, h('a', { href, class: 'back' }, dir() === 'rtl' ? '→ ' : '← ', text));
}

export function badge(text, kind) {
  return h('span', { class: 'badge' + (kind ? ' badge-' + kind : '') }, text);
}

export function pageHeader(title, ...extra) {
  return h('header', { class: 'page-header' }, h('h1', { id: 'page-title', tabindex: '-1' }, title), ...extra);
}

// Chart.js with the dashboard's language and direction. Returns the chart (destroy() it).
export function chart(canvas, config) {
  const Chart = window.Chart;
  if (!Chart) return null;
  const rtl = dir() === 'rtl';
  const css = getComputedStyle(document.documentElement);
  Chart.defaults.font.family = css.getPropertyValue('--font').trim() || 'system-ui, sans-serif';
  Chart.defaults.color = css.getPropertyValue('--muted').trim() || '#555';
  const options = config.options || (config.options = {});
  options.locale = lang();
  options.responsive = true;
  options.maintainAspectRatio = false;
  options.animation = false;
  options.layout = Object.assign({ padding: { left: 12, right: 20 } }, options.layout);
  options.plugins = options.plugins || {};
  options.plugins.legend = Object.assign({ rtl, textDirection: dir(), position: 'bottom' }, options.plugins.legend);
  options.plugins.tooltip = Object.assign({ rtl, textDirection: dir() }, options.plugins.tooltip);
  // Right to left: time and bars run from the right, and the value axis stands on the right.
  if (options.scales) {
    options.scales.x = Object.assign({}, options.scales.x, { reverse: rtl });
    // flat labels, thinned out, rather than slanted ones cut off at the edge
    options.scales.x.ticks = Object.assign({ maxRotation: 0, autoSkipPadding: 12 }, options.scales.x.ticks);
    options.scales.y = Object.assign({ position: rtl ? 'right' : 'left' }, options.scales.y);
  }
  return new Chart(canvas, config);
}

export const COLORS = {
  sent: '#8aa4b8', delivered: '#3f7cac', read: '#0b6e4f', failed: '#c0392b', replied: '#e0a100',
  accent: '#0b6e4f', muted: '#9aa5ad',
};

export function kpi(label, value, hint) {
  return h('div', { class: 'kpi' },
    h('div', { class: 'kpi-label' }, label),
    h('div', { class: 'kpi-value' }, value),
    hint ? h('div', { class: 'kpi-hint' }, hint) : null);
}

// The words of a stored message (its Cloud API payload), for timelines and threads.
export function messageText(m) {
  const p = m.payload || {};
  const c = p[p.type || m.type] || {};
  if (typeof c.body === 'string') return c.body;
  if (c.body && c.body.text) return c.body.text;
  if (c.button_reply || c.list_reply) return (c.button_reply || c.list_reply).title;
  if (c.text && typeof c.text === 'string') return c.text;
  if (p.type === 'template' || m.type === 'template') return `[${c.name || 'template'}]`;
  if (m.text) return m.text;
  return m.type ? `[${m.type}]` : '';
}

export { fmtNumber };
