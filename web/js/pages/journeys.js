// journeys.js — the journeys, and each one drawn as a diagram of its steps and branches with
// how many runs are at each step. GET /api/v1/journeys, GET /api/v1/journeys/{id},
// GET /api/v1/journeys/{id}/stats.
import * as api from '../api.js';
import { t, fmtNumber } from '../i18n.js';
import { h, clear, pageHeader, loading, failure, table, badge } from '../ui.js';

const LIST = '/api/v1/journeys';
const SVG = 'http://www.w3.org/2000/svg';

// The outgoing edges of a step, whatever branch form it uses: [{to, label}].
function edgesOf(step) {
  const out = [];
  const label = (on) => (on === undefined || on === null ? '' : typeof on === 'string' ? on
    : Object.entries(on).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('; '));
  if (step.next) out.push({ to: step.next, label: '' });
  for (const b of step.branches || step.on || []) if (b && (b.next || b.goto)) out.push({ to: b.next || b.goto, label: label(b.on ?? b.when ?? b.match ?? b.button) });
  if (step.timeout && step.timeout.next) out.push({ to: step.timeout.next, label: '⏱ ' + (step.timeout.after || '') });
  for (const k of ['else', 'default', 'on_timeout']) if (typeof step[k] === 'string') out.push({ to: step[k], label: k });
  return out;
}

// Rows of step ids by distance from the start (breadth first); unreachable steps last.
function layers(def) {
  const steps = def.steps || [];
  const byId = new Map(steps.map((s) => [s.id, s]));
  const start = def.start || (steps[0] && steps[0].id);
  const level = new Map();
  const queue = start ? [start] : [];
  if (start) level.set(start, 0);
  while (queue.length) {
    const id = queue.shift();
    for (const e of edgesOf(byId.get(id) || {})) if (byId.has(e.to) && !level.has(e.to)) { level.set(e.to, level.get(id) + 1); queue.push(e.to); }
  }
  let max = Math.max(-1, ...level.values());
  for (const s of steps) if (!level.has(s.id)) level.set(s.id, ++max);
  const rows = [];
  for (const s of steps) (rows[level.get(s.id)] ||= []).push(s);
  return { rows: rows.filter(Boolean), byId };
}

function diagram(def, stats) {
  const { rows, byId } = layers(def);
  const box = h('div', { class: 'diagram', role: 'img', 'aria-label': t('steps') });
  const nodes = new Map();
  for (const row of rows) {
    box.append(h('div', { class: 'diagram-row' }, row.map((s) => {
      const st = (stats && stats[s.id]) || {};
      const n = h('div', { class: 'step', 'data-step': s.id },
        h('div', { class: 'step-type' }, s.type || ''), h('div', { class: 'step-id' }, s.id),
        st.entered !== undefined ? h('div', { class: 'step-count' }, `${fmtNumber(st.entered)} ${t('entered')}`) : null,
        st.waiting ? h('div', { class: 'step-count' }, t('step_counts', { n: fmtNumber(st.waiting) })) : null);
      nodes.set(s.id, n);
      return n;
    })));
  }
  const svg = document.createElementNS(SVG, 'svg');
  box.prepend(svg);
  function draw() {
    const r0 = box.getBoundingClientRect();
    svg.setAttribute('width', box.scrollWidth);
    svg.setAttribute('height', box.scrollHeight);
    svg.replaceChildren();
    const marker = document.createElementNS(SVG, 'marker');
    for (const [k, v] of Object.entries({ id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' })) marker.setAttribute(k, v);
    const tip = document.createElementNS(SVG, 'path');
    tip.setAttribute('d', 'M0,0 L10,5 L0,10 z'); tip.setAttribute('fill', '#5b6b75');
    marker.append(tip);
    const defs = document.createElementNS(SVG, 'defs'); defs.append(marker); svg.append(defs);
    for (const [id, el] of nodes) {
      for (const e of edgesOf(byId.get(id))) {
        const to = nodes.get(e.to);
        if (!to) continue;
        const a = el.getBoundingClientRect(), b = to.getBoundingClientRect();
        const x1 = a.left + a.width / 2 - r0.left + box.scrollLeft, y1 = a.bottom - r0.top;
        const x2 = b.left + b.width / 2 - r0.left + box.scrollLeft, y2 = b.top - r0.top;
        const back = y2 <= y1;
        const path = document.createElementNS(SVG, 'path');
        const d = back
          ? `M${x1},${y1} C${x1 + 80},${y1 + 40} ${x2 + 80},${y2 - 40} ${x2},${y2}`
          : `M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2}`;
        path.setAttribute('d', d); path.setAttribute('fill', 'none'); path.setAttribute('stroke', '#5b6b75');
        path.setAttribute('stroke-width', '1.5'); path.setAttribute('marker-end', 'url(#arrow)');
        svg.append(path);
        if (e.label) {
          const text = document.createElementNS(SVG, 'text');
          text.setAttribute('x', (x1 + x2) / 2 + 4); text.setAttribute('y', (y1 + y2) / 2);
          text.setAttribute('class', 'edge-label'); text.textContent = e.label;
          svg.append(text);
        }
      }
    }
  }
  const ro = new ResizeObserver(draw);
  ro.observe(box);
  box.cleanup = () => ro.disconnect();
  return box;
}

async function renderOne(ctx, id) {
  const { root } = ctx;
  clear(root, loading());
  const enc = api.seg(id);
  try {
    const j = await api.get(`${LIST}/${enc}`);
    let stats = null;
    try { stats = (await api.get(`${LIST}/${enc}/stats`)).steps || null; } catch { stats = null; }
    const def = j.definition || j;
    const d = diagram(def, stats);
    clear(root, pageHeader(h('bdi', {}, j.name || id), badge(`${t('version')} ${j.version ?? ''}`)),
      h('p', {}, h('a', { href: '#/journeys' }, t('journeys_title'))),
      h('section', { class: 'panel' }, h('h2', {}, t('steps')), d));
    return d.cleanup;
  } catch (err) {
    clear(root, pageHeader(t('journeys_title')), failure(err, [`GET ${LIST}/{id} → {"id","name","version","purpose","definition":{"start","steps":[{"id","type","next","branches":[{"on","next"}],"timeout":{"after","next"}}]}}`, `GET ${LIST}/{id}/stats → {"steps":{"<step id>":{"entered":N,"waiting":N}}}`]));
    return null;
  }
}

export default async function render(ctx) {
  if (ctx.params[0]) return renderOne(ctx, ctx.params[0]);
  const { root } = ctx;
  clear(root, pageHeader(t('journeys_title')), loading());
  try {
    const items = (await api.get(LIST)).items || [];
    clear(root, pageHeader(t('journeys_title')), items.length ? table([
      { label: t('name'), cell: (j) => h('a', { href: '#/journeys/' + encodeURIComponent(j.id) }, h('bdi', {}, j.name || j.id)) },
      { label: t('version'), cell: (j) => j.version ?? '' },
      { label: t('purpose'), cell: (j) => (j.purpose ? t('purpose_' + j.purpose) : '') },
      { label: t('status'), cell: (j) => badge(j.status || '') },
    ], items) : h('p', { class: 'muted' }, t('no_journeys')));
  } catch (err) {
    clear(root, pageHeader(t('journeys_title')), failure(err, [`GET ${LIST} → {"items":[{"id","name","version","purpose","status"}]}`, `GET ${LIST}/{id}`, `GET ${LIST}/{id}/stats`]));
  }
  return null;
}
