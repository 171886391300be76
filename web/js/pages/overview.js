// overview.js — how messaging is going: messages per day by status, open rate, engagement,
// opt-outs and failures by reason (GET /api/v1/analytics/overview), and in the sandbox what
// the simulator accepted (GET /sim/stats).
import * as api from '../api.js';
import { t, fmtDay, fmtPercent, fmtNumber } from '../i18n.js';
import { h, clear, pageHeader, loading, failure, chart, kpi, COLORS } from '../ui.js';

const DAYS = 14;
const ANALYTICS = `/api/v1/analytics/overview?days=${DAYS}`;

function chartPanel(title, hint) {
  const canvas = h('canvas', { role: 'img', 'aria-label': title });
  const panel = h('section', { class: 'panel', 'aria-label': title },
    h('h2', {}, title), hint ? h('p', { class: 'hint' }, hint) : null, h('div', { class: 'chart-box' }, canvas));
  return { panel, canvas };
}

const ratio = (a, b) => (b > 0 ? a / b : null);

export default async function render(ctx) {
  const { root } = ctx;
  const charts = [];
  const analytics = h('div', {}, loading());
  const sandbox = h('div', {});
  clear(root, pageHeader(t('overview_title'), h('span', { class: 'muted' }, t('period_days', { n: fmtNumber(DAYS) }))), analytics, sandbox);

  try {
    const a = await api.get(ANALYTICS);
    const days = a.days || [];
    const labels = days.map((d) => fmtDay(d.date));
    const sum = (k) => days.reduce((s, d) => s + (d[k] || 0), 0);
    const byStatus = chartPanel(t('chart_messages_by_status'));
    const rates = chartPanel(t('chart_open_rate') + ' · ' + t('chart_engagement'), t('open_rate_hint') + '; ' + t('engagement_hint'));
    const optOuts = chartPanel(t('chart_opt_outs'));
    const failures = chartPanel(t('chart_failures'));
    const totals = a.totals || { sent: sum('sent'), delivered: sum('delivered'), read: sum('read'), failed: sum('failed'), replied: sum('replied'), opted_out: sum('opted_out') };
    const reasons = a.failures_by_reason || [];
    clear(analytics,
      h('div', { class: 'kpis', 'data-totals': JSON.stringify(totals) },
        kpi(t('kpi_sent'), fmtNumber(totals.sent || 0), t('kpi_sent_hint', { delivered: fmtNumber(totals.delivered || 0) })),
        kpi(t('chart_open_rate'), fmtPercent(a.open_rate ?? ratio(totals.read || 0, totals.delivered || 0)), t('open_rate_hint')),
        kpi(t('chart_engagement'), fmtPercent(a.engagement_rate ?? ratio(totals.replied || 0, totals.delivered || 0)), t('engagement_hint')),
        kpi(t('chart_opt_outs'), fmtNumber(totals.opted_out || 0), a.opt_out_rate !== null && a.opt_out_rate !== undefined ? t('opt_out_rate_hint', { rate: fmtPercent(a.opt_out_rate) }) : null),
        kpi(t('kpi_failed'), fmtNumber(totals.failed || 0))),
      h('div', { class: 'grid' }, byStatus.panel, rates.panel, optOuts.panel, failures.panel));
    charts.push(chart(byStatus.canvas, {
      type: 'bar',
      data: { labels, datasets: ['sent', 'delivered', 'read', 'replied', 'failed'].map((k) => ({ label: t('status_' + k), data: days.map((d) => d[k] || 0), backgroundColor: COLORS[k] })) },
      options: { scales: { x: {}, y: { beginAtZero: true, ticks: { precision: 0 } } } },
    }));
    charts.push(chart(rates.canvas, {
      type: 'line',
      data: { labels, datasets: [
        { label: t('chart_open_rate'), data: days.map((d) => ratio(d.read || 0, d.delivered || 0)), borderColor: COLORS.read, backgroundColor: COLORS.read },
        { label: t('chart_engagement'), data: days.map((d) => ratio(d.replied || 0, d.delivered || 0)), borderColor: COLORS.replied, backgroundColor: COLORS.replied },
      ] },
      options: { scales: { x: {}, y: { min: 0, max: 1, ticks: { callback: (v) => fmtPercent(v) } } } },
    }));
    charts.push(chart(optOuts.canvas, {
      type: 'bar',
      data: { labels, datasets: [{ label: t('chart_opt_outs'), data: days.map((d) => d.opted_out || 0), backgroundColor: COLORS.failed }] },
      options: { scales: { x: {}, y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { display: false } } },
    }));
    if (reasons.length) {
      charts.push(chart(failures.canvas, {
        type: 'bar',
        data: { labels: reasons.map((r) => (r.title ? `${r.reason} ${r.title}` : r.reason)), datasets: [{ label: t('chart_failures'), data: reasons.map((r) => r.count), backgroundColor: COLORS.failed }] },
        options: { indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: {} }, plugins: { legend: { display: false } } },
      }));
    } else {
      failures.canvas.parentElement.replaceWith(h('p', { class: 'muted empty-chart' }, t('no_failures')));
    }
  } catch (err) {
    clear(analytics, failure(err, [`GET ${ANALYTICS}`], () => ctx.navigate('#/overview')));
  }

  // The sandbox: the embedded simulator's own counters (present only in `carewire demo`).
  let simTimer = null;
  let simChart = null;
  let stopped = false;
  async function simStats() {
    let s;
    try { s = await api.get('/sim/stats'); } catch { clear(sandbox); return; }
    if (stopped) return;
    const per = new Map();
    for (const n of Object.values(s.by_number || {}))
      for (const [sec, count] of n.per_second || []) per.set(sec, (per.get(sec) || 0) + count);
    const now = Math.floor(Date.now() / 1000);
    const secs = []; for (let x = now - 119; x <= now; x++) secs.push(x);
    const data = secs.map((x) => per.get(x) || 0);
    const hook = s.webhooks || {};
    if (!simChart) {
      const p = chartPanel(t('sim_traffic'), t('sim_traffic_hint'));
      const hooks = h('p', { class: 'hint', 'data-sim-webhooks': '' });
      p.panel.append(hooks);
      clear(sandbox, p.panel);
      simChart = chart(p.canvas, {
        type: 'line',
        data: { labels: secs.map((x) => new Date(x * 1000).toLocaleTimeString(document.documentElement.lang)), datasets: [{ label: t('sim_traffic'), data, borderColor: COLORS.accent, backgroundColor: COLORS.accent, pointRadius: 0, fill: false }] },
        options: { scales: { x: { ticks: { maxTicksLimit: 6 } }, y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { display: false } } },
      });
      charts.push(simChart);
    } else if (simChart) {
      simChart.data.labels = secs.map((x) => new Date(x * 1000).toLocaleTimeString(document.documentElement.lang));
      simChart.data.datasets[0].data = data;
      simChart.update('none');
    }
    const hooks = sandbox.querySelector('[data-sim-webhooks]');
    if (hooks) hooks.textContent = t('sim_webhooks', { sent: fmtNumber(hook.sent || 0), retried: fmtNumber(hook.retried || 0), pending: fmtNumber(hook.pending || 0) });
    simTimer = setTimeout(simStats, 2000);
  }
  simStats();

  return () => { stopped = true; clearTimeout(simTimer); simTimer = null; for (const c of charts) if (c) c.destroy(); };
}
