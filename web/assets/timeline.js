// Case timeline (案件时间线): one vertical list of everything in a case, grouped by day
// (Beijing time), newest day last, as GET /api/cases/{id}/timeline returns it. Each item
// opens the thing it is about (the PDF, the exhibit, the case) and, tapped, shows its
// details and — for staff who may read the audit trail — its audit entries, fetched
// on demand from GET /api/cases/{id}/audit/entries?seq=… and shown inline.
// Made for one hand on a 360 px phone: one column, whole rows are the tap targets
// (≥ 44 px), filters as a row of chips that scrolls sideways.
//
//   import { createTimelinePanel } from './timeline.js';
//   const tlPanel = createTimelinePanel({ caseId: c.id });
//   parent.appendChild(tlPanel.el);      tlPanel.reload();

import { t, lang, label, onLangChange, fmtDateTime, fmtDate } from './i18n.js';
import { h, replace, api, errorText } from './common.js';
import { tl, keyLabel } from './i18n-timeline.js';

const CN_OFFSET_MS = 8 * 3600 * 1000;

// Filter chips → which kinds they keep (by prefix).
const FILTERS = [
  ['all', null],
  ['case', ['case.', 'party.', 'agent.']],
  ['people', ['invitation.', 'identity.', 'notice.']],
  ['documents', ['document.']],
  ['hearing', ['hearing.']],
  ['evidence', ['exhibit.', 'recording.']],
];

// Detail keys worth showing, in this order; the rest stay in the record.
const DETAIL_KEYS = [
  'number', 'cause', 'procedure', 'from', 'to', 'closing_method', 'reason', 'label', 'name', 'role', 'slot',
  'method', 'version', 'scheduled_at', 'expires_at', 'channel', 'via', 'confirmed_at', 'answer',
  'failures', 'locked', 'verdict', 'status', 'processing', 'segments', 'size', 'sha256', 'ip', 'user_agent',
];
const TIME_KEYS = new Set(['scheduled_at', 'expires_at', 'confirmed_at']);

const CSS = `
.tl-intro { margin: 0 0 .5rem; }
.tl-bar { display: flex; align-items: center; gap: .5rem; margin: .25rem 0 .75rem; }
.tl-bar .tl-count { margin-left: auto; }
.tl-chips { display: flex; gap: .4rem; overflow-x: auto; padding-bottom: .25rem; -webkit-overflow-scrolling: touch; scrollbar-width: thin; }
.tl-chip { flex: none; min-height: 36px; padding: .25rem .8rem; border-radius: 18px; border: 1px solid var(--border);
  background: var(--card); color: var(--text); font: inherit; font-size: .9rem; cursor: pointer; }
.tl-chip[aria-pressed="true"] { background: var(--primary); border-color: var(--primary); color: #fff; }
.tl-day { margin: 1rem 0 .25rem; font-size: .95rem; font-weight: 700; color: var(--primary-dark);
  position: sticky; top: 0; background: var(--card); padding: .35rem 0; z-index: 1; }
.tl-list { list-style: none; margin: 0; padding: 0 0 0 .9rem; border-left: 2px solid var(--border); }
.tl-item { position: relative; margin: 0 0 .35rem; }
.tl-item::before { content: ""; position: absolute; left: calc(-.9rem - 6px); top: 1.05rem; width: 10px; height: 10px;
  border-radius: 50%; background: var(--primary); border: 2px solid var(--card); }
.tl-item.tl-staff::before { background: var(--muted); }
.tl-item.tl-warn::before { background: var(--danger); }
.tl-row { display: flex; gap: .6rem; align-items: flex-start; width: 100%; min-height: 44px; padding: .55rem .4rem;
  text-align: left; background: none; border: 0; border-radius: var(--radius); font: inherit; color: inherit; cursor: pointer; }
.tl-row:hover, .tl-row[aria-expanded="true"] { background: var(--primary-soft); }
.tl-time { flex: none; width: 3.1rem; font-family: var(--mono); font-size: .9rem; color: var(--muted); padding-top: .1rem; }
.tl-main { flex: 1; min-width: 0; }
.tl-title { display: block; overflow-wrap: anywhere; line-height: 1.4; }
.tl-sub { display: flex; flex-wrap: wrap; gap: .25rem .6rem; margin-top: .15rem; font-size: .85rem; color: var(--muted); }
.tl-tag { display: inline-block; padding: 0 .4rem; border-radius: 4px; background: var(--warn-soft); color: var(--warn); font-size: .8rem; }
.tl-more { margin: 0 0 .5rem 3.7rem; padding: .5rem .6rem; border-left: 3px solid var(--primary-soft); font-size: .9rem; }
.tl-kv { display: grid; grid-template-columns: minmax(5.5rem, auto) 1fr; gap: .15rem .6rem; margin: 0 0 .5rem; }
.tl-kv dt { color: var(--muted); }
.tl-kv dd { margin: 0; overflow-wrap: anywhere; }
.tl-links { display: flex; flex-wrap: wrap; gap: .5rem; margin: .25rem 0; }
.tl-links a, .tl-links button { min-height: 44px; display: inline-flex; align-items: center; }
.tl-audit { list-style: none; margin: .4rem 0 0; padding: 0; }
.tl-audit li { padding: .35rem 0; border-top: 1px dashed var(--border); overflow-wrap: anywhere; font-size: .85rem; }
.tl-audit .mono { font-size: .8rem; }
@media (max-width: 420px) {
  .tl-more { margin-left: .4rem; }
  .tl-time { width: 2.9rem; }
}
`;

function injectStyle() {
  if (document.getElementById('yt-timeline-css')) return;
  document.head.appendChild(h('style', { id: 'yt-timeline-css' }, CSS));
}

function cnParts(ms) {
  const d = new Date(Number(ms) + CN_OFFSET_MS);
  return { h: d.getUTCHours(), mi: d.getUTCMinutes(), wd: d.getUTCDay() };
}
const pad = (n) => (n < 10 ? '0' + n : String(n));

function dayHeading(ms) {
  return fmtDate(ms) + ' ' + t('weekday.' + cnParts(ms).wd);
}

function clock(ms) {
  const p = cnParts(ms);
  return pad(p.h) + ':' + pad(p.mi);
}

function title(item) {
  return (lang() === 'en' ? item.title_en : item.title_zh) || item.title_zh || item.kind;
}

/** Where tapping "open" goes in the browser: the PDF, the file, the case page, or the record. */
function openTarget(item) {
  const found = openTargetOf(item);
  // Only addresses of this site: the server makes them, but never trust a scheme.
  return found && /^[/#][^/\\]/.test(found.href) ? found : null;
}

function openTargetOf(item) {
  const d = item.detail || {};
  if (d.document_id !== undefined && d.document_id !== null) {
    return { href: '/api/documents/' + encodeURIComponent(d.document_id) + '/pdf', text: tl('tl.open_pdf'), blank: true };
  }
  if (item.kind.startsWith('exhibit.') && item.link) return { href: item.link, text: tl('tl.open_file'), blank: true };
  const m = /^\/api\/cases\/(\d+)$/.exec(item.link || '');
  if (m) return { href: '#/cases/' + m[1], text: tl('tl.open_case'), blank: false };
  if (item.link) return { href: item.link, text: tl('tl.open_record'), blank: true };
  return null;
}

function valueText(item, key, v) {
  if (v === null || v === undefined || v === '') return null;
  if (TIME_KEYS.has(key)) return fmtDateTime(v);
  if (typeof v === 'boolean') return v ? t('common.yes') : t('common.no');
  if (item.kind.startsWith('case.') && (key === 'from' || key === 'to')) {
    return item.kind === 'case.procedure' ? label('procedure', v) : label('status', v);
  }
  if (item.kind === 'hearing.phase' && (key === 'from' || key === 'to')) return label('phase', v);
  if (key === 'verdict') return label('check.verdict', v);
  if (key === 'answer') return label('sign.status', v);
  if (key === 'closing_method') return label('closing', v);
  if (key === 'procedure') return label('procedure', v);
  if (key === 'role' || key === 'slot') return label('role', v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function detailList(item) {
  const d = item.detail && typeof item.detail === 'object' ? item.detail : {};
  const rows = [];
  for (const key of DETAIL_KEYS) {
    if (!(key in d)) continue;
    if (key === 'to' && item.kind === 'notice.sent') {
      const v = valueText(item, key, d[key]);
      if (v) rows.push([tl('tl.key.to'), v]);
      continue;
    }
    const v = valueText(item, key, d[key]);
    if (v === null) continue;
    const name = key === 'to' ? tl('tl.key.to_status') : (keyLabel(key) || key);
    rows.push([name, v]);
  }
  if (!rows.length) return null;
  return h('dl', { class: 'tl-kv' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', { class: k === 'SHA-256' ? 'mono' : null }, v)]));
}

function auditList(entries) {
  return h('ul', { class: 'tl-audit' }, entries.map((e) => {
    let detail = e.detail;
    if (typeof detail === 'string') {
      try { detail = JSON.parse(detail); } catch (_) { /* shown as is */ }
    }
    const d = detail === null || detail === undefined || detail === 'null' ? '' : (typeof detail === 'string' ? detail : JSON.stringify(detail));
    return h('li', null,
      h('div', null, h('span', { class: 'mono' }, '#' + e.seq), ' ', fmtDateTime(e.at), ' ', h('span', { class: 'mono' }, e.action)),
      h('div', { class: 'muted' }, h('span', { class: 'mono' }, e.actor), ' → ', h('span', { class: 'mono' }, e.target)),
      d ? h('div', { class: 'mono muted' }, d.length > 400 ? d.slice(0, 400) + '…' : d) : null);
  }));
}

export function createTimelinePanel({ caseId }) {
  injectStyle();
  const headingId = 'tl-title-' + caseId;
  const heading = h('h2', { id: headingId });
  const intro = h('p', { class: 'muted small tl-intro' });
  const refresh = h('button', { type: 'button', class: 'btn btn-secondary btn-small' });
  const count = h('span', { class: 'muted small tl-count', 'aria-live': 'polite' });
  const chips = h('div', { class: 'tl-chips', role: 'group' });
  const body = h('div', { class: 'tl-body' });
  const el = h('section', { class: 'card section timeline', 'aria-labelledby': headingId },
    heading, intro, h('div', { class: 'tl-bar' }, refresh, count), chips, body);

  let data = null;
  let error = null;
  let filter = 'all';
  const open = new Set();         // item keys expanded
  const auditCache = new Map();   // "seq,seq" → entries | {error}

  const key = (item, i) => item.kind + ':' + item.at + ':' + i;

  function drawChrome() {
    heading.textContent = tl('tl.title');
    intro.textContent = tl('tl.intro');
    refresh.textContent = tl('tl.refresh');
    chips.setAttribute('aria-label', tl('tl.filter'));
    replace(chips, FILTERS.map(([name]) => h('button', {
      type: 'button', class: 'tl-chip', 'aria-pressed': String(filter === name),
      onclick: () => { filter = name; drawChrome(); draw(); },
    }, tl('tl.filter.' + name))));
  }

  function kept(item) {
    const f = FILTERS.find(([n]) => n === filter);
    return !f || !f[1] || f[1].some((p) => item.kind.startsWith(p));
  }

  async function loadAudit(item, box) {
    const seqs = (item.audit || []).join(',');
    let got = auditCache.get(seqs);
    if (!got) {
      replace(box, h('p', { class: 'muted' }, tl('tl.audit_loading')));
      try {
        got = await api('GET', '/api/cases/' + encodeURIComponent(caseId) + '/audit/entries?seq=' + encodeURIComponent(seqs));
        auditCache.set(seqs, got);
      } catch (err) {
        replace(box, h('p', { class: 'msg msg-error', role: 'alert' }, errorText(err)));
        return;
      }
    }
    const entries = (got && got.items) || [];
    replace(box,
      got && got.chain_ok === false ? h('p', { class: 'msg msg-error', role: 'alert' }, tl('tl.audit_chain_bad')) : null,
      entries.length ? auditList(entries) : h('p', { class: 'muted' }, tl('tl.audit_none')));
  }

  function itemEl(item, i) {
    const k = key(item, i);
    const expanded = open.has(k);
    const moreId = 'tl-more-' + caseId + '-' + i;
    const sub = [];
    if (item.actor) sub.push(h('span', null, tl('tl.by', { who: item.actor })));
    if (item.case_id !== undefined && String(item.case_id) !== String(caseId)) {
      sub.push(h('span', { class: 'tl-tag' }, tl('tl.counterclaim', { number: item.case_number })));
    }
    if (item.audit && item.audit.length) sub.push(h('span', null, tl('tl.audit', { n: item.audit.length })));
    const warn = /refused|failed|interrupted|connection_lost|did_not_return|seal_failed/.test(item.kind);
    const row = h('button', {
      type: 'button', class: 'tl-row', 'aria-expanded': String(expanded), 'aria-controls': moreId,
      onclick: () => {
        if (open.has(k)) open.delete(k); else open.add(k);
        draw();
      },
    },
    h('span', { class: 'tl-time' }, clock(item.at)),
    h('span', { class: 'tl-main' }, h('span', { class: 'tl-title' }, title(item)), sub.length ? h('span', { class: 'tl-sub' }, sub) : null));
    let more = null;
    if (expanded) {
      const target = openTarget(item);
      const auditBox = h('div', { 'aria-live': 'polite' });
      more = h('div', { class: 'tl-more', id: moreId },
        h('div', { class: 'muted small' }, fmtDateTime(item.at), ' · ', h('span', { class: 'mono' }, item.kind)),
        detailList(item),
        target ? h('div', { class: 'tl-links' },
          h('a', { href: target.href, target: target.blank ? '_blank' : null, rel: target.blank ? 'noopener' : null }, target.text)) : null,
        auditBox);
      if (item.audit && item.audit.length) loadAudit(item, auditBox);
    }
    const cls = ['tl-item', warn ? 'tl-warn' : '', /^(recording\.|hearing\.(control_refused|caucus))/.test(item.kind) ? 'tl-staff' : ''].filter(Boolean).join(' ');
    return h('li', { class: cls }, row, more);
  }

  function draw() {
    if (error) {
      replace(body, h('p', { class: 'msg msg-error', role: 'alert' }, errorText(error)));
      count.textContent = '';
      return;
    }
    if (!data) {
      replace(body, h('p', { class: 'muted' }, tl('tl.loading')));
      return;
    }
    const all = (data.items || []).map((item, i) => [item, i]);
    const shown = all.filter(([item]) => kept(item));
    count.textContent = tl('tl.count', { n: shown.length });
    if (!shown.length) {
      replace(body, h('p', { class: 'empty' }, tl('tl.empty')));
      return;
    }
    // Group by day in Beijing time, oldest first.
    const groups = [];
    for (const [item, i] of shown) {
      const day = fmtDate(item.at);
      let g = groups[groups.length - 1];
      if (!g || g.day !== day) {
        g = { day, at: item.at, items: [] };
        groups.push(g);
      }
      g.items.push(itemEl(item, i));
    }
    replace(body,
      data.view === 'party' ? h('p', { class: 'muted small' }, tl('tl.party_view')) : null,
      groups.map((g) => [h('h3', { class: 'tl-day' }, dayHeading(g.at)), h('ol', { class: 'tl-list' }, g.items)]));
  }

  async function reload() {
    error = null;
    refresh.disabled = true;
    draw();
    try {
      data = await api('GET', '/api/cases/' + encodeURIComponent(caseId) + '/timeline');
      auditCache.clear();
    } catch (err) {
      error = err;
    } finally {
      refresh.disabled = false;
    }
    draw();
  }

  refresh.addEventListener('click', () => reload());
  onLangChange(() => { if (el.isConnected) { drawChrome(); draw(); } });
  drawChrome();
  reload();
  return { el, reload };
}
