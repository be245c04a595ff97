// The statistics page of the staff console (issue 7): cases received and closed per month,
// closing methods, mediation rate, online hearing share, days to close, share closed
// within the time limit and arbitrators' load, as Chart.js charts with the same figures in
// tables underneath (for screen readers and when the charts cannot load), and a CSV
// export for Excel. Clerks and admins see their commission; arbitrators their own cases.
//
// Chart.js (UMD, vendored in /assets/vendor/, MIT) is loaded on first use only.

import { label, lang, onLangChange } from './i18n.js';
import { h, api, replace, messageBox, showMessage, errorText } from './common.js';
import { tr } from './i18n-records.js';

const CHART_SRC = '/assets/vendor/chart.umd.min.js';
const METHODS = ['mediation', 'award', 'withdrawal', 'deemed_withdrawal', 'rejection'];
const METHOD_COLOURS = ['#2e7d4f', '#1d4f91', '#c98a1b', '#8a6bb8', '#9aa3ad'];
const RECEIVED_COLOUR = '#1d4f91';
const CLOSED_COLOUR = '#2e7d4f';
const OPEN_COLOUR = '#c98a1b';

let chartPromise = null;
let charts = [];

/** window.Chart, loading the vendored script once. */
function loadChart() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!chartPromise) {
    chartPromise = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = CHART_SRC;
      s.async = true;
      s.onload = () => (window.Chart ? resolve(window.Chart) : reject(new Error('Chart.js missing')));
      s.onerror = () => { chartPromise = null; reject(new Error('Chart.js failed to load')); };
      document.head.appendChild(s);
    });
  }
  return chartPromise;
}

function ensureStyle() {
  if (document.getElementById('yt-stats-style')) return;
  const css = `
.stats-kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(9.5rem, 1fr)); gap: .6rem; margin: 0 0 1rem; padding: 0; }
.stats-kpi { border: 1px solid var(--border, #d6dbe1); border-radius: 8px; padding: .6rem .75rem; background: var(--card, #fff); margin: 0; }
.stats-kpi dt { font-size: .85rem; color: #5b6470; }
.stats-kpi dd { margin: .15rem 0 0; font-size: 1.35rem; font-weight: 600; }
.stats-kpi small { display: block; color: #6b7480; font-size: .75rem; font-weight: 400; }
.stats-charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); gap: 1rem; }
.stats-chart { position: relative; height: 260px; width: 100%; }
.stats-chart.tall { height: 320px; }
.stats-period { display: flex; flex-wrap: wrap; gap: .5rem .75rem; align-items: flex-end; margin-bottom: 1rem; }
.stats-period .field { margin: 0; min-width: 9rem; flex: 1 1 9rem; }
.stats-period .btn { flex: 0 0 auto; }
.stats-table { margin-top: .5rem; }
`;
  document.head.appendChild(h('style', { id: 'yt-stats-style' }, css));
}

function pad(n) { return n < 10 ? '0' + n : String(n); }

/** This month in Beijing time, and the month eleven months earlier. */
function defaultPeriod() {
  const d = new Date(Date.now() + 8 * 3600 * 1000);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + 1;
  const back = y * 12 + (m - 1) - 11;
  return { from: `${Math.floor(back / 12)}-${pad((back % 12) + 1)}`, to: `${y}-${pad(m)}` };
}

const MONTH_RE = /^\d{4}-(0[1-9]|1[0-2])$/;

function pct(v) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return tr('common.dash');
  return (Number(v) * 100).toFixed(1) + '%';
}

function days(v) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return tr('common.dash');
  return tr('stats.days', { n: Number(v).toFixed(1) });
}

function monthLabel(m) {
  if (lang() === 'en') return m;
  const [y, mo] = m.split('-');
  return `${y}年${Number(mo)}月`;
}

function table(headers, rows) {
  return h('div', { class: 'table-wrap stats-table' }, h('table', { class: 'table' },
    h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', null, rows.map((cells) => h('tr', null, cells.map((c, i) => h('td', { 'data-label': headers[i] }, c)))))));
}

function dataTable(headers, rows) {
  return h('details', { class: 'panel' }, h('summary', null, tr('stats.table')), h('div', { class: 'panel-body' }, table(headers, rows)));
}

function kpi(title, value, hint) {
  return h('div', { class: 'stats-kpi' }, h('dt', null, title), h('dd', null, value, hint ? h('small', null, hint) : null));
}

function chartBox(labelText, tall) {
  const canvas = h('canvas', { role: 'img', 'aria-label': labelText });
  return { canvas, el: h('div', { class: 'stats-chart' + (tall ? ' tall' : '') }, canvas) };
}

function destroyCharts() {
  for (const c of charts) { try { c.destroy(); } catch (_) { /* already gone */ } }
  charts = [];
}

/**
 * Render the page into `container`.
 * opts: { query (URLSearchParams of the hash), navigate(hash), isCurrent() → bool, setTitle(parts) }
 */
export async function renderStatistics(container, { query, navigate, isCurrent, setTitle }) {
  ensureStyle();
  destroyCharts();
  if (setTitle) setTitle([tr('stats.title')]);
  const def = defaultPeriod();
  let from = (query && query.get('from')) || def.from;
  let to = (query && query.get('to')) || def.to;
  if (!MONTH_RE.test(from)) from = def.from;
  if (!MONTH_RE.test(to)) to = def.to;

  const box = messageBox();
  const fromIn = h('input', { type: 'month', name: 'from', value: from, min: '2000-01', max: '2999-12', pattern: '\\d{4}-\\d{2}', placeholder: 'YYYY-MM', required: true });
  const toIn = h('input', { type: 'month', name: 'to', value: to, min: '2000-01', max: '2999-12', pattern: '\\d{4}-\\d{2}', placeholder: 'YYYY-MM', required: true });
  const field = (text, control) => h('label', { class: 'field' }, h('span', { class: 'field-label' }, text), control);
  const csvLink = h('a', { class: 'btn btn-secondary', href: `/api/statistics.csv?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, download: `statistics-${from}-${to}.csv` }, tr('stats.csv'));
  const periodForm = h('form', { class: 'stats-period', novalidate: true },
    field(tr('stats.from'), fromIn), field(tr('stats.to'), toIn),
    h('button', { type: 'submit', class: 'btn btn-primary' }, tr('stats.apply')),
    csvLink);
  periodForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = fromIn.value.trim();
    const t2 = toIn.value.trim();
    if (!MONTH_RE.test(f) || !MONTH_RE.test(t2)) { showMessage(box, tr('stats.err_month')); return; }
    navigate(`#/statistics?from=${encodeURIComponent(f)}&to=${encodeURIComponent(t2)}`);
  });

  const head = h('div', { class: 'page-head' }, h('h1', null, tr('stats.title')));
  const body = h('div', null, h('p', { class: 'loading' }, tr('common.loading')));
  replace(container, head, h('section', { class: 'card' }, h('p', { class: 'muted small' }, tr('stats.lead')), periodForm, box), body);

  let st;
  try {
    st = await api('GET', `/api/statistics?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  } catch (err) {
    if (isCurrent && !isCurrent()) return;
    replace(body);
    showMessage(box, errorText(err));
    return;
  }
  if (isCurrent && !isCurrent()) return;

  const months = st.months || [];
  const methods = st.closing_methods || {};
  const arbs = st.arbitrators || [];

  const kpis = h('dl', { class: 'stats-kpis' },
    kpi(tr('stats.received'), String(st.received)),
    kpi(tr('stats.closed'), String(st.closed)),
    kpi(tr('stats.mediation_rate'), pct(st.mediation_rate), tr('stats.mediation_rate_hint')),
    kpi(tr('stats.online_share'), pct(st.online_hearing_share), tr('stats.online_share_hint')),
    kpi(tr('stats.median_days'), days(st.days_to_close_median)),
    kpi(tr('stats.p90_days'), days(st.days_to_close_p90)),
    kpi(tr('stats.within_deadline'), pct(st.within_deadline_share)));

  const monthly = chartBox(tr('stats.monthly'));
  const methodChart = chartBox(tr('stats.methods'));
  const arbChart = chartBox(tr('stats.arbitrators'), arbs.length > 6);
  const chartNote = h('div', { class: 'msg', role: 'status', hidden: true });

  const monthlyTable = dataTable([tr('stats.month'), tr('stats.received'), tr('stats.closed')],
    months.map((m) => [monthLabel(m.month), String(m.received), String(m.closed)]));
  const methodRows = METHODS.map((k) => [label('closing', k), String(methods[k] || 0), st.closed ? pct((methods[k] || 0) / st.closed) : tr('common.dash')]);
  const methodTable = dataTable([tr('stats.methods'), tr('stats.cases'), tr('stats.share')], methodRows);
  const arbTable = dataTable([tr('stats.arbitrator'), tr('stats.open'), tr('stats.received'), tr('stats.closed')],
    arbs.map((a) => [a.name, String(a.open), String(a.received), String(a.closed)]));

  replace(body,
    h('section', { class: 'card section' }, scopeNote(st), kpis, chartNote),
    h('div', { class: 'stats-charts' },
      h('section', { class: 'card section' }, h('h2', null, tr('stats.monthly')), monthly.el, monthlyTable),
      h('section', { class: 'card section' }, h('h2', null, tr('stats.methods')),
        st.closed ? methodChart.el : h('p', { class: 'empty' }, tr('stats.no_closed')), methodTable)),
    h('section', { class: 'card section' }, h('h2', null, tr('stats.arbitrators')),
      arbs.length ? arbChart.el : h('p', { class: 'empty' }, tr('stats.no_arbitrators')), arbs.length ? arbTable : null));

  let Chart;
  try {
    Chart = await loadChart();
  } catch (_) {
    chartNote.textContent = tr('stats.chart_failed');
    chartNote.hidden = false;
    return;
  }
  if (isCurrent && !isCurrent()) return;
  const narrow = window.matchMedia && window.matchMedia('(max-width: 480px)').matches;
  const common = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
  };
  charts.push(new Chart(monthly.canvas, {
    type: 'bar',
    data: {
      labels: months.map((m) => monthLabel(m.month)),
      datasets: [
        { label: tr('stats.received'), data: months.map((m) => m.received), backgroundColor: RECEIVED_COLOUR },
        { label: tr('stats.closed'), data: months.map((m) => m.closed), backgroundColor: CLOSED_COLOUR },
      ],
    },
    options: { ...common, scales: { x: { ticks: { maxRotation: narrow ? 60 : 0, autoSkip: true } }, y: { beginAtZero: true, ticks: { precision: 0 } } } },
  }));
  if (st.closed) {
    charts.push(new Chart(methodChart.canvas, {
      type: 'doughnut',
      data: {
        labels: METHODS.map((k) => label('closing', k)),
        datasets: [{ data: METHODS.map((k) => methods[k] || 0), backgroundColor: METHOD_COLOURS }],
      },
      options: {
        ...common,
        plugins: {
          ...common.plugins,
          tooltip: { callbacks: { label: (c) => `${c.label}: ${c.raw} (${pct(c.raw / st.closed)})` } },
        },
      },
    }));
  }
  if (arbs.length) {
    charts.push(new Chart(arbChart.canvas, {
      type: 'bar',
      data: {
        labels: arbs.map((a) => a.name),
        datasets: [
          { label: tr('stats.open'), data: arbs.map((a) => a.open), backgroundColor: OPEN_COLOUR },
          { label: tr('stats.received'), data: arbs.map((a) => a.received), backgroundColor: RECEIVED_COLOUR },
          { label: tr('stats.closed'), data: arbs.map((a) => a.closed), backgroundColor: CLOSED_COLOUR },
        ],
      },
      options: { ...common, indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    }));
  }
}

function scopeNote(st) {
  return st.scope === 'own' ? h('p', { class: 'muted small' }, tr('stats.scope_own')) : null;
}

// Charts hold canvases of the page being left: free them when the language changes (the
// console re-renders the route) so nothing leaks.
onLangChange(() => destroyCharts());
