// Chair console (主持控制台): the staff side panel of the hearing room. It shows the
// roster (waiting room with verified identity and device check, participants with
// presence, quality and raised hands), help messages and exhibits, and sends every action
// as {"type":"control","command":{"do":...}} over the room's WebSocket
// (docs/signaling.md, “Hearing procedure”). The server decides; refusals come back as
// `error` and are shown as toasts by the room.
//
// Recording storage notices (录像存储空间不足 …) come from the server to the chair and
// clerk as `recording_storage` messages ({notice: {kind: low|critical|paused|ok, text,
// at, …}}); the newest is shown as a banner at the top until an `ok` notice clears it.
//
// Actions that need a reason open a small inline form (input[name=reason] or
// input[name=note]) instead of window.prompt, so the page stays usable on a tablet and
// tests can fill it.

import { t, label, fmtDateTime, pickMessage } from './i18n.js';
import { h, replace, api, errorText } from './common.js';
import { createDocumentsPanel } from './documents.js';

export const PHASES = ['check_attendance', 'announce_discipline', 'opening', 'claims_and_defence', 'investigation', 'debate', 'final_statements', 'mediation', 'closed'];
export const STAFF_ROLES = ['presiding_arbitrator', 'arbitrator', 'clerk', 'mediator', 'admin'];
const CHAIR = 'presiding_arbitrator';

// Which seat role may send which command (mirrors src/hearing/controls.rs as documented).
const MAY = {
  admit: [CHAIR, 'arbitrator', 'clerk'],
  deny: [CHAIR, 'arbitrator', 'clerk'],
  reverify: [CHAIR, 'arbitrator', 'clerk'],
  mute: [CHAIR, 'clerk'],
  mute_parties: [CHAIR, 'clerk'],
  remove: [CHAIR],
  lock: [CHAIR],
  call_witness: [CHAIR],
  dismiss_witness: [CHAIR],
  pause: [CHAIR],
  resume: [CHAIR],
  phase: [CHAIR],
  end: [CHAIR],
  caucus_open: [CHAIR, 'mediator'],
  caucus_close: [CHAIR, 'mediator'],
  warn: [CHAIR, 'clerk'],
  show_exhibit: [CHAIR],
  hide_exhibit: [CHAIR],
};

export function may(role, what) {
  return !!(MAY[what] && MAY[what].includes(role));
}

export function phaseLabel(phase, fallback) {
  const k = 'phase.' + phase;
  const s = t(k);
  return s === k ? (fallback || phase || '—') : s;
}

function clock(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = fmtDateTime(ms);
  const d = new Date(Number(ms) + 8 * 3600 * 1000);
  const sec = String(d.getUTCSeconds()).padStart(2, '0');
  return s.slice(11) + ':' + sec;
}

function kbps(v) {
  if (v === null || v === undefined) return '—';
  return v >= 1000 ? (v / 1000).toFixed(1) + ' Mbps' : v + ' kbps';
}

/**
 * ctx: { hearingId, control(command), state() → {hs, roster, help, myRole, myParticipantId,
 *        qualityBy: Map, hands}, toast(text) }
 */
export function createChairConsole(ctx) {
  const el = h('aside', { class: 'chair-console', id: 'chair-console', 'aria-labelledby': 'chair-title' });
  let openForm = null; // { key, value } of the inline form being filled in
  let exhibits = [];
  let exhibitsError = '';
  let exhibitsLoaded = false;
  let docs = null; // the documents panel (documents.js), made on the first render and kept

  function send(command) {
    if (!ctx.control(command)) ctx.toast(t('chair.not_connected'));
  }

  // ---------------------------------------------------------------- inline forms

  /** A button that opens an inline form; the form sends on submit. */
  function formButton({ key, text, cls, field = 'reason', fieldLabel, required = true, submitText, danger, onSubmit, extra }) {
    const isOpen = openForm && openForm.key === key;
    const btn = h('button', {
      type: 'button', class: 'btn btn-small ' + (danger ? 'btn-danger ' : 'btn-secondary ') + (cls || ''),
      'aria-expanded': isOpen ? 'true' : 'false',
      onclick: () => {
        openForm = isOpen ? null : { key, value: '' };
        render();
        if (openForm) requestAnimationFrame(() => { const i = el.querySelector(`form[data-form="${CSS.escape(key)}"] input`); if (i) i.focus(); });
      },
    }, text);
    if (!isOpen) return { btn, form: null };
    const input = h('input', {
      type: 'text', name: field, maxlength: 500, value: openForm.value || '', required,
      placeholder: fieldLabel, 'aria-label': fieldLabel,
      oninput: (ev) => { if (openForm && openForm.key === key) openForm.value = ev.target.value; },
    });
    const err = h('p', { class: 'chair-form-error', hidden: true, role: 'alert' });
    const form = h('form', { class: 'chair-form', dataset: { form: key } },
      extra || null,
      input,
      err,
      h('div', { class: 'chair-form-actions' },
        h('button', { type: 'submit', class: 'btn btn-small ' + (danger ? 'btn-danger-solid' : 'btn-primary') + ' chair-form-submit' }, submitText || t('common.submit')),
        h('button', { type: 'button', class: 'btn btn-small btn-ghost chair-form-cancel', onclick: () => { openForm = null; render(); } }, t('common.cancel'))));
    form.noValidate = true; // our own message, not the browser's bubble
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = input.value.trim();
      if (required && !v) {
        err.textContent = t('chair.reason_required');
        err.hidden = false;
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      openForm = null;
      onSubmit(v, form);
      render();
    });
    return { btn, form };
  }

  function button(text, cls, onclick, opts = {}) {
    return h('button', { type: 'button', class: 'btn btn-small ' + (opts.primary ? 'btn-primary ' : opts.danger ? 'btn-danger ' : 'btn-secondary ') + cls, onclick, disabled: !!opts.disabled, title: opts.title || null }, text);
  }

  // ---------------------------------------------------------------- sections

  function hearingSection(st) {
    const hs = st.hs || {};
    const role = st.myRole;
    const phase = hs.phase || 'check_attendance';
    const idx = PHASES.indexOf(phase);
    const next = idx >= 0 ? PHASES[idx + 1] : null;
    const parts = [];

    parts.push(h('div', { class: 'chair-phase' },
      h('span', { class: 'chair-k' }, t('chair.current_phase')),
      h('strong', { class: 'chair-phase-label', dataset: { phase } }, hs.phase_label || phaseLabel(phase)),
      hs.phase_since ? h('span', { class: 'muted small' }, t('chair.since', { time: clock(hs.phase_since) })) : null));

    if (may(role, 'phase') && !hs.ended && phase !== 'closed') {
      if (next && next !== 'closed') {
        parts.push(button(t('chair.next_phase', { phase: phaseLabel(next) }), 'btn-next-phase', () => send({ do: 'phase', phase: next }), { primary: true }));
      } else if (next === 'closed') {
        const f = formButton({ key: 'end-next', text: t('chair.next_phase', { phase: phaseLabel('closed') }), cls: 'btn-next-phase btn-end', required: false, fieldLabel: t('chair.end_reason'), submitText: t('chair.end_confirm'), danger: true, onSubmit: (v) => send(v ? { do: 'end', reason: v } : { do: 'end' }) });
        parts.push(f.btn, f.form);
      }
      // Go back or skip: a phase and a reason.
      const sel = h('select', { name: 'phase', 'aria-label': t('chair.phase_select') },
        PHASES.filter((p) => p !== phase).map((p) => h('option', { value: p, selected: openForm && openForm.phase === p }, phaseLabel(p))));
      sel.addEventListener('change', () => { if (openForm) openForm.phase = sel.value; });
      const f = formButton({
        key: 'phase-jump', text: t('chair.phase_jump'), cls: 'btn-phase-jump', fieldLabel: t('chair.phase_reason'),
        submitText: t('chair.phase_set'), extra: sel,
        onSubmit: (v, form) => {
          const target = form.querySelector('select[name=phase]').value;
          send({ do: 'phase', phase: target, reason: v });
        },
      });
      if (f.form && openForm && !openForm.phase) openForm.phase = sel.value;
      parts.push(f.btn, f.form);
    }

    const row = [];
    if (may(role, 'pause') && !hs.ended) {
      if (hs.paused) row.push(button(t('chair.resume'), 'btn-resume', () => send({ do: 'resume' }), { primary: true }));
      else {
        const f = formButton({ key: 'pause', text: t('chair.pause'), cls: 'btn-pause', fieldLabel: t('chair.pause_reason'), submitText: t('chair.pause'), onSubmit: (v) => send({ do: 'pause', reason: v }) });
        row.push(f.btn);
        if (f.form) row.push(f.form);
      }
    }
    if (may(role, 'lock') && !hs.ended) {
      row.push(button(t(hs.locked ? 'chair.unlock' : 'chair.lock'), 'btn-lock', () => send({ do: 'lock', locked: !hs.locked }), { title: t(hs.locked ? 'chair.locked_hint' : 'chair.lock_hint') }));
    }
    if (may(role, 'mute_parties') && !hs.ended) {
      row.push(button(t('chair.mute_parties'), 'btn-mute-parties', () => send({ do: 'mute_parties', kind: 'audio' })));
    }
    if (row.length) parts.push(h('div', { class: 'chair-row' }, row));

    if ((may(role, 'caucus_open')) && !hs.ended) {
      if (hs.caucus) {
        parts.push(h('div', { class: 'chair-caucus' },
          h('span', null, t('chair.caucus_with', { side: label('side', hs.caucus.side) })),
          button(t('chair.caucus_close'), 'btn-caucus-close', () => send({ do: 'caucus_close' }), { primary: true })));
      } else {
        const side = h('select', { name: 'side', 'aria-label': t('chair.caucus_side') },
          h('option', { value: 'applicant' }, t('chair.side_applicant')),
          h('option', { value: 'respondent' }, t('chair.side_respondent')));
        parts.push(h('div', { class: 'chair-caucus' },
          side,
          button(t('chair.caucus_open'), 'btn-caucus-open', () => send({ do: 'caucus_open', side: side.value }))));
      }
    }

    if (may(role, 'end') && !hs.ended && next !== 'closed') {
      const f = formButton({ key: 'end', text: t('chair.end'), cls: 'btn-end', required: false, fieldLabel: t('chair.end_reason'), submitText: t('chair.end_confirm'), danger: true, onSubmit: (v) => send(v ? { do: 'end', reason: v } : { do: 'end' }) });
      parts.push(h('div', { class: 'chair-row' }, f.btn), f.form);
    }

    const flags = [];
    if (hs.paused) flags.push(h('span', { class: 'chip chip-warn' }, t('room.paused')));
    if (hs.locked) flags.push(h('span', { class: 'chip' }, t('room.locked')));
    if (hs.caucus) flags.push(h('span', { class: 'chip' }, t('room.caucus_on')));
    if (hs.screen_share) flags.push(h('span', { class: 'chip chip-screen', dataset: { seat: hs.screen_share.seat || '' } }, t('chair.screen_share', { name: hs.screen_share.name || '—' })));
    return section('hearing', t('chair.hearing'), [flags.length ? h('div', { class: 'chair-flags' }, flags) : null, parts]);
  }

  function identityBlock(s) {
    const rows = [];
    const id = s.identity;
    if (id) {
      rows.push([t('chair.id_name'), id.name || '—']);
      rows.push([t('chair.id_number'), id.id_masked || '—']);
      rows.push([t('chair.id_phone'), id.phone_masked || '—']);
      rows.push([t('chair.id_verified'), id.verified_at ? fmtDateTime(id.verified_at) : '—']);
    }
    const dc = s.device_check;
    if (dc) {
      rows.push([t('chair.device'), h('span', { class: 'verdict-chip', dataset: { verdict: dc.verdict } }, t('check.verdict_short.' + dc.verdict))]);
      rows.push([t('chair.device_detail'), [
        t(dc.camera ? 'chair.cam_ok' : 'chair.cam_no'), t(dc.microphone ? 'chair.mic_ok' : 'chair.mic_no'),
        (dc.rtt_ms !== undefined ? dc.rtt_ms + ' ms' : null), '↓' + kbps(dc.down_kbps), '↑' + kbps(dc.up_kbps),
      ].filter(Boolean).join(' · ')]);
    } else {
      rows.push([t('chair.device'), t('chair.device_none')]);
    }
    rows.push([t('chair.discipline'), s.discipline_ack_at ? fmtDateTime(s.discipline_ack_at) : t('chair.not_yet')]);
    return h('dl', { class: 'chair-dl' }, rows.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v))));
  }

  function waitingSection(st) {
    const role = st.myRole;
    const list = (st.roster || []).filter((s) => s.presence === 'waiting');
    const items = list.map((s) => {
      const key = s.seat;
      const btns = [];
      const forms = [];
      const witness = s.role === 'witness';
      if (witness && may(role, 'call_witness')) btns.push(button(t('chair.call_witness'), 'btn-call-witness', () => send({ do: 'call_witness', seat: s.seat }), { primary: true }));
      if (!witness && may(role, 'admit')) btns.push(button(t('chair.admit'), 'btn-admit', () => send({ do: 'admit', seat: s.seat }), { primary: true }));
      if (may(role, 'deny')) {
        const f = formButton({ key: 'deny:' + key, text: t('chair.deny'), cls: 'btn-deny', fieldLabel: t('chair.deny_reason'), submitText: t('chair.deny'), danger: true, onSubmit: (v) => send({ do: 'deny', seat: s.seat, reason: v }) });
        btns.push(f.btn);
        if (f.form) forms.push(f.form);
      }
      if (may(role, 'reverify')) btns.push(button(t('chair.reverify'), 'btn-reverify', () => send({ do: 'reverify', seat: s.seat })));
      return h('li', { class: 'chair-entry waiting-entry', dataset: { seat: s.seat, role: s.role } },
        h('div', { class: 'chair-entry-head' },
          h('strong', null, label('role', s.role) + ' · ' + (s.name || '—')),
          h('span', { class: 'muted small' }, t('chair.waiting_since', { time: clock(s.presence_since) }))),
        identityBlock(s),
        btns.length ? h('div', { class: 'chair-row' }, btns) : null,
        forms);
    });
    return section('waiting', t('chair.waiting', { n: list.length }),
      items.length ? h('ul', { class: 'chair-list' }, items) : h('p', { class: 'muted small chair-empty' }, t('chair.waiting_empty')));
  }

  function participantsSection(st) {
    const role = st.myRole;
    const list = (st.roster || []).filter((s) => s.presence !== 'waiting');
    const order = (r) => { const i = ['presiding_arbitrator', 'arbitrator', 'mediator', 'clerk', 'applicant', 'respondent', 'agent', 'witness', 'observer'].indexOf(r); return i < 0 ? 99 : i; };
    list.sort((a, b) => order(a.role) - order(b.role));
    const items = list.map((s) => {
      const isStaff = STAFF_ROLES.includes(s.role);
      const me = st.mySeat && s.seat === st.mySeat;
      const live = s.presence === 'present' || s.presence === 'reconnecting';
      const q = s.participant_id ? st.qualityBy.get(s.participant_id) : null;
      const btns = [];
      const forms = [];
      if (!isStaff && !me && live) {
        if (may(role, 'mute')) {
          btns.push(button(t(s.chair_muted_audio ? 'chair.unmute_audio' : 'chair.mute_audio'), 'btn-mute-audio', () => send({ do: 'mute', seat: s.seat, kind: 'audio', muted: !s.chair_muted_audio })));
          btns.push(button(t(s.chair_muted_video ? 'chair.unmute_video' : 'chair.mute_video'), 'btn-mute-video', () => send({ do: 'mute', seat: s.seat, kind: 'video', muted: !s.chair_muted_video })));
        }
        if (s.role === 'witness' && may(role, 'dismiss_witness')) btns.push(button(t('chair.dismiss_witness'), 'btn-dismiss-witness', () => send({ do: 'dismiss_witness', seat: s.seat })));
        if (may(role, 'warn')) {
          const f = formButton({ key: 'warn:' + s.seat, text: t('chair.warn'), cls: 'btn-warn', field: 'note', fieldLabel: t('chair.warn_note'), submitText: t('chair.warn'), onSubmit: (v) => send({ do: 'warn', seat: s.seat, note: v }) });
          btns.push(f.btn);
          if (f.form) forms.push(f.form);
        }
        if (may(role, 'remove')) {
          const f = formButton({ key: 'remove:' + s.seat, text: t('chair.remove'), cls: 'btn-remove', fieldLabel: t('chair.remove_reason'), submitText: t('chair.remove'), danger: true, onSubmit: (v) => send({ do: 'remove', seat: s.seat, reason: v }) });
          btns.push(f.btn);
          if (f.form) forms.push(f.form);
        }
      }
      const flags = [];
      if (s.hand_raised) flags.push(h('span', { class: 'chip chip-hand', title: t('room.hand_raised') }, '✋ ' + t('room.hand_raised')));
      if (s.chair_muted_audio) flags.push(h('span', { class: 'chip chip-warn' }, t('chair.muted_audio_flag')));
      if (s.chair_muted_video) flags.push(h('span', { class: 'chip chip-warn' }, t('chair.muted_video_flag')));
      if (s.warnings) flags.push(h('span', { class: 'chip chip-warn' }, t('chair.warnings', { n: Array.isArray(s.warnings) ? s.warnings.length : s.warnings })));
      return h('li', { class: 'chair-entry participant-entry', dataset: { seat: s.seat, role: s.role, presence: s.presence, participantId: s.participant_id || '', hand: s.hand_raised ? '1' : '0' } },
        h('div', { class: 'chair-entry-head' },
          h('strong', null, label('role', s.role) + ' · ' + (s.name || '—') + (me ? t('chair.me') : '')),
          h('span', { class: 'presence', dataset: { presence: s.presence } }, t('presence.' + s.presence) + ' ' + clock(s.presence_since)),
          h('span', { class: 'qdot', dataset: { level: q || 'unknown' }, title: t('room.quality') + ' ' + t('room.quality.' + (q || 'unknown')) }, t('room.quality.' + (q || 'unknown')))),
        flags.length ? h('div', { class: 'chair-flags' }, flags) : null,
        btns.length ? h('div', { class: 'chair-row' }, btns) : null,
        forms);
    });
    return section('participants', t('chair.participants', { n: list.length }),
      items.length ? h('ul', { class: 'chair-list' }, items) : h('p', { class: 'muted small chair-empty' }, t('chair.none')));
  }

  // ---------------------------------------------------------------- recording storage

  let storageNotice = null; // the newest notice given to storage()

  /** The persistent banner: storage low (about N minutes left), nearly full, or paused. */
  function storageBanner(st) {
    const n = storageNotice;
    if (!n || n.kind === 'ok') return null;
    const severe = n.kind === 'paused' || n.kind === 'critical';
    return h('div', {
      class: 'chair-storage', role: 'alert', dataset: { kind: n.kind },
      style: 'margin:.5rem 0;padding:.5rem .7rem;border-radius:6px;border:1px solid;' + (severe
        ? 'background:var(--danger-soft,#fdecea);color:var(--danger,#b42318);border-color:#f3b8b2'
        : 'background:var(--warn-soft,#fef6e7);color:var(--warn,#93370d);border-color:#efd08c'),
    },
    h('strong', { class: 'chair-storage-title', style: 'display:block' }, t(severe ? 'chair.storage_severe' : 'chair.storage_low')),
    h('span', { class: 'chair-storage-text' }, pickMessage(n.text || '')),
    h('span', { class: 'muted small', style: 'display:block' }, t('chair.storage_hint') + ' · ' + clock(n.at)));
  }

  function storage(notice) {
    if (!notice) return;
    storageNotice = { kind: notice.kind || 'low', text: notice.text || '', at: notice.at || Date.now() };
    render();
  }

  function helpSection(st) {
    const list = st.help || [];
    return section('help', t('chair.help', { n: list.length }),
      list.length
        ? h('ul', { class: 'chair-list help-list' }, [...list].reverse().map((m) => h('li', { class: 'chair-entry help-entry', dataset: { seat: m.seat || '' } },
          h('div', { class: 'chair-entry-head' }, h('strong', null, m.name || m.seat || '—'), h('span', { class: 'muted small' }, clock(m.at))),
          h('p', { class: 'help-text' }, m.text || ''))))
        : h('p', { class: 'muted small chair-empty' }, t('chair.help_empty')));
  }

  function exhibitsSection(st) {
    const hs = st.hs || {};
    const role = st.myRole;
    const shown = hs.exhibit ? String(hs.exhibit.id) : null;
    const rows = exhibits.map((x) => {
      const isShown = shown !== null && String(x.id) === shown;
      return h('li', { class: 'chair-entry exhibit-entry', dataset: { exhibitId: String(x.id), shown: isShown ? '1' : '0' } },
        h('div', { class: 'chair-entry-head' },
          h('a', { href: x.url || ('/api/exhibits/' + encodeURIComponent(x.id)), target: '_blank', rel: 'noopener' }, x.name || ('#' + x.id)),
          h('span', { class: 'muted small' }, [x.mime === 'application/pdf' ? 'PDF' : t('chair.image'), x.status ? t('exhibit.status.' + x.status) : null, isShown ? t('chair.exhibit_shown') : null].filter(Boolean).join(' · '))),
        may(role, 'show_exhibit') ? h('div', { class: 'chair-row' },
          isShown
            ? button(t('chair.exhibit_hide'), 'btn-hide-exhibit', () => send({ do: 'hide_exhibit' }))
            : button(t('chair.exhibit_show'), 'btn-show-exhibit', () => send({ do: 'show_exhibit', exhibit_id: x.id }), { primary: true })) : null);
    });
    return section('exhibits', t('chair.exhibits', { n: exhibits.length }), [
      h('div', { class: 'chair-row' },
        button(t('chair.refresh'), 'btn-refresh-exhibits', () => loadExhibits()),
        shown && may(role, 'hide_exhibit') ? button(t('chair.exhibit_hide'), 'btn-hide-exhibit-top', () => send({ do: 'hide_exhibit' })) : null),
      exhibitsError ? h('p', { class: 'chair-form-error' }, exhibitsError) : null,
      rows.length ? h('ul', { class: 'chair-list' }, rows) : h('p', { class: 'muted small chair-empty' }, exhibitsLoaded ? t('chair.exhibits_empty') : t('common.loading')),
    ]);
  }

  const collapsed = new Set();
  function section(key, title, body) {
    const open = !collapsed.has(key);
    return h('section', { class: 'chair-section', dataset: { section: key } },
      h('h2', { class: 'chair-h' },
        h('button', { type: 'button', class: 'chair-toggle', 'aria-expanded': open ? 'true' : 'false', onclick: () => { if (open) collapsed.add(key); else collapsed.delete(key); render(); } }, title)),
      open ? h('div', { class: 'chair-body' }, body) : null);
  }

  // ---------------------------------------------------------------- render

  function render() {
    const st = ctx.state();
    // Keep focus in an inline form across re-renders (roster updates arrive any time).
    const active = document.activeElement;
    const focusKey = active && el.contains(active) && active.closest('form[data-form]') ? active.closest('form[data-form]').dataset.form : null;
    const scroll = el.scrollTop;
    const docsFocus = docs ? docs.saveFocus() : null;
    replace(el,
      h('div', { class: 'chair-head' },
        h('h2', { id: 'chair-title', class: 'chair-title' }, t('chair.title')),
        h('span', { class: 'muted small' }, label('role', st.myRole))),
      storageBanner(st),
      hearingSection(st),
      waitingSection(st),
      participantsSection(st),
      helpSection(st),
      exhibitsSection(st),
      docsSection());
    el.scrollTop = scroll;
    if (docs) docs.restoreFocus(docsFocus);
    if (focusKey) {
      const i = el.querySelector(`form[data-form="${CSS.escape(focusKey)}"] input`);
      if (i) { i.focus(); try { i.setSelectionRange(i.value.length, i.value.length); } catch (_) { /* ignore */ } }
    }
  }

  async function loadExhibits() {
    try {
      const r = await api('GET', '/api/hearings/' + encodeURIComponent(ctx.hearingId) + '/exhibits');
      exhibits = Array.isArray(r) ? r : (r && (r.items || r.exhibits)) || [];
      exhibitsError = '';
    } catch (err) {
      exhibitsError = errorText(err);
    }
    exhibitsLoaded = true;
    render();
  }

  /** Quality changes often: update the dot in place rather than re-rendering. */
  function quality(pid, level) {
    for (const li of el.querySelectorAll(`.participant-entry[data-participant-id="${CSS.escape(String(pid))}"] .qdot`)) {
      li.dataset.level = level;
      li.textContent = t('room.quality.' + level);
    }
  }

  /** 文书签署: the case's documents; push to phones, seal, sign (staff only render this). */
  function docsSection() {
    if (!docs) {
      docs = createDocumentsPanel({
        hearingId: ctx.hearingId, mode: 'chair', toast: ctx.toast,
        canDraft: () => ['presiding_arbitrator', 'arbitrator', 'clerk', 'mediator'].includes(ctx.state().myRole),
      });
    }
    return section('documents', t('docs.title'), docs.el);
  }

  return { el, render, loadExhibits, quality, storage, documentUpdate: (update) => { if (docs) docs.onUpdate(update); } };
}
