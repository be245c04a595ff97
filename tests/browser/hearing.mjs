// Browser test of the hearing procedure (issue 4) against a running `yunting serve --dev`:
// the presiding arbitrator runs the hearing from the chair console (desktop); the applicant
// goes through the phone page (identity, SMS code, device check, discipline, waiting room)
// and is admitted; the respondent joins too; the chair shares its screen (the phones see a
// live 屏幕共享 tile), the phone room is checked in landscape (844×390), the witness goes
// through the phone steps, waits (请等待传唤), is called and dismissed; the chair moves
// through every phase, pauses, mutes, shows an exhibit, holds a caucus with the applicant
// side and ends the hearing.
// Screen capture: Debian's headless Chromium with --use-fake-ui-for-media-stream and
// --use-fake-device-for-media-stream answers getDisplayMedia with a fake screen (no
// canvas stand-in).
// Real Chromium, real WebRTC through the SFU, Debian's chromium (never downloads one).
//
//   YT_BASE=http://127.0.0.1:18080 YT_DEMO=/path/demo.json node tests/browser/hearing.mjs
//
// Run it last: it closes the demo hearing. Screenshots go to
// tests/browser/screenshots/hearing-*.png. The last line is `hearing: N passed, M failed`.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const shotsDir = path.join(here, 'screenshots');
const CHROMIUM = process.env.YT_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 20000;
const RECORDING_NOTICE = '本庭审全程录音录像';
const ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
// The phases in order, with a part of the Chinese label every page must show.
const PHASES = [
  ['check_attendance', '核对出庭人员'],
  ['announce_discipline', '宣布庭审纪律'],
  ['opening', '宣布开庭'],
  ['claims_and_defence', '申诉答辩'],
  ['investigation', '庭审调查与质证'],
  ['debate', '庭审辩论'],
  ['final_statements', '最后陈述'],
  ['mediation', '当庭调解'],
  ['closed', '闭庭'],
];

let passed = 0;
let failed = 0;
const failures = [];

function finish(code) {
  console.log(`hearing: ${passed} passed, ${failed} failed`);
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
const caseNumber = demo.case && demo.case.number;
const counterNumber = demo.counterclaim && demo.counterclaim.number;
const arbitrator = (demo.staff || []).find((s) => s.role === 'arbitrator' || s.username === 'arbitrator');
const applicantInv = (demo.invitations || []).find((i) => i.role === 'applicant');
const respondentInv = (demo.invitations || []).find((i) => i.role === 'respondent');
const witnessInv = (demo.invitations || []).find((i) => i.role === 'witness');

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

async function newCodeFor(phone, afterId) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const mine = (await outboxFor(phone)).filter((m) => (Number(m.id) || 0) > afterId);
    if (mine.length) return codeIn(mine[0]);
    if (Date.now() > deadline) throw new Error(`no new outbox message to ${phone} within 10 s`);
    await sleep(250);
  }
}

/** identity → code → verify over HTTP with the context's cookie jar (the respondent). */
async function verifyParty(ctx, inv) {
  const token = encodeURIComponent(tokenOf(inv));
  const before = await outboxFor(inv.phone);
  const beforeId = before.length ? Number(before[0].id) || 0 : -Infinity;
  const identity = () => ctx.request.post(`${BASE}/api/j/${token}/identity`, { data: { name: inv.name, id_last6: inv.id_last6 } });
  let r = await identity();
  if (r.status() === 429 && before.length) {
    const v = await ctx.request.post(`${BASE}/api/j/${token}/verify`, { data: { code: codeIn(before[0]) } });
    if (v.ok()) return;
    const deadline = Date.now() + 65000;
    while (r.status() === 429 && Date.now() < deadline) {
      await sleep(5000);
      r = await identity();
    }
  }
  assert(r.ok(), `POST identity for ${inv.role} answered ${r.status()}: ${await r.text()}`);
  const code = await newCodeFor(inv.phone, beforeId);
  const v = await ctx.request.post(`${BASE}/api/j/${token}/verify`, { data: { code } });
  assert(v.ok(), `POST verify for ${inv.role} answered ${v.status()}: ${await v.text()}`);
}

/** Device check and discipline over HTTP (the respondent; the applicant uses the page). */
async function checksOverHttp(ctx, who) {
  const d = await ctx.request.post(`${BASE}/api/hearings/${hearingId}/device-check`, { data: { camera: true, microphone: true, rtt_ms: 20, down_kbps: 20000, up_kbps: 10000 } });
  assert(d.ok(), `${who}: POST device-check answered ${d.status()}: ${await d.text()}`);
  const body = await d.json();
  assert(body.verdict === 'good', `${who}: device-check verdict ${JSON.stringify(body)}`);
  const a = await ctx.request.post(`${BASE}/api/hearings/${hearingId}/discipline`, { data: {} });
  assert(a.ok(), `${who}: POST discipline answered ${a.status()}: ${await a.text()}`);
}

let shotSeq = 0;
async function shot(page, name) {
  shotSeq += 1;
  await page.screenshot({ path: path.join(shotsDir, `hearing-${String(shotSeq).padStart(2, '0')}-${name}.png`), fullPage: false });
}

function watch(page, who, sink) {
  page.on('pageerror', (err) => sink.push(`${who}: page error: ${err.message}`));
  page.on('console', (msg) => {
    const text = msg.text();
    if (process.env.YT_VERBOSE) console.log(`  [${who} console.${msg.type()}] ${text}`);
    if (msg.type() === 'error' && !/Failed to load resource/.test(text)) sink.push(`${who}: console error: ${text}`);
  });
}

let blocked = null;
const debugPages = {}; // who → page, screenshotted when a check fails
async function check(name, fn, { independent = false } = {}) {
  if (blocked && !independent) {
    failed += 1;
    failures.push(name);
    console.log(`not ok - ${name}: skipped, needs “${blocked}”`);
    return false;
  }
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name}`);
    return true;
  } catch (err) {
    failed += 1;
    failures.push(name);
    console.log(`not ok - ${name}: ${err && err.message ? err.message.split('\n').slice(0, 3).join(' | ') : err}`);
    for (const [who, pg] of Object.entries(debugPages)) {
      await pg.screenshot({ path: path.join(shotsDir, `hearing-failed-${failed}-${who}.png`) }).catch(() => {});
    }
    if (!independent) blocked = name;
    return false;
  }
}

async function noHorizontalScroll(page, where) {
  const { sw, cw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
  assert(sw <= cw, `${where}: horizontal scroll (scrollWidth ${sw} > clientWidth ${cw})`);
}

/** The same page at 360 px: no horizontal scroll; screenshot; back to 390×844. */
async function at360(page, name) {
  await page.setViewportSize({ width: 360, height: 740 });
  await sleep(250);
  await noHorizontalScroll(page, `${name} at 360 px`);
  await shot(page, `${name}-360`);
  await page.setViewportSize({ width: 390, height: 844 });
  await sleep(100);
}

/** The same page in landscape (844×390): no horizontal scroll; screenshot; back to 390×844. */
async function landscape(page, name, { keep = false } = {}) {
  await page.setViewportSize({ width: 844, height: 390 });
  await sleep(300);
  await noHorizontalScroll(page, `${name} in landscape`);
  await shot(page, `${name}-landscape`);
  if (!keep) {
    await page.setViewportSize({ width: 390, height: 844 });
    await sleep(100);
  }
}

/** A live 屏幕共享 tile: first in the grid, labelled, its video playing and advancing. */
async function screenTileLive(page, who, name) {
  try {
    await page.waitForFunction(() => {
      const el = document.querySelector('.screen-tile');
      return el && !el.hidden && el.querySelector('video').videoWidth > 0;
    }, null, { timeout: TIMEOUT, polling: 250 });
  } catch (_) {
    const st = await page.evaluate(() => ({ share: window.__yt.screenShare, tile: window.__yt.screenTile, state: window.__yt.state, videos: window.__yt.videoTracks })).catch(() => null);
    throw new Error(`${who}: no live 屏幕共享 tile: ${JSON.stringify(st)}`);
  }
  const before = await page.evaluate(() => document.querySelector('.screen-tile video').currentTime);
  await sleep(1500);
  const info = await page.evaluate(() => {
    const el = document.querySelector('.screen-tile');
    const v = el.querySelector('video');
    const visible = [...el.parentElement.children].filter((c) => !c.hidden);
    return { t: v.currentTime, w: v.videoWidth, h: v.videoHeight, paused: v.paused, label: el.querySelector('.tile-label').textContent, first: visible[0] === el };
  });
  assert(!info.paused && info.t > before + 0.5, `${who}: the shared screen does not play (currentTime ${before} → ${info.t}, paused ${info.paused})`);
  assert(info.label === '屏幕共享 · ' + name, `${who}: the screen tile is labelled “${info.label}”`);
  assert(info.first, `${who}: the screen tile is not first in the grid`);
  return info;
}

/** The camera tile of a role still shows a camera (4:3 fake camera), not the screen. */
async function cameraTileOk(page, role, who) {
  const c = await page.evaluate((role) => {
    const el = [...document.querySelectorAll('.tile')].find((x) => x.dataset.role === role);
    const v = el && el.querySelector('video');
    return v ? { w: v.videoWidth, h: v.videoHeight } : null;
  }, role);
  assert(c && c.w > 0, `${who}: the ${role} camera tile has no picture: ${JSON.stringify(c)}`);
  assert(Math.abs(c.w / c.h - 4 / 3) < 0.1, `${who}: the ${role} tile shows ${c.w}×${c.h}, not the 4:3 camera`);
}

async function mainText(page) {
  return page.locator('main').innerText();
}

/** Remote tiles shown (not hidden by a caucus) whose video plays. */
async function visibleLive(page) {
  return page.evaluate(() => [...document.querySelectorAll('.tile')]
    .filter((el) => !el.hidden)
    .map((el) => ({ pid: el.dataset.participantId, role: el.dataset.role, label: (el.querySelector('.tile-label') || {}).textContent || '', live: (el.querySelector('video') || {}).videoWidth > 0 })));
}

async function waitLiveTiles(page, roles, who) {
  try {
    await page.waitForFunction((roles) => {
      const yt = window.__yt || {};
      if (yt.state !== 'joined') return false;
      const tiles = [...document.querySelectorAll('.tile')].filter((el) => !el.hidden);
      return roles.every((r) => tiles.some((el) => el.dataset.role === r && (el.querySelector('video') || {}).videoWidth > 0));
    }, roles, { timeout: TIMEOUT, polling: 250 });
  } catch (_) {
    const s = await visibleLive(page).catch(() => null);
    const st = await page.evaluate(() => window.__yt && window.__yt.state).catch(() => null);
    throw new Error(`${who}: expected live video tiles of ${roles.join(', ')}; state=${st} tiles=${JSON.stringify(s)}`);
  }
}

/** A PNG (solid colour) for the exhibit upload. */
function png(w, h) {
  const crcTable = [];
  for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; crcTable[n] = c >>> 0; }
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = 29; raw[o + 1] = 79 + ((x * 3) % 120); raw[o + 2] = 145;
    }
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

async function main() {
  assert(hearingId, 'demo JSON has no hearing.id');
  assert(arbitrator && arbitrator.username && arbitrator.password, 'demo JSON has no arbitrator in staff[]');
  assert(applicantInv && respondentInv, 'demo JSON lacks the applicant or respondent invitation');

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  const errors = [];
  try {
    const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
    const common = { locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ignoreHTTPSErrors: true };
    const mk = async (opts) => {
      const ctx = await browser.newContext({ ...common, ...opts });
      ctx.setDefaultTimeout(TIMEOUT);
      await ctx.grantPermissions(['camera', 'microphone'], { origin: BASE });
      return ctx;
    };
    const chairCtx = await mk({ viewport: { width: 1280, height: 800 } });
    const appCtx = await mk(phone);
    const respCtx = await mk(phone);
    const chair = await chairCtx.newPage();
    const app = await appCtx.newPage();
    const resp = await respCtx.newPage();
    watch(chair, 'chair', errors);
    watch(app, 'applicant', errors);
    watch(resp, 'respondent', errors);
    Object.assign(debugPages, { chair, applicant: app, respondent: resp });
    const roomUrl = `${BASE}/room/${hearingId}`;
    const ids = {};

    // ------------------------------------------------------------ the chair opens the room
    await check('chair: the presiding arbitrator signs in and opens the room with the chair console', async () => {
      const r = await chairCtx.request.post(`${BASE}/api/auth/login`, { data: { username: arbitrator.username, password: arbitrator.password } });
      assert(r.ok(), `POST /api/auth/login answered ${r.status()}: ${await r.text()}`);
      await chair.goto(roomUrl);
      await chair.waitForFunction(() => window.__yt && window.__yt.state === 'joined' && window.__yt.phase, null, { timeout: TIMEOUT });
      const yt = await chair.evaluate(() => ({ role: window.__yt.myRole, phase: window.__yt.phase, nums: window.__yt.caseNumbers }));
      assert(yt.role === 'presiding_arbitrator', `my_role is ${yt.role}`);
      assert(yt.phase === 'check_attendance', `the hearing starts in ${yt.phase}`);
      await chair.locator('#chair-console').waitFor({ state: 'visible' });
      const text = await mainText(chair);
      assert(text.includes(RECORDING_NOTICE), 'recording notice not shown to the chair');
      assert(text.includes('核对出庭人员'), 'phase label 核对出庭人员 not shown to the chair');
      assert(text.includes(caseNumber) && (!counterNumber || text.includes(counterNumber)), `both case numbers (${caseNumber}, ${counterNumber}) not shown`);
      ids.chair = await chair.evaluate(() => window.__yt.participantId);
      await shot(chair, 'chair-console-empty');
    });

    // ------------------------------------------------------------ the applicant on a phone
    const token = tokenOf(applicantInv);
    await check('applicant: identity check and SMS code on the phone page', async () => {
      await app.goto(`${BASE}/j/${token}`);
      await app.locator('input[name=name]').waitFor({ state: 'visible' });
      assert((await mainText(app)).includes(RECORDING_NOTICE), 'identity step lacks the recording notice');
      await noHorizontalScroll(app, 'identity step');
      await shot(app, 'party-identity');
      let beforeId = -Infinity;
      const deadline = Date.now() + 75000;
      for (;;) {
        const before = await outboxFor(applicantInv.phone);
        beforeId = before.length ? Number(before[0].id) || 0 : -Infinity;
        await app.locator('input[name=name]').fill(applicantInv.name);
        await app.locator('input[name=id_last6]').fill(applicantInv.id_last6);
        await app.locator('form button[type=submit]').tap();
        const got = await Promise.race([
          app.locator('input[name=code]').waitFor({ state: 'visible' }).then(() => 'code'),
          app.locator('.msg-error').waitFor({ state: 'visible' }).then(() => 'error'),
        ]);
        if (got === 'code') break;
        const msg = await app.locator('.msg-error').innerText();
        // Another script asked for a code less than 60 s ago: wait and ask again.
        if (Date.now() > deadline || !/频繁|稍后|60|秒/.test(msg)) throw new Error(`identity refused: ${msg}`);
        await sleep(5000);
      }
      await shot(app, 'party-code');
      const code = await newCodeFor(applicantInv.phone, beforeId);
      await app.locator('input[name=code]').fill(code);
      await app.locator('form button[type=submit]').tap();
      await app.locator('[data-step="device"]').waitFor({ state: 'visible' });
    });

    await check('applicant: device check with camera preview, level meter and network test; verdict 设备检测通过', async () => {
      const text = await mainText(app);
      assert(text.includes(RECORDING_NOTICE), 'device step lacks the recording notice');
      assert(text.includes(caseNumber), 'device step lacks the case number');
      await noHorizontalScroll(app, 'device step');
      await shot(app, 'party-device-start');
      await app.locator('.check-start').tap();
      await app.locator('.verdict[data-verdict]').waitFor({ state: 'visible', timeout: 30000 });
      const v = await app.evaluate(() => ({
        verdict: document.querySelector('.verdict').dataset.verdict,
        text: document.querySelector('.verdict').innerText,
        video: (document.querySelector('.check-video') || {}).videoWidth || 0,
        rows: [...document.querySelectorAll('.check-row')].map((r) => [r.dataset.check, r.dataset.state, r.querySelector('.check-value').textContent]),
      }));
      assert(v.verdict === 'good', `verdict ${v.verdict}: ${v.text} rows=${JSON.stringify(v.rows)}`);
      assert(v.text.includes('设备检测通过'), `verdict text: ${v.text}`);
      assert(v.video > 0, 'camera preview has no picture');
      for (const [k, state] of v.rows) assert(state === 'ok' || state === 'warn', `check row ${k} is ${state}`);
      await app.waitForFunction(() => Number((document.querySelector('.meter') || { dataset: {} }).dataset.level || 0) > 0, null, { timeout: 5000 })
        .catch(() => { throw new Error('the microphone level meter never moved'); });
      await shot(app, 'party-device-done');
      await at360(app, 'party-device-done');
      await app.locator('.check-next').tap();
      await app.locator('[data-step="discipline"]').waitFor({ state: 'visible' });
    });

    await check('applicant: discipline step; a reload resumes there; acknowledging leads to the waiting room', async () => {
      await app.reload();
      await app.locator('[data-step="discipline"]').waitFor({ state: 'visible' });
      const text = await mainText(app);
      assert(text.includes(RECORDING_NOTICE), 'discipline step lacks the recording notice');
      assert(text.includes('我已阅读并遵守庭审纪律'), 'no acknowledgement checkbox text');
      assert(await app.locator('.ack-submit').isDisabled(), 'submit is enabled before ticking the box');
      await noHorizontalScroll(app, 'discipline step');
      await shot(app, 'party-discipline');
      await at360(app, 'party-discipline');
      await app.locator('.ack-check').tap();
      await app.locator('.ack-submit').tap();
      await app.waitForURL(`**/room/${hearingId}`);
      await app.locator('[data-screen="waiting"]').waitFor({ state: 'visible' });
      const w = await mainText(app);
      assert(w.includes('候审室') && w.includes('请等待书记员或仲裁员允许入庭'), `waiting room says: ${w}`);
      assert(w.includes(RECORDING_NOTICE), 'waiting room lacks the recording notice');
      assert(await app.evaluate(() => window.__yt.waiting === 'admission'), '__yt.waiting is not admission');
      await noHorizontalScroll(app, 'waiting room');
      await shot(app, 'party-waiting');
      await at360(app, 'party-waiting');
    });

    await check('chair: the waiting applicant shows verified identity and device check; admit', async () => {
      const entry = chair.locator('.waiting-entry[data-role="applicant"]');
      await entry.waitFor({ state: 'visible' });
      const text = await entry.innerText();
      assert(text.includes(applicantInv.name), `waiting entry lacks the name: ${text}`);
      assert(/\*/.test(text), `waiting entry shows no masked ID/phone: ${text}`);
      assert(text.includes('良好'), `waiting entry lacks the device verdict 良好: ${text}`);
      await shot(chair, 'chair-console-waiting');
      await entry.locator('.btn-admit').click();
      await waitLiveTiles(app, ['presiding_arbitrator'], 'applicant');
      await waitLiveTiles(chair, ['applicant'], 'chair');
      ids.applicant = await app.evaluate(() => window.__yt.participantId);
      const t = await visibleLive(app);
      assert(t.some((x) => x.label === '首席仲裁员 · ' + arbitrator.display_name), `applicant sees no tile labelled 首席仲裁员 · ${arbitrator.display_name}: ${JSON.stringify(t)}`);
      const text2 = await mainText(app);
      assert(text2.includes(RECORDING_NOTICE) && text2.includes('核对出庭人员'), 'room lacks the recording notice or the phase');
      await noHorizontalScroll(app, 'room');
      await shot(app, 'party-room');
      await at360(app, 'party-room');
      await shot(chair, 'chair-room');
    });

    await check('respondent: verified, checked, waits and is admitted; everyone sees everyone', async () => {
      await verifyParty(respCtx, respondentInv);
      await checksOverHttp(respCtx, 'respondent');
      await resp.goto(roomUrl);
      const state = await Promise.race([
        resp.locator('[data-screen="waiting"]').waitFor({ state: 'visible' }).then(() => 'waiting'),
        resp.waitForFunction(() => window.__yt && window.__yt.state === 'joined', null, { timeout: TIMEOUT }).then(() => 'joined'),
      ]);
      if (state === 'waiting') {
        const entry = chair.locator('.waiting-entry[data-role="respondent"]');
        await entry.waitFor({ state: 'visible' });
        await entry.locator('.btn-admit').click();
      }
      await waitLiveTiles(resp, ['presiding_arbitrator', 'applicant'], 'respondent');
      await waitLiveTiles(app, ['presiding_arbitrator', 'respondent'], 'applicant');
      await waitLiveTiles(chair, ['applicant', 'respondent'], 'chair');
      ids.respondent = await resp.evaluate(() => window.__yt.participantId);
      const order = await resp.evaluate(() => [...document.querySelectorAll('.tile')].map((el) => el.dataset.role));
      assert(order[0] === 'presiding_arbitrator', `the chair's tile is not first: ${order.join(', ')}`);
      await shot(resp, 'respondent-room');
      await shot(chair, 'chair-three');
    });

    // ------------------------------------------------------------ screen sharing
    await check('screen sharing: the chair shares its screen; the phones show a live 屏幕共享 tile first; stopping removes it', async () => {
      assert(await app.locator('.ctl-screen').isHidden(), 'the phone shows a 共享屏幕 button');
      const btn = chair.locator('.ctl-screen');
      await btn.waitFor({ state: 'visible' });
      assert((await btn.innerText()).includes('共享屏幕'), `chair share button says ${await btn.innerText()}`);
      await btn.click();
      await chair.waitForFunction(() => window.__yt.sharing === true, null, { timeout: 8000 })
        .catch(() => { throw new Error('the chair is not sharing after the click'); });
      await chair.locator('.share-bar').waitFor({ state: 'visible' });
      const ss = await app.evaluate(() => window.__yt.screenShare);
      for (const [pg, who] of [[app, 'applicant'], [resp, 'respondent']]) {
        await pg.waitForFunction((pid) => (window.__yt.screenShare || {}).participant_id === pid, ids.chair, { timeout: 8000 })
          .catch(() => { throw new Error(`${who}: hearing_state.screen_share does not name the chair`); });
        const info = await screenTileLive(pg, who, arbitrator.display_name);
        await cameraTileOk(pg, 'presiding_arbitrator', who);
        if (who === 'applicant') console.log(`  # ${who} receives the screen at ${info.w}×${info.h}; screen_share ${JSON.stringify(ss)}`);
      }
      await waitLiveTiles(app, ['presiding_arbitrator', 'respondent'], 'applicant while the chair shares');
      assert((await chair.locator('.chip-screen').innerText()).includes(arbitrator.display_name), 'chair console lacks the 屏幕共享 chip');
      await noHorizontalScroll(app, 'room with a shared screen');
      await shot(app, 'party-screen-share');
      await at360(app, 'party-screen-share');
      await landscape(app, 'party-screen-share');
      await shot(resp, 'respondent-screen-share');
      await shot(chair, 'chair-screen-share');
      await btn.click();
      for (const [pg, who] of [[app, 'applicant'], [resp, 'respondent']]) {
        await pg.locator('.screen-tile').waitFor({ state: 'hidden', timeout: 8000 })
          .catch(() => { throw new Error(`${who}: the 屏幕共享 tile stays after the chair stopped`); });
      }
      assert(await chair.evaluate(() => window.__yt.sharing === false && !window.__yt.screenShare), 'the chair still shares');
      await waitLiveTiles(app, ['presiding_arbitrator', 'respondent'], 'applicant after the share');
      await cameraTileOk(app, 'presiding_arbitrator', 'applicant after the share');
      await shot(app, 'party-screen-stopped');
    });

    await check('screen sharing again; the browser’s own “stop sharing” (track ended) ends it everywhere', async () => {
      await chair.locator('.ctl-screen').click();
      await chair.waitForFunction(() => window.__yt.sharing === true, null, { timeout: 8000 });
      await screenTileLive(app, 'applicant (second share)', arbitrator.display_name).catch(async (err) => {
        const d = await chair.evaluate(async () => {
          const pc = window.__yt.pc;
          const out = [];
          (await pc.getStats()).forEach((r) => { if (r.type === 'outbound-rtp' && r.kind === 'video') out.push([r.mid, r.ssrc, r.packetsSent, r.framesEncoded]); });
          return { sig: pc.signalingState, needOffer: window.__yt.needOffer, tr: pc.getTransceivers().map((t) => [t.mid, t.direction, t.currentDirection, t.sender.track && t.sender.track.label]), out };
        });
        throw new Error(err.message + ' | chair: ' + JSON.stringify(d));
      });
      await cameraTileOk(app, 'presiding_arbitrator', 'applicant (second share)');
      await chair.evaluate(() => window.__yt.screenTrack.dispatchEvent(new Event('ended')));
      await app.locator('.screen-tile').waitFor({ state: 'hidden', timeout: 8000 })
        .catch(() => { throw new Error('the 屏幕共享 tile stays after the capture ended'); });
      await chair.waitForFunction(() => window.__yt.sharing === false && !window.__yt.screenShare, null, { timeout: 8000 })
        .catch(() => { throw new Error('the chair still shares after the capture ended'); });
      assert((await chair.locator('.ctl-screen').innerText()).includes('共享屏幕'), 'the chair button does not offer 共享屏幕 again');
    });

    await check('landscape (844×390): the party room has no horizontal scroll and keeps the tiles and the controls on screen', async () => {
      await app.setViewportSize({ width: 844, height: 390 });
      await sleep(400);
      await noHorizontalScroll(app, 'room in landscape');
      const lay = await app.evaluate(() => {
        const ctl = document.querySelector('.controls').getBoundingClientRect();
        const tiles = [...document.querySelectorAll('.tile')].filter((t) => !t.hidden).map((t) => t.getBoundingClientRect());
        return { ctlTop: ctl.top, ctlH: ctl.height, vh: innerHeight, firstTileTop: tiles.length ? tiles[0].top : null, firstTileH: tiles.length ? tiles[0].height : null };
      });
      assert(lay.ctlTop + lay.ctlH <= lay.vh + 1 && lay.ctlH < lay.vh / 3, `the control bar takes ${lay.ctlH}px of ${lay.vh}px`);
      assert(lay.firstTileTop !== null && lay.firstTileTop < lay.ctlTop, `the first tile starts below the control bar: ${JSON.stringify(lay)}`);
      await shot(app, 'party-room-landscape');
      await app.setViewportSize({ width: 390, height: 844 });
      await sleep(100);
    }, { independent: true });

    // ------------------------------------------------------------ the witness
    const wit = witnessInv ? await (await mk(phone)).newPage() : null;
    if (wit) { watch(wit, 'witness', errors); debugPages.witness = wit; }
    await check('witness: identity, SMS code, device check and discipline on the phone (each step also in landscape)', async () => {
      assert(witnessInv, 'demo JSON lacks the witness invitation');
      await wit.goto(`${BASE}/j/${tokenOf(witnessInv)}`);
      await wit.locator('input[name=name]').waitFor({ state: 'visible' });
      await shot(wit, 'witness-identity');
      await landscape(wit, 'witness-identity');
      const before = await outboxFor(witnessInv.phone);
      const beforeId = before.length ? Number(before[0].id) || 0 : -Infinity;
      await wit.locator('input[name=name]').fill(witnessInv.name);
      await wit.locator('input[name=id_last6]').fill(witnessInv.id_last6);
      await wit.locator('form button[type=submit]').tap();
      await wit.locator('input[name=code]').waitFor({ state: 'visible' });
      await landscape(wit, 'witness-code');
      await wit.locator('input[name=code]').fill(await newCodeFor(witnessInv.phone, beforeId));
      await wit.locator('form button[type=submit]').tap();
      await wit.locator('[data-step="device"]').waitFor({ state: 'visible' });
      await landscape(wit, 'witness-device-start');
      await wit.locator('.check-start').tap();
      await wit.locator('.verdict[data-verdict]').waitFor({ state: 'visible', timeout: 30000 });
      const verdict = await wit.evaluate(() => document.querySelector('.verdict').dataset.verdict);
      assert(verdict === 'good', `witness device check verdict ${verdict}`);
      await shot(wit, 'witness-device-done');
      await landscape(wit, 'witness-device-done');
      await wit.locator('.check-next').tap();
      await wit.locator('[data-step="discipline"]').waitFor({ state: 'visible' });
      await landscape(wit, 'witness-discipline');
      await wit.locator('.ack-check').tap();
      await wit.locator('.ack-submit').tap();
      await wit.waitForURL(`**/room/${hearingId}`);
    });

    await check('witness: waits in the waiting room with 请等待传唤 (also in landscape); the chair sees the witness waiting', async () => {
      await wit.locator('[data-screen="waiting"][data-reason="witness"]').waitFor({ state: 'visible' });
      const w = await mainText(wit);
      assert(w.includes('候审室') && w.includes('请等待传唤'), `witness waiting room says: ${w}`);
      assert(w.includes(RECORDING_NOTICE), 'witness waiting room lacks the recording notice');
      await noHorizontalScroll(wit, 'witness waiting room');
      await shot(wit, 'witness-waiting');
      await landscape(wit, 'witness-waiting');
      const entry = chair.locator('.waiting-entry[data-role="witness"]');
      await entry.waitFor({ state: 'visible' });
      assert((await entry.innerText()).includes(witnessInv.name), 'the waiting entry lacks the witness name');
      assert(await entry.locator('.btn-call-witness').isVisible(), 'no 传唤证人 button for the witness');
      await shot(chair, 'chair-witness-waiting');
    });

    await check('witness: the chair calls the witness (传唤证人); witness and chair see each other', async () => {
      await chair.locator('.waiting-entry[data-role="witness"] .btn-call-witness').click();
      await waitLiveTiles(wit, ['presiding_arbitrator'], 'witness');
      await waitLiveTiles(chair, ['witness'], 'chair');
      const t = await visibleLive(wit);
      assert(t.some((x) => x.label === '首席仲裁员 · ' + arbitrator.display_name), `the witness sees no 首席仲裁员 tile: ${JSON.stringify(t)}`);
      const c = await visibleLive(chair);
      assert(c.some((x) => x.label === '证人 · ' + witnessInv.name), `the chair sees no 证人 tile: ${JSON.stringify(c)}`);
      await chair.locator('.participant-entry[data-role="witness"][data-presence="present"]').waitFor({ state: 'visible', timeout: 8000 });
      await noHorizontalScroll(wit, 'witness in the room');
      await shot(wit, 'witness-called');
      await landscape(wit, 'witness-called');
      await shot(chair, 'chair-witness-called');
    });

    await check('witness: the chair dismisses the witness (证人退庭); the witness is back in the waiting room', async () => {
      await chair.locator('.participant-entry[data-role="witness"] .btn-dismiss-witness').click();
      await wit.locator('[data-screen="waiting"][data-reason="witness"]').waitFor({ state: 'visible', timeout: 10000 })
        .catch(() => { throw new Error('the witness did not go back to the waiting room'); });
      assert((await mainText(wit)).includes('请等待传唤'), 'the dismissed witness does not see 请等待传唤');
      assert(await wit.evaluate(() => !window.__yt.localStream), 'the dismissed witness still has the camera open');
      await chair.waitForFunction((name) => ![...document.querySelectorAll('.tile')].some((el) => !el.hidden && el.dataset.role === 'witness'), witnessInv.name, { timeout: 8000 })
        .catch(() => { throw new Error('the chair still shows the witness tile'); });
      await chair.locator('.waiting-entry[data-role="witness"]').waitFor({ state: 'visible', timeout: 8000 });
      await shot(wit, 'witness-dismissed');
      await shot(chair, 'chair-witness-dismissed');
    });

    await check('raise hand and a help message reach the chair console', async () => {
      await app.locator('.ctl-hand').tap();
      await chair.locator('.participant-entry[data-role="applicant"][data-hand="1"]').waitFor({ state: 'visible', timeout: 8000 });
      await app.locator('.ctl-more').tap();
      await app.locator('.room-sheet textarea[name=help]').fill('听不清首席仲裁员的声音');
      await app.locator('.room-sheet .help-send').tap();
      await chair.locator('.help-entry', { hasText: '听不清首席仲裁员的声音' }).waitFor({ state: 'visible', timeout: 8000 });
      await shot(app, 'party-more-sheet');
      await app.locator('.room-sheet .sheet-close').tap();
      await app.locator('.ctl-hand').tap();
      await chair.locator('.participant-entry[data-role="applicant"][data-hand="0"]').waitFor({ state: 'attached', timeout: 8000 });
    }, { independent: true });

    await check('chair mutes the applicant: the applicant cannot unmute until released', async () => {
      await chair.locator('.participant-entry[data-role="applicant"] .btn-mute-audio').click();
      await app.locator('.ctl-mic[data-held="1"]').waitFor({ state: 'visible', timeout: 8000 });
      assert(await app.locator('.ctl-mic').isDisabled(), 'microphone button still enabled while held');
      assert(await app.evaluate(() => window.__yt.localStream.getAudioTracks()[0].enabled === false), 'local audio still enabled');
      await shot(app, 'party-chair-muted');
      await chair.locator('.participant-entry[data-role="applicant"] .btn-mute-audio').click();
      await app.locator('.ctl-mic[data-held="0"]').waitFor({ state: 'attached', timeout: 8000 });
    }, { independent: true });

    // ------------------------------------------------------------ phases
    await check('phases: the chair moves forward through every phase; all pages show each label', async () => {
      for (let i = 1; i < PHASES.length - 1; i++) {
        const [key, zh] = PHASES[i];
        await chair.locator('.btn-next-phase').click();
        for (const [pg, who] of [[chair, 'chair'], [app, 'applicant'], [resp, 'respondent']]) {
          await pg.waitForFunction((key) => window.__yt && window.__yt.phase === key, key, { timeout: 8000 })
            .catch(() => { throw new Error(`${who} did not reach phase ${key}`); });
          const label = await pg.locator('.phase-bar .phase-label').innerText();
          assert(label.includes(zh), `${who}: phase banner says “${label}”, expected ${zh}`);
        }
        if (key === 'opening') { await shot(app, 'party-phase-opening'); }
      }
      await shot(chair, 'chair-phase-mediation');
    });

    await check('pause with a reason shows 休庭 to the parties; resume', async () => {
      await chair.locator('.btn-pause').click();
      await chair.locator('form[data-form="pause"] .chair-form-submit').click();
      await chair.locator('form[data-form="pause"] .chair-form-error').waitFor({ state: 'visible' });
      await chair.locator('form[data-form="pause"] input[name=reason]').fill('申请人网络中断');
      await chair.locator('form[data-form="pause"] .chair-form-submit').click();
      for (const pg of [app, resp]) {
        await pg.locator('.pause-bar').waitFor({ state: 'visible', timeout: 8000 });
        const t = await pg.locator('.pause-bar').innerText();
        assert(t.includes('休庭') && t.includes('申请人网络中断'), `pause banner: ${t}`);
      }
      await shot(resp, 'respondent-paused');
      await chair.locator('.btn-resume').click();
      await app.locator('.pause-bar').waitFor({ state: 'hidden', timeout: 8000 });
    }, { independent: true });

    await check('exhibit: the applicant uploads a photo, the chair shows it, every page displays it', async () => {
      await app.locator('.ctl-more').tap();
      await app.locator('.room-sheet input[type=file]').setInputFiles({ name: '工资条.png', mimeType: 'image/png', buffer: png(240, 160) });
      await app.locator('.room-sheet .exhibit-upload').tap();
      await app.locator('.room-sheet .upload-form .sheet-note[data-kind="ok"]').waitFor({ state: 'visible', timeout: 8000 })
        .catch(async () => { throw new Error('upload: ' + await app.locator('.room-sheet .upload-form .sheet-note').innerText().catch(() => '?')); });
      await app.locator('.room-sheet .sheet-close').tap();
      await chair.locator('.btn-refresh-exhibits').click();
      const entry = chair.locator('.exhibit-entry', { hasText: '工资条.png' });
      await entry.waitFor({ state: 'visible', timeout: 8000 });
      await entry.locator('.btn-show-exhibit').click();
      for (const pg of [app, resp]) {
        await pg.locator('.exhibit-view img.exhibit-img').waitFor({ state: 'visible', timeout: 8000 });
        await pg.waitForFunction(() => (document.querySelector('.exhibit-view img') || {}).naturalWidth > 0, null, { timeout: 8000 })
          .catch(() => { throw new Error('exhibit image did not load'); });
      }
      await shot(resp, 'respondent-exhibit');
      await chair.locator('.btn-hide-exhibit').first().click();
      await resp.locator('.exhibit-view').waitFor({ state: 'hidden', timeout: 8000 });
    }, { independent: true });

    // ------------------------------------------------------------ caucus
    await check('caucus with the applicant side: applicant and respondent no longer see each other; closing brings them back', async () => {
      await chair.locator('select[name=side]').selectOption('applicant');
      await chair.locator('.btn-caucus-open').click();
      await resp.waitForFunction((pid) => window.__yt.caucus && !window.__yt.visible.includes(pid), ids.applicant, { timeout: 8000 })
        .catch(() => { throw new Error('respondent still shows the applicant during the caucus'); });
      await app.waitForFunction((pid) => window.__yt.caucus && !window.__yt.visible.includes(pid), ids.respondent, { timeout: 8000 })
        .catch(() => { throw new Error('applicant still shows the respondent during the caucus'); });
      assert((await resp.locator('.caucus-bar').innerText()).includes('背对背调解进行中'), 'respondent has no 背对背调解进行中 banner');
      const appAudioMuted = await resp.evaluate((pid) => { const el = document.querySelector(`.tile[data-participant-id="${pid}"] audio`); return !el || el.muted; }, ids.applicant);
      assert(appAudioMuted, 'the applicant is still audible to the respondent');
      await shot(resp, 'respondent-caucus');
      await shot(app, 'party-caucus');
      await shot(chair, 'chair-caucus');
      await chair.locator('.btn-caucus-close').click();
      await waitLiveTiles(resp, ['presiding_arbitrator', 'applicant'], 'respondent after the caucus');
      await waitLiveTiles(app, ['presiding_arbitrator', 'respondent'], 'applicant after the caucus');
    });

    // ------------------------------------------------------------ close
    await check('closing: the chair ends the hearing (闭庭); the parties see 庭审已结束', async () => {
      await chair.locator('.btn-next-phase').click();
      await chair.locator('form[data-form="end-next"] .chair-form-submit').click();
      for (const [pg, who] of [[app, 'applicant'], [resp, 'respondent'], ...(wit ? [[wit, 'witness']] : [])]) {
        await pg.locator('[data-screen="ended"]').waitFor({ state: 'visible', timeout: 10000 })
          .catch(() => { throw new Error(`${who} did not see the ended screen`); });
        const t = await mainText(pg);
        assert(t.includes('庭审已结束') && t.includes('闭庭'), `${who}: ended screen says ${t}`);
      }
      await shot(app, 'party-ended');
      await shot(chair, 'chair-ended');
    });

    await check('no page errors in any page', async () => {
      assert(!errors.length, errors.join('; '));
    }, { independent: true });
  } finally {
    await browser.close();
  }
}

main().then(() => {
  if (failed) console.log(`failed: ${failures.join(' | ')}`);
  finish(failed ? 1 : 0);
}).catch((err) => {
  console.error(`hearing test aborted: ${err && err.stack ? err.stack : err}`);
  failed += 1;
  finish(1);
});
