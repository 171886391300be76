// campaigns.js — compose (a journey or one template, a segment with its preview and the
// exclusions per policy reason, canary settings), launch, and follow a campaign's progress
// with a funnel chart. GET/POST /api/v1/campaigns, GET /api/v1/campaigns/{id},
// POST /api/v1/campaigns/{id}/launch|pause|resume.
import * as api from '../api.js';
import { t, fmtNumber, fmtPercent, fmtDateTime } from '../i18n.js';
import { h, clear, pageHeader, loading, failure, field, table, badge, chart, COLORS, nextId } from '../ui.js';

const LIST = '/api/v1/campaigns';
const SHAPES = [
  `GET ${LIST} → {"items":[{"id","name","status","created_at","counts":{…}}]}`,
  `POST ${LIST} {"name","purpose":"marketing","journey_id"|"template":{"name","language","params"},"segment","canary":{"percent","hold_minutes","halt":{"opt_out_rate","failure_rate","negative_rate"}},"confirm"} → 201 {"id"}`,
  `POST ${LIST}/{id}/launch | pause | resume`,
  `GET ${LIST}/{id} → {"id","name","status","phase","halted_reason","counts":{"targeted","excluded","queued","sent","delivered","read","replied","failed","opted_out"}}`,
];
const FUNNEL = ['targeted', 'sent', 'delivered', 'read', 'replied'];

function statusBadge(s) {
  return badge(s || '', s === 'running' || s === 'completed' ? 'ok' : s === 'halted' || s === 'cancelled' ? 'bad' : 'warn');
}

function compose(ctx, onCreated) {
  const name = h('input', { type: 'text', required: true, maxlength: 200 });
  const kindName = nextId('kind');
  const kindJ = h('input', { type: 'radio', name: kindName, value: 'journey', checked: true, id: nextId('k') });
  const kindT = h('input', { type: 'radio', name: kindName, value: 'template', id: nextId('k') });
  const journey = h('select', {});
  const template = h('select', {});
  const params = h('textarea', { rows: 2, dir: 'auto' });
  const segment = h('textarea', { rows: 2, dir: 'ltr', spellcheck: 'false', required: true });
  const previewOut = h('div', { 'aria-live': 'polite' });
  const percent = h('input', { type: 'number', min: 1, max: 100, value: 5 });
  const hold = h('input', { type: 'number', min: 0, max: 10080, value: 60 });
  const haltOpt = h('input', { type: 'number', min: 0, max: 100, step: '0.1', value: 2 });
  const haltFail = h('input', { type: 'number', min: 0, max: 100, step: '0.1', value: 5 });
  const haltNeg = h('input', { type: 'number', min: 0, max: 100, step: '0.1', value: 10 });
  const confirm = h('input', { type: 'checkbox', id: nextId('c') });
  const status = h('p', { class: 'form-status', role: 'status' });
  const jField = field(t('journey'), journey);
  const tField = h('div', {}, field(t('template'), template), field(t('template_params'), params));
  const sync = () => { jField.hidden = !kindJ.checked; tField.hidden = kindJ.checked; };
  kindJ.addEventListener('change', sync); kindT.addEventListener('change', sync); sync();

  api.get('/api/v1/journeys').then((r) => clear(journey, (r.items || []).map((j) => h('option', { value: j.id }, j.name || j.id))))
    .catch((err) => journey.replaceWith(failure(err, ['GET /api/v1/journeys'])));
  api.get('/api/v1/templates').then((r) => clear(template, (r.items || []).filter((x) => x.status === 'APPROVED')
    .map((x) => h('option', { value: `${x.name}|${x.language}` }, `${x.name} (${x.language}, ${x.category})`))))
    .catch((err) => template.replaceWith(failure(err, ['GET /api/v1/templates'])));

  async function preview() {
    try {
      const r = await api.post('/api/v1/segments/preview', { query: segment.value, purpose: 'marketing' });
      const ex = Object.entries(r.excluded || {}).filter(([, n]) => n > 0);
      clear(previewOut, h('p', { class: 'count' }, t('match_count', { n: fmtNumber(r.count) })),
        ex.length ? table([{ label: t('excluded_by_reason'), cell: (e) => h('code', {}, e[0]) }, { label: '#', cell: (e) => fmtNumber(e[1]) }], ex) : null);
    } catch (err) {
      clear(previewOut, err.code === 'invalid_query' ? h('p', { class: 'query-error' }, t('query_error', { message: err.message })) : failure(err, ['POST /api/v1/segments/preview']));
    }
  }

  return h('form', { class: 'panel', 'aria-labelledby': 'new-campaign', onsubmit: async (e) => {
    e.preventDefault();
    const body = {
      name: name.value, purpose: 'marketing', segment: segment.value, confirm: confirm.checked,
      canary: { percent: Number(percent.value), hold_minutes: Number(hold.value),
        halt: { opt_out_rate: Number(haltOpt.value) / 100, failure_rate: Number(haltFail.value) / 100, negative_rate: Number(haltNeg.value) / 100 } },
    };
    if (kindJ.checked) body.journey_id = journey.value;
    else {
      const [tn, tl] = template.value.split('|');
      body.template = { name: tn, language: tl, params: params.value.split('\n').filter(Boolean) };
    }
    try {
      const c = await api.post(LIST, body);
      await api.post(`${LIST}/${api.seg(c.id)}/launch`);
      onCreated(c.id);
    } catch (err) {
      status.textContent = t('error', { message: err.message });
    }
  } },
  h('h2', { id: 'new-campaign' }, t('new_campaign')),
  field(t('campaign_name'), name),
  h('fieldset', {}, h('legend', {}, t('campaign_kind')),
    h('div', { class: 'check' }, kindJ, h('label', { for: kindJ.id }, t('kind_journey'))),
    h('div', { class: 'check' }, kindT, h('label', { for: kindT.id }, t('kind_template')))),
  jField, tField,
  field(t('audience_segment'), segment, t('segment_help')),
  h('button', { type: 'button', class: 'secondary', onclick: preview }, t('preview')), previewOut,
  h('fieldset', {}, h('legend', {}, t('canary')),
    h('div', { class: 'form-row' }, field(t('canary_percent'), percent), field(t('canary_hold'), hold)),
    h('div', { class: 'form-row' }, field(t('halt_opt_out'), haltOpt), field(t('halt_failures'), haltFail), field(t('halt_negative'), haltNeg))),
  h('div', { class: 'check' }, confirm, h('label', { for: confirm.id }, t('confirm_large'))),
  h('button', { type: 'submit' }, t('create_and_launch')), status);
}

async function renderOne(ctx, id) {
  const { root } = ctx;
  const enc = api.seg(id);
  const head = h('div', {});
  const body = h('div', {}, loading());
  const canvas = h('canvas', { role: 'img', 'aria-label': t('funnel') });
  let funnel = null;
  let timer = null;
  let stopped = false;
  clear(root, head, h('p', {}, h('a', { href: '#/campaigns' }, t('campaigns_title'))), body,
    h('section', { class: 'panel' }, h('h2', {}, t('funnel')), h('div', { class: 'chart-box' }, canvas)));
  async function load() {
    try {
      const c = await api.get(`${LIST}/${enc}`);
      if (stopped) return;
      const n = c.counts || {};
      const done = n.targeted ? (n.sent || 0) / n.targeted : 0;
      const act = (verb) => h('button', { type: 'button', class: 'secondary', onclick: async () => { await api.post(`${LIST}/${enc}/${verb}`).catch(() => {}); load(); } }, t(verb));
      clear(head, pageHeader(h('bdi', {}, c.name || id), statusBadge(c.status),
        c.status === 'running' ? act('pause') : c.status === 'paused' || c.status === 'halted' ? act('resume') : null));
      clear(body, h('section', { class: 'panel' }, h('h2', {}, t('progress')),
        h('progress', { max: 1, value: done, 'aria-label': t('progress') }), ' ', fmtPercent(done),
        c.phase ? h('p', {}, badge(c.phase)) : null,
        c.halted_reason ? h('p', { class: 'query-error' }, t('halted_reason', { reason: c.halted_reason })) : null,
        h('p', { class: 'hint' }, FUNNEL.concat(['failed', 'opted_out']).map((k) => `${t('funnel_' + k)}: ${fmtNumber(n[k] || 0)}`).join(' · '))));
      const data = FUNNEL.map((k) => n[k] || 0);
      if (!funnel) {
        funnel = chart(canvas, { type: 'bar', data: { labels: FUNNEL.map((k) => t('funnel_' + k)), datasets: [{ label: t('funnel'), data, backgroundColor: [COLORS.muted, COLORS.sent, COLORS.delivered, COLORS.read, COLORS.replied] }] },
          options: { indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { display: false } } } });
      } else { funnel.data.datasets[0].data = data; funnel.update('none'); }
      timer = setTimeout(load, 2000);
    } catch (err) {
      clear(body, failure(err, SHAPES));
    }
  }
  await load();
  return () => { stopped = true; clearTimeout(timer); if (funnel) funnel.destroy(); };
}

export default async function render(ctx) {
  if (ctx.params[0]) return renderOne(ctx, ctx.params[0]);
  const { root, session } = ctx;
  clear(root, pageHeader(t('campaigns_title')), loading());
  let items;
  try {
    items = (await api.get(LIST)).items || [];
  } catch (err) {
    clear(root, pageHeader(t('campaigns_title')), failure(err, SHAPES));
    return null;
  }
  const canCompose = session.agent.role === 'admin';
  clear(root, pageHeader(t('campaigns_title')),
    items.length ? h('section', { class: 'panel' }, table([
      { label: t('campaign_name'), cell: (c) => h('a', { href: '#/campaigns/' + encodeURIComponent(c.id) }, h('bdi', {}, c.name || c.id)) },
      { label: t('campaign_status'), cell: (c) => statusBadge(c.status) },
      { label: t('funnel_sent'), cell: (c) => fmtNumber((c.counts || {}).sent || 0) },
      { label: t('created'), cell: (c) => fmtDateTime(c.created_at) },
    ], items)) : h('p', { class: 'muted' }, t('no_campaigns')),
    canCompose ? compose(ctx, (id) => ctx.navigate('#/campaigns/' + encodeURIComponent(id))) : h('p', { class: 'muted' }, t('forbidden_role', { role: t('role_' + session.agent.role) })));
  return null;
}
