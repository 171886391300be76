// settings.js — quiet hours, frequency caps, business hours and WhatsApp numbers
// (GET/PUT /api/v1/settings, GET /api/v1/numbers), and the signed-in account.
import * as api from '../api.js';
import { t, fmtNumber, fmtDateTime } from '../i18n.js';
import { h, clear, pageHeader, loading, failure, field, table, badge } from '../ui.js';

const SETTINGS = '/api/v1/settings';
const NUMBERS = '/api/v1/numbers';

export default async function render(ctx) {
  const { root, session } = ctx;
  const a = session.agent;
  const admin = a.role === 'admin';
  const settingsBox = h('section', { class: 'panel' }, loading());
  const numbersBox = h('section', { class: 'panel' }, h('h2', {}, t('numbers')), loading());
  clear(root, pageHeader(t('settings_title')),
    h('section', { class: 'panel' }, h('h2', {}, t('your_account')),
      h('dl', { class: 'facts' },
        h('dt', {}, t('email')), h('dd', {}, h('bdi', {}, a.email)),
        h('dt', {}, t('role')), h('dd', {}, t('role_' + a.role)),
        h('dt', {}, t('session_ends')), h('dd', {}, fmtDateTime(session.expires_at)))),
    settingsBox, numbersBox);

  try {
    const s = await api.get(SETTINGS);
    const q = s.quiet_hours || {};
    const caps = s.caps || {};
    const from = h('input', { type: 'time', value: q.start || '21:00', disabled: !admin });
    const to = h('input', { type: 'time', value: q.end || '08:00', disabled: !admin });
    const capM = h('input', { type: 'number', min: 0, max: 100, value: caps.marketing_per_week ?? '', disabled: !admin });
    const capS = h('input', { type: 'number', min: 0, max: 100, value: caps.surveys_per_month ?? '', disabled: !admin });
    const target = h('input', { type: 'number', min: 1, max: 1440, value: s.first_response_target_minutes ?? '', disabled: !admin });
    const hours = s.business_hours || [];
    const status = h('p', { class: 'form-status', role: 'status' });
    const form = h('form', { onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api.put(SETTINGS, {
          quiet_hours: { start: from.value, end: to.value },
          caps: { marketing_per_week: Number(capM.value), surveys_per_month: Number(capS.value) },
          first_response_target_minutes: Number(target.value),
        });
        status.textContent = t('saved');
      } catch (err) { status.textContent = t('error', { message: err.message }); }
    } },
    h('h2', {}, t('quiet_hours')), h('div', { class: 'form-row' }, field(t('quiet_from'), from), field(t('quiet_to'), to)),
    h('h2', {}, t('caps')), h('div', { class: 'form-row' }, field(t('cap_marketing'), capM), field(t('cap_surveys'), capS)),
    h('h2', {}, t('business_hours')),
    table([{ label: '', cell: (d) => t('weekday_' + d.day) }, { label: '', cell: (d) => (d.open ? `${d.open}–${d.close}` : t('closed')) }], hours),
    field(t('first_response_target'), target),
    admin ? h('button', { type: 'submit' }, t('save')) : h('p', { class: 'muted' }, t('forbidden_role', { role: t('role_' + a.role) })),
    status);
    clear(settingsBox, form);
  } catch (err) {
    clear(settingsBox, h('h2', {}, t('quiet_hours') + ' · ' + t('caps') + ' · ' + t('business_hours')),
      failure(err, [`GET ${SETTINGS} → {"quiet_hours":{"start":"21:00","end":"08:00"},"caps":{"marketing_per_week":N,"surveys_per_month":N},"business_hours":[{"day":0..6,"open":"08:00","close":"18:00"}],"first_response_target_minutes":N}`, `PUT ${SETTINGS} (admin), same shape`]));
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
