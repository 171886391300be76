// contacts.js — find contacts with a segment query and a live count
// (POST /api/v1/segments/preview), and one contact's profile: consents with their history,
// a timeline of messages and policy decisions, and journeys.
import * as api from '../api.js';
import { t, fmtNumber, fmtDateTime, fmtDate } from '../i18n.js';
import { h, clear, pageHeader, loading, failure, field, table, badge, errorBox, messageText, backLink } from '../ui.js';

const PURPOSES = ['service', 'reminders', 'results', 'surveys', 'marketing'];
const EXAMPLES = [
  'language = he',
  'consent.marketing = granted',
  'audience = "recovered patient" AND fields.radiation = completed AND consent.marketing = granted',
  'tag = cardiology OR tag = diabetes',
];
const PREVIEW = '/api/v1/segments/preview';

function consentBadge(status) {
  const kind = status === 'granted' ? 'ok' : status === 'refused' || status === 'withdrawn' ? 'bad' : null;
  return badge(status ? t('consent_' + status) : t('consent_none'), kind);
}

function contactLink(c) {
  return h('a', { href: '#/contacts/' + encodeURIComponent(c.id), onclick: () => sessionStorage.setItem('cw.contact.' + c.id, c.name || c.phone || c.id) }, h('bdi', {}, c.name || c.phone || c.id));
}

async function renderSearch(ctx) {
  const { root } = ctx;
  const saved = sessionStorage.getItem('cw.segment') || '';
  const query = h('textarea', { rows: 2, spellcheck: 'false', dir: 'ltr', placeholder: t('segment_placeholder'), value: saved });
  const purpose = h('select', {}, h('option', { value: '' }, t('purpose_any')), PURPOSES.map((p) => h('option', { value: p }, t('purpose_' + p))));
  const out = h('div', { 'aria-live': 'polite' });
  let seq = 0;
  let debounce = null;

  async function preview() {
    const mine = ++seq;
    const body = { query: query.value.trim() };
    sessionStorage.setItem('cw.segment', query.value);
    if (!body.query) { clear(out); return; }
    if (purpose.value) body.purpose = purpose.value;
    sessionStorage.setItem('cw.segment', query.value);
    try {
      const r = await api.post(PREVIEW, body);
      if (mine !== seq) return;
      const excluded = Object.entries(r.excluded || {}).filter(([, n]) => n > 0);
      const sample = r.sample || [];
      clear(out,
        h('p', { class: 'count', 'data-count': r.count }, t('match_count', { n: fmtNumber(r.count) })),
        excluded.length ? h('section', { class: 'panel' }, h('h2', {}, t('excluded_by_reason')),
          table([{ label: t('decision'), cell: (e) => h('code', {}, e[0]) }, { label: '#', cell: (e) => fmtNumber(e[1]) }], excluded)) : null,
        sample.length ? h('section', { class: 'panel' }, h('h2', {}, t('sample')),
          table([
            { label: t('name'), cell: (c) => (c.id ? contactLink(c) : h('bdi', {}, c.name || '')) },
            { label: t('phone'), cell: (c) => h('span', { dir: 'ltr' }, c.phone || '') },
            { label: t('language'), cell: (c) => c.language || '' },
            { label: t('audience'), cell: (c) => c.audience || '' },
          ], sample)) : null);
    } catch (err) {
      if (mine !== seq) return;
      if (err.code === 'invalid_query' || (err.code === 'invalid_field' && err.field === 'query')) clear(out, h('p', { class: 'query-error', role: 'alert' }, t('query_error', { message: err.message })));
      else clear(out, failure(err, [`POST ${PREVIEW} {"query","purpose"} → {"count","sample":[{"id","name","phone","language","audience"}],"excluded":{"<reason>":N}}`]));
    }
  }
  const later = () => { clearTimeout(debounce); debounce = setTimeout(preview, 300); };
  query.addEventListener('input', later);
  purpose.addEventListener('change', preview);

  clear(root, pageHeader(t('contacts_title')),
    h('section', { class: 'panel' },
      field(t('segment_query'), query, t('segment_help')),
      h('div', { class: 'form-row' }, field(t('purpose'), purpose)),
      h('div', { class: 'chips', 'aria-label': t('examples') }, EXAMPLES.map((q) => h('button', { type: 'button', class: 'chip', dir: 'ltr', onclick: () => { query.value = q; preview(); } }, q)))),
    out);
  preview();
  return () => clearTimeout(debounce);
}

async function section(title, path, shape, build) {
  const box = h('section', { class: 'panel' }, h('h2', {}, title), loading());
  api.get(path).then((data) => {
    clear(box, h('h2', {}, title), build(data));
  }).catch((err) => clear(box, h('h2', {}, title), failure(err, [`GET ${shape}`])));
  return box;
}

async function renderProfile(ctx, id) {
  const { root } = ctx;
  const enc = api.seg(id);
  clear(root, loading());
  let c = null;
  let contactBox;
  const CONTACT_SHAPE = 'GET /api/v1/contacts/{id} → {"id","name","phone","language","time_zone","audience","birth_date","tags":[],"fields":{},"last_seen"}';
  try {
    c = await api.get(`/api/v1/contacts/${enc}`);
  } catch (err) {
    if (err.status === 404 && !err.missing) {
      clear(root, pageHeader(t('profile')), backLink('#/contacts', t('all_contacts')), errorBox(new Error(t('contact_not_found'))));
      return null;
    }
    contactBox = h('section', { class: 'panel' }, h('h2', {}, t('profile')), failure(err, [CONTACT_SHAPE]));
  }
  if (c) {
    const facts = [
      [t('phone'), h('span', { dir: 'ltr' }, c.phone || '—')], [t('language'), c.language || '—'],
      [t('time_zone'), c.time_zone || '—'], [t('audience'), c.audience || '—'],
      [t('birth_date'), c.birth_date ? fmtDate(c.birth_date) : '—'],
      [t('tags'), (c.tags || []).length ? h('span', { class: 'chips' }, c.tags.map((x) => badge(x))) : '—'],
      [t('last_seen'), fmtDateTime(c.last_seen)],
    ];
    contactBox = h('section', { class: 'panel' }, h('h2', {}, t('profile')),
      h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
  }
  const title = (c && (c.name || c.phone)) || sessionStorage.getItem('cw.contact.' + id) || id;
  const consentsBox = await section(t('consents'), `/api/v1/contacts/${enc}/consents`,
    '/api/v1/contacts/{id}/consents → {"current":{"<purpose>":{…}},"history":[{"purpose","status","source","wording_version","evidence","at"}]}', (data) => {
      const items = data.history || data.items || [];
      const now = Object.assign({}, data.current);
      if (!data.current) for (const x of items) now[x.purpose] = x;
      return h('div', {},
        table([
          { label: t('purpose'), cell: (p) => t('purpose_' + p) },
          { label: t('consent_current'), cell: (p) => h('span', { 'data-consent': p }, consentBadge(now[p] && now[p].status)) },
          { label: t('consent_source'), cell: (p) => (now[p] ? now[p].source || '' : '') },
          { label: t('consent_at'), cell: (p) => (now[p] ? fmtDateTime(now[p].at) : '') },
        ], PURPOSES),
        h('h3', {}, t('consent_history')),
        items.length ? table([
          { label: t('consent_at'), cell: (x) => fmtDateTime(x.at) },
          { label: t('purpose'), cell: (x) => t('purpose_' + x.purpose) },
          { label: t('consent_status'), cell: (x) => consentBadge(x.status) },
          { label: t('consent_source'), cell: (x) => x.source || '' },
          { label: t('consent_wording'), cell: (x) => x.wording_version || '' },
          { label: t('consent_evidence'), cell: (x) => h('span', { dir: 'auto' }, x.evidence || '') },
        ], items.slice().sort((a, b) => String(b.at).localeCompare(String(a.at)) || (b.id || 0) - (a.id || 0))) : h('p', { class: 'muted' }, t('none')));
    });
  const timelineBox = h('section', { class: 'panel' }, h('h2', {}, t('timeline')), loading());
  Promise.allSettled([
    api.get(`/api/v1/messages?contact_id=${enc}&limit=100`),
    api.get(`/api/v1/decisions?contact_id=${enc}&limit=100`),
  ]).then(([m, d]) => {
    const items = [];
    const missing = [];
    if (m.status === 'fulfilled') for (const x of m.value.items || []) items.push({ at: x.at || x.created_at, kind: 'message', x });
    else missing.push(m.reason);
    if (d.status === 'fulfilled') for (const x of d.value.items || []) items.push({ at: x.at, kind: 'decision', x });
    else missing.push(d.reason);
    items.sort((a, b) => String(b.at).localeCompare(String(a.at)));
    const notes = [];
    if (m.status === 'rejected') notes.push(failure(m.reason, ['GET /api/v1/messages?contact_id=… → {"items":[{"id","direction","type","status","at","payload"}]}']));
    if (d.status === 'rejected') notes.push(failure(d.reason, ['GET /api/v1/decisions?contact_id=… → {"items":[{"outcome","reason","message","purpose","at","until"}]}']));
    clear(timelineBox, h('h2', {}, t('timeline')), notes,
      items.length ? h('ol', { class: 'timeline' }, items.map((it) => h('li', {},
        h('time', { datetime: it.at }, fmtDateTime(it.at)),
        it.kind === 'message'
          ? h('div', {}, badge(t('direction_' + it.x.direction)), ' ', it.x.status ? badge(t('status_' + it.x.status)) : null, ' ', h('span', { dir: 'auto' }, messageText(it.x)))
          : h('div', {}, badge(it.x.outcome === 'allow' ? t('outcome_allow') : it.x.outcome === 'defer' ? t('outcome_defer', { until: fmtDateTime(it.x.until) }) : t('outcome_deny'), it.x.outcome === 'allow' ? 'ok' : it.x.outcome === 'defer' ? 'warn' : 'bad'),
            ' ', h('code', {}, it.x.reason || ''), ' ', it.x.message || '')))) : (missing.length === 2 ? null : h('p', { class: 'muted' }, t('none'))));
  });
  const journeysBox = await section(t('journeys_of_contact'), `/api/v1/runs?contact_id=${enc}&limit=50`,
    '/api/v1/runs?contact_id=… → {"items":[{"id","journey","version","state","step","created_at","ended_at","end_reason"}]}', (data) => {
      const items = data.items || [];
      const pick = h('select', { 'aria-label': t('start_journey_here') }, h('option', { value: '' }, t('choose_journey')));
      api.get('/api/v1/journeys').then((r) => pick.append(...(r.items || []).filter((j) => j.status === 'active')
        .map((j) => h('option', { value: j.key }, `${j.name || j.key} (${j.key})`)))).catch(() => {});
      const go = h('button', { type: 'button', class: 'secondary', onclick: () => {
        if (pick.value) ctx.navigate(`#/journeys/${encodeURIComponent(pick.value)}/contact/${encodeURIComponent(id)}`);
      } }, t('start_journey_here'));
      return h('div', {},
        items.length ? table([
          { label: t('journey'), cell: (r) => h('a', { href: '#/journeys/' + encodeURIComponent(r.journey) }, h('code', {}, r.journey)) },
          { label: t('step'), cell: (r) => h('code', {}, r.step || '') },
          { label: t('status'), cell: (r) => badge(t('run_' + r.state), r.state === 'waiting' || r.state === 'running' ? 'ok' : r.state === 'failed' ? 'bad' : null) },
          { label: t('created'), cell: (r) => fmtDateTime(r.created_at) },
          { label: t('ended'), cell: (r) => (r.ended_at ? `${fmtDateTime(r.ended_at)}${r.end_reason ? ' · ' + r.end_reason : ''}` : '') },
        ], items) : h('p', { class: 'muted' }, t('none')),
        h('div', { class: 'inline start-journey' }, pick, go));
    });
  clear(root,
    pageHeader(h('bdi', {}, title)),
    backLink('#/contacts', t('all_contacts')),
    contactBox, consentsBox, timelineBox, journeysBox);
  return null;
}

export default function render(ctx) {
  return ctx.params[0] ? renderProfile(ctx, ctx.params[0]) : renderSearch(ctx);
}
