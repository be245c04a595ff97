// Staff console: a small hash-routed single-page app.
//   #/login · #/cases?q=&status=&page= · #/cases/{id} · #/users

import {
  t, label, kv, paren, joinList, onLangChange, fmtDateTime, fmtDate, fmtYuan, parseYuan, fromDateTimeInput, toDateTimeInput,
  pickMessage,
} from './i18n.js';
import {
  h, replace, api, ApiError, errorText, userError, bindForm, field, select,
  messageBox, showMessage, langButton, copyText, withButton,
} from './common.js';
import { createDocumentsPanel } from './documents.js';
import { renderStatistics } from './statistics.js';
import { advancedSearch, apiQuery, pager } from './search.js';
import { tr } from './i18n-records.js';
import { createBundlePanel, renderVerifyPage, rt } from './records.js';
import { createTimelinePanel } from './timeline.js';
import { tl } from './i18n-timeline.js';

const app = document.getElementById('app');
const nav = document.getElementById('nav');

const STATUSES = ['accepted', 'awaiting_hearing', 'in_hearing', 'hearing_closed', 'closed'];
const PROCEDURES = ['ordinary', 'simplified'];
const STAFF_ROLES = ['admin', 'arbitrator', 'clerk', 'mediator'];
const INVITE_ROLES = ['applicant', 'respondent', 'agent', 'witness', 'observer'];
const PER_PAGE = 20;
const AUDIT_SHOWN = 30;
const COMMON_CAUSES = ['劳动报酬', '加班费', '经济补偿', '违法解除劳动合同赔偿金', '未签订书面劳动合同二倍工资', '确认劳动关系', '工伤保险待遇', '社会保险', '年休假工资', '竞业限制'];

// from → [[to, closing methods allowed, reason required]]
const TRANSITIONS = {
  accepted: [['awaiting_hearing', [], false], ['closed', ['rejection', 'withdrawal', 'mediation'], false]],
  awaiting_hearing: [['in_hearing', [], false], ['closed', ['withdrawal', 'deemed_withdrawal', 'mediation'], false]],
  in_hearing: [['hearing_closed', [], false], ['awaiting_hearing', [], true]],
  hearing_closed: [['awaiting_hearing', [], false], ['closed', ['award', 'mediation', 'withdrawal', 'deemed_withdrawal'], false]],
  closed: [],
};

let me = null; // {kind:'staff', user, commission}
let staffCache = null;
let routeSeq = 0;
let flash = null; // {hash, text}: a success note for the page at hash

function setFlash(text, hash) {
  flash = { hash: hash || location.hash, text };
}

/** The success note for the current page (consumed), as a status element. */
function takeFlash() {
  const text = flash && flash.hash === location.hash ? flash.text : '';
  flash = null;
  const el = h('div', { class: 'msg msg-ok flash', role: 'status', hidden: !text }, text);
  if (text) setTimeout(() => { el.hidden = true; }, 6000);
  return el;
}

// ------------------------------------------------------------------ routing

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  return { parts, query: new URLSearchParams(qs || '') };
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function loadMe() {
  try {
    me = await api('GET', '/api/me');
  } catch (err) {
    me = null;
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
  }
  return me;
}

async function route() {
  const seq = ++routeSeq;
  const { parts, query } = parseHash();
  try {
    if (parts[0] === 'login') {
      if (!me) await loadMe();
      if (seq !== routeSeq) return;
      if (me && me.kind === 'staff') { navigate('#/cases'); return; }
      renderNav();
      renderLogin();
      return;
    }
    if (!me) await loadMe();
    if (seq !== routeSeq) return;
    if (!me) { navigate('#/login'); return; }
    renderNav();
    if (me.kind !== 'staff') {
      replace(app, h('section', { class: 'card narrow' }, h('p', { class: 'lead' }, t('party_on_console'))));
      return;
    }
    if (parts[0] === 'cases' && parts[1]) await renderCase(parts[1], seq);
    else if (parts[0] === 'users' && me.user.role === 'admin') await renderUsers(seq);
    else if (parts[0] === 'statistics' && ['clerk', 'admin', 'arbitrator'].includes(me.user.role)) await renderStatistics(app, { query, navigate, isCurrent: () => current(seq), setTitle });
    else if (parts[0] === 'verify') { setTitle([rt('ver.title')]); renderVerifyPage(app); }
    else await renderCases(query, seq);
  } catch (err) {
    if (seq !== routeSeq) return;
    if (err instanceof ApiError && err.status === 401) {
      me = null;
      navigate('#/login');
      return;
    }
    renderPageError(err);
  }
}

function current(seq) { return seq === routeSeq; }

function renderPageError(err) {
  const box = messageBox();
  showMessage(box, errorText(err));
  replace(app, h('section', { class: 'card narrow' }, box,
    h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => route() }, t('common.retry'))));
}

function setTitle(parts) {
  document.title = [...parts, t('app.name')].filter(Boolean).join(' · ');
}

// ------------------------------------------------------------------ chrome

function renderNav() {
  const brand = document.getElementById('brand-text');
  const commission = me && me.commission && me.commission.name;
  if (brand) brand.textContent = t('app.name') + ' · ' + (commission || t('app.console'));
  const skip = document.getElementById('skip-link');
  if (skip) skip.textContent = t('nav.skip');
  nav.setAttribute('aria-label', t('app.console'));
  const items = [];
  if (me && me.kind === 'staff') {
    const { parts } = parseHash();
    const active = parts[0] || 'cases';
    items.push(h('a', { href: '#/cases', class: 'nav-link', 'aria-current': active === 'cases' ? 'page' : null }, t('nav.cases')));
    items.push(h('a', { href: '#/verify', class: 'nav-link', 'aria-current': active === 'verify' ? 'page' : null }, rt('ver.nav')));
    if (['clerk', 'admin', 'arbitrator'].includes(me.user.role)) {
      items.push(h('a', { href: '#/statistics', class: 'nav-link', 'aria-current': active === 'statistics' ? 'page' : null }, tr('nav.statistics')));
    }
    if (me.user.role === 'admin') {
      items.push(h('a', { href: '#/users', class: 'nav-link', 'aria-current': active === 'users' ? 'page' : null }, t('nav.users')));
    }
    items.push(h('span', { class: 'nav-user' }, me.user.display_name || me.user.username,
      h('small', null, label('role', me.user.role))));
  }
  items.push(langButton());
  if (me) {
    const out = h('button', { type: 'button', class: 'btn btn-ghost' }, t('nav.logout'));
    out.addEventListener('click', async () => {
      out.disabled = true;
      try { await api('POST', '/api/auth/logout'); } catch (_) { /* the session is gone either way */ }
      me = null;
      staffCache = null;
      navigate('#/login');
    });
    items.push(out);
  }
  replace(nav, items);
}

// ------------------------------------------------------------------ login

function renderLogin() {
  setTitle([t('login.title')]);
  const box = messageBox();
  const user = h('input', { name: 'username', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'form', 'aria-labelledby': 'login-title' },
    field(t('login.username'), user),
    field(t('login.password'), pass),
    box,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('login.submit')));
  bindForm(form, async () => {
    const r = await api('POST', '/api/auth/login', { username: user.value.trim(), password: pass.value });
    me = { kind: 'staff', user: r.user, commission: r.commission };
    staffCache = null;
    navigate('#/cases');
  }, box);
  replace(app, h('section', { class: 'card narrow login' },
    h('h1', { id: 'login-title' }, t('login.title')),
    form,
    h('p', { class: 'muted small' }, t('login.hint'))));
  user.focus();
}

// ------------------------------------------------------------------ helpers

async function loadStaff() {
  if (!staffCache) {
    const r = await api('GET', '/api/staff');
    staffCache = (r && r.items) || [];
  }
  return staffCache;
}

function staffOptions(staff, role) {
  return staff.filter((s) => s.role === role).map((s) => [s.id, s.display_name]);
}

function statusBadge(status) {
  return h('span', { class: 'badge badge-' + (status || 'none') }, label('status', status));
}

function section(title, ...content) {
  return h('section', { class: 'card section' }, h('h2', null, title), ...content);
}

function dl(rows) {
  return h('dl', { class: 'meta' }, rows.filter(Boolean).map(([k, v]) => h('div', { class: 'meta-row' }, h('dt', null, k), h('dd', null, v))));
}

function empty(text) { return h('p', { class: 'empty' }, text); }

function table(headers, rows, cls) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table ' + (cls || '') },
    h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', null, rows.map((cells) => h('tr', null, cells.map((c, i) => h('td', { 'data-label': headers[i] }, c)))))));
}

function names(list) {
  if (!list) return [];
  if (!Array.isArray(list)) list = [list];
  return list.map((x) => (x && typeof x === 'object' ? (x.name || x.display_name || '') : String(x))).filter(Boolean);
}

function summaryParties(s, side) {
  const plural = side + 's';
  if (s[plural] !== undefined) return joinList(names(s[plural]));
  if (s[side] !== undefined && s[side] !== null) return joinList(names(s[side]));
  if (Array.isArray(s.parties)) return joinList(s.parties.filter((p) => p.side === side).map((p) => p.name));
  return '';
}

function summaryNextHearing(s) {
  let v = s.next_hearing_at;
  if (v === undefined && s.next_hearing !== undefined) {
    v = s.next_hearing && typeof s.next_hearing === 'object' ? s.next_hearing.scheduled_at : s.next_hearing;
  }
  return v === undefined || v === null ? t('common.dash') : fmtDateTime(v);
}

function caseLink(id, text) {
  return h('a', { href: '#/cases/' + encodeURIComponent(id) }, text);
}

/** Claim rows editor: description + amount (yuan). read() → [{description, amount_cents}]. */
function claimsEditor() {
  const rows = h('div', { class: 'claims-rows' });
  const addRow = () => {
    const desc = h('input', { type: 'text', class: 'claim-desc', maxlength: 500, 'aria-label': t('form.claim_description'), placeholder: t('form.claim_description') });
    const amount = h('input', { type: 'text', class: 'claim-amount', inputmode: 'decimal', 'aria-label': t('form.claim_amount'), placeholder: t('form.claim_amount') });
    const row = h('div', { class: 'claim-row' }, desc, amount,
      h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: () => { if (rows.children.length > 1) row.remove(); else { desc.value = ''; amount.value = ''; } } }, t('form.remove_claim_row')));
    rows.appendChild(row);
    return desc;
  };
  addRow();
  const el = h('fieldset', { class: 'fieldset' },
    h('legend', null, t('form.claims')),
    h('small', { class: 'field-hint' }, t('form.claim_amount_hint')),
    rows,
    h('button', { type: 'button', class: 'btn btn-secondary btn-small', onclick: () => addRow().focus() }, '+ ' + t('form.add_claim_row')));
  return {
    el,
    read() {
      const out = [];
      for (const row of rows.children) {
        const d = row.querySelector('.claim-desc');
        const a = row.querySelector('.claim-amount');
        const description = d.value.trim();
        const amt = a.value.trim();
        if (!description && !amt) continue;
        if (!description) { d.focus(); throw userError(t('err.required', { label: t('form.claim_description') })); }
        const cents = amt === '' ? 0 : parseYuan(amt);
        if (!Number.isFinite(cents)) { a.focus(); throw userError(t('err.amount')); }
        out.push({ description, amount_cents: cents });
      }
      if (!out.length) throw userError(t('err.claims_empty'));
      return out;
    },
  };
}

/** Drop undefined/empty-string optional fields so the server sees only what was given. */
function compact(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === '' || v === null) continue;
    out[k] = v;
  }
  return out;
}

function formPanel(title, form, { open } = {}) {
  return h('details', { class: 'panel', open: !!open }, h('summary', null, title), h('div', { class: 'panel-body' }, form));
}

// ------------------------------------------------------------------ case list

async function renderCases(query, seq) {
  const q = query.get('q') || '';
  const status = query.get('status') || '';
  const page = Math.max(1, parseInt(query.get('page') || '1', 10) || 1);
  setTitle([t('cases.title')]);

  const data = await api('GET', '/api/cases?' + apiQuery(query, PER_PAGE));
  if (!current(seq)) return;
  const advanced = await advancedSearch(query, { navigate });
  if (!current(seq)) return;

  const items = (data && data.items) || [];
  const total = data && Number.isFinite(data.total) ? data.total : items.length;
  const perPage = (data && data.per_page) || PER_PAGE;
  const pages = Math.max(1, Math.ceil(total / perPage));

  const qInput = h('input', { type: 'search', name: 'q', value: q, placeholder: t('cases.search_placeholder'), 'aria-label': t('cases.search') });
  const statusSel = select('status', STATUSES.map((s) => [s, label('status', s)]), { value: status, placeholder: t('common.all') });
  statusSel.setAttribute('aria-label', t('cases.status_filter'));
  const searchForm = h('form', { class: 'toolbar', role: 'search' },
    qInput,
    h('label', { class: 'inline-label' }, h('span', null, t('cases.status_filter')), statusSel),
    h('button', { type: 'submit', class: 'btn btn-primary' }, t('cases.search')));
  searchForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams(query);
    p.delete('page');
    p.delete('q');
    p.delete('status');
    if (qInput.value.trim()) p.set('q', qInput.value.trim());
    if (statusSel.value) p.set('status', statusSel.value);
    navigate('#/cases' + (p.toString() ? '?' + p.toString() : ''));
  });
  statusSel.addEventListener('change', () => searchForm.requestSubmit());

  const list = items.length
    ? table(
      [t('col.number'), t('col.cause'), t('col.status'), t('col.applicant'), t('col.respondent'), t('col.next_hearing')],
      items.map((s) => [
        caseLink(s.id, s.number || ('#' + s.id)),
        s.cause || t('common.dash'),
        statusBadge(s.status),
        summaryParties(s, 'applicant') || t('common.dash'),
        summaryParties(s, 'respondent') || t('common.dash'),
        summaryNextHearing(s),
      ]),
      'cases-table')
    : empty(t('cases.empty'));

  const pagerEl = pager(query, total, page, perPage, { navigate, pageText: t('cases.total', { total }) + ' · ' + t('cases.page', { page, pages }) });

  const head = h('div', { class: 'page-head' }, h('h1', null, t('cases.title')));
  const content = [head, h('section', { class: 'card' }, searchForm, advanced, list, pagerEl)];
  if (me.user.role === 'clerk') content.splice(1, 0, createCasePanel());
  replace(app, ...content);
}

function createCasePanel() {
  const box = messageBox();
  const cause = h('input', { name: 'cause', type: 'text', required: true, maxlength: 100, list: 'cause-list' });
  const causeList = h('datalist', { id: 'cause-list' }, COMMON_CAUSES.map((c) => h('option', { value: c })));
  const procedure = select('procedure', PROCEDURES.map((p) => [p, label('procedure', p)]), { value: 'ordinary' });
  const arbitrator = select('arbitrator_id', [], { placeholder: t('common.none') });
  const number = h('input', { name: 'number', type: 'text', maxlength: 64 });
  const claims = claimsEditor();
  const form = h('form', { class: 'form form-grid' },
    field(t('form.cause'), cause), causeList,
    field(t('form.procedure'), procedure),
    field(t('form.arbitrator'), arbitrator),
    field(t('form.case_number') + t('common.optional'), number, t('form.case_number_hint')),
    h('div', { class: 'span-all' }, claims.el),
    box,
    h('div', { class: 'span-all' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('form.create'))));
  bindForm(form, async () => {
    const body = compact({
      cause: cause.value.trim(),
      procedure: procedure.value,
      arbitrator_id: arbitrator.value ? Number(arbitrator.value) : undefined,
      number: number.value.trim(),
    });
    body.claims = claims.read();
    const c = await api('POST', '/api/cases', body);
    setFlash(t('form.saved'), '#/cases/' + c.id);
    navigate('#/cases/' + c.id);
  }, box);
  const panel = formPanel(t('cases.new'), form);
  panel.classList.add('card');
  panel.addEventListener('toggle', () => {
    if (panel.open && arbitrator.options.length <= 1) {
      loadStaff().then((staff) => {
        for (const [v, text] of staffOptions(staff, 'arbitrator')) arbitrator.appendChild(h('option', { value: String(v) }, text));
      }).catch((err) => showMessage(box, errorText(err)));
    }
  });
  return panel;
}

// ------------------------------------------------------------------ case page

async function renderCase(id, seq) {
  let c;
  try {
    c = await api('GET', '/api/cases/' + encodeURIComponent(id));
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 403)) {
      if (!current(seq)) return;
      replace(app, h('section', { class: 'card narrow' },
        h('p', { class: 'lead' }, t('case.not_found')),
        h('a', { href: '#/cases', class: 'btn btn-secondary' }, t('case.back'))));
      return;
    }
    throw err;
  }
  if (!current(seq)) return;
  const allowed = new Set(c.allowed || []);
  const [invitations, audit, staff] = await Promise.all([
    allowed.has('invite') ? api('GET', '/api/cases/' + c.id + '/invitations').catch((e) => ({ error: e })) : null,
    allowed.has('audit') ? api('GET', '/api/cases/' + c.id + '/audit').catch((e) => ({ error: e })) : null,
    (allowed.has('edit') || allowed.has('invite')) ? loadStaff().catch(() => []) : [],
  ]);
  if (!current(seq)) return;
  setTitle([c.number]);

  const pageHash = location.hash;
  const reload = async (note) => {
    if (location.hash !== pageHash) return; // the user has moved on
    setFlash(note || t('form.saved'), pageHash);
    await route();
  };

  const flashEl = takeFlash();

  const main = h('div', { class: 'case-main' },
    overviewSection(c),
    claimsSection(c),
    partiesSection(c),
    counterclaimsSection(c),
    hearingsSection(c),
    historySection(c));
  let invSection = null;
  if (allowed.has('invite')) {
    invSection = h('div', null);
    renderInvitations(invSection, c, invitations);
    main.appendChild(invSection);
  }
  // Documents for signature (documents.js).
  main.appendChild(createDocumentsPanel({ caseId: c.id, hearings: c.hearings || [], mode: 'console', canDraft: allowed.has('edit') || allowed.has('transition') }).el);
  // The case timeline (timeline.js): loaded on request, since every read is audited.
  const tlHolder = h('div', { id: 'case-timeline' });
  const tlButton = h('button', { type: 'button', class: 'btn btn-secondary', id: 'timeline-open' }, tl('tl.title'));
  tlButton.addEventListener('click', () => { tlButton.remove(); tlHolder.appendChild(createTimelinePanel({ caseId: c.id }).el); });
  main.appendChild(h('div', { class: 'timeline-slot' }, tlButton, tlHolder));
  // The electronic case file (records.js).
  main.appendChild(createBundlePanel({ caseId: c.id, canSecondary: allowed.has('audit'), isParty: false }).el);
  if (allowed.has('audit')) main.appendChild(auditSection(audit));

  const actions = [];
  if (allowed.has('edit')) {
    actions.push(formPanel(t('form.add_party'), addPartyForm(c, reload)));
    if ((c.parties || []).length) actions.push(formPanel(t('form.add_agent'), addAgentForm(c, reload)));
    actions.push(formPanel(t('form.add_claim'), addClaimForm(c, reload)));
    if (!c.counterclaim_of) actions.push(formPanel(t('form.add_counterclaim'), counterclaimForm(c, reload)));
    actions.push(formPanel(t('form.schedule_hearing'), hearingForm(c, staff, reload)));
  }
  if (allowed.has('transition')) {
    actions.push(formPanel(t('form.transition'), transitionForm(c, reload)));
    actions.push(formPanel(t('form.change_procedure'), procedureForm(c, reload)));
  }
  if (allowed.has('invite')) {
    actions.push(formPanel(t('form.invite'), inviteForm(c, () => refreshInvitations(invSection, c))));
  }

  const layout = h('div', { class: actions.length ? 'case-layout' : 'case-layout single' },
    main,
    actions.length ? h('aside', { class: 'case-actions', 'aria-label': t('case.actions') },
      h('h2', { class: 'aside-title' }, t('case.actions')), actions) : null);

  replace(app,
    h('p', { class: 'crumbs' }, h('a', { href: '#/cases' }, '← ' + t('case.back'))),
    h('div', { class: 'page-head case-head' },
      h('h1', { class: 'case-title' }, c.number || ('#' + c.id)),
      statusBadge(c.status),
      c.closing_method ? h('span', { class: 'badge badge-plain' }, label('closing', c.closing_method)) : null),
    flashEl,
    layout);
}

function deadlineText(c) {
  if (c.deadline_at === null || c.deadline_at === undefined) return t('common.dash');
  const base = fmtDate(c.deadline_at);
  if (c.status === 'closed') return base;
  const days = Math.ceil((c.deadline_at - Date.now()) / 86400000);
  const note = days >= 0 ? t('case.days_left', { n: days }) : t('case.days_over', { n: -days });
  return h('span', { class: days < 0 ? 'danger' : (days <= 7 ? 'warn' : null) }, base + paren(note));
}

function counterclaimOfLink(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') return caseLink(v.id, v.number || ('#' + v.id));
  return caseLink(v, '#' + v);
}

function overviewSection(c) {
  return section(t('case.overview'), dl([
    [t('case.number'), c.number],
    [t('case.cause'), c.cause || t('common.dash')],
    [t('case.procedure'), label('procedure', c.procedure)],
    [t('case.status'), label('status', c.status)],
    c.closing_method ? [t('case.closing_method'), label('closing', c.closing_method)] : null,
    [t('case.accepted_at'), fmtDate(c.accepted_at)],
    [t('case.deadline_at'), deadlineText(c)],
    c.closed_at ? [t('case.closed_at'), fmtDate(c.closed_at)] : null,
    [t('case.arbitrator'), c.arbitrator ? c.arbitrator.display_name : t('common.dash')],
    c.counterclaim_of ? [t('case.counterclaim_of'), counterclaimOfLink(c.counterclaim_of)] : null,
    c.counterclaim_of ? [t('case.merged_hearing'), c.merged_hearing ? t('common.yes') : t('common.no')] : null,
  ]));
}

function claimsSection(c) {
  const claims = c.claims || [];
  if (!claims.length) return section(t('case.claims'), empty(t('case.claims_empty')));
  const total = claims.reduce((s, x) => s + (Number(x.amount_cents) || 0), 0);
  const tbl = table(['#', t('form.claim_description'), t('form.claim_amount')],
    claims.map((x, i) => [String(x.position || i + 1), x.description, h('span', { class: 'num' }, fmtYuan(x.amount_cents))]), 'claims-table');
  tbl.querySelector('table').appendChild(h('tfoot', null, h('tr', null,
    h('th', { scope: 'row', colspan: '2' }, t('case.claims_total')),
    h('td', { 'data-label': t('case.claims_total') }, h('span', { class: 'num' }, fmtYuan(total))))));
  return section(t('case.claims'), tbl);
}

function partiesSection(c) {
  const parties = c.parties || [];
  if (!parties.length) return section(t('case.parties'), empty(t('case.parties_empty')));
  const cards = ['applicant', 'respondent'].flatMap((side) => parties.filter((p) => p.side === side)).concat(
    parties.filter((p) => p.side !== 'applicant' && p.side !== 'respondent'));
  return section(t('case.parties'), h('div', { class: 'party-grid' }, cards.map((p) => h('article', { class: 'party-box party-' + p.side },
    h('p', { class: 'party-side' }, label('side', p.side), ' · ', label('kind', p.kind)),
    h('h3', { class: 'party-name' }, p.name),
    dl([
      p.legal_rep ? [t('case.legal_rep'), p.legal_rep] : null,
      [t('case.phone'), p.phone || t('common.dash')],
      [t('case.id_number'), h('span', { class: 'mono' }, p.id_number || t('common.dash'))],
    ]),
    (p.agents || []).length ? h('div', { class: 'agents' },
      h('h4', null, t('case.agents')),
      h('ul', { class: 'plain-list' }, p.agents.map((a) => h('li', null,
        h('strong', null, a.name), ' · ', label('authority', a.authority),
        a.authority_detail ? h('span', { class: 'muted' }, paren(a.authority_detail)) : null,
        h('br'),
        h('span', { class: 'muted small' }, [a.phone, a.id_number].filter(Boolean).join(' · ')))))) : null))));
}

function counterclaimsSection(c) {
  const list = c.counterclaims || [];
  return section(t('case.counterclaims'), list.length
    ? h('ul', { class: 'plain-list' }, list.map((x) => h('li', null,
      caseLink(x.id, x.number || ('#' + x.id)), ' ',
      h('span', { class: 'badge badge-plain' }, x.merged_hearing ? t('case.merged') : t('case.separate')))))
    : empty(t('case.counterclaims_empty')));
}

function tribunalText(hg) {
  const parts = [];
  if (hg.presiding_arbitrator) parts.push(kv(t('hearing.presiding'), hg.presiding_arbitrator.display_name));
  if (hg.clerk) parts.push(kv(t('hearing.clerk'), hg.clerk.display_name));
  if (hg.mediator) parts.push(kv(t('hearing.mediator'), hg.mediator.display_name));
  return h('span', { class: 'stack' }, parts.map((p) => h('span', null, p)));
}

function hearingsSection(c) {
  const list = c.hearings || [];
  if (!list.length) return section(t('case.hearings'), empty(t('case.hearings_empty')));
  return section(t('case.hearings'), table(
    [t('hearing.time'), t('hearing.status'), t('hearing.tribunal'), t('hearing.case_numbers')],
    list.map((hg) => [
      fmtDateTime(hg.scheduled_at),
      label('hstatus', hg.status),
      tribunalText(hg),
      h('span', { class: 'stack' }, (hg.case_numbers || []).map((n) => h('span', null, n))),
    ])),
  list.map(recordingPanel));
}

// ------------------------------------------------------------------ recordings

function fmtBytes(n) {
  if (!(n > 0)) return '0 B';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return (i ? n.toFixed(n < 10 ? 1 : 0) : String(n)) + ' ' + units[i];
}

function fmtClock(s) {
  const total = Math.max(0, Math.floor(s || 0));
  const hh = Math.floor(total / 3600);
  const mm = Math.floor((total % 3600) / 60);
  const ss = total % 60;
  const two = (x) => String(x).padStart(2, '0');
  return (hh ? hh + ':' + two(mm) : String(mm)) + ':' + two(ss);
}

/** recording | processing | ready | failed | sealed | interrupted | unsealed | none */
function recordingState(rec) {
  return rec.state || rec.status || 'none';
}

const REC_BADGE = { recording: 'in_hearing', processing: 'awaiting_hearing', ready: 'closed', sealed: 'closed', interrupted: 'inv-revoked', failed: 'inv-revoked' };

function recordingStateText(rec, state) {
  if (state === 'processing' && rec.percent !== null && rec.percent !== undefined) {
    return t('rec.state.processing_pct', { pct: rec.percent });
  }
  return t('rec.state.' + state);
}

/** One hearing's recording: its state, and a player once there are files. */
function recordingPanel(hg) {
  const box = h('div', { class: 'recording', style: 'margin-top:1rem;border-top:1px solid var(--border);padding-top:.75rem' },
    h('h3', { style: 'margin:0 0 .5rem;font-size:1rem' }, t('rec.title', { time: fmtDateTime(hg.scheduled_at) })),
    h('p', { class: 'muted', style: 'margin:0' }, t('common.loading')));
  loadRecording(box, hg).catch((err) => {
    if (err instanceof ApiError && (err.status === 403 || err.status === 404)) { box.remove(); return; }
    replace(box, box.firstChild, h('p', { class: 'msg msg-error', role: 'alert' }, errorText(err)));
  });
  return box;
}

async function loadRecording(box, hg) {
  const base = '/api/hearings/' + encodeURIComponent(hg.id) + '/recording';
  const rec = await api('GET', base);
  const title = box.firstChild;
  const state = recordingState(rec);
  if (state === 'none') {
    replace(box, title, empty(t('rec.none')), storageLine(rec, hg));
    return;
  }
  const facts = [
    h('span', { class: 'badge badge-' + (REC_BADGE[state] || 'plain'), id: 'rec-state-' + hg.id }, recordingStateText(rec, state)),
    rec.duration_s > 0 ? kv(t('rec.duration'), fmtClock(rec.duration_s)) : null,
    rec.bytes > 0 ? kv(t('rec.size'), fmtBytes(rec.bytes)) : null,
    rec.verification ? h('span', {
      title: (rec.verification.problems || []).join('\n') || null,
      style: 'color:' + (rec.verification.ok ? 'var(--ok, #1a7f37)' : 'var(--danger, #b42318)'),
    }, rec.verification.ok ? '✓ ' + t('rec.verified') : '✗ ' + t('rec.not_verified')) : null,
  ].filter(Boolean);
  const line = h('p', { style: 'margin:0 0 .5rem;display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center' }, facts);
  replace(box, title, line, storageLine(rec, hg));
  if (state === 'recording') return;

  if (state === 'processing') {
    // Progress while the files are made; the player appears when they are ready.
    box.appendChild(empty(t('rec.processing_note')));
    setTimeout(() => {
      if (box.isConnected) loadRecording(box, hg).catch(() => {});
    }, 5000);
    return;
  }

  const [files, chapters] = await Promise.all([
    api('GET', base + '/files'),
    api('GET', base + '/chapters').catch(() => ({ chapters: [] })),
  ]);
  const list = files.files || [];
  if (!list.length) {
    box.appendChild(empty(t('rec.no_files')));
    return;
  }
  box.appendChild(recordingPlayer(list, chapters.chapters || []));
}

/**
 * Before and during a hearing: the recording storage's free space, and its warning when
 * space runs low or the recording paused (the hearing is never blocked by it).
 */
function storageLine(rec, hg) {
  const st = rec.storage;
  if (!st || st.error || st.free_bytes === undefined) return null;
  if (hg.status === 'closed' || hg.status === 'cancelled') return null;
  const warn = st.paused || st.warning;
  const parts = [kv(t('rec.storage'), t('rec.storage_free', { free: fmtBytes(st.free_bytes), total: fmtBytes(st.total_bytes) }))];
  if (st.minutes_left !== null && st.minutes_left !== undefined && !warn) parts.push(t('rec.storage_minutes', { n: st.minutes_left }));
  if (st.paused) parts.push(t('rec.storage_paused', { reason: pickMessage(st.paused) }));
  else if (st.warning) parts.push(pickMessage(st.warning));
  return h('p', {
    class: 'recording-storage' + (warn ? ' msg ' + (st.paused || st.level === 'critical' ? 'msg-error' : 'msg-warn') : ' muted'),
    role: warn ? 'alert' : null,
    dataset: { level: st.paused ? 'paused' : (st.level || 'ok') },
    style: 'margin:.25rem 0 .5rem',
  }, parts.join(' · '));
}

function fileLabel(f) {
  const who = f.kind === 'composite' ? t('rec.composite') : (f.participant || f.name);
  const ext = (f.name.split('.').pop() || '').toUpperCase();
  return who + ' · ' + ext + ' · ' + fmtBytes(f.size);
}

function recordingPlayer(files, chapters) {
  // The server lists the composite first.
  const video = h('video', {
    controls: true, preload: 'metadata', playsinline: true,
    style: 'display:block;width:100%;max-width:720px;max-height:60vh;background:#000;border-radius:4px',
  });
  const download = h('a', { class: 'btn btn-secondary btn-small', style: 'margin-left:.5rem' }, t('rec.download'));
  const pick = (f) => {
    video.src = f.url;
    download.href = f.url;
    download.setAttribute('download', f.name);
  };
  const picker = files.length > 1
    ? h('select', {
      'aria-label': t('rec.file'),
      style: 'max-width:100%;min-height:36px',
      onchange: (e) => pick(files[Number(e.target.value)]),
    }, files.map((f, i) => h('option', { value: String(i) }, fileLabel(f))))
    : h('span', { class: 'muted' }, fileLabel(files[0]));
  pick(files[0]);

  const chapterList = chapters.length
    ? h('div', null,
      h('h4', { style: 'margin:.75rem 0 .25rem;font-size:.95rem' }, t('rec.chapters')),
      h('ol', { style: 'list-style:none;margin:0;padding:0' }, chapters.map((ch) => h('li', null,
        h('button', {
          type: 'button', class: 'btn-link', style: 'text-align:left;padding:.35rem 0;min-height:36px',
          onclick: () => {
            video.currentTime = ch.offset_s;
            if (video.paused) video.play().catch(() => {});
          },
        }, h('span', { style: 'font-variant-numeric:tabular-nums;margin-right:.5rem' }, fmtClock(ch.offset_s)), ch.title)))))
    : null;

  return h('div', { class: 'recording-player' },
    h('div', { style: 'display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin-bottom:.5rem' },
      h('label', { class: 'muted' }, t('rec.file')), picker, download),
    video,
    chapterList);
}

function historySection(c) {
  const list = c.procedure_history || [];
  return section(t('case.history'), list.length
    ? h('ol', { class: 'timeline' }, list.map((x) => h('li', null,
      h('span', { class: 'muted small' }, fmtDateTime(x.at)), ' ',
      h('strong', null, t('history.from_to', { from: label('procedure', x.from), to: label('procedure', x.to) })),
      x.reason ? h('div', null, kv(t('history.reason'), x.reason)) : null,
      x.by ? h('div', { class: 'muted small' }, kv(t('history.by'), (typeof x.by === 'object' ? (x.by.display_name || x.by.username || '') : x.by))) : null)))
    : empty(t('case.history_empty')));
}

function invitationState(inv) {
  if (inv.revoked_at) return 'revoked';
  if (inv.verified_at) return 'verified';
  if (inv.expires_at && inv.expires_at < Date.now()) return 'expired';
  return 'active';
}

function renderInvitations(container, c, data) {
  const box = messageBox();
  if (data && data.error) {
    showMessage(box, errorText(data.error));
    replace(container, section(t('case.invitations'), box));
    return;
  }
  const items = (data && data.items) || [];
  if (!items.length) {
    replace(container, section(t('case.invitations'), empty(t('case.invitations_empty')), box));
    return;
  }
  const rows = items.map((inv) => {
    const st = invitationState(inv);
    let btn = null;
    if (st !== 'revoked') {
      btn = h('button', { type: 'button', class: 'btn btn-danger btn-small' }, t('inv.revoke'));
      btn.addEventListener('click', () => {
        if (btn.dataset.confirm !== '1') {
          btn.dataset.confirm = '1';
          btn.textContent = t('inv.revoke_confirm');
          setTimeout(() => { if (btn.isConnected) { delete btn.dataset.confirm; btn.textContent = t('inv.revoke'); } }, 5000);
          return;
        }
        withButton(btn, box, async () => {
          await api('POST', '/api/invitations/' + inv.id + '/revoke');
          await refreshInvitations(container, c);
        });
      });
    }
    return [
      label('role', inv.role),
      inv.name || t('common.dash'),
      inv.phone || t('common.dash'),
      fmtDateTime(inv.expires_at),
      h('span', { class: 'badge badge-inv-' + st }, t('inv.state.' + st)),
      btn || '',
    ];
  });
  replace(container, section(t('case.invitations'),
    table([t('inv.role'), t('inv.name'), t('inv.phone'), t('inv.expires_at'), t('inv.state'), ''], rows, 'inv-table'),
    box));
}

async function refreshInvitations(container, c) {
  if (!container) return;
  let data;
  try {
    data = await api('GET', '/api/cases/' + c.id + '/invitations');
  } catch (err) {
    data = { error: err };
  }
  renderInvitations(container, c, data);
}

function auditSection(data) {
  if (data && data.error) {
    const box = messageBox();
    showMessage(box, errorText(data.error));
    return section(t('case.audit'), box);
  }
  const items = (data && data.items) || [];
  const chain = data && data.chain_ok !== undefined
    ? h('p', { class: data.chain_ok ? 'msg msg-ok' : 'msg msg-error', role: data.chain_ok ? null : 'alert' },
      data.chain_ok ? t('case.audit_chain_ok') : t('case.audit_chain_bad'))
    : null;
  const detail = (e) => {
    const d = e.detail !== undefined ? e.detail : (e.details !== undefined ? e.details : e.data);
    if (d === undefined || d === null || d === 'null' || d === '') return '';
    let obj = d;
    if (typeof d === 'string') {
      try { obj = JSON.parse(d); } catch (_) { obj = d; }
    }
    if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
      return h('span', { class: 'stack small audit-detail' }, Object.entries(obj)
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => h('span', null, h('span', { class: 'muted mono' }, k), ' ', typeof v === 'string' ? v : JSON.stringify(v))));
    }
    return h('span', { class: 'mono small wrap' }, typeof d === 'string' ? d : JSON.stringify(d));
  };
  const actor = (e) => {
    const a = e.actor !== undefined ? e.actor : (e.by !== undefined ? e.by : e.user);
    if (a === undefined || a === null) return t('common.dash');
    return typeof a === 'object' ? (a.display_name || a.username || a.name || JSON.stringify(a)) : String(a);
  };
  const at = (e) => h('span', { class: 'nowrap' }, fmtDateTime(e.at !== undefined ? e.at : e.created_at));
  // Newest first; long trails (every read is recorded) are cut to AUDIT_SHOWN rows.
  const newest = items.slice().reverse();
  const body = h('div', null);
  const draw = (all) => {
    const shown = all ? newest : newest.slice(0, AUDIT_SHOWN);
    replace(body,
      table([t('audit.at'), t('audit.actor'), t('audit.action'), t('audit.detail')],
        shown.map((e) => [at(e), h('span', { class: 'mono small nowrap' }, actor(e)),
          h('span', { class: 'stack' }, h('span', { class: 'mono small nowrap' }, e.action || e.event || t('common.dash')),
            e.target ? h('span', { class: 'muted small mono nowrap' }, String(e.target)) : null),
          detail(e)]), 'audit-table'),
      shown.length < newest.length
        ? h('button', { type: 'button', class: 'btn btn-secondary btn-small show-all', onclick: () => draw(true) }, t('case.audit_show_all', { n: newest.length }))
        : null);
  };
  if (items.length) draw(false);
  return section(t('case.audit'), chain, items.length ? body : empty(t('case.audit_empty')));
}

// ------------------------------------------------------------------ case forms

function addPartyForm(c, reload) {
  const box = messageBox();
  const side = select('side', [['applicant', label('side', 'applicant')], ['respondent', label('side', 'respondent')]], { value: 'applicant' });
  const kind = select('kind', [['person', label('kind', 'person')], ['organisation', label('kind', 'organisation')]], { value: 'person' });
  const name = h('input', { name: 'name', type: 'text', required: true, maxlength: 100 });
  const legalRep = h('input', { name: 'legal_rep', type: 'text', maxlength: 100 });
  const legalField = field(t('form.legal_rep'), legalRep);
  legalField.hidden = true;
  const phone = h('input', { name: 'phone', type: 'tel', required: true, inputmode: 'tel', maxlength: 20, autocomplete: 'off' });
  const idNumber = h('input', { name: 'id_number', type: 'text', required: true, maxlength: 18, minlength: 18, autocapitalize: 'characters', spellcheck: 'false', class: 'mono' });
  kind.addEventListener('change', () => { legalField.hidden = kind.value !== 'organisation'; });
  const form = h('form', { class: 'form' },
    field(t('form.side'), side), field(t('form.kind'), kind), field(t('form.name'), name), legalField,
    field(t('form.phone'), phone), field(t('form.id_number'), idNumber),
    box, h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save')));
  bindForm(form, async () => {
    await api('POST', '/api/cases/' + c.id + '/parties', compact({
      side: side.value, kind: kind.value, name: name.value.trim(),
      legal_rep: kind.value === 'organisation' ? legalRep.value.trim() : undefined,
      phone: phone.value.trim(), id_number: idNumber.value.trim().toUpperCase(),
    }));
    await reload();
  }, box);
  return form;
}

function addAgentForm(c, reload) {
  const box = messageBox();
  const party = select('party_id', (c.parties || []).map((p) => [p.id, kv(label('side', p.side), p.name)]));
  const name = h('input', { name: 'name', type: 'text', required: true, maxlength: 100 });
  const phone = h('input', { name: 'phone', type: 'tel', required: true, inputmode: 'tel', maxlength: 20, autocomplete: 'off' });
  const idNumber = h('input', { name: 'id_number', type: 'text', required: true, maxlength: 18, autocapitalize: 'characters', spellcheck: 'false', class: 'mono' });
  const authority = select('authority', [['general', label('authority', 'general')], ['special', label('authority', 'special')]], { value: 'general' });
  const detail = h('textarea', { name: 'authority_detail', rows: 2, maxlength: 500 });
  const form = h('form', { class: 'form' },
    field(t('form.agent_party'), party), field(t('form.agent_name'), name), field(t('form.phone'), phone),
    field(t('form.agent_id_number'), idNumber), field(t('form.authority'), authority),
    field(t('form.authority_detail') + t('common.optional'), detail),
    box, h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save')));
  bindForm(form, async () => {
    await api('POST', '/api/cases/' + c.id + '/parties/' + encodeURIComponent(party.value) + '/agents', compact({
      name: name.value.trim(), phone: phone.value.trim(), id_number: idNumber.value.trim().toUpperCase(),
      authority: authority.value, authority_detail: detail.value.trim(),
    }));
    await reload();
  }, box);
  return form;
}

function addClaimForm(c, reload) {
  const box = messageBox();
  const desc = h('textarea', { name: 'description', rows: 2, required: true, maxlength: 500 });
  const amount = h('input', { name: 'amount', type: 'text', inputmode: 'decimal', required: true, value: '0' });
  const form = h('form', { class: 'form' },
    field(t('form.claim_description'), desc), field(t('form.claim_amount'), amount, t('form.claim_amount_hint')),
    box, h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save')));
  bindForm(form, async () => {
    const cents = parseYuan(amount.value);
    if (!Number.isFinite(cents)) throw userError(t('err.amount'), 'amount');
    await api('POST', '/api/cases/' + c.id + '/claims', { description: desc.value.trim(), amount_cents: cents });
    await reload();
  }, box);
  return form;
}

function counterclaimForm(c, reload) {
  const box = messageBox();
  const cause = h('input', { name: 'cause', type: 'text', maxlength: 100, list: 'cause-list-cc' });
  const causeList = h('datalist', { id: 'cause-list-cc' }, COMMON_CAUSES.map((x) => h('option', { value: x })));
  const merged = h('input', { name: 'merged_hearing', type: 'checkbox', checked: true });
  const claims = claimsEditor();
  const form = h('form', { class: 'form' },
    field(t('form.counterclaim_cause') + t('common.optional'), cause, t('form.counterclaim_cause_hint')), causeList,
    h('label', { class: 'check' }, merged, h('span', null, t('form.merged_hearing'))),
    claims.el,
    box, h('button', { type: 'submit', class: 'btn btn-primary' }, t('form.create')));
  bindForm(form, async () => {
    const body = compact({ cause: cause.value.trim() });
    body.merged_hearing = merged.checked;
    body.claims = claims.read();
    await api('POST', '/api/cases/' + c.id + '/counterclaims', body);
    await reload();
  }, box);
  return form;
}

function procedureForm(c, reload) {
  const box = messageBox();
  const other = PROCEDURES.find((p) => p !== c.procedure) || 'simplified';
  const proc = select('procedure', PROCEDURES.map((p) => [p, label('procedure', p)]), { value: other });
  const reason = h('textarea', { name: 'reason', rows: 2, required: true, maxlength: 500 });
  const form = h('form', { class: 'form' },
    h('p', { class: 'muted small' }, kv(t('case.procedure'), label('procedure', c.procedure))),
    field(t('form.new_procedure'), proc), field(t('form.reason'), reason),
    box, h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save')));
  bindForm(form, async () => {
    await api('POST', '/api/cases/' + c.id + '/procedure', { procedure: proc.value, reason: reason.value.trim() });
    await reload();
  }, box);
  return form;
}

function transitionForm(c, reload) {
  const options = TRANSITIONS[c.status] || [];
  if (!options.length) return h('p', { class: 'muted' }, t('form.transition_none'));
  const box = messageBox();
  const to = select('to', options.map(([s]) => [s, label('status', s)]), { value: options[0][0] });
  const method = select('closing_method', [], { placeholder: t('form.choose') });
  const methodField = field(t('form.closing_method'), method);
  const reason = h('textarea', { name: 'reason', rows: 2, maxlength: 500 });
  const reasonHint = h('small', { class: 'field-hint' });
  const reasonField = field(t('form.reason'), reason);
  reasonField.appendChild(reasonHint);
  // An award closes the case with its number and date (POST /close).
  const awardNumber = h('input', { name: 'award_number', type: 'text', maxlength: 60 });
  const awardDate = h('input', { name: 'award_date', type: 'date' });
  const awardFields = h('div', null, field(rt('close.award_number'), awardNumber), field(rt('close.award_date'), awardDate));
  const syncAward = () => { awardFields.hidden = method.value !== 'award'; awardNumber.required = awardDate.required = !awardFields.hidden; };
  method.addEventListener('change', syncAward);
  const sync = () => {
    const opt = options.find(([s]) => s === to.value);
    const methods = opt ? opt[1] : [];
    replace(method, h('option', { value: '' }, t('form.choose')), methods.map((m) => h('option', { value: m }, label('closing', m))));
    methodField.hidden = !methods.length;
    method.required = methods.length > 0;
    reason.required = !!(opt && opt[2]);
    reasonHint.textContent = reason.required ? t('form.reason_required_hint') : '';
    reasonField.querySelector('.field-label').textContent = t('form.reason') + (reason.required ? '' : t('common.optional'));
  };
  to.addEventListener('change', () => { sync(); syncAward(); });
  sync();
  syncAward();
  const form = h('form', { class: 'form' },
    h('p', { class: 'muted small' }, kv(t('case.status'), label('status', c.status))),
    field(t('form.transition_to'), to), methodField, awardFields, reasonField,
    box, h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save')));
  bindForm(form, async () => {
    if (to.value === 'closed') {
      // Closing checks the documents and events the method needs (409 names what is missing).
      await api('POST', '/api/cases/' + c.id + '/close', compact({
        closing_method: method.value,
        reason: reason.value.trim(),
        award: method.value === 'award' ? { number: awardNumber.value.trim(), date: awardDate.value } : undefined,
      }));
      await reload();
      return;
    }
    await api('POST', '/api/cases/' + c.id + '/transition', compact({
      to: to.value,
      closing_method: methodField.hidden ? undefined : method.value,
      reason: reason.value.trim(),
    }));
    await reload();
  }, box);
  return form;
}

function hearingForm(c, staff, reload) {
  const box = messageBox();
  const tomorrow = new Date(Date.now() + 86400000);
  const defaultAt = Math.floor(tomorrow.getTime() / 3600000) * 3600000;
  const at = h('input', { name: 'scheduled_at', type: 'datetime-local', required: true, step: 300, value: toDateTimeInput(defaultAt) });
  const presiding = select('presiding_arbitrator_id', staffOptions(staff, 'arbitrator'), {
    value: c.arbitrator ? c.arbitrator.id : undefined, placeholder: t('form.choose'), required: true,
  });
  const clerk = select('clerk_id', staffOptions(staff, 'clerk'), {
    value: me && me.user.role === 'clerk' ? me.user.id : undefined, placeholder: t('form.choose'), required: true,
  });
  const mediator = select('mediator_id', staffOptions(staff, 'mediator'), { placeholder: t('common.none') });
  const form = h('form', { class: 'form' },
    field(t('form.scheduled_at'), at), field(t('form.presiding'), presiding), field(t('form.clerk'), clerk),
    field(t('form.mediator') + t('common.optional'), mediator),
    box, h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save')));
  bindForm(form, async () => {
    const ms = fromDateTimeInput(at.value);
    if (!Number.isFinite(ms)) throw userError(t('err.datetime'), 'scheduled_at');
    await api('POST', '/api/cases/' + c.id + '/hearings', compact({
      scheduled_at: ms,
      presiding_arbitrator_id: Number(presiding.value),
      clerk_id: Number(clerk.value),
      mediator_id: mediator.value ? Number(mediator.value) : undefined,
    }));
    await reload();
  }, box);
  return form;
}

function inviteForm(c, onCreated) {
  const box = messageBox();
  const result = h('div', { class: 'invite-result', hidden: true });
  const role = select('role', INVITE_ROLES.map((r) => [r, label('role', r)]), { value: 'applicant' });
  const dynamic = h('div', { class: 'dynamic' });
  const hearings = c.hearings || [];
  const hearing = select('hearing_id', hearings.map((hg) => [hg.id, fmtDateTime(hg.scheduled_at) + ' · ' + label('hstatus', hg.status)]), {
    value: hearings.length ? hearings[hearings.length - 1].id : undefined, placeholder: t('common.none'),
  });
  const expires = h('input', { name: 'expires_in_hours', type: 'number', min: 1, max: 720, step: 1, value: '72', inputmode: 'numeric' });
  let controls = {};

  const agents = (c.parties || []).flatMap((p) => (p.agents || []).map((a) => [a.id, a.name + paren(t('form.agent_of', { party: p.name }))]));

  const sync = () => {
    controls = {};
    const r = role.value;
    if (r === 'applicant' || r === 'respondent') {
      const opts = (c.parties || []).filter((p) => p.side === r).map((p) => [p.id, p.name]);
      if (!opts.length) { replace(dynamic, h('p', { class: 'muted small' }, t('form.invite_no_party'))); return; }
      controls.party = select('party_id', opts, { required: true });
      replace(dynamic, field(t('form.invite_party'), controls.party));
    } else if (r === 'agent') {
      if (!agents.length) { replace(dynamic, h('p', { class: 'muted small' }, t('form.invite_no_agent'))); return; }
      controls.agent = select('agent_id', agents, { required: true });
      replace(dynamic, field(t('form.invite_agent'), controls.agent));
    } else {
      controls.name = h('input', { name: 'name', type: 'text', required: true, maxlength: 100 });
      controls.phone = h('input', { name: 'phone', type: 'tel', required: true, inputmode: 'tel', maxlength: 20, autocomplete: 'off' });
      controls.id = h('input', { name: 'id_number', type: 'text', required: true, maxlength: 18, autocapitalize: 'characters', spellcheck: 'false', class: 'mono' });
      replace(dynamic, field(t('inv.name'), controls.name), field(t('form.phone'), controls.phone), field(t('form.id_number'), controls.id));
    }
  };
  role.addEventListener('change', () => { sync(); result.hidden = true; });
  sync();

  const form = h('form', { class: 'form' },
    field(t('form.invite_role'), role), dynamic,
    hearings.length ? field(t('form.invite_hearing'), hearing) : null,
    field(t('form.invite_expires'), expires),
    box, h('button', { type: 'submit', class: 'btn btn-primary' }, t('form.invite')),
    result);
  bindForm(form, async () => {
    result.hidden = true;
    const r = role.value;
    const hours = parseInt(expires.value, 10);
    const body = { role: r };
    if (controls.party) body.party_id = Number(controls.party.value);
    else if (controls.agent) body.agent_id = Number(controls.agent.value);
    else if (controls.name) {
      body.name = controls.name.value.trim();
      body.phone = controls.phone.value.trim();
      body.id_number = controls.id.value.trim().toUpperCase();
    } else {
      throw userError(r === 'agent' ? t('form.invite_no_agent') : t('form.invite_no_party'));
    }
    if (hearings.length && hearing.value) body.hearing_id = Number(hearing.value);
    if (Number.isFinite(hours)) body.expires_in_hours = hours;
    const res = await api('POST', '/api/cases/' + c.id + '/invitations', body);
    showInviteResult(result, res.url);
    await onCreated();
  }, box);
  return form;
}

function showInviteResult(result, url) {
  const urlInput = h('input', { type: 'text', readonly: true, value: url || '', class: 'mono url-field', 'aria-label': t('form.invite_url'), onfocus: (e) => e.target.select() });
  const note = h('span', { class: 'muted small', role: 'status' });
  const copyBtn = h('button', { type: 'button', class: 'btn btn-secondary' }, t('common.copy'));
  copyBtn.addEventListener('click', async () => {
    const ok = await copyText(url, urlInput);
    note.textContent = ok ? t('common.copied') : t('common.copy_failed');
  });
  replace(result, h('p', null, t('form.invite_created')), h('div', { class: 'copy-row' }, urlInput, copyBtn), note);
  result.hidden = false;
}

// ------------------------------------------------------------------ users

async function renderUsers(seq) {
  setTitle([t('users.title')]);
  const data = await api('GET', '/api/users');
  if (!current(seq)) return;
  const items = (data && data.items) || [];
  const box = messageBox();
  const username = h('input', { name: 'username', type: 'text', required: true, maxlength: 64, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
  const displayName = h('input', { name: 'display_name', type: 'text', required: true, maxlength: 64 });
  const role = select('role', STAFF_ROLES.map((r) => [r, label('role', r)]), { value: 'clerk' });
  const password = h('input', { name: 'password', type: 'password', required: true, minlength: 10, autocomplete: 'new-password' });
  const form = h('form', { class: 'form form-grid' },
    field(t('users.username'), username), field(t('users.display_name'), displayName),
    field(t('users.role'), role), field(t('users.password'), password),
    box, h('div', { class: 'span-all' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('users.create'))));
  bindForm(form, async () => {
    if (password.value.length < 10) throw userError(t('err.password_short'), 'password');
    const u = await api('POST', '/api/users', {
      username: username.value.trim(), display_name: displayName.value.trim(), role: role.value, password: password.value,
    });
    staffCache = null;
    setFlash(t('users.created', { name: u.display_name || u.username }));
    await route();
  }, box);
  const flashEl = takeFlash();
  replace(app,
    h('div', { class: 'page-head' }, h('h1', null, t('users.title'))),
    flashEl,
    h('section', { class: 'card' }, items.length
      ? table([t('users.username'), t('users.display_name'), t('users.role')],
        items.map((u) => [h('span', { class: 'mono' }, u.username), u.display_name, label('role', u.role)]))
      : empty(t('users.empty'))),
    formPanel(t('users.create'), form, { open: items.length <= 1 }));
  app.lastChild.classList.add('card');
}

// ------------------------------------------------------------------ boot

window.addEventListener('hashchange', () => route());
onLangChange(() => route());
const skip = document.getElementById('skip-link');
if (skip) {
  skip.addEventListener('click', (ev) => {
    ev.preventDefault();
    app.focus();
  });
}
if (!location.hash) history.replaceState(null, '', '#/cases');
route();
