// journeys.js — the journeys (GET /api/v1/journeys), and each one drawn as a diagram of its
// steps and branches (the `graph` of GET /api/v1/journeys/{key}, docs/journeys.md §10) with
// the counts per step (GET /api/v1/journeys/{key}/stats) and how many runs wait at each step
// now (GET /api/v1/journeys/{key}/runs?state=waiting); a form starts the journey for one
// contact (POST /api/v1/journeys/{key}/start). #/journeys/KEY/contact/ID opens the form with
// that contact chosen.
import * as api from '../api.js';
import { t, fmtNumber, fmtDateTime, dir, lang } from '../i18n.js';
import { h, clear, pageHeader, loading, failure, table, badge, field, backLink } from '../ui.js';
import { loc, journeyVars, varsFields } from '../journeyvars.js';

const LIST = '/api/v1/journeys';
const SVG = 'http://www.w3.org/2000/svg';
const ROLES = { viewer: 0, integration: 1, agent: 2, admin: 3 };

// ---- the layout: layers top to bottom (longest path over the forward edges), long edges
// through placeholder points, orders within a layer by the neighbours' mean position ----

const NODE_W = 200;
const DUMMY_W = 16;
const GAP_X = 36;
const GAP_Y = 64;
const LOOP_GAP = 14;

// The graph's edges merged per (from, to) with their labels; edges to "end" kept apart.
function edgesOf(graph) {
  const ids = new Set((graph.steps || []).map((s) => s.id));
  const edges = [];
  const ends = new Map();
  for (const s of graph.steps || []) {
    const byTo = new Map();
    for (const e of s.edges || []) {
      if (e.to === 'end' || !ids.has(e.to)) {
        if (!ends.has(s.id)) ends.set(s.id, []);
        ends.get(s.id).push(e.label);
        continue;
      }
      if (!byTo.has(e.to)) byTo.set(e.to, { from: s.id, to: e.to, labels: [] });
      byTo.get(e.to).labels.push(e.label);
    }
    for (const e of byTo.values()) {
      // "next" beside a real branch to the same step says nothing more
      if (e.labels.length > 1) e.labels = e.labels.filter((l) => l !== 'next');
      edges.push(e);
    }
  }
  return { edges, ends };
}

function layout(graph, edges) {
  const ids = (graph.steps || []).map((s) => s.id);
  const out = new Map(ids.map((id) => [id, []]));
  for (const e of edges) out.get(e.from).push(e);
  // depth-first from the start, then from whatever it did not reach: back edges close loops
  const state = new Map();
  const pre = new Map();
  const post = [];
  const visit = (id) => {
    state.set(id, 1);
    pre.set(id, pre.size);
    for (const e of out.get(id)) {
      const s = state.get(e.to);
      if (s === 1) e.back = true;
      else if (!s) visit(e.to);
    }
    state.set(id, 2);
    post.push(id);
  };
  const start = graph.start && out.has(graph.start) ? graph.start : ids[0];
  if (start) visit(start);
  for (const id of ids) if (!state.has(id)) visit(id);
  const topo = post.slice().reverse();
  const layer = new Map(ids.map((id) => [id, 0]));
  for (const id of topo) for (const e of out.get(id)) if (!e.back) layer.set(e.to, Math.max(layer.get(e.to), layer.get(id) + 1));
  // nodes, with placeholders where a forward edge crosses a layer
  const nodes = new Map(ids.map((id) => [id, { id, layer: layer.get(id), w: NODE_W, order: pre.get(id), real: true }]));
  let dummies = 0;
  for (const e of edges) {
    e.path = [e.from];
    if (e.back) { e.path.push(e.to); continue; }
    for (let l = layer.get(e.from) + 1; l < layer.get(e.to); l++) {
      const id = `~${dummies++}`;
      nodes.set(id, { id, layer: l, w: DUMMY_W, order: pre.get(e.from) + 0.5, real: false });
      e.path.push(id);
    }
    e.path.push(e.to);
  }
  const links = [];
  for (const e of edges) if (!e.back) for (let i = 0; i + 1 < e.path.length; i++) links.push([e.path[i], e.path[i + 1]]);
  const rows = [];
  for (const n of nodes.values()) (rows[n.layer] ||= []).push(n);
  for (const r of rows) if (r) r.sort((a, b) => a.order - b.order);
  const preds = new Map([...nodes.keys()].map((k) => [k, []]));
  const succs = new Map([...nodes.keys()].map((k) => [k, []]));
  for (const [a, b] of links) { succs.get(a).push(b); preds.get(b).push(a); }
  const index = () => { for (const r of rows) if (r) r.forEach((n, i) => { n.pos = i; }); };
  index();
  const mean = (list) => (list.length ? list.reduce((s, k) => s + nodes.get(k).pos, 0) / list.length : null);
  for (let sweep = 0; sweep < 6; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? rows.keys() : [...rows.keys()].reverse();
    for (const l of order) {
      const r = rows[l];
      if (!r) continue;
      for (const n of r) { const m = mean((down ? preds : succs).get(n.id)); n.bary = m === null ? n.pos : m; }
      r.sort((a, b) => a.bary - b.bary || a.pos - b.pos);
      r.forEach((n, i) => { n.pos = i; });
    }
  }
  // x: each node under the mean of its neighbours, pushed apart, rows centred on their wish
  const center = (n) => n.x + n.w / 2;
  for (const r of rows) if (r) { let x = 0; for (const n of r) { n.x = x; x += n.w + GAP_X; } }
  for (let pass = 0; pass < 4; pass++) {
    const down = pass % 2 === 0;
    const order = down ? [...rows.keys()] : [...rows.keys()].reverse();
    for (const l of order) {
      const r = rows[l];
      if (!r) continue;
      const want = r.map((n) => {
        const nb = (down ? preds : succs).get(n.id);
        return nb.length ? nb.reduce((s, k) => s + center(nodes.get(k)), 0) / nb.length - n.w / 2 : n.x;
      });
      let right = -Infinity;
      r.forEach((n, i) => { n.x = Math.max(want[i], right); right = n.x + n.w + GAP_X; });
      const shift = r.reduce((s, n, i) => s + (want[i] - n.x), 0) / r.length;
      for (const n of r) n.x += shift;
    }
  }
  const minX = Math.min(...[...nodes.values()].map((n) => n.x));
  for (const n of nodes.values()) n.x -= minX;
  return { nodes, rows };
}

// ---- what a step shows ----

const TYPES = ['send', 'wait_reply', 'wait', 'branch', 'set_field', 'tag', 'untag', 'consent', 'set_var', 'webhook', 'handoff', 'start', 'end'];

// The message a send step carries, as one line in the page's language.
function sendSummary(s) {
  const m = s.message;
  if (m) {
    if (m.type === 'text') return loc(m.text);
    if (m.type === 'buttons' || m.type === 'list') return loc(m.body);
    if (m.type === 'location') return `${t('location')}: ${loc(m.name)}`;
    return `[${m.type}] ${loc(m.caption) || ''}`;
  }
  if (s.template) return `${t('template')}: ${s.template.name}`;
  return '';
}

function stepSummary(s) {
  if (!s) return '';
  switch (s.type) {
  case 'send': return sendSummary(s);
  case 'wait_reply': return s.timeout ? t('wait_up_to', { d: fmtDuration(s.timeout) }) : '';
  case 'wait': return s.for ? fmtDuration(s.for) : s.until ? untilText(s.until) : '';
  case 'tag': case 'untag': return s.tag || '';
  case 'set_var': return `${s.name} = ${typeof s.value === 'string' ? s.value : JSON.stringify(s.value)}`;
  case 'set_field': return s.field || '';
  case 'consent': return `${s.purpose || ''}: ${s.status || ''}`;
  case 'handoff': return s.team || '';
  case 'start': return s.journey || '';
  case 'webhook': return s.url || '';
  case 'end': return s.reason || '';
  default: return '';
  }
}

// An ISO-8601 duration ("P3D", "-PT2H", "P1DT12H") in words of the page's language.
function fmtDuration(iso) {
  const m = /^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(String(iso));
  if (!m) return String(iso);
  const units = ['year', 'month', 'week', 'day', 'hour', 'minute', 'second'];
  const parts = [];
  units.forEach((u, i) => {
    const n = Number(m[i + 2] || 0);
    if (n) parts.push(new Intl.NumberFormat(lang(), { style: 'unit', unit: u, unitDisplay: 'long' }).format(n));
  });
  return parts.join(' ') || '0';
}

// A wait until a time in a variable: "1 day before starts_at".
function untilText(u) {
  const v = String(u.var || '').replace(/^vars\./, '');
  const off = String(u.offset || '');
  const base = !off || /^-?P(T)?0*[A-Z]?$/.test(off) ? t('until_at', { v })
    : t(off.startsWith('-') ? 'until_before' : 'until_after', { d: fmtDuration(off.replace(/^-/, '')), v });
  return u.at ? `${base}, ${u.at}` : base;
}

// Reply-button titles by id, from every send step of the definition.
function buttonTitles(def) {
  const out = new Map();
  for (const s of (def && def.steps) || []) {
    const m = s.message || {};
    for (const b of m.buttons || []) if (b.id) out.set(b.id, loc(b.title));
    for (const sec of m.sections || []) for (const r of sec.rows || []) if (r.id) out.set(r.id, loc(r.title));
  }
  return out;
}

// An edge's label as a person reads it: "button:rsvp.yes" → “I'll come”.
function edgeLabel(label, titles, step) {
  const [kind, arg] = String(label).split(/:(.*)/s);
  if ((kind === 'button' || kind === 'payload' || kind === 'list_row') && arg) return titles.has(arg) ? `“${titles.get(arg)}”` : arg;
  if (kind === 'timeout') return step && step.timeout ? t('edge_timeout_after', { d: fmtDuration(step.timeout) }) : t('edge_timeout');
  const known = { words: 'edge_words', pattern: 'edge_pattern', any: 'edge_any', else: 'edge_else', past: 'edge_past', if: 'edge_if', ok: 'edge_ok', failed: 'edge_failed', status: 'edge_status', next: 'edge_next' };
  if (known[kind]) return t(known[kind]) + (arg ? ' ' + arg : '');
  return String(label);
}

function diagram(j, stats, here) {
  const graph = j.graph || { steps: [] };
  const def = j.definition || {};
  const stepDefs = new Map((def.steps || []).map((s) => [s.id, s]));
  const titles = buttonTitles(def);
  const { edges, ends } = edgesOf(graph);
  const { nodes } = layout(graph, edges);
  const rtl = dir() === 'rtl';
  const box = h('div', { class: 'diagram', role: 'group', 'aria-label': t('diagram') });
  const canvas = h('div', { class: 'diagram-canvas' });
  box.append(canvas);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('aria-hidden', 'true');
  canvas.append(svg);
  const els = new Map();
  for (const s of graph.steps || []) {
    const st = stats.get(s.id) || {};
    const d = stepDefs.get(s.id);
    const n = here.get(s.id) || 0;
    const endLabels = (ends.get(s.id) || []).filter((l) => l !== 'next');
    const endsHere = (ends.get(s.id) || []).length > 0;
    const counts = [];
    if (st.entered) counts.push(t('step_entered', { n: fmtNumber(st.entered) }));
    if (s.type === 'send' && (st.sent || st.failed)) counts.push(t('step_sent_read', { sent: fmtNumber(st.sent || 0), read: fmtNumber(st.read || 0) }));
    if (st.replied) counts.push(t('step_replied', { n: fmtNumber(st.replied) }));
    const refused = Object.entries(st.decisions || {}).filter(([k, v]) => k !== 'allowed' && v > 0);
    const el = h('div', { class: 'step step-' + s.type + (n ? ' step-live' : ''), 'data-step': s.id, 'data-entered': st.entered || 0, tabindex: '0',
      'aria-label': `${t('steptype_' + s.type)} ${s.id}` },
    h('div', { class: 'step-type' }, TYPES.includes(s.type) ? t('steptype_' + s.type) : s.type),
    h('div', { class: 'step-id' }, h('bdi', {}, s.id)),
    d ? h('div', { class: 'step-text', dir: 'auto' }, stepSummary(d)) : null,
    counts.length ? h('div', { class: 'step-count' }, counts.join(' · ')) : null,
    refused.length ? h('div', { class: 'step-refused' }, refused.map(([k, v]) => `${k} ${fmtNumber(v)}`).join(' · ')) : null,
    n ? h('div', { class: 'step-here' }, t('step_here', { n: fmtNumber(n) })) : null,
    endsHere ? h('div', { class: 'step-exit' }, endLabels.length ? t('edge_end', { on: endLabels.map((l) => edgeLabel(l, titles, d)).join(', ') }) : t('edge_end_plain')) : null);
    el.style.width = `${NODE_W}px`;
    els.set(s.id, el);
    canvas.append(el);
  }

  function draw() {
    // heights of each layer, then positions (mirrored right to left)
    const layerH = [];
    for (const [id, n] of nodes) {
      n.h = n.real ? els.get(id).offsetHeight : 0;
      layerH[n.layer] = Math.max(layerH[n.layer] || 0, n.h);
    }
    const top = [];
    let y = 8;
    for (let l = 0; l < layerH.length; l++) { top[l] = y; y += (layerH[l] || 0) + GAP_Y; }
    const backs = edges.filter((e) => e.back);
    const graphW = Math.max(...[...nodes.values()].map((n) => n.x + n.w), NODE_W);
    const width = graphW + (backs.length ? 30 + backs.length * LOOP_GAP : 0) + 16;
    const height = y - GAP_Y + 16;
    const offset = Math.max(8, (box.clientWidth - width) / 2);
    const X = (x, w = 0) => (rtl ? offset + width - x - w : offset + x);
    canvas.style.width = `${Math.max(width + 2 * offset, box.clientWidth)}px`;
    canvas.style.height = `${height}px`;
    for (const [id, n] of nodes) {
      n.y = top[n.layer];
      n.bottom = n.real ? n.y + n.h : top[n.layer] + layerH[n.layer];
      if (!n.real) continue;
      const el = els.get(id);
      el.style.left = `${X(n.x, n.w)}px`;
      el.style.top = `${n.y}px`;
      el.style.width = `${n.w}px`;
    }
    svg.setAttribute('width', canvas.style.width.replace('px', ''));
    svg.setAttribute('height', height);
    svg.replaceChildren();
    const defs = document.createElementNS(SVG, 'defs');
    const marker = document.createElementNS(SVG, 'marker');
    for (const [k, v] of Object.entries({ id: 'cw-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' })) marker.setAttribute(k, v);
    const tip = document.createElementNS(SVG, 'path');
    tip.setAttribute('d', 'M0,0 L10,5 L0,10 z');
    tip.setAttribute('class', 'edge-tip');
    marker.append(tip);
    defs.append(marker);
    svg.append(defs);
    const labels = [];
    const path = (d, cls) => {
      const p = document.createElementNS(SVG, 'path');
      p.setAttribute('d', d);
      p.setAttribute('class', cls);
      p.setAttribute('marker-end', 'url(#cw-arrow)');
      svg.append(p);
    };
    const label = (x, y0, text, anchor) => {
      const el = document.createElementNS(SVG, 'text');
      el.setAttribute('x', x);
      el.setAttribute('y', y0);
      el.setAttribute('class', 'edge-label');
      el.setAttribute('text-anchor', anchor || 'middle');
      el.setAttribute('direction', dir());
      el.textContent = text;
      labels.push(el);
    };
    for (const e of edges) {
      const text = e.labels.filter((l) => l !== 'next').map((l) => edgeLabel(l, titles, stepDefs.get(e.from))).join(' · ');
      const taken = (stats.get(e.from) || {}).branches || {};
      const count = e.labels.reduce((s, l) => s + (taken[l] || 0), 0);
      const full = text && count ? `${text} (${fmtNumber(count)})` : text;
      if (e.back) {
        const a = nodes.get(e.from);
        const b = nodes.get(e.to);
        const k = backs.indexOf(e);
        const lx = graphW + 20 + k * LOOP_GAP;
        const sx = rtl ? X(a.x, a.w) : X(a.x + a.w);
        const tx = rtl ? X(b.x, b.w) : X(b.x + b.w);
        const gx = rtl ? X(lx) : X(lx);
        const sy = a.y + a.h / 2;
        const ty = b.y + Math.min(b.h / 2, 24);
        path(`M${sx},${sy} C${gx},${sy} ${gx},${sy} ${gx},${(sy + ty) / 2} S${gx},${ty} ${tx},${ty}`, 'edge edge-back');
        if (full) label(gx + (rtl ? 6 : -6), (sy + ty) / 2, full, 'end');
        continue;
      }
      const pts = e.path.map((id) => nodes.get(id));
      const cx = (n) => X(n.x, n.w) + n.w / 2;
      let d = `M${cx(pts[0])},${pts[0].bottom}`;
      let px = cx(pts[0]);
      let py = pts[0].bottom;
      for (let i = 1; i < pts.length; i++) {
        const n = pts[i];
        const x = cx(n);
        const ty = n.y;
        const my = (py + ty) / 2;
        d += ` C${px},${my} ${x},${my} ${x},${ty}`;
        if (!n.real) { d += ` L${x},${n.bottom}`; py = n.bottom; } else py = ty;
        px = x;
      }
      path(d, 'edge');
      if (full) {
        // on the first placeholder's straight run, else two thirds down: where edges have
        // spread apart
        const a = pts[0];
        const b = pts[1];
        if (!b.real) label(cx(b), b.y + (b.bottom - b.y) / 2 + 4, full);
        else label(cx(a) + (cx(b) - cx(a)) * 0.7, a.bottom + (b.y - a.bottom) * 0.68 + 4, full);
      }
    }
    for (const l of labels) svg.append(l);
  }
  let last = -1;
  const ro = new ResizeObserver(() => { if (box.clientWidth !== last) { last = box.clientWidth; draw(); } });
  ro.observe(box);
  box.cleanup = () => ro.disconnect();
  return box;
}

// ---- the start form ----

function startForm(j, contacts, chosen) {
  const def = j.definition || {};
  const contact = h('select', { name: 'contact', required: true },
    h('option', { value: '' }, t('choose_contact')),
    contacts.map((c) => h('option', { value: c.id, selected: c.id === chosen }, `${c.name || c.phone} · ${c.phone || ''} · ${c.language || ''}`)));
  const vars = varsFields(journeyVars(def), () => (contacts.find((x) => x.id === contact.value) || {}).language);
  const status = h('p', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, t('start_journey'));
  const form = h('form', { class: 'panel start-form', 'aria-labelledby': 'start-title', onsubmit: async (e) => {
    e.preventDefault();
    if (!contact.value) { status.textContent = t('choose_contact'); contact.focus(); return; }
    button.disabled = true;
    status.textContent = t('starting');
    try {
      const r = await api.post(`${LIST}/${api.seg(j.key)}/start`, { contact_id: contact.value, vars: vars.values() });
      const c = contacts.find((x) => x.id === contact.value) || {};
      clear(status, t('run_started', { state: t('run_' + r.state) }), r.reason ? ` (${r.reason})` : '', ' ',
        c.wa_id ? h('a', { href: '#/phone/' + encodeURIComponent(c.wa_id), 'data-open-phone': '' }, t('open_phone_of', { name: c.name || c.phone })) : null);
      status.dataset.state = r.state;
      form.dispatchEvent(new CustomEvent('started'));
    } catch (err) {
      status.textContent = t('error', { message: err.message });
      delete status.dataset.state;
    }
    button.disabled = false;
  } },
  h('h2', { id: 'start-title' }, t('start_for_contact')),
  field(t('contact'), contact),
  vars.el,
  button, status);
  return form;
}

// ---- pages ----

async function renderOne(ctx, key) {
  const { root, session } = ctx;
  clear(root, pageHeader(h('bdi', {}, key)), loading());
  const enc = api.seg(key);
  let j;
  try {
    j = await api.get(`${LIST}/${enc}`);
  } catch (err) {
    clear(root, pageHeader(h('bdi', {}, key)), backLink('#/journeys', t('journeys_title')),
      failure(err, [`GET ${LIST}/{key}`]));
    return null;
  }
  const def = j.definition || {};
  const canStart = (ROLES[session.agent.role] ?? 0) >= ROLES.agent;
  const chosen = ctx.params[1] === 'contact' ? ctx.params[2] : null;
  const [statsR, runsR, contactsR] = await Promise.allSettled([
    api.get(`${LIST}/${enc}/stats`),
    api.get(`${LIST}/${enc}/runs?state=waiting&limit=500`),
    canStart ? api.get('/api/v1/contacts?limit=200') : Promise.resolve({ items: [] }),
  ]);
  const stats = new Map(((statsR.status === 'fulfilled' && statsR.value.steps) || []).map((s) => [s.step, s]));
  const here = new Map();
  if (runsR.status === 'fulfilled') for (const r of runsR.value.items || []) here.set(r.step, (here.get(r.step) || 0) + 1);
  const runs = j.runs || {};
  const totals = (statsR.status === 'fulfilled' && statsR.value.totals) || {};
  const d = diagram(j, stats, here);
  const anytime = (j.graph && j.graph.anytime) || [];
  const titles = buttonTitles(def);
  const anyDefs = def.anytime || [];
  const statusKind = j.status === 'active' ? 'ok' : j.status === 'paused' ? 'warn' : 'bad';
  const actions = h('div', { class: 'actions' });
  const admin = session.agent.role === 'admin';
  if (admin && j.status !== 'archived') {
    const verb = j.status === 'paused' ? 'resume' : 'pause';
    actions.append(h('button', { type: 'button', class: 'secondary', onclick: async () => {
      try { await api.post(`${LIST}/${enc}/${verb}`); window.dispatchEvent(new HashChangeEvent('hashchange')); } catch (err) { actions.append(h('span', { class: 'query-error' }, t('error', { message: err.message }))); }
    } }, t(verb === 'pause' ? 'pause_journey' : 'resume_journey')));
  }
  const facts = h('dl', { class: 'facts' },
    h('dt', {}, t('key')), h('dd', {}, h('code', {}, j.key)),
    h('dt', {}, t('purpose')), h('dd', {}, t('purpose_' + j.purpose)),
    h('dt', {}, t('version')), h('dd', {}, `${j.version} / ${j.current_version}`),
    h('dt', {}, t('triggers')), h('dd', {}, (def.triggers || []).map((tr) => badge(tr.type === 'event' ? `${t('trigger_event')}: ${tr.event}` : t('trigger_' + tr.type))), ' '),
    h('dt', {}, t('runs')), h('dd', { 'data-runs': JSON.stringify(runs) }, Object.keys(runs).length
      ? Object.entries(runs).map(([k, v]) => badge(`${t('run_' + k)} ${fmtNumber(v)}`, k === 'waiting' || k === 'running' ? 'ok' : k === 'failed' ? 'bad' : null)) : t('none')),
    totals.sent !== undefined ? [h('dt', {}, t('messages')), h('dd', {}, t('totals_line', {
      sent: fmtNumber(totals.sent || 0), delivered: fmtNumber(totals.delivered || 0), read: fmtNumber(totals.read || 0), replied: fmtNumber(totals.replied || 0) }))] : null);
  let contacts = [];
  if (contactsR.status === 'fulfilled') contacts = contactsR.value.items || [];
  const form = canStart && j.status === 'active' ? startForm(j, contacts, chosen)
    : h('p', { class: 'muted' }, canStart ? t('journey_not_active') : t('forbidden_role', { role: t('role_' + session.agent.role) }));
  clear(root,
    pageHeader(h('bdi', {}, loc(def.name) || j.name || key), h('div', { class: 'header-end' }, badge(t('status_' + j.status), statusKind), actions)),
    backLink('#/journeys', t('journeys_title')),
    def.description ? h('p', { class: 'lead', dir: 'auto' }, loc(def.description)) : null,
    h('div', { class: 'journey-top' }, h('section', { class: 'panel' }, h('h2', {}, t('about_journey')), facts), form),
    h('section', { class: 'panel' }, h('h2', {}, t('diagram')),
      h('p', { class: 'hint' }, t('diagram_hint')), d,
      anytime.length ? h('div', { class: 'anytime' }, h('h3', {}, t('anytime_title')),
        h('ul', {}, anytime.map((a, i) => {
          const ad = anyDefs[i] || {};
          const on = ad.button || ad.payload || ad.list_row;
          return h('li', {}, on && titles.has(on) ? `“${titles.get(on)}”` : (a.label || ''), ' → ', h('bdi', {}, a.to));
        }))) : null));
  if (chosen) { const sel = root.querySelector('.start-form select'); if (sel) sel.focus(); }
  return d.cleanup;
}

export default async function render(ctx) {
  if (ctx.params[0]) return renderOne(ctx, ctx.params[0]);
  const { root } = ctx;
  clear(root, pageHeader(t('journeys_title')), loading());
  try {
    const items = (await api.get(LIST)).items || [];
    clear(root, pageHeader(t('journeys_title')),
      h('p', { class: 'lead' }, t('journeys_intro')),
      items.length ? h('section', { class: 'panel' }, table([
        { label: t('name'), cell: (j) => h('a', { href: '#/journeys/' + encodeURIComponent(j.key), 'data-journey': j.key }, h('bdi', { 'data-name-of': j.key }, j.name || j.key)) },
        { label: t('key'), cell: (j) => h('code', {}, j.key) },
        { label: t('purpose'), cell: (j) => (j.purpose ? t('purpose_' + j.purpose) : '') },
        { label: t('version'), cell: (j) => fmtNumber(j.version) },
        { label: t('status'), cell: (j) => badge(t('status_' + j.status), j.status === 'active' ? 'ok' : j.status === 'paused' ? 'warn' : 'bad') },
        { label: t('live_runs'), cell: (j) => fmtNumber(j.live_runs || 0) },
        { label: t('updated'), cell: (j) => fmtDateTime(j.updated_at) },
      ], items)) : h('p', { class: 'muted' }, t('no_journeys')));
    // The list names each journey in the organisation's language; the definitions have the
    // name in every language, so the page's own language replaces it as they arrive.
    let stopped = false;
    Promise.all(items.slice(0, 50).map(async (j) => {
      const d = await api.get(`${LIST}/${api.seg(j.key)}`).catch(() => null);
      const name = d && d.definition && d.definition.name;
      const el = !stopped && name && root.querySelector(`[data-name-of="${CSS.escape(j.key)}"]`);
      if (el) el.textContent = loc(name);
    }));
    return () => { stopped = true; };
  } catch (err) {
    clear(root, pageHeader(t('journeys_title')), failure(err, [`GET ${LIST}`]));
  }
  return null;
}
