// Device check before the hearing (docs/signaling.md, “Hearing procedure”): camera and
// microphone with a live preview and level meter, then round-trip time, download and
// upload speed against /api/netcheck/*. The figures go to
// POST /api/hearings/{id}/device-check, whose verdict (good / audio_only / cannot_join)
// decides whether the party may go on.
//
// renderDeviceCheck(container, {hearingId, onDone}) builds the whole step; onDone(result)
// is called with the server's answer when the party taps “下一步”.

import { t, pickMessage } from './i18n.js';
import { h, replace, api, errorText } from './common.js';

const PINGS = 5;
const MAX_KBPS = 1000000; // a loopback test can be faster than any figure worth sending
const DOWN_KB = 1024;
const UP_KB = 512;

/** Median of a list of numbers. */
function median(list) {
  const s = [...list].sort((a, b) => a - b);
  if (!s.length) return 0;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function ping() {
  const t0 = performance.now();
  const res = await fetch('/api/netcheck/ping', { credentials: 'same-origin', cache: 'no-store' });
  await res.text();
  if (!res.ok) throw new Error('ping ' + res.status);
  return performance.now() - t0;
}

/** Download kb KiB, calling progress(fraction). Returns kilobits per second. */
async function download(kb, progress) {
  const t0 = performance.now();
  const res = await fetch('/api/netcheck/blob?kb=' + kb, { credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) throw new Error('download ' + res.status);
  const total = kb * 1024;
  let got = 0;
  if (res.body && res.body.getReader) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      got += value.byteLength;
      progress(Math.min(1, got / total));
    }
  } else {
    got = (await res.arrayBuffer()).byteLength;
  }
  progress(1);
  const secs = Math.max(0.001, (performance.now() - t0) / 1000);
  return Math.min(MAX_KBPS, Math.round((got * 8) / 1000 / secs));
}

/** Upload kb KiB of random bytes with XHR (for progress). Returns kilobits per second. */
function upload(kb, progress) {
  return new Promise((resolve, reject) => {
    const body = new Uint8Array(kb * 1024);
    // Random-ish content so nothing on the way can compress it.
    for (let i = 0; i < body.length; i += 65536) crypto.getRandomValues(body.subarray(i, Math.min(body.length, i + 65536)));
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/netcheck/blob');
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    const t0 = performance.now();
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) progress(ev.loaded / ev.total); };
    xhr.onload = () => {
      if (xhr.status < 200 || xhr.status >= 300) { reject(new Error('upload ' + xhr.status)); return; }
      progress(1);
      const secs = Math.max(0.001, (performance.now() - t0) / 1000);
      resolve(Math.min(MAX_KBPS, Math.round((body.length * 8) / 1000 / secs)));
    };
    xhr.onerror = () => reject(new Error('upload network'));
    xhr.send(body);
  });
}

function row(key) {
  const value = h('span', { class: 'check-value' }, t('check.pending'));
  const el = h('li', { class: 'check-row', dataset: { check: key, state: 'pending' } },
    h('span', { class: 'check-mark', 'aria-hidden': 'true' }),
    h('span', { class: 'check-name' }, t('check.' + key)),
    value);
  el.set = (state, text) => {
    el.dataset.state = state;
    value.textContent = text;
  };
  return el;
}

/**
 * The device-check step. Everything stays in `container`; media tracks are stopped when
 * the step ends (the room asks for the camera again).
 */
export function renderDeviceCheck(container, { hearingId, onDone, audioOnlyHint }) {
  let stream = null;
  let audioCtx = null;
  let raf = 0;
  let heard = false;
  let running = false;
  let result = null;

  const video = h('video', { class: 'check-video', playsinline: true, autoplay: true, muted: true });
  video.muted = true;
  const camPlaceholder = h('div', { class: 'check-video-empty' }, t('check.camera_preview'));
  const preview = h('div', { class: 'check-preview' }, video, camPlaceholder);
  const meterBar = h('div', { class: 'meter-bar' });
  const meter = h('div', { class: 'meter', role: 'meter', 'aria-label': t('check.mic_level'), 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' }, meterBar);
  const meterHint = h('p', { class: 'muted small meter-hint' }, t('check.speak_hint'));
  const rows = { camera: row('camera'), microphone: row('microphone'), rtt: row('rtt'), down: row('down'), up: row('up') };
  const progressBar = h('div', { class: 'check-progress-bar' });
  const progressText = h('p', { class: 'check-progress-text', 'aria-live': 'polite' });
  const progress = h('div', { class: 'check-progress', hidden: true },
    h('div', { class: 'check-progress-track', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100' }, progressBar),
    progressText);
  const verdictBox = h('div', { class: 'verdict', hidden: true, role: 'status', 'aria-live': 'polite' });
  const startBtn = h('button', { type: 'button', class: 'btn btn-primary btn-block check-start' }, t('check.start'));
  const actions = h('div', { class: 'check-actions' }, startBtn);

  // The button and the verdict come right after the preview, within thumb reach; the
  // figures follow.
  replace(container,
    preview,
    h('div', { class: 'meter-wrap' }, h('span', { class: 'meter-label' }, t('check.mic_level')), meter),
    meterHint,
    progress,
    verdictBox,
    actions,
    h('ul', { class: 'check-list' }, Object.values(rows)));

  function setProgress(frac, key) {
    progress.hidden = false;
    const pct = Math.round(Math.max(0, Math.min(1, frac)) * 100);
    progressBar.style.width = pct + '%';
    progressBar.parentElement.setAttribute('aria-valuenow', String(pct));
    progressText.textContent = t(key) + ' ' + pct + '%';
  }

  function stopMedia() {
    cancelAnimationFrame(raf);
    raf = 0;
    if (stream) for (const tr of stream.getTracks()) tr.stop();
    stream = null;
    video.srcObject = null;
    if (audioCtx) { audioCtx.close().catch(() => {}); audioCtx = null; }
  }

  function startMeter(track) {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      audioCtx = new Ctx();
      const src = audioCtx.createMediaStreamSource(new MediaStream([track]));
      const an = audioCtx.createAnalyser();
      an.fftSize = 512;
      src.connect(an);
      const buf = new Uint8Array(an.fftSize);
      const loop = () => {
        if (!audioCtx) return;
        an.getByteTimeDomainData(buf);
        let sum = 0;
        for (let i = 0; i < buf.length; i++) { const v = (buf[i] - 128) / 128; sum += v * v; }
        const rms = Math.sqrt(sum / buf.length);
        const level = Math.min(100, Math.round(rms * 300));
        meterBar.style.width = level + '%';
        meter.setAttribute('aria-valuenow', String(level));
        meter.dataset.level = String(level);
        if (level > 4 && !heard) {
          heard = true;
          rows.microphone.set('ok', t('check.mic_heard'));
          meterHint.textContent = t('check.mic_heard');
        }
        raf = requestAnimationFrame(loop);
      };
      loop();
    } catch (_) { /* no level meter: the track is still tested */ }
  }

  async function testMedia() {
    let camera = false;
    let microphone = false;
    const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      rows.camera.set('bad', t('check.unsupported'));
      rows.microphone.set('bad', t('check.unsupported'));
      return { camera, microphone };
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio, video: audioOnlyHint ? false : { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 } } });
    } catch (_) {
      try { stream = await navigator.mediaDevices.getUserMedia({ audio }); } catch (_) { stream = null; }
    }
    if (stream) {
      const v = stream.getVideoTracks()[0];
      const a = stream.getAudioTracks()[0];
      if (v) {
        camera = true;
        video.srcObject = new MediaStream([v]);
        video.play().catch(() => {});
        camPlaceholder.hidden = true;
        preview.dataset.live = '1';
        rows.camera.set('ok', t('check.ok'));
      } else {
        rows.camera.set('bad', t('check.camera_denied'));
      }
      if (a) {
        microphone = true;
        rows.microphone.set(heard ? 'ok' : 'ok', heard ? t('check.mic_heard') : t('check.ok'));
        startMeter(a);
      } else {
        rows.microphone.set('bad', t('check.mic_denied'));
      }
    } else {
      rows.camera.set('bad', t('check.camera_denied'));
      rows.microphone.set('bad', t('check.mic_denied'));
    }
    return { camera, microphone };
  }

  async function testNetwork() {
    const out = { rtt_ms: 0, down_kbps: 0, up_kbps: 0 };
    // 0–20 %: round trips; 20–60 %: download; 60–100 %: upload.
    const rtts = [];
    rows.rtt.set('busy', t('check.testing'));
    setProgress(0, 'check.testing_rtt');
    for (let i = 0; i < PINGS; i++) {
      try { rtts.push(await ping()); } catch (_) { /* counted as missing */ }
      setProgress(((i + 1) / PINGS) * 0.2, 'check.testing_rtt');
    }
    if (rtts.length) {
      out.rtt_ms = Math.round(median(rtts));
      rows.rtt.set(out.rtt_ms <= 300 ? 'ok' : 'warn', out.rtt_ms + ' ms');
    } else {
      out.rtt_ms = 10000;
      rows.rtt.set('bad', t('check.failed'));
    }
    rows.down.set('busy', t('check.testing'));
    try {
      out.down_kbps = await download(DOWN_KB, (f) => setProgress(0.2 + f * 0.4, 'check.testing_down'));
      rows.down.set(out.down_kbps >= 500 ? 'ok' : 'warn', fmtKbps(out.down_kbps));
    } catch (_) {
      rows.down.set('bad', t('check.failed'));
    }
    rows.up.set('busy', t('check.testing'));
    try {
      out.up_kbps = await upload(UP_KB, (f) => setProgress(0.6 + f * 0.4, 'check.testing_up'));
      rows.up.set(out.up_kbps >= 300 ? 'ok' : 'warn', fmtKbps(out.up_kbps));
    } catch (_) {
      rows.up.set('bad', t('check.failed'));
    }
    setProgress(1, 'check.testing_done');
    return out;
  }

  function showVerdict(r) {
    const verdict = r.verdict || 'cannot_join';
    verdictBox.hidden = false;
    verdictBox.dataset.verdict = verdict;
    const retry = h('button', { type: 'button', class: 'btn btn-secondary btn-block check-retry', onclick: start }, t('check.retry'));
    const next = h('button', { type: 'button', class: 'btn btn-primary btn-block check-next', onclick: () => { stopMedia(); onDone(r); } },
      t(verdict === 'audio_only' ? 'check.next_audio' : 'check.next'));
    replace(verdictBox,
      h('div', { class: 'verdict-icon', 'aria-hidden': 'true' }, verdict === 'good' ? '✓' : '!'),
      h('div', null,
        h('strong', { class: 'verdict-title' }, t('check.verdict.' + verdict)),
        r.message ? h('p', null, pickMessage(r.message)) : null,
        verdict === 'good' ? null : h('p', { class: 'small' }, t('check.verdict_hint.' + verdict))));
    replace(actions, verdict === 'cannot_join' ? null : next, retry);
  }

  async function start() {
    if (running) return;
    running = true;
    result = null;
    stopMedia();
    heard = false;
    for (const r of Object.values(rows)) r.set('pending', t('check.pending'));
    verdictBox.hidden = true;
    replace(actions, h('button', { type: 'button', class: 'btn btn-primary btn-block', disabled: true }, t('check.running')));
    try {
      const media = await testMedia();
      const net = await testNetwork();
      const figures = { camera: media.camera, microphone: media.microphone, ...net };
      result = await api('POST', '/api/hearings/' + encodeURIComponent(hearingId) + '/device-check', figures);
      showVerdict(result || {});
    } catch (err) {
      verdictBox.hidden = false;
      verdictBox.dataset.verdict = 'error';
      replace(verdictBox, h('div', { class: 'verdict-icon', 'aria-hidden': 'true' }, '!'), h('div', null, h('strong', null, t('check.error')), h('p', null, errorText(err))));
      replace(actions, h('button', { type: 'button', class: 'btn btn-primary btn-block check-retry', onclick: start }, t('check.retry')));
    } finally {
      running = false;
    }
  }

  startBtn.addEventListener('click', start);
  return { stop: stopMedia };
}

function fmtKbps(kbps) {
  if (kbps >= 1000) return (kbps / 1000).toFixed(1) + ' Mbps';
  return kbps + ' kbps';
}
