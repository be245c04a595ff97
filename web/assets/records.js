// The electronic case file in the console: making and downloading a bundle (正卷 / 副卷)
// with its progress, and the verify page where staff drop a signed PDF or a bundle.
// Strings live here (zh first, en) and follow the console's language.

import { h, replace, api, errorText } from './common.js';
import { t, lang, pickMessage } from './i18n.js';

const zh = {
  'rec.title': '电子卷宗',
  'rec.intro': '打包下载本案材料：签名文书、录像、庭审记录与审计日志，附仲裁委签章的清单，可用 yunting verify 离线校验。',
  'rec.part': '卷别',
  'rec.part.main': '正卷（当事人可查阅）',
  'rec.part.secondary': '副卷（内部材料、审计日志）',
  'rec.video': '包含音视频（文件较大）',
  'rec.make': '生成并下载',
  'rec.building': '正在生成卷宗… {p}%',
  'rec.ready': '卷宗已生成（{size}），正在下载。若未自动开始，请点此下载。',
  'rec.download': '下载卷宗',
  'rec.failed': '生成失败：{e}',
  'rec.resume': '下载中断时，请在浏览器的下载列表中点“恢复”，将从中断处继续（文件保留 24 小时）。',
  'ver.nav': '校验',
  'ver.title': '校验签名文书或电子卷宗',
  'ver.intro': '选择或拖入签名 PDF 或电子卷宗 ZIP。文件仅用于本次校验，服务器不保存。',
  'ver.drop': '拖入文件，或点此选择',
  'ver.uploading': '正在上传并校验… {p}%',
  'ver.checking': '正在校验…',
  'ver.ok': '校验通过',
  'ver.bad': '校验未通过',
  'ver.file': '文件 {name}（{size}），SHA-256 {sha}',
  'ver.another': '校验另一个文件',
  'close.award_number': '裁决书文号',
  'close.award_date': '裁决日期',
};

const en = {
  'rec.title': 'Case file',
  'rec.intro': 'Download the case file: signed documents, recordings, hearing logs and the audit trail, with a manifest signed by the commission seal; check it offline with yunting verify.',
  'rec.part': 'Part',
  'rec.part.main': 'Main file (parties may inspect)',
  'rec.part.secondary': 'Secondary file (internal, audit trail)',
  'rec.video': 'Include audio and video (large)',
  'rec.make': 'Make and download',
  'rec.building': 'Making the case file… {p}%',
  'rec.ready': 'Case file ready ({size}); downloading. If it does not start, tap here.',
  'rec.download': 'Download case file',
  'rec.failed': 'Failed: {e}',
  'rec.resume': 'If a download stops, press Resume in the browser\'s downloads list: it continues where it stopped (the file is kept for 24 hours).',
  'ver.nav': 'Verify',
  'ver.title': 'Verify a signed document or a case file',
  'ver.intro': 'Choose or drop a signed PDF or a case-file ZIP. It is used for this check only; the server keeps nothing.',
  'ver.drop': 'Drop a file here, or tap to choose',
  'ver.uploading': 'Uploading and checking… {p}%',
  'ver.checking': 'Checking…',
  'ver.ok': 'Verified',
  'ver.bad': 'Verification FAILED',
  'ver.file': 'File {name} ({size}), SHA-256 {sha}',
  'ver.another': 'Check another file',
  'close.award_number': 'Award number',
  'close.award_date': 'Award date',
};

export function rt(key, params) {
  const dict = lang() === 'en' ? en : zh;
  let s = dict[key] ?? zh[key];
  if (s === undefined) return t(key, params);
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined ? m : String(params[k])));
  return s;
}

export function fmtSize(n) {
  if (n >= 1 << 30) return (n / (1 << 30)).toFixed(1) + ' GB';
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + ' MB';
  if (n >= 1 << 10) return Math.round(n / 1024) + ' KB';
  return n + ' B';
}

function progressBar(percent) {
  return h('progress', { class: 'rec-progress', max: '100', value: String(percent) });
}

/** The case-file section of a case page. `canSecondary`: may read the audit trail. */
export function createBundlePanel({ caseId, canSecondary, isParty }) {
  const status = h('div', { class: 'rec-status', 'aria-live': 'polite' });
  const part = h('select', { name: 'part', id: 'rec-part' },
    h('option', { value: 'main' }, rt('rec.part.main')),
    canSecondary ? h('option', { value: 'secondary' }, rt('rec.part.secondary')) : null);
  const video = h('input', { type: 'checkbox', name: 'video', id: 'rec-video', checked: !isParty });
  const button = h('button', { type: 'button', class: 'btn btn-primary', id: 'rec-make' }, rt('rec.make'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    replace(status, h('p', null, rt('rec.building', { p: 0 })), progressBar(0));
    try {
      let job = await api('POST', '/api/cases/' + caseId + '/bundles', { part: part.value, video: video.checked });
      while (job.state === 'building') {
        replace(status, h('p', null, rt('rec.building', { p: job.percent })), progressBar(job.percent));
        await new Promise((r) => setTimeout(r, 500));
        job = await api('GET', job.status_url);
      }
      if (job.state === 'failed') {
        const msg = (job.result && job.result.error) || '';
        throw Object.assign(new Error(msg), { userMessage: pickMessage(msg) });
      }
      const link = h('a', { href: job.result.download_url, class: 'btn btn-secondary', id: 'rec-download', download: '' },
        rt('rec.download') + ' · ' + fmtSize(job.result.size));
      replace(status,
        h('p', { class: 'msg msg-ok' }, rt('rec.ready', { size: fmtSize(job.result.size) })),
        progressBar(100), link, h('p', { class: 'field-hint' }, rt('rec.resume')));
      link.click();
    } catch (err) {
      replace(status, h('p', { class: 'msg msg-error', role: 'alert' }, rt('rec.failed', { e: errorText(err) })));
    } finally {
      button.disabled = false;
    }
  });
  const el = h('section', { class: 'card records-panel', id: 'records-panel' },
    h('h2', null, rt('rec.title')),
    h('p', { class: 'field-hint' }, rt('rec.intro')),
    h('div', { class: 'field' }, h('label', { for: 'rec-part' }, rt('rec.part')), part),
    h('p', null, h('label', { class: 'rec-check' }, video, ' ', rt('rec.video'))),
    button,
    status);
  return { el };
}

/** Upload with progress (fetch cannot report upload progress). */
function upload(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/verify');
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(Math.round((e.loaded * 100) / e.total)); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        const msg = (body && body.error && body.error.message) || ('HTTP ' + xhr.status);
        reject(Object.assign(new Error(msg), { userMessage: pickMessage(msg) }));
      }
    };
    xhr.onerror = () => reject(Object.assign(new Error('network'), { userMessage: t('err.network') }));
    xhr.send(file);
  });
}

/** The verify page. */
export function renderVerifyPage(app) {
  const result = h('div', { class: 'verify-result', 'aria-live': 'polite' });
  const input = h('input', { type: 'file', id: 'verify-file', accept: '.pdf,.zip,application/pdf,application/zip', class: 'sr-only' });
  const zone = h('label', { for: 'verify-file', class: 'drop-zone', id: 'verify-drop' }, rt('ver.drop'));
  const check = async (file) => {
    if (!file) return;
    replace(result, h('p', null, rt('ver.uploading', { p: 0 })), progressBar(0));
    try {
      const r = await upload(file, (p) => {
        replace(result, h('p', null, p < 100 ? rt('ver.uploading', { p }) : rt('ver.checking')), progressBar(p));
      });
      replace(result,
        h('p', { class: r.ok ? 'verdict verdict-ok' : 'verdict verdict-bad', id: 'verify-verdict' }, r.ok ? '✓ ' + rt('ver.ok') : '✗ ' + rt('ver.bad')),
        h('p', { class: 'field-hint' }, rt('ver.file', { name: file.name, size: fmtSize(r.size), sha: r.sha256 })),
        h('pre', { class: 'verify-report', id: 'verify-report' }, r.text || ''));
    } catch (err) {
      replace(result, h('p', { class: 'msg msg-error', role: 'alert' }, errorText(err)));
    }
    input.value = '';
  };
  input.addEventListener('change', () => check(input.files[0]));
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('drag'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('drag'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('drag');
    check(e.dataTransfer.files[0]);
  });
  replace(app, h('section', { class: 'card narrow verify-page' },
    h('h1', null, rt('ver.title')),
    h('p', { class: 'field-hint' }, rt('ver.intro')),
    input, zone, result));
}
