// templates.js — the template registry: name, category, languages with their status;
// synchronise with the Cloud API (GET /api/v1/templates, POST /api/v1/templates/sync).
import * as api from '../api.js';
import { t, fmtDateTime } from '../i18n.js';
import { h, clear, pageHeader, loading, failure, table, badge } from '../ui.js';

const LIST = '/api/v1/templates';
const SYNC = '/api/v1/templates/sync';

export function statusBadge(s) {
  const kind = s === 'APPROVED' ? 'ok' : s === 'REJECTED' || s === 'DISABLED' || s === 'PAUSED' ? 'bad' : 'warn';
  return badge(s || '?', kind);
}

export default async function render(ctx) {
  const { root, session } = ctx;
  const out = h('div', {}, loading());
  const status = h('p', { class: 'form-status', role: 'status' });
  const admin = session.agent.role === 'admin';
  const sync = h('button', { type: 'button', disabled: !admin, title: admin ? null : t('forbidden_role', { role: t('role_' + session.agent.role) }), onclick: async () => {
    sync.disabled = true;
    try { await api.post(SYNC); status.textContent = t('synchronised'); await load(); } catch (err) {
      status.textContent = err.missing ? t('not_available_title') + ': POST ' + SYNC : t('error', { message: err.message });
    }
    sync.disabled = false;
  } }, t('synchronise'));
  clear(root, pageHeader(t('templates_title'), h('div', {}, sync, status)), out);

  async function load() {
    try {
      const items = (await api.get(LIST)).items || [];
      const byName = new Map();
      for (const x of items) {
        if (!byName.has(x.name)) byName.set(x.name, { name: x.name, category: x.category, langs: [], updated: x.updated_at });
        byName.get(x.name).langs.push(x);
      }
      const rows = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
      clear(out, rows.length ? table([
        { label: t('name'), cell: (r) => h('code', {}, r.name) },
        { label: t('category'), cell: (r) => r.category || '' },
        { label: t('languages'), cell: (r) => h('span', { class: 'chips' }, r.langs.map((l) => h('span', {}, h('span', { class: 'badge' }, l.language), ' ', statusBadge(l.status)))) },
        { label: t('quality'), cell: (r) => r.langs.map((l) => l.quality).filter(Boolean).join(', ') },
        { label: t('created'), cell: (r) => fmtDateTime(r.updated) },
      ], rows) : h('p', { class: 'muted' }, t('no_templates')));
    } catch (err) {
      clear(out, failure(err, [`GET ${LIST} → {"items":[{"id","name","language","category","status","quality","components","updated_at"}]}`, `POST ${SYNC} (admin) → {"synced":N}`]));
    }
  }
  await load();
  return null;
}
