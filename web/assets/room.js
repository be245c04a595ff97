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
//
// Hearing procedure (issue 4): parties join into the waiting room (候审室) and get media
// only after `admitted`/`joined`; everyone sees the phase banner, pause/lock/caucus state
// and the exhibit on show; staff get the chair console (chair.js) from `roster`.
//
// Screen sharing: on a wide screen with getDisplayMedia, 共享屏幕 captures a screen or
// window, asks the server (`screen_share` active:true), and once `hearing_state.screen_share`
// names us adds the capture as an extra video track and offers again. Stopping (the button
// or the browser's own “stop sharing”) removes the track, offers again and sends
// active:false. Receivers keep every remote video track of a participant in arrival order:
// the first is the camera (its tile); a later one (or one that arrives while that
// participant is sharing and has no camera yet) is an extra track, and the newest extra
// track of the participant `hearing_state.screen_share` names fills the large
// “屏幕共享 · 姓名” tile at the head of the grid.

import { t, label, onLangChange, pickMessage, joinList, fmtDateTime } from './i18n.js';
import { h, replace, api, ApiError, errorText, langButton, partyLink } from './common.js';
import { createChairConsole, phaseLabel, STAFF_ROLES } from './chair.js';

const app = document.getElementById('app');
const params = new URLSearchParams(location.search);
const WANT_CODEC = /^h\.?264$/i.test(params.get('codec') || '') ? 'h264' : 'default';
// The camera goes out in three sizes (simulcast); the server forwards each viewer the one
// that fits its tile and its network. `?simulcast=0` sends one.
const SIMULCAST = params.get('simulcast') !== '0';
const SIMULCAST_LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500000 },
  { rid: 'f', maxBitrate: 1200000 },
];

const ROLE_ORDER = ['presiding_arbitrator', 'arbitrator', 'mediator', 'clerk', 'applicant', 'respondent', 'agent', 'witness', 'observer'];
const STATS_EVERY_MS = 2000;
const PING_EVERY_MS = 15000;
const PONG_TIMEOUT_MS = 40000;
const LEAVE_CONFIRM_MS = 4000;
const SPEAK_EVERY_MS = 150;
const SPEAK_HOLD_MS = 700;
// Pages that end the visit: no reconnect from these.
const TERMINAL = ['left', 'denied', 'notfound', 'taken', 'unsupported', 'refused', 'removed', 'ended', 'reverify', 'locked', 'check_required'];

const S = {
  hearingId: null,
  hearing: null, // GET /api/hearings/{id}, when readable
  phase: 'connecting', // connecting | waiting | joined | reconnecting | left | denied | notfound | taken | unsupported | refused | removed | ended | reverify | locked | check_required
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
  // hearing procedure
  hs: null, // last hearing_state
  waiting: null, // 'admission' | 'witness' while in the waiting room
  screenReason: '', // reason given with denied / removed
  roster: [], // seat_view[] (staff only)
  help: [], // help_message[] (chair and clerk)
  qualityBy: new Map(), // participant id → good | fair | poor
  hand: false,
  held: { audio: false, video: false }, // chair_mute holds on our own seat
  mediaOpened: false,
  speaking: new Set(),
  lastSpoke: new Map(),
  sheetOpen: false,
  // screen sharing
  screen: null, // our own share: { stream, track, sender, confirmed }
  needOffer: false, // an offer is due once the current negotiation settles
  remoteOffers: 0, // server offers applied to the current peer connection
  // The chair console starts open where it has its own column, closed (a drawer) elsewhere.
  chairHidden: !(window.matchMedia && window.matchMedia('(min-width: 1100px)').matches),
};

const ui = {}; // persistent room elements
let pingTimer = null;
let statsTimer = null;
let reconnectTimer = null;
let toastTimer = null;
let speakTimer = null;
let audioCtx = null;
let chair = null; // the chair console, for staff

// ------------------------------------------------------------------ test / support hook

const hook = {};
/** Per participant: the video height last told to the server, and heights tests pinned. */
const viewSizes = { sent: new Map(), pinned: new Map(), timer: null, observer: null };
Object.defineProperty(hook, 'pc', { get: () => S.pc, enumerable: false });
Object.defineProperty(hook, 'localStream', { get: () => S.localStream, enumerable: false });
/** Our screen capture while sharing (tests end it as the browser's “stop sharing” would). */
Object.defineProperty(hook, 'screenTrack', { get: () => (S.screen ? S.screen.track : null), enumerable: false });
/** Simulate a network drop (support and tests): close the socket without `leave`. */
hook.dropSocket = () => { if (S.ws) S.ws.close(); };
/** Tests: restart ICE now, as after a change of network. */
hook.restartIce = () => { if (S.pc) { S.wantIceRestart = true; S.iceRestarts = (S.iceRestarts || 0) + 1; renegotiate(S.pc); } };
/** Tests: the sending side's own view (outbound layers, available bitrate). */
hook.sendStats = async () => {
  if (!S.pc) return null;
  const out = { layers: [], available: null };
  (await S.pc.getStats()).forEach((r) => {
    if (r.type === 'outbound-rtp' && r.kind === 'video') out.layers.push({ rid: r.rid, active: r.active, fps: r.framesPerSecond, width: r.frameWidth, bytes: r.bytesSent, limit: r.qualityLimitationReason });
    if (r.type === 'candidate-pair' && r.nominated && r.availableOutgoingBitrate !== undefined) out.available = r.availableOutgoingBitrate;
  });
  return out;
};
/** Tests: report this height for a participant's video instead of the measured one. */
hook.viewSize = (pid, height) => { viewSizes.pinned.set(pid, height); reportViewSize(pid, height, true); };
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
  const hs = S.hs || {};
  hook.phase = hs.phase || null;
  hook.phaseLabel = hs.phase ? (hs.phase_label || phaseLabel(hs.phase)) : null;
  hook.caseNumbers = hs.case_numbers || null;
  hook.paused = !!hs.paused;
  hook.locked = !!hs.locked;
  hook.ended = !!hs.ended;
  hook.caucus = hs.caucus || null;
  hook.exhibit = hs.exhibit || null;
  hook.myRole = myRole();
  hook.mySeat = hs.my_seat || null;
  hook.waiting = S.waiting;
  hook.roster = S.roster;
  hook.help = S.help;
  hook.hand = S.hand;
  hook.held = { ...S.held };
  hook.visible = [...S.participants.entries()].filter(([, p]) => !p.tile.hidden).map(([pid]) => pid);
  hook.speaking = [...S.speaking];
  hook.screenReason = S.screenReason;
  hook.screenShare = hs.screen_share || null;
  hook.signaling = S.pc ? S.pc.signalingState : null;
  hook.needOffer = S.needOffer;
  hook.videoTracks = Object.fromEntries([...S.participants.entries()].map(([pid, p]) => [pid, (p.videos || []).map((v) => ({ role: v.role, state: v.track.readyState, muted: v.track.muted }))]));
  hook.sharing = !!(S.screen && S.screen.confirmed);
  hook.simulcast = !!S.simulcast;
  hook.iceRestarts = S.iceRestarts || 0;
  hook.audioOnly = !!S.audioOnly;
  hook.viewSizes = Object.fromEntries(viewSizes.sent);
  hook.canShare = canShare();
  hook.screenTile = ui.screenTile && ui.screenTile.isConnected && !ui.screenTile.hidden
    ? { participantId: ui.screenTile.dataset.participantId || null, live: (ui.screenTile.video || {}).videoWidth > 0 } : null;
}

// ------------------------------------------------------------------ icons (static SVG)

const ICONS = {
  mic: ['M12 2a3 3 0 0 0-3 3v7a3 3 0 0 0 6 0V5a3 3 0 0 0-3-3z', 'M19 10v2a7 7 0 0 1-14 0v-2', 'M12 19v4', 'M8 23h8'],
  micOff: ['M1 1l22 22', 'M9 9v3a3 3 0 0 0 5.12 2.12M15 9.34V4a3 3 0 0 0-5.94-.6', 'M17 16.95A7 7 0 0 1 5 12v-2m14 0v2a7 7 0 0 1-.11 1.23', 'M12 19v4', 'M8 23h8'],
  cam: ['M23 7l-7 5 7 5V7z', 'M3 5h11a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2z'],
  camOff: ['M16 16v1a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2h2m5.66 0H14a2 2 0 0 1 2 2v3.34l1 1L23 7v10', 'M1 1l22 22'],
  leave: ['M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4', 'M16 17l5-5-5-5', 'M21 12H9'],
  hand: ['M18 11V6a2 2 0 0 0-4 0v5', 'M14 10V4a2 2 0 0 0-4 0v6', 'M10 10.5V6a2 2 0 0 0-4 0v8', 'M18 8a2 2 0 1 1 4 0v6a8 8 0 0 1-8 8h-2c-2.8 0-4.5-.86-5.99-2.34l-3.6-3.6a2 2 0 0 1 2.83-2.82L7 15'],
  more: ['M12 13a1 1 0 1 0 0-2 1 1 0 0 0 0 2z', 'M19 13a1 1 0 1 0 0-2 1 1 0 0 0 0 2z', 'M5 13a1 1 0 1 0 0-2 1 1 0 0 0 0 2z'],
  screen: ['M3 4h18a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1z', 'M8 21h8', 'M12 17v4'],
  screenOff: ['M3 4h18a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1z', 'M8 21h8', 'M12 17v4', 'M9 8l6 6', 'M15 8l-6 6'],
  gavel: ['M14 13l-7.5 7.5a2.12 2.12 0 0 1-3-3L11 10', 'M16 16l6-6', 'M8 8l6-6', 'M9 7l8 8', 'M21 11l-8-8'],
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

function myRole() {
  if (S.hs && S.hs.my_role) return S.hs.my_role;
  const link = partyLink();
  if (link && String(link.hearing_id) === String(S.hearingId) && link.role) return link.role;
  return null;
}

function isStaff() {
  return STAFF_ROLES.includes(myRole());
}

function isParty() {
  const r = myRole();
  return !!r && !STAFF_ROLES.includes(r);
}

/** The invitation link of this browser's party, if the party page remembered it. */
function partyUrl() {
  const link = partyLink();
  return link && link.token ? '/j/' + encodeURIComponent(link.token) : null;
}

function control(command) {
  return send({ type: 'control', command });
}

function clock(ms) {
  if (ms === null || ms === undefined) return '';
  return fmtDateTime(ms).slice(11);
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
function renderScreen(kind, title, message, action, extra) {
  stopTimers();
  document.body.classList.remove('in-room');
  const ok = kind === 'left' || kind === 'ended';
  replace(app, h('section', { class: 'card party-card room-screen room-screen-' + kind, 'aria-labelledby': 'screen-title', dataset: { screen: kind } },
    h('div', { class: 'error-icon' + (ok ? ' ok-icon' : ''), 'aria-hidden': 'true' }, ok ? '✓' : '!'),
    h('h1', { id: 'screen-title' }, title),
    h('p', { class: 'lead' }, message),
    extra || null,
    recordingLine(),
    action || null,
    h('p', { class: 'muted small' }, t('party.contact'))));
  expose();
}

function reasonLine() {
  return S.screenReason ? h('p', { class: 'screen-reason' }, t('room.reason', { reason: S.screenReason })) : null;
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
    case 'refused':
      return renderScreen('refused', t('room.refused_title'), t('room.refused_msg'), null, reasonLine());
    case 'removed':
      return renderScreen('removed', t('room.removed_title'), t('room.removed_msg'), null, reasonLine());
    case 'ended':
      return renderScreen('ended', t('room.ended_title'), t('room.ended_msg'), null,
        h('p', { class: 'phase-final', dataset: { phase: 'closed' } }, t('room.phase_now', { phase: phaseLabel('closed') })));
    case 'locked':
      return renderScreen('locked', t('room.locked_title'), t('room.locked_msg'),
        h('button', { type: 'button', class: 'btn btn-primary btn-block', onclick: () => location.reload() }, t('common.retry')));
    case 'reverify':
    case 'check_required': {
      const url = partyUrl();
      const msgKey = phase === 'reverify' ? 'room.reverify_msg' : 'room.check_required_msg';
      return renderScreen(phase, t(phase === 'reverify' ? 'room.reverify_title' : 'room.check_required_title'),
        t(msgKey) + (url ? '' : ' ' + t('room.use_sms_link')),
        url ? h('a', { class: 'btn btn-primary btn-block', href: url }, t('room.to_link')) : null);
    }
    default:
      return null;
  }
}

/** 候审室: shown until `admitted` (or `call_witness` for a witness). */
function renderWaitingRoom() {
  stopStatsOnly();
  document.body.classList.remove('in-room');
  const witness = S.waiting === 'witness';
  const hs = S.hs || {};
  const nums = hs.case_numbers || (S.hearing && S.hearing.case_numbers) || [];
  ui.waitingPhase = h('p', { class: 'waiting-phase' });
  ui.waitingHelp = helpForm();
  replace(app, h('section', { class: 'card party-card waiting room-waiting', 'aria-labelledby': 'screen-title', dataset: { screen: 'waiting', reason: S.waiting || 'admission' } },
    h('div', { class: 'waiting-head' },
      h('div', { class: 'waiting-pulse', 'aria-hidden': 'true' }),
      h('div', null,
        h('h1', { id: 'screen-title' }, t('room.waiting_title')),
        h('p', { class: 'muted' }, nums.length ? joinList(nums) : ''))),
    h('p', { class: 'lead calm', role: 'status' }, t(witness ? 'room.waiting_witness' : 'room.waiting_admission')),
    h('div', { class: 'notice notice-recording', role: 'note' },
      h('span', { class: 'notice-icon', 'aria-hidden': 'true' }, '●'),
      h('div', null, h('strong', { lang: 'zh-CN' }, hs.recording_notice || t('party.recording_notice')))),
    ui.waitingPhase,
    h('p', { class: 'muted small' }, t('room.waiting_keep_open')),
    isParty() ? h('details', { class: 'waiting-help' }, h('summary', null, t('room.help_title')), ui.waitingHelp) : null,
    h('p', { class: 'muted small' }, t('party.contact'))));
  updateWaitingRoom();
  expose();
}

function updateWaitingRoom() {
  if (!ui.waitingPhase || !ui.waitingPhase.isConnected) return;
  const hs = S.hs || {};
  ui.waitingPhase.textContent = hs.phase ? t('room.phase_now', { phase: hs.phase_label || phaseLabel(hs.phase) }) + (hs.paused ? ' · ' + t('room.paused') : '') : '';
  ui.waitingPhase.hidden = !hs.phase;
}

function recordingLine() {
  return h('p', { class: 'rec-notice', role: 'note' },
    h('span', { class: 'rec-dot', 'aria-hidden': 'true' }),
    h('span', { lang: 'zh-CN' }, t('party.recording_notice')));
}

/** The room itself: built once, then updated in place (rebuilt after the waiting room). */
function renderRoom() {
  document.body.classList.add('in-room');
  ui.caseLine = h('p', { class: 'room-case' });
  ui.quality = h('p', { class: 'quality', dataset: { level: 'unknown' }, role: 'status' },
    h('span', { class: 'quality-bars', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
    h('span', { class: 'quality-text' }));
  ui.status = h('div', { class: 'room-status', role: 'status', 'aria-live': 'polite' });
  ui.notice = h('div', { class: 'room-notices' });
  ui.phaseBar = h('div', { class: 'phase-bar', role: 'status', 'aria-live': 'polite', hidden: true });
  ui.pauseBar = h('div', { class: 'pause-bar', role: 'alert', hidden: true });
  ui.caucusBar = h('div', { class: 'caucus-bar', role: 'status', hidden: true });
  ui.exhibit = h('div', { class: 'exhibit-view', hidden: true });
  ui.empty = h('p', { class: 'tiles-empty' });
  ui.tiles = h('div', { class: 'tiles', id: 'tiles', dataset: { count: '0' } }, ui.empty);
  ui.localVideo = h('video', { class: 'local-video', playsinline: true, autoplay: true, muted: true });
  ui.localVideo.muted = true;
  if (S.localStream && S.localStream.getVideoTracks().length) {
    ui.localVideo.srcObject = new MediaStream(S.localStream.getVideoTracks());
    ui.localVideo.play().catch(() => {});
  }
  ui.localLabel = h('span', { class: 'local-label' });
  ui.local = h('div', { class: 'local-preview', hidden: true }, ui.localVideo, ui.localLabel);
  ui.micBtn = h('button', { type: 'button', class: 'ctl ctl-mic', onclick: toggleMic });
  ui.camBtn = h('button', { type: 'button', class: 'ctl ctl-cam', onclick: toggleCam });
  ui.handBtn = h('button', { type: 'button', class: 'ctl ctl-hand', onclick: toggleHand });
  ui.moreBtn = h('button', { type: 'button', class: 'ctl ctl-more', 'aria-expanded': 'false', 'aria-controls': 'room-sheet', onclick: toggleSheet });
  ui.chairBtn = h('button', { type: 'button', class: 'ctl ctl-chair', 'aria-controls': 'chair-console', onclick: toggleChair, hidden: true });
  ui.shareBtn = h('button', { type: 'button', class: 'ctl ctl-screen', onclick: toggleShare, hidden: true });
  ui.shareBar = h('div', { class: 'share-bar', role: 'status', hidden: true });
  if (!ui.screenTile) ui.screenTile = makeScreenTile();
  ui.leaveBtn = h('button', { type: 'button', class: 'ctl ctl-leave', onclick: onLeaveTap });
  ui.toast = h('div', { class: 'room-toast', role: 'status', 'aria-live': 'polite', hidden: true });
  ui.controls = h('nav', { class: 'controls', 'aria-label': t('room.title') },
    h('div', { class: 'controls-inner' }, ui.local, ui.micBtn, ui.camBtn, ui.shareBtn, ui.handBtn, ui.moreBtn, ui.chairBtn, ui.leaveBtn));
  ui.sheet = h('div', { class: 'room-sheet', id: 'room-sheet', hidden: true, role: 'dialog', 'aria-labelledby': 'sheet-title' });
  if (!chair) {
    chair = createChairConsole({
      hearingId: S.hearingId,
      control,
      toast,
      state: () => ({ hs: S.hs, roster: S.roster, help: S.help, myRole: myRole(), mySeat: S.hs && S.hs.my_seat, qualityBy: S.qualityBy }),
    });
  }
  ui.chair = chair.el;
  ui.stage = h('div', { class: 'room-stage' }, ui.exhibit, ui.tiles);
  ui.layout = h('div', { class: 'room-layout' }, ui.stage, ui.chair);

  replace(app, h('section', { class: 'room', 'aria-labelledby': 'room-title' },
    h('div', { class: 'room-head' },
      h('h1', { id: 'room-title', class: 'room-title' }, ui.caseLine),
      h('div', { class: 'room-sub' }, recordingLine(), ui.quality)),
    ui.phaseBar,
    ui.pauseBar,
    ui.caucusBar,
    ui.shareBar,
    ui.status,
    ui.notice,
    ui.layout,
    ui.toast,
    ui.sheet,
    ui.controls));
  // Tiles of a room built before (waiting room → room): put them back in order.
  const ps = [...S.participants.values()].sort((x, y) => roleRank(x.info.role) - roleRank(y.info.role) || x.seq - y.seq);
  for (const p of ps) ui.tiles.insertBefore(p.tile, ui.empty);
  ui.tiles.insertBefore(ui.screenTile, ui.tiles.firstChild);
  relabel();
}

function relabel() {
  renderChrome();
  if (S.phase === 'waiting') {
    renderWaitingRoom();
    return;
  }
  if (!ui.tiles || !ui.tiles.isConnected) {
    screenFor(S.phase);
    return;
  }
  const nums = (S.hs && Array.isArray(S.hs.case_numbers) && S.hs.case_numbers.length) ? S.hs.case_numbers
    : (S.hearing && Array.isArray(S.hearing.case_numbers) ? S.hearing.case_numbers : []);
  if (nums.length) {
    // Each case number stays on one line; the list wraps between them.
    replace(ui.caseLine, nums.map((n, i) => [i ? h('span', { class: 'case-sep' }, joinList(['', ''])) : null, h('span', { class: 'nowrap' }, String(n))]));
  } else {
    ui.caseLine.textContent = t('room.hearing') + ' ' + S.hearingId;
  }
  ui.caseLine.dataset.count = String(nums.length);
  const rec = app.querySelector('.room-head .rec-notice span[lang]');
  if (rec) rec.textContent = (S.hs && S.hs.recording_notice) || t('party.recording_notice');
  ui.localLabel.textContent = t('room.you');
  ui.controls.setAttribute('aria-label', t('room.title'));
  updateControls();
  updateQuality();
  updateStatus();
  updateNotices();
  updateHearing();
  for (const p of S.participants.values()) updateTile(p);
  updateScreenTile();
  updateTileCount();
  if (S.sheetOpen) renderSheet();
}

// ------------------------------------------------------------------ hearing state (phase, pause, caucus, exhibit)

function inCaucus(pid) {
  const c = S.hs && S.hs.caucus;
  return !!(c && Array.isArray(c.participant_ids) && c.participant_ids.map(String).includes(String(pid)));
}

/** Should this participant's tile be hidden from me (背对背调解)? */
function hiddenByCaucus(pid) {
  const c = S.hs && S.hs.caucus;
  if (!c) return false;
  const meIn = S.participantId !== null && inCaucus(S.participantId);
  return meIn ? !inCaucus(pid) : inCaucus(pid);
}

function applyVisibility() {
  for (const [pid, p] of S.participants) {
    const hide = hiddenByCaucus(pid);
    p.tile.hidden = hide;
    p.tile.audio.muted = hide;
  }
  updateScreenTile();
  updateTileCount();
  expose();
}

function updateHearing() {
  if (!ui.phaseBar || !ui.phaseBar.isConnected) { updateWaitingRoom(); return; }
  const hs = S.hs;
  const stage = app.querySelector('.room');
  if (!hs) {
    ui.phaseBar.hidden = true;
    ui.pauseBar.hidden = true;
    ui.caucusBar.hidden = true;
    ui.exhibit.hidden = true;
  } else {
    const lab = hs.phase_label || phaseLabel(hs.phase);
    replace(ui.phaseBar,
      h('span', { class: 'phase-k' }, t('room.phase')),
      h('strong', { class: 'phase-label', dataset: { phase: hs.phase || '' } }, lab),
      hs.phase_since ? h('span', { class: 'phase-since' }, t('room.since', { time: clock(hs.phase_since) })) : null,
      hs.locked ? h('span', { class: 'chip chip-lock', title: t('room.locked_hint') }, '🔒 ' + t('room.locked')) : null);
    ui.phaseBar.hidden = !hs.phase;
    ui.phaseBar.dataset.phase = hs.phase || '';
    replace(ui.pauseBar, h('strong', null, t('room.paused')), hs.pause_reason ? h('span', null, t('room.reason', { reason: hs.pause_reason })) : null);
    ui.pauseBar.hidden = !hs.paused;
    const c = hs.caucus;
    const meIn = c && S.participantId !== null && inCaucus(S.participantId);
    replace(ui.caucusBar, c ? h('span', null, meIn ? t('room.caucus_in', { side: label('side', c.side) }) : t('room.caucus_on')) : null,
      c && c.recorded === false ? h('span', { class: 'muted-light' }, t('room.caucus_not_recorded')) : null);
    ui.caucusBar.hidden = !c;
    ui.caucusBar.dataset.in = meIn ? '1' : '0';
    renderExhibit(hs.exhibit);
    if (stage) {
      stage.dataset.paused = hs.paused ? '1' : '0';
      stage.dataset.caucus = c ? (meIn ? 'in' : 'out') : '';
    }
  }
  // The chair console is for staff.
  const staff = isStaff();
  ui.chairBtn.hidden = !staff;
  ui.chair.hidden = !staff || S.chairHidden === true;
  ui.layout.classList.toggle('with-chair', staff && !ui.chair.hidden);
  document.body.classList.toggle('chair-open', staff && !ui.chair.hidden);
  measureBars();
  ui.handBtn.hidden = staff || myRole() === 'observer';
  if (staff && chair) chair.render();
  applyVisibility();
}

function renderExhibit(x) {
  if (!ui.exhibit) return;
  if (!x) {
    ui.exhibit.hidden = true;
    replace(ui.exhibit);
    delete ui.exhibit.dataset.exhibitId;
    return;
  }
  if (ui.exhibit.dataset.exhibitId === String(x.id) && !ui.exhibit.hidden) return;
  const url = x.url || '/api/exhibits/' + encodeURIComponent(x.id);
  const pdf = x.mime === 'application/pdf';
  replace(ui.exhibit,
    h('div', { class: 'exhibit-head' },
      h('span', { class: 'exhibit-k' }, t('room.exhibit')),
      h('strong', { class: 'exhibit-name' }, x.name || ('#' + x.id))),
    pdf
      ? h('a', { class: 'btn btn-primary exhibit-link', href: url, target: '_blank', rel: 'noopener' }, t('room.exhibit_open_pdf'))
      : h('a', { href: url, target: '_blank', rel: 'noopener', class: 'exhibit-img-link' }, h('img', { class: 'exhibit-img', src: url, alt: x.name || t('room.exhibit'), onload: () => measureBars() })));
  ui.exhibit.dataset.exhibitId = String(x.id);
  ui.exhibit.hidden = false;
}

/**
 * The fixed chair column sits between the top bar and the control bar; the tiles get the
 * height between their top and the control bar (--stage-h, used on short landscape
 * screens and for the shared screen).
 */
function measureBars() {
  const top = document.querySelector('.topbar');
  const root = document.documentElement.style;
  if (top) root.setProperty('--topbar-h', top.offsetHeight + 'px');
  if (ui.controls && ui.controls.isConnected) {
    root.setProperty('--controls-h', ui.controls.offsetHeight + 'px');
    if (ui.tiles && ui.tiles.isConnected) {
      const y = ui.tiles.getBoundingClientRect().top + window.scrollY;
      const stage = Math.floor(window.innerHeight - y - ui.controls.offsetHeight - 8);
      root.setProperty('--stage-h', Math.max(0, stage) + 'px');
    }
  }
}
window.addEventListener('resize', () => { measureBars(); updateShareControls(); });

// ------------------------------------------------------------------ raise hand, help, exhibit upload (the “more” sheet)

function toggleHand() {
  S.hand = !S.hand;
  send({ type: 'raise_hand', raised: S.hand });
  updateControls();
  toast(t(S.hand ? 'room.hand_up_toast' : 'room.hand_down_toast'));
  expose();
}

function toggleChair() {
  S.chairHidden = !ui.chair.hidden;
  updateHearing();
  if (!ui.chair.hidden) ui.chair.scrollIntoView({ block: 'start', behavior: 'smooth' });
}

function toggleSheet() {
  S.sheetOpen = !S.sheetOpen;
  if (S.sheetOpen) renderSheet();
  ui.sheet.hidden = !S.sheetOpen;
  ui.moreBtn.setAttribute('aria-expanded', S.sheetOpen ? 'true' : 'false');
}

function helpForm() {
  const input = h('textarea', { name: 'help', rows: 3, maxlength: 500, 'aria-label': t('room.help_label'), placeholder: t('room.help_placeholder') });
  const note = h('p', { class: 'sheet-note', role: 'status', hidden: true });
  const form = h('form', { class: 'help-form' },
    input,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block help-send' }, t('room.help_send')),
    note);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    note.hidden = false;
    if (!text) { note.textContent = t('room.help_empty'); note.dataset.kind = 'error'; return; }
    if (send({ type: 'help', text: text.slice(0, 500) })) {
      input.value = '';
      note.textContent = t('room.help_sent');
      note.dataset.kind = 'ok';
    } else {
      note.textContent = t('room.not_connected');
      note.dataset.kind = 'error';
    }
  });
  return form;
}

function uploadForm() {
  const file = h('input', { type: 'file', name: 'exhibit', accept: 'image/jpeg,image/png,application/pdf', class: 'exhibit-file' });
  const note = h('p', { class: 'sheet-note', role: 'status', hidden: true });
  const btn = h('button', { type: 'submit', class: 'btn btn-secondary btn-block exhibit-upload' }, t('room.exhibit_upload'));
  const form = h('form', { class: 'upload-form' },
    h('label', { class: 'field-label', for: 'exhibit-file' }, t('room.exhibit_pick')),
    file, btn, note);
  file.id = 'exhibit-file';
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = file.files && file.files[0];
    note.hidden = false;
    if (!f) { note.textContent = t('room.exhibit_none'); note.dataset.kind = 'error'; return; }
    if (f.size > 10 * 1024 * 1024) { note.textContent = t('room.exhibit_too_big'); note.dataset.kind = 'error'; return; }
    const mime = f.type || (/\.pdf$/i.test(f.name) ? 'application/pdf' : /\.png$/i.test(f.name) ? 'image/png' : 'image/jpeg');
    btn.disabled = true;
    note.textContent = t('room.exhibit_uploading');
    note.dataset.kind = '';
    try {
      const res = await fetch('/api/hearings/' + encodeURIComponent(S.hearingId) + '/exhibits?name=' + encodeURIComponent(f.name), {
        method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': mime, Accept: 'application/json' }, body: f,
      });
      let data = null;
      try { data = await res.json(); } catch (_) { /* empty */ }
      if (!res.ok) throw new ApiError(res.status, (data && data.error && data.error.code) || 'http_' + res.status, data && data.error && data.error.message);
      note.textContent = t('room.exhibit_uploaded');
      note.dataset.kind = 'ok';
      file.value = '';
      if (chair && isStaff()) chair.loadExhibits();
    } catch (err) {
      note.textContent = err instanceof ApiError ? errorText(err) : t('err.network');
      note.dataset.kind = 'error';
    } finally {
      btn.disabled = false;
    }
  });
  return form;
}

function renderSheet() {
  if (!ui.sheet) return;
  replace(ui.sheet,
    h('div', { class: 'sheet-head' },
      h('h2', { id: 'sheet-title' }, t('room.more')),
      h('button', { type: 'button', class: 'btn btn-ghost btn-small sheet-close', onclick: toggleSheet }, t('room.close'))),
    isParty() ? h('section', { class: 'sheet-section' }, h('h3', null, t('room.help_title')), h('p', { class: 'muted small' }, t('room.help_hint')), helpForm()) : null,
    myRole() === 'observer' ? null : h('section', { class: 'sheet-section' }, h('h3', null, t('room.exhibit_title')), h('p', { class: 'muted small' }, t('room.exhibit_hint')), uploadForm()),
    h('section', { class: 'sheet-section' },
      h('h3', null, t('room.audio_only_title')),
      h('p', { class: 'muted small' }, t('room.audio_only_hint')),
      h('button', { type: 'button', class: 'btn btn-secondary ctl-audio-only', 'aria-pressed': S.audioOnly ? 'true' : 'false', onclick: () => setAudioOnly(!S.audioOnly) },
        t(S.audioOnly ? 'room.audio_only_off' : 'room.audio_only_on'))),
    h('section', { class: 'sheet-section' }, h('h3', null, t('room.language')), langButton()));
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
  measureBars();
  ui.status.dataset.phase = S.phase;
  const stage = app.querySelector('.room');
  if (stage) stage.dataset.phase = S.phase;
}

function updateNotices() {
  if (!ui.notice) return;
  replace(ui.notice, S.notices.map((k) => h('p', { class: 'msg msg-warn', role: 'note' }, t(k))));
  ui.notice.hidden = !S.notices.length;
  measureBars();
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
  const was = S.phase;
  S.phase = phase;
  document.body.dataset.phase = phase;
  if (TERMINAL.includes(phase)) {
    stopSpeaking();
    screenFor(phase);
  } else if (phase === 'waiting') {
    renderWaitingRoom();
  } else {
    if (was === 'waiting' || !ui.tiles || !ui.tiles.isConnected) renderRoom();
    updateStatus();
    updateScreenTile();
    updateTileCount();
    updateShareControls();
  }
  expose();
}

/** End the visit on a final screen: no reconnect, media released. */
function finish(phase) {
  S.wsGen += 1;
  const ws = S.ws;
  S.ws = null;
  stopPing();
  closePc();
  stopLocal();
  setPhase(phase);
  try { if (ws) ws.close(); } catch (_) { /* ignore */ }
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
  // The chair's mute holds: the party cannot turn it back on.
  for (const [btn, kind, key] of [[ui.micBtn, 'audio', 'room.held_audio'], [ui.camBtn, 'video', 'room.held_video']]) {
    btn.dataset.held = S.held[kind] ? '1' : '0';
    if (S.held[kind]) {
      btn.disabled = true;
      btn.setAttribute('aria-label', t(key));
      btn.title = t(key);
    }
  }
  replace(ui.handBtn, icon('hand'), h('span', { class: 'ctl-text' }, t(S.hand ? 'room.hand_lower' : 'room.hand_raise')));
  ui.handBtn.setAttribute('aria-pressed', S.hand ? 'true' : 'false');
  ui.handBtn.dataset.raised = S.hand ? '1' : '0';
  replace(ui.moreBtn, icon('more'), h('span', { class: 'ctl-text' }, t('room.more')));
  replace(ui.chairBtn, icon('gavel'), h('span', { class: 'ctl-text' }, t('room.console')));
  ui.chairBtn.setAttribute('aria-expanded', ui.chair && !ui.chair.hidden ? 'true' : 'false');
  const confirming = ui.leaveBtn.dataset.confirm === '1';
  replace(ui.leaveBtn, icon('leave'), h('span', { class: 'ctl-text' }, t(confirming ? 'room.leave_confirm' : 'room.leave')));
  ui.leaveBtn.setAttribute('aria-label', t(confirming ? 'room.leave_confirm' : 'room.leave'));
  ui.local.hidden = !(v && S.camOn);
  ui.local.classList.toggle('audio-only', !v);
  updateShareControls();
}

function toggleMic() {
  const a = S.localStream && S.localStream.getAudioTracks()[0];
  if (!a) return;
  if (S.held.audio && !S.micOn) { toast(t('room.held_audio')); return; }
  S.micOn = !S.micOn;
  a.enabled = S.micOn;
  send({ type: 'mute', kind: 'audio', muted: !S.micOn });
  updateControls();
}

function toggleCam() {
  const v = S.localStream && S.localStream.getVideoTracks()[0];
  if (!v) return;
  if (S.held.video && !S.camOn) { toast(t('room.held_video')); return; }
  S.camOn = !S.camOn;
  v.enabled = S.camOn;
  send({ type: 'mute', kind: 'video', muted: !S.camOn });
  updateControls();
}

/**
 * Audio only (a weak network): the server stops sending us video and we stop sending
 * ours; audio keeps going. Back again restores the camera as it was.
 */
function setAudioOnly(on) {
  if (!!S.audioOnly === on) return;
  S.audioOnly = on;
  send({ type: 'audio_only', enabled: on });
  const v = S.localStream && S.localStream.getVideoTracks()[0];
  if (v) {
    if (on) {
      S.camBeforeAudioOnly = S.camOn;
      if (S.camOn) toggleCam();
    } else if (S.camBeforeAudioOnly && !S.camOn) {
      toggleCam();
    }
  }
  const room = app.querySelector('.room');
  if (room) room.dataset.audioOnly = on ? '1' : '0';
  renderSheet();
  updateControls();
  expose();
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
  S.localStream = null;
  S.mediaOpened = false;
  if (ui.localVideo) ui.localVideo.srcObject = null;
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
  if (info.seat) tile.dataset.seat = info.seat;
  tile.dataset.hand = info.hand_raised ? '1' : '0';
  const lab = tile.querySelector('.tile-label');
  lab.textContent = tileLabel(info);
  tile.setAttribute('aria-label', tileLabel(info));
  const icons = tile.querySelector('.tile-icons');
  replace(icons,
    info.hand_raised ? h('span', { class: 'tile-icon tile-hand', title: t('room.hand_raised') }, '✋', h('span', { class: 'sr-only' }, t('room.hand_raised'))) : null,
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
    watchViewSize(p.tile);
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
  p.tile.hidden = hiddenByCaucus(info.participant_id);
  p.tile.audio.muted = p.tile.hidden;
  updateTileCount();
  return p;
}

function removeParticipant(pid) {
  const p = S.participants.get(pid);
  if (!p) return;
  S.participants.delete(pid);
  viewSizes.sent.delete(pid);
  if (viewSizes.observer) viewSizes.observer.unobserve(p.tile.video);
  for (const el of [p.tile.video, p.tile.audio]) {
    el.srcObject = null;
  }
  if (p.analyserSrc) { try { p.analyserSrc.disconnect(); } catch (_) { /* ignore */ } }
  S.speaking.delete(pid);
  p.tile.remove();
  for (const [track, owner] of S.trackOwner) if (owner === pid) S.trackOwner.delete(track);
  delete S.recvCodecs[pid];
  updateScreenTile();
  updateTileCount();
  expose();
}

function updateTileCount() {
  if (!ui.tiles) return;
  const n = [...S.participants.values()].filter((p) => !p.tile.hidden).length;
  ui.tiles.dataset.count = String(n);
  const screen = !!(ui.screenTile && ui.screenTile.isConnected && !ui.screenTile.hidden);
  ui.tiles.dataset.screen = screen ? '1' : '0';
  ui.empty.hidden = n > 0 || screen || S.phase !== 'joined';
  ui.empty.textContent = S.hs && S.hs.caucus && S.participants.size ? t('room.caucus_on') : t('room.waiting_others');
}

// ------------------------------------------------------------------ screen sharing

/** Desktop and tablet browsers that can capture the screen; not phones, not observers. */
function canShare() {
  if (!navigator.mediaDevices || typeof navigator.mediaDevices.getDisplayMedia !== 'function') return false;
  if (!(window.matchMedia && window.matchMedia('(min-width: 720px) and (min-height: 500px)').matches)) return false;
  return myRole() !== 'observer';
}

function sharerId() {
  const ss = S.hs && S.hs.screen_share;
  return ss && ss.participant_id ? String(ss.participant_id) : null;
}

function updateShareControls() {
  if (!ui.shareBtn) return;
  const mine = !!S.screen;
  const other = sharerId() && sharerId() !== String(S.participantId) ? S.hs.screen_share : null;
  ui.shareBtn.hidden = !mine && !canShare();
  const key = mine ? 'room.share_stop' : 'room.share_screen';
  replace(ui.shareBtn, icon(mine ? 'screenOff' : 'screen'), h('span', { class: 'ctl-text' }, t(key)));
  ui.shareBtn.dataset.sharing = mine ? '1' : '0';
  ui.shareBtn.setAttribute('aria-pressed', mine ? 'true' : 'false');
  ui.shareBtn.disabled = !mine && (!!other || S.phase !== 'joined' || !S.pc);
  const title = mine ? t('room.share_stop') : other ? t('room.share_busy', { name: other.name || '' }) : t('room.share_start_title');
  ui.shareBtn.title = title;
  ui.shareBtn.setAttribute('aria-label', mine ? t('room.share_stop') : t('room.share_screen'));
  if (ui.shareBar) {
    const on = !!(S.screen && S.screen.confirmed);
    const was = !ui.shareBar.hidden;
    ui.shareBar.hidden = !on;
    if (on) {
      replace(ui.shareBar,
        h('span', { class: 'share-dot', 'aria-hidden': 'true' }),
        h('span', null, t('room.sharing')),
        h('button', { type: 'button', class: 'btn btn-small share-stop', onclick: () => stopShare() }, t('room.share_stop')));
    }
    if (on !== was) measureBars();
  }
}

function toggleShare() {
  if (S.screen) stopShare();
  else startShare();
}

async function startShare() {
  if (S.screen || !S.pc || S.phase !== 'joined') return;
  const other = sharerId() && sharerId() !== String(S.participantId) ? S.hs.screen_share : null;
  if (other) { toast(t('room.share_busy', { name: other.name || '' })); return; }
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
  } catch (err) {
    log('getDisplayMedia:', err && err.name);
    toast(err && err.name === 'NotAllowedError' ? t('room.share_cancelled') : t('room.share_failed', { reason: (err && (err.message || err.name)) || '?' }));
    return;
  }
  const track = stream.getVideoTracks()[0];
  if (!track) return;
  if (S.screen || !S.pc || S.phase !== 'joined') { track.stop(); return; }
  try { track.contentHint = 'detail'; } catch (_) { /* older browsers */ }
  // The browser's own “stop sharing” ends the track.
  track.addEventListener('ended', () => { if (S.screen && S.screen.track === track) stopShare(); });
  S.screen = { stream, track, sender: null, confirmed: false };
  if (!send({ type: 'screen_share', active: true })) {
    S.screen = null;
    track.stop();
    toast(t('room.not_connected'));
  }
  updateShareControls();
  expose();
  // The track goes out once hearing_state names us (onHearingState → publishScreen).
}

/** hearing_state names us as the sharer: add the track and offer. */
function publishScreen() {
  const sc = S.screen;
  if (!sc || sc.confirmed) return;
  sc.confirmed = true;
  updateShareControls();
  expose();
  S.sig = S.sig.then(async () => {
    const pc = S.pc;
    if (!pc || S.screen !== sc) return;
    // Its own send-only m-line: addTrack would reuse a receiving transceiver the server
    // opened for someone else's camera.
    const tr = pc.addTransceiver(sc.track, { direction: 'sendonly', streams: [sc.stream] });
    sc.sender = tr.sender;
    if (WANT_CODEC === 'h264') preferH264(pc, tr);
    await renegotiate(pc);
  }).catch((err) => log('screen share:', err && (err.message || err)));
}

/** Stop our share: remove the track, offer again, tell the server. */
function stopShare(opts = {}) {
  const sc = S.screen;
  if (!sc) return;
  S.screen = null;
  try { sc.track.stop(); } catch (_) { /* ignore */ }
  updateShareControls();
  expose();
  if (opts.local) return; // the peer connection is going away anyway
  S.sig = S.sig.then(async () => {
    const pc = S.pc;
    if (pc && sc.sender && pc.signalingState !== 'closed') {
      try { pc.removeTrack(sc.sender); } catch (err) { log('removeTrack:', err && err.message); }
      await renegotiate(pc);
    }
    if (!opts.silent) send({ type: 'screen_share', active: false });
  }).catch((err) => log('stop sharing:', err && (err.message || err)));
}

/**
 * Codecs the SFU forwards (docs: VP8 or H.264; Opus), in the browser's order. Chrome lists
 * every codec it knows (VP9, AV1, H.265, RED, FEC…) on every m-line of an offer; with one
 * m-line per remote track a re-offer soon passes the server's 32 KiB SDP limit.
 */
function sfuCodecs(kind) {
  const caps = window.RTCRtpReceiver && RTCRtpReceiver.getCapabilities && RTCRtpReceiver.getCapabilities(kind);
  if (!caps) return null;
  const keep = kind === 'audio' ? /^audio\/opus$/i : /^video\/(vp8|h264|rtx)$/i;
  let list = caps.codecs.filter((c) => keep.test(c.mimeType));
  // H.264: the profile the SFU registers (constrained baseline, packetization-mode 1).
  const h264 = (c) => /^video\/h264$/i.test(c.mimeType);
  const best = list.filter((c) => h264(c) && /packetization-mode=1/.test(c.sdpFmtpLine || '') && /profile-level-id=42e01f/i.test(c.sdpFmtpLine || ''));
  if (best.length) list = list.filter((c) => !h264(c) || best.includes(c));
  return list.some((c) => !/rtx|telephone-event/i.test(c.mimeType)) ? list : null;
}

function trimCodecs(pc) {
  for (const tr of pc.getTransceivers()) {
    if (tr.stopped || tr.currentDirection === 'stopped' || typeof tr.setCodecPreferences !== 'function') continue;
    const kind = tr.receiver && tr.receiver.track ? tr.receiver.track.kind : null;
    if (!kind) continue;
    // The camera and screen keep the H.264-only preference set for ?codec=h264.
    if (WANT_CODEC === 'h264' && kind === 'video' && tr.sender && tr.sender.track) continue;
    const codecs = sfuCodecs(kind);
    if (!codecs) continue;
    try { tr.setCodecPreferences(codecs); } catch (err) { log('setCodecPreferences:', err && err.message); }
  }
}

/** New ICE credentials and candidates on the same connection (a new network path). */
function restartIce(pc) {
  if (pc !== S.pc || !['disconnected', 'failed'].includes(pc.iceConnectionState)) return;
  log('ICE restart');
  S.iceRestarts = (S.iceRestarts || 0) + 1;
  S.wantIceRestart = true;
  renegotiate(pc);
}

/** A new offer from our side (tracks added or removed); deferred while one is in flight. */
async function renegotiate(pc) {
  if (pc !== S.pc) return;
  if (pc.signalingState !== 'stable') { S.needOffer = true; return; }
  S.needOffer = false;
  trimCodecs(pc);
  const iceRestart = !!S.wantIceRestart;
  S.wantIceRestart = false;
  const offer = await pc.createOffer(iceRestart ? { iceRestart: true } : undefined);
  if (pc !== S.pc) return;
  await pc.setLocalDescription(offer);
  if (pc !== S.pc) return;
  log('offer', pc.localDescription.sdp.length, 'bytes,', pc.getTransceivers().length, 'm-lines');
  send({ type: 'offer', sdp: pc.localDescription.sdp });
}

function makeScreenTile() {
  const video = h('video', { class: 'tile-video screen-video', playsinline: true, autoplay: true, muted: true });
  video.muted = true;
  const lab = h('span', { class: 'tile-label' });
  const wait = h('div', { class: 'screen-wait' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { class: 'screen-wait-text' }));
  const tile = h('div', { class: 'screen-tile', hidden: true, role: 'region' },
    video, wait, h('div', { class: 'tile-bar' }, lab));
  tile.video = video;
  tile.labelEl = lab;
  tile.waitText = wait.querySelector('.screen-wait-text');
  const live = () => {
    if (video.videoWidth > 0) tile.dataset.live = '1';
    expose();
  };
  video.addEventListener('resize', live);
  video.addEventListener('loadeddata', live);
  video.addEventListener('playing', live);
  return tile;
}

/** The extra (non-camera) video track of a participant: the newest one. */
function screenTrackOf(p) {
  const extra = (p.videos || []).filter((v) => v.role === 'extra' && v.track.readyState !== 'ended');
  return extra.length ? extra[extra.length - 1].track : null;
}

/** Show or hide the large 屏幕共享 tile after hearing_state, tracks or caucus change. */
function updateScreenTile() {
  const tile = ui.screenTile;
  if (!tile || !ui.tiles) return;
  if (!tile.isConnected) ui.tiles.insertBefore(tile, ui.tiles.firstChild);
  else if (ui.tiles.firstChild !== tile) ui.tiles.insertBefore(tile, ui.tiles.firstChild);
  const ss = S.hs && S.hs.screen_share;
  const pid = sharerId();
  const p = pid && pid !== String(S.participantId) ? S.participants.get(pid) : null;
  const track = p && S.phase === 'joined' ? screenTrackOf(p) : null;
  const show = !!(p && !p.tile.hidden && S.phase === 'joined');
  if (!show) {
    if (!tile.hidden || tile.video.srcObject) {
      tile.hidden = true;
      tile.video.srcObject = null;
      delete tile.dataset.live;
      delete tile.dataset.participantId;
    }
    return;
  }
  const name = (ss && ss.name) || (p && p.info.name) || '';
  const text = t('room.screen_tile', { name });
  tile.labelEl.textContent = text;
  tile.setAttribute('aria-label', text);
  tile.waitText.textContent = t('room.screen_waiting');
  tile.dataset.participantId = pid;
  const cur = tile.video.srcObject && tile.video.srcObject.getVideoTracks()[0];
  if (track && cur !== track) {
    delete tile.dataset.live;
    tile.video.srcObject = new MediaStream([track]);
    tile.video.play().catch(() => {});
  } else if (!track && cur) {
    tile.video.srcObject = null;
    delete tile.dataset.live;
  }
  tile.hidden = false;
}

// ------------------------------------------------------------------ who is speaking (WebAudio level of remote audio)

function ensureAudioCtx() {
  if (audioCtx) return audioCtx;
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return null;
  try { audioCtx = new Ctx(); } catch (_) { audioCtx = null; }
  return audioCtx;
}

function watchSpeaking(p, track) {
  const ctx = ensureAudioCtx();
  if (!ctx) return;
  try {
    if (p.analyser) { try { p.analyserSrc.disconnect(); } catch (_) { /* ignore */ } }
    p.analyserSrc = ctx.createMediaStreamSource(new MediaStream([track]));
    p.analyser = ctx.createAnalyser();
    p.analyser.fftSize = 512;
    p.analyserSrc.connect(p.analyser);
    p.analyserBuf = new Uint8Array(p.analyser.fftSize);
  } catch (err) {
    log('level meter:', err && err.message);
  }
  if (!speakTimer) speakTimer = setInterval(pollSpeaking, SPEAK_EVERY_MS);
}

function pollSpeaking() {
  if (audioCtx && audioCtx.state === 'suspended') audioCtx.resume().catch(() => {});
  const now = Date.now();
  let changed = false;
  for (const [pid, p] of S.participants) {
    if (!p.analyser) continue;
    p.analyser.getByteTimeDomainData(p.analyserBuf);
    let sum = 0;
    for (let i = 0; i < p.analyserBuf.length; i++) { const v = (p.analyserBuf[i] - 128) / 128; sum += v * v; }
    const rms = Math.sqrt(sum / p.analyserBuf.length);
    if (rms > 0.02 && !p.info.audio_muted && !p.tile.hidden) S.lastSpoke.set(pid, now);
    const speaking = now - (S.lastSpoke.get(pid) || 0) < SPEAK_HOLD_MS;
    if (speaking !== S.speaking.has(pid)) {
      if (speaking) S.speaking.add(pid); else S.speaking.delete(pid);
      p.tile.dataset.speaking = speaking ? '1' : '0';
      changed = true;
    }
  }
  if (changed) expose();
}

function stopSpeaking() {
  clearInterval(speakTimer);
  speakTimer = null;
}

// A user gesture lets the audio context (and blocked sound) start.
document.addEventListener('pointerdown', () => {
  if (audioCtx && audioCtx.state === 'suspended') audioCtx.resume().catch(() => {});
}, { passive: true });

// ------------------------------------------------------------------ media

function audioOnlyAdvised() {
  try { return sessionStorage.getItem('yt_device_verdict') === 'audio_only'; } catch (_) { return false; }
}

async function openMedia(audioOnly) {
  S.mediaOpened = true;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    S.mediaMode = 'none';
    addNotice('room.no_media');
    return;
  }
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  try {
    if (audioOnly) throw Object.assign(new Error('audio only advised'), { name: 'AudioOnly' });
    S.localStream = await navigator.mediaDevices.getUserMedia({
      audio,
      // Browsers send three simulcast layers from 960×540 up; 960×720 keeps the tiles' 4:3
      // (layers 240×180, 480×360, 960×720).
      video: SIMULCAST
        ? { facingMode: 'user', width: { ideal: 960 }, height: { ideal: 720 }, frameRate: { ideal: 24, max: 30 } }
        : { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 } },
    });
    S.mediaMode = 'full';
  } catch (err) {
    log('camera+microphone refused:', err && err.name);
    try {
      S.localStream = await navigator.mediaDevices.getUserMedia({ audio });
      S.mediaMode = 'audio';
      addNotice(audioOnly ? 'room.audio_only_advised' : 'room.no_camera');
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

/** The camera: simulcast where the browser allows it, else one stream. */
function addCamera(pc, track, stream) {
  if (SIMULCAST) {
    try {
      pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], sendEncodings: SIMULCAST_LAYERS.map((l) => ({ ...l })) });
      S.simulcast = true;
      return;
    } catch (err) {
      log('simulcast not available:', err && err.message);
    }
  }
  S.simulcast = false;
  pc.addTrack(track, stream);
}

// ------------------------------------------------------------------ view sizes

/**
 * How tall each participant's video is shown, in device pixels, told to the server so it
 * forwards a layer no larger than needed (0 when the tile is hidden). Reported when it
 * changes by a tenth or more, a little after the layout settles.
 */

function reportViewSize(pid, height, force) {
  const last = viewSizes.sent.get(pid);
  const changed = last === undefined || (height === 0) !== (last === 0) || Math.abs(height - last) >= Math.max(16, last / 10);
  if (!force && !changed) return;
  if (send({ type: 'view_size', participant_id: pid, height })) viewSizes.sent.set(pid, height);
}

function measureViewSizes() {
  viewSizes.timer = null;
  const dpr = window.devicePixelRatio || 1;
  for (const [pid, p] of S.participants) {
    if (viewSizes.pinned.has(pid) || !p.tile) continue;
    const shown = p.tile.isConnected && !p.tile.hidden;
    const h = shown ? Math.round((p.tile.video.clientHeight || 0) * dpr) : 0;
    reportViewSize(pid, Math.min(h, 4320));
  }
}

function scheduleViewSizes() {
  if (!viewSizes.timer) viewSizes.timer = setTimeout(measureViewSizes, 300);
}

function watchViewSize(tile) {
  if (typeof ResizeObserver === 'function') {
    if (!viewSizes.observer) viewSizes.observer = new ResizeObserver(scheduleViewSizes);
    viewSizes.observer.observe(tile.video);
  }
  scheduleViewSizes();
}

/** Restrict the video sender to H.264 (+ RTX) before the offer; false if not possible. */
function preferH264(pc, transceiver) {
  const sendCaps = (window.RTCRtpSender && RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities('video')) || { codecs: [] };
  const recvCaps = (window.RTCRtpReceiver && RTCRtpReceiver.getCapabilities && RTCRtpReceiver.getCapabilities('video')) || { codecs: [] };
  const canSend = sendCaps.codecs.some((c) => /^video\/h264$/i.test(c.mimeType));
  const tr = transceiver || pc.getTransceivers().find((x) => x.sender && x.sender.track && x.sender.track.kind === 'video');
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
    // Audio only when the device check advised it, or when chosen before a reconnect.
    if (audioOnlyAdvised()) S.audioOnly = true;
    send(S.audioOnly ? { type: 'join', audio_only: true } : { type: 'join' });
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
  if (TERMINAL.includes(S.phase)) return;
  closePc();
  for (const p of S.participants.values()) {
    p.tile.video.srcObject = null;
    p.tile.audio.srcObject = null;
    delete p.tile.dataset.live;
  }
  S.participantId = null;
  if (S.phase === 'waiting') {
    updateWaitingRoom(); // stay in the waiting room while reconnecting
  } else {
    setPhase(S.everJoined ? 'reconnecting' : 'connecting');
  }
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
  S.needOffer = false;
  S.remoteOffers = 0;
  S.pendingCandidates = [];
  S.trackOwner.clear();
  // The server ends a share when our connection goes; so do we.
  if (S.screen) stopShare({ local: true });
  for (const p of S.participants.values()) p.videos = [];
  if (ui.screenTile) updateScreenTile();
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
      if (S.needOffer) await renegotiate(pc); // tracks changed while our last offer was out
      return;
    }
    case 'offer': {
      const pc = S.pc;
      if (!pc) return;
      // Glare: the server lets our offer win and sends its own again later.
      if (pc.signalingState === 'have-local-offer') return;
      await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      S.remoteOffers += 1;
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      send({ type: 'answer', sdp: pc.localDescription.sdp });
      if (S.needOffer) await renegotiate(pc);
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
      if (msg.level) {
        S.qualityBy.set(msg.participant_id, msg.level);
        if (chair && isStaff()) chair.quality(msg.participant_id, msg.level);
      }
      return;
    }
    case 'hearing_state': return onHearingState(msg);
    case 'waiting': {
      const wasIn = S.phase === 'joined';
      S.waiting = msg.reason === 'witness' ? 'witness' : 'admission';
      S.attempts = 0;
      if (wasIn) {
        // Sent back to the waiting room (a witness dismissed): drop media.
        closePc();
        stopLocal();
        for (const pid of [...S.participants.keys()]) removeParticipant(pid);
        toast(t('room.back_to_waiting'));
      }
      setPhase('waiting');
      return;
    }
    case 'admitted':
      S.waiting = null;
      S.screenReason = '';
      expose();
      return; // `joined` follows
    case 'denied':
      S.screenReason = msg.reason || '';
      finish('refused');
      return;
    case 'removed':
      S.screenReason = msg.reason || '';
      finish('removed');
      return;
    case 'reverify_requested': {
      finish('reverify');
      const url = partyUrl();
      if (url) setTimeout(() => location.assign(url), 1500);
      return;
    }
    case 'hearing_ended':
      if (S.hs) S.hs = { ...S.hs, ended: true, phase: 'closed' };
      finish('ended');
      return;
    case 'chair_mute': {
      const kind = msg.kind === 'video' ? 'video' : 'audio';
      S.held[kind] = !!msg.muted;
      const tr = S.localStream && (kind === 'audio' ? S.localStream.getAudioTracks()[0] : S.localStream.getVideoTracks()[0]);
      if (msg.muted) {
        if (tr) tr.enabled = false;
        if (kind === 'audio') S.micOn = false; else S.camOn = false;
        toast(t(kind === 'audio' ? 'room.chair_muted_audio' : 'room.chair_muted_video'));
      } else {
        toast(t(kind === 'audio' ? 'room.chair_released_audio' : 'room.chair_released_video'));
      }
      if (ui.micBtn) updateControls();
      expose();
      return;
    }
    case 'roster':
      S.roster = Array.isArray(msg.seats) ? msg.seats : [];
      // Raised hands show on the tiles too.
      for (const seat of S.roster) {
        if (!seat.participant_id) continue;
        const p = S.participants.get(seat.participant_id);
        if (p && !!p.info.hand_raised !== !!seat.hand_raised) { p.info.hand_raised = !!seat.hand_raised; updateTile(p); }
      }
      if (chair && isStaff() && ui.chair && ui.chair.isConnected) chair.render();
      expose();
      return;
    case 'help_message':
      S.help.push({ seat: msg.seat, name: msg.name, text: msg.text, at: msg.at });
      toast(t('room.help_received', { name: msg.name || msg.seat || '' }));
      if (chair && isStaff() && ui.chair && ui.chair.isConnected) chair.render();
      expose();
      return;
    case 'hand_raised': { // not in the protocol table; tolerated if the server adds it
      const p = S.participants.get(msg.participant_id);
      if (p) { p.info.hand_raised = !!msg.raised; updateTile(p); }
      return;
    }
    case 'recording_storage':
      if (chair && isStaff() && msg.notice) chair.storage(msg.notice);
      return;
    case 'document_push': return onDocumentPush(msg);
    case 'document_update':
      if (chair && isStaff() && chair.documentUpdate) chair.documentUpdate(msg.update || msg);
      return;
    case 'track_published':
      // A new copy for us on the server starts at a default size: say ours.
      if (msg.kind === 'video' && msg.participant_id) {
        viewSizes.sent.delete(msg.participant_id);
        const pinned = viewSizes.pinned.get(msg.participant_id);
        if (pinned !== undefined) reportViewSize(msg.participant_id, pinned, true);
        else scheduleViewSizes();
      }
      return;
    case 'track_unpublished':
    case 'pong':
      return;
    case 'error': {
      log('server error', msg.code, msg.message);
      if (msg.code === 'device_check_required' || msg.code === 'discipline_required') {
        finish('check_required');
        const url = partyUrl();
        if (url) setTimeout(() => location.assign(url), 1500);
        return;
      }
      if (msg.code === 'room_locked') { finish('locked'); return; }
      if (msg.code === 'removed') { S.screenReason = ''; finish('removed'); return; }
      if (msg.code === 'hearing_closed' && !S.everJoined && S.phase !== 'waiting') { finish('ended'); return; }
      if (msg.code === 'screen_share_busy') {
        if (S.screen && !S.screen.confirmed) stopShare({ local: true });
        const ss = S.hs && S.hs.screen_share;
        toast(ss && ss.name ? t('room.share_busy', { name: ss.name }) : t('room.share_busy_short'));
        return;
      }
      if (msg.code === 'mute_held') {
        toast(t('room.held_audio'));
        return;
      }
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

// ------------------------------------------------------------------ documents pushed to sign (issue 6)

/**
 * The chair pushed a document to our phone (当庭调解): the sign page opens in a full-screen
 * sheet over the room. The room keeps running underneath (media, socket, timers); closing
 * the sheet returns to it.
 */
function onDocumentPush(msg) {
  const id = Number(msg.document_id);
  if (!Number.isInteger(id) || id <= 0) return;
  closeDocSheet();
  const title = msg.title || t('sign.app');
  const page = '/sign/' + encodeURIComponent(id);
  ui.docSheet = h('div', { class: 'doc-sheet', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'doc-sheet-title', dataset: { documentId: String(id) } },
    h('div', { class: 'doc-sheet-head' },
      h('h2', { id: 'doc-sheet-title', class: 'doc-sheet-title' }, title),
      h('a', { class: 'btn btn-ghost btn-small doc-sheet-open', href: page, target: '_blank', rel: 'noopener' }, t('sign.open_new')),
      h('button', { type: 'button', class: 'btn btn-secondary btn-small doc-sheet-close', onclick: closeDocSheet }, t('room.close'))),
    h('iframe', { class: 'doc-sheet-frame', src: page + '?embed=1', title }));
  document.body.appendChild(ui.docSheet);
  document.body.classList.add('doc-sheet-open');
  toast(t('sign.pushed_toast', { title }));
  hook.docSheet = id;
}

function closeDocSheet() {
  if (ui.docSheet) ui.docSheet.remove();
  ui.docSheet = null;
  document.body.classList.remove('doc-sheet-open');
  hook.docSheet = null;
}

// The sign page in the sheet reports a signature or refusal.
window.addEventListener('message', (ev) => {
  if (ev.origin !== location.origin || !ev.data || ev.data.type !== 'yt-sign') return;
  toast(t(ev.data.done === 'refused' ? 'sign.refused_title' : (ev.data.status === 'effective' ? 'sign.effective_short' : 'sign.done_title')));
});

function onHearingState(msg) {
  const prev = S.hs;
  S.hs = { ...msg };
  if (prev && prev.phase !== msg.phase && msg.phase && S.phase === 'joined') {
    toast(t('room.phase_changed', { phase: msg.phase_label || phaseLabel(msg.phase) }));
  }
  if (prev && !prev.paused && msg.paused && S.phase === 'joined') toast(t('room.paused'));
  if (!prev || JSON.stringify(prev.case_numbers) !== JSON.stringify(msg.case_numbers)) {
    if (ui.caseLine && ui.caseLine.isConnected) relabel();
  }
  if (S.phase === 'waiting') updateWaitingRoom();
  else updateHearing();
  if (chair && isStaff() && (!prev || (prev.exhibit && prev.exhibit.id) !== (msg.exhibit && msg.exhibit.id))) chair.loadExhibits();
  onScreenShareState(prev && prev.screen_share, msg.screen_share);
  expose();
}

function onScreenShareState(before, now) {
  const me = S.participantId !== null ? String(S.participantId) : null;
  const was = before && before.participant_id ? String(before.participant_id) : null;
  const is = now && now.participant_id ? String(now.participant_id) : null;
  if (is && is === me) {
    if (S.screen) publishScreen();
    else send({ type: 'screen_share', active: false }); // a share we no longer have
  } else if (S.screen && S.screen.confirmed && is !== me) {
    // The server ended our share (we were away, or it refused): stop the capture.
    stopShare({ silent: true });
  }
  if (S.phase === 'joined' && was !== is) {
    if (is && is !== me) toast(t('room.share_started', { name: now.name || '' }));
    else if (!is && was && was !== me) toast(t('room.share_stopped'));
  }
  updateScreenTile();
  updateTileCount();
  updateShareControls();
}

async function onJoined(msg) {
  // A new seat on the server: it knows none of our view sizes yet.
  viewSizes.sent.clear();
  scheduleViewSizes();
  const wasReconnecting = S.phase === 'reconnecting';
  S.participantId = msg.participant_id;
  S.everJoined = true;
  S.attempts = 0;
  S.waiting = null;
  // Rebuild the participant list from the server's view.
  const present = new Set((msg.participants || []).map((p) => p.participant_id));
  for (const pid of [...S.participants.keys()]) if (!present.has(pid)) removeParticipant(pid);
  for (const info of msg.participants || []) upsertParticipant(info);
  setPhase('joined');
  updateHearing();
  if (wasReconnecting) toast(t('room.reconnected'));

  // Camera and microphone once admitted (observers only watch and listen).
  if (!S.mediaOpened && myRole() !== 'observer') {
    setPhase('media');
    await openMedia(audioOnlyAdvised());
    if (S.phase !== 'media') return; // the socket went away meanwhile
    setPhase('joined');
  }

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
  // A phone changing networks (Wi-Fi ↔ cellular) loses its path but not its signaling:
  // restart ICE on the same connection (new candidates, same media and seat) when the
  // path stays down for two seconds; a connection that fails outright starts over below.
  pc.oniceconnectionstatechange = () => {
    if (pc !== S.pc) return;
    clearTimeout(S.iceRestartTimer);
    if (pc.iceConnectionState === 'disconnected') {
      S.iceRestartTimer = setTimeout(() => restartIce(pc), 2000);
    }
  };
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
  if (v) addCamera(pc, v, stream);
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
  updateShareControls();
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
  if (track.kind === 'video') {
    // The first video track of a participant is its camera; later ones (a screen) are
    // extra. One that arrives while its owner shares and has no camera yet is extra too.
    p.videos = p.videos || [];
    const sharing = sharerId() === String(pid);
    const hasCamera = p.videos.some((v) => v.role === 'camera');
    const role = !hasCamera && !(sharing && S.remoteOffers >= 1) ? 'camera' : 'extra';
    p.videos.push({ track, role });
    if (role === 'extra') {
      const forget = () => {
        p.videos = (p.videos || []).filter((v) => v.track !== track);
        updateScreenTile();
        updateTileCount();
        expose();
      };
      track.addEventListener('ended', forget);
      if (stream) stream.addEventListener('removetrack', (e) => { if (e.track === track) forget(); });
      updateScreenTile();
      updateTileCount();
      expose();
      return;
    }
  }
  S.trackOwner.set(track.id, pid);
  const el = track.kind === 'video' ? p.tile.video : p.tile.audio;
  el.srcObject = new MediaStream([track]);
  if (track.kind === 'audio') {
    el.muted = p.tile.hidden;
    watchSpeaking(p, track);
  }
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

function stopStatsOnly() {
  clearInterval(statsTimer);
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
  // Camera and microphone are opened once admitted (onJoined): a party in the waiting
  // room is not on camera, and an observer never is.
  setPhase('connecting');
  connect();
}

onLangChange(() => relabel());
boot();
