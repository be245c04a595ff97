// Party page: /j/{token}. One screen per step:
//   1. identity (name + last 6 of ID) → 2. SMS code → 3. device check → 4. discipline
//   → 5. the hearing room /room/{hearing_id}, whose waiting room (候审室) shows until
//   the clerk or an arbitrator admits the party.
// A verified party who reloads resumes at the first step not done yet (from
// GET /api/party/hearing: device_check, discipline_ack_at, removed).

import { t, label, kv, paren, onLangChange, fmtLong } from './i18n.js';
import {
  h, replace, api, ApiError, errorText, userError, bindForm, field,
  messageBox, showMessage, hideMessage, langButton, rememberPartyLink,
} from './common.js';
import { renderDeviceCheck } from './devicecheck.js';

const app = document.getElementById('app');
const REFRESH_MIN_MS = 30000;

const state = {
  token: null,
  step: 'loading', // loading | identity | code | device | discipline | entering | waiting | removed | error
  info: null, // GET /api/j/{token}
  name: '',
  idLast6: '',
  code: '',
  phone: '',
  expiresIn: 300,
  resendUntil: 0,
  notice: '', // success note shown on the code step
  party: null, // GET /api/party/hearing
  discipline: null, // GET /api/hearings/{id}/discipline
  device: null, // the device-check result of this visit, {verdict, message}
  error: null, // {status, message, title}
};

let countdownTimer = null;
let lastRefresh = 0;
let deviceStep = null; // { stop } of the running device check
// ?sign=<document_id>: the link of a signing request. The query stays on the page through
// the identity and code steps; once verified the party goes to /sign/<id>, not the hearing.
const SIGN_DOC = (() => {
  const v = new URLSearchParams(location.search).get('sign');
  return v && /^\d+$/.test(v) ? v : null;
})();

// ------------------------------------------------------------------ chrome

function renderChrome() {
  document.title = t('app.name') + ' · ' + t('app.party');
  const brand = document.getElementById('brand-text');
  if (brand) brand.textContent = t('app.name') + ' · ' + t('app.party');
  const actions = document.getElementById('topbar-actions');
  if (actions) replace(actions, langButton());
}

const STEPS = ['party.step1', 'party.step2', 'party.step3', 'party.step4', 'party.step5'];

function stepper(n) {
  const names = STEPS;
  return h('div', { class: 'stepper', dataset: { step: String(n) } },
    h('p', { class: 'stepper-text' }, t('party.step', { n, total: names.length }), h('span', { class: 'stepper-current' }, ' · ' + t(names[n - 1]))),
    h('ol', { class: 'stepper-list' }, names.map((k, i) => h('li', {
      class: i + 1 < n ? 'done' : (i + 1 === n ? 'current' : ''),
      'aria-current': i + 1 === n ? 'step' : null,
    }, h('span', { class: 'stepper-dot', 'aria-hidden': 'true' }, String(i + 1)), h('span', { class: 'stepper-name' }, t(k))))));
}

function infoList(rows) {
  return h('dl', { class: 'info-list' }, rows.filter(Boolean).map(([k, v, cls]) => h('div', { class: 'info-row' },
    h('dt', null, k), h('dd', { class: cls || null }, v))));
}

function caseNumbers(list) {
  const nums = Array.isArray(list) ? list : (list ? [list] : []);
  if (!nums.length) return t('common.dash');
  return h('span', { class: 'case-numbers' }, nums.map((n) => h('span', { class: 'case-number' }, String(n))));
}

function commissionName(c) {
  if (!c) return null;
  if (typeof c === 'string') return c;
  return c.name || null;
}

function recordingNotice(compact) {
  const en = t('party.recording_notice_en');
  return h('div', { class: 'notice notice-recording' + (compact ? ' notice-compact' : ''), role: 'note' },
    h('span', { class: 'notice-icon', 'aria-hidden': 'true' }, '●'),
    h('div', null,
      h('strong', { lang: 'zh-CN' }, t('party.recording_notice')),
      en ? h('p', { lang: 'en' }, en) : null));
}

function focusFirst(sel) {
  requestAnimationFrame(() => {
    const el = app.querySelector(sel);
    if (el) el.focus();
  });
}

// ------------------------------------------------------------------ screens

function renderLoading() {
  replace(app, h('p', { class: 'loading' }, t('common.loading')));
}

function renderError() {
  const e = state.error || {};
  const titleKey = 'party.error_title.' + e.status;
  let title = e.title || t(titleKey);
  if (title === titleKey) title = t('party.error_title.other');
  const retry = (e.status === 429 || e.status === 0 || e.status >= 500)
    ? h('button', { type: 'button', class: 'btn btn-primary btn-block', onclick: () => boot() }, t('common.retry'))
    : null;
  replace(app, h('section', { class: 'card party-card party-error', 'aria-labelledby': 'err-title' },
    h('div', { class: 'error-icon', 'aria-hidden': 'true' }, '!'),
    h('h1', { id: 'err-title' }, title),
    h('p', { class: 'lead' }, e.message || ''),
    h('p', { class: 'muted' }, t('party.contact')),
    retry));
}

function renderIdentity() {
  const info = state.info || {};
  const box = messageBox();
  const nameInput = h('input', {
    name: 'name', type: 'text', autocomplete: 'name', required: true, maxlength: 64,
    value: state.name, oninput: (ev) => { state.name = ev.target.value; },
  });
  const idInput = h('input', {
    name: 'id_last6', type: 'text', inputmode: 'text', autocomplete: 'off', autocapitalize: 'characters',
    spellcheck: 'false', required: true, maxlength: 6, minlength: 6, pattern: '[0-9A-Za-z]{6}', class: 'input-code-like',
    value: state.idLast6, oninput: (ev) => { state.idLast6 = ev.target.value; },
  });
  const form = h('form', { class: 'form party-form', autocomplete: 'on' },
    field(t('party.name'), nameInput, t('party.name_hint')),
    field(t('party.id_last6'), idInput, t('party.id_last6_hint')),
    box,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('party.get_code')));
  bindForm(form, async () => {
    const name = state.name.trim();
    const idLast6 = state.idLast6.trim().toUpperCase();
    if (!/^[0-9A-Z]{6}$/.test(idLast6)) throw userError(t('err.id_last6'), 'id_last6');
    const r = await api('POST', apiPath('/identity'), { name, id_last6: idLast6 });
    state.name = name;
    state.idLast6 = idLast6;
    state.phone = (r && r.phone) || info.phone || '';
    state.expiresIn = (r && r.expires_in) || 300;
    state.resendUntil = Date.now() + ((r && r.resend_after) || 60) * 1000;
    state.code = '';
    state.notice = '';
    go('code');
  }, box);

  const hearingAt = info.hearing && info.hearing.scheduled_at;
  replace(app, h('section', { class: 'card party-card', 'aria-labelledby': 'step-title' },
    stepper(1),
    h('h1', { id: 'step-title' }, t('party.step1')),
    h('p', { class: 'lead' }, t('party.intro')),
    infoList([
      commissionName(info.commission) ? [t('party.commission'), commissionName(info.commission)] : null,
      [t('party.case_numbers'), caseNumbers(info.case_numbers)],
      [t('party.role'), label('role', info.role)],
      info.name_hint ? [t('party.invitee'), info.name_hint] : null,
      info.phone ? [t('party.phone'), info.phone, 'nowrap'] : null,
      hearingAt !== undefined && hearingAt !== null ? [t('party.hearing_time'), fmtLong(hearingAt) + paren(t('common.bj_time'))] : null,
    ]),
    form,
    recordingNotice(true),
    h('p', { class: 'muted small' }, t('party.privacy'))));
  focusFirst(state.name ? 'input[name=id_last6]' : 'input[name=name]');
}

function renderCode() {
  const box = messageBox();
  const note = h('p', { class: 'lead', 'aria-live': 'polite' },
    t('party.code_sent', { phone: state.phone || '—', minutes: Math.max(1, Math.round(state.expiresIn / 60)) }));
  const codeInput = h('input', {
    name: 'code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]*',
    maxlength: 6, required: true, class: 'input-otp', value: state.code, 'aria-label': t('party.code'),
    oninput: (ev) => {
      const digits = ev.target.value.replace(/\D/g, '').slice(0, 6);
      if (digits !== ev.target.value) ev.target.value = digits;
      state.code = digits;
    },
  });
  const resendBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-block resend' });
  const form = h('form', { class: 'form party-form' },
    field(t('party.code'), codeInput),
    box,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('party.verify')));
  bindForm(form, async () => {
    const code = state.code.trim();
    if (!/^\d{6}$/.test(code)) throw userError(t('err.code'), 'code');
    try {
      await api('POST', apiPath('/verify'), { code });
    } catch (err) {
      // Wrong code: clear the field so the next attempt starts fresh.
      state.code = '';
      codeInput.value = '';
      codeInput.focus();
      throw err;
    }
    await loadParty();
  }, box);

  resendBtn.addEventListener('click', async () => {
    if (resendBtn.disabled) return;
    resendBtn.disabled = true;
    hideMessage(box);
    try {
      const r = await api('POST', apiPath('/identity'), { name: state.name, id_last6: state.idLast6 });
      if (r && r.phone) state.phone = r.phone;
      state.expiresIn = (r && r.expires_in) || state.expiresIn;
      state.resendUntil = Date.now() + ((r && r.resend_after) || 60) * 1000;
      note.textContent = t('party.code_sent', { phone: state.phone || '—', minutes: Math.max(1, Math.round(state.expiresIn / 60)) });
      showMessage(box, t('party.resent'), 'ok');
      codeInput.focus();
    } catch (err) {
      showMessage(box, errorText(err));
      if (err instanceof ApiError && err.status === 429) state.resendUntil = Date.now() + 60000;
    }
    tick();
  });

  const back = h('button', { type: 'button', class: 'btn btn-link', onclick: () => go('identity') }, t('party.back'));

  replace(app, h('section', { class: 'card party-card', 'aria-labelledby': 'step-title' },
    stepper(2),
    h('h1', { id: 'step-title' }, t('party.step2')),
    note,
    form,
    resendBtn,
    h('div', { class: 'center' }, back),
    recordingNotice(true)));

  function tick() {
    clearInterval(countdownTimer);
    const update = () => {
      if (!resendBtn.isConnected) { clearInterval(countdownTimer); return; }
      const left = Math.ceil((state.resendUntil - Date.now()) / 1000);
      if (left > 0) {
        resendBtn.disabled = true;
        resendBtn.textContent = t('party.resend_in', { s: left });
      } else {
        resendBtn.disabled = false;
        resendBtn.textContent = t('party.resend');
        clearInterval(countdownTimer);
      }
    };
    update();
    countdownTimer = setInterval(update, 1000);
  }
  tick();
  focusFirst('input[name=code]');
}

function renderWaiting() {
  const p = state.party || {};
  const me = p.me || {};
  const hearing = p.hearing || null;
  const nums = (p.case_numbers && p.case_numbers.length) ? p.case_numbers : (hearing && hearing.case_numbers);
  const tribunal = [];
  if (hearing) {
    if (hearing.presiding_arbitrator) tribunal.push([t('hearing.presiding'), hearing.presiding_arbitrator.display_name]);
    if (hearing.mediator) tribunal.push([t('hearing.mediator'), hearing.mediator.display_name]);
    if (hearing.clerk) tribunal.push([t('hearing.clerk'), hearing.clerk.display_name]);
  }
  const refresh = h('button', { type: 'button', class: 'btn btn-secondary btn-block refresh' }, t('party.refresh'));
  refresh.addEventListener('click', async () => {
    refresh.disabled = true;
    try { await refreshWaiting(true); } finally { if (refresh.isConnected) refresh.disabled = false; }
  });
  replace(app, h('section', { class: 'card party-card waiting', 'aria-labelledby': 'step-title' },
    stepper(5),
    h('div', { class: 'waiting-head' },
      h('div', { class: 'waiting-pulse', 'aria-hidden': 'true' }),
      h('div', null,
        h('h1', { id: 'step-title' }, t('party.waiting_title')),
        h('p', { class: 'muted' }, t('party.waiting_sub')))),
    h('p', { class: 'lead calm', role: 'status' }, t('party.waiting_message')),
    recordingNotice(),
    infoList([
      [t('party.case_numbers'), caseNumbers(nums)],
      [t('party.hearing_time'), hearing && hearing.scheduled_at !== undefined && hearing.scheduled_at !== null
        ? fmtLong(hearing.scheduled_at) + paren(t('common.bj_time'))
        : t('party.no_hearing')],
      tribunal.length ? [t('party.tribunal'), h('span', { class: 'tribunal' }, tribunal.map(([k, v]) => h('span', { class: 'tribunal-member' }, kv(k, v || '—'))))] : null,
      [t('party.you'), (me.name || '—') + paren(label('role', me.role))],
    ]),
    refresh,
    h('p', { class: 'muted small' }, t('party.contact'))));
}

/** Case numbers, the party's name and role: shown on the device and discipline steps. */
function caseSummary() {
  const p = state.party || {};
  const me = p.me || {};
  const hearing = p.hearing || null;
  const nums = (p.case_numbers && p.case_numbers.length) ? p.case_numbers : (hearing && hearing.case_numbers);
  return infoList([
    [t('party.case_numbers'), caseNumbers(nums)],
    hearing && hearing.scheduled_at !== undefined && hearing.scheduled_at !== null
      ? [t('party.hearing_time'), fmtLong(hearing.scheduled_at) + paren(t('common.bj_time'))] : null,
    [t('party.you'), (me.name || '—') + paren(label('role', me.role))],
  ]);
}

function hearingIdOf(p) {
  const hearing = p && p.hearing;
  if (hearing && hearing.id !== undefined && hearing.id !== null) return hearing.id;
  if (p && p.hearing_id !== undefined && p.hearing_id !== null) return p.hearing_id;
  return null;
}

/** device_check / discipline_ack_at / removed: top level, or inside `hearing`. */
function partyField(p, name) {
  if (!p) return undefined;
  if (p[name] !== undefined) return p[name];
  if (p.hearing && p.hearing[name] !== undefined) return p.hearing[name];
  return undefined;
}

function renderDevice() {
  const body = h('div', { class: 'device-check' });
  replace(app, h('section', { class: 'card party-card step-device', 'aria-labelledby': 'step-title', dataset: { step: 'device' } },
    stepper(3),
    h('h1', { id: 'step-title' }, t('party.step3')),
    h('p', { class: 'lead' }, t('check.intro')),
    recordingNotice(true),
    body,
    caseSummary(),
    h('p', { class: 'muted small' }, t('party.contact'))));
  if (deviceStep) deviceStep.stop();
  deviceStep = renderDeviceCheck(body, {
    hearingId: hearingIdOf(state.party),
    onDone: (r) => {
      state.device = r;
      try { sessionStorage.setItem('yt_device_verdict', r.verdict || ''); } catch (_) { /* ignore */ }
      deviceStep = null;
      route();
    },
  });
}

function renderDiscipline() {
  const d = state.discipline || {};
  const box = messageBox();
  const check = h('input', { type: 'checkbox', name: 'ack', class: 'ack-check' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block ack-submit', disabled: true }, t('discipline.submit'));
  check.addEventListener('change', () => { submit.disabled = !check.checked; });
  const form = h('form', { class: 'form party-form discipline-form' },
    h('label', { class: 'check ack-label' }, check, h('span', null, t('discipline.ack'))),
    box,
    submit);
  bindForm(form, async () => {
    if (!check.checked) throw userError(t('discipline.ack_required'), 'ack');
    await api('POST', '/api/hearings/' + encodeURIComponent(hearingIdOf(state.party)) + '/discipline', {});
    state.party = { ...state.party, discipline_ack_at: Date.now() };
    route();
  }, box);
  const text = String(d.text || '').split(/\n+/).map((x) => x.trim()).filter(Boolean);
  replace(app, h('section', { class: 'card party-card step-discipline', 'aria-labelledby': 'step-title', dataset: { step: 'discipline' } },
    stepper(4),
    h('h1', { id: 'step-title' }, t('discipline.title')),
    h('div', { class: 'notice notice-recording', role: 'note' },
      h('span', { class: 'notice-icon', 'aria-hidden': 'true' }, '●'),
      h('div', null, h('strong', { lang: 'zh-CN' }, d.recording_notice || t('party.recording_notice')))),
    h('div', { class: 'discipline-text', tabindex: '0', 'aria-label': t('discipline.title') },
      text.length ? text.map((line) => h('p', null, line)) : h('p', { class: 'muted' }, t('common.loading'))),
    form,
    h('p', { class: 'muted small' }, t('party.contact'))));
}

function renderEntering() {
  replace(app, h('section', { class: 'card party-card step-entering', 'aria-labelledby': 'step-title', dataset: { step: 'entering' } },
    stepper(5),
    h('div', { class: 'waiting-head' },
      h('div', { class: 'waiting-pulse', 'aria-hidden': 'true' }),
      h('h1', { id: 'step-title' }, t('party.entering'))),
    recordingNotice(true)));
}

function renderRemoved() {
  replace(app, h('section', { class: 'card party-card party-error', 'aria-labelledby': 'err-title', dataset: { step: 'removed' } },
    h('div', { class: 'error-icon', 'aria-hidden': 'true' }, '!'),
    h('h1', { id: 'err-title' }, t('room.removed_title')),
    h('p', { class: 'lead' }, t('room.removed_msg')),
    recordingNotice(true),
    h('p', { class: 'muted' }, t('party.contact'))));
}

// ------------------------------------------------------------------ flow

function apiPath(suffix) {
  return '/api/j/' + encodeURIComponent(state.token) + (suffix || '');
}

function render() {
  renderChrome();
  switch (state.step) {
    case 'identity': renderIdentity(); break;
    case 'code': renderCode(); break;
    case 'device': renderDevice(); break;
    case 'discipline': renderDiscipline(); break;
    case 'entering': renderEntering(); break;
    case 'waiting': renderWaiting(); break;
    case 'removed': renderRemoved(); break;
    case 'error': renderError(); break;
    case 'signing': renderLoading(); break; // on the way to /sign/<id>
    default: renderLoading();
  }
}

function go(step) {
  if (state.step === 'device' && step !== 'device' && deviceStep) { deviceStep.stop(); deviceStep = null; }
  state.step = step;
  if (step !== 'code') clearInterval(countdownTimer);
  render();
  window.scrollTo(0, 0);
}

function fail(err) {
  const status = err instanceof ApiError ? err.status : 0;
  state.error = { status, message: errorText(err) };
  go('error');
}

/** The first step not done yet, from GET /api/party/hearing. */
async function route() {
  const p = state.party || {};
  const hid = hearingIdOf(p);
  if (SIGN_DOC) {
    rememberPartyLink(state.token, hid, p.me && p.me.role);
    go('signing');
    location.assign('/sign/' + encodeURIComponent(SIGN_DOC));
    return;
  }
  if (hid === null) { go('waiting'); return; } // no hearing scheduled yet
  rememberPartyLink(state.token, hid, p.me && p.me.role);
  if (partyField(p, 'removed')) { go('removed'); return; }
  const dc = state.device || partyField(p, 'device_check');
  if (!dc || !dc.verdict || dc.verdict === 'cannot_join') { go('device'); return; }
  if (!partyField(p, 'discipline_ack_at')) {
    if (!state.discipline) {
      try {
        state.discipline = await api('GET', '/api/hearings/' + encodeURIComponent(hid) + '/discipline');
      } catch (err) { fail(err); return; }
    }
    go('discipline');
    return;
  }
  try { if (dc.verdict) sessionStorage.setItem('yt_device_verdict', dc.verdict); } catch (_) { /* ignore */ }
  go('entering');
  location.assign('/room/' + encodeURIComponent(hid));
}

async function loadParty() {
  state.party = await api('GET', '/api/party/hearing');
  state.name = '';
  state.idLast6 = '';
  state.code = '';
  state.device = null;
  lastRefresh = Date.now();
  await route();
}

/**
 * Refresh the waiting room's data. There is no timer: every read of the waiting
 * room is audited server-side, so it refreshes when the page becomes visible
 * again (at most every REFRESH_MIN_MS) or when the party taps “刷新”.
 */
async function refreshWaiting(force) {
  if (state.step !== 'waiting') return;
  if (!force && Date.now() - lastRefresh < REFRESH_MIN_MS) return;
  lastRefresh = Date.now();
  try {
    const p = await api('GET', '/api/party/hearing');
    if (state.step !== 'waiting') return;
    if (hearingIdOf(p) !== null) { state.party = p; await route(); return; }
    if (force || JSON.stringify(p) !== JSON.stringify(state.party)) {
      state.party = p;
      renderWaiting();
    }
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      boot(); // the party session has ended: start again from the link
    }
    // Network hiccups: keep the waiting room as it is.
  }
}

async function boot() {
  const m = /^\/j\/([^/?#]+)\/?$/.exec(location.pathname);
  if (!m) {
    state.error = { status: 404, title: t('party.invalid_link'), message: t('party.invalid_link_msg') };
    go('error');
    return;
  }
  try {
    state.token = decodeURIComponent(m[1]);
  } catch (_) {
    state.token = m[1];
  }
  state.step = 'loading';
  render();

  // Already verified in this browser? Resume at the first step not done.
  try {
    state.party = await api('GET', '/api/party/hearing');
    lastRefresh = Date.now();
    await route();
    return;
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) { fail(err); return; }
    // 401/403: not verified yet — continue with step 1.
  }

  try {
    state.info = await api('GET', apiPath(''));
  } catch (err) {
    fail(err);
    return;
  }
  go('identity');
}

onLangChange(() => { if (state.step !== 'device') render(); else renderChrome(); });
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) refreshWaiting(false);
});

boot();
