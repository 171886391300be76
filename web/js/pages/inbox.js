// inbox.js — the shared inbox: conversations handed to people, the thread, and a reply box
// that knows the 24-hour window (free text inside it, an approved template outside it).
// GET /api/v1/conversations, GET /api/v1/conversations/{id},
// POST /api/v1/conversations/{id}/messages | close | reopen (src/http/api_conversations.c).
import * as api from '../api.js';
import { t, fmtDateTime, fmtNumber } from '../i18n.js';
import { h, clear, pageHeader, loading, failure, field, badge } from '../ui.js';

const LIST = '/api/v1/conversations';
const STATUSES = ['open', 'pending', 'closed', 'all'];
const POLL_MS = 3000;

function who(c) {
  return (c.contact && (c.contact.name || c.contact.phone)) || c.id;
}

function decisionText(d) {
  if (!d) return '';
  if (d.outcome === 'allow') return t('sent_ok');
  if (d.outcome === 'defer') return t('outcome_defer', { until: fmtDateTime(d.until) });
  return t('not_sent_reason', { reason: d.message || d.reason });
}

export default async function render(ctx) {
  const { root, session } = ctx;
  const canReply = session.agent.role !== 'viewer';
  const status = h('select', {}, STATUSES.map((s) => h('option', { value: s }, t('conv_' + s))));
  status.value = sessionStorage.getItem('cw.inbox.status') || 'open';
  const list = h('div', { 'aria-live': 'polite' }, loading());
  const thread = h('section', { class: 'panel thread' }, h('p', { class: 'muted' }, t('pick_conversation')));
  clear(root, pageHeader(t('inbox_title')),
    h('div', { class: 'inbox' },
      h('section', { 'aria-label': t('conversations') }, h('div', { class: 'form-row' }, field(t('status'), status)), list),
      thread));

  let items = [];
  let selectedId = ctx.params[0] || null;
  let timer = null;
  let stopped = false;

  function renderList() {
    if (!items.length) { clear(list, h('p', { class: 'muted' }, t('no_conversations'))); return; }
    clear(list, h('ul', { class: 'conv-list' }, items.map((c) => h('li', {},
      h('button', { type: 'button', 'aria-pressed': String(c.id === selectedId), 'data-conversation': c.id, onclick: () => open(c.id) },
        h('span', { class: 'conv-head' }, h('bdi', { class: 'conv-name' }, who(c)),
          c.unread ? badge(fmtNumber(c.unread), 'ok') : null,
          c.overdue ? badge(t('overdue'), 'bad') : null),
        c.last_message && c.last_message.preview ? h('span', { class: 'conv-preview', dir: 'auto' }, c.last_message.preview) : null,
        h('span', { class: 'hint' }, badge(t('conv_' + c.status)), ' ', fmtDateTime(c.last_message_at)))))));
  }

  async function loadList() {
    try {
      items = (await api.get(`${LIST}?status=${api.seg(status.value)}&limit=100`)).items || [];
      if (!stopped) renderList();
      return true;
    } catch (err) {
      clear(list, failure(err, [`GET ${LIST}?status=… → {"items":[{"id","status","contact":{"id","name"},"unread","last_message_at","window":{"open","expires_at"}}]}`]));
      clear(thread);
      return false;
    }
  }

  function bubble(m) {
    if (m.kind === 'refused') {
      return h('li', { class: 'thread-item refused' }, h('time', { datetime: m.at }, fmtDateTime(m.at)),
        h('div', {}, badge(t('outcome_deny'), 'bad'), ' ', h('code', {}, (m.decision && m.decision.reason) || ''), ' ', (m.decision && m.decision.message) || ''));
    }
    const by = m.by && m.by.kind ? t('by_' + m.by.kind) : t('direction_' + m.direction);
    return h('li', { class: 'thread-item ' + (m.direction === 'in' ? 'from-contact' : 'to-contact') },
      h('time', { datetime: m.at }, fmtDateTime(m.at)),
      h('div', {}, badge(by, m.direction === 'in' ? null : 'ok'), ' ',
        m.template ? h('code', {}, `${m.template.name} (${m.template.language || ''})`) : null, ' ',
        h('span', { dir: 'auto' }, m.text ?? ''), ' ',
        m.status ? h('span', { class: 'hint' }, t('status_' + m.status)) : null));
  }

  async function open(id, message) {
    selectedId = id;
    history.replaceState(null, '', '#/inbox/' + encodeURIComponent(id));
    renderList();
    clear(thread, loading());
    let r;
    try {
      r = await api.get(`${LIST}/${api.seg(id)}?limit=100`);
    } catch (err) {
      clear(thread, failure(err, [`GET ${LIST}/{id}`]));
      return;
    }
    if (stopped || selectedId !== id) return;
    const c = r.conversation;
    const win = c.window || {};
    const note = h('p', { class: 'form-status', role: 'status' }, message || '');
    const composer = h('div', {});
    const templates = r.templates || [];

    function textForm() {
      const text = h('textarea', { rows: 3, dir: 'auto', maxlength: 4096, required: true });
      return h('form', { onsubmit: async (e) => {
        e.preventDefault();
        if (await reply({ text: text.value })) text.value = '';
      } }, field(t('message_text'), text), h('button', { type: 'submit' }, t('send')));
    }
    function templateForm(list) {
      if (!list.length) return h('p', { class: 'muted' }, t('no_templates'));
      const sel = h('select', {}, list.map((x, i) => h('option', { value: String(i) }, `${x.name} (${x.language}, ${x.category})`)));
      const params = h('textarea', { rows: 2, dir: 'auto' });
      return h('form', { onsubmit: async (e) => {
        e.preventDefault();
        const x = list[Number(sel.value)];
        await reply({ template: { name: x.name, language: x.language, params: params.value.split('\n').filter(Boolean) } });
      } }, field(t('choose_template'), sel), field(t('template_params'), params, t('template_params_hint')), h('button', { type: 'submit' }, t('send')));
    }
    async function reply(body) {
      try {
        const res = await api.post(`${LIST}/${api.seg(id)}/messages`, body);
        await loadList();
        open(id, decisionText(res.decision));
        return true;
      } catch (err) {
        note.textContent = t('error', { message: err.message });
        if (err.status === 422 && err.code !== 'invalid_field') clear(composer, h('p', { class: 'hint' }, t('window_closed')), templateForm(templates));
        return false;
      }
    }
    if (!canReply) clear(composer, h('p', { class: 'muted' }, t('forbidden_role', { role: t('role_' + session.agent.role) })));
    else if (c.status === 'closed') clear(composer);
    else if (win.open) clear(composer, h('p', { class: 'hint' }, t('window_open', { until: fmtDateTime(win.expires_at) })), textForm());
    else clear(composer, h('p', { class: 'hint' }, t('window_closed')), templateForm(templates));

    const act = (verb, label) => h('button', { type: 'button', class: 'secondary', onclick: async () => {
      try { await api.post(`${LIST}/${api.seg(id)}/${verb}`); await loadList(); open(id); } catch (err) { note.textContent = t('error', { message: err.message }); }
    } }, label);
    clear(thread,
      h('div', { class: 'page-header' }, h('h2', {}, h('bdi', {}, who(c)), ' ', badge(t('conv_' + c.status))),
        canReply ? (c.status === 'closed' ? act('reopen', t('reopen')) : act('close', t('close_conversation'))) : null),
      c.first_response_due && c.status === 'open' ? h('p', { class: 'hint' }, t('first_response_due', { at: fmtDateTime(c.first_response_due) })) : null,
      h('ol', { class: 'timeline' }, (r.messages || []).slice().reverse().map(bubble)),
      composer, note);
  }

  status.addEventListener('change', async () => {
    sessionStorage.setItem('cw.inbox.status', status.value);
    await loadList();
  });
  if (!(await loadList())) return null;
  if (selectedId) open(selectedId);
  const poll = async () => {
    if (stopped) return;
    if (!document.hidden) await loadList();
    timer = setTimeout(poll, POLL_MS);
  };
  timer = setTimeout(poll, POLL_MS);
  return () => { stopped = true; clearTimeout(timer); };
}
