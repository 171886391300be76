// settings.js — quiet hours, frequency caps, business hours and WhatsApp numbers
// (GET/PUT /api/v1/settings, GET /api/v1/settings/hours, GET /api/v1/numbers,
// PUT /api/v1/numbers/{id}), and the signed-in account.
import * as api from '../api.js';
import { t, fmtNumber, fmtDateTime } from '../i18n.js';
import { h, clear, pageHeader, loading, failure, field, table, badge } from '../ui.js';

const SETTINGS = '/api/v1/settings';
const NUMBERS = '/api/v1/numbers';
const HOURS = '/api/v1/settings/hours';
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

// Business hours and the inbox's first-response target (src/core/hours.h carries the shape).
async function hoursSection(box, admin, role) {
  let hrs;
  try {
    hrs = await api.get(HOURS);
  } catch (err) {
    clear(box, h('h2', {}, t('business_hours')), failure(err, [`GET ${HOURS}`, `PUT ${HOURS} (admin)`]));
    return;
  }
  const enabled = h('input', { type: 'checkbox', id: 'hours-enabled', checked: !!hrs.enabled, disabled: !admin });
  const zone = h('input', { type: 'text', value: hrs.time_zone || '', disabled: !admin, dir: 'ltr' });
  const days = DAYS.map((d, i) => ({ d, i, input: h('input', { type: 'text', value: (hrs.week || {})[d] || 'closed', disabled: !admin, dir: 'ltr' }) }));
  const target = h('input', { type: 'number', min: 1, max: 1440, value: hrs.first_response_target_minutes ?? '', disabled: !admin });
  const promise = h('input', { type: 'number', min: 1, max: 10080, value: hrs.reply_promise_minutes ?? '', disabled: !admin });
  const auto = h('input', { type: 'checkbox', id: 'hours-auto', checked: !!hrs.auto_reply, disabled: !admin });
  const status = h('p', { class: 'form-status', role: 'status' });
  clear(box, h('form', { onsubmit: async (e) => {
    e.preventDefault();
    const week = {};
    for (const x of days) week[x.d] = x.input.value.trim() || 'closed';
    const body = Object.assign({}, hrs, { enabled: enabled.checked, time_zone: zone.value.trim(), week,
      first_response_target_minutes: Number(target.value), reply_promise_minutes: Number(promise.value), auto_reply: auto.checked });
    delete body.open_now; delete body.next_open;
    try { hrs = await api.put(HOURS, body); status.textContent = t('saved'); } catch (err) { status.textContent = t('error', { message: err.message }); }
  } },
  h('h2', {}, t('business_hours')),
  hrs.open_now !== undefined ? h('p', {}, badge(hrs.open_now ? t('open_now') : t('closed_now', { at: fmtDateTime(hrs.next_open) }), hrs.open_now ? 'ok' : 'warn')) : null,
  h('div', { class: 'check' }, enabled, h('label', { for: enabled.id }, t('hours_enabled'))),
  field(t('hours_zone'), zone),
  h('div', { class: 'form-row' }, days.map((x) => field(t('weekday_' + x.i), x.input))),
  h('p', { class: 'hint' }, t('hours_day_hint')),
  h('div', { class: 'form-row' }, field(t('first_response_target'), target), field(t('reply_promise'), promise)),
  h('div', { class: 'check' }, auto, h('label', { for: auto.id }, t('auto_reply'))),
  admin ? h('button', { type: 'submit' }, t('save')) : h('p', { class: 'muted' }, t('forbidden_role', { role: t('role_' + role) })),
  status));
}

export default async function render(ctx) {
  const { root, session } = ctx;
  const a = session.agent;
  const admin = a.role === 'admin';
  const settingsBox = h('section', { class: 'panel' }, loading());
  const numbersBox = h('section', { class: 'panel' }, h('h2', {}, t('numbers')), loading());
  const hoursBox = h('section', { class: 'panel' }, h('h2', {}, t('business_hours')), loading());
  clear(root, pageHeader(t('settings_title')),
    h('section', { class: 'panel' }, h('h2', {}, t('your_account')),
      h('dl', { class: 'facts' },
        h('dt', {}, t('email')), h('dd', {}, h('bdi', {}, a.email)),
        h('dt', {}, t('role')), h('dd', {}, t('role_' + a.role)),
        h('dt', {}, t('session_ends')), h('dd', {}, fmtDateTime(session.expires_at)))),
    hoursBox, settingsBox, numbersBox);
  hoursSection(hoursBox, admin, a.role);

  try {
    const s = await api.get(SETTINGS);
    const q = s.quiet_hours || null;
    const caps = s.caps || {};
    const capValue = (c) => (c === null || c === undefined ? '' : typeof c === 'object' ? c.max : c);
    const quietOn = h('input', { type: 'checkbox', id: 'quiet-on', checked: !!q, disabled: !admin });
    const from = h('input', { type: 'time', value: (q && q.start) || '21:00', disabled: !admin, name: 'quiet_start' });
    const to = h('input', { type: 'time', value: (q && q.end) || '08:00', disabled: !admin, name: 'quiet_end' });
    const capM = h('input', { type: 'number', min: 1, max: 1000, value: capValue(caps.marketing_per_week), disabled: !admin, name: 'cap_marketing', placeholder: t('no_cap') });
    const capS = h('input', { type: 'number', min: 1, max: 1000, value: capValue(caps.surveys_per_month), disabled: !admin, name: 'cap_surveys', placeholder: t('no_cap') });
    const tier = h('input', { type: 'number', min: 1, value: s.tier === 'unlimited' ? '' : s.tier ?? '', disabled: !admin, name: 'tier', placeholder: t('tier_unlimited') });
    const sensitive = h('textarea', { rows: 2, dir: 'ltr', disabled: !admin, name: 'sensitive_categories' });
    sensitive.value = (s.sensitive_categories || []).join(', ');
    const words = h('textarea', { rows: 2, dir: 'auto', disabled: !admin, name: 'optout_words' });
    words.value = (s.optout_words || []).join('\n');
    const status = h('p', { class: 'form-status', role: 'status' });
    const sync = () => { from.disabled = to.disabled = !admin || !quietOn.checked; };
    quietOn.addEventListener('change', sync);
    sync();
    const capOut = (input, c) => {
      const n = input.value === '' ? null : Number(input.value);
      return c && typeof c === 'object' && n !== null ? { max: n, days: c.days } : n;
    };
    const form = h('form', { onsubmit: async (e) => {
      e.preventDefault();
      try {
        const out = await api.put(SETTINGS, {
          quiet_hours: quietOn.checked ? { start: from.value, end: to.value } : false,
          caps: { marketing_per_week: capOut(capM, caps.marketing_per_week), surveys_per_month: capOut(capS, caps.surveys_per_month) },
          tier: tier.value === '' ? 'unlimited' : Number(tier.value),
          sensitive_categories: sensitive.value.split(/[,\n]/).map((x) => x.trim()).filter(Boolean),
          optout_words: words.value.split('\n').map((x) => x.trim()).filter(Boolean),
        });
        status.textContent = t('saved');
        status.dataset.saved = JSON.stringify(out);
      } catch (err) { status.textContent = t('error', { message: err.field ? `${err.field}: ${err.message}` : err.message }); }
    } },
    h('h2', {}, t('quiet_hours')),
    h('div', { class: 'check' }, quietOn, h('label', { for: quietOn.id }, t('quiet_on'))),
    h('div', { class: 'form-row' }, field(t('quiet_from'), from), field(t('quiet_to'), to)),
    h('p', { class: 'hint' }, t('quiet_hint')),
    h('h2', {}, t('caps')), h('div', { class: 'form-row' }, field(t('cap_marketing'), capM), field(t('cap_surveys'), capS)),
    h('h2', {}, t('sending_limits')),
    h('div', { class: 'form-row' }, field(t('tier'), tier, t('tier_hint'))),
    field(t('sensitive_categories'), sensitive, t('sensitive_hint')),
    field(t('optout_words'), words, t('optout_words_hint')),
    admin ? h('button', { type: 'submit' }, t('save')) : h('p', { class: 'muted' }, t('forbidden_role', { role: t('role_' + a.role) })),
    status);
    clear(settingsBox, form);
  } catch (err) {
    clear(settingsBox, h('h2', {}, t('quiet_hours') + ' · ' + t('caps')), failure(err, [`GET ${SETTINGS}`, `PUT ${SETTINGS} (admin)`]));
  }

  async function numbers() {
    try {
      const items = (await api.get(NUMBERS)).items || [];
      clear(numbersBox, h('h2', {}, t('numbers')), table([
        { label: t('number_display'), cell: (n) => h('span', { dir: 'ltr' }, n.display) },
        { label: 'phone_number_id', cell: (n) => h('code', {}, n.phone_number_id) },
        { label: t('number_rate'), cell: (n) => (admin ? h('input', { type: 'number', min: 1, max: 1000, value: n.rate_mps, 'aria-label': `${t('number_rate')} ${n.display}`, 'data-number-rate': n.id, class: 'narrow' }) : fmtNumber(n.rate_mps)) },
        { label: t('number_status'), cell: (n) => badge(t('number_' + n.status), n.status === 'active' ? 'ok' : 'warn') },
        { label: '', cell: (n) => (admin ? h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'secondary small', onclick: async (e) => {
            const rate = Number(e.target.closest('tr').querySelector('[data-number-rate]').value);
            try { await api.put(`${NUMBERS}/${api.seg(n.id)}`, { rate_mps: rate }); await numbers(); } catch (err) { window.alert(t('error', { message: err.message })); }
          } }, t('save')),
          h('button', { type: 'button', class: 'secondary small', onclick: async () => {
            try { await api.put(`${NUMBERS}/${api.seg(n.id)}`, { status: n.status === 'active' ? 'paused' : 'active' }); await numbers(); } catch (err) { window.alert(t('error', { message: err.message })); }
          } }, n.status === 'active' ? t('number_pause') : t('number_resume'))) : null) },
      ], items), h('p', { class: 'hint' }, t('numbers_hint')));
    } catch (err) {
      clear(numbersBox, h('h2', {}, t('numbers')), failure(err, [`GET ${NUMBERS}`]));
    }
  }
  await numbers();
  return null;
}
