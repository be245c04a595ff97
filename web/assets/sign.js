// Signing page: /sign/{document_id} (also inside the hearing room as /sign/{id}?embed=1).
//
// The signer reads the document as page images rendered by the server from the very PDF
// being signed (phones in WeChat / Android WebView cannot show a PDF inline), then:
//   1. parties confirm their phone with a one-time code if their last verification is
//      older than 15 minutes (the server answers `reverify_required`); staff skip this;
//   2. the phone's own key: a non-extractable ECDSA P-256 key made with WebCrypto and
//      kept in IndexedDB per case and signer; its public key is certified by the
//      commission's CA (POST …/certificate);
//   3. the handwritten signature, drawn with signature_pad (vendored, 5.1.4);
//   4. POST …/prepare with the image and strokes → the bytes to sign;
//   5. WebCrypto signs them on the phone → POST …/sign. If another signer finished first
//      (409 document_changed) prepare and sign are redone once.
// A transcript's party may refuse instead, with a reason.

import { t, lang, onLangChange, pickMessage, fmtDateTime, joinList, setLang } from './i18n.js';
import { h, replace, api, ApiError, errorText, langButton, messageBox, showMessage, hideMessage, partyLink } from './common.js';

const app = document.getElementById('app');
const params = new URLSearchParams(location.search);
const EMBED = params.get('embed') === '1';
const KEY_DB = 'yunting-esign';
const KEY_STORE = 'keys';
const IMAGE_MAX_BYTES = 300 * 1024;
const PAD_HEIGHT = 180;

const S = {
  id: null,
  doc: null,
  phase: 'loading', // loading | ready | error
  error: null, // {status, code, message}
  key: null, // CryptoKeyPair
  keyVolatile: false, // IndexedDB unavailable: the key lives as long as the page
  cert: null, // {fingerprint, not_after}
  keyState: 'idle', // idle | busy | ready | reverify | error | unsupported
  keyError: '',
  otp: { sent: false, phone: '', resendUntil: 0 },
  otpNote: '', // the server's answer when no new code could be sent (429)
  busy: null, // null | key | prepare | sign | refuse | otp
  consent: false,
  justDone: null, // 'signed' | 'refused' after acting on this page
  note: null, // {text, kind} shown in the action card
};

const ui = {}; // persistent: the signature pad block
let pad = null;
let resendTimer = null;

// ------------------------------------------------------------------ test / support hook

const hook = {};
window.__ytSign = hook;
function expose() {
  const d = S.doc;
  hook.phase = S.phase;
  hook.status = d ? d.status : null;
  hook.keyState = S.keyState;
  hook.busy = S.busy;
  hook.done = S.justDone;
  hook.canSign = !!(d && d.me && d.me.can_sign);
  hook.fingerprint = S.cert ? S.cert.fingerprint : null;
  hook.keyVolatile = S.keyVolatile;
  const root = app.querySelector('.sign-doc');
  if (root) {
    root.dataset.status = d ? d.status : '';
    root.dataset.keyState = S.keyState;
    root.dataset.busy = S.busy || '';
    root.dataset.done = S.justDone || '';
  }
}

// ------------------------------------------------------------------ helpers

function b64(bytes) {
  let s = '';
  const u = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode.apply(null, u.subarray(i, i + 0x8000));
  return btoa(s);
}

function unb64(text) {
  const s = atob(String(text || '').replace(/\s+/g, ''));
  const u = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i += 1) u[i] = s.charCodeAt(i);
  return u;
}

function b64url(bytes) {
  return b64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function unb64url(text) {
  const t0 = String(text || '').replace(/-/g, '+').replace(/_/g, '/');
  return unb64(t0 + '==='.slice((t0.length + 3) % 4));
}

// ------------------------------------------------------------------ passkey (WebAuthn)
// Offered where the phone has a platform authenticator (fingerprint, face, screen lock):
// the signer confirms the prepared signature with it, user verification required; the
// challenge binds it to this document version. The device key still signs the PDF.

async function passkeyAvailable() {
  try {
    return !!(window.PublicKeyCredential && PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable
      && await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable());
  } catch (_) { return false; }
}

/** Register a passkey for this signer on this phone unless one is registered. */
async function ensurePasskey() {
  const opts = await api('POST', docPath('/passkey/options'), {});
  if (opts.credentials && opts.credentials.length) return;
  const cred = await navigator.credentials.create({ publicKey: {
    challenge: unb64url(opts.challenge),
    rp: { id: opts.rp_id, name: '云庭 Yunting' },
    user: { id: unb64url(opts.user_id), name: opts.user_name || 'signer', displayName: opts.user_name || 'signer' },
    pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
    authenticatorSelection: { authenticatorAttachment: 'platform', userVerification: 'required', residentKey: 'preferred' },
    timeout: 120000,
    attestation: 'none',
  } });
  const r = cred.response;
  await api('POST', docPath('/passkey'), {
    credential_id: b64url(new Uint8Array(cred.rawId)),
    public_key: b64(new Uint8Array(r.getPublicKey())),
    client_data_json: b64(new Uint8Array(r.clientDataJSON)),
    authenticator_data: b64(new Uint8Array(r.getAuthenticatorData())),
  });
}

/** The passkey assertion over a prepared signature's challenge. */
async function passkeyAssertion(wa) {
  const cred = await navigator.credentials.get({ publicKey: {
    challenge: unb64url(wa.challenge),
    rpId: location.hostname,
    allowCredentials: (wa.credentials || []).map((id) => ({ type: 'public-key', id: unb64url(id) })),
    userVerification: 'required',
    timeout: 120000,
  } });
  const r = cred.response;
  return {
    credential_id: b64url(new Uint8Array(cred.rawId)),
    client_data_json: b64(new Uint8Array(r.clientDataJSON)),
    authenticator_data: b64(new Uint8Array(r.authenticatorData)),
    signature: b64(new Uint8Array(r.signature)),
  };
}

function docPath(suffix) {
  return '/api/documents/' + encodeURIComponent(S.id) + (suffix || '');
}

/** "a1b2 c3d4 e5f6 0718": the first 16 hex characters of the document's SHA-256. */
export function fingerprint16(sha) {
  const s = String(sha || '').toLowerCase().slice(0, 16);
  return s.replace(/(.{4})(?=.)/g, '$1 ');
}

function isParty() {
  const me = S.doc && S.doc.me;
  return !!(me && (me.slot === 'applicant' || me.slot === 'respondent'));
}

function mySlot() {
  const d = S.doc;
  if (!d || !d.me) return null;
  return (d.slots || []).find((s) => s.id === d.me.slot) || null;
}

function slotLabel(slot) {
  const k = 'sign.slot.' + slot.id;
  const s = t(k);
  return s === k ? (slot.label || slot.id) : s;
}

function pendingLabels(d) {
  return joinList((d.pending || []).map((id) => {
    const slot = (d.slots || []).find((s) => s.id === id) || { id };
    return slotLabel(slot);
  }));
}

function statusText(status) {
  const k = 'sign.status.' + status;
  const s = t(k);
  return s === k ? String(status || '—') : s;
}

function cryptoSupported() {
  return !!(window.crypto && window.crypto.subtle && window.isSecureContext !== false);
}

// ------------------------------------------------------------------ the device key (IndexedDB)

function openDb() {
  return new Promise((resolve, reject) => {
    if (!window.indexedDB) { reject(new Error('no IndexedDB')); return; }
    const r = indexedDB.open(KEY_DB, 1);
    r.onupgradeneeded = () => { if (!r.result.objectStoreNames.contains(KEY_STORE)) r.result.createObjectStore(KEY_STORE); };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error || new Error('IndexedDB'));
    r.onblocked = () => reject(new Error('IndexedDB blocked'));
  });
}

async function dbOp(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(KEY_STORE, mode);
      const req = fn(tx.objectStore(KEY_STORE));
      let out;
      req.onsuccess = () => { out = req.result; };
      tx.oncomplete = () => resolve(out);
      tx.onerror = () => reject(tx.error || req.error);
      tx.onabort = () => reject(tx.error || new Error('aborted'));
    });
  } finally {
    db.close();
  }
}

/** One key per case and signer on this device: later documents of the case reuse it. */
function keyName() {
  const d = S.doc;
  return 'case:' + d.case_id + '|' + d.me.slot + '|' + (d.me.name || '');
}

async function ensureKey() {
  if (S.key) return S.key;
  const name = keyName();
  try {
    const rec = await dbOp('readonly', (st) => st.get(name));
    if (rec && rec.keyPair && rec.keyPair.privateKey && rec.keyPair.publicKey) {
      S.key = rec.keyPair;
      return S.key;
    }
  } catch (_) { /* no IndexedDB: a key for this page only */ }
  // Non-extractable: the private key can sign on this device and never be exported.
  const kp = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  try {
    await dbOp('readwrite', (st) => st.put({ keyPair: kp, created_at: Date.now() }, name));
    S.keyVolatile = false;
  } catch (_) {
    S.keyVolatile = true;
  }
  S.key = kp;
  return kp;
}

/** The commission's certificate for this device's key (reused while it is valid). */
async function ensureCert() {
  if (S.cert && Number(S.cert.not_after) - Date.now() > 5 * 60 * 1000) return S.cert;
  const kp = await ensureKey();
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', kp.publicKey));
  const r = await api('POST', docPath('/certificate'), { public_key: b64(raw) });
  S.cert = { fingerprint: r.fingerprint, not_after: r.not_after };
  return S.cert;
}

/** Make the key and get its certificate while the signer reads; learn whether an SMS code is due. */
async function preflight() {
  if (!cryptoSupported()) { S.keyState = 'unsupported'; renderAction(); return; }
  S.keyState = 'busy';
  renderAction();
  try {
    await ensureCert();
    S.keyState = 'ready';
  } catch (err) {
    if (err instanceof ApiError && err.code === 'reverify_required') {
      S.keyState = 'reverify';
    } else {
      S.keyState = 'error';
      S.keyError = err instanceof ApiError ? errorText(err) : t('sign.err_key');
    }
  }
  renderAction();
}

// ------------------------------------------------------------------ signature pad

function makePad() {
  const canvas = h('canvas', { class: 'sign-canvas', 'aria-label': t('sign.pad_label'), role: 'img' });
  const clearBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-small sign-clear', onclick: () => { pad.clear(); padChanged(); } });
  const hint = h('p', { class: 'sign-pad-hint', 'aria-hidden': 'true' });
  const frame = h('div', { class: 'sign-pad-frame', dataset: { empty: '1' } }, canvas, hint, h('span', { class: 'sign-pad-line', 'aria-hidden': 'true' }));
  ui.padBlock = h('div', { class: 'sign-pad' }, frame, h('div', { class: 'sign-pad-actions' }, clearBtn));
  ui.canvas = canvas;
  ui.padFrame = frame;
  ui.padHint = hint;
  ui.clearBtn = clearBtn;
  const Pad = window.SignaturePad;
  if (typeof Pad !== 'function') return false;
  pad = new Pad(canvas, { minWidth: 1.2, maxWidth: 3.6, penColor: '#111827', backgroundColor: 'rgba(0,0,0,0)', throttle: 8 });
  pad.addEventListener('endStroke', padChanged);
  pad.addEventListener('beginStroke', () => { ui.padFrame.dataset.empty = '0'; });
  window.addEventListener('resize', resizeCanvas);
  return true;
}

function relabelPad() {
  if (!ui.padBlock) return;
  ui.canvas.setAttribute('aria-label', t('sign.pad_label'));
  ui.padHint.textContent = t('sign.pad_hint');
  ui.clearBtn.textContent = t('sign.clear');
}

function padChanged() {
  if (!pad || !ui.padFrame) return;
  ui.padFrame.dataset.empty = pad.isEmpty() ? '1' : '0';
}

/** Canvas pixels = CSS pixels × devicePixelRatio; redraw the strokes after a change. */
function resizeCanvas() {
  if (!pad || !ui.canvas || !ui.canvas.isConnected) return;
  const ratio = Math.max(window.devicePixelRatio || 1, 1);
  const w = ui.canvas.offsetWidth;
  const hgt = ui.canvas.offsetHeight || PAD_HEIGHT;
  if (!w) return;
  if (ui.canvas.width === Math.round(w * ratio) && ui.canvas.height === Math.round(hgt * ratio)) return;
  const data = pad.toData();
  ui.canvas.width = Math.round(w * ratio);
  ui.canvas.height = Math.round(hgt * ratio);
  ui.canvas.getContext('2d').scale(ratio, ratio);
  pad.clear();
  if (data && data.length) pad.fromData(data);
  padChanged();
}

/**
 * The drawing cropped to its strokes (plus a small margin), as PNG base64 without the
 * data: prefix, scaled down until it is at most IMAGE_MAX_BYTES.
 */
function signatureImage() {
  const src = ui.canvas;
  const ctx = src.getContext('2d');
  const { width, height } = src;
  const px = ctx.getImageData(0, 0, width, height).data;
  let x0 = width; let y0 = height; let x1 = -1; let y1 = -1;
  for (let y = 0; y < height; y += 1) {
    const row = y * width * 4;
    for (let x = 0; x < width; x += 1) {
      if (px[row + x * 4 + 3] > 8) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return null;
  const margin = Math.round(6 * Math.max(window.devicePixelRatio || 1, 1));
  x0 = Math.max(0, x0 - margin); y0 = Math.max(0, y0 - margin);
  x1 = Math.min(width - 1, x1 + margin); y1 = Math.min(height - 1, y1 + margin);
  const cw = x1 - x0 + 1;
  const ch = y1 - y0 + 1;
  // The server takes at most 2000×1000 px; 1200×600 is plenty for a signature line.
  let scale = Math.min(1, 1200 / cw, 600 / ch);
  for (let i = 0; i < 6; i += 1) {
    const out = document.createElement('canvas');
    out.width = Math.max(1, Math.round(cw * scale));
    out.height = Math.max(1, Math.round(ch * scale));
    const o = out.getContext('2d');
    o.imageSmoothingQuality = 'high';
    o.drawImage(src, x0, y0, cw, ch, 0, 0, out.width, out.height);
    const data = out.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
    if (data.length * 3 / 4 <= IMAGE_MAX_BYTES) return data;
    scale *= 0.7;
  }
  return null;
}

// ------------------------------------------------------------------ chrome

function renderChrome() {
  document.title = t('app.name') + ' · ' + t('sign.app');
  const brand = document.getElementById('brand-text');
  if (brand) brand.textContent = t('app.name') + ' · ' + t('sign.app');
  const actions = document.getElementById('topbar-actions');
  if (actions) replace(actions, langButton());
  document.body.classList.toggle('sign-embed', EMBED);
}

// ------------------------------------------------------------------ screens

function renderLoading() {
  replace(app, h('p', { class: 'loading' }, t('common.loading')));
}

function renderError() {
  const e = S.error || {};
  let title = t('sign.err_title');
  let body = e.message || '';
  const actions = [];
  if (e.status === 401) {
    title = t('sign.login_title');
    body = t('sign.login_msg');
    const link = partyLink();
    if (link && link.token) {
      actions.push(h('a', { class: 'btn btn-primary btn-block sign-relogin', href: '/j/' + encodeURIComponent(link.token) + '?sign=' + encodeURIComponent(S.id || '') }, t('sign.login_party')));
    }
    actions.push(h('a', { class: 'btn btn-secondary btn-block', href: '/#/login' }, t('sign.login_staff')));
  } else if (e.status === 404) {
    title = t('sign.not_found');
  } else if (e.status === 0 || e.status >= 500 || e.status === 429) {
    actions.push(h('button', { type: 'button', class: 'btn btn-primary btn-block', onclick: () => load() }, t('common.retry')));
  }
  replace(app, h('section', { class: 'card party-card party-error sign-error', 'aria-labelledby': 'err-title', dataset: { screen: 'error' } },
    h('div', { class: 'error-icon', 'aria-hidden': 'true' }, '!'),
    h('h1', { id: 'err-title' }, title),
    body ? h('p', { class: 'lead' }, body) : null,
    actions,
    h('p', { class: 'muted small' }, t('party.contact'))));
  expose();
}

function statusBadge(status) {
  return h('span', { class: 'sign-badge', dataset: { status } }, statusText(status));
}

function headCard(d) {
  return h('section', { class: 'card party-card sign-head', 'aria-labelledby': 'doc-title' },
    h('div', { class: 'sign-title-row' },
      h('h1', { id: 'doc-title', class: 'sign-title' }, d.title || t('sign.app')),
      statusBadge(d.status)),
    lang() === 'en' && t('docs.kind.' + d.kind) !== 'docs.kind.' + d.kind ? h('p', { class: 'sign-sub sign-kind-en' }, t('docs.kind.' + d.kind)) : null,
    h('p', { class: 'sign-sub muted' }, t('sign.version_pages', { v: d.version, n: d.page_count })),
    h('div', { class: 'sign-hash' },
      h('span', { class: 'sign-hash-k' }, t('sign.fingerprint')),
      h('code', { class: 'sign-hash-v', title: d.sha256 || '' }, fingerprint16(d.sha256))),
    h('p', { class: 'sign-immutable' }, t('sign.immutable')));
}

function pagesBlock(d) {
  const n = Math.max(0, Number(d.page_count) || 0);
  const figs = [];
  for (let i = 0; i < n; i += 1) {
    const src = docPath('/pages/' + i) + '?r=' + encodeURIComponent(String(d.revision ?? '') + '-' + String(d.version ?? ''));
    figs.push(h('figure', { class: 'sign-page-fig' },
      h('a', { href: src, target: '_blank', rel: 'noopener', class: 'sign-page-link', 'aria-label': t('sign.page_open', { n: i + 1 }) },
        h('img', { class: 'sign-page-img', src, alt: t('sign.page_alt', { n: i + 1, total: n }), loading: i < 3 ? 'eager' : 'lazy', decoding: 'async', width: 595, height: 842 })),
      h('figcaption', { class: 'sign-page-cap' }, t('sign.page_caption', { n: i + 1, total: n }))));
  }
  return h('section', { class: 'sign-pages', 'aria-label': t('sign.pages_label') },
    figs,
    h('p', { class: 'sign-pdf-row' },
      h('a', { href: d.pdf_url || docPath('/pdf'), target: '_blank', rel: 'noopener', class: 'sign-pdf-link' }, t('sign.open_pdf')),
      h('span', { class: 'muted small' }, ' ' + t('sign.pdf_hint'))));
}

function slotsCard(d) {
  const rows = (d.slots || []).map((s) => h('li', { class: 'sign-slot', dataset: { slot: s.id, status: s.status } },
    h('span', { class: 'sign-slot-label' }, slotLabel(s)),
    h('span', { class: 'sign-slot-name' }, s.name || (d.me && d.me.slot === s.id ? d.me.name : '') || ''),
    h('span', { class: 'sign-chip', dataset: { status: s.status } }, t('sign.slot_status.' + s.status)),
    s.at ? h('span', { class: 'sign-slot-at muted small' }, fmtDateTime(s.at)) : null,
    s.status === 'refused' && s.reason ? h('span', { class: 'sign-slot-reason small' }, t('sign.refused_reason', { reason: s.reason })) : null));
  if (d.seal && d.seal.by_staff) {
    const sealed = !!d.seal.sealed_at;
    rows.push(h('li', { class: 'sign-slot', dataset: { slot: 'seal', status: sealed ? 'signed' : 'pending' } },
      h('span', { class: 'sign-slot-label' }, t('sign.slot.seal')),
      h('span', { class: 'sign-slot-name' }, ''),
      h('span', { class: 'sign-chip', dataset: { status: sealed ? 'signed' : 'pending' } }, t(sealed ? 'sign.sealed' : 'sign.not_sealed')),
      sealed ? h('span', { class: 'sign-slot-at muted small' }, fmtDateTime(d.seal.sealed_at)) : null));
  }
  return h('section', { class: 'card party-card sign-slots', 'aria-labelledby': 'slots-title' },
    h('h2', { id: 'slots-title' }, t('sign.signers')),
    h('ul', { class: 'sign-slot-list' }, rows));
}

function spinnerLine(text) {
  return h('p', { class: 'sign-progress', role: 'status', 'aria-live': 'polite' },
    h('span', { class: 'sign-spinner', 'aria-hidden': 'true' }), h('span', null, text));
}

function resultCard(d) {
  const mine = mySlot();
  const effective = d.status === 'effective';
  const parts = [];
  if (mine && mine.status === 'signed') {
    parts.push(h('div', { class: 'sign-result-head' },
      h('div', { class: 'error-icon ok-icon', 'aria-hidden': 'true' }, '✓'),
      h('div', null,
        h('h2', { class: 'sign-result-title' }, t('sign.done_title')),
        mine.at ? h('p', { class: 'muted' }, t('sign.done_at', { time: fmtDateTime(mine.at) })) : null)));
  } else if (mine && mine.status === 'refused') {
    parts.push(h('div', { class: 'sign-result-head' },
      h('div', { class: 'error-icon', 'aria-hidden': 'true' }, '!'),
      h('div', null,
        h('h2', { class: 'sign-result-title' }, t('sign.refused_title')),
        mine.reason ? h('p', { class: 'muted' }, t('sign.refused_reason', { reason: mine.reason })) : null)));
  }
  if (effective) {
    parts.push(h('p', { class: 'msg msg-ok sign-effective', role: 'status' },
      t('sign.effective', { time: d.effective_at ? fmtDateTime(d.effective_at) : '' })));
    parts.push(h('div', { class: 'sign-links' },
      d.certificate_url ? h('a', { class: 'btn btn-primary btn-block sign-cert-link', href: d.certificate_url, target: '_blank', rel: 'noopener' }, t('sign.certificate')) : null,
      h('a', { class: 'btn btn-secondary btn-block sign-final-pdf', href: d.pdf_url || docPath('/pdf'), target: '_blank', rel: 'noopener' }, t('sign.final_pdf'))));
  } else if (d.status === 'void') {
    parts.push(h('p', { class: 'msg msg-warn' }, t('sign.void')));
  } else {
    const waiting = (d.pending || []).length ? t('sign.waiting_for', { who: pendingLabels(d) })
      : (d.seal && d.seal.by_staff && !d.seal.sealed_at ? t('sign.waiting_seal') : t('sign.waiting_others'));
    parts.push(h('p', { class: 'calm sign-waiting', role: 'status' }, waiting));
    parts.push(h('button', { type: 'button', class: 'btn btn-secondary btn-block sign-refresh', onclick: () => load(true) }, t('sign.refresh')));
  }
  return parts;
}

function otpBlock() {
  const box = messageBox();
  const parts = [
    h('h3', { class: 'sign-step-title' }, h('span', { class: 'sign-step-no' }, '1'), t('sign.otp_title')),
    h('p', { class: 'muted small' }, t('sign.otp_lead')),
  ];
  if (!S.otp.sent) {
    const send = h('button', { type: 'button', class: 'btn btn-primary btn-block sign-otp-send' }, t('sign.otp_send'));
    send.addEventListener('click', () => requestOtp(send, box));
    parts.push(send, box);
  } else {
    const input = h('input', {
      name: 'otp', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]*', maxlength: 6,
      class: 'input-otp', 'aria-label': t('party.code'),
      oninput: (ev) => { const v = ev.target.value.replace(/\D/g, '').slice(0, 6); if (v !== ev.target.value) ev.target.value = v; },
    });
    const verify = h('button', { type: 'submit', class: 'btn btn-primary btn-block sign-otp-verify' }, t('sign.otp_verify'));
    const resend = h('button', { type: 'button', class: 'btn btn-link sign-otp-resend' });
    if (S.otpNote) showMessage(box, S.otpNote, 'warn');
    const form = h('form', { class: 'form sign-otp-form' },
      S.otp.phone ? h('p', { class: 'small' }, t('sign.otp_sent', { phone: S.otp.phone })) : null,
      input, box, verify);
    form.noValidate = true;
    form.addEventListener('submit', (ev) => { ev.preventDefault(); verifyOtp(input, verify, box); });
    resend.addEventListener('click', () => requestOtp(resend, box));
    const tick = () => {
      if (!resend.isConnected) { clearInterval(resendTimer); return; }
      const left = Math.ceil((S.otp.resendUntil - Date.now()) / 1000);
      resend.disabled = left > 0;
      resend.textContent = left > 0 ? t('party.resend_in', { s: left }) : t('party.resend');
      if (left <= 0) clearInterval(resendTimer);
    };
    clearInterval(resendTimer);
    resendTimer = setInterval(tick, 1000);
    tick();
    parts.push(form, h('div', { class: 'center' }, resend));
  }
  return h('div', { class: 'sign-otp', dataset: { step: 'otp' } }, parts);
}

async function requestOtp(btn, box) {
  if (btn.disabled) return;
  btn.disabled = true;
  hideMessage(box);
  S.busy = 'otp';
  expose();
  try {
    const r = await api('POST', docPath('/otp'), {});
    S.otp = { sent: true, phone: (r && r.phone) || '', resendUntil: Date.now() + 60000 };
    S.otpNote = '';
    S.busy = null;
    renderAction();
    const i = app.querySelector('input[name=otp]');
    if (i) i.focus();
  } catch (err) {
    S.busy = null;
    if (err instanceof ApiError && err.status === 429) {
      // A code was sent less than a minute ago (or too many this hour): it can still be
      // entered, so show the field with the server's message.
      S.otp = { sent: true, phone: S.otp.phone || '', resendUntil: Date.now() + 60000 };
      S.otpNote = errorText(err);
      renderAction();
      return;
    }
    showMessage(box, errorText(err));
    if (btn.isConnected) btn.disabled = false;
    expose();
  }
}

async function verifyOtp(input, btn, box) {
  const code = input.value.trim();
  hideMessage(box);
  if (!/^\d{6}$/.test(code)) { showMessage(box, t('err.code')); input.focus(); return; }
  btn.disabled = true;
  S.busy = 'otp';
  expose();
  try {
    await api('POST', docPath('/otp/verify'), { code });
    S.otp = { sent: false, phone: '', resendUntil: 0 };
    S.otpNote = '';
    S.busy = null;
    S.note = { text: t('sign.otp_ok'), kind: 'ok' };
    await preflight();
  } catch (err) {
    S.busy = null;
    input.value = '';
    input.focus();
    showMessage(box, errorText(err));
    if (btn.isConnected) btn.disabled = false;
    expose();
  }
}

function refuseBlock() {
  const box = messageBox();
  const reason = h('textarea', { name: 'refuse_reason', rows: 3, maxlength: 500, 'aria-label': t('sign.refuse_reason') , placeholder: t('sign.refuse_reason') });
  const btn = h('button', { type: 'submit', class: 'btn btn-danger btn-block sign-refuse-submit' }, t('sign.refuse_submit'));
  const form = h('form', { class: 'form sign-refuse-form' }, reason, box, btn);
  form.noValidate = true;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = reason.value.trim();
    if (!v) { showMessage(box, t('sign.refuse_required')); reason.focus(); return; }
    if (S.busy) return;
    btn.disabled = true;
    S.busy = 'refuse';
    expose();
    try {
      S.doc = await api('POST', docPath('/refuse'), { reason: v });
      S.justDone = 'refused';
      notifyParent();
      S.busy = null;
      render();
    } catch (err) {
      S.busy = null;
      showMessage(box, errorText(err));
      if (btn.isConnected) btn.disabled = false;
      expose();
    }
  });
  return h('details', { class: 'sign-refuse' },
    h('summary', null, t('sign.refuse')),
    h('p', { class: 'muted small' }, t('sign.refuse_hint')),
    form);
}

const BUSY_TEXT = { passkey: 'sign.busy_passkey', key: 'sign.busy_key', prepare: 'sign.busy_prepare', sign: 'sign.busy_sign', refuse: 'common.working', otp: 'common.working' };

/** The signer's part: OTP, key status, the pad, consent, the sign button. */
function signCard(d) {
  const me = d.me;
  const parts = [
    h('h2', { id: 'act-title' }, t('sign.sign_as', { role: slotLabel({ id: me.slot, label: '' }), name: me.name || '' })),
  ];
  if (S.keyState === 'unsupported') {
    parts.push(h('p', { class: 'msg msg-error' }, t('sign.unsupported')));
    return parts;
  }
  const needOtp = S.keyState === 'reverify';
  if (needOtp) parts.push(otpBlock());
  const stepNo = needOtp ? 2 : 1;
  parts.push(h('h3', { class: 'sign-step-title' }, h('span', { class: 'sign-step-no' }, String(stepNo)), t('sign.pad_title')));
  parts.push(h('p', { class: 'muted small sign-pad-lead' }, t('sign.pad_lead', { name: me.name || '' })));
  if (!ui.padBlock) makePad();
  relabelPad();
  parts.push(ui.padBlock);
  if (!pad) parts.push(h('p', { class: 'msg msg-error' }, t('sign.unsupported')));
  const consent = h('input', { type: 'checkbox', name: 'consent', checked: S.consent, onchange: (ev) => { S.consent = ev.target.checked; } });
  parts.push(h('label', { class: 'check sign-consent' }, consent, h('span', null, t('sign.consent'))));
  const box = messageBox();
  if (S.note) showMessage(box, S.note.text, S.note.kind);
  if (S.passkeyAvailable) {
    parts.push(h('label', { class: 'sign-passkey' },
      h('input', { type: 'checkbox', name: 'passkey', checked: !!S.usePasskey, onchange: (e) => { S.usePasskey = e.target.checked; } }),
      ' ' + t('sign.use_passkey')));
  }
  const btn = h('button', { type: 'button', class: 'btn btn-primary btn-block sign-submit', disabled: !!S.busy }, t('sign.submit'));
  btn.addEventListener('click', () => doSign(btn, box));
  parts.push(box);
  if (S.busy && BUSY_TEXT[S.busy]) parts.push(spinnerLine(t(BUSY_TEXT[S.busy])));
  else if (S.keyState === 'busy') parts.push(spinnerLine(t('sign.busy_key')));
  parts.push(btn);
  const keyLine = S.keyState === 'ready'
    ? t('sign.key_ready', { fp: String(S.cert && S.cert.fingerprint || '').slice(0, 16) })
    : (S.keyState === 'error' ? S.keyError : t('sign.key_note'));
  parts.push(h('p', { class: 'muted small sign-key-note', dataset: { state: S.keyState } }, keyLine));
  if (S.keyVolatile) parts.push(h('p', { class: 'muted small' }, t('sign.key_volatile')));
  if (me.may_refuse) parts.push(refuseBlock());
  return parts;
}

function actionCard(d) {
  const me = d.me;
  let body;
  const mine = mySlot();
  if (S.justDone || (mine && mine.status !== 'pending') || d.status !== 'signing') {
    body = resultCard(d);
    if (!mine && !me) body.unshift(h('p', { class: 'muted' }, t('sign.not_signer')));
  } else if (!me) {
    body = [h('p', { class: 'muted' }, t('sign.not_signer'))];
  } else if (me.can_sign) {
    body = signCard(d);
  } else {
    const why = me.why_not ? pickMessage(me.why_not.message) : '';
    body = [
      h('h2', { id: 'act-title' }, t('sign.sign_as', { role: slotLabel({ id: me.slot, label: '' }), name: me.name || '' })),
      h('p', { class: 'calm sign-why', dataset: { code: (me.why_not && me.why_not.code) || '' } }, why || t('sign.cannot_sign')),
      h('button', { type: 'button', class: 'btn btn-secondary btn-block sign-refresh', onclick: () => load(true) }, t('sign.refresh')),
    ];
  }
  return h('section', { class: 'card party-card sign-action', id: 'sign-action', 'aria-labelledby': 'act-title' }, body);
}

function goBar() {
  const btn = h('button', { type: 'button', class: 'btn btn-primary sign-go', onclick: () => {
    const target = document.getElementById('sign-action');
    if (target) target.scrollIntoView({ behavior: 'smooth', block: 'start' });
  } }, t('sign.go_sign'));
  return h('div', { class: 'sign-gobar', hidden: true }, btn);
}

let observer = null;
function watchGoBar() {
  if (observer) { observer.disconnect(); observer = null; }
  const bar = app.querySelector('.sign-gobar');
  const target = document.getElementById('sign-action');
  if (!bar || !target || !('IntersectionObserver' in window)) return;
  observer = new IntersectionObserver((entries) => {
    for (const e of entries) bar.hidden = e.isIntersecting || e.boundingClientRect.top < 0;
  });
  observer.observe(target);
}

function render() {
  renderChrome();
  if (S.phase === 'loading') { renderLoading(); expose(); return; }
  if (S.phase === 'error') { renderError(); return; }
  const d = S.doc;
  const signing = d.me && d.me.can_sign && d.status === 'signing' && !S.justDone;
  replace(app, h('div', { class: 'sign-doc', dataset: { documentId: String(d.id), kind: d.kind || '' } },
    headCard(d),
    pagesBlock(d),
    slotsCard(d),
    actionCard(d),
    signing ? goBar() : null));
  if (ui.canvas && ui.canvas.isConnected) resizeCanvas();
  watchGoBar();
  expose();
}

/** Re-render only the action card (OTP, key state, progress) and keep the rest. */
function renderAction() {
  const old = document.getElementById('sign-action');
  if (!old || !S.doc) { render(); return; }
  const fresh = actionCard(S.doc);
  old.replaceWith(fresh);
  if (ui.canvas && ui.canvas.isConnected) resizeCanvas();
  watchGoBar();
  expose();
}

// ------------------------------------------------------------------ signing

function notifyParent() {
  if (!EMBED || window.parent === window) return;
  try {
    window.parent.postMessage({ type: 'yt-sign', document_id: S.doc && S.doc.id, status: S.doc && S.doc.status, done: S.justDone }, location.origin);
  } catch (_) { /* ignore */ }
}

async function doSign(btn, box) {
  if (S.busy) return;
  hideMessage(box);
  S.note = null;
  if (!pad || pad.isEmpty()) { showMessage(box, t('sign.err_empty')); return; }
  if (!S.consent) { showMessage(box, t('sign.err_consent')); const c = app.querySelector('input[name=consent]'); if (c) c.focus(); return; }
  if (S.keyState === 'reverify') {
    showMessage(box, t('sign.err_verify_first'));
    const el = app.querySelector('.sign-otp button, .sign-otp input');
    if (el) el.focus();
    return;
  }
  if (!cryptoSupported()) { S.keyState = 'unsupported'; renderAction(); return; }
  const image = signatureImage();
  if (!image) { showMessage(box, t('sign.err_image')); return; }
  const strokes = pad.toData();
  const step = (name) => { S.busy = name; renderAction(); };
  try {
    step('key');
    await ensureCert();
    S.keyState = 'ready';
    const method = S.usePasskey ? 'webauthn' : 'device_key';
    if (method === 'webauthn') { step('passkey'); await ensurePasskey(); }
    let retried = false;
    for (;;) {
      step('prepare');
      const prep = await api('POST', docPath('/prepare'), { certificate: S.cert.fingerprint, image, strokes, method });
      if (prep.doc_sha256 && S.doc.sha256 && prep.doc_sha256 !== S.doc.sha256) {
        // A new version appeared since the page was loaded: read it first.
        S.busy = null;
        await load(true);
        S.note = { text: t('sign.err_new_version'), kind: 'error' };
        renderAction();
        return;
      }
      step('sign');
      const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, S.key.privateKey, unb64(prep.to_sign));
      const body = { prepare_id: prep.prepare_id, signature: b64(new Uint8Array(sig)) };
      if (method === 'webauthn' && prep.webauthn) { step('passkey'); body.webauthn = await passkeyAssertion(prep.webauthn); }
      try {
        S.doc = await api('POST', docPath('/sign'), body);
        break;
      } catch (err) {
        // Another signer finished first (the PDF moved on), or the step expired: once more.
        if (!retried && err instanceof ApiError && (err.code === 'document_changed' || err.code === 'prepare_expired')) {
          retried = true;
          continue;
        }
        throw err;
      }
    }
    S.busy = null;
    S.justDone = 'signed';
    notifyParent();
    render();
    const card = document.getElementById('sign-action');
    if (card) card.scrollIntoView({ block: 'start' });
  } catch (err) {
    S.busy = null;
    if (err instanceof ApiError && err.code === 'reverify_required') {
      S.keyState = 'reverify';
      S.note = { text: t('sign.err_verify_first'), kind: 'error' };
    } else if (err instanceof ApiError && (err.code === 'certificate_expired' || err.code === 'certificate_not_yours')) {
      S.cert = null;
      S.note = { text: errorText(err), kind: 'error' };
    } else if (err instanceof ApiError && (err.code === 'stale_version' || err.code === 'document_effective' || err.code === 'already_signed' || err.code === 'document_void')) {
      await load(true);
      S.note = { text: errorText(err), kind: 'error' };
    } else if (err instanceof ApiError) {
      S.note = { text: errorText(err), kind: 'error' };
    } else {
      S.note = { text: t('sign.err_crypto', { message: (err && err.message) || '' }), kind: 'error' };
    }
    renderAction();
  }
}

// ------------------------------------------------------------------ boot

passkeyAvailable().then((ok) => {
  S.passkeyAvailable = ok;
  if (ok && S.usePasskey === undefined) S.usePasskey = true;
  if (S.doc) renderAction();
});

async function load(keepState) {
  if (!keepState) { S.phase = 'loading'; render(); }
  try {
    const d = await api('GET', docPath(''));
    const versionChanged = S.doc && (S.doc.version !== d.version);
    S.doc = d;
    S.phase = 'ready';
    if (versionChanged) { S.justDone = null; if (pad) pad.clear(); }
  } catch (err) {
    if (keepState && S.doc) { S.note = { text: errorText(err), kind: 'error' }; renderAction(); return; }
    S.phase = 'error';
    S.error = { status: err instanceof ApiError ? err.status : 0, code: err && err.code, message: errorText(err) };
    render();
    return;
  }
  render();
  const d = S.doc;
  if (d.me && d.me.can_sign && d.status === 'signing' && !S.justDone && (S.keyState === 'idle' || S.keyState === 'error')) {
    preflight();
  }
}

function boot() {
  const m = /^\/sign\/(\d+)\/?$/.exec(location.pathname);
  renderChrome();
  if (!m) {
    S.phase = 'error';
    S.error = { status: 404, message: '' };
    render();
    return;
  }
  S.id = m[1];
  load();
}

onLangChange(() => render());
// The hearing room (our parent when embedded) switches the language in localStorage.
window.addEventListener('storage', (ev) => {
  if (ev.key === 'yt_lang' && (ev.newValue === 'zh' || ev.newValue === 'en')) setLang(ev.newValue);
});
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && S.phase === 'ready' && S.doc && !S.busy && (S.justDone || (S.doc.me && !S.doc.me.can_sign)) && S.doc.status === 'signing') load(true);
});

boot();
