// Browser test of the recording (issue 5): a real Chromium participant with Chromium's fake
// camera is recorded server-side, and its tile in the composite `hearing.mp4` shows its
// frames. Against a running `yunting serve --dev` with the demo data:
//
//   YT_BASE=http://127.0.0.1:18080 YT_DEMO=/path/demo.json node tests/browser/recording_tile.mjs
//
// The clerk schedules a new hearing of the demo case (so the demo hearing stays open for
// hearing.mjs); the presiding arbitrator (desktop) and the agent (phone, SMS code from the
// dev outbox, admitted from the chair console) join with the fake camera for ~8 s; the
// chair ends the hearing; the test waits for post-processing (recording status `sealed`,
// processing `done`), downloads `hearing.mp4` through the staff API, extracts the middle
// frame with ffmpeg and checks both participants' tiles (geometry of
// src/recording/layout.rs: 2 people → 2×2 grid on 1280×720, 4:3 pictures fitted 480×360)
// are not black and carry a moving picture; and ffprobe -count_frames finds the video
// frames in the agent's own file. The frame is saved as
// tests/browser/screenshots/recording-tile-composite.png. Needs ffmpeg/ffprobe on PATH.
// The last line is `recording_tile: N passed, M failed`.

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const shotsDir = path.join(here, 'screenshots');
const CHROMIUM = process.env.YT_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 20000;
const IN_ROOM_MS = 8000;
const ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
// The composite's canvas (src/recording/composite.rs) and the gallery for two people.
const W = 1280;
const H = 720;

let passed = 0;
let failed = 0;
const failures = [];

function finish(code) {
  console.log(`recording_tile: ${passed} passed, ${failed} failed`);
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

const staff = (role) => (demo.staff || []).find((s) => s.role === role || s.username === role);
const arbitrator = staff('arbitrator');
const clerk = staff('clerk');
// The agent: room.mjs uses it before us and hearing.mjs not at all, so its SMS codes do
// not hold up hearing.mjs's applicant.
const agentInv = (demo.invitations || []).find((i) => i.role === 'agent');

function tokenOf(inv) {
  const m = /\/j\/([^/?#]+)\/?$/.exec(new URL(inv.url).pathname);
  assert(m, `invitation url has no /j/<token> path: ${inv.url}`);
  return m[1];
}

function digits(phone) {
  return String(phone || '').replace(/\D/g, '').slice(-11);
}

async function outboxFor(phone) {
  const res = await fetch(BASE + '/dev/outbox');
  assert(res.ok, `GET /dev/outbox answered ${res.status} (is the server running with --dev?)`);
  const data = await res.json();
  assert(data && Array.isArray(data.items), 'GET /dev/outbox: no items array');
  return data.items.filter((m) => digits(m.recipient) === digits(phone))
    .sort((a, b) => (Number(b.id) || 0) - (Number(a.id) || 0));
}

function codeIn(msg) {
  const m = /(?<!\d)(\d{6})(?!\d)/.exec(String(msg.body || ''));
  assert(m, `outbox message has no 6-digit code: ${JSON.stringify(msg.body)}`);
  return m[1];
}

/** identity → newest code from the dev outbox → verify, with the context's cookie jar. */
async function verifyParty(ctx, inv) {
  const token = encodeURIComponent(tokenOf(inv));
  const before = await outboxFor(inv.phone);
  const beforeId = before.length ? Number(before[0].id) || 0 : -Infinity;
  const identity = () => ctx.request.post(`${BASE}/api/j/${token}/identity`, { data: { name: inv.name, id_last6: inv.id_last6 } });
  let r = await identity();
  if (r.status() === 429 && before.length) {
    // Asked for a code less than 60 s ago (room.mjs): that code may still be unused.
    const v = await ctx.request.post(`${BASE}/api/j/${token}/verify`, { data: { code: codeIn(before[0]) } });
    if (v.ok()) return;
    const deadline = Date.now() + 65000;
    while (r.status() === 429 && Date.now() < deadline) {
      await sleep(5000);
      r = await identity();
    }
  }
  assert(r.ok(), `POST identity for ${inv.role} answered ${r.status()}: ${await r.text()}`);
  let code;
  const deadline = Date.now() + 10000;
  for (;;) {
    const mine = (await outboxFor(inv.phone)).filter((m) => (Number(m.id) || 0) > beforeId);
    if (mine.length) { code = codeIn(mine[0]); break; }
    if (Date.now() > deadline) throw new Error(`no new outbox message to ${inv.phone} within 10 s`);
    await sleep(250);
  }
  const v = await ctx.request.post(`${BASE}/api/j/${token}/verify`, { data: { code } });
  assert(v.ok(), `POST verify for ${inv.role} answered ${v.status()}: ${await v.text()}`);
}

async function login(ctx, who) {
  const r = await ctx.request.post(`${BASE}/api/auth/login`, { data: { username: who.username, password: who.password } });
  assert(r.ok(), `POST /api/auth/login (${who.username}) answered ${r.status()}: ${await r.text()}`);
}

async function json(resp, what) {
  const text = await resp.text();
  assert(resp.ok(), `${what} answered ${resp.status()}: ${text}`);
  return JSON.parse(text);
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
    return false;
  }
}

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

/** Mean and standard deviation of the luma in a crop of the frame file (gray, 8 bit). */
function lumaStats(png, rect) {
  const raw = run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', png,
    '-vf', `crop=${rect.w}:${rect.h}:${rect.x}:${rect.y},format=gray`, '-f', 'rawvideo', '-']);
  assert(raw.length === rect.w * rect.h, `crop gave ${raw.length} bytes, expected ${rect.w * rect.h}`);
  let sum = 0;
  for (const v of raw) sum += v;
  const mean = sum / raw.length;
  let sq = 0;
  for (const v of raw) sq += (v - mean) * (v - mean);
  return { mean, sd: Math.sqrt(sq / raw.length) };
}

/** Mean absolute luma difference between the same crop of two frames (the picture moves). */
function lumaDiff(a, b, rect) {
  const grab = (png) => run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', png,
    '-vf', `crop=${rect.w}:${rect.h}:${rect.x}:${rect.y},format=gray`, '-f', 'rawvideo', '-']);
  const x = grab(a);
  const y = grab(b);
  let d = 0;
  for (let i = 0; i < x.length; i++) d += Math.abs(x[i] - y[i]);
  return d / x.length;
}

function frameAt(mp4, seconds, out) {
  run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-ss', seconds.toFixed(3), '-i', mp4, '-frames:v', '1', out]);
  assert(fs.existsSync(out), `ffmpeg wrote no frame at ${seconds.toFixed(1)} s`);
}

function probeDuration(file) {
  return Number(String(run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file])).trim());
}

function countVideoFrames(file) {
  const out = String(run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0',
    '-show_entries', 'stream=nb_read_frames,codec_name,width,height', '-of', 'json', file]));
  const s = (JSON.parse(out).streams || [])[0] || {};
  return { frames: Number(s.nb_read_frames) || 0, codec: s.codec_name, width: s.width, height: s.height };
}

async function main() {
  assert(arbitrator && arbitrator.id && clerk && clerk.id, 'demo JSON has no arbitrator/clerk with ids in staff[]');
  assert(agentInv && agentInv.invitation_id, 'demo JSON has no agent invitation with invitation_id');
  assert(demo.case && demo.case.id, 'demo JSON has no case.id');
  try {
    run('ffprobe', ['-version']);
  } catch (_) {
    throw new Error('ffmpeg/ffprobe are not installed (scripts/install-packages.sh test)');
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'yunting-rectile-'));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  const errors = [];
  try {
    const common = { locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ignoreHTTPSErrors: true };
    const chair = { who: 'chair', role: 'presiding_arbitrator', ctx: await browser.newContext({ ...common, viewport: { width: 1280, height: 800 } }) };
    const agent = { who: 'agent', role: 'agent', ctx: await browser.newContext({ ...common, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }) };
    const clerkCtx = await browser.newContext(common);
    for (const p of [chair, agent]) {
      p.ctx.setDefaultTimeout(TIMEOUT);
      await p.ctx.grantPermissions(['camera', 'microphone'], { origin: BASE });
    }

    let hearingId = null;
    const ready = await check('setup: the clerk schedules a new hearing of the demo case; the agent verifies and passes the checks', async () => {
      await login(clerkCtx, clerk);
      const h = await json(await clerkCtx.request.post(`${BASE}/api/cases/${demo.case.id}/hearings`, {
        data: { scheduled_at: Date.now() + 60000, presiding_arbitrator_id: arbitrator.id, clerk_id: clerk.id },
      }), 'POST /api/cases/{id}/hearings');
      hearingId = h.id;
      assert(hearingId && hearingId !== (demo.hearing || {}).id, `new hearing id ${hearingId}`);
      await login(chair.ctx, arbitrator);
      await verifyParty(agent.ctx, agentInv);
      const d = await agent.ctx.request.post(`${BASE}/api/hearings/${hearingId}/device-check`, { data: { camera: true, microphone: true, rtt_ms: 20, down_kbps: 20000, up_kbps: 10000 } });
      assert(d.ok(), `POST device-check answered ${d.status()}: ${await d.text()}`);
      const a = await agent.ctx.request.post(`${BASE}/api/hearings/${hearingId}/discipline`, { data: {} });
      assert(a.ok(), `POST discipline answered ${a.status()}: ${await a.text()}`);
      // Before the hearing the recording status answers (nothing recorded yet) and shows
      // the recording storage.
      const rec = await json(await chair.ctx.request.get(`${BASE}/api/hearings/${hearingId}/recording`), 'GET recording');
      assert(rec.status === 'none', `recording status before the hearing: ${JSON.stringify(rec)}`);
      assert(rec.storage && rec.storage.free_bytes > 0, `no storage in the status: ${JSON.stringify(rec)}`);
    });
    if (!ready) return;

    for (const p of [chair, agent]) {
      p.page = await p.ctx.newPage();
      watch(p.page, p.who, errors);
    }
    const joined = await check('the chair and the agent (admitted from the chair console) see each other’s fake camera', async () => {
      await chair.page.goto(`${BASE}/room/${hearingId}`);
      await chair.page.waitForFunction(() => window.__yt && window.__yt.state === 'joined', null, { timeout: TIMEOUT })
        .catch(async (e) => {
          await chair.page.screenshot({ path: path.join(shotsDir, 'recording-tile-chair-failed.png') }).catch(() => {});
          const st = await chair.page.evaluate(() => (window.__yt || {}).state).catch(() => null);
          throw new Error(`chair not joined (state ${st}): ${e.message}`);
        });
      await agent.page.goto(`${BASE}/room/${hearingId}`);
      const deadline = Date.now() + TIMEOUT;
      for (;;) {
        const st = await agent.page.evaluate(() => (window.__yt || {}).state).catch(() => null);
        if (st === 'joined') break;
        if (st === 'waiting') {
          const btn = chair.page.locator('.waiting-entry[data-role="agent"] .btn-admit');
          if (await btn.count()) await btn.first().click().catch(() => {});
        }
        if (Date.now() > deadline) throw new Error(`agent not admitted within ${TIMEOUT / 1000} s (state ${st})`);
        await sleep(300);
      }
      for (const p of [chair, agent]) {
        await p.page.waitForFunction(() => {
          const tiles = [...document.querySelectorAll('.tile')].filter((el) => !el.hidden);
          return tiles.length === 1 && tiles.every((el) => { const v = el.querySelector('video'); return v && v.videoWidth > 0; });
        }, null, { timeout: TIMEOUT, polling: 250 }).catch(async (e) => {
          await p.page.screenshot({ path: path.join(shotsDir, `recording-tile-${p.who}-failed.png`) }).catch(() => {});
          const tiles = await p.page.evaluate(() => [...document.querySelectorAll('.tile')].map((el) => ({ hidden: el.hidden, cls: el.className, w: (el.querySelector('video') || {}).videoWidth }))).catch(() => null);
          throw new Error(`${p.who}: no live remote tile: ${JSON.stringify(tiles)}: ${e.message}`);
        });
      }
    });
    if (!joined) return;
    const t0 = Date.now();
    await sleep(IN_ROOM_MS);
    const inRoomS = (Date.now() - t0) / 1000;

    let rec = null;
    const processed = await check('the chair ends the hearing; the recording is sealed, verified and processed', async () => {
      const r = await chair.ctx.request.post(`${BASE}/api/hearings/${hearingId}/control`, { data: { do: 'end', reason: '录像画面测试' } });
      assert(r.ok(), `end answered ${r.status()}: ${await r.text()}`);
      const deadline = Date.now() + 180000;
      for (;;) {
        rec = await json(await chair.ctx.request.get(`${BASE}/api/hearings/${hearingId}/recording`), 'GET recording');
        if (rec.status === 'sealed' && rec.processing === 'done') break;
        if (Date.now() > deadline) throw new Error(`not processed within 180 s: ${JSON.stringify(rec)}`);
        await sleep(1000);
      }
      assert(rec.verification && rec.verification.ok, `verification: ${JSON.stringify(rec.verification)}`);
      assert(rec.tracks >= 4, `${rec.tracks} tracks recorded, expected audio + video of two participants`);
    });
    if (!processed) return;

    const files = (await json(await chair.ctx.request.get(`${BASE}/api/hearings/${hearingId}/recording/files`), 'GET files')).files || [];
    const composite = files.find((f) => f.kind === 'composite');
    const mine = files.find((f) => f.kind === 'participant' && f.role === 'agent');
    const mp4 = path.join(work, 'hearing.mp4');
    const middle = path.join(shotsDir, 'recording-tile-composite.png');
    const later = path.join(work, 'later.png');
    let duration = 0;

    const downloaded = await check('hearing.mp4 downloads through the staff API and lasts about as long as the hearing', async () => {
      assert(composite && composite.url, `no composite in ${JSON.stringify(files.map((f) => f.name))}`);
      const r = await chair.ctx.request.get(BASE + composite.url);
      assert(r.ok(), `GET ${composite.url} answered ${r.status()}`);
      fs.writeFileSync(mp4, await r.body());
      duration = probeDuration(mp4);
      assert(duration >= inRoomS - 1, `hearing.mp4 lasts ${duration.toFixed(1)} s, the agent was in the room ${inRoomS.toFixed(1)} s`);
    });
    if (!downloaded) return;

    await check('the middle frame of hearing.mp4: both Chromium tiles show a moving picture, not black', async () => {
      frameAt(mp4, duration / 2, middle);
      frameAt(mp4, Math.min(duration / 2 + 1, duration - 0.2), later);
      // Two people: 2×2 grid, the top row holds their 640×360 tiles; a 4:3 camera fits
      // 480×360 centred. Keep clear of the label (bottom) and the clock (top right).
      const pictures = [0, 1].map((i) => ({ x: i * (W / 2) + 80, y: 60, w: 480, h: 240 }));
      const empty = { x: 80, y: H / 2 + 40, w: 480, h: 240 }; // bottom-left: no one
      const stats = pictures.map((r) => lumaStats(middle, r));
      const blank = lumaStats(middle, empty);
      const motion = pictures.map((r) => lumaDiff(middle, later, r));
      console.log(`  frame at ${(duration / 2).toFixed(1)} s of ${duration.toFixed(1)} s: tiles ${stats.map((s, i) => `#${i} luma ${s.mean.toFixed(0)}±${s.sd.toFixed(0)} moved ${motion[i].toFixed(1)}`).join(', ')}; empty tile luma ${blank.mean.toFixed(0)}±${blank.sd.toFixed(0)}`);
      stats.forEach((s, i) => {
        assert(s.mean > 40, `tile ${i} is black: mean luma ${s.mean.toFixed(1)}`);
        assert(s.sd > 5, `tile ${i} is a flat colour (luma sd ${s.sd.toFixed(1)}), not a camera picture`);
        assert(s.mean > blank.mean + 20, `tile ${i} (luma ${s.mean.toFixed(1)}) is no brighter than the empty tile (${blank.mean.toFixed(1)})`);
        assert(motion[i] > 0.5, `tile ${i} does not move between ${(duration / 2).toFixed(1)} s and 1 s later (mean |Δluma| ${motion[i].toFixed(2)})`);
      });
    });

    await check('the agent’s own file has its video frames (ffprobe -count_frames)', async () => {
      assert(mine && mine.url, `no participant file for the agent in ${JSON.stringify(files.map((f) => [f.name, f.role]))}`);
      const r = await chair.ctx.request.get(BASE + mine.url);
      assert(r.ok(), `GET ${mine.url} answered ${r.status()}`);
      const file = path.join(work, mine.name);
      fs.writeFileSync(file, await r.body());
      const v = countVideoFrames(file);
      console.log(`  ${mine.name}: ${v.codec} ${v.width}×${v.height}, ${v.frames} video frames over ~${inRoomS.toFixed(0)} s`);
      assert(v.frames >= inRoomS * 10, `${v.frames} video frames in ${mine.name} for ~${inRoomS.toFixed(0)} s in the room`);
    });

    await check('no page errors', async () => {
      assert(!errors.length, errors.join('; '));
    });
  } finally {
    await browser.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(() => {
  if (failed) console.log(`failed: ${failures.join(' | ')}`);
  finish(failed ? 1 : 0);
}).catch((err) => {
  console.error(`recording_tile test aborted: ${err && err.stack ? err.stack : err}`);
  failed += 1;
  finish(1);
});
