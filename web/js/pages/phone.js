// phone.js — the sandbox phone: pick a simulated patient and chat with the clinic as on
// WhatsApp. Reads the simulator's control API (DESIGN.md §6): GET /sim/users,
// GET /sim/users/{wa_id}/messages (polled), POST /sim/users/{wa_id}/messages for what the
// patient types or taps, PUT /sim/users/{wa_id} for how that phone behaves.
import * as api from '../api.js';
import { t, fmtTime, fmtChatDay, fmtDateTime } from '../i18n.js';
import { h, clear, pageHeader, loading, errorBox, nextId } from '../ui.js';

const POLL_MS = 1000;
const SVGNS = 'http://www.w3.org/2000/svg';

// A map pin, drawn (an emoji needs a font that a kiosk or a test browser may not have).
function pinIcon() {
  const svg = document.createElementNS(SVGNS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  const p = document.createElementNS(SVGNS, 'path');
  p.setAttribute('d', 'M12 2a7 7 0 0 0-7 7c0 5.2 7 13 7 13s7-7.8 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 12 6a2.5 2.5 0 0 1 0 5.5z');
  svg.append(p);
  return svg;
}
const FAST_POLL_MS = 300;

// WhatsApp's text formatting (*bold*, _italic_, ~strike~, ```mono```) and links, as nodes.
function formatted(text) {
  const out = [];
  const re = /(\*[^*\n]+\*|_[^_\n]+_|~[^~\n]+~|```[\s\S]+?```|https?:\/\/[^\s]+)/g;
  let last = 0;
  for (const m of String(text || '').matchAll(re)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const s = m[0];
    if (s.startsWith('http')) out.push(h('a', { href: s, target: '_blank', rel: 'noopener noreferrer' }, s));
    else if (s.startsWith('```')) out.push(h('code', {}, s.slice(3, -3)));
    else out.push(h({ '*': 'strong', _: 'em', '~': 's' }[s[0]], {}, s.slice(1, -1)));
    last = m.index + s.length;
  }
  if (last < String(text || '').length) out.push(text.slice(last));
  return out;
}

// One line of text that stands for a message (quotes, previews).
function summary(m) {
  if (!m) return '';
  const c = m[m.type] || {};
  switch (m.type) {
  case 'text': return c.body || '';
  case 'interactive':
    if (m.from === 'user') return (c.button_reply || c.list_reply || {}).title || '';
    return (c.body && c.body.text) || '';
  case 'button': return c.text || '';
  case 'template': return (m.rendered && m.rendered.body) || (c.name || '');
  case 'location': return '⌖ ' + (c.name || c.address || `${c.latitude}, ${c.longitude}`);
  default: return t(m.type) || m.type;
  }
}

// The quick-reply payload of template button i, from the request the clinic sent.
function templatePayload(m, i) {
  const comps = (m.template && m.template.components) || [];
  const b = comps.find((c) => c.type === 'button' && String(c.index) === String(i));
  const p = b && b.parameters && b.parameters.find((x) => x.type === 'payload');
  return p ? p.payload : null;
}

export default async function render(ctx) {
  const { root } = ctx;
  clear(root, pageHeader(t('phone_title')), h('p', { class: 'lead' }, t('phone_intro')), loading());

  let users;
  try {
    users = (await api.get('/sim/users?limit=200')).users || [];
  } catch (err) {
    clear(root, pageHeader(t('phone_title')),
      err.missing || err.status === 404 ? h('div', { class: 'notice', role: 'note' }, t('no_sim')) : errorBox(err));
    return null;
  }

  let current = users.find((u) => u.wa_id === ctx.params[0]) || users[0];
  let transcript = [];
  let lastJson = '';
  let timer = null;
  let stopped = false;
  let fastUntil = 0;

  const patientList = h('ul', { class: 'patient-list' });
  const patientSelect = h('select', { id: nextId('patient'), class: 'patient-select' });
  const chat = h('div', { class: 'chat', role: 'log', 'aria-live': 'polite', tabindex: '0' });
  const title = h('div', { class: 'phone-title' });
  const windowNote = h('div', { class: 'phone-sub' });
  const input = h('input', { type: 'text', id: nextId('msg'), autocomplete: 'off', placeholder: t('type_message'), maxlength: 4096, dir: 'auto' });
  const sendStatus = h('p', { class: 'form-status', role: 'status' });
  const settings = h('div', { class: 'phone-settings' });
  const sheet = h('dialog', { class: 'sheet' });

  async function send(body) {
    if (!current) return;
    sendStatus.textContent = '';
    try {
      await api.post(`/sim/users/${api.seg(current.wa_id)}/messages`, body);
      fastUntil = Date.now() + 8000;
      await refresh();
    } catch (err) {
      sendStatus.textContent = t('error', { message: err.message });
    }
  }

  function bubbleMeta(m) {
    const meta = h('span', { class: 'meta' }, h('time', { datetime: m.at, title: fmtDateTime(m.at) }, fmtTime(m.at)));
    if (m.from === 'user') {
      const read = m.status === 'read';
      meta.append(h('span', { class: 'ticks' + (read ? ' read' : ''), 'aria-label': t(read ? 'read_receipt' : 'delivered_receipt') }, '✓✓'));
    }
    return meta;
  }

  function quote(m) {
    const id = m.context && m.context.id;
    if (!id) return null;
    const q = transcript.find((x) => x.id === id);
    return q ? h('div', { class: 'quote', dir: 'auto' }, summary(q)) : null;
  }

  function replyButtons(buttons) {
    return h('div', { class: 'reply-buttons' }, buttons);
  }

  function openList(m, action) {
    clear(sheet,
      h('h2', { class: 'sheet-title' }, action.button || t('list_sheet')),
      (action.sections || []).map((s) => h('section', {},
        s.title ? h('h3', {}, s.title) : null,
        h('ul', {}, (s.rows || []).map((r) => h('li', {},
          h('button', { type: 'button', class: 'list-row', 'data-row-id': r.id, onclick: () => {
            sheet.close();
            const body = { type: 'list_reply', id: r.id, title: r.title, context: m.id };
            if (r.description) body.description = r.description;
            send(body);
          } }, h('span', { class: 'row-title', dir: 'auto' }, r.title),
          r.description ? h('span', { class: 'row-desc', dir: 'auto' }, r.description) : null)))))),
      h('button', { type: 'button', class: 'secondary', onclick: () => sheet.close() }, t('close')));
    sheet.showModal();
  }

  function businessContent(m) {
    const c = m[m.type] || {};
    const parts = [];
    let after = null;
    if (m.type === 'text') {
      parts.push(h('div', { class: 'body', dir: 'auto' }, formatted(c.body)));
    } else if (m.type === 'interactive') {
      const hd = c.header;
      if (hd && hd.type === 'text' && hd.text) parts.push(h('div', { class: 'header', dir: 'auto' }, hd.text));
      if (c.body && c.body.text) parts.push(h('div', { class: 'body', dir: 'auto' }, formatted(c.body.text)));
      if (c.footer && c.footer.text) parts.push(h('div', { class: 'footer', dir: 'auto' }, c.footer.text));
      const a = c.action || {};
      if (c.type === 'button') {
        after = replyButtons((a.buttons || []).map((b) => {
          const r = b.reply || {};
          return h('button', { type: 'button', class: 'reply-button', 'data-reply-id': r.id, dir: 'auto',
            onclick: () => send({ type: 'button_reply', id: r.id, title: r.title, context: m.id }) }, r.title);
        }));
      } else if (c.type === 'list') {
        after = replyButtons([h('button', { type: 'button', class: 'reply-button list-open', dir: 'auto',
          'aria-haspopup': 'dialog', onclick: () => openList(m, a) }, '☰ ', a.button || t('tap_to_choose'))]);
      } else if (c.type === 'cta_url' && a.parameters) {
        after = replyButtons([h('a', { class: 'reply-button', href: a.parameters.url, target: '_blank', rel: 'noopener noreferrer', dir: 'auto' },
          '↗ ', a.parameters.display_text || a.parameters.url)]);
      } else if (c.type === 'location_request_message') {
        after = replyButtons([h('button', { type: 'button', class: 'reply-button', onclick: shareLocation }, pinIcon(), ' ', t('share_location'))]);
      }
    } else if (m.type === 'template') {
      const r = m.rendered || {};
      if (r.header) parts.push(h('div', { class: 'header', dir: 'auto' }, r.header));
      parts.push(h('div', { class: 'body', dir: 'auto' }, formatted(r.body || c.name)));
      if (r.footer) parts.push(h('div', { class: 'footer', dir: 'auto' }, r.footer));
      if (r.buttons && r.buttons.length) {
        after = replyButtons(r.buttons.map((text, i) => h('button', { type: 'button', class: 'reply-button', dir: 'auto', 'data-payload': templatePayload(m, i) || text,
          onclick: () => send({ type: 'button', payload: templatePayload(m, i) || text, text, context: m.id }) }, text)));
      }
    } else if (m.type === 'location') {
      parts.push(h('div', { class: 'location' }, h('span', { class: 'pin' }, pinIcon()),
        h('div', {}, h('strong', { dir: 'auto' }, c.name || ''), h('div', { dir: 'auto' }, c.address || ''),
          h('a', { href: `https://www.openstreetmap.org/?mlat=${c.latitude}&mlon=${c.longitude}`, target: '_blank', rel: 'noopener noreferrer' },
            `${c.latitude}, ${c.longitude}`))));
    } else if (['image', 'document', 'audio', 'video', 'sticker'].includes(m.type)) {
      parts.push(h('div', { class: 'media' }, '▣ ', t(m.type), c.filename ? ` · ${c.filename}` : ''));
      if (c.caption) parts.push(h('div', { class: 'body', dir: 'auto' }, formatted(c.caption)));
    } else if (m.type === 'reaction') {
      parts.push(h('div', { class: 'body' }, c.emoji || ''));
    } else {
      parts.push(h('div', { class: 'body muted' }, t('unsupported', { type: m.type })));
    }
    if (m.status === 'failed') {
      const st = (m.statuses || []).find((s) => s.status === 'failed') || {};
      parts.push(h('div', { class: 'failed-note' }, t('failed_send', { code: st.code || st.error_code || '' })));
    }
    return { parts, after };
  }

  function userContent(m) {
    const c = m[m.type] || {};
    if (m.type === 'text') return [h('div', { class: 'body', dir: 'auto' }, formatted(c.body))];
    if (m.type === 'interactive') {
      const r = c.button_reply || c.list_reply || {};
      return [h('div', { class: 'body', dir: 'auto' }, r.title || ''), r.description ? h('div', { class: 'footer', dir: 'auto' }, r.description) : null];
    }
    if (m.type === 'button') return [h('div', { class: 'body', dir: 'auto' }, c.text || '')];
    return [h('div', { class: 'body', dir: 'auto' }, summary(m))];
  }

  function renderChat() {
    const nearBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
    const nodes = [];
    let day = '';
    for (const m of transcript) {
      const d = fmtChatDay(m.at);
      if (d !== day) { day = d; nodes.push(h('div', { class: 'day-sep' }, h('span', {}, d))); }
      const mine = m.from === 'user';
      let parts, after = null;
      if (mine) parts = userContent(m);
      else ({ parts, after } = businessContent(m));
      nodes.push(h('div', { class: 'msg ' + (mine ? 'msg-out' : 'msg-in'), 'data-type': m.type, 'data-id': m.id },
        h('div', { class: 'bubble' }, quote(m), parts, bubbleMeta(m)), after));
    }
    if (!nodes.length) nodes.push(h('p', { class: 'chat-empty' }, t('empty_chat')));
    clear(chat, nodes);
    if (nearBottom || !renderChat.done) chat.scrollTop = chat.scrollHeight;
    renderChat.done = true;
  }

  function renderWindow(u) {
    const w = (u.windows || []).find((x) => x.open);
    windowNote.textContent = w ? t('window_until', { until: fmtDateTime(w.expires_at) }) : '+' + u.wa_id;
  }

  function toggle(label, key, value) {
    const id = nextId('set');
    return h('div', { class: 'check' },
      h('input', { type: 'checkbox', id, checked: value, onchange: async (e) => {
        const body = {};
        body[key] = key === 'read' ? (e.target.checked ? 1 : 0) : e.target.checked;
        try {
          const u = await api.put(`/sim/users/${api.seg(current.wa_id)}`, body);
          Object.assign(current, u);
        } catch (err) {
          e.target.checked = !e.target.checked;
          sendStatus.textContent = t('error', { message: err.message });
        }
      } }),
      h('label', { for: id }, label));
  }

  function renderSettings() {
    const u = current;
    clear(settings, h('details', {},
      h('summary', {}, t('phone_settings')),
      toggle(t('reads_messages'), 'read', u.read > 0),
      toggle(t('on_whatsapp'), 'on_whatsapp', u.on_whatsapp),
      toggle(t('blocked'), 'blocked', u.blocked),
      toggle(t('marketing_stopped'), 'marketing_stopped', u.marketing_stopped)));
  }

  function renderPatients() {
    clear(patientList, users.map((u) => h('li', {},
      h('button', { type: 'button', class: 'patient', 'aria-pressed': String(u === current), 'data-wa-id': u.wa_id,
        onclick: () => select(u) },
      h('span', { class: 'avatar', 'aria-hidden': 'true' }, (u.profile_name || '?').slice(0, 1)),
      h('span', { class: 'patient-text' }, h('bdi', { class: 'patient-name' }, u.profile_name || u.wa_id),
        h('span', { class: 'patient-number', dir: 'ltr' }, '+' + u.wa_id))))));
    clear(patientSelect, users.map((u) => h('option', { value: u.wa_id, selected: u === current }, `${u.profile_name || ''} +${u.wa_id}`)));
  }

  async function refresh() {
    if (!current || stopped) return;
    const wa = current.wa_id;
    try {
      const [msgs, user] = await Promise.all([
        api.get(`/sim/users/${api.seg(wa)}/messages`),
        api.get(`/sim/users/${api.seg(wa)}`),
      ]);
      if (stopped || !current || current.wa_id !== wa) return;
      Object.assign(current, user);
      renderWindow(current);
      const json = JSON.stringify(msgs.messages);
      if (json !== lastJson) {
        lastJson = json;
        transcript = msgs.messages || [];
        renderChat();
      }
    } catch (err) {
      sendStatus.textContent = t('error', { message: err.message });
    }
  }

  function schedule() {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(async () => {
      if (!document.hidden) await refresh();
      schedule();
    }, Date.now() < fastUntil ? FAST_POLL_MS : POLL_MS);
  }

  function select(u) {
    current = u;
    lastJson = '';
    transcript = [];
    renderChat.done = false;
    history.replaceState(null, '', '#/phone/' + encodeURIComponent(u.wa_id));
    title.replaceChildren(h('bdi', {}, u.profile_name || u.wa_id));
    chat.setAttribute('aria-label', t('phone_of', { name: u.profile_name || u.wa_id }));
    renderPatients();
    renderSettings();
    renderWindow(u);
    clear(chat);
    refresh();
  }

  function shareLocation() {
    send({ type: 'location', latitude: 32.0853, longitude: 34.7818, name: 'Tel Aviv' });
  }

  const form = h('form', { class: 'composer', onsubmit: (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    send({ type: 'text', text });
  } },
  h('label', { for: input.id, class: 'sr-only' }, t('type_message')),
  h('button', { type: 'button', class: 'icon-button', title: t('share_location'), 'aria-label': t('share_location'), onclick: shareLocation }, pinIcon()),
  input,
  h('button', { type: 'submit', class: 'send-button', 'aria-label': t('send_message'), title: t('send_message') }, h('span', { 'aria-hidden': 'true', class: 'send-arrow' }, '➤')));

  patientSelect.addEventListener('change', () => select(users.find((u) => u.wa_id === patientSelect.value)));

  clear(root,
    pageHeader(t('phone_title')),
    h('p', { class: 'lead' }, t('phone_intro')),
    h('div', { class: 'phone-layout' },
      h('section', { class: 'patients', 'aria-labelledby': 'patients-title' },
        h('h2', { id: 'patients-title' }, t('patients')),
        h('div', { class: 'field patient-select-field' }, h('label', { for: patientSelect.id }, t('pick_patient')), patientSelect),
        patientList),
      h('section', { class: 'phone', 'aria-label': t('phone_title') },
        h('div', { class: 'phone-top' },
          h('span', { class: 'avatar business', 'aria-hidden': 'true' }, '✚'),
          h('div', {}, h('div', { class: 'phone-business' }, t('business')), windowNote)),
        h('div', { class: 'phone-who' }, title),
        chat, form, sendStatus),
      settings),
    sheet);

  if (!current) {
    clear(chat, h('p', { class: 'chat-empty' }, t('no_data')));
    return null;
  }
  select(current);
  schedule();
  return () => { stopped = true; clearTimeout(timer); if (sheet.open) sheet.close(); };
}
