// i18n.js — the dashboard's languages: English, Hebrew (right to left) and Russian.
// t(key, params) looks a key up in the chosen language (English when missing); dates and
// numbers go through Intl in the same locale. setLanguage() switches <html lang dir> and
// remembers the choice; listeners re-render.
import en from './locales/en.js';
import he from './locales/he.js';
import ru from './locales/ru.js';

export const LANGUAGES = [
  { code: 'en', name: 'English', dir: 'ltr', dict: en },
  { code: 'he', name: 'עברית', dir: 'rtl', dict: he },
  { code: 'ru', name: 'Русский', dir: 'ltr', dict: ru },
];
const STORAGE_KEY = 'cw.lang';
const listeners = new Set();
let current = LANGUAGES[0];

function find(code) {
  return LANGUAGES.find((l) => l.code === code);
}

function initial() {
  let saved = null;
  try { saved = localStorage.getItem(STORAGE_KEY); } catch { /* storage off */ }
  if (find(saved)) return saved;
  for (const tag of navigator.languages || [navigator.language || 'en']) {
    const l = find(String(tag).slice(0, 2).toLowerCase());
    if (l) return l.code;
  }
  return 'en';
}

export function lang() { return current.code; }
export function dir() { return current.dir; }

export function setLanguage(code) {
  const l = find(code) || LANGUAGES[0];
  current = l;
  document.documentElement.lang = l.code;
  document.documentElement.dir = l.dir;
  try { localStorage.setItem(STORAGE_KEY, l.code); } catch { /* storage off */ }
  for (const fn of listeners) fn(l.code);
}

export function onLanguage(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// The same in a given language (e.g. a contact's), whatever the page's language is.
export function tIn(code, key, params) {
  const l = find(code) || current;
  let s = l.dict[key] ?? en[key] ?? key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

export function t(key, params) {
  let s = current.dict[key] ?? en[key] ?? key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

function toDate(v) {
  if (v === null || v === undefined || v === '') return null;
  const d = typeof v === 'number' ? new Date(v) : new Date(String(v));
  return Number.isNaN(d.getTime()) ? null : d;
}

export function fmtNumber(n, opts) {
  return typeof n === 'number' ? new Intl.NumberFormat(current.code, opts).format(n) : '—';
}
export function fmtPercent(x) {
  return fmtNumber(x, { style: 'percent', maximumFractionDigits: 1 });
}
export function fmtDateTime(v) {
  const d = toDate(v);
  return d ? new Intl.DateTimeFormat(current.code, { dateStyle: 'medium', timeStyle: 'short' }).format(d) : '—';
}
export function fmtDate(v) {
  const d = toDate(v);
  return d ? new Intl.DateTimeFormat(current.code, { dateStyle: 'medium' }).format(d) : '—';
}
export function fmtDay(v) {
  const d = toDate(v);
  return d ? new Intl.DateTimeFormat(current.code, { day: 'numeric', month: 'short' }).format(d) : '—';
}
export function fmtTime(v) {
  const d = toDate(v);
  return d ? new Intl.DateTimeFormat(current.code, { hour: '2-digit', minute: '2-digit' }).format(d) : '';
}
// "Today", "Yesterday" or the date: the separators of a chat.
export function fmtChatDay(v) {
  const d = toDate(v);
  if (!d) return '';
  const day = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const diff = Math.round((day(new Date()) - day(d)) / 86400000);
  if (diff === 0) return t('today');
  if (diff === 1) return t('yesterday');
  return new Intl.DateTimeFormat(current.code, { dateStyle: 'long' }).format(d);
}

setLanguage(initial());
