// Advanced case search for the staff console's case list (issue 7): case number, party
// name, phone, arbitrator, acceptance dates, status, procedure and closing method, kept in
// the page's hash (#/cases?party=张三&status=closed&page=2) so a search can be bookmarked
// and the back button works. The server checks every parameter again (422 on bad input).

import { label } from './i18n.js';
import { h, api, field, select, messageBox, showMessage, hideMessage } from './common.js';
import { tr } from './i18n-records.js';

/** Every filter the list understands, in the order of the API. */
export const SEARCH_KEYS = ['q', 'number', 'party', 'phone', 'arbitrator_id', 'accepted_from', 'accepted_to', 'status', 'procedure', 'closing_method'];
const ADVANCED_KEYS = SEARCH_KEYS.filter((k) => k !== 'q' && k !== 'status');

const STATUSES = ['accepted', 'awaiting_hearing', 'in_hearing', 'hearing_closed', 'closed'];
const PROCEDURES = ['ordinary', 'simplified'];
const METHODS = ['mediation', 'award', 'withdrawal', 'deemed_withdrawal', 'rejection'];

/** The filters present in a hash query (URLSearchParams), trimmed. */
export function filtersOf(query) {
  const out = new URLSearchParams();
  for (const k of SEARCH_KEYS) {
    const v = (query.get(k) || '').trim();
    if (v) out.set(k, v);
  }
  return out;
}

/** Query string for GET /api/cases: the filters plus page and per_page. */
export function apiQuery(query, perPage) {
  const p = filtersOf(query);
  const page = Math.max(1, parseInt(query.get('page') || '1', 10) || 1);
  p.set('page', String(page));
  p.set('per_page', String(perPage));
  return p.toString();
}

/** The list page's hash for page n with the same filters. */
export function pageHash(query, n) {
  const p = filtersOf(query);
  if (n > 1) p.set('page', String(n));
  const s = p.toString();
  return '#/cases' + (s ? '?' + s : '');
}

let arbitratorCache = null;

async function arbitrators() {
  if (arbitratorCache) return arbitratorCache;
  try {
    const r = await api('GET', '/api/staff');
    arbitratorCache = ((r && r.items) || []).filter((s) => s.role === 'arbitrator').map((s) => [s.id, s.display_name]);
  } catch (_) {
    arbitratorCache = []; // not every role may list staff: the field is then left out
  }
  return arbitratorCache;
}

function digitsOfPhone(v) {
  let s = v.replace(/[\s-]/g, '');
  if (s.startsWith('+86')) s = s.slice(3);
  else if (s.startsWith('0086')) s = s.slice(4);
  return s;
}

/**
 * The advanced search panel (a <details>, open when any advanced filter is set).
 * `navigate(hash)` is the console's router; the quick search's q and status are kept.
 */
export async function advancedSearch(query, { navigate }) {
  const current = filtersOf(query);
  const active = ADVANCED_KEYS.filter((k) => current.has(k)).length;
  const box = messageBox();
  const input = (name, attrs) => h('input', Object.assign({ name, type: 'text', value: current.get(name) || '', autocomplete: 'off' }, attrs || {}));
  const number = input('number', { maxlength: 64 });
  const party = input('party', { maxlength: 100 });
  const phone = input('phone', { inputmode: 'tel', maxlength: 20 });
  const from = input('accepted_from', { type: 'date', min: '2000-01-01', max: '2999-12-31' });
  const to = input('accepted_to', { type: 'date', min: '2000-01-01', max: '2999-12-31' });
  const status = select('status', STATUSES.map((s) => [s, label('status', s)]), { value: current.get('status') || '', placeholder: tr('common.all') });
  const procedure = select('procedure', PROCEDURES.map((s) => [s, label('procedure', s)]), { value: current.get('procedure') || '', placeholder: tr('common.all') });
  const method = select('closing_method', METHODS.map((s) => [s, label('closing', s)]), { value: current.get('closing_method') || '', placeholder: tr('common.all') });
  const arbList = await arbitrators();
  const arbitrator = arbList.length
    ? select('arbitrator_id', arbList, { value: current.get('arbitrator_id') || '', placeholder: tr('common.all') })
    : null;

  const form = h('form', { class: 'form search-advanced', role: 'search', novalidate: true },
    h('div', { class: 'form-grid' },
      field(tr('search.number'), number, tr('search.number_hint')),
      field(tr('search.party'), party, tr('search.party_hint')),
      field(tr('search.phone'), phone, tr('search.phone_hint')),
      arbitrator ? field(tr('search.arbitrator'), arbitrator) : null,
      field(tr('search.accepted_from'), from),
      field(tr('search.accepted_to'), to),
      field(tr('search.status'), status),
      field(tr('search.procedure'), procedure),
      field(tr('search.closing_method'), method)),
    box,
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, tr('search.submit')),
      h('button', {
        type: 'button',
        class: 'btn btn-secondary',
        onclick: () => {
          const p = new URLSearchParams();
          if (current.get('q')) p.set('q', current.get('q'));
          navigate('#/cases' + (p.toString() ? '?' + p.toString() : ''));
        },
      }, tr('search.reset'))));

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    hideMessage(box);
    const ph = phone.value.trim();
    if (ph) {
      const d = digitsOfPhone(ph);
      if (!/^\d{4,11}$/.test(d)) { showMessage(box, tr('search.err_phone')); phone.focus(); return; }
    }
    if (from.value && to.value && to.value < from.value) { showMessage(box, tr('search.err_dates')); to.focus(); return; }
    const p = new URLSearchParams();
    if (current.get('q')) p.set('q', current.get('q'));
    const set = (k, v) => { const s = (v || '').trim(); if (s) p.set(k, s); };
    set('number', number.value);
    set('party', party.value);
    set('phone', ph ? digitsOfPhone(ph) : '');
    if (arbitrator) set('arbitrator_id', arbitrator.value);
    set('accepted_from', from.value);
    set('accepted_to', to.value);
    set('status', status.value);
    set('procedure', procedure.value);
    set('closing_method', method.value);
    navigate('#/cases' + (p.toString() ? '?' + p.toString() : ''));
  });

  const summary = h('summary', null, tr('search.advanced'),
    active ? h('span', { class: 'badge' }, ' ' + tr('search.active', { n: active })) : null);
  return h('details', { class: 'panel search-panel', open: active > 0 }, summary, h('div', { class: 'panel-body' }, form));
}

/** Pagination: first / previous / "page n of m" with a jump box / next / last. */
export function pager(query, total, page, perPage, { navigate, pageText }) {
  const pages = Math.max(1, Math.ceil(total / perPage));
  const link = (n, text, show) => (show ? h('a', { class: 'btn btn-secondary btn-small', href: pageHash(query, n) }, text) : null);
  const jump = h('input', { type: 'number', min: 1, max: pages, value: page, inputmode: 'numeric', class: 'pager-input', 'aria-label': tr('search.goto_page'), style: 'width:5em' });
  const go = h('form', { class: 'pager-jump', style: 'display:inline-flex;gap:.25rem;align-items:center' }, jump,
    h('button', { type: 'submit', class: 'btn btn-ghost btn-small' }, tr('search.goto')));
  go.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const n = Math.min(pages, Math.max(1, parseInt(jump.value, 10) || 1));
    navigate(pageHash(query, n));
  });
  return h('nav', { class: 'pager', 'aria-label': pageText },
    h('span', { class: 'muted' }, pageText),
    link(1, tr('search.first'), page > 2),
    link(page - 1, tr('cases.prev'), page > 1),
    pages > 1 ? go : null,
    link(page + 1, tr('cases.next'), page < pages),
    link(pages, tr('search.last'), page < pages - 1));
}
