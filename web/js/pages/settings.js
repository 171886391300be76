// settings.js — quiet hours, frequency caps, business hours and WhatsApp numbers
// (GET/PUT /api/v1/settings, GET /api/v1/numbers), and the signed-in account.
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
    const q = s.quiet_hours || {};
    const caps = s.caps || {};
    const from = h('input', { type: 'time', value: q.start || '21:00', disabled: !admin });
    const to = h('input', { type: 'time', value: q.end || '08:00', disabled: !admin });
    const capM = h('input', { type: 'number', min: 0, max: 100, value: caps.marketing_per_week ?? '', disabled: !admin });
    const capS = h('input', { type: 'number', min: 0, max: 100, value: caps.surveys_per_month ?? '', disabled: !admin });
    const status = h('p', { class: 'form-status', role: 'status' });
    const form = h('form', { onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api.put(SETTINGS, {
          quiet_hours: { start: from.value, end: to.value },
          caps: { marketing_per_week: Number(capM.value), surveys_per_month: Number(capS.value) },
        });
        status.textContent = t('saved');
      } catch (err) { status.textContent = t('error', { message: err.message }); }
    } },
    h('h2', {}, t('quiet_hours')), h('div', { class: 'form-row' }, field(t('quiet_from'), from), field(t('quiet_to'), to)),
    h('h2', {}, t('caps')), h('div', { class: 'form-row' }, field(t('cap_marketing'), capM), field(t('cap_surveys'), capS)),
    admin ? h('button', { type: 'submit' }, t('save')) : h('p', { class: 'muted' }, t('forbidden_role', { role: t('role_' + a.role) })),
    status);
    clear(settingsBox, form);
  } catch (err) {
    clear(settingsBox, h('h2', {}, t('quiet_hours') + ' · ' + t('caps')),
      failure(err, [`GET ${SETTINGS} → {"quiet_hours":{"start":"21:00","end":"08:00"},"caps":{"marketing_per_week":N,"surveys_per_month":N}}`, `PUT ${SETTINGS} (admin), same shape`]));
  }

  try {
    const items = (await api.get(NUMBERS)).items || [];
    clear(numbersBox, h('h2', {}, t('numbers')), table([
      { label: t('number_display'), cell: (n) => h('span', { dir: 'ltr' }, n.display) },
      { label: 'phone_number_id', cell: (n) => h('code', {}, n.phone_number_id) },
      { label: t('number_rate'), cell: (n) => fmtNumber(n.rate_mps) },
      { label: t('number_status'), cell: (n) => badge(n.status, n.status === 'active' ? 'ok' : 'warn') },
    ], items));
  } catch (err) {
    clear(numbersBox, h('h2', {}, t('numbers')), failure(err, [`GET ${NUMBERS} → {"items":[{"id","display","phone_number_id","waba_id","rate_mps","status"}]}`]));
  }
  return null;
}
