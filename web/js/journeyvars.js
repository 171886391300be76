// journeyvars.js — what a journey needs when it is started: the run variables its definition
// reads ({{vars.x}} in texts, {"var": "vars.x"} in waits and conditions), as a form with one
// labelled field each. Shared by the Journeys page (start for one contact) and the Campaigns
// page (start for a segment). Also loc(): a text that may be an object by language.
import { tIn, lang } from './i18n.js';
const t = (key, params) => tIn(lang(), key, params);
import { h, field, nextId } from './ui.js';

// A text as journey definitions carry it: a string, or {"he": …, "ru": …, "en": …}.
export function loc(v) {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'object') return String(v);
  return v[lang()] ?? v.en ?? Object.values(v)[0] ?? '';
}

// The names of the run variables a definition reads, in the order they first appear; the
// ones a step sets itself (set_var, save) are left out.
export function journeyVars(def) {
  const found = [];
  const own = new Set();
  const add = (name) => { if (name && !found.includes(name)) found.push(name); };
  const walk = (v) => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(/\{\{\s*vars\.([A-Za-z0-9_]+)/g)) add(m[1]);
    } else if (Array.isArray(v)) {
      v.forEach(walk);
    } else if (v && typeof v === 'object') {
      if (typeof v.var === 'string' && v.var.startsWith('vars.')) add(v.var.slice(5).split('.')[0]);
      Object.values(v).forEach(walk);
    }
  };
  for (const s of (def && def.steps) || []) {
    if (s.type === 'set_var' && s.name) own.add(s.name);
    if (s.save) own.add(s.save);
  }
  if (def && typeof def.subject === 'string' && def.subject.startsWith('vars.')) add(def.subject.slice(5));
  walk(def && def.steps);
  return found.filter((n) => !own.has(n));
}

// Example values for the variables the journey library uses, for trying a journey out in
// the sandbox ("Fill in an example"). Nothing is filled in unless a person asks for it.
function example(name, code) {
  const tx = (key) => tIn(code || lang(), key);
  const week = new Date(Date.now() + 7 * 86400000);
  week.setHours(18, 0, 0, 0);
  const ex = {
    event_id: 'lecture-' + week.toISOString().slice(0, 10),
    event_name: tx('example_event_name'),
    starts_at: week,
    venue: tx('example_venue'),
    address: tx('example_address'),
    parking: tx('example_parking'),
    maps_url: 'https://www.openstreetmap.org/?mlat=32.0853&mlon=34.7818#map=17/32.0853/34.7818',
    latitude: '32.0853',
    longitude: '34.7818',
  };
  return ex[name];
}

const isTime = (name) => /(_at|_time|_date)$/.test(name);

// A local date-time input's value from a Date.
function localValue(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// The form's part: {el, values() → object of the filled-in fields, fillExample()}.
// Times are entered in the browser's zone and sent as ISO-8601 UTC. exampleLanguage() names
// the language the example's words are in (the contact's, when the run is for one).
export function varsFields(names, exampleLanguage) {
  const inputs = names.map((name) => {
    const input = isTime(name)
      ? h('input', { type: 'datetime-local', name: 'var-' + name, 'data-var': name })
      : h('input', { type: 'text', name: 'var-' + name, 'data-var': name, dir: 'auto' });
    return { name, input };
  });
  const fill = h('button', { type: 'button', class: 'secondary small', onclick: () => fillExample() }, t('fill_example'));
  const id = nextId('vars');
  const el = names.length
    ? h('fieldset', { class: 'vars', 'aria-describedby': id + '-hint' },
      h('legend', {}, t('journey_vars')),
      h('p', { class: 'hint', id: id + '-hint' }, t('journey_vars_hint')),
      h('div', { class: 'form-row' }, inputs.map((x) => field(h('code', {}, x.name), x.input))),
      fill)
    : h('p', { class: 'hint' }, t('journey_no_vars'));
  function fillExample() {
    for (const x of inputs) {
      if (x.input.value) continue;
      const v = example(x.name, exampleLanguage ? exampleLanguage() : null);
      if (v === undefined) continue;
      x.input.value = v instanceof Date ? localValue(v) : v;
    }
  }
  function values() {
    const out = {};
    for (const x of inputs) {
      const v = x.input.value.trim();
      if (!v) continue;
      if (x.input.type === 'datetime-local') {
        const d = new Date(v);
        out[x.name] = Number.isNaN(d.getTime()) ? v : d.toISOString().replace(/\.000Z$/, 'Z');
      } else {
        out[x.name] = v;
      }
    }
    return out;
  }
  return { el, values, fillExample };
}
