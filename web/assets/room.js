// Hearing room: /room/{hearing_id}. One WebSocket for signaling (docs/signaling.md),
// one RTCPeerConnection to the SFU. We publish camera + microphone with addTrack and
// offer; the server answers, then offers again whenever other participants' tracks are
// added (each on its own send-only m-line, stream id = publisher's participant id).
//
// Phone first: remote tiles in a grid (presiding arbitrator first), a small mirrored
// self-view, and a large bottom bar (microphone, camera, leave). If the socket drops we
// reconnect with a new socket, join again and build a new peer connection; the server
// keeps the seat for 60 s.
//
// For tests and support, window.__yt exposes the state, our participant id, the codec
// requested (?codec=h264) and the codecs actually sent/received.

import { t, label, onLangChange, pickMessage, joinList } from './i18n.js';
import { h, replace, api, ApiError, errorText, langButton } from './common.js';

const app = document.getElementById('app');
const params = new URLSearchParams(location.search);
const WANT_CODEC = /^h\.?264$/i.test(params.get('codec') || '') ? 'h264' : 'default';

const ROLE_ORDER = ['presiding_arbitrator', 'arbitrator', 'mediator', 'clerk', 'applicant', 'respondent', 'agent', 'witness', 'observer'];
const STATS_EVERY_MS = 2000;
const PING_EVERY_MS = 15000;
const PONG_TIMEOUT_MS = 40000;
const LEAVE_CONFIRM_MS = 4000;

const S = {
  hearingId: null,
  hearing: null, // GET /api/hearings/{id}, when readable
  phase: 'connecting', // connecting | joined | reconnecting | left | denied | notfound | taken | unsupported
  participantId: null,
  participants: new Map(), // participant id → { info, tile }
  joinSeq: 0,
  localStream: null,
  mediaMode: 'none', // full | audio | none
  micOn: true,
  camOn: true,
  ws: null,
  wsGen: 0,
  pc: null,
  sig: Promise.resolve(), // serialises signaling steps
  offerSent: false,
  pendingCandidates: [],
  attempts: 0,
  everJoined: false,
  lastPong: 0,
  quality: 'unknown',
  prevLoss: new Map(),
  trackOwner: new Map(), // remote track id → participant id
  notices: [], // i18n keys of lasting notices (camera denied, codec)
  soundBlocked: false,
  sendCodec: null,
  recvCodecs: {},
};

const ui = {}; // persistent room elements
let pingTimer = null;
let statsTimer = null;
let reconnectTimer = null;
let toastTimer = null;

// ------------------------------------------------------------------ test / support hook

const hook = {};
Object.defineProperty(hook, 'pc', { get: () => S.pc, enumerable: false });
Object.defineProperty(hook, 'localStream', { get: () => S.localStream, enumerable: false });
/** Simulate a network drop (support and tests): close the socket without `leave`. */
hook.dropSocket = () => { if (S.ws) S.ws.close(); };
window.__yt = hook;

function expose() {
  hook.state = S.phase;
  hook.participantId = S.participantId;
  hook.codec = WANT_CODEC;
  hook.sendCodec = S.sendCodec;
  hook.recvCodecs = { ...S.recvCodecs };
  hook.mediaMode = S.mediaMode;
  hook.quality = S.quality;
  hook.remote = [...S.participants.keys()];
  hook.codecUnavailable = S.notices.includes('room.codec_unavailable');
}

// ------------------------------------------------------------------ icons (static SVG)

const ICONS = {
  mic: ['M12 2a3 3 0 0 0-3 3v7a3 3 0 0 0 6 0V5a3 3 0 0 0-3-3z', 'M19 10v2a7 7 0 0 1-14 0v-2', 'M12 19v4', 'M8 23h8'],
  micOff: ['M1 1l22 22', 'M9 9v3a3 3 0 0 0 5.12 2.12M15 9.34V4a3 3 0 0 0-5.94-.6', 'M17 16.95A7 7 0 0 1 5 12v-2m14 0v2a7 7 0 0 1-.11 1.23', 'M12 19v4', 'M8 23h8'],
  cam: ['M23 7l-7 5 7 5V7z', 'M3 5h11a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2z'],
  camOff: ['M16 16v1a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2h2m5.66 0H14a2 2 0 0 1 2 2v3.34l1 1L23 7v10', 'M1 1l22 22'],
  leave: ['M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4', 'M16 17l5-5-5-5', 'M21 12H9'],
};

function icon(name, cls) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', 'icon' + (cls ? ' ' + cls : ''));
  for (const d of ICONS[name]) {
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', d);
    svg.appendChild(p);
  }
  return svg;
}

// ------------------------------------------------------------------ small helpers

function roleRank(role) {
  const i = ROLE_ORDER.indexOf(role);
  return i < 0 ? ROLE_ORDER.length : i;
}

function tileLabel(info) {
  return label('role', info.role) + ' · ' + (info.name || '—');
}

function initial(name) {
  const s = String(name || '').trim();
  return s ? Array.from(s)[0] : '?';
}

function send(msg) {
  const ws = S.ws;
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify(msg));
    return true;
  }
  return false;
}

function log(...args) {
  // Kept short: shown in the browser console for support staff.
  console.info('[yunting room]', ...args);
}

// ------------------------------------------------------------------ chrome / screens

function renderChrome() {
  document.title = t('app.name') + ' · ' + t('room.title');
  const brand = document.getElementById('brand-text');
  if (brand) brand.textContent = t('app.name') + ' · ' + t('room.title');
  const actions = document.getElementById('topbar-actions');
  if (actions) replace(actions, langButton());
}

/** A full-page message (denied, left, taken over…), with an optional action. */
function renderScreen(kind, title, message, action) {
  stopTimers();
  document.body.classList.remove('in-room');
  replace(app, h('section', { class: 'card party-card room-screen room-screen-' + kind, 'aria-labelledby': 'screen-title', dataset: { screen: kind } },
    h('div', { class: 'error-icon' + (kind === 'left' ? ' ok-icon' : ''), 'aria-hidden': 'true' }, kind === 'left' ? '✓' : '!'),
    h('h1', { id: 'screen-title' }, title),
    h('p', { class: 'lead' }, message),
    kind === 'left' || kind === 'taken' ? recordingLine() : null,
    action || null,
    h('p', { class: 'muted small' }, t('party.contact'))));
  expose();
}

function screenFor(phase) {
  switch (phase) {
    case 'denied':
      return renderScreen('denied', t('room.denied_title'), t('room.denied_msg'),
        h('a', { class: 'btn btn-secondary btn-block', href: '/' }, t('room.to_console')));
    case 'notfound':
      return renderScreen('notfound', t('room.not_found_title'), t('room.not_found_msg'));
    case 'unsupported':
      return renderScreen('unsupported', t('room.error_title'), t('room.unsupported'));
    case 'left':
      return renderScreen('left', t('room.left_title'), t('room.left_msg'),
        h('button', { type: 'button', class: 'btn btn-primary btn-block', onclick: () => location.reload() }, t('room.rejoin')));
    case 'taken':
      return renderScreen('taken', t('room.taken_title'), t('room.taken_msg'),
        h('button', { type: 'button', class: 'btn btn-primary btn-block', onclick: () => location.reload() }, t('room.take_back')));
    default:
      return null;
  }
}

function recordingLine() {
  return h('p', { class: 'rec-notice', role: 'note' },
    h('span', { class: 'rec-dot', 'aria-hidden': 'true' }),
    h('span', { lang: 'zh-CN' }, t('party.recording_notice')));
}

/** The room itself: built once, then updated in place. */
function renderRoom() {
  document.body.classList.add('in-room');
  ui.caseLine = h('p', { class: 'room-case' });
  ui.quality = h('p', { class: 'quality', dataset: { level: 'unknown' }, role: 'status' },
    h('span', { class: 'quality-bars', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
    h('span', { class: 'quality-text' }));
  ui.status = h('div', { class: 'room-status', role: 'status', 'aria-live': 'polite' });
  ui.notice = h('div', { class: 'room-notices' });
  ui.empty = h('p', { class: 'tiles-empty' });
  ui.tiles = h('div', { class: 'tiles', id: 'tiles', dataset: { count: '0' } }, ui.empty);
  ui.localVideo = h('video', { class: 'local-video', playsinline: true, autoplay: true, muted: true });
  ui.localVideo.muted = true;
  ui.localLabel = h('span', { class: 'local-label' });
  ui.local = h('div', { class: 'local-preview', hidden: true }, ui.localVideo, ui.localLabel);
  ui.micBtn = h('button', { type: 'button', class: 'ctl ctl-mic', onclick: toggleMic });
  ui.camBtn = h('button', { type: 'button', class: 'ctl ctl-cam', onclick: toggleCam });
  ui.leaveBtn = h('button', { type: 'button', class: 'ctl ctl-leave', onclick: onLeaveTap });
  ui.toast = h('div', { class: 'room-toast', role: 'status', 'aria-live': 'polite', hidden: true });
  ui.controls = h('nav', { class: 'controls', 'aria-label': t('room.title') },
    h('div', { class: 'controls-inner' }, ui.local, ui.micBtn, ui.camBtn, ui.leaveBtn));

  replace(app, h('section', { class: 'room', 'aria-labelledby': 'room-title' },
    h('div', { class: 'room-head' },
      h('h1', { id: 'room-title', class: 'room-title' }, ui.caseLine),
      h('div', { class: 'room-sub' }, recordingLine(), ui.quality)),
    ui.status,
    ui.notice,
    ui.tiles,
    ui.toast,
    ui.controls));
  relabel();
}

function relabel() {
  renderChrome();
  if (!ui.tiles || !ui.tiles.isConnected) {
    screenFor(S.phase);
    return;
  }
  const nums = S.hearing && Array.isArray(S.hearing.case_numbers) ? S.hearing.case_numbers : [];
  ui.caseLine.textContent = nums.length ? joinList(nums) : t('room.hearing') + ' ' + S.hearingId;
  const rec = app.querySelector('.room-head .rec-notice span[lang]');
  if (rec) rec.textContent = t('party.recording_notice');
  ui.localLabel.textContent = t('room.you');
  ui.controls.setAttribute('aria-label', t('room.title'));
  updateControls();
  updateQuality();
  updateStatus();
  updateNotices();
  for (const p of S.participants.values()) updateTile(p);
  updateTileCount();
}

// ------------------------------------------------------------------ status, notices, toast

function updateStatus() {
  if (!ui.status) return;
  const parts = [];
  let busy = false;
  if (S.phase === 'connecting') { parts.push(h('span', null, t('room.connecting'))); busy = true; }
  if (S.phase === 'media') { parts.push(h('span', null, t('room.media'))); busy = true; }
  if (S.phase === 'reconnecting') {
    parts.push(h('span', null, t('room.reconnecting')));
    parts.push(h('span', { class: 'muted-light' }, t('room.reconnecting_hint')));
    busy = true;
  }
  if (S.soundBlocked) {
    parts.push(h('button', { type: 'button', class: 'btn btn-primary sound-btn', onclick: enableSound }, t('room.enable_sound')));
  }
  replace(ui.status, busy ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null, parts);
  ui.status.hidden = !parts.length;
  ui.status.dataset.phase = S.phase;
  const stage = app.querySelector('.room');
  if (stage) stage.dataset.phase = S.phase;
}

function updateNotices() {
  if (!ui.notice) return;
  replace(ui.notice, S.notices.map((k) => h('p', { class: 'msg msg-warn', role: 'note' }, t(k))));
  ui.notice.hidden = !S.notices.length;
}

function addNotice(key) {
  if (!S.notices.includes(key)) S.notices.push(key);
  updateNotices();
  expose();
}

function toast(text) {
  if (!ui.toast) return;
  ui.toast.textContent = text;
  ui.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { ui.toast.hidden = true; }, 3000);
}

function setPhase(phase) {
  S.phase = phase;
  document.body.dataset.phase = phase;
  if (['left', 'denied', 'notfound', 'taken', 'unsupported'].includes(phase)) {
    screenFor(phase);
  } else {
    updateStatus();
    updateTileCount();
  }
  expose();
}

// ------------------------------------------------------------------ controls

function updateControls() {
  const a = S.localStream ? S.localStream.getAudioTracks()[0] : null;
  const v = S.localStream ? S.localStream.getVideoTracks()[0] : null;
  const set = (btn, has, on, iconOn, iconOff, labelKey, onKey, offKey) => {
    replace(btn, icon(has && on ? iconOn : iconOff), h('span', { class: 'ctl-text' }, t(labelKey)));
    btn.disabled = !has;
    btn.setAttribute('aria-pressed', has && on ? 'true' : 'false');
    btn.setAttribute('aria-label', t(has && on ? onKey : offKey));
    btn.title = t(has && on ? onKey : offKey);
    btn.dataset.on = has && on ? '1' : '0';
  };
  set(ui.micBtn, !!a, S.micOn, 'mic', 'micOff', 'room.mic', 'room.mic_on', 'room.mic_off');
  set(ui.camBtn, !!v, S.camOn, 'cam', 'camOff', 'room.cam', 'room.cam_on', 'room.cam_off');
  const confirming = ui.leaveBtn.dataset.confirm === '1';
  replace(ui.leaveBtn, icon('leave'), h('span', { class: 'ctl-text' }, t(confirming ? 'room.leave_confirm' : 'room.leave')));
  ui.leaveBtn.setAttribute('aria-label', t(confirming ? 'room.leave_confirm' : 'room.leave'));
  ui.local.hidden = !(v && S.camOn);
  ui.local.classList.toggle('audio-only', !v);
}

function toggleMic() {
  const a = S.localStream && S.localStream.getAudioTracks()[0];
  if (!a) return;
  S.micOn = !S.micOn;
  a.enabled = S.micOn;
  send({ type: 'mute', kind: 'audio', muted: !S.micOn });
  updateControls();
}

function toggleCam() {
  const v = S.localStream && S.localStream.getVideoTracks()[0];
  if (!v) return;
  S.camOn = !S.camOn;
  v.enabled = S.camOn;
  send({ type: 'mute', kind: 'video', muted: !S.camOn });
  updateControls();
}

let leaveTimer = null;
function onLeaveTap() {
  if (ui.leaveBtn.dataset.confirm !== '1') {
    ui.leaveBtn.dataset.confirm = '1';
    updateControls();
    clearTimeout(leaveTimer);
    leaveTimer = setTimeout(() => { delete ui.leaveBtn.dataset.confirm; if (ui.leaveBtn.isConnected) updateControls(); }, LEAVE_CONFIRM_MS);
    return;
  }
  clearTimeout(leaveTimer);
  leave();
}

function leave() {
  const ws = S.ws;
  S.phase = 'left'; // before anything closes, so no reconnect starts
  send({ type: 'leave' });
  S.ws = null;
  closePc();
  stopLocal();
  if (ws) setTimeout(() => { try { ws.close(); } catch (_) { /* ignore */ } }, 500);
  setPhase('left');
}

function stopLocal() {
  if (S.localStream) for (const tr of S.localStream.getTracks()) tr.stop();
}

function enableSound() {
  S.soundBlocked = false;
  for (const p of S.participants.values()) {
    const a = p.tile && p.tile.audio;
    if (a && a.srcObject) a.play().catch(() => { S.soundBlocked = true; updateStatus(); });
  }
  updateStatus();
}

// ------------------------------------------------------------------ tiles

function makeTile(info) {
  const video = h('video', { class: 'tile-video', playsinline: true, autoplay: true, muted: true });
  video.muted = true; // sound goes through the <audio> element
  const audio = h('audio', { autoplay: true });
  const tile = h('div', { class: 'tile', dataset: { participantId: info.participant_id, role: info.role } },
    video,
    h('div', { class: 'tile-avatar', 'aria-hidden': 'true' }, h('span', null, initial(info.name))),
    h('div', { class: 'tile-bar' },
      h('span', { class: 'tile-label' }),
      h('span', { class: 'tile-icons' })),
    h('span', { class: 'tile-badge', hidden: true }),
    audio);
  tile.video = video;
  tile.audio = audio;
  const live = () => {
    if (video.videoWidth > 0) tile.dataset.live = '1';
  };
  video.addEventListener('resize', live);
  video.addEventListener('loadeddata', live);
  video.addEventListener('playing', live);
  return tile;
}

function updateTile(p) {
  const { info, tile } = p;
  tile.dataset.role = info.role;
  tile.dataset.audioMuted = info.audio_muted ? '1' : '0';
  tile.dataset.videoMuted = info.video_muted ? '1' : '0';
  tile.dataset.reconnecting = info.reconnecting ? '1' : '0';
  tile.classList.toggle('chair', info.role === 'presiding_arbitrator');
  const lab = tile.querySelector('.tile-label');
  lab.textContent = tileLabel(info);
  tile.setAttribute('aria-label', tileLabel(info));
  const icons = tile.querySelector('.tile-icons');
  replace(icons,
    info.audio_muted ? h('span', { class: 'tile-icon', title: t(info.audio_by_chair ? 'room.muted_by_chair' : 'room.muted_audio') }, icon('micOff'), h('span', { class: 'sr-only' }, t('room.muted_audio'))) : null,
    info.video_muted ? h('span', { class: 'tile-icon', title: t('room.muted_video') }, icon('camOff'), h('span', { class: 'sr-only' }, t('room.muted_video'))) : null);
  const badge = tile.querySelector('.tile-badge');
  badge.textContent = t('room.tile_reconnecting');
  badge.hidden = !info.reconnecting;
  tile.querySelector('.tile-avatar span').textContent = initial(info.name);
}

function upsertParticipant(info) {
  if (!info || !info.participant_id || info.participant_id === S.participantId) return null;
  let p = S.participants.get(info.participant_id);
  if (!p) {
    p = { info: { ...info }, tile: makeTile(info), seq: ++S.joinSeq };
    S.participants.set(info.participant_id, p);
    // Insert in order: presiding arbitrator first, then by role, then by arrival.
    const rank = roleRank(info.role);
    const after = [...S.participants.values()]
      .filter((o) => o !== p && o.tile.isConnected)
      .sort((x, y) => roleRank(x.info.role) - roleRank(y.info.role) || x.seq - y.seq)
      .find((o) => roleRank(o.info.role) > rank);
    ui.tiles.insertBefore(p.tile, after ? after.tile : ui.empty);
  } else {
    Object.assign(p.info, info);
  }
  updateTile(p);
  updateTileCount();
  return p;
}

function removeParticipant(pid) {
  const p = S.participants.get(pid);
  if (!p) return;
  S.participants.delete(pid);
  for (const el of [p.tile.video, p.tile.audio]) {
    el.srcObject = null;
  }
  p.tile.remove();
  for (const [track, owner] of S.trackOwner) if (owner === pid) S.trackOwner.delete(track);
  delete S.recvCodecs[pid];
  updateTileCount();
  expose();
}

function updateTileCount() {
  if (!ui.tiles) return;
  const n = S.participants.size;
  ui.tiles.dataset.count = String(n);
  ui.empty.hidden = n > 0 || S.phase !== 'joined';
  ui.empty.textContent = t('room.waiting_others');
}

// ------------------------------------------------------------------ media

async function openMedia() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    S.mediaMode = 'none';
    addNotice('room.no_media');
    return;
  }
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  try {
    S.localStream = await navigator.mediaDevices.getUserMedia({
      audio,
      video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 } },
    });
    S.mediaMode = 'full';
  } catch (err) {
    log('camera+microphone refused:', err && err.name);
    try {
      S.localStream = await navigator.mediaDevices.getUserMedia({ audio });
      S.mediaMode = 'audio';
      addNotice('room.no_camera');
    } catch (err2) {
      log('microphone refused:', err2 && err2.name);
      S.localStream = null;
      S.mediaMode = 'none';
      addNotice('room.no_media');
    }
  }
  if (S.localStream) {
    const v = S.localStream.getVideoTracks();
    if (v.length) {
      ui.localVideo.srcObject = new MediaStream(v);
      ui.localVideo.play().catch(() => {});
    }
    // Someone unplugs the camera or revokes permission mid-hearing.
    for (const tr of S.localStream.getTracks()) {
      tr.addEventListener('ended', () => {
        if (S.phase === 'left') return;
        addNotice(tr.kind === 'video' ? 'room.no_camera' : 'room.no_media');
        updateControls();
      });
    }
  }
  updateControls();
  expose();
}

/** Restrict the video sender to H.264 (+ RTX) before the offer; false if not possible. */
function preferH264(pc) {
  const sendCaps = (window.RTCRtpSender && RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities('video')) || { codecs: [] };
  const recvCaps = (window.RTCRtpReceiver && RTCRtpReceiver.getCapabilities && RTCRtpReceiver.getCapabilities('video')) || { codecs: [] };
  const canSend = sendCaps.codecs.some((c) => /^video\/h264$/i.test(c.mimeType));
  const tr = pc.getTransceivers().find((x) => x.sender && x.sender.track && x.sender.track.kind === 'video');
  if (!canSend || !tr || typeof tr.setCodecPreferences !== 'function') return !tr; // no camera: nothing to restrict
  // The SFU registers H.264 constrained baseline, packetization-mode 1: list that first.
  const score = (c) => {
    const f = c.sdpFmtpLine || '';
    return (/packetization-mode=1/.test(f) ? 0 : 2) + (/profile-level-id=42e0/i.test(f) ? 0 : 1);
  };
  const h264 = recvCaps.codecs.filter((c) => /^video\/h264$/i.test(c.mimeType)).sort((a, b) => score(a) - score(b));
  const rtx = recvCaps.codecs.filter((c) => /^video\/rtx$/i.test(c.mimeType));
  if (!h264.length) return false;
  try {
    tr.setCodecPreferences([...h264, ...rtx]);
    return true;
  } catch (err) {
    log('setCodecPreferences failed:', err && err.message);
    return false;
  }
}

// ------------------------------------------------------------------ signaling / peer connection

function connect() {
  clearTimeout(reconnectTimer);
  S.attempts += 1;
  const gen = ++S.wsGen;
  let opened = false;
  let ws;
  try {
    ws = new WebSocket((location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/ws/hearing/' + encodeURIComponent(S.hearingId));
  } catch (err) {
    log('websocket:', err && err.message);
    scheduleReconnect(false);
    return;
  }
  S.ws = ws;
  ws.onopen = () => {
    if (gen !== S.wsGen) return;
    opened = true;
    S.lastPong = Date.now();
    send({ type: 'join' });
    startPing();
  };
  ws.onmessage = (ev) => {
    if (gen !== S.wsGen) return;
    let msg;
    try { msg = JSON.parse(ev.data); } catch (_) { return; }
    S.lastPong = Date.now(); // any traffic proves the socket alive
    S.sig = S.sig.then(() => onMessage(msg)).catch((err) => log('signaling step failed:', err && (err.message || err)));
  };
  ws.onclose = (ev) => {
    if (gen !== S.wsGen) return;
    log('socket closed', ev.code, ev.reason || '');
    socketGone(opened);
  };
  ws.onerror = () => { /* onclose follows */ };
}

function socketGone(opened) {
  S.wsGen += 1; // ignore anything the old socket still delivers
  S.ws = null;
  stopPing();
  if (['left', 'denied', 'notfound', 'taken', 'unsupported'].includes(S.phase)) return;
  closePc();
  for (const p of S.participants.values()) {
    p.tile.video.srcObject = null;
    p.tile.audio.srcObject = null;
    delete p.tile.dataset.live;
  }
  S.participantId = null;
  setPhase(S.everJoined ? 'reconnecting' : 'connecting');
  scheduleReconnect(opened);
}

async function scheduleReconnect(opened) {
  clearTimeout(reconnectTimer);
  if (!opened) {
    // The upgrade was refused or the server is unreachable: is it a permission problem?
    try {
      await api('GET', '/api/hearings/' + encodeURIComponent(S.hearingId));
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) { setPhase('denied'); return; }
      if (err instanceof ApiError && err.status === 404) { setPhase('notfound'); return; }
    }
  }
  const n = Math.min(S.attempts, 4);
  const delay = opened ? 500 : Math.min(5000, 1000 * 2 ** (n - 1));
  reconnectTimer = setTimeout(connect, delay);
}

function startPing() {
  stopPing();
  pingTimer = setInterval(() => {
    if (Date.now() - S.lastPong > PONG_TIMEOUT_MS) {
      log('no answer from the server: reconnecting');
      const ws = S.ws;
      socketGone(true);
      try { if (ws) ws.close(); } catch (_) { /* ignore */ }
      return;
    }
    send({ type: 'ping' });
  }, PING_EVERY_MS);
}

function stopPing() {
  clearInterval(pingTimer);
  pingTimer = null;
}

function closePc() {
  const pc = S.pc;
  S.pc = null;
  S.offerSent = false;
  S.pendingCandidates = [];
  S.trackOwner.clear();
  S.prevLoss.clear();
  S.recvCodecs = {};
  S.sendCodec = null;
  if (pc) {
    pc.ontrack = null;
    pc.onicecandidate = null;
    pc.onconnectionstatechange = null;
    try { pc.close(); } catch (_) { /* ignore */ }
  }
  setQuality('unknown');
}

async function onMessage(msg) {
  switch (msg.type) {
    case 'joined': return onJoined(msg);
    case 'answer': {
      const pc = S.pc;
      if (!pc || pc.signalingState !== 'have-local-offer') return;
      await pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      return;
    }
    case 'offer': {
      const pc = S.pc;
      if (!pc) return;
      // Glare: the server lets our offer win and sends its own again later.
      if (pc.signalingState === 'have-local-offer') return;
      await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      send({ type: 'answer', sdp: pc.localDescription.sdp });
      return;
    }
    case 'candidate': {
      const pc = S.pc;
      if (!pc || !msg.candidate) return;
      try {
        await pc.addIceCandidate({
          candidate: msg.candidate,
          sdpMid: msg.sdp_mid === null || msg.sdp_mid === undefined ? undefined : msg.sdp_mid,
          sdpMLineIndex: msg.sdp_mline_index === null || msg.sdp_mline_index === undefined ? undefined : msg.sdp_mline_index,
        });
      } catch (err) {
        log('remote candidate refused:', err && err.message);
      }
      return;
    }
    case 'participant_joined': {
      const info = msg.participant;
      const fresh = info && !S.participants.has(info.participant_id);
      upsertParticipant(info);
      if (fresh && info.participant_id !== S.participantId) toast(t('room.joined_participant', { name: tileLabel(info) }));
      expose();
      return;
    }
    case 'participant_left': {
      const p = S.participants.get(msg.participant_id);
      removeParticipant(msg.participant_id);
      if (p && msg.reason !== 'rejoined') toast(t('room.left_participant', { name: tileLabel(p.info) }));
      return;
    }
    case 'participant_reconnecting': {
      const p = S.participants.get(msg.participant_id);
      if (p) { p.info.reconnecting = true; updateTile(p); }
      return;
    }
    case 'mute_state': {
      const p = S.participants.get(msg.participant_id);
      if (p) {
        if (msg.kind === 'audio') { p.info.audio_muted = !!msg.muted; p.info.audio_by_chair = !!msg.by_chair; }
        if (msg.kind === 'video') p.info.video_muted = !!msg.muted;
        updateTile(p);
      } else if (msg.participant_id === S.participantId && msg.by_chair) {
        // The chair muted us.
        const a = msg.kind === 'audio' ? S.localStream && S.localStream.getAudioTracks()[0] : S.localStream && S.localStream.getVideoTracks()[0];
        if (a) a.enabled = !msg.muted;
        if (msg.kind === 'audio') S.micOn = !msg.muted; else S.camOn = !msg.muted;
        updateControls();
        if (msg.muted) toast(t('room.muted_by_chair'));
      }
      return;
    }
    case 'quality': {
      const p = S.participants.get(msg.participant_id);
      if (p && msg.level) p.tile.dataset.quality = msg.level;
      return;
    }
    case 'track_published':
    case 'track_unpublished':
    case 'pong':
      return;
    case 'error': {
      log('server error', msg.code, msg.message);
      if (msg.code === 'seat_taken_over') {
        S.wsGen += 1;
        const ws = S.ws;
        S.ws = null;
        stopPing();
        closePc();
        stopLocal();
        setPhase('taken');
        try { if (ws) ws.close(); } catch (_) { /* ignore */ }
        return;
      }
      toast(t('room.server_error', { message: pickMessage(msg.message || msg.code) }));
      return;
    }
    default:
      return;
  }
}

async function onJoined(msg) {
  const wasReconnecting = S.phase === 'reconnecting';
  S.participantId = msg.participant_id;
  S.everJoined = true;
  S.attempts = 0;
  // Rebuild the participant list from the server's view.
  const present = new Set((msg.participants || []).map((p) => p.participant_id));
  for (const pid of [...S.participants.keys()]) if (!present.has(pid)) removeParticipant(pid);
  for (const info of msg.participants || []) upsertParticipant(info);
  setPhase('joined');
  if (wasReconnecting) toast(t('room.reconnected'));

  closePc();
  const iceServers = (msg.ice_servers || []).map((s) => {
    const o = { urls: s.urls };
    if (s.username) o.username = s.username;
    if (s.credential) o.credential = s.credential;
    return o;
  });
  const pc = new RTCPeerConnection({ iceServers });
  S.pc = pc;
  pc.onicecandidate = (ev) => {
    if (pc !== S.pc) return;
    const c = ev.candidate;
    const m = c && c.candidate
      ? { type: 'candidate', candidate: c.candidate, sdp_mid: c.sdpMid, sdp_mline_index: c.sdpMLineIndex }
      : { type: 'candidate', candidate: '' };
    if (S.offerSent) send(m); else S.pendingCandidates.push(m);
  };
  pc.ontrack = (ev) => onTrack(pc, ev);
  pc.onconnectionstatechange = () => {
    if (pc !== S.pc) return;
    log('peer connection', pc.connectionState);
    if (pc.connectionState === 'failed') {
      // Media path lost while signaling still works: start over with a fresh connection.
      const ws = S.ws;
      socketGone(true);
      try { if (ws) ws.close(); } catch (_) { /* ignore */ }
    }
    pollStats();
  };

  const stream = S.localStream;
  const a = stream ? stream.getAudioTracks()[0] : null;
  const v = stream ? stream.getVideoTracks()[0] : null;
  if (a) pc.addTrack(a, stream);
  if (v) pc.addTrack(v, stream);
  if (!a && !v) pc.addTransceiver('audio', { direction: 'recvonly' });
  if (WANT_CODEC === 'h264' && v && !preferH264(pc)) addNotice('room.codec_unavailable');

  const offer = await pc.createOffer();
  if (pc !== S.pc) return;
  await pc.setLocalDescription(offer);
  if (pc !== S.pc) return;
  send({ type: 'offer', sdp: pc.localDescription.sdp });
  S.offerSent = true;
  for (const m of S.pendingCandidates.splice(0)) send(m);
  // The new seat starts unmuted: tell the others if we are not.
  if (a && !S.micOn) send({ type: 'mute', kind: 'audio', muted: true });
  if (v && !S.camOn) send({ type: 'mute', kind: 'video', muted: true });
  startStats();
  expose();
}

function onTrack(pc, ev) {
  if (pc !== S.pc) return;
  const track = ev.track;
  const stream = ev.streams && ev.streams[0];
  const pid = stream ? stream.id : null;
  if (!pid || pid === S.participantId) return;
  let p = S.participants.get(pid);
  if (!p) {
    // Media before the participant_joined message: a placeholder until the name arrives.
    p = upsertParticipant({ participant_id: pid, name: '', role: '', audio_muted: false, video_muted: false, reconnecting: false });
    if (!p) return;
  }
  S.trackOwner.set(track.id, pid);
  const el = track.kind === 'video' ? p.tile.video : p.tile.audio;
  el.srcObject = new MediaStream([track]);
  const play = el.play();
  if (play && play.catch) {
    play.catch((err) => {
      if (track.kind === 'audio' && err && err.name === 'NotAllowedError') {
        S.soundBlocked = true;
        updateStatus();
      }
    });
  }
  track.addEventListener('ended', () => {
    if (el.srcObject && el.srcObject.getTracks().includes(track)) {
      el.srcObject = null;
      if (track.kind === 'video') delete p.tile.dataset.live;
    }
  });
  if (stream) {
    stream.addEventListener('removetrack', (e) => {
      if (e.track === track && el.srcObject && el.srcObject.getTracks().includes(track)) {
        el.srcObject = null;
        if (track.kind === 'video') delete p.tile.dataset.live;
      }
    });
  }
  expose();
}

// ------------------------------------------------------------------ connection quality

function startStats() {
  clearInterval(statsTimer);
  statsTimer = setInterval(pollStats, STATS_EVERY_MS);
}

function stopTimers() {
  clearInterval(statsTimer);
  stopPing();
  clearTimeout(reconnectTimer);
}

let statsBusy = false;
async function pollStats() {
  const pc = S.pc;
  if (!pc || statsBusy) return;
  statsBusy = true;
  try {
    const stats = await pc.getStats();
    if (pc !== S.pc) return;
    let pairId = null;
    const pairs = [];
    const inbound = [];
    let sendCodec = null;
    stats.forEach((r) => {
      if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
      else if (r.type === 'candidate-pair') pairs.push(r);
      else if (r.type === 'inbound-rtp') inbound.push(r);
      else if (r.type === 'outbound-rtp' && r.kind === 'video' && r.codecId) {
        const c = stats.get(r.codecId);
        if (c) sendCodec = c.mimeType;
      }
    });
    const pair = (pairId && stats.get(pairId)) || pairs.find((p) => p.nominated && p.state === 'succeeded');
    const rtt = pair && typeof pair.currentRoundTripTime === 'number' ? pair.currentRoundTripTime : null;
    let lost = 0;
    let total = 0;
    const recv = {};
    for (const r of inbound) {
      const prev = S.prevLoss.get(r.id) || { lost: 0, recv: 0 };
      const dl = Math.max(0, (r.packetsLost || 0) - prev.lost);
      const dr = Math.max(0, (r.packetsReceived || 0) - prev.recv);
      S.prevLoss.set(r.id, { lost: r.packetsLost || 0, recv: r.packetsReceived || 0 });
      lost += dl;
      total += dl + dr;
      if (r.kind === 'video') {
        const pid = S.trackOwner.get(r.trackIdentifier);
        const c = r.codecId && stats.get(r.codecId);
        const p = pid && S.participants.get(pid);
        if (p && c) {
          recv[pid] = c.mimeType;
          p.tile.dataset.codec = c.mimeType;
          p.tile.dataset.frames = String(r.framesDecoded || 0);
        }
      }
    }
    S.recvCodecs = recv;
    S.sendCodec = sendCodec;
    const loss = total > 0 ? lost / total : 0;
    let level = 'unknown';
    if (pc.connectionState === 'failed' || pc.connectionState === 'disconnected') level = 'poor';
    else if (rtt !== null || total > 0) {
      const r = rtt === null ? 0 : rtt;
      if (r <= 0.3 && loss <= 0.02) level = 'good';
      else if (r <= 0.6 && loss <= 0.08) level = 'fair';
      else level = 'poor';
    }
    hook.rtt = rtt;
    hook.loss = loss;
    setQuality(level);
  } catch (err) {
    log('stats:', err && err.message);
  } finally {
    statsBusy = false;
    expose();
  }
}

function setQuality(level) {
  S.quality = level;
  updateQuality();
}

function updateQuality() {
  if (!ui.quality) return;
  ui.quality.dataset.level = S.quality;
  ui.quality.querySelector('.quality-text').textContent = t('room.quality') + ' ' + t('room.quality.' + S.quality);
}

// ------------------------------------------------------------------ boot

async function boot() {
  renderChrome();
  const m = /^\/room\/(\d+)\/?$/.exec(location.pathname);
  if (!m) {
    renderScreen('notfound', t('room.bad_link'), t('room.not_found_msg'));
    return;
  }
  S.hearingId = m[1];
  if (!window.RTCPeerConnection || !window.WebSocket) {
    setPhase('unsupported');
    return;
  }
  renderRoom();
  setPhase('connecting');
  try {
    S.hearing = await api('GET', '/api/hearings/' + encodeURIComponent(S.hearingId));
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) { setPhase('denied'); return; }
    if (err instanceof ApiError && err.status === 404) { setPhase('notfound'); return; }
    log('hearing details unavailable:', errorText(err)); // connect anyway
  }
  relabel();
  setPhase('media');
  await openMedia();
  setPhase('connecting');
  connect();
}

onLangChange(() => relabel());
boot();
