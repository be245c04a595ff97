// Shared helpers for the console and the party page: DOM building (never
// innerHTML with data), the API client with its progress bar, and form wiring.

import { t, pickMessage, toggleLang } from './i18n.js';

/**
 * h('div', {class: 'x', onclick: fn}, 'text', child, [more]) → element.
 * Strings become text nodes, so data can never be parsed as markup.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false || c === '') continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// ---------------------------------------------------------------- progress

let inflight = 0;
let showTimer = null;
const PROGRESS_DELAY_MS = 300;

function progressEl() {
  let el = document.getElementById('yt-progress');
  if (!el) {
    el = h('div', { id: 'yt-progress', class: 'progress', role: 'progressbar', 'aria-hidden': 'true' },
      h('div', { class: 'progress-bar' }));
    document.body.prepend(el);
  }
  return el;
}

function progressStart() {
  inflight += 1;
  if (inflight === 1) {
    clearTimeout(showTimer);
    showTimer = setTimeout(() => {
      const el = progressEl();
      el.classList.add('active');
      el.setAttribute('aria-hidden', 'false');
      el.setAttribute('aria-label', t('common.working'));
      document.body.setAttribute('aria-busy', 'true');
    }, PROGRESS_DELAY_MS);
  }
}

function progressDone() {
  inflight = Math.max(0, inflight - 1);
  if (inflight === 0) {
    clearTimeout(showTimer);
    const el = document.getElementById('yt-progress');
    if (el) {
      el.classList.remove('active');
      el.setAttribute('aria-hidden', 'true');
    }
    document.body.removeAttribute('aria-busy');
  }
}

// ---------------------------------------------------------------- API client

export class ApiError extends Error {
  constructor(status, code, serverMessage) {
    super(serverMessage || code);
    this.status = status;
    this.code = code;
    this.serverMessage = serverMessage || '';
  }
}

/** The message to show for an error, in the current language. */
export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return t('err.network');
    if (err.serverMessage) return pickMessage(err.serverMessage);
    const key = 'err.http.' + err.status;
    const s = t(key);
    return s === key ? t('err.http.other', { status: err.status }) : s;
  }
  if (err && err.userMessage) return err.userMessage;
  return t('err.http.other', { status: '?' });
}

/** A validation failure raised before any request is sent. */
export function userError(message, field) {
  const e = new Error(message);
  e.userMessage = message;
  e.field = field;
  return e;
}

/**
 * Call the JSON API. Resolves with the parsed body (null for 204), rejects with
 * ApiError carrying the HTTP status, error.code and error.message.
 */
export async function api(method, path, body) {
  progressStart();
  try {
    const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (_) {
      throw new ApiError(0, 'network', '');
    }
    if (res.status === 204) return null;
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = null; }
    }
    if (!res.ok) {
      const e = data && data.error ? data.error : {};
      throw new ApiError(res.status, e.code || 'http_' + res.status, typeof e.message === 'string' ? e.message : '');
    }
    return data;
  } finally {
    progressDone();
  }
}

// ---------------------------------------------------------------- forms

/** An inline message box that forms and pages use instead of alert(). */
export function messageBox() {
  return h('div', { class: 'msg', role: 'alert', 'aria-live': 'assertive', hidden: true });
}

export function showMessage(box, text, kind = 'error') {
  if (!box) return;
  box.className = 'msg msg-' + kind;
  box.textContent = text;
  box.hidden = !text;
}

export function hideMessage(box) {
  if (!box) return;
  box.textContent = '';
  box.hidden = true;
}

/**
 * Wire a form: on submit, check required fields, disable its buttons, run
 * handler(form), show errors in its message box. The handler may return a
 * string to show as a success note.
 */
export function bindForm(form, handler, box) {
  form.noValidate = true;
  if (!box) {
    box = messageBox();
    form.appendChild(box);
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (form.dataset.busy === '1') return;
    hideMessage(box);
    for (const el of form.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid');
    for (const el of form.elements) {
      if (el.required && !el.disabled && !String(el.value || '').trim() && el.type !== 'checkbox') {
        const lab = el.dataset.label || el.name || '';
        el.setAttribute('aria-invalid', 'true');
        showMessage(box, t('err.required', { label: lab }));
        el.focus();
        return;
      }
    }
    const buttons = [...form.querySelectorAll('button')].filter((b) => !b.disabled);
    form.dataset.busy = '1';
    form.setAttribute('aria-busy', 'true');
    for (const b of buttons) b.disabled = true;
    try {
      const note = await handler(form);
      if (typeof note === 'string' && note) showMessage(box, note, 'ok');
    } catch (err) {
      if (err && err.field && form.elements[err.field]) {
        const f = form.elements[err.field];
        if (f.setAttribute) f.setAttribute('aria-invalid', 'true');
        if (f.focus) f.focus();
      }
      showMessage(box, errorText(err));
    } finally {
      delete form.dataset.busy;
      form.removeAttribute('aria-busy');
      for (const b of buttons) if (b.isConnected) b.disabled = false;
    }
  });
  return box;
}

/**
 * Run an async action from a button: disable the button while it runs and
 * report failures into box.
 */
export async function withButton(button, box, fn) {
  if (button.disabled) return;
  button.disabled = true;
  hideMessage(box);
  try {
    await fn();
  } catch (err) {
    showMessage(box, errorText(err));
  } finally {
    if (button.isConnected) button.disabled = false;
  }
}

/** <label class="field"><span>label</span> control <small>hint</small></label> */
let fieldSeq = 0;
export function field(labelText, control, hint) {
  fieldSeq += 1;
  const id = control.id || 'f' + fieldSeq;
  control.id = id;
  if (!control.dataset.label) control.dataset.label = labelText;
  const parts = [h('label', { for: id, class: 'field-label' }, labelText)];
  parts.push(control);
  if (hint) {
    const hid = id + '-hint';
    control.setAttribute('aria-describedby', hid);
    parts.push(h('small', { id: hid, class: 'field-hint' }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

/** <select> with [value, text] options; a leading placeholder if given. */
export function select(name, options, { value, placeholder, required } = {}) {
  const s = h('select', { name, required: !!required });
  if (placeholder !== undefined) s.appendChild(h('option', { value: '' }, placeholder));
  for (const [v, text] of options) {
    s.appendChild(h('option', { value: String(v), selected: value !== undefined && String(value) === String(v) }, text));
  }
  return s;
}

export function langButton(onToggle) {
  const b = h('button', { type: 'button', class: 'btn btn-ghost lang-toggle', lang: t('lang.toggle') === 'English' ? 'en' : 'zh-CN', title: t('lang.toggle_title'), onclick: () => { toggleLang(); if (onToggle) onToggle(); } }, t('lang.toggle'));
  return b;
}

/** Copy text to the clipboard, with a fallback for non-secure contexts. */
export async function copyText(text, inputEl) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch (_) { /* fall through */ }
  try {
    if (inputEl) {
      inputEl.focus();
      inputEl.select();
    }
    return document.execCommand('copy');
  } catch (_) {
    return false;
  }
}

// ---------------------------------------------------------------- party link memory

const PARTY_LINK_KEY = 'yt_party_link';

/**
 * The party page remembers its invitation link, hearing and role so the room can send a
 * party back to it (re-verification, a device check to redo) and knows an observer.
 */
export function rememberPartyLink(token, hearingId, role) {
  const v = JSON.stringify({ token, hearing_id: hearingId, role: role || null });
  for (const store of [window.sessionStorage, window.localStorage]) {
    try { store.setItem(PARTY_LINK_KEY, v); } catch (_) { /* storage may be disabled */ }
  }
}

/** {token, hearing_id, role} remembered by the party page, or null. */
export function partyLink() {
  for (const store of [window.sessionStorage, window.localStorage]) {
    try {
      const v = store.getItem(PARTY_LINK_KEY);
      if (v) {
        const o = JSON.parse(v);
        if (o && o.token) return o;
      }
    } catch (_) { /* ignore */ }
  }
  return null;
}
