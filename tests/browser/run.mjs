// Browser tests of the carewire dashboard: playwright-core drives Debian's chromium
// (/usr/bin/chromium, headless) against a real `carewire demo` on loopback.
//
//   node tests/browser/run.mjs build/carewire
//
// Starts the demo with a temporary data dir and a free port, reads the login it prints,
// and walks the dashboard as a person would: sign in, play a patient on the Phone page
// (send "hi", see the welcome with its reply buttons, tap one, see the answer), switch to
// Hebrew and check the layout is right to left, and more. Screenshots go to
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

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, name + '.png'), fullPage: false });
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

test('every page shows its data or says honestly what is missing; none fails', async ({ page }) => {
  for (const p of ['contacts', 'campaigns', 'journeys', 'templates', 'inbox', 'settings']) {
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
    if (r.missing.length) console.log(`     ${p}: not available yet, needs ${r.missing.map((x) => x.split(' →')[0]).join(', ')}`);
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
