// Documents for signature (文书签署), the staff panel: used on the console's case page and
// in the chair console of the hearing room. It lists a case's documents with each
// signer's state, and offers what the staff member may do: draft a document from the
// case record (with the free-text fields of its kind), make a new version (every
// signature is needed again), send the signing links by SMS, push the document to the
// parties' phones in the live hearing, apply the commission seal, record a party's
// refusal to sign the transcript, sign (staff signers, on /sign/{id}) and download the
// PDF and its completion certificate. The server decides; refusals are shown inline.
//
//   const docs = createDocumentsPanel({ caseId, hearings, canDraft: true, mode: 'console' });
//   const docs = createDocumentsPanel({ hearingId, mode: 'chair', canDraft: () => …, toast });
//   parent.appendChild(docs.el);   docs.onUpdate(update)   // a `document_update` message

import { t, label, fmtDateTime, joinList } from './i18n.js';
import { h, replace, api, ApiError, errorText, userError } from './common.js';

export const KINDS = ['confirmation', 'mediation_agreement', 'withdrawal_claim', 'withdrawal_counterclaim', 'transcript'];
const PARTY_SLOTS = ['applicant', 'respondent'];

// The confirmation's defence-period line, as the paper form prints it (both options, the
// chosen one ticked).
const DEFENCE_WAIVED = '■ 放弃答辩期　　□ 答辩期缩短为＿＿日';
const DEFENCE_KEPT = '□ 放弃答辩期　　□ 答辩期缩短为＿＿日';
const defenceShortened = (n) => `□ 放弃答辩期　　■ 答辩期缩短为 ${n} 日`;

function kindLabel(kind, fallback) {
  const k = 'docs.kind.' + kind;
  const s = t(k);
  return s === k ? (fallback || kind) : s;
}

function slotName(id, fallback) {
  const k = 'sign.slot.' + id;
  const s = t(k);
  return s === k ? (fallback || id) : s;
}

function statusLabel(status) {
  const k = 'sign.status.' + status;
  const s = t(k);
  return s === k ? String(status) : s;
}

function clockOrDate(ms) {
  if (ms === null || ms === undefined) return '';
  const s = fmtDateTime(ms);
  const today = fmtDateTime(Date.now()).slice(0, 10);
  return s.slice(0, 10) === today ? s.slice(11) : s.slice(5);
}

/** The `fields` of a draft or new version from the form's state; throws a userError. */
export function buildFields(kind, fs) {
  const f = {};
  const text = (v) => String(v || '').trim();
  if (kind === 'confirmation') {
    if (fs.defence === 'waived') f.defence_period = DEFENCE_WAIVED;
    else if (fs.defence === 'shortened') {
      const n = Number(fs.defence_days);
      if (!Number.isInteger(n) || n < 1 || n > 14) throw userError(t('docs.err_days'), 'defence_days');
      f.defence_period = defenceShortened(n);
    } else f.defence_period = DEFENCE_KEPT;
  } else if (kind === 'mediation_agreement') {
    if (!text(fs.agreed_terms)) throw userError(t('docs.err_terms'), 'agreed_terms');
    f.agreed_terms = text(fs.agreed_terms);
  } else if (kind === 'withdrawal_claim' || kind === 'withdrawal_counterclaim') {
    if (!text(fs.withdrawal_reason)) throw userError(t('docs.err_reason'), 'withdrawal_reason');
    f.withdrawal_reason = text(fs.withdrawal_reason);
  } else if (kind === 'transcript') {
    if (!text(fs.transcript_text)) throw userError(t('docs.err_transcript'), 'transcript_text');
    f.transcript_text = String(fs.transcript_text).replace(/\r\n?/g, '\n').trim();
    if (text(fs.attendees)) f.attendees = String(fs.attendees).replace(/\r\n?/g, '\n').trim();
  }
  return f;
}

/**
 * opts: { caseId?, hearingId?, hearings?: [{id, scheduled_at, status}], mode: 'console'|'chair',
 *         canDraft?: boolean | () => boolean, toast?: (text) => void }
 */
export function createDocumentsPanel(opts = {}) {
  const mode = opts.mode === 'chair' ? 'chair' : 'console';
  const el = mode === 'console'
    ? h('section', { class: 'card section docs-panel', dataset: { mode } })
    : h('div', { class: 'docs-panel docs-chair', dataset: { mode } });
  let caseId = opts.caseId || null;
  let docs = [];
  let loaded = false;
  let loadError = '';
  let busy = new Set(); // "action:id"
  let open = null; // { type: 'draft' | 'version' | 'refusal', id?, state: {...}, error }
  const notes = new Map(); // document id (or 'panel') → { text, kind }
  const flash = new Set();
  let refreshTimer = null;

  const canDraft = () => (typeof opts.canDraft === 'function' ? !!opts.canDraft() : opts.canDraft !== false);

  // ---------------------------------------------------------------- focus across re-renders

  function saveFocus() {
    const a = document.activeElement;
    if (!a || !el.contains(a) || !a.dataset || !a.dataset.fkey) return null;
    let sel = null;
    try { sel = [a.selectionStart, a.selectionEnd]; } catch (_) { sel = null; }
    return { key: a.dataset.fkey, sel };
  }

  function restoreFocus(saved) {
    if (!saved) return;
    const e = el.querySelector(`[data-fkey="${CSS.escape(saved.key)}"]`);
    if (!e) return;
    if (document.activeElement !== e) e.focus({ preventScroll: true });
    if (saved.sel && saved.sel[0] !== null && saved.sel[0] !== undefined) {
      try { e.setSelectionRange(saved.sel[0], saved.sel[1]); } catch (_) { /* not a text field */ }
    }
  }

  // ---------------------------------------------------------------- data

  async function resolveCase() {
    if (caseId) return caseId;
    if (!opts.hearingId) return null;
    const hg = await api('GET', '/api/hearings/' + encodeURIComponent(opts.hearingId));
    caseId = hg && hg.case_id;
    return caseId;
  }

  async function refresh() {
    try {
      const id = await resolveCase();
      if (!id) throw new ApiError(404, 'not_found', '');
      const r = await api('GET', '/api/cases/' + encodeURIComponent(id) + '/documents');
      docs = (r && r.documents) || [];
      loadError = '';
    } catch (err) {
      loadError = errorText(err);
    }
    loaded = true;
    render();
  }

  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 250);
  }

  function replaceDoc(view) {
    if (!view || view.id === undefined) return;
    const i = docs.findIndex((d) => d.id === view.id);
    if (i >= 0) docs[i] = view; else docs.unshift(view);
  }

  /** A `document_update` from the hearing room: a signature, refusal or the seal arrived. */
  function onUpdate(update) {
    const u = update || {};
    if (u.document_id !== undefined) {
      flash.add(Number(u.document_id));
      setTimeout(() => { flash.delete(Number(u.document_id)); render(); }, 2500);
    }
    if (opts.toast && u.title) {
      const who = u.slot === 'seal' ? t('sign.slot.seal') : slotName(u.slot || '', u.slot);
      opts.toast(t('docs.update_toast', { title: u.title, who }));
    }
    refreshSoon();
  }

  async function act(key, docId, fn) {
    if (busy.has(key)) return;
    busy.add(key);
    notes.delete(docId);
    render();
    try {
      const note = await fn();
      if (note) notes.set(docId, { text: note, kind: 'ok' });
    } catch (err) {
      notes.set(docId, { text: errorText(err), kind: 'error' });
    } finally {
      busy.delete(key);
      render();
    }
  }

  // ---------------------------------------------------------------- actions

  function send(d) {
    return act('send:' + d.id, d.id, async () => {
      const r = await api('POST', '/api/documents/' + d.id + '/send', {});
      const sent = (r && r.sent) || [];
      return sent.length ? t('docs.sent', { to: joinList(sent) }) : t('docs.sent_none');
    });
  }

  function push(d) {
    return act('push:' + d.id, d.id, async () => {
      const r = await api('POST', '/api/documents/' + d.id + '/push', {});
      const slots = (r && r.slots) || [];
      const n = Array.isArray(r && r.pushed_to) ? r.pushed_to.length : slots.length;
      return t('docs.pushed', { n, who: joinList(slots.map((s) => slotName(s))) });
    });
  }

  function seal(d) {
    return act('seal:' + d.id, d.id, async () => {
      replaceDoc(await api('POST', '/api/documents/' + d.id + '/seal', {}));
      return t('docs.sealed');
    });
  }

  async function submitOpen(form) {
    if (!open) return;
    const st = open.state;
    const kind = open.type === 'draft' ? st.kind : (docs.find((d) => d.id === open.id) || {}).kind;
    const key = open.type + ':' + (open.id || 'new');
    if (busy.has(key)) return;
    open.error = '';
    let body;
    try {
      if (open.type === 'refusal') {
        if (!st.slot) throw userError(t('docs.err_slot'), 'slot');
        if (!String(st.reason || '').trim()) throw userError(t('docs.err_refusal_reason'), 'reason');
        body = { slot: st.slot, reason: String(st.reason).trim() };
      } else {
        body = { fields: buildFields(kind, st) };
        if (open.type === 'draft') {
          body.kind = kind;
          const hid = mode === 'chair' ? opts.hearingId : st.hearing_id;
          if (hid) body.hearing_id = Number(hid);
        }
      }
    } catch (err) {
      open.error = errorText(err);
      render();
      const f = err.field && form && form.querySelector(`[name="${err.field}"]`);
      if (f) f.focus();
      return;
    }
    busy.add(key);
    render();
    try {
      if (open.type === 'draft') {
        const id = await resolveCase();
        const view = await api('POST', '/api/cases/' + encodeURIComponent(id) + '/documents', body);
        replaceDoc(view);
        notes.set(view.id, { text: t('docs.created', { title: view.title || kindLabel(view.kind), v: view.version }), kind: 'ok' });
      } else if (open.type === 'version') {
        const view = await api('POST', '/api/documents/' + open.id + '/versions', body);
        replaceDoc(view);
        notes.set(view.id, { text: t('docs.new_version_done', { v: view.version }), kind: 'ok' });
      } else if (open.type === 'refusal') {
        const view = await api('POST', '/api/documents/' + open.id + '/refusals', body);
        replaceDoc(view);
        notes.set(view.id, { text: t('docs.refusal_done'), kind: 'ok' });
      }
      open = null;
    } catch (err) {
      if (open) open.error = errorText(err);
    } finally {
      busy.delete(key);
      render();
    }
  }

  function toggle(type, id, initial) {
    if (open && open.type === type && open.id === id) open = null;
    else open = { type, id, state: initial || {}, error: '' };
    render();
    requestAnimationFrame(() => {
      const f = el.querySelector('.docs-form [data-fkey]:not([type=radio]), .docs-form select');
      if (f) f.focus();
    });
  }

  // ---------------------------------------------------------------- forms

  function bind(st, name, fkey, extra = {}) {
    return {
      name, 'data-fkey': fkey + ':' + name,
      oninput: (ev) => { st[name] = ev.target.value; },
      onchange: (ev) => { st[name] = ev.target.value; if (extra.rerender) render(); },
    };
  }

  function kindFields(kind, st, fkey) {
    const out = [];
    if (kind === 'confirmation') {
      if (!st.defence) st.defence = 'waived';
      if (!st.defence_days) st.defence_days = '5';
      const radio = (v, text) => h('label', { class: 'check docs-radio' },
        h('input', { type: 'radio', name: 'defence', value: v, checked: st.defence === v, 'data-fkey': fkey + ':defence:' + v, onchange: () => { st.defence = v; render(); } }),
        h('span', null, text));
      out.push(h('fieldset', { class: 'fieldset docs-defence' },
        h('legend', null, t('docs.defence')),
        radio('waived', t('docs.defence_waived')),
        h('div', { class: 'docs-days-row' },
          radio('shortened', t('docs.defence_shortened')),
          h('input', { type: 'number', min: 1, max: 14, step: 1, class: 'docs-days', value: st.defence_days, disabled: st.defence !== 'shortened', 'aria-label': t('docs.defence_days'), ...bind(st, 'defence_days', fkey) }),
          h('span', null, t('docs.days'))),
        radio('kept', t('docs.defence_kept'))));
    } else if (kind === 'mediation_agreement') {
      out.push(h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('docs.agreed_terms')),
        h('textarea', { rows: 5, maxlength: 20000, placeholder: t('docs.agreed_terms_ph'), value: st.agreed_terms || '', ...bind(st, 'agreed_terms', fkey) })));
    } else if (kind === 'withdrawal_claim' || kind === 'withdrawal_counterclaim') {
      out.push(h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('docs.withdrawal_reason')),
        h('textarea', { rows: 2, maxlength: 200, placeholder: t('docs.withdrawal_reason_ph'), value: st.withdrawal_reason || '', ...bind(st, 'withdrawal_reason', fkey) })));
    } else if (kind === 'transcript') {
      out.push(h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('docs.transcript_text')),
        h('textarea', { rows: 8, maxlength: 20000, placeholder: t('docs.transcript_text_ph'), value: st.transcript_text || '', ...bind(st, 'transcript_text', fkey) })));
      out.push(h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('docs.attendees') + t('common.optional')),
        h('textarea', { rows: 3, maxlength: 2000, placeholder: t('docs.attendees_ph'), value: st.attendees || '', ...bind(st, 'attendees', fkey) })));
    }
    return out;
  }

  function formShell(key, title, body, submitText) {
    const isBusy = busy.has(key);
    const form = h('form', { class: 'docs-form', dataset: { docsForm: key } },
      title ? h('p', { class: 'docs-form-title' }, title) : null,
      body,
      open && open.error ? h('p', { class: 'msg msg-error', role: 'alert' }, open.error) : null,
      h('div', { class: 'docs-form-actions' },
        h('button', { type: 'submit', class: 'btn btn-primary btn-small docs-submit', disabled: isBusy }, isBusy ? t('common.working') : submitText),
        h('button', { type: 'button', class: 'btn btn-ghost btn-small docs-cancel', onclick: () => { open = null; render(); } }, t('common.cancel'))));
    form.noValidate = true;
    form.addEventListener('submit', (ev) => { ev.preventDefault(); submitOpen(form); });
    return form;
  }

  function draftForm() {
    const st = open.state;
    if (!st.kind) st.kind = 'confirmation';
    const fkey = 'draft';
    const kindSel = h('select', { 'aria-label': t('docs.kind'), ...bind(st, 'kind', fkey, { rerender: true }) },
      KINDS.map((k) => h('option', { value: k, selected: st.kind === k }, kindLabel(k))));
    const parts = [h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('docs.kind')), kindSel)];
    if (mode === 'console' && (opts.hearings || []).length) {
      const list = opts.hearings;
      if (st.hearing_id === undefined) st.hearing_id = String(list[list.length - 1].id);
      parts.push(h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('docs.hearing')),
        h('select', { ...bind(st, 'hearing_id', fkey) },
          h('option', { value: '', selected: !st.hearing_id }, t('docs.no_hearing')),
          list.map((hg) => h('option', { value: String(hg.id), selected: String(hg.id) === String(st.hearing_id) },
            fmtDateTime(hg.scheduled_at) + (hg.status ? ' · ' + label('hstatus', hg.status) : ''))))));
    }
    parts.push(kindFields(st.kind, st, fkey));
    return formShell('draft:new', null, parts, t('docs.create'));
  }

  function versionForm(d) {
    const fkey = 'version' + d.id;
    return formShell('version:' + d.id, t('docs.new_version_hint'), kindFields(d.kind, open.state, fkey), t('docs.new_version_submit'));
  }

  function refusalForm(d) {
    const st = open.state;
    const slots = (d.pending || []).filter((s) => PARTY_SLOTS.includes(s));
    if (!st.slot && slots.length) st.slot = slots[0];
    const fkey = 'refusal' + d.id;
    return formShell('refusal:' + d.id, null, [
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('docs.refusal_slot')),
        h('select', { ...bind(st, 'slot', fkey) }, slots.map((s) => h('option', { value: s, selected: st.slot === s }, slotName(s))))),
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('docs.refusal_reason')),
        h('input', { type: 'text', maxlength: 500, value: st.reason || '', ...bind(st, 'reason', fkey) })),
    ], t('docs.refusal_submit'));
  }

  // ---------------------------------------------------------------- render

  function slotChip(s) {
    const who = s.name ? ' ' + s.name : '';
    const at = s.at ? ' ' + clockOrDate(s.at) : '';
    const mark = s.status === 'signed' ? '✓ ' : (s.status === 'refused' ? '✗ ' : '');
    return h('span', { class: 'docs-chip', dataset: { slot: s.id, status: s.status }, title: s.reason ? t('sign.refused_reason', { reason: s.reason }) : null },
      mark + slotName(s.id, s.label) + who + ' · ' + t('sign.slot_status.' + s.status) + at);
  }

  function docItem(d) {
    const signing = d.status === 'signing';
    // The server says what this staff member may do with this document.
    const draft = d.may ? !!d.may.draft : canDraft();
    const pendingParties = (d.pending || []).filter((s) => PARTY_SLOTS.includes(s));
    const b = (cls, text, onclick, { primary, key, disabled } = {}) => h('button', {
      type: 'button', class: 'btn btn-small ' + (primary ? 'btn-primary ' : 'btn-secondary ') + cls,
      disabled: disabled || (key && busy.has(key)), onclick,
    }, key && busy.has(key) ? t('common.working') : text);
    const actions = [];
    const target = mode === 'chair' ? '_blank' : null;
    if (d.me && d.me.can_sign) {
      actions.push(h('a', { class: 'btn btn-small btn-primary docs-sign', href: '/sign/' + d.id, target, rel: target ? 'noopener' : null }, t('docs.sign')));
    } else {
      actions.push(h('a', { class: 'btn btn-small btn-secondary docs-view', href: '/sign/' + d.id, target, rel: target ? 'noopener' : null }, t('docs.view')));
    }
    if (signing && draft && pendingParties.length) actions.push(b('docs-send', t('docs.send'), () => send(d), { key: 'send:' + d.id }));
    if (signing && draft && pendingParties.length && mode === 'chair' && d.hearing_id !== null && d.hearing_id !== undefined) {
      actions.push(b('docs-push', t('docs.push'), () => push(d), { key: 'push:' + d.id, primary: true }));
    }
    if (d.seal && d.seal.ready) actions.push(b('docs-seal', t('docs.seal'), () => seal(d), { key: 'seal:' + d.id, primary: true }));
    if (signing && draft && d.kind === 'transcript' && pendingParties.length) {
      actions.push(b('docs-refusal', t('docs.refusal'), () => toggle('refusal', d.id)));
    }
    if (signing && draft) actions.push(b('docs-version', t('docs.new_version'), () => toggle('version', d.id)));
    const links = [
      h('a', { class: 'docs-pdf', href: d.pdf_url || ('/api/documents/' + d.id + '/pdf'), target: '_blank', rel: 'noopener' }, t('docs.pdf')),
      d.certificate_url ? h('a', { class: 'docs-cert', href: d.certificate_url, target: '_blank', rel: 'noopener' }, t('docs.certificate')) : null,
    ];
    const note = notes.get(d.id);
    const slots = (d.slots || []).map(slotChip);
    if (d.seal && d.seal.by_staff) {
      const sealed = !!d.seal.sealed_at;
      slots.push(h('span', { class: 'docs-chip', dataset: { slot: 'seal', status: sealed ? 'signed' : 'pending' } },
        (sealed ? '✓ ' : '') + t('sign.slot.seal') + ' · ' + t(sealed ? 'sign.sealed' : 'sign.not_sealed') + (sealed ? ' ' + clockOrDate(d.seal.sealed_at) : '')));
    }
    return h('li', { class: 'docs-item', dataset: { documentId: String(d.id), status: d.status, kind: d.kind, flash: flash.has(Number(d.id)) ? '1' : '0' } },
      h('div', { class: 'docs-item-head' },
        h('strong', { class: 'docs-title' }, d.title || kindLabel(d.kind)),
        h('span', { class: 'docs-version' }, t('docs.version', { v: d.version })),
        h('span', { class: 'docs-status', dataset: { status: d.status } }, statusLabel(d.status))),
      h('div', { class: 'docs-chips' }, slots),
      h('div', { class: 'docs-actions' }, actions, h('span', { class: 'docs-links' }, links)),
      note ? h('p', { class: 'msg msg-' + note.kind + ' docs-note', role: 'status' }, note.text) : null,
      open && open.id === d.id && open.type === 'version' ? versionForm(d) : null,
      open && open.id === d.id && open.type === 'refusal' ? refusalForm(d) : null);
  }

  function render() {
    const saved = saveFocus();
    const draft = canDraft();
    const list = loaded
      ? (docs.length ? h('ul', { class: 'docs-list' }, docs.map(docItem)) : h('p', { class: 'muted small docs-empty' }, t('docs.empty')))
      : h('p', { class: 'muted small docs-empty' }, t('common.loading'));
    const drafting = open && open.type === 'draft';
    const toolbar = h('div', { class: 'docs-toolbar' },
      draft ? h('button', { type: 'button', class: 'btn btn-small ' + (drafting ? 'btn-ghost' : 'btn-primary') + ' docs-new', 'aria-expanded': drafting ? 'true' : 'false', onclick: () => toggle('draft', undefined, {}) }, t('docs.new')) : null,
      h('button', { type: 'button', class: 'btn btn-small btn-ghost docs-refresh', onclick: () => refresh() }, t('docs.refresh')));
    replace(el,
      mode === 'console' ? h('h2', null, t('docs.title')) : null,
      toolbar,
      drafting ? draftForm() : null,
      loadError ? h('p', { class: 'msg msg-error', role: 'alert' }, loadError) : null,
      list);
    restoreFocus(saved);
  }

  render();
  refresh();
  return { el, refresh, onUpdate, saveFocus, restoreFocus, render, count: () => docs.length };
}
