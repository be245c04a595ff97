// End-to-end test of electronic signature (issue 6) against a running `yunting serve --dev`
// with the demo data, in Debian's headless Chromium (never downloads a browser):
//   1. the clerk drafts the simplified-procedure confirmation in the console's documents
//      panel and sends the signing links (SMS in the dev outbox);
//   2. the gate: the chair cannot open the hearing (宣布开庭) while the confirmation is not
//      in effect;
//   3. the applicant opens the SMS link at 360×740 (identity, code from the outbox) and lands
//      on /sign/<id>: page images, fingerprint, WebCrypto key, handwriting drawn with touch
//      events, signed; the respondent likewise (mouse pointer); the server seals the
//      confirmation → effective, and the chair may now open the hearing (the phase is then
//      moved back, because hearing.mjs runs the demo hearing from the start afterwards);
//   4. a mediation agreement of the demo hearing: both parties sign on their phones (the
//      respondent through the SMS re-verification step), then the mediator on a desktop,
//      then the clerk applies the seal in the panel → effective; the final PDF is saved and,
//      when `pdfsig` is installed, every signature must read "Signature is Valid";
//   5. refusals through the API: a wrong SMS code (401 bad_otp), signing an effective
//      document (409 document_effective), replaying a used signature (409 signature_replayed).
//
//   YT_BASE=http://127.0.0.1:18080 YT_DEMO=/path/demo.json node tests/browser/esign.mjs
//
// Screenshots go to tests/browser/screenshots/esign-*.png. The last line is
// `esign: N passed, M failed`.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const shotsDir = path.join(here, 'screenshots');
const CHROMIUM = process.env.YT_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 20000;
const ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--ignore-certificate-errors'];

let passed = 0;
let failed = 0;
const failures = [];

function finish(code) {
  console.log(`esign: ${passed} passed, ${failed} failed`);
  process.exit(code);
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const BASE = (process.env.YT_BASE || '').replace(/\/+$/, '');
// The mediator signs with a passkey (a CDP virtual authenticator with user verification).
// WebAuthn needs a domain as relying party, not an IP address: that context uses localhost.
const MED_BASE = BASE.replace('127.0.0.1', 'localhost');
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

const caseId = demo.case && demo.case.id;
const hearingId = demo.hearing && demo.hearing.id;
const staff = (role) => (demo.staff || []).find((s) => s.role === role || s.username === role);
const clerk = staff('clerk');
const arbitrator = staff('arbitrator');
const mediator = staff('mediator');
const applicantInv = (demo.invitations || []).find((i) => i.role === 'applicant');
const respondentInv = (demo.invitations || []).find((i) => i.role === 'respondent');

// ------------------------------------------------------------------ helpers

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

async function newestId(phone) {
  const mine = await outboxFor(phone);
  return mine.length ? Number(mine[0].id) || 0 : -1;
}

const lastCodeAt = new Map(); // phone → ms when the newest code was seen

/** The newest one-time code sent to phone after message afterId. */
async function codeFor(phone, afterId) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const msg = (await outboxFor(phone)).find((m) => (Number(m.id) || 0) > afterId && /验证码/.test(String(m.body || '')));
    if (msg) {
      const m = /(?<!\d)(\d{6})(?!\d)/.exec(String(msg.body || ''));
      assert(m, `outbox message to ${phone} has no 6-digit code: ${JSON.stringify(msg.body)}`);
      lastCodeAt.set(digits(phone), Date.now());
      return m[1];
    }
    if (Date.now() > deadline) throw new Error(`no new code to ${phone} within 10 s`);
    await sleep(250);
  }
}

/** The signing link (…/j/<token>?sign=<id>) of the newest signing request to phone. */
async function signLinkFor(phone, docId) {
  const deadline = Date.now() + 10000;
  for (;;) {
    for (const m of await outboxFor(phone)) {
      const x = /https?:\/\/[^\s，。]+?\/j\/[A-Za-z0-9._~%-]+\?sign=(\d+)/.exec(String(m.body || ''));
      if (x && Number(x[1]) === Number(docId)) {
        const u = new URL(x[0]);
        return BASE + u.pathname + u.search;
      }
    }
    if (Date.now() > deadline) throw new Error(`no signing link for document ${docId} to ${phone} in the outbox`);
    await sleep(250);
  }
}

async function json(resp) {
  const text = await resp.text();
  try { return text ? JSON.parse(text) : null; } catch (_) { return { raw: text }; }
}

/** A request through a browser context's cookie jar: {status, body, code}. */
async function call(ctx, method, p, data, base = BASE) {
  const opts = data === undefined ? {} : { data };
  const r = await ctx.request.fetch(base + p, { method, ...opts });
  const body = await json(r);
  return { status: r.status(), body, code: body && body.error ? body.error.code : null };
}

async function login(ctx, who, base = BASE) {
  const r = await ctx.request.post(`${base}/api/auth/login`, { data: { username: who.username, password: who.password } });
  assert(r.ok(), `POST /api/auth/login (${who.username}) answered ${r.status()}: ${await r.text()}`);
}

/** Every page image of the sign page loaded (they reload after each signature). */
async function pagesLoaded(page) {
  const y = await page.evaluate(() => window.scrollY);
  for (const img of await page.locator('img.sign-page-img').all()) await img.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => [...document.querySelectorAll('img.sign-page-img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: TIMEOUT });
  await page.evaluate((top) => window.scrollTo(0, top), y);
}

async function shot(page, name, opts = {}) {
  if (opts.fullPage !== false && await page.locator('img.sign-page-img').count()) await pagesLoaded(page);
  await page.screenshot({ path: path.join(shotsDir, 'esign-' + name + '.png'), fullPage: opts.fullPage !== false });
}

function watchErrors(page, who, sink) {
  page.on('pageerror', (err) => sink.push(`${who}: page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) sink.push(`${who}: console error: ${msg.text()}`);
  });
}

/** POSTs to /api/documents/{id}/{prepare,sign} seen from a page, with their bodies. */
function captureSigning(page, sink) {
  page.on('request', (req) => {
    const m = /\/api\/documents\/(\d+)\/(prepare|sign)$/.exec(new URL(req.url()).pathname);
    if (req.method() === 'POST' && m) {
      let body = null;
      try { body = req.postDataJSON(); } catch (_) { body = null; }
      sink.push({ doc: Number(m[1]), step: m[2], body });
    }
  });
}

let blocked = null;

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
    console.log(`not ok - ${name}: ${err && err.message ? err.message.split('\n')[0] : err}`);
    if (!independent) blocked = name;
    return false;
  }
}

async function noHorizontalScroll(page, where) {
  const { sw, cw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
  assert(sw <= cw + 1, `${where}: scrollWidth ${sw} > viewport ${cw}`);
}

/** A made-up handwritten name: three strokes inside box (CSS px, viewport coordinates). */
function strokesIn(box) {
  const x = (f) => box.x + box.width * f;
  const y = (f) => box.y + box.height * f;
  const line = (pts, n = 12) => {
    const out = [];
    for (let i = 0; i < pts.length - 1; i += 1) {
      for (let k = 0; k < n; k += 1) {
        const t = k / n;
        out.push([pts[i][0] + (pts[i + 1][0] - pts[i][0]) * t, pts[i][1] + (pts[i + 1][1] - pts[i][1]) * t]);
      }
    }
    out.push(pts[pts.length - 1]);
    return out;
  };
  return [
    line([[x(0.12), y(0.35)], [x(0.3), y(0.3)], [x(0.22), y(0.7)], [x(0.36), y(0.62)]]),
    line([[x(0.42), y(0.28)], [x(0.44), y(0.72)], [x(0.56), y(0.4)], [x(0.6), y(0.7)]]),
    line([[x(0.66), y(0.5)], [x(0.78), y(0.3)], [x(0.86), y(0.55)], [x(0.72), y(0.66)], [x(0.9), y(0.72)]]),
  ];
}

/** Draw with real touch input (pointerType "touch") through the DevTools protocol. */
async function drawTouch(page) {
  const canvas = page.locator('canvas.sign-canvas');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  assert(box && box.width > 200 && box.height > 100, `signature pad is ${box && box.width}×${box && box.height}`);
  const cdp = await page.context().newCDPSession(page);
  try {
    for (const s of strokesIn(box)) {
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: s[0][0], y: s[0][1] }] });
      for (const [px, py] of s.slice(1)) {
        await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: px, y: py }] });
      }
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    }
  } finally {
    await cdp.detach();
  }
}

/** Draw with the mouse (pointerType "mouse"). */
async function drawMouse(page) {
  const canvas = page.locator('canvas.sign-canvas');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  assert(box && box.width > 200 && box.height > 100, `signature pad is ${box && box.width}×${box && box.height}`);
  for (const s of strokesIn(box)) {
    await page.mouse.move(s[0][0], s[0][1]);
    await page.mouse.down();
    for (const [px, py] of s.slice(1)) await page.mouse.move(px, py);
    await page.mouse.up();
  }
}

async function waitSignPage(page, docId) {
  await page.waitForURL((u) => new URL(u).pathname === `/sign/${docId}`, { timeout: TIMEOUT });
  await page.locator('.sign-doc').waitFor({ state: 'visible' });
}

/** Wait until the page's signer key is ready (or an SMS code is asked for). */
async function waitKey(page) {
  await page.waitForFunction(() => window.__ytSign && ['ready', 'reverify', 'error', 'unsupported'].includes(window.__ytSign.keyState), null, { timeout: TIMEOUT });
  return page.evaluate(() => window.__ytSign.keyState);
}

async function signOnPage(page, draw) {
  await draw(page);
  const empty = await page.locator('.sign-pad-frame').getAttribute('data-empty');
  assert(empty === '0', 'the signature pad is still empty after drawing');
  await page.locator('input[name=consent]').check();
  await page.locator('button.sign-submit').click();
  await page.waitForFunction(() => window.__ytSign && (window.__ytSign.done === 'signed' || (!window.__ytSign.busy && document.querySelector('.sign-action .msg-error:not([hidden])'))), null, { timeout: TIMEOUT });
  const done = await page.evaluate(() => window.__ytSign.done);
  if (done !== 'signed') {
    const msg = await page.locator('.sign-action .msg-error').allInnerTexts();
    throw new Error(`signing failed: ${msg.join(' ')}`);
  }
}

/** identity + code on the party page opened from a link; returns when /sign/<id> shows. */
async function partyVerifies(page, inv, link, docId) {
  await page.goto(link);
  await page.locator('input[name=name]').waitFor({ state: 'visible' });
  const before = await newestId(inv.phone);
  await page.locator('input[name=name]').fill(inv.name);
  await page.locator('input[name=id_last6]').fill(inv.id_last6);
  await page.locator('form button[type=submit]').tap();
  await page.locator('input[name=code]').waitFor({ state: 'visible' }).catch(async () => {
    const msg = await page.locator('.msg-error').allTextContents();
    throw new Error(`code step not reached${msg.length ? ' (error shown: ' + msg.join(' ') + ')' : ''}`);
  });
  assert(new URL(page.url()).searchParams.get('sign') === String(docId), `the ?sign= query was lost: ${page.url()}`);
  const code = await codeFor(inv.phone, before);
  await page.locator('input[name=code]').fill(code);
  await page.locator('form button[type=submit]').tap();
  await waitSignPage(page, docId);
}

async function control(ctx, command) {
  return call(ctx, 'POST', `/api/hearings/${hearingId}/control`, command);
}

// ------------------------------------------------------------------ the test

async function main() {
  assert(caseId && hearingId, 'demo JSON has no case.id or hearing.id');
  assert(clerk && arbitrator && mediator, 'demo JSON lacks clerk, arbitrator or mediator in staff[]');
  assert(applicantInv && respondentInv, 'demo JSON lacks the applicant or respondent invitation');

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  const errors = [];
  const phone = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ignoreHTTPSErrors: true };
  const desktop = { viewport: { width: 1280, height: 860 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ignoreHTTPSErrors: true };
  const mk = async (o) => { const c = await browser.newContext(o); c.setDefaultTimeout(TIMEOUT); return c; };
  const clerkCtx = await mk(desktop);
  const arbCtx = await mk(desktop);
  const medCtx = await mk(desktop);
  const appCtx = await mk(phone);
  const respCtx = await mk(phone);
  const clerkPage = await clerkCtx.newPage();
  const appPage = await appCtx.newPage();
  const respPage = await respCtx.newPage();
  const medPage = await medCtx.newPage();
  watchErrors(clerkPage, 'clerk', errors);
  watchErrors(appPage, 'applicant', errors);
  watchErrors(respPage, 'respondent', errors);
  watchErrors(medPage, 'mediator', errors);
  const appSigning = [];
  captureSigning(appPage, appSigning);

  let conf = null; // the confirmation's view
  let med = null; // the mediation agreement's view
  let phaseMoved = false;
  const report = {};

  try {
    await login(arbCtx, arbitrator);
    await login(medCtx, mediator, MED_BASE);

    // ---------------------------------------------------------------- 1. draft + send
    await check('clerk: drafts the confirmation in the documents panel and sends the signing links', async () => {
      await clerkPage.goto(BASE + '/');
      await clerkPage.locator('input[name=username]').fill(clerk.username);
      await clerkPage.locator('input[name=password]').fill(clerk.password);
      await clerkPage.locator('form button[type=submit]').click();
      await clerkPage.locator('table a').first().waitFor({ state: 'visible' });
      await clerkPage.goto(`${BASE}/#/cases/${caseId}`);
      const panel = clerkPage.locator('.docs-panel');
      await panel.waitFor({ state: 'visible' });
      await panel.locator('.docs-new').click();
      await panel.locator('.docs-form select').first().selectOption('confirmation');
      await panel.locator('input[name=defence][value=waived]').check();
      await panel.locator('.docs-submit').click();
      const item = panel.locator('.docs-item[data-kind="confirmation"]').first();
      await item.waitFor({ state: 'visible' }).catch(async () => {
        const msg = await panel.locator('.msg-error').allTextContents();
        throw new Error(`no confirmation listed after drafting${msg.length ? ' (error: ' + msg.join(' ') + ')' : ''}`);
      });
      const id = Number(await item.getAttribute('data-document-id'));
      const r = await call(clerkCtx, 'GET', `/api/documents/${id}`);
      assert(r.status === 200, `GET /api/documents/${id} answered ${r.status}`);
      conf = r.body;
      assert(conf.status === 'signing' && conf.version === 1, `new confirmation is ${conf.status} v${conf.version}`);
      assert(/^[0-9a-f]{64}$/.test(conf.sha256 || ''), `sha256 is ${conf.sha256}`);
      assert(conf.page_count >= 1, `page_count ${conf.page_count}`);
      const ids = (conf.slots || []).map((s) => s.id).sort().join(',');
      assert(ids === 'applicant,respondent', `confirmation slots: ${ids}`);
      await item.locator('.docs-send').click();
      const note = item.locator('.docs-note');
      await note.waitFor({ state: 'visible' });
      const text = await note.innerText();
      assert(/已发送/.test(text), `after 发送签署短信 the panel says “${text}”`);
      assert(!errors.length, errors.join('; '));
    });

    // ---------------------------------------------------------------- 2. gate closed
    await check('gate: the chair cannot open the simplified-procedure hearing before the confirmation is effective', async () => {
      let r = await control(arbCtx, { do: 'phase', phase: 'announce_discipline' });
      report.gateFirstMove = `${r.status} ${r.code || ''}`.trim();
      if (r.status === 200) phaseMoved = true;
      else assert(r.status === 409 && r.code === 'confirmation_not_effective', `phase → announce_discipline answered ${r.status} ${JSON.stringify(r.body)}`);
      r = await control(arbCtx, phaseMoved ? { do: 'phase', phase: 'opening' } : { do: 'phase', phase: 'opening', reason: '电子签署测试' });
      if (r.status === 200) phaseMoved = true;
      report.gateBefore = `${r.status} ${JSON.stringify(r.body)}`;
      assert(r.status === 409 && r.code === 'confirmation_not_effective', `phase → opening before signing answered ${r.status} ${JSON.stringify(r.body)} (expected 409 confirmation_not_effective)`);
    }, { independent: true });

    // ---------------------------------------------------------------- 3. the parties sign
    await check('applicant: the SMS link (?sign=) → identity → code → the sign page with pages, fingerprint and key', async () => {
      const link = await signLinkFor(applicantInv.phone, conf.id);
      await partyVerifies(appPage, applicantInv, link, conf.id);
      await appPage.waitForFunction(() => {
        const img = document.querySelector('img.sign-page-img');
        return img && img.complete && img.naturalWidth > 0;
      }, null, { timeout: TIMEOUT });
      const imgs = await appPage.locator('img.sign-page-img').count();
      assert(imgs === conf.page_count, `${imgs} page images for ${conf.page_count} pages`);
      const fp = (await appPage.locator('.sign-hash-v').innerText()).replace(/\s+/g, '');
      assert(fp === conf.sha256.slice(0, 16), `fingerprint shown ${fp}, document sha256 ${conf.sha256}`);
      const body = await appPage.locator('.sign-doc').innerText();
      assert(body.includes('本文书签署后不可修改'), 'the immutability note is not shown');
      const key = await waitKey(appPage);
      assert(key === 'ready', `the signing key state is ${key}`);
      await noHorizontalScroll(appPage, 'sign page');
      await shot(appPage, '00-sign-top', { fullPage: false });
      assert(await appPage.locator('.sign-gobar').isVisible(), 'no “去签名” bar while reading the top of the document');
      assert(!errors.length, errors.join('; '));
    });

    await check('applicant: draws the signature with touch and signs; the screen says signed, waiting for the respondent', async () => {
      await drawTouch(appPage);
      await shot(appPage, '01-sign-page');
      await appPage.locator('canvas.sign-canvas').scrollIntoViewIfNeeded();
      await shot(appPage, '01b-sign-pad', { fullPage: false });
      await appPage.locator('input[name=consent]').check();
      await appPage.locator('button.sign-submit').click();
      await appPage.waitForFunction(() => window.__ytSign && (window.__ytSign.done === 'signed' || (!window.__ytSign.busy && document.querySelector('.sign-action .msg-error:not([hidden])'))), null, { timeout: TIMEOUT });
      const done = await appPage.evaluate(() => window.__ytSign.done);
      if (done !== 'signed') throw new Error(`signing failed: ${(await appPage.locator('.sign-action .msg-error').allInnerTexts()).join(' ')}`);
      const text = await appPage.locator('.sign-action').innerText();
      assert(text.includes('已签署') && text.includes('被申请人'), `done card says “${text}”`);
      await shot(appPage, '02-done-waiting');
      const p = appSigning.find((x) => x.step === 'prepare' && x.doc === conf.id);
      assert(p && p.body && p.body.method === 'device_key' && Array.isArray(p.body.strokes) && p.body.strokes.length >= 3, 'prepare request lacks method or strokes');
      const png = Buffer.from(String(p.body.image).replace(/^data:image\/png;base64,/, ''), 'base64');
      assert(png.subarray(1, 4).toString() === 'PNG' && png.length <= 300 * 1024, `signature image ${png.length} bytes`);
      report.imageBytes = png.length;
      const r = await call(appCtx, 'GET', `/api/documents/${conf.id}`);
      const slot = (r.body.slots || []).find((s) => s.id === 'applicant');
      assert(slot && slot.status === 'signed' && slot.method === 'device_key', `applicant slot ${JSON.stringify(slot)}`);
      assert(r.body.status === 'signing', `status after one signature: ${r.body.status}`);
      assert(!errors.length, errors.join('; '));
    });

    await check('respondent: same link flow, draws with the mouse pointer, signs; the confirmation becomes effective (sealed by the server)', async () => {
      const link = await signLinkFor(respondentInv.phone, conf.id);
      await partyVerifies(respPage, respondentInv, link, conf.id);
      const key = await waitKey(respPage);
      assert(key === 'ready', `the signing key state is ${key}`);
      await signOnPage(respPage, drawMouse);
      await respPage.locator('.sign-effective').waitFor({ state: 'visible' });
      await respPage.locator('a.sign-cert-link').waitFor({ state: 'visible' });
      await shot(respPage, '03-done-effective');
      const r = await call(clerkCtx, 'GET', `/api/documents/${conf.id}`);
      conf = r.body;
      assert(conf.status === 'effective', `confirmation is ${conf.status}`);
      assert(conf.certificate_url, 'no certificate_url once effective');
      assert(conf.seal && conf.seal.sealed_at, `seal: ${JSON.stringify(conf.seal)}`);
      const cert = await clerkCtx.request.get(BASE + conf.certificate_url);
      assert(cert.ok() && (await cert.body()).subarray(0, 5).toString() === '%PDF-', `certificate.pdf answered ${cert.status()}`);
      assert(!errors.length, errors.join('; '));
    });

    // ---------------------------------------------------------------- gate open
    await check('gate: once the confirmation is effective the chair may open the hearing (then moves it back)', async () => {
      let r = await control(arbCtx, { do: 'phase', phase: 'opening', reason: '电子签署测试' });
      if (r.status === 409 && r.code === 'bad_phase') r = { status: 200, body: r.body }; // already there
      report.gateAfter = `${r.status} ${JSON.stringify(r.body)}`;
      assert(r.status === 200, `phase → opening after signing answered ${r.status} ${JSON.stringify(r.body)}`);
      phaseMoved = true;
      r = await control(arbCtx, { do: 'phase', phase: 'check_attendance', reason: '电子签署测试结束，恢复庭前阶段' });
      assert(r.status === 200, `phase back → check_attendance answered ${r.status} ${JSON.stringify(r.body)}`);
      phaseMoved = false;
    }, { independent: true });

    // ---------------------------------------------------------------- 4. mediation agreement
    blocked = null;
    await check('clerk: drafts a mediation agreement of the demo hearing (API)', async () => {
      const r = await call(clerkCtx, 'POST', `/api/cases/${caseId}/documents`, {
        kind: 'mediation_agreement', hearing_id: hearingId,
        fields: { agreed_terms: '一、被申请人于2026年3月31日前向申请人支付工资差额人民币12,000元；\n二、申请人放弃其他仲裁请求；\n三、双方就本案再无其他争议。' },
      });
      assert(r.status === 201, `POST documents answered ${r.status} ${JSON.stringify(r.body)}`);
      med = r.body;
      const ids = (med.slots || []).map((s) => s.id).join(',');
      assert(ids.includes('applicant') && ids.includes('respondent') && ids.includes('mediator'), `slots ${ids}`);
      assert(med.seal && med.seal.by_staff && !med.seal.ready, `seal ${JSON.stringify(med.seal)}`);
      const m = await call(medCtx, 'GET', `/api/documents/${med.id}`, undefined, MED_BASE);
      assert(m.body.me && m.body.me.slot === 'mediator' && !m.body.me.can_sign, `mediator before the parties: ${JSON.stringify(m.body.me)}`);
      assert(m.body.me.why_not && m.body.me.why_not.code === 'not_your_turn', `why_not ${JSON.stringify(m.body.me.why_not)}`);
    });

    await check('refused: a wrong SMS code for signing → 401 bad_otp', async () => {
      let r = await call(respCtx, 'POST', `/api/documents/${med.id}/otp`, {});
      const deadline = Date.now() + 70000;
      while (r.status === 429 && Date.now() < deadline) {
        await sleep(3000);
        r = await call(respCtx, 'POST', `/api/documents/${med.id}/otp`, {});
      }
      assert(r.status === 200 && r.body.sent, `POST otp answered ${r.status} ${JSON.stringify(r.body)}`);
      lastCodeAt.set(digits(respondentInv.phone), Date.now());
      const real = await codeFor(respondentInv.phone, -1);
      const wrong = String((Number(real) + 1) % 1000000).padStart(6, '0');
      const v = await call(respCtx, 'POST', `/api/documents/${med.id}/otp/verify`, { code: wrong });
      report.badOtp = `${v.status} ${JSON.stringify(v.body)}`;
      assert(v.status === 401 && v.code === 'bad_otp', `wrong code answered ${v.status} ${JSON.stringify(v.body)}`);
    }, { independent: true });

    await check('applicant: signs the mediation agreement on the phone', async () => {
      await appPage.goto(`${BASE}/sign/${med.id}`);
      await waitSignPage(appPage, med.id);
      const key = await waitKey(appPage);
      assert(key === 'ready', `key state ${key}`);
      await signOnPage(appPage, drawTouch);
      const text = await appPage.locator('.sign-action').innerText();
      assert(text.includes('已签署'), `done card says “${text}”`);
      assert(!errors.length, errors.join('; '));
    });

    await check('respondent: is asked to confirm by SMS code on the sign page, enters it, signs the mediation agreement', async () => {
      // The party verified a minute ago; make the page meet the server's
      // `reverify_required` once (as after 15 minutes) to walk the code step for real.
      let forced = false;
      await respPage.route('**/api/documents/*/certificate', async (route) => {
        if (!forced) {
          forced = true;
          await route.fulfill({ status: 403, contentType: 'application/json', body: JSON.stringify({ error: { code: 'reverify_required', message: '签署前请先用短信验证码确认身份 / confirm your identity with a one-time code before signing' } }) });
        } else {
          await route.continue();
        }
      });
      await respPage.goto(`${BASE}/sign/${med.id}`);
      await waitSignPage(respPage, med.id);
      const key = await waitKey(respPage);
      assert(key === 'reverify', `key state ${key} (expected reverify)`);
      const before = await newestId(respondentInv.phone);
      await respPage.locator('.sign-otp-send').click();
      const input = respPage.locator('input[name=otp]');
      await input.waitFor({ state: 'visible' });
      // A code sent less than a minute ago stays valid (the server refuses a new one).
      let code;
      try { code = await codeFor(respondentInv.phone, before); } catch (_) { code = await codeFor(respondentInv.phone, -1); }
      await shot(respPage, '04-sign-otp');
      await input.fill(code);
      await respPage.locator('.sign-otp-verify').click();
      await respPage.waitForFunction(() => window.__ytSign && window.__ytSign.keyState === 'ready', null, { timeout: TIMEOUT }).catch(async () => {
        throw new Error(`key not ready after the code: ${(await respPage.locator('.sign-action .msg-error').allInnerTexts()).join(' ')}`);
      });
      await signOnPage(respPage, drawMouse);
      await respPage.unroute('**/api/documents/*/certificate');
      const r = await call(respCtx, 'GET', `/api/documents/${med.id}`);
      assert((r.body.pending || []).join(',') === 'mediator', `pending after both parties: ${JSON.stringify(r.body.pending)}`);
      assert(!errors.length, errors.join('; '));
    });

    await check('mediator: signs on /sign/<id> from the staff session (no SMS code), confirming with a passkey (user verification)', async () => {
      const cdp = await medCtx.newCDPSession(medPage);
      await cdp.send('WebAuthn.enable');
      await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } });
      await medPage.goto(`${MED_BASE}/sign/${med.id}`);
      await waitSignPage(medPage, med.id);
      const key = await waitKey(medPage);
      assert(key === 'ready', `key state ${key}`);
      assert(!(await medPage.locator('.sign-otp').count()), 'a staff signer was asked for an SMS code');
      await signOnPage(medPage, drawMouse);
      const text = await medPage.locator('.sign-action').innerText();
      assert(text.includes('盖章'), `mediator done card should say it waits for the seal: “${text}”`);
      const r = await call(clerkCtx, 'GET', `/api/documents/${med.id}`);
      assert(r.body.status === 'signing' && r.body.seal.ready, `after the mediator: ${r.body.status}, seal ${JSON.stringify(r.body.seal)}`);
      const slot = (r.body.slots || []).find((x) => x.id === 'mediator');
      assert(slot && slot.method === 'webauthn', `the mediator's method: ${JSON.stringify(slot)}`);
      assert(!errors.length, errors.join('; '));
    });

    await check('clerk: applies the seal in the documents panel → the mediation agreement is effective', async () => {
      const panel = clerkPage.locator('.docs-panel');
      await panel.locator('.docs-refresh').click();
      const item = panel.locator(`.docs-item[data-document-id="${med.id}"]`);
      await item.locator('.docs-seal').click();
      await clerkPage.locator(`.docs-item[data-document-id="${med.id}"][data-status="effective"]`).waitFor({ state: 'visible' }).catch(async () => {
        throw new Error(`not effective after 加盖印章: ${await item.innerText()}`);
      });
      const r = await call(clerkCtx, 'GET', `/api/documents/${med.id}`);
      med = r.body;
      assert(med.status === 'effective' && med.effective_at && med.certificate_url, `after the seal: ${JSON.stringify({ status: med.status, effective_at: med.effective_at })}`);
      await clerkPage.setViewportSize({ width: 360, height: 740 });
      await panel.scrollIntoViewIfNeeded();
      await panel.screenshot({ path: path.join(shotsDir, 'esign-05-documents-panel.png') });
      await noHorizontalScroll(clerkPage, 'console case page with the documents panel');
      await clerkPage.setViewportSize(desktop.viewport);
      assert(!errors.length, errors.join('; '));
    });

    await check('the sealed mediation agreement PDF: saved; pdfsig reports every signature valid', async () => {
      const pdf = await clerkCtx.request.get(BASE + med.pdf_url);
      assert(pdf.ok(), `GET ${med.pdf_url} answered ${pdf.status()}`);
      const bytes = await pdf.body();
      assert(bytes.subarray(0, 5).toString() === '%PDF-', 'not a PDF');
      const file = path.join(os.tmpdir(), `yunting-esign-mediation-${med.id}.pdf`);
      fs.writeFileSync(file, bytes);
      report.pdf = file;
      let pdfsig = null;
      try { pdfsig = execFileSync('sh', ['-c', 'command -v pdfsig'], { encoding: 'utf8' }).trim(); } catch (_) { pdfsig = null; }
      if (!pdfsig) { report.pdfsig = 'pdfsig not installed'; return; }
      let out;
      try {
        out = execFileSync(pdfsig, [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        out = String(err.stdout || '') + String(err.stderr || '');
      }
      report.pdfsig = out;
      const sigs = (out.match(/^Signature #\d+/gm) || []).length;
      const valid = (out.match(/Signature Validation: Signature is Valid\./g) || []).length;
      assert(sigs >= 4, `pdfsig lists ${sigs} signatures (expected applicant, respondent, mediator and the seal)`);
      assert(valid === sigs, `pdfsig: ${valid} of ${sigs} signatures valid`);
    }, { independent: true });

    await check('yunting verify on the sealed PDF alone: the seal carries the signature records (the mediator\'s passkey assertion included) and they match', async () => {
      assert(report.pdf, 'no saved PDF');
      const bin = process.env.YT_BIN || path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'target', 'debug', 'yunting');
      let out;
      let ok = true;
      try {
        out = execFileSync(bin, ['verify', report.pdf], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        ok = false;
        out = String(err.stdout || '') + String(err.stderr || '');
      }
      report.ytVerify = out;
      assert(ok, 'yunting verify failed:\n' + out);
      assert(/signature records in the seal: 3 /.test(out), 'no matching signature records reported:\n' + out);
    }, { independent: true });

    // ---------------------------------------------------------------- 5. refusals
    await check('refused: signing an effective document → 409 document_effective', async () => {
      const p = appSigning.find((x) => x.step === 'prepare' && x.doc === conf.id);
      assert(p, 'no captured prepare request of the applicant');
      const r = await call(appCtx, 'POST', `/api/documents/${conf.id}/prepare`, p.body);
      report.afterEffective = `${r.status} ${JSON.stringify(r.body)}`;
      assert(r.status === 409 && r.code === 'document_effective', `prepare after effective answered ${r.status} ${JSON.stringify(r.body)}`);
    }, { independent: true });

    await check('refused: replaying a used {prepare_id, signature} → 409 signature_replayed', async () => {
      const s = appSigning.find((x) => x.step === 'sign' && x.doc === conf.id);
      assert(s && s.body && s.body.prepare_id, 'no captured sign request of the applicant');
      const r = await call(appCtx, 'POST', `/api/documents/${conf.id}/sign`, s.body);
      report.replay = `${r.status} ${JSON.stringify(r.body)}`;
      assert(r.status === 409 && r.code === 'signature_replayed', `replayed signature answered ${r.status} ${JSON.stringify(r.body)}`);
    }, { independent: true });

    await check('English: the sign page switches language with the toggle', async () => {
      await appPage.goto(`${BASE}/sign/${conf.id}`);
      await waitSignPage(appPage, conf.id);
      await appPage.locator('.lang-toggle').click();
      const text = await appPage.locator('.sign-doc').innerText();
      assert(/Document fingerprint/.test(text) && /In effect/.test(text), 'English labels not shown');
      await shot(appPage, '06-effective-en');
      await appPage.locator('.lang-toggle').click();
    }, { independent: true });
  } finally {
    if (phaseMoved) {
      const r = await control(arbCtx, { do: 'phase', phase: 'check_attendance', reason: '电子签署测试结束，恢复庭前阶段' }).catch((e) => ({ status: 0, body: String(e) }));
      console.log(`# cleanup: phase back to check_attendance answered ${r.status} ${JSON.stringify(r.body)}`);
    }
    // hearing.mjs asks for fresh codes for the same phones next: let the 60 s resend limit pass.
    const last = Math.max(0, ...lastCodeAt.values());
    const wait = last ? last + 61000 - Date.now() : 0;
    if (wait > 0) { console.log(`# waiting ${Math.ceil(wait / 1000)} s for the SMS resend limit`); await sleep(wait); }
    for (const [k, v] of Object.entries(report)) console.log(`# ${k}: ${String(v).trim().split('\n').join('\n#   ')}`);
    await browser.close();
  }
}

main().then(() => {
  if (failed) console.log(`failed: ${failures.join(' | ')}`);
  finish(failed ? 1 : 0);
}).catch((err) => {
  console.error(`esign test aborted: ${err && err.stack ? err.stack : err}`);
  failed += 1;
  finish(1);
});
