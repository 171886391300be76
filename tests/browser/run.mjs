// Browser tests of the carewire dashboard: playwright-core drives Debian's chromium
// (/usr/bin/chromium, headless) against a real `carewire demo` on loopback.
//
//   node tests/browser/run.mjs build/carewire
//
// Starts the demo with a temporary data dir and a free port, reads the login it prints,
// and walks the dashboard as a person would: sign in, play a patient on the Phone page
// (send "hi", see the welcome with its reply buttons, tap one, see the answer), switch to
// Hebrew and check the layout is right to left, start the event-RSVP journey for the
// recovered patient from its diagram, tap "I'll come" on her phone and see the parking
// message, launch a 50 % canary campaign and watch it roll out, and more. Screenshots go to
// tests/browser/artifacts/. Prints one line per test and "N passed, N failed".
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const artifacts = join(here, 'artifacts');
const CHROMIUM = process.env.CW_CHROMIUM || '/usr/bin/chromium';
const PATIENT = '972521234567'; // Noa Levi, Hebrew-speaking, in the demo seed

function fail(msg) { throw new Error(msg); }
function check(cond, msg) { if (!cond) fail(msg); }

async function loadPlaywright() {
  try {
    return await import('playwright-core');
  } catch {
    fail(`playwright-core is not installed: run "npm ci" in ${here} (scripts/install-deps does)`);
  }
  return null;
}

// The vendored Chart.js must be the npm package's file, byte for byte.
function checkVendoredChart() {
  const vendored = join(repo, 'web', 'vendor', 'chart.umd.min.js');
  const pkg = join(here, 'node_modules', 'chart.js', 'dist', 'chart.umd.min.js');
  check(existsSync(pkg), `chart.js is not installed in ${here}: run "npm ci" there`);
  check(readFileSync(vendored).equals(readFileSync(pkg)),
    'web/vendor/chart.umd.min.js differs from node_modules/chart.js/dist/chart.umd.min.js (see web/vendor/README.md)');
}

function startDemo(binary, dataDir) {
  const child = spawn(binary, ['demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    cwd: repo,
    env: { ...process.env, CAREWIRE_WEB_ROOT: join(repo, 'web'), CAREWIRE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const ready = new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('the demo did not print its banner in 60 s:\n' + out + err)), 60000);
    child.on('exit', (code) => { clearTimeout(timer); rej(new Error(`the demo exited ${code}:\n${out}${err}`)); });
    child.stdout.on('data', () => {
      const url = /dashboard:\s+(http:\/\/\S+)/.exec(out);
      const login = /login:\s+(\S+)\s+password:\s+(\S+)/.exec(out);
      if (url && login) { clearTimeout(timer); res({ url: url[1], email: login[1], password: login[2] }); }
    });
  });
  return { child, ready, logs: () => out + err };
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

async function shot(page, name, fullPage = false) {
  await page.screenshot({ path: join(artifacts, name + '.png'), fullPage });
}

async function signIn(page, demo) {
  await page.goto(demo.url);
  await page.getByLabel(/^Email$/).fill(demo.email);
  await page.getByLabel(/^Password$/).fill(demo.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('nav.sidenav').waitFor();
}

// ---- the tests, in order; they share one signed-in page ----

test('sign-in refuses a wrong password and accepts the printed login', async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.locator('form.login-card').waitFor();
  await shot(page, '01-sign-in');
  await page.getByLabel(/^Email$/).fill(demo.email);
  await page.getByLabel(/^Password$/).fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Wrong email or password.').waitFor();
  await page.getByLabel(/^Password$/).fill(demo.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('nav.sidenav').waitFor();
  const cookies = await page.context().cookies();
  const c = cookies.find((x) => x.name === 'cw_session');
  check(c && c.httpOnly && c.sameSite === 'Strict', 'cw_session cookie is HttpOnly and SameSite=Strict: ' + JSON.stringify(c));
  check(await page.evaluate(() => !document.cookie.includes('cw_session')), 'the session cookie is visible to scripts');
  await shot(page, '02-overview');
});

test('a change without the CSRF token is refused; with it, it is not', async ({ page }) => {
  const r = await page.evaluate(async () => {
    const me = await (await fetch('/api/v1/auth/me')).json();
    const bare = await fetch('/api/v1/auth/logout', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    const wrong = await fetch('/api/v1/auth/logout', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': 'x' + me.csrf_token.slice(1) }, body: '{}' });
    const still = await fetch('/api/v1/auth/me');
    return { role: me.agent.role, bare: bare.status, wrong: wrong.status, still: still.status };
  });
  check(r.role === 'admin', 'the demo login is an admin: ' + r.role);
  check(r.bare === 403 && r.wrong === 403, `logout without / with a wrong CSRF token: ${r.bare} ${r.wrong}`);
  check(r.still === 200, 'the session survived the refused requests: ' + r.still);
});

test('phone: "hi" gets the welcome with three reply buttons; a tap gets its answer', async ({ page }) => {
  await page.locator('a[data-page="phone"]').click();
  await page.locator(`button.patient[data-wa-id="${PATIENT}"]`).click();
  await page.locator('.chat').waitFor();
  const before = await page.locator('.msg-in').count();
  const box = page.getByPlaceholder('Type a message');
  await box.fill('hi');
  await box.press('Enter');
  await page.locator('.msg-out', { hasText: 'hi' }).last().waitFor();
  const welcome = page.locator('.msg-in[data-type="interactive"]').last();
  await page.waitForFunction((n) => document.querySelectorAll('.msg-in').length > n, before, { timeout: 20000 });
  await welcome.waitFor({ timeout: 20000 });
  const buttons = welcome.locator('.reply-button');
  check(await buttons.count() === 3, 'the welcome has three reply buttons: ' + await buttons.count());
  const titles = await buttons.allTextContents();
  check(titles.every((x) => x.trim().length > 0), 'button titles: ' + JSON.stringify(titles));
  await shot(page, '03-phone-welcome');
  const inBefore = await page.locator('.msg-in').count();
  const tapped = titles[0].trim();
  await buttons.first().click();
  // the tap shows as the patient's message, quoting the welcome, and the clinic answers
  await page.locator('.msg-out[data-type="interactive"]', { hasText: tapped }).last().waitFor();
  check(await page.locator('.msg-out[data-type="interactive"] .quote').last().count() === 1, 'the tap quotes the welcome');
  await page.waitForFunction((n) => document.querySelectorAll('.msg-in').length > n, inBefore, { timeout: 20000 });
  const answer = page.locator('.msg-in').last();
  check(await answer.getAttribute('data-type') === 'text', 'the answer is a text message');
  const text = (await answer.locator('.body').textContent()).trim();
  check(text.length > 10, 'the answer has words: ' + text);
  await shot(page, '04-phone-answer');
});

// The clinic's side of the simulator, as carewire itself would call it: the demo's access
// token is derived from its master key (src/cli/run.c demo_secret()).
async function graphSend(demo, body) {
  const hex = readFileSync(join(demo.dataDir, 'master.key'), 'utf8').trim();
  const token = createHmac('sha256', Buffer.from(hex, 'hex')).update('demo access token').digest('hex');
  const r = await fetch(new URL('/graph/v21.0/106540352242922/messages', demo.url), {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token },
    body: JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to: PATIENT, ...body }),
  });
  check(r.ok, 'the simulator took the clinic\'s message: ' + r.status + ' ' + await r.text());
}

test('phone: a list and a template with quick replies render, and taps go back', async ({ page, demo }) => {
  await graphSend(demo, { type: 'interactive', interactive: { type: 'list',
    header: { type: 'text', text: 'Free times' }, body: { text: 'Pick a time for Dr. Katz:' }, footer: { text: 'Cardiology' },
    action: { button: 'See times', sections: [{ title: 'Tomorrow', rows: [
      { id: 'slot.0900', title: '09:00', description: 'Room 4' }, { id: 'slot.1130', title: '11:30' }] }] } } });
  const list = page.locator('.msg-in[data-type="interactive"]', { hasText: 'Pick a time' }).last();
  await list.waitFor();
  check((await list.locator('.header').textContent()) === 'Free times', 'the list header');
  await list.locator('.reply-button', { hasText: 'See times' }).click();
  const dialog = page.locator('dialog.sheet[open]');
  await dialog.waitFor();
  check(await dialog.locator('h3').textContent() === 'Tomorrow', 'the section title');
  await shot(page, '04b-phone-list');
  await dialog.locator('button.list-row[data-row-id="slot.0900"]').click();
  await page.locator('.msg-out[data-type="interactive"]', { hasText: '09:00' }).last().waitFor();
  // a template: the body with its parameter filled in, and quick-reply buttons
  const add = await fetch(new URL('/sim/templates', demo.url), { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'lecture_invite', language: 'en', category: 'MARKETING', status: 'APPROVED', components: [
      { type: 'HEADER', format: 'TEXT', text: 'Awareness month' },
      { type: 'BODY', text: 'Hello {{1}}, you are invited to a lecture on Thursday.' },
      { type: 'FOOTER', text: 'Reply STOP to opt out' },
      { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: "I'll come" }, { type: 'QUICK_REPLY', text: "I can't" }] }] }) });
  check(add.ok, 'the simulator took the template: ' + add.status);
  await graphSend(demo, { type: 'template', template: { name: 'lecture_invite', language: { code: 'en' }, components: [
    { type: 'body', parameters: [{ type: 'text', text: 'Noa' }] },
    { type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'rsvp.yes' }] },
    { type: 'button', sub_type: 'quick_reply', index: '1', parameters: [{ type: 'payload', payload: 'rsvp.no' }] }] } });
  const tpl = page.locator('.msg-in[data-type="template"]').last();
  await tpl.waitFor();
  const body = await tpl.locator('.body').textContent();
  check(body === 'Hello Noa, you are invited to a lecture on Thursday.', 'the rendered template: ' + body);
  check(await tpl.locator('.footer').textContent() === 'Reply STOP to opt out', 'the template footer');
  await shot(page, '04c-phone-template');
  await tpl.locator('.reply-button', { hasText: "I'll come" }).click();
  await page.locator('.msg-out[data-type="button"]', { hasText: "I'll come" }).last().waitFor();
  const r = await fetch(new URL(`/sim/users/${PATIENT}/messages`, demo.url));
  const last = (await r.json()).messages.filter((m) => m.from === 'user').pop();
  check(last.type === 'button' && last.button.payload === 'rsvp.yes' && last.button.text === "I'll come",
    'the tap went back with the button\'s payload: ' + JSON.stringify(last));
});

test('contacts: a segment query counts live, and a profile shows the messages', async ({ page }) => {
  await page.locator('a[data-page="contacts"]').click();
  const query = page.getByLabel('Segment query');
  await query.fill('language = he');
  await page.locator('.count').waitFor();
  const n = Number(await page.locator('.count').getAttribute('data-count'));
  check(n >= 1, 'Hebrew speakers in the demo: ' + n);
  await query.fill('language = he AND');
  await page.locator('.query-error').waitFor();
  check(/col \d+/.test(await page.locator('.query-error').textContent()), 'the error names the column');
  await query.fill('language = he');
  await page.getByRole('link', { name: 'Noa Levi' }).click();
  await page.locator('.timeline li').first().waitFor();
  const lines = await page.locator('.timeline li').allTextContents();
  check(lines.some((x) => x.includes('hi')), 'the timeline has the "hi": ' + lines.join(' | '));
  await page.locator('[data-consent="marketing"]').waitFor();
  check((await page.locator('[data-consent="marketing"]').textContent()) === 'granted', 'Noa\'s marketing consent (paper, in the seed) shows as granted');
  await shot(page, '05-contact-profile');
  await page.locator('a[data-page="phone"]').click();
  await page.locator('.chat .msg').first().waitFor();
});

test('Hebrew: the whole layout turns right to left', async ({ page }) => {
  await page.getByLabel('Language').selectOption('he');
  await page.waitForFunction(() => document.documentElement.dir === 'rtl');
  await page.locator('.msg-out .bubble').last().waitFor();
  await page.locator('.msg-in .bubble').last().waitFor();
  const r = await page.evaluate(() => {
    const nav = document.querySelector('nav.sidenav').getBoundingClientRect();
    const main = document.querySelector('main').getBoundingClientRect();
    const out = [...document.querySelectorAll('.msg-out .bubble')].pop();
    const inn = [...document.querySelectorAll('.msg-in .bubble')].pop();
    return {
      lang: document.documentElement.lang,
      direction: getComputedStyle(document.body).direction,
      navDirection: getComputedStyle(document.querySelector('nav.sidenav')).direction,
      navLeft: nav.left, mainRight: main.right, mainLeft: main.left, width: innerWidth,
      outLeft: out && out.getBoundingClientRect().left, inLeft: inn && inn.getBoundingClientRect().left,
      title: document.getElementById('page-title').textContent,
    };
  });
  check(r.lang === 'he' && r.direction === 'rtl' && r.navDirection === 'rtl', 'direction: ' + JSON.stringify(r));
  check(r.navLeft >= r.mainRight - 1, `the navigation sits on the right of the page: nav.left ${r.navLeft}, main.right ${r.mainRight}`);
  check(r.outLeft < r.inLeft, `the patient's own bubbles sit on the left in Hebrew: ${r.outLeft} vs ${r.inLeft}`);
  check(r.title === 'טלפון (ארגז חול)', 'the page title is Hebrew: ' + r.title);
  await shot(page, '05-phone-hebrew');
  await page.getByRole('link', { name: 'סקירה', exact: true }).click();
  await page.locator('#page-title').waitFor();
  await shot(page, '06-overview-hebrew');
});

test('Russian: texts, and dates in the Russian locale', async ({ page }) => {
  await page.getByLabel('שפה').selectOption('ru');
  await page.waitForFunction(() => document.documentElement.dir === 'ltr' && document.documentElement.lang === 'ru');
  await page.getByRole('link', { name: 'Телефон (песочница)', exact: true }).click();
  await page.locator('.day-sep').first().waitFor();
  const sep = await page.locator('.day-sep').first().textContent();
  check(sep === 'Сегодня', 'the day separator is Russian: ' + sep);
  await shot(page, '07-phone-russian');
  await page.getByLabel('Язык').selectOption('en');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
});

test('every page shows its data; none fails or misses an endpoint', async ({ page }) => {
  for (const p of ['overview', 'contacts', 'campaigns', 'journeys', 'templates', 'inbox', 'settings']) {
    await page.locator(`a[data-page="${p}"]`).click();
    await page.waitForFunction((id) => document.querySelector(`a[data-page="${id}"][aria-current="page"]`), p);
    await page.waitForFunction(() => !document.querySelector('main p.muted[role=status]'), null, { timeout: 15000 });
    await page.waitForTimeout(300);
    const r = await page.evaluate(() => ({
      errors: [...document.querySelectorAll('main .notice-error')].map((e) => e.textContent),
      missing: [...document.querySelectorAll('main [data-state="not-available"] code')].map((e) => e.textContent),
      h1: document.getElementById('page-title') && document.getElementById('page-title').textContent,
    }));
    check(r.h1, `${p}: the page has a title`);
    check(!r.errors.length, `${p}: an error instead of data or an honest notice: ${r.errors.join(' | ')}`);
    check(!r.missing.length, `${p}: says an endpoint is missing: ${r.missing.join(', ')}`);
    await shot(page, `08-${p}`);
  }
});

test('the overview draws the simulator chart with Chart.js', async ({ page }) => {
  await page.locator('a[data-page="overview"]').click();
  await page.locator('main canvas').first().waitFor();
  const ok = await page.evaluate(() => typeof window.Chart === 'function' && [...document.querySelectorAll('main canvas')].some((c) => window.Chart.getChart(c)));
  check(ok, 'a Chart.js chart is on the overview');
  await shot(page, '09-overview-charts');
});

test('keyboard only: the composer and a reply button work without a mouse', async ({ page }) => {
  await page.locator('a[data-page="phone"]').focus();
  await page.keyboard.press('Enter');
  await page.locator('.chat').waitFor();
  const box = page.getByPlaceholder('Type a message');
  await box.focus();
  await page.keyboard.type('menu');
  await page.keyboard.press('Enter');
  const n = await page.locator('.msg-in').count();
  await page.waitForFunction((k) => document.querySelectorAll('.msg-in').length > k, n, { timeout: 20000 });
  const btn = page.locator('.msg-in[data-type="interactive"]').last().locator('.reply-button').nth(1);
  await btn.focus();
  const focused = await page.evaluate(() => document.activeElement.classList.contains('reply-button'));
  check(focused, 'a reply button takes the keyboard focus');
  const m = await page.locator('.msg-in').count();
  await page.keyboard.press('Enter');
  await page.waitForFunction((k) => document.querySelectorAll('.msg-in').length > k, m, { timeout: 20000 });
});

test('inbox: a question the bot cannot answer reaches a person, whose reply reaches the phone', async ({ page }) => {
  await page.locator('a[data-page="phone"]').click();
  const box = page.getByPlaceholder('Type a message');
  await box.fill('Can I bring my daughter to the lecture?');
  await box.press('Enter');
  await page.locator('.msg-out', { hasText: 'bring my daughter' }).waitFor();
  await page.locator('a[data-page="inbox"]').click();
  const conv = page.locator('button[data-conversation]', { hasText: 'Noa Levi' }).first();
  await conv.waitFor({ timeout: 20000 });
  await conv.click();
  await page.locator('.thread .timeline li', { hasText: 'bring my daughter' }).waitFor();
  await page.getByLabel('Message', { exact: true }).fill('Of course, she is welcome.');
  await page.locator('.thread button[type=submit]').click();
  await page.locator('.thread .form-status', { hasText: 'Queued.' }).waitFor();
  await shot(page, '12-inbox');
  await page.locator('a[data-page="phone"]').click();
  await page.locator('.msg-in', { hasText: 'Of course, she is welcome.' }).waitFor({ timeout: 20000 });
  await shot(page, '13-phone-agent-reply');
});

// The demo seeds the journey library (journeys/*.json); should a build not, the test defines
// the one it needs through the API, as an integrator would, and says so.
async function ensureJourney(page, key) {
  const r = await page.evaluate(async (k) => {
    const me = await (await fetch('/api/v1/auth/me')).json();
    const list = await (await fetch('/api/v1/journeys')).json();
    if ((list.items || []).some((j) => j.key === k)) return 'seeded';
    return { csrf: me.csrf_token };
  }, key);
  if (r === 'seeded') return;
  const def = readFileSync(join(repo, 'journeys', key + '.json'), 'utf8');
  const st = await page.evaluate(async ({ csrf, def }) => (await fetch('/api/v1/journeys', {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: def })).status, { csrf: r.csrf, def });
  check(st === 201 || st === 200, `defining ${key}: HTTP ${st}`);
  console.log(`     note: the demo did not seed journeys/${key}.json; the test defined it`);
}

test('settings: quiet hours switched off and saved (the suite runs at any hour)', async ({ page }) => {
  await page.locator('a[data-page="settings"]').click();
  const quiet = page.getByLabel(/Hold messages during quiet hours/);
  await quiet.waitFor();
  if (await quiet.isChecked()) await quiet.uncheck();
  await page.locator('form', { has: quiet }).getByRole('button', { name: 'Save' }).click();
  await page.locator('form', { has: quiet }).locator('.form-status', { hasText: 'Saved.' }).waitFor();
  const s = await page.evaluate(async () => (await fetch('/api/v1/settings')).json());
  check(s.quiet_hours === false, 'quiet hours are off: ' + JSON.stringify(s.quiet_hours));
});

test('journeys: the RSVP journey drawn as a diagram, started for a patient from its page', async ({ page }) => {
  await ensureJourney(page, 'event_rsvp');
  await page.locator('a[data-page="journeys"]').click();
  await page.locator('a[data-journey="event_rsvp"]').click();
  await page.locator('.diagram .step[data-step="invite"]').waitFor();
  const d = await page.evaluate(async () => {
    const j = await (await fetch('/api/v1/journeys/event_rsvp')).json();
    const steps = [...document.querySelectorAll('.diagram .step')];
    const box = (id) => document.querySelector(`.diagram .step[data-step="${id}"]`).getBoundingClientRect();
    return {
      graph: j.graph.steps.map((s) => s.id), shown: steps.map((e) => e.dataset.step),
      edges: document.querySelectorAll('.diagram svg path.edge').length,
      labels: [...document.querySelectorAll('.diagram svg text')].map((e) => e.textContent),
      inviteBottom: box('invite').bottom, waitTop: box('wait_answer').top,
      overlaps: steps.some((a, i) => steps.slice(i + 1).some((b) => {
        const p = a.getBoundingClientRect(), q = b.getBoundingClientRect();
        return p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom;
      })),
    };
  });
  check(d.graph.length > 5 && d.graph.every((id) => d.shown.includes(id)), 'every step of the graph is drawn: ' + d.shown.join(','));
  check(d.edges >= d.graph.length - 2, 'the steps are joined by arrows: ' + d.edges);
  check(d.labels.some((l) => l.includes("I'll come")) && d.labels.some((l) => l.includes("I can't")), 'branches are labelled with the buttons: ' + d.labels.join(' | '));
  check(d.inviteBottom < d.waitTop, 'the invitation is drawn above the wait for the answer');
  check(!d.overlaps, 'no two steps overlap');
  await shot(page, '14-journey-diagram', true);
  // start it for Noa, the demo's recovered patient
  const form = page.locator('form.start-form');
  await form.getByLabel('Contact').selectOption({ label: (await form.locator('option', { hasText: 'Noa Levi' }).first().textContent()).trim() });
  await form.getByRole('button', { name: 'Fill in an example' }).click();
  await form.locator('input[data-var="event_id"]').fill('lecture-rsvp-test');
  // the example is in the patient's language: Noa reads Hebrew
  const ex = {};
  for (const k of ['event_name', 'parking', 'venue', 'maps_url']) ex[k] = await form.locator(`input[data-var="${k}"]`).inputValue();
  check(/חניה/.test(ex.parking) && ex.maps_url.startsWith('https://'), 'the example is filled in, in Hebrew: ' + JSON.stringify(ex));
  await form.getByRole('button', { name: 'Start the journey' }).click();
  await form.locator('.form-status[data-state]').waitFor();
  const state = await form.locator('.form-status').getAttribute('data-state');
  check(state === 'waiting', 'the run waits for the answer: ' + state + ' ' + await form.locator('.form-status').textContent());
  await shot(page, '15-journey-started');
  await form.locator('a[data-open-phone]').click();
  await page.locator(`button.patient[data-wa-id="${PATIENT}"][aria-pressed="true"]`).waitFor();
  // the invitation: reply buttons (or, outside the 24-hour window, the template's quick replies)
  const invite = page.locator('.msg-in', { hasText: ex.event_name }).last();
  await invite.waitFor({ timeout: 20000 });
  const yes = invite.locator('.reply-button[data-reply-id="rsvp.yes"], .reply-button[data-payload="rsvp.yes"]');
  const no = invite.locator('.reply-button[data-reply-id="rsvp.no"], .reply-button[data-payload="rsvp.no"]');
  // Noa reads Hebrew: "I'll come" is אגיע, "I can't" is לא אוכל (journeys/event_rsvp.json)
  check((await yes.textContent()).trim() === 'אגיע' && (await no.textContent()).trim() === 'לא אוכל',
    `the invitation offers "I'll come" / "I can't" in Hebrew: ${await invite.locator('.reply-button').allTextContents()}`);
  await shot(page, '16-phone-rsvp-invitation');
  const before = await page.locator('.msg-in').count();
  await yes.click();
  await page.locator('.msg-out', { hasText: 'אגיע' }).last().waitFor();
  const confirmation = page.locator('.msg-in[data-type="text"]', { hasText: ex.parking }).last();
  await confirmation.waitFor({ timeout: 20000 });
  check(await page.locator('.msg-in').count() > before, 'the clinic answered the tap');
  const link = confirmation.locator('a[href^="https://www.openstreetmap.org/"]');
  check(await link.count() === 1, 'the confirmation carries the navigation link');
  const place = page.locator('.msg-in[data-type="location"]').last();
  await place.waitFor({ timeout: 20000 });
  check((await place.textContent()).includes(ex.venue), 'the venue\'s location follows: ' + await place.textContent());
  await shot(page, '17-phone-rsvp-parking');
  // the diagram counts the runs that went through each step
  await page.locator('a[data-page="journeys"]').click();
  await page.locator('a[data-journey="event_rsvp"]').click();
  await page.locator('.diagram .step[data-step="confirmation"]').waitFor();
  const entered = Number(await page.locator('.diagram .step[data-step="confirmation"]').getAttribute('data-entered'));
  check(entered >= 1, 'the confirmation step counts the run: ' + entered);
});

test('campaigns: compose for a segment, preview exclusions, launch a 50 % canary and see it roll out', async ({ page }) => {
  await ensureJourney(page, 'event_rsvp');
  await page.locator('a[data-page="campaigns"]').click();
  const form = page.locator('form.compose');
  await form.waitFor();
  await form.getByLabel('Name', { exact: true }).fill('Awareness lecture, canary');
  await form.getByLabel('Journey', { exact: true }).selectOption('event_rsvp');
  await form.getByRole('button', { name: 'Fill in an example' }).click();
  await form.locator('input[data-var="event_id"]').fill('lecture-canary-test');
  await form.getByLabel('Segment query').fill('audience = "recovered patient" AND fields.radiation = completed');
  await form.locator('.preview [data-eligible]').waitFor();
  const pv = await form.locator('.preview').evaluate((el) => ({
    audience: Number(el.querySelector('[data-audience]').dataset.audience),
    eligible: Number(el.querySelector('[data-eligible]').dataset.eligible),
    refused: el.querySelector('[data-excluded="consent_refused"]') && el.querySelector('[data-excluded="consent_refused"]').textContent,
  }));
  check(pv.audience === 2 && pv.eligible === 1 && pv.refused === '1',
    'two recovered patients, one refused marketing: ' + JSON.stringify(pv));
  await form.getByLabel('First send to (% of the audience)').fill('50');
  await form.getByLabel('Then hold for').fill('4');
  await form.getByLabel('Unit').selectOption('S');
  await shot(page, '18-campaign-compose');
  await form.getByRole('button', { name: 'Launch the campaign' }).click();
  const panel = page.locator('.progress-panel');
  await panel.waitFor();
  // the canary: half of the audience enrolled, then held; then everyone
  const seen = [];
  await page.waitForFunction(() => {
    const p = document.querySelector('.progress-panel');
    return p && p.dataset.enrolled === '1' && p.dataset.phase === 'hold';
  }, null, { timeout: 15000 });
  seen.push(await panel.evaluate((p) => ({ ...p.dataset })));
  await shot(page, '19-campaign-canary');
  await page.waitForFunction(() => {
    const p = document.querySelector('.progress-panel');
    return p && p.dataset.enrolled === '2' && p.dataset.phase === 'done' && Number(p.dataset.sent) >= 1;
  }, null, { timeout: 20000 });
  seen.push(await panel.evaluate((p) => ({ ...p.dataset })));
  check(seen[0].audience === '2' && seen[1].audience === '2', 'the audience is two: ' + JSON.stringify(seen));
  const fig = await panel.locator('.progress-figure').textContent();
  check(fig.includes('2 of 2'), 'the progress reads 2 of 2: ' + fig);
  const chartOk = await page.evaluate(() => {
    const c = document.querySelector('main canvas');
    const ch = c && window.Chart.getChart(c);
    return ch ? ch.data.datasets[0].data : null;
  });
  check(chartOk && chartOk[0] === 2 && chartOk[1] === 2 && chartOk[2] >= 1, 'the funnel: audience 2, enrolled 2, sent ≥ 1: ' + JSON.stringify(chartOk));
  const refused = await page.locator('table', { hasText: 'Not sent, by reason' }).textContent();
  check(refused.includes('refused consent'), 'the per-step table names the refusal');
  await shot(page, '20-campaign-progress', true);
  // the same pages right to left
  await page.getByLabel('Language').selectOption('he');
  await page.waitForFunction(() => document.documentElement.dir === 'rtl' && document.querySelector('.progress-panel'));
  await page.waitForTimeout(300);
  await shot(page, '21-campaign-hebrew');
  await page.getByRole('link', { name: 'מסעות', exact: true }).click();
  await page.locator('a[data-journey="event_rsvp"]').click();
  await page.locator('.diagram .step[data-step="declined"]').waitFor();
  const rtl = await page.evaluate(() => {
    const x = (id) => document.querySelector(`.diagram .step[data-step="${id}"]`).getBoundingClientRect();
    const nav = document.querySelector('nav.sidenav').getBoundingClientRect();
    const main = document.querySelector('main').getBoundingClientRect();
    return { confirmed: x('confirmed').left, declined: x('declined').left, navLeft: nav.left, mainRight: main.right,
      title: document.getElementById('page-title').textContent };
  });
  check(rtl.navLeft >= rtl.mainRight - 1, 'the navigation is on the right');
  check(rtl.confirmed > rtl.declined, `the diagram is mirrored: "confirmed" (left in English) is right of "declined": ${rtl.confirmed} vs ${rtl.declined}`);
  check(rtl.title === 'הזמנה לאירוע עם אישור הגעה', 'the journey\'s Hebrew name: ' + rtl.title);
  await shot(page, '22-journey-hebrew', true);
  await page.getByLabel('שפה').selectOption('en');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
});

test('tablet width: nothing runs off the side', async ({ page }) => {
  await page.setViewportSize({ width: 768, height: 1024 });
  await page.waitForTimeout(300);
  const r = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, w: innerWidth }));
  check(r.sw <= r.w + 1, `no horizontal scrolling at 768 px: ${r.sw} > ${r.w}`);
  await shot(page, '10-phone-tablet');
  await page.getByLabel('Language').selectOption('he');
  await page.waitForFunction(() => document.documentElement.dir === 'rtl');
  const r2 = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, w: innerWidth }));
  check(r2.sw <= r2.w + 1, `no horizontal scrolling at 768 px in Hebrew: ${r2.sw} > ${r2.w}`);
  await shot(page, '11-phone-tablet-hebrew');
  await page.getByLabel('שפה').selectOption('en');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  // the diagram scrolls inside its panel; the campaign's page folds into one column
  for (const [hash, sel] of [['#/journeys/event_rsvp', '.diagram .step'], ['#/campaigns', 'form.compose']]) {
    await page.evaluate((x) => { location.hash = x; }, hash);
    await page.locator(sel).first().waitFor();
    await page.waitForTimeout(200);
    const r3 = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, w: innerWidth }));
    check(r3.sw <= r3.w + 1, `no horizontal scrolling at 768 px on ${hash}: ${r3.sw} > ${r3.w}`);
  }
  await shot(page, '11b-campaigns-tablet');
  await page.setViewportSize({ width: 1280, height: 860 });
});

test('signing out ends the session', async ({ page, demo }) => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('form.login-card').waitFor();
  const st = await page.evaluate(async () => (await fetch('/api/v1/auth/me')).status);
  check(st === 401, 'after sign-out /api/v1/auth/me is ' + st);
  await signIn(page, demo);
});

async function main() {
  const binary = process.argv[2] ? resolve(process.argv[2]) : join(repo, 'build', 'carewire');
  check(existsSync(binary), 'no carewire binary at ' + binary);
  check(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: apt-get install chromium (scripts/install-deps does)`);
  checkVendoredChart();
  const { chromium } = await loadPlaywright();
  mkdirSync(artifacts, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'cw-browser-'));
  const profile = mkdtempSync(join(tmpdir(), 'cw-chromium-'));
  const demo = startDemo(binary, dataDir);
  let context = null;
  let passed = 0;
  let failed = 0;
  try {
    const login = await demo.ready;
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 860 },
      locale: 'en-US',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(15000);
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    for (const t of tests) {
      const start = Date.now();
      try {
        await t.fn({ page, demo: { ...login, dataDir } });
        if (errors.length) fail('script errors on the page: ' + errors.splice(0).join('; '));
        passed++;
        console.log(`ok   ${t.name} (${((Date.now() - start) / 1000).toFixed(1)}s)`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${t.name}: ${e.message}`);
        await shot(page, 'failed-' + tests.indexOf(t)).catch(() => {});
      }
    }
  } catch (e) {
    failed++;
    console.log('FAIL set-up: ' + e.message);
  } finally {
    if (context) await context.close().catch(() => {});
    demo.child.kill('SIGTERM');
    await new Promise((res) => { if (demo.child.exitCode !== null) res(); else { demo.child.on('exit', res); setTimeout(res, 5000); } });
    if (failed) console.log('---- demo output (tail) ----\n' + demo.logs().slice(-4000));
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.log('FAIL ' + e.message); console.log('0 passed, 1 failed'); process.exit(1); });
