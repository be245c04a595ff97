// Browser test of the clerk's records work against a running `yunting serve --dev`:
// advanced search → the case → its timeline → the case-file bundle (made with progress,
// downloaded by the browser, then checked by `yunting verify`) → the verify page (the
// same file passes, a one-byte change fails) → the statistics page with its charts.
// Desktop size, plus the verify and statistics pages at 360 px.
//
//   YT_BASE=http://127.0.0.1:18080 YT_DEMO=/path/demo.json [YT_BIN=target/debug/yunting] node tests/browser/records.mjs
//
// Screenshots go to tests/browser/screenshots/records-*.png. Last line: `browser: N passed, M failed`.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const shotsDir = path.join(here, 'screenshots');
const CHROMIUM = process.env.YT_CHROMIUM || '/usr/bin/chromium';
const BIN = process.env.YT_BIN || path.join(here, '..', '..', 'target', 'debug', 'yunting');
const TIMEOUT = 20000;

let passed = 0;
let failed = 0;

function finish(code) {
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exit(code);
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

const BASE = (process.env.YT_BASE || '').replace(/\/+$/, '');
const DEMO_PATH = process.env.YT_DEMO || '';
if (!BASE || !DEMO_PATH) {
  console.error('set YT_BASE and YT_DEMO');
  finish(1);
}
const demo = JSON.parse(fs.readFileSync(DEMO_PATH, 'utf8'));
const clerk = (demo.staff || []).find((s) => s.role === 'clerk' || s.username === 'clerk');
const caseNumber = demo.case.number;
const caseId = demo.case.id;
const applicant = (demo.invitations || []).find((i) => i.role === 'applicant');
fs.mkdirSync(shotsDir, { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yt-records-'));

async function step(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}: ${err.message}`);
  }
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, locale: 'zh-CN' });
const page = await desk.newPage();
page.setDefaultTimeout(TIMEOUT);
let bundlePath = null;

await step('clerk logs in', async () => {
  await page.goto(BASE + '/#/login');
  await page.locator('input[name=username]').fill(clerk.username);
  await page.locator('input[name=password]').fill(clerk.password);
  await page.locator('button[type=submit]').click();
  await page.getByText(caseNumber).first().waitFor();
});

await step('advanced search by party name finds the case', async () => {
  const panel = page.locator('details').filter({ has: page.locator('form.search-advanced') }).first();
  if (await panel.count()) {
    const open = await panel.evaluate((d) => d.open);
    if (!open) await panel.locator('summary').click();
  }
  const form = page.locator('form.search-advanced');
  await form.locator('input[name=party]').fill(applicant.name);
  await form.locator('button[type=submit]').click();
  await page.waitForFunction((name) => decodeURIComponent(location.hash).includes(name), applicant.name);
  await page.getByText(caseNumber).first().waitFor();
  await page.screenshot({ path: path.join(shotsDir, 'records-search.png'), fullPage: true });
  // A name nobody has: no case.
  await form.locator('input[name=party]').fill('无此当事人');
  await form.locator('button[type=submit]').click();
  await page.waitForFunction(() => decodeURIComponent(location.hash).includes('无此当事人'));
  await page.waitForTimeout(500);
  assert((await page.getByRole('link', { name: caseNumber }).count()) === 0, 'a search for nobody still lists the case');
});

await step('the case timeline lists acceptance and the signed confirmation', async () => {
  await page.goto(BASE + '/#/cases/' + caseId);
  await page.locator('#timeline-open').click();
  const tl = page.locator('#case-timeline');
  await tl.getByText(/受理|立案/).first().waitFor();
  const text = await tl.innerText();
  assert(/签/.test(text), 'no signature item on the timeline: ' + text.slice(0, 400));
  await tl.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shotsDir, 'records-timeline.png'), fullPage: true });
});

await step('the case file is made with progress and downloads; yunting verify passes it', async () => {
  const panel = page.locator('#records-panel');
  await panel.scrollIntoViewIfNeeded();
  await panel.locator('#rec-video').uncheck();
  const downloading = page.waitForEvent('download', { timeout: 120000 });
  await panel.locator('#rec-make').click();
  const download = await downloading;
  bundlePath = path.join(tmp, 'bundle.zip');
  await download.saveAs(bundlePath);
  await panel.locator('#rec-download').waitFor();
  await panel.screenshot({ path: path.join(shotsDir, 'records-bundle.png') });
  const run = spawnSync(BIN, ['verify', bundlePath], { encoding: 'utf8' });
  const out = (run.stdout || '') + (run.stderr || '');
  assert(run.status === 0 && out.includes('通过 PASSED'), 'yunting verify did not pass the download:\n' + out);
});

await step('the verify page passes the bundle and fails a one-byte change', async () => {
  assert(bundlePath, 'no bundle downloaded');
  await page.goto(BASE + '/#/verify');
  await page.locator('#verify-file').setInputFiles(bundlePath);
  const verdict = page.locator('#verify-verdict');
  await verdict.waitFor({ timeout: 60000 });
  assert((await verdict.innerText()).includes('校验通过'), 'verdict: ' + (await verdict.innerText()));
  await page.screenshot({ path: path.join(shotsDir, 'records-verify-ok.png'), fullPage: true });
  const bytes = fs.readFileSync(bundlePath);
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  const bad = path.join(tmp, 'tampered.zip');
  fs.writeFileSync(bad, bytes);
  await page.locator('#verify-file').setInputFiles(bad);
  await page.waitForFunction(() => {
    const v = document.getElementById('verify-verdict');
    return v && v.textContent.includes('未通过');
  }, null, { timeout: 60000 });
  const report = await page.locator('#verify-report').innerText();
  assert(report.includes('FAIL'), 'the report names no failure: ' + report.slice(0, 400));
  await page.screenshot({ path: path.join(shotsDir, 'records-verify-bad.png'), fullPage: true });
});

await step('statistics page draws its charts', async () => {
  await page.goto(BASE + '/#/statistics');
  await page.locator('canvas').first().waitFor();
  await page.waitForTimeout(800);
  assert((await page.locator('canvas').count()) >= 2, 'fewer than two charts');
  await page.screenshot({ path: path.join(shotsDir, 'records-statistics.png'), fullPage: true });
});

await step('verify and statistics pages fit 360 px', async () => {
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'zh-CN' });
  await phone.addCookies((await desk.cookies()).map((c) => ({ ...c })));
  const p = await phone.newPage();
  p.setDefaultTimeout(TIMEOUT);
  for (const [hash, name] of [['#/verify', 'verify'], ['#/statistics', 'statistics']]) {
    await p.goto(BASE + '/' + hash);
    await p.waitForTimeout(hash === '#/statistics' ? 1500 : 500);
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(overflow <= 1, `${name}: page is ${overflow}px wider than the screen`);
    await p.screenshot({ path: path.join(shotsDir, `records-${name}-360.png`), fullPage: true });
  }
  await phone.close();
});

await browser.close();
fs.rmSync(tmp, { recursive: true, force: true });
finish(failed ? 1 : 0);
