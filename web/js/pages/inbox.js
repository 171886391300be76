// inbox.js — conversations handed to people: the list, the thread, and a reply box that
// knows the 24-hour window (free text inside it, an approved template outside it).
// GET /api/v1/conversations, GET /api/v1/messages?contact_id=…, POST /api/v1/messages,
// GET /api/v1/templates.
import * as api from '../api.js';
import { t, fmtDateTime } from '../i18n.js';
import { h, clear, pageHeader, loading, failure, field, badge, messageText } from '../ui.js';

const CONVERSATIONS = '/api/v1/conversations';

export default async function render(ctx) {
  const { root, session } = ctx;
  const canReply = session.agent.role !== 'viewer';
  const list = h('div', {}, loading());
  const thread = h('section', { class: 'panel', 'aria-live': 'polite' }, h('p', { class: 'muted' }, t('pick_conversation')));
  clear(root, pageHeader(t('inbox_title')), h('div', { class: 'inbox' }, h('section', { 'aria-label': t('conversations') }, list), thread));

  let items;
  try {
    items = (await api.get(CONVERSATIONS)).items || [];
  } catch (err) {
    clear(list, failure(err, [
      `GET ${CONVERSATIONS} → {"items":[{"contact_id","contact":{"name","phone","language"},"last_message_at","window_expires_at","status","unread"}]}`,
      'GET /api/v1/messages?contact_id=… → {"items":[{"direction","type","status","at","payload"}]}',
      'POST /api/v1/messages {"contact_id","purpose":"service","text"|"template":{"name","language","params"}} → 202 {"id","decision"}',
    ]));
    clear(thread);
    return null;
  }
  if (!items.length) { clear(list, h('p', { class: 'muted' }, t('no_conversations'))); return null; }

  let selected = items.find((c) => c.contact_id === ctx.params[0]);
  const buttons = h('ul', { class: 'conv-list' });
  function renderList() {
    clear(buttons, items.map((c) => h('li', {}, h('button', { type: 'button', 'aria-pressed': String(c === selected), onclick: () => open(c) },
      h('bdi', {}, (c.contact && (c.contact.name || c.contact.phone)) || c.contact_id), ' ',
      c.unread ? badge(String(c.unread), 'ok') : null,
      h('div', { class: 'hint' }, fmtDateTime(c.last_message_at))))));
  }
  clear(list, buttons);

  async function open(c) {
    selected = c;
    history.replaceState(null, '', '#/inbox/' + encodeURIComponent(c.contact_id));
    renderList();
    clear(thread, loading());
    const enc = api.seg(c.contact_id);
    let msgs = [];
    try { msgs = (await api.get(`/api/v1/messages?contact_id=${enc}&limit=100`)).items || []; } catch (err) {
      clear(thread, failure(err, ['GET /api/v1/messages?contact_id=… → {"items":[…]}']));
      return;
    }
    const open24 = c.window_expires_at && new Date(c.window_expires_at) > new Date();
    const status = h('p', { class: 'form-status', role: 'status' });
    let composer;
    if (!canReply) {
      composer = h('p', { class: 'muted' }, t('forbidden_role', { role: t('role_' + session.agent.role) }));
    } else if (open24) {
      const text = h('textarea', { rows: 3, dir: 'auto', maxlength: 4096 });
      composer = h('form', { onsubmit: async (e) => {
        e.preventDefault();
        await sendMessage({ contact_id: c.contact_id, purpose: 'service', text: text.value }, status);
        text.value = '';
      } }, field(t('message_text'), text), h('button', { type: 'submit' }, t('send')));
    } else {
      const sel = h('select', {});
      const params = h('textarea', { rows: 2, dir: 'auto' });
      composer = h('form', { onsubmit: async (e) => {
        e.preventDefault();
        const [name, language] = sel.value.split('|');
        await sendMessage({ contact_id: c.contact_id, purpose: 'service', template: { name, language, params: params.value.split('\n').filter(Boolean) } }, status);
      } }, field(t('choose_template'), sel), field(t('template_params'), params), h('button', { type: 'submit' }, t('send')));
      api.get('/api/v1/templates').then((r) => {
        clear(sel, (r.items || []).filter((x) => x.status === 'APPROVED').map((x) => h('option', { value: `${x.name}|${x.language}` }, `${x.name} (${x.language})`)));
      }).catch((err) => sel.replaceWith(failure(err, ['GET /api/v1/templates'])));
    }
    clear(thread,
      h('h2', {}, h('bdi', {}, (c.contact && (c.contact.name || c.contact.phone)) || c.contact_id)),
      h('ol', { class: 'timeline' }, msgs.map((m) => h('li', {}, h('time', { datetime: m.at }, fmtDateTime(m.at)),
        h('div', {}, badge(t('direction_' + m.direction)), ' ', h('span', { dir: 'auto' }, messageText(m)))))),
      h('p', { class: 'hint' }, open24 ? t('window_open', { until: fmtDateTime(c.window_expires_at) }) : t('window_closed')),
      composer, status);
  }

  async function sendMessage(body, status) {
    try {
      const r = await api.post('/api/v1/messages', body);
      const d = r.decision || {};
      status.textContent = d.outcome === 'allow' ? t('sent_ok') : t('not_sent_reason', { reason: d.message || d.reason });
    } catch (err) {
      status.textContent = t('error', { message: err.message });
    }
  }

  renderList();
  if (selected) open(selected);
  return null;
}
