// Browser test of the hearing room (/room/{id}) against a running `yunting serve --dev`:
// three real Chromium participants (clerk, respondent, agent) in separate contexts, real
// WebRTC through the SFU. Never downloads a browser: uses Debian's chromium.
//
//   YT_BASE=http://127.0.0.1:18080 YT_DEMO=/path/demo.json node tests/browser/room.mjs
//
// The parties record a device check and the discipline over HTTP, wait in the waiting room
// and are admitted by the clerk from the chair console (issue 4).
// Run 1 uses Chrome's default video codec (VP8), run 2 reloads with ?codec=h264. If this
// Chromium cannot encode H.264, run 2 fails and says so. Screenshots go to
// tests/browser/screenshots/room-*.png. The last line is `room: N passed, M failed`.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const shotsDir = path.join(here, 'screenshots');
const CHROMIUM = process.env.YT_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 20000;
const RECORDING_NOTICE = '本庭审全程录音录像';
const ROLE_ZH = { presiding_arbitrator: '首席仲裁员', arbitrator: '仲裁员', clerk: '书记员', mediator: '调解员', applicant: '申请人', respondent: '被申请人', agent: '委托代理人', witness: '证人', observer: '旁听人员' };
const ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

let passed = 0;
let failed = 0;
const failures = [];

function finish(code) {
  console.log(`room: ${passed} passed, ${failed} failed`);
  process.exit(code);
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const BASE = (process.env.YT_BASE || '').replace(/\/+$/, '');
const DEMO_PATH = process.env.YT_DEMO || '';
if (!BASE || !DEMO_PATH) {
  console.error('set YT_BASE (e.g. http://127.0.0.1:18080) and YT_DEMO (path to the JSON printed by `yunting demo`)');
  failed = 1;
  finish(1);
}
if (BASE.startsWith('https:')) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

let demo;
try {
  demo = JSON.parse(fs.readFileSync(DEMO_PATH, 'utf8'));
} catch (err) {
  console.error(`cannot read YT_DEMO ${DEMO_PATH}: ${err.message}`);
  failed = 1;
  finish(1);
}
fs.mkdirSync(shotsDir, { recursive: true });

const hearingId = demo.hearing && demo.hearing.id;
const clerk = (demo.staff || []).find((s) => s.role === 'clerk' || s.username === 'clerk');
const respondentInv = (demo.invitations || [])[1];
const agentInv = (demo.invitations || [])[2];

function tokenOf(inv) {
  const m = /\/j\/([^/?#]+)\/?$/.exec(new URL(inv.url).pathname);
  assert(m, `invitation url has no /j/<token> path: ${inv.url}`);
  return m[1];
}

function digits(phone) {
  return String(phone || '').replace(/\D/g, '').slice(-11);
}

async function outbox() {
  const res = await fetch(BASE + '/dev/outbox');
  assert(res.ok, `GET /dev/outbox answered ${res.status} (is the server running with --dev?)`);
  const data = await res.json();
  assert(data && Array.isArray(data.items), 'GET /dev/outbox: no items array');
  return data.items;
}

async function outboxFor(phone) {
  return (await outbox()).filter((m) => digits(m.recipient) === digits(phone))
    .sort((a, b) => (Number(b.id) || 0) - (Number(a.id) || 0));
}

function codeIn(msg) {
  const m = /(?<!\d)(\d{6})(?!\d)/.exec(String(msg.body || ''));
  assert(m, `outbox message has no 6-digit code: ${JSON.stringify(msg.body)}`);
  return m[1];
}

/** identity → newest code from the dev outbox → verify, all with the context's cookie jar. */
async function verifyParty(ctx, inv) {
  const token = encodeURIComponent(tokenOf(inv));
  const before = await outboxFor(inv.phone);
  const beforeId = before.length ? Number(before[0].id) || 0 : -Infinity;
  const identity = () => ctx.request.post(`${BASE}/api/j/${token}/identity`, { data: { name: inv.name, id_last6: inv.id_last6 } });
  let r = await identity();
  let code;
  if (r.status() === 429 && before.length) {
    // Another test asked for a code less than 60 s ago: that code is still valid, unless used.
    const v = await ctx.request.post(`${BASE}/api/j/${token}/verify`, { data: { code: codeIn(before[0]) } });
    if (v.ok()) return;
    const deadline = Date.now() + 65000;
    while (r.status() === 429 && Date.now() < deadline) {
      await sleep(5000);
      r = await identity();
    }
  }
  {
    assert(r.ok(), `POST identity for ${inv.role} answered ${r.status()}: ${await r.text()}`);
    const deadline = Date.now() + 10000;
    for (;;) {
      const mine = (await outboxFor(inv.phone)).filter((m) => (Number(m.id) || 0) > beforeId);
      if (mine.length) { code = codeIn(mine[0]); break; }
      if (Date.now() > deadline) throw new Error(`no new outbox message to ${inv.phone} within 10 s`);
      await sleep(250);
    }
  }
  const v = await ctx.request.post(`${BASE}/api/j/${token}/verify`, { data: { code } });
  assert(v.ok(), `POST verify for ${inv.role} answered ${v.status()}: ${await v.text()}`);
  const cookies = await ctx.cookies(BASE);
  assert(cookies.some((c) => c.name === 'yt_session'), `no yt_session cookie in the ${inv.role} context after verify`);
}

/** Issue 4: a party records a device check and acknowledges the discipline before joining. */
async function checksOverHttp(ctx, who) {
  const d = await ctx.request.post(`${BASE}/api/hearings/${hearingId}/device-check`, { data: { camera: true, microphone: true, rtt_ms: 20, down_kbps: 20000, up_kbps: 10000 } });
  assert(d.ok(), `${who}: POST device-check answered ${d.status()}: ${await d.text()}`);
  const a = await ctx.request.post(`${BASE}/api/hearings/${hearingId}/discipline`, { data: {} });
  assert(a.ok(), `${who}: POST discipline answered ${a.status()}: ${await a.text()}`);
}

/**
 * Parties wait in the waiting room (候审室) until staff admit them: the clerk admits every
 * party page that is waiting from the chair console. A seat admitted before comes back
 * without waiting, so nothing waiting is fine.
 */
async function admitWaiting(clerkPage, parties) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const states = await Promise.all(parties.map((p) => p.page.evaluate(() => (window.__yt || {}).state).catch(() => null)));
    if (states.every((s) => s === 'joined' || s === 'media')) return;
    for (let i = 0; i < parties.length; i++) {
      if (states[i] !== 'waiting') continue;
      const entry = clerkPage.locator(`.waiting-entry[data-role="${parties[i].role}"] .btn-admit`);
      if (await entry.count()) await entry.first().click().catch(() => {});
    }
    if (Date.now() > deadline) throw new Error(`parties not admitted within ${TIMEOUT / 1000} s: states ${states.join(', ')}`);
    await sleep(300);
  }
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shotsDir, name), fullPage: false });
}

function watch(page, who, sink) {
  page.on('pageerror', (err) => sink.push(`${who}: page error: ${err.message}`));
  page.on('console', (msg) => {
    const text = msg.text();
    if (process.env.YT_VERBOSE) console.log(`  [${who} console.${msg.type()}] ${text}`);
    if (msg.type() === 'error' && !/Failed to load resource/.test(text)) sink.push(`${who}: console error: ${text}`);
  });
}

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name}`);
    return true;
  } catch (err) {
    failed += 1;
    failures.push(name);
    console.log(`not ok - ${name}: ${err && err.message ? err.message.split('\n').slice(0, 3).join(' | ') : err}`);
    if (onFailure) await onFailure().catch(() => {});
    return false;
  }
}

/** Set once the pages are up: prints what the server and the senders see. */
let onFailure = null;

/** What a page shows and receives, read in the page. */
async function roomState(page) {
  return page.evaluate(async () => {
    const yt = window.__yt || {};
    const tiles = [...document.querySelectorAll('.tile')].map((el) => {
      const v = el.querySelector('video');
      const q = v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
      const vt = v && v.srcObject && v.srcObject.getVideoTracks ? v.srcObject.getVideoTracks()[0] : null;
      return {
        pid: el.dataset.participantId,
        label: (el.querySelector('.tile-label') || {}).textContent || '',
        width: v ? v.videoWidth : 0,
        frames: q ? q.totalVideoFrames : 0,
        track: vt ? vt.id : null,
        element: v ? { paused: v.paused, readyState: v.readyState, trackState: vt && vt.readyState, trackMuted: vt && vt.muted } : null,
        audioMuted: el.dataset.audioMuted,
        reconnecting: el.dataset.reconnecting,
      };
    });
    const inbound = [];
    const outbound = [];
    if (yt.pc) {
      const stats = await yt.pc.getStats();
      stats.forEach((r) => {
        if (r.kind !== 'video' || !r.codecId) return;
        const c = stats.get(r.codecId);
        if (r.type === 'inbound-rtp') {
          inbound.push({
            codec: c && c.mimeType, frames: r.framesDecoded || 0, track: r.trackIdentifier, ssrc: r.ssrc,
            packets: r.packetsReceived, lost: r.packetsLost, keyframes: r.keyFramesDecoded, dropped: r.framesDropped,
            nacks: r.nackCount, plis: r.pliCount, firs: r.firCount, freezes: r.freezeCount, width: r.frameWidth,
          });
        }
        if (r.type === 'outbound-rtp') outbound.push({ codec: c && c.mimeType, frames: r.framesEncoded || 0 });
      });
    }
    return {
      state: yt.state, participantId: yt.participantId, codec: yt.codec, codecUnavailable: yt.codecUnavailable,
      quality: (document.querySelector('.quality-text') || {}).textContent || '',
      text: document.body.innerText, tiles, inbound, outbound,
    };
  });
}

/** Every tile of `p` decodes new frames within `ms` (after a path change). */
async function waitFramesGrow(p, ms) {
  const frames = () => p.page.evaluate(() => Object.fromEntries([...document.querySelectorAll('.tile')].map((el) => {
    const v = el.querySelector('video');
    return [el.dataset.participantId, v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0];
  })));
  const start = await frames();
  const deadline = Date.now() + ms;
  let now = start;
  while (Date.now() < deadline) {
    await sleep(250);
    now = await frames();
    if (Object.keys(start).every((pid) => now[pid] > start[pid] + 2)) return;
  }
  throw new Error(`${p.who}: video did not resume within ${ms} ms: ${JSON.stringify(start)} → ${JSON.stringify(now)}`);
}

async function waitForTiles(page, n, who) {
  try {
    await page.waitForFunction((n) => {
      const yt = window.__yt || {};
      const tiles = [...document.querySelectorAll('.tile')];
      return yt.state === 'joined' && tiles.length === n && tiles.every((el) => {
        const v = el.querySelector('video');
        return v && v.videoWidth > 0;
      });
    }, n, { timeout: TIMEOUT, polling: 250 });
  } catch (_) {
    const s = await roomState(page).catch(() => null);
    throw new Error(`${who}: expected ${n} remote tiles with video within ${TIMEOUT / 1000} s; state=${s && s.state} tiles=${s && JSON.stringify(s.tiles)} inbound=${s && JSON.stringify(s.inbound)}`);
  }
}

async function assertRoom(p, others, wantCodec, errors) {
  await waitForTiles(p.page, others.length, p.who);
  const a = await roomState(p.page);
  await sleep(2000);
  const b = await roomState(p.page);
  assert(b.text.includes(RECORDING_NOTICE), `${p.who}: recording notice “${RECORDING_NOTICE}” not shown`);
  assert(b.tiles.length === others.length, `${p.who}: ${b.tiles.length} tiles, expected ${others.length}`);
  for (const t of b.tiles) {
    const before = a.tiles.find((x) => x.pid === t.pid);
    assert(t.width > 0, `${p.who}: tile ${t.pid} (${t.label}) has videoWidth 0`);
    const rtp = (st, tile) => JSON.stringify(st.inbound.find((i) => tile && i.track === tile.track) || null);
    assert(before && t.frames > before.frames, `${p.who}: tile ${t.pid} (${t.label}) totalVideoFrames did not grow over 2 s (${before && before.frames} → ${t.frames}); `
      + `element ${JSON.stringify(t.element)}; inbound-rtp ${rtp(a, before)} → ${rtp(b, t)}`);
  }
  for (const o of others) {
    const want = `${ROLE_ZH[o.role]} · ${o.name}`;
    assert(b.tiles.some((t) => t.label === want), `${p.who}: no tile labelled “${want}” (labels: ${b.tiles.map((t) => t.label).join(', ')})`);
  }
  const codecs = b.inbound.map((i) => i.codec);
  assert(codecs.length >= others.length, `${p.who}: ${codecs.length} inbound video streams in getStats, expected ${others.length}`);
  const live = b.inbound.filter((i) => i.frames > 0);
  assert(live.length >= others.length, `${p.who}: only ${live.length} inbound video streams decode frames`);
  assert(live.every((i) => i.codec && i.codec.toLowerCase() === wantCodec.toLowerCase()),
    `${p.who}: negotiated inbound video codecs are ${live.map((i) => i.codec).join(', ')}, expected ${wantCodec}`);
  assert(b.outbound.length && b.outbound.every((o) => o.codec && o.codec.toLowerCase() === wantCodec.toLowerCase()),
    `${p.who}: outbound video codec is ${b.outbound.map((o) => o.codec).join(', ') || 'none'}, expected ${wantCodec}`);
  assert(!errors.length, errors.join('; '));
}

async function main() {
  assert(hearingId, 'demo JSON has no hearing.id');
  assert(clerk && clerk.username && clerk.password, 'demo JSON has no clerk in staff[]');
  assert(respondentInv && respondentInv.role === 'respondent', `demo invitations[1] is not the respondent (${respondentInv && respondentInv.role})`);
  assert(agentInv && agentInv.role === 'agent', `demo invitations[2] is not the agent (${agentInv && agentInv.role})`);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  const errors = [];
  try {
    const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
    const common = { locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ignoreHTTPSErrors: true };
    const people = [
      { who: 'clerk', role: 'clerk', name: clerk.display_name, opts: { viewport: { width: 1280, height: 800 } } },
      { who: 'respondent', role: 'respondent', name: respondentInv.name, inv: respondentInv, opts: phone },
      { who: 'agent', role: 'agent', name: agentInv.name, inv: agentInv, opts: phone },
    ];
    for (const p of people) {
      p.ctx = await browser.newContext({ ...common, ...p.opts });
      p.ctx.setDefaultTimeout(TIMEOUT);
      await p.ctx.grantPermissions(['camera', 'microphone'], { origin: BASE });
    }
    const others = (p) => people.filter((o) => o !== p);
    const roomUrl = (q) => `${BASE}/room/${hearingId}${q || ''}`;

    const signedIn = await check('sign in: clerk logs in, respondent and agent verify by SMS code', async () => {
      const c = people[0];
      const r = await c.ctx.request.post(`${BASE}/api/auth/login`, { data: { username: clerk.username, password: clerk.password } });
      assert(r.ok(), `POST /api/auth/login answered ${r.status()}: ${await r.text()}`);
      assert((await c.ctx.cookies(BASE)).some((k) => k.name === 'yt_session'), 'no yt_session cookie in the clerk context after login');
      await verifyParty(people[1].ctx, respondentInv);
      await verifyParty(people[2].ctx, agentInv);
      await checksOverHttp(people[1].ctx, 'respondent');
      await checksOverHttp(people[2].ctx, 'agent');
    });
    if (!signedIn) return;

    await check('a context without a session is refused with 无权进入本庭审', async () => {
      const ctx = await browser.newContext({ ...common, ...phone });
      try {
        await ctx.grantPermissions(['camera', 'microphone'], { origin: BASE });
        const pg = await ctx.newPage();
        await pg.goto(roomUrl());
        await pg.locator('[data-screen="denied"]').waitFor({ state: 'visible' });
        const text = await pg.locator('main').innerText();
        assert(text.includes('无权进入本庭审'), `denied screen says: ${text}`);
        await shot(pg, 'room-denied.png');
      } finally {
        await ctx.close();
      }
    });

    for (const p of people) {
      p.page = await p.ctx.newPage();
      watch(p.page, p.who, errors);
    }
    onFailure = async () => {
      const st = await (await people[0].ctx.request.get(`${BASE}/api/hearings/${hearingId}/stats`)).json();
      for (const p of st.participants || []) {
        console.log(`  # server: ${p.participant_id} est ${p.estimate_bps} loss ${p.loss_permille}‰; publishes ${JSON.stringify((p.published || []).map((t) => [t.kind, t.packets, t.bitrate_bps, (t.layers || []).map((l) => l.bitrate_bps)]))}; receives ${JSON.stringify((p.subscribed || []).map((t) => [t.publisher, t.kind, t.packets, t.layer, t.target_layer, t.display_height]))}`);
      }
      for (const p of people) console.log(`  # ${p.who} sends: ` + JSON.stringify(await p.page.evaluate(() => window.__yt.sendStats && window.__yt.sendStats())));
    };

    // ---------------------------------------------------------------- run 1: default (VP8)
    await Promise.all(people.map((p) => p.page.goto(roomUrl())));
    await check('admission: the parties wait in 候审室 and the clerk admits them from the chair console', async () => {
      await people[0].page.waitForFunction(() => window.__yt && window.__yt.state === 'joined', null, { timeout: TIMEOUT });
      await admitWaiting(people[0].page, people.slice(1));
    });
    for (const p of people) {
      await check(`VP8: ${p.who} sees two live tiles labelled with the others, codec video/VP8`, async () => {
        await assertRoom(p, others(p), 'video/VP8', errors);
      });
    }
    await check('simulcast: every browser offers its camera in three layers, the server receives them (at least two), and knows how tall each tile shows each video', async () => {
      const c = people[0];
      const deadline = Date.now() + 15000;
      let problem = 'no stats yet';
      while (Date.now() < deadline) {
        const st = await (await c.ctx.request.get(`${BASE}/api/hearings/${hearingId}/stats`)).json();
        const sent = await c.page.evaluate(() => window.__yt.viewSizes);
        const me = await c.page.evaluate(() => window.__yt.participantId);
        const parts = st.participants || [];
        const videos = parts.map((p) => (p.published || []).find((t) => t.kind === 'video'));
        const mine = (parts.find((p) => p.participant_id === me) || {}).subscribed || [];
        problem = null;
        // Each browser offers three layers; whether it sends the top one is its own
        // uplink estimate's call (on two shared cores it sometimes holds it back).
        const offered = await Promise.all(people.map((p) => p.page.evaluate(() => window.__yt.sendStats())));
        if (offered.some((o) => !o || o.layers.length !== 3)) {
          problem = `a browser does not offer three layers: ${JSON.stringify(offered)}`;
        } else if (parts.length < 3 || videos.some((v) => !v || (v.layers || []).length < 2)) {
          problem = `published layers: ${JSON.stringify(videos.map((v) => v && v.layers))}`;
        } else {
          for (const t of mine.filter((x) => x.kind === 'video')) {
            const told = sent[t.publisher];
            if (!told || Math.abs(t.display_height - told) > 1) problem = `clerk shows ${t.publisher} at ${told} px, server has ${t.display_height}`;
          }
        }
        if (!problem) {
          console.log(`  # layers of each camera (rid bitrate height): ${videos.map((v) => v.layers.map((l) => `${l.rid} ${Math.round(l.bitrate_bps / 1000)}k ${l.height}`).join(' / ')).join(' | ')}; clerk's tiles: ${JSON.stringify(sent)}`);
          return;
        }
        await sleep(500);
      }
      throw new Error(problem);
    });
    await check('no heap allocation per packet: with three browsers publishing simulcast (header extensions on every packet), the server\'s per-packet path allocates less than once per 10 forwarded packets (what it does allocate is a buffer block now and then, not anything per packet)', async () => {
      const metrics = async () => {
        const text = await (await people[0].ctx.request.get(`${BASE}/metrics`)).text();
        const get = (name) => Number((text.match(new RegExp(`^${name} (\\d+)$`, 'm')) || [])[1]);
        return { fwd: get('yunting_sfu_rtp_packets_forwarded'), path: get('yunting_sfu_forwarding_heap_allocations'), all: get('yunting_sfu_loop_heap_allocations') };
      };
      const a = await metrics();
      await sleep(3000);
      const b = await metrics();
      const fwd = b.fwd - a.fwd;
      const perPacket = (b.path - a.path) / fwd;
      console.log(`  # ${fwd} packets forwarded in 3 s; allocations on the per-packet path ${b.path - a.path} (${perPacket.toFixed(4)} per packet), on the media loops in all ${b.all - a.all}`);
      assert(Number.isFinite(perPacket) && fwd > 300, `metrics: ${JSON.stringify([a, b])}`);
      // The counter is live (RTCP and timers allocate): a low path figure is not a server that counts nothing.
      assert(b.all - a.all > 0, `no allocation counted on the media loops: ${JSON.stringify([a, b])}`);
      // Packets are cut from blocks at three stages (received: 256 KiB; decrypted and
      // encrypted per subscriber: 64 KiB): two allocations per block, about one per 15
      // forwarded packets of 1 Mbps simulcast here. 17 allocations per packet before.
      assert(perPacket < 0.1, `${b.path - a.path} allocations on the per-packet path for ${fwd} forwarded packets`);
    });
    await check('simulcast: the layer follows the size a video is shown at (100 px: the smallest layer; 480 px: a larger one), switching on a keyframe', async () => {
      const [c, resp] = [people[0], people[1]];
      const respId = await resp.page.evaluate(() => window.__yt.participantId);
      const cam = await resp.page.evaluate(() => window.__yt.localStream.getVideoTracks()[0].getSettings());
      const widthOf = () => c.page.evaluate((pid) => {
        const v = document.querySelector(`.tile[data-participant-id="${pid}"] video`);
        return v ? v.videoWidth : 0;
      }, respId);
      await c.page.evaluate((pid) => window.__yt.viewSize(pid, 100), respId);
      const small = Math.round(cam.width / 4);
      await c.page.waitForFunction(([pid, w]) => {
        const v = document.querySelector(`.tile[data-participant-id="${pid}"] video`);
        return v && v.videoWidth === w;
      }, [respId, small], { timeout: 15000 }).catch(async () => {
        throw new Error(`at 100 px the clerk decodes ${await widthOf()} px wide, want ${small} (camera ${cam.width}×${cam.height})`);
      });
      await c.page.evaluate((pid) => window.__yt.viewSize(pid, 480), respId);
      await c.page.waitForFunction(([pid, w]) => {
        const v = document.querySelector(`.tile[data-participant-id="${pid}"] video`);
        return v && v.videoWidth > w;
      }, [respId, small], { timeout: 15000 }).catch(async () => {
        throw new Error(`at 480 px the clerk still decodes ${await widthOf()} px wide`);
      });
      console.log(`  # camera ${cam.width}×${cam.height}: 100 px → ${small} wide; 480 px → ${await widthOf()} wide`);
      await shot(c.page, 'room-simulcast-clerk.png');
      // Back to measuring the tile itself.
      await c.page.evaluate((pid) => window.__yt.viewSize(pid, 360), respId);
    });
    await check('VP8: connection-quality indicator shows 良好/一般/较差', async () => {
      await people[1].page.waitForFunction(() => /良好|一般|较差/.test((document.querySelector('.quality-text') || {}).textContent || ''), null, { timeout: 8000 });
    });
    await shot(people[0].page, 'room-vp8-clerk.png');
    await shot(people[1].page, 'room-vp8-respondent.png');
    await shot(people[2].page, 'room-vp8-agent.png');

    await check('mute: respondent turns the microphone off, the clerk sees it; and on again', async () => {
      const [clerkP, resp] = [people[0], people[1]];
      const respId = await resp.page.evaluate(() => window.__yt.participantId);
      await resp.page.locator('.ctl-mic').tap();
      assert(await resp.page.evaluate(() => window.__yt.localStream.getAudioTracks()[0].enabled === false), 'local audio track still enabled after tapping the microphone button');
      await clerkP.page.locator(`.tile[data-participant-id="${respId}"][data-audio-muted="1"] .tile-icon`).waitFor({ state: 'visible', timeout: 5000 });
      await shot(resp.page, 'room-muted-respondent.png');
      await shot(clerkP.page, 'room-muted-clerk.png');
      await resp.page.locator('.ctl-mic').tap();
      await clerkP.page.locator(`.tile[data-participant-id="${respId}"][data-audio-muted="0"]`).waitFor({ state: 'attached', timeout: 5000 });
    });

    await check('360 px: no horizontal scroll in the room', async () => {
      const pg = people[2].page;
      await pg.setViewportSize({ width: 360, height: 740 });
      await sleep(300);
      const { sw } = await pg.evaluate(() => ({ sw: document.documentElement.scrollWidth }));
      await shot(pg, 'room-360-agent.png');
      await pg.setViewportSize({ width: 390, height: 844 });
      assert(sw <= 360, `document.documentElement.scrollWidth is ${sw} at 360 px`);
    });

    await check('reconnect: the agent’s socket drops; it rejoins and everyone sees video again', async () => {
      const ag = people[2];
      const oldId = await ag.page.evaluate(() => window.__yt.participantId);
      await ag.page.evaluate(() => window.__yt.dropSocket());
      await sleep(500);
      await admitWaiting(people[0].page, [ag]);
      await ag.page.waitForFunction((old) => window.__yt.state === 'joined' && window.__yt.participantId && window.__yt.participantId !== old, oldId, { timeout: TIMEOUT });
      for (const p of people) await waitForTiles(p.page, 2, p.who);
    });

    await check('network change: the respondent restarts ICE on the same connection; it keeps its seat and video flows both ways', async () => {
      const resp = people[1];
      const respId = await resp.page.evaluate(() => window.__yt.participantId);
      const ufrag = (sdp) => ((sdp || '').match(/a=ice-ufrag:(\S+)/) || [])[1];
      const before = await resp.page.evaluate(() => window.__yt.pc.remoteDescription.sdp);
      await resp.page.evaluate(() => window.__yt.restartIce());
      // Done when both sides use new credentials and the new path is connected.
      await resp.page.waitForFunction(([old, src]) => {
        const pc = window.__yt.pc;
        const u = (sdp) => ((sdp || '').match(new RegExp(src)) || [])[1];
        return pc && pc.signalingState === 'stable' && pc.remoteDescription && u(pc.remoteDescription.sdp) !== old
          && (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed');
      }, [ufrag(before), 'a=ice-ufrag:(\\S+)'], { timeout: TIMEOUT });
      // Video resumes at fresh keyframes, on every tile, the respondent's included (a
      // freeze while the path changes is expected; a frozen tile afterwards is not).
      for (const p of people) await waitFramesGrow(p, 10000);
      for (const p of people) await assertRoom(p, others(p), 'video/VP8', errors);
      assert(await resp.page.evaluate(() => window.__yt.participantId) === respId, 'the respondent got a new seat');
    });

    await check('audio only: the agent switches to audio only in 更多; its video stops both ways, sound keeps coming; back to video restores it', async () => {
      const [clerkP, ag] = [people[0], people[2]];
      const agId = await ag.page.evaluate(() => window.__yt.participantId);
      const frames = () => ag.page.evaluate(() => [...document.querySelectorAll('.tile video')].map((v) => (v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0)));
      const audioBytes = () => ag.page.evaluate(async () => {
        let n = 0;
        (await window.__yt.pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.bytesReceived || 0; });
        return n;
      });
      await ag.page.locator('.ctl-more').tap();
      await ag.page.locator('.ctl-audio-only').tap();
      await ag.page.waitForFunction(() => window.__yt.audioOnly === true);
      await shot(ag.page, 'room-audio-only-agent.png');
      await ag.page.locator('.sheet-close').tap();
      await clerkP.page.locator(`.tile[data-participant-id="${agId}"][data-video-muted="1"]`).waitFor({ state: 'attached', timeout: 5000 });
      await sleep(1500);
      const [f0, a0] = [await frames(), await audioBytes()];
      await sleep(2000);
      const [f1, a1] = [await frames(), await audioBytes()];
      assert(f1.every((x, i) => x - f0[i] <= 2), `video still arriving in audio-only mode: ${f0} → ${f1}`);
      assert(a1 - a0 > 5000, `audio stopped in audio-only mode: ${a0} → ${a1} bytes`);
      await ag.page.locator('.ctl-more').tap();
      await ag.page.locator('.ctl-audio-only').tap();
      await ag.page.locator('.sheet-close').tap();
      await ag.page.waitForFunction(() => window.__yt.audioOnly === false);
      await clerkP.page.locator(`.tile[data-participant-id="${agId}"][data-video-muted="0"]`).waitFor({ state: 'attached', timeout: 5000 });
      await assertRoom(ag, others(ag), 'video/VP8', errors);
    });

    // ---------------------------------------------------------------- run 2: H.264
    const h264 = await people[0].page.evaluate(() => {
      const s = (RTCRtpSender.getCapabilities('video') || { codecs: [] }).codecs.map((c) => c.mimeType);
      const r = (RTCRtpReceiver.getCapabilities('video') || { codecs: [] }).codecs.map((c) => c.mimeType);
      return { send: [...new Set(s)], recv: [...new Set(r)] };
    });
    const canH264 = h264.send.some((m) => /^video\/h264$/i.test(m));
    if (!canH264) {
      await check('H.264: this Chromium can encode H.264', async () => {
        throw new Error(`Debian's Chromium (${CHROMIUM}) cannot encode H.264: RTCRtpSender.getCapabilities('video') lists ${h264.send.join(', ')} (receiver: ${h264.recv.join(', ')}). The ?codec=h264 run cannot pass in this browser.`);
      });
    } else {
      await Promise.all(people.map((p) => p.page.goto(roomUrl('?codec=h264'))));
      await people[0].page.waitForFunction(() => window.__yt && window.__yt.state === 'joined', null, { timeout: TIMEOUT });
      await sleep(500);
      await admitWaiting(people[0].page, people.slice(1));
      for (const p of people) {
        await check(`H.264: ${p.who} sees two live tiles labelled with the others, codec video/H264`, async () => {
          await assertRoom(p, others(p), 'video/H264', errors);
        });
      }
      await shot(people[0].page, 'room-h264-clerk.png');
      await shot(people[1].page, 'room-h264-respondent.png');
      await shot(people[2].page, 'room-h264-agent.png');
    }

    await check('leave: the agent leaves (two taps), sees 已离开; the others keep one tile', async () => {
      const ag = people[2];
      await ag.page.locator('.ctl-leave').tap();
      await ag.page.locator('.ctl-leave[data-confirm="1"]').waitFor({ state: 'visible' });
      await ag.page.locator('.ctl-leave').tap();
      await ag.page.locator('[data-screen="left"]').waitFor({ state: 'visible' });
      assert((await ag.page.locator('main').innerText()).includes('已离开'), 'leave screen does not say 已离开');
      await shot(ag.page, 'room-left-agent.png');
      for (const p of people.slice(0, 2)) await waitForTiles(p.page, 1, p.who);
      await shot(people[1].page, 'room-after-leave-respondent.png');
    });

    await check('no page errors in any participant', async () => {
      assert(!errors.length, errors.join('; '));
    });
  } finally {
    await browser.close();
  }
}

main().then(() => {
  if (failed) console.log(`failed: ${failures.join(' | ')}`);
  finish(failed ? 1 : 0);
}).catch((err) => {
  console.error(`room test aborted: ${err && err.stack ? err.stack : err}`);
  failed += 1;
  finish(1);
});
