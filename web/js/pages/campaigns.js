// campaigns.js — compose a campaign (a journey or one template, a segment with its preview:
// audience, who policy excludes and why, the cost; a canary and the guard), launch it, and
// follow it live with a funnel chart. Shapes: docs/journeys.md §8, src/http/api_campaigns.c.
//   POST /api/v1/campaigns/preview   (the same body as create)
//   POST /api/v1/campaigns           → 201 the campaign (started at once)
//   GET  /api/v1/campaigns           {"items":[campaign]}
//   GET  /api/v1/campaigns/{id}      status, phase, progress, guard, stats (polled)
//   POST /api/v1/campaigns/{id}/pause|resume|cancel
import * as api from '../api.js';
import { t, fmtNumber, fmtPercent, fmtDateTime } from '../i18n.js';
import { h, clear, pageHeader, loading, failure, field, table, badge, chart, COLORS, nextId, backLink } from '../ui.js';
import { journeyVars, varsFields } from '../journeyvars.js';

const LIST = '/api/v1/campaigns';
const PURPOSES = ['marketing', 'service', 'reminders', 'results', 'surveys'];
const PHASES = ['canary', 'hold', 'rollout', 'done'];
const SEGMENTS = [
  'audience = "recovered patient" AND fields.radiation = completed',
  'audience = "recovered patient" AND consent.marketing = granted',
  'tag = conference-attending',
  'language = ru',
];
const HOLD_UNITS = { S: 'seconds', M: 'minutes', H: 'hours' };

export function statusBadge(s) {
  return badge(t('campaign_' + s), s === 'running' || s === 'completed' ? 'ok' : s === 'halted' || s === 'cancelled' ? 'bad' : 'warn');
}

// A policy reason code with its words: "consent_refused — refused consent for this purpose".
export function reasonText(code) {
  const words = t('reason_' + code);
  return words === 'reason_' + code ? code : words;
}

function exclusionTable(excluded) {
  const rows = Object.entries(excluded || {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  if (!rows.length) return h('p', { class: 'muted' }, t('nobody_excluded'));
  return table([
    { label: t('reason'), cell: (e) => h('span', {}, reasonText(e[0]), ' ', h('code', { class: 'muted' }, e[0])) },
    { label: t('contacts_n'), cell: (e) => h('span', { 'data-excluded': e[0] }, fmtNumber(e[1])) },
  ], rows, { caption: t('excluded_by_reason') });
}

// ---- compose ----

function compose(ctx) {
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: 200, dir: 'auto' });
  const kindName = nextId('kind');
  const kindJ = h('input', { type: 'radio', name: kindName, value: 'journey', checked: true, id: nextId('k') });
  const kindT = h('input', { type: 'radio', name: kindName, value: 'template', id: nextId('k') });
  const journey = h('select', { name: 'journey' }, h('option', { value: '' }, t('loading')));
  const varsBox = h('div', {});
  let vars = varsFields([]);
  const template = h('select', { name: 'template' });
  const params = h('textarea', { rows: 3, dir: 'auto', name: 'params' });
  const purpose = h('select', { name: 'purpose' }, PURPOSES.map((p) => h('option', { value: p }, t('purpose_' + p))));
  const segment = h('textarea', { rows: 2, dir: 'ltr', spellcheck: 'false', required: true, name: 'segment', placeholder: t('segment_placeholder') });
  const previewOut = h('div', { class: 'preview', 'aria-live': 'polite' });
  const canaryOn = h('input', { type: 'checkbox', id: nextId('c'), checked: true, name: 'canary' });
  const percent = h('input', { type: 'number', min: 0.01, max: 100, step: 'any', value: 5, name: 'canary_percent' });
  const hold = h('input', { type: 'number', min: 0, max: 100000, step: 1, value: 2, name: 'hold', id: nextId('hold') });
  const holdUnit = h('select', { name: 'hold_unit', 'aria-label': t('hold_unit') }, Object.entries(HOLD_UNITS).map(([k, v]) => h('option', { value: k, selected: k === 'H' }, t('unit_' + v))));
  const maxOpt = h('input', { type: 'number', min: 0, max: 100, step: 'any', value: 2, name: 'max_opt_out' });
  const maxFail = h('input', { type: 'number', min: 0, max: 100, step: 'any', value: 5, name: 'max_failure' });
  const maxNeg = h('input', { type: 'number', min: 0, max: 100, step: 'any', value: 5, name: 'max_negative' });
  const minSample = h('input', { type: 'number', min: 1, max: 1000000, step: 1, value: 20, name: 'min_sample' });
  const confirmAll = h('input', { type: 'checkbox', id: nextId('c'), name: 'confirm_everyone' });
  const confirmTier = h('input', { type: 'checkbox', id: nextId('c'), name: 'confirm_over_tier' });
  const confirmAllRow = h('div', { class: 'check', hidden: true }, confirmAll, h('label', { for: confirmAll.id }, t('confirm_everyone')));
  const confirmTierRow = h('div', { class: 'check', hidden: true }, confirmTier, h('label', { for: confirmTier.id }, t('confirm_over_tier')));
  const status = h('p', { class: 'form-status', role: 'status' });
  const submit = h('button', { type: 'submit' }, t('launch_campaign'));
  const jField = h('div', {}, field(t('journey'), journey), varsBox);
  const tField = h('div', {}, field(t('template'), template), field(t('template_params'), params, t('template_params_hint')), field(t('purpose'), purpose));
  const canaryRows = h('div', { class: 'form-row' }, field(t('canary_percent'), percent),
    h('div', { class: 'field' }, h('label', { for: hold.id }, t('canary_hold')), h('div', { class: 'inline' }, hold, holdUnit)));

  const sync = () => { jField.hidden = !kindJ.checked; tField.hidden = kindJ.checked; canaryRows.hidden = !canaryOn.checked; };
  for (const el of [kindJ, kindT, canaryOn]) el.addEventListener('change', () => { sync(); later(); });
  sync();

  const defs = new Map();
  async function pickJourney() {
    const key = journey.value;
    if (!key) { clear(varsBox); return; }
    try {
      if (!defs.has(key)) defs.set(key, await api.get(`/api/v1/journeys/${api.seg(key)}`));
      if (journey.value !== key) return;
      vars = varsFields(journeyVars(defs.get(key).definition));
      clear(varsBox, vars.el);
      if (!name.value) name.placeholder = defs.get(key).name || key;
    } catch (err) { clear(varsBox, failure(err, [`GET /api/v1/journeys/${key}`])); }
  }
  journey.addEventListener('change', () => { pickJourney(); later(); });
  api.get('/api/v1/journeys').then((r) => {
    const items = (r.items || []).filter((j) => j.status === 'active');
    clear(journey, h('option', { value: '' }, t('choose_journey')), items.map((j) => h('option', { value: j.key }, `${j.name || j.key} (${j.key})`)));
    const want = ctx.params[0] === 'new' ? ctx.params[1] : null;
    if (want && items.some((j) => j.key === want)) { journey.value = want; pickJourney(); }
  }).catch((err) => journey.replaceWith(failure(err, ['GET /api/v1/journeys'])));
  api.get('/api/v1/templates').then((r) => {
    const ok = (r.items || []).filter((x) => x.status === 'APPROVED');
    clear(template, ok.length ? ok.map((x) => h('option', { value: JSON.stringify([x.name, x.language, x.category]) }, `${x.name} · ${x.language} · ${x.category}`))
      : h('option', { value: '' }, t('no_approved_templates')));
  }).catch((err) => template.replaceWith(failure(err, ['GET /api/v1/templates'])));

  function body() {
    const b = { name: name.value.trim() || name.placeholder || undefined, segment: segment.value.trim() };
    if (kindJ.checked) {
      b.journey = journey.value;
      const v = vars.values();
      if (Object.keys(v).length) b.vars = v;
    } else {
      const [tn, tl, cat] = template.value ? JSON.parse(template.value) : [];
      b.template = { name: tn, language: tl, category: cat, params: params.value.split('\n').map((x) => x.trim()).filter(Boolean) };
      b.purpose = purpose.value;
    }
    b.canary = canaryOn.checked ? { percent: Number(percent.value), hold: `PT${Math.max(0, Math.round(Number(hold.value) || 0))}${holdUnit.value}` } : false;
    b.guard = { max_opt_out_rate: Number(maxOpt.value) / 100, max_failure_rate: Number(maxFail.value) / 100,
      max_negative_rate: Number(maxNeg.value) / 100, min_sample: Number(minSample.value) };
    b.confirm = { everyone: confirmAll.checked, over_tier: confirmTier.checked };
    return b;
  }

  let seq = 0;
  let debounce = null;
  function later() { clearTimeout(debounce); debounce = setTimeout(preview, 350); }
  async function preview() {
    const mine = ++seq;
    const b = body();
    if (!b.segment || (kindJ.checked && !b.journey) || (!kindJ.checked && !b.template.name)) { clear(previewOut); return; }
    try {
      const r = await api.post(`${LIST}/preview`, b);
      if (mine !== seq) return;
      const needs = r.needs_confirmation || [];
      confirmAllRow.hidden = !needs.includes('everyone');
      confirmTierRow.hidden = !needs.includes('over_tier');
      const cost = r.cost || {};
      const money = (x) => fmtNumber(x, { style: 'currency', currency: cost.currency || 'USD', maximumFractionDigits: 2 });
      clear(previewOut,
        h('div', { class: 'kpis' },
          h('div', { class: 'kpi' }, h('div', { class: 'kpi-label' }, t('audience')), h('div', { class: 'kpi-value', 'data-audience': r.audience }, fmtNumber(r.audience))),
          h('div', { class: 'kpi' }, h('div', { class: 'kpi-label' }, t('eligible')), h('div', { class: 'kpi-value', 'data-eligible': r.eligible }, fmtNumber(r.eligible)),
            h('div', { class: 'kpi-hint' }, t('eligible_hint', { purpose: t('purpose_' + r.purpose) }))),
          h('div', { class: 'kpi' }, h('div', { class: 'kpi-label' }, t('cost')), h('div', { class: 'kpi-value' }, money(cost.total || 0)),
            h('div', { class: 'kpi-hint' }, t('cost_hint', { category: cost.category || '' })))),
        exclusionTable(r.excluded),
        (r.sample || []).length ? h('p', { class: 'hint' }, t('sample'), ': ', (r.sample || []).map((c, i) => [i ? ', ' : '', h('bdi', {}, c.name || c.id)])) : null,
        needs.length ? h('p', { class: 'query-error' }, t('needs_confirmation')) : null);
    } catch (err) {
      if (mine !== seq) return;
      clear(previewOut, err.code === 'invalid_query' ? h('p', { class: 'query-error', role: 'alert' }, t('query_error', { message: err.message }))
        : failure(err, [`POST ${LIST}/preview`]));
    }
  }
  for (const el of [segment, percent, template, purpose]) el.addEventListener('input', later);

  const form = h('form', { class: 'panel compose', 'aria-labelledby': 'new-campaign', onsubmit: async (e) => {
    e.preventDefault();
    const b = body();
    if (kindJ.checked && !b.journey) { status.textContent = t('choose_journey'); journey.focus(); return; }
    submit.disabled = true;
    status.textContent = t('launching');
    try {
      const c = await api.post(LIST, b);
      ctx.navigate('#/campaigns/' + encodeURIComponent(c.id));
    } catch (err) {
      status.textContent = t('error', { message: err.message });
      if (err.field && err.field.startsWith('confirm')) preview();
      submit.disabled = false;
    }
  } },
  h('h2', { id: 'new-campaign' }, t('new_campaign')),
  field(t('campaign_name'), name),
  h('fieldset', {}, h('legend', {}, t('campaign_kind')),
    h('div', { class: 'check' }, kindJ, h('label', { for: kindJ.id }, t('kind_journey'))),
    h('div', { class: 'check' }, kindT, h('label', { for: kindT.id }, t('kind_template'))),
    jField, tField),
  h('fieldset', {}, h('legend', {}, t('audience_segment')),
    field(t('segment_query'), segment, t('segment_help')),
    h('div', { class: 'chips', 'aria-label': t('examples') }, SEGMENTS.map((q) => h('button', { type: 'button', class: 'chip', dir: 'ltr', onclick: () => { segment.value = q; preview(); } }, q))),
    previewOut),
  h('fieldset', {}, h('legend', {}, t('canary')),
    h('div', { class: 'check' }, canaryOn, h('label', { for: canaryOn.id }, t('canary_on'))),
    canaryRows,
    h('p', { class: 'hint' }, t('canary_hint'))),
  h('fieldset', {}, h('legend', {}, t('guard')),
    h('div', { class: 'form-row' }, field(t('halt_opt_out'), maxOpt), field(t('halt_failures'), maxFail), field(t('halt_negative'), maxNeg), field(t('min_sample'), minSample)),
    h('p', { class: 'hint' }, t('guard_hint'))),
  confirmAllRow, confirmTierRow,
  submit, status);
  form.cleanup = () => clearTimeout(debounce);
  return form;
}

// ---- one campaign, live ----

// The campaign's first message: its first step that sent or decided anything.
function firstSend(stats) {
  const steps = (stats && stats.steps) || [];
  return steps.filter((s) => s.sent || s.failed || Object.keys(s.decisions || {}).length)
    .sort((a, b) => (b.entered - a.entered))[0] || {};
}

async function renderOne(ctx, id) {
  const { root, session } = ctx;
  const enc = api.seg(id);
  const head = h('div', {});
  const body = h('div', {}, loading());
  const canvas = h('canvas', { role: 'img', 'aria-label': t('funnel') });
  const funnelBox = h('section', { class: 'panel' }, h('h2', {}, t('funnel')), h('p', { class: 'hint' }, t('funnel_hint')), h('div', { class: 'chart-box' }, canvas));
  const steps = h('section', { class: 'panel' });
  let funnel = null;
  let timer = null;
  let stopped = false;
  let busy = false;
  const guardBox = h('section', { class: 'panel' });
  clear(root, head, backLink('#/campaigns', t('campaigns_title')), body, h('div', { class: 'grid' }, guardBox, funnelBox), steps);
  const admin = session.agent.role === 'admin';

  function act(verb, kind) {
    return h('button', { type: 'button', class: kind || 'secondary', 'data-action': verb, onclick: async (e) => {
      if (verb === 'cancel' && !window.confirm(t('cancel_confirm'))) return;
      e.target.disabled = true;
      try { await api.post(`${LIST}/${enc}/${verb}`); } catch (err) { window.alert(t('error', { message: err.message })); }
      load();
    } }, t('action_' + verb));
  }

  function guardRow(label, n, rate, max) {
    const over = typeof max === 'number' && rate > max;
    return h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, fmtNumber(n)),
      h('td', { class: over ? 'query-error' : '' }, fmtPercent(rate)), h('td', {}, typeof max === 'number' ? fmtPercent(max) : '—'));
  }

  async function load() {
    if (busy) return;
    busy = true;
    clearTimeout(timer);
    let c;
    try {
      c = await api.get(`${LIST}/${enc}`);
    } catch (err) {
      busy = false;
      if (!stopped) clear(body, failure(err, [`GET ${LIST}/{id}`], load));
      return;
    }
    busy = false;
    if (stopped) return;
    const p = c.progress || {};
    const g = c.guard || {};
    const th = g.thresholds || {};
    const stats = c.stats || {};
    const first = firstSend(stats);
    const live = c.status === 'running' || c.status === 'paused' || c.status === 'halted';
    const actions = admin ? [
      c.status === 'running' ? act('pause') : null,
      c.status === 'paused' || c.status === 'halted' ? act('resume') : null,
      live ? act('cancel', 'danger') : null] : [];
    const template = String(c.journey || '').startsWith('campaign-');
    clear(head, pageHeader(h('bdi', {}, c.name || id), h('div', { class: 'header-end' }, statusBadge(c.status), ...actions)));
    const phaseIdx = PHASES.indexOf(c.phase);
    clear(body,
      c.halted_reason ? h('div', { class: 'notice notice-error', role: 'alert' }, h('p', {}, t('halted_reason', { reason: c.halted_reason }))) : null,
      h('section', { class: 'panel progress-panel', 'data-phase': c.phase, 'data-status': c.status, 'data-enrolled': p.enrolled, 'data-audience': p.audience, 'data-sent': first.sent || 0 },
        h('h2', {}, t('progress')),
        h('ol', { class: 'phases' }, PHASES.map((ph, i) => h('li', { class: i < phaseIdx ? 'done' : i === phaseIdx ? 'current' : '', 'aria-current': i === phaseIdx ? 'step' : null }, t('phase_' + ph)))),
        h('div', { class: 'progress-line' },
          h('progress', { max: 100, value: p.percent || 0, 'aria-label': t('progress') }),
          h('span', { class: 'progress-figure' }, t('enrolled_of', { n: fmtNumber(p.enrolled || 0), of: fmtNumber(p.audience || 0), pct: fmtPercent((p.percent || 0) / 100) }))),
        h('dl', { class: 'facts' },
          h('dt', {}, t('canary')), h('dd', {}, c.settings && c.settings.canary_percent < 100
            ? t('canary_line', { pct: fmtPercent(c.settings.canary_percent / 100), n: fmtNumber(p.canary_target || 0), of: fmtNumber(p.audience || 0) }) : t('no_canary')),
          p.hold_until ? [h('dt', {}, t('hold_until')), h('dd', {}, fmtDateTime(p.hold_until))] : null,
          h('dt', {}, template ? t('template') : t('journey')), h('dd', {}, template ? t('kind_template') : h('a', { href: '#/journeys/' + encodeURIComponent(c.journey) }, h('code', {}, c.journey))),
          h('dt', {}, t('audience_segment')), h('dd', {}, h('code', { dir: 'ltr' }, c.segment || '')),
          h('dt', {}, t('purpose')), h('dd', {}, t('purpose_' + c.purpose)),
          h('dt', {}, t('created')), h('dd', {}, fmtDateTime(c.created_at)),
          c.ended_at ? [h('dt', {}, t('ended')), h('dd', {}, fmtDateTime(c.ended_at))] : null)));
    clear(guardBox, h('h2', {}, t('guard')),
      h('p', { class: 'hint' }, t('guard_line', { reached: fmtNumber(g.reached || 0), min: fmtNumber(th.min_sample ?? 20) })),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, h('td', {}), h('th', { scope: 'col' }, t('count')), h('th', { scope: 'col' }, t('rate')), h('th', { scope: 'col' }, t('halts_above')))),
        h('tbody', {},
          guardRow(t('guard_opt_outs'), g.opt_outs || 0, g.opt_out_rate || 0, th.max_opt_out_rate),
          guardRow(t('guard_failures'), g.failures_131026_131049 || 0, g.failure_rate || 0, th.max_failure_rate),
          guardRow(t('guard_negative'), g.negative_replies || 0, g.negative_rate || 0, th.max_negative_rate)))));
    // the funnel: who was in the audience, reached, and what became of the first message
    const keys = ['audience', 'enrolled', 'sent', 'delivered', 'read', 'replied'];
    const values = [p.audience || 0, p.enrolled || 0, first.sent || 0, first.delivered || 0, first.read || 0, first.replied || 0];
    if (!funnel) {
      funnel = chart(canvas, { type: 'bar',
        data: { labels: keys.map((k) => t('funnel_' + k)), datasets: [{ label: t('funnel'), data: values,
          backgroundColor: [COLORS.muted, COLORS.accent, COLORS.sent, COLORS.delivered, COLORS.read, COLORS.replied] }] },
        options: { indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: {} }, plugins: { legend: { display: false } } } });
    } else if (JSON.stringify(funnel.data.datasets[0].data) !== JSON.stringify(values)) {
      funnel.data.datasets[0].data = values;
      funnel.update('none');
    }
    canvas.dataset.values = values.join(',');
    const rows = (stats.steps || []).slice().sort((a, b) => b.entered - a.entered);
    clear(steps, h('h2', {}, t('per_step')), rows.length ? table([
      { label: t('step'), cell: (s) => h('code', {}, s.step) },
      { label: t('funnel_entered'), cell: (s) => fmtNumber(s.entered) },
      { label: t('funnel_sent'), cell: (s) => fmtNumber(s.sent) },
      { label: t('funnel_delivered'), cell: (s) => fmtNumber(s.delivered) },
      { label: t('funnel_read'), cell: (s) => fmtNumber(s.read) },
      { label: t('funnel_replied'), cell: (s) => fmtNumber(s.replied) },
      { label: t('funnel_failed'), cell: (s) => fmtNumber(s.failed) },
      { label: t('not_sent_by_reason'), cell: (s) => Object.entries(s.decisions || {}).filter(([k, v]) => k !== 'allowed' && v > 0)
        .map(([k, v]) => h('div', {}, reasonText(k), ': ', fmtNumber(v))) },
    ], rows) : h('p', { class: 'muted' }, t('no_data')));
    if (!stopped) timer = setTimeout(load, c.status === 'running' && c.phase !== 'done' ? 1000 : 4000);
  }
  await load();
  return () => { stopped = true; clearTimeout(timer); if (funnel) funnel.destroy(); };
}

export default async function render(ctx) {
  if (ctx.params[0] && ctx.params[0] !== 'new') return renderOne(ctx, ctx.params[0]);
  const { root, session } = ctx;
  clear(root, pageHeader(t('campaigns_title')), loading());
  let items;
  try {
    items = (await api.get(LIST)).items || [];
  } catch (err) {
    clear(root, pageHeader(t('campaigns_title')), failure(err, [`GET ${LIST}`]));
    return null;
  }
  const canCompose = session.agent.role === 'admin';
  const form = canCompose ? compose(ctx) : null;
  clear(root, pageHeader(t('campaigns_title')),
    items.length ? h('section', { class: 'panel' }, table([
      { label: t('campaign_name'), cell: (c) => h('a', { href: '#/campaigns/' + encodeURIComponent(c.id), 'data-campaign': c.id }, h('bdi', {}, c.name || c.id)) },
      { label: t('campaign_status'), cell: (c) => statusBadge(c.status) },
      { label: t('phase'), cell: (c) => t('phase_' + c.phase) },
      { label: t('progress'), cell: (c) => t('enrolled_of', { n: fmtNumber((c.progress || {}).enrolled || 0), of: fmtNumber((c.progress || {}).audience || 0), pct: fmtPercent(((c.progress || {}).percent || 0) / 100) }) },
      { label: t('created'), cell: (c) => fmtDateTime(c.created_at) },
    ], items)) : h('p', { class: 'muted' }, t('no_campaigns')),
    form || h('p', { class: 'muted' }, t('forbidden_role', { role: t('role_' + session.agent.role) })));
  return form ? form.cleanup : null;
}
