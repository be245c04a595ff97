// Strings of the case timeline (timeline.js). The dictionaries of i18n.js are private to
// it, so these live here and follow its language: tl(key) looks here first, in the
// current language, then falls back to i18n.js's t(key). Simplified Chinese first.

import { t, lang } from './i18n.js';

const zh = {
  'tl.title': '案件时间线',
  'tl.intro': '本案（含合并审理的反诉）全部事项，按时间先后排列，时间为北京时间。',
  'tl.refresh': '刷新',
  'tl.empty': '暂无记录。',
  'tl.loading': '正在加载时间线…',
  'tl.count': '共 {n} 项',
  'tl.filter': '筛选',
  'tl.filter.all': '全部',
  'tl.filter.case': '案件',
  'tl.filter.people': '身份与通知',
  'tl.filter.documents': '文书签署',
  'tl.filter.hearing': '庭审',
  'tl.filter.evidence': '证据与录像',
  'tl.open': '打开',
  'tl.open_pdf': '查看 PDF',
  'tl.open_file': '查看文件',
  'tl.open_case': '查看案件',
  'tl.open_record': '查看记录',
  'tl.details': '详情',
  'tl.hide': '收起',
  'tl.audit': '操作日志 {n} 条',
  'tl.audit_loading': '正在读取操作日志…',
  'tl.audit_none': '未找到对应的日志。',
  'tl.audit_chain_bad': '日志完整性校验未通过，请立即报告管理员！',
  'tl.by': '操作人：{who}',
  'tl.counterclaim': '反诉 {number}',
  'tl.other_case': '{number}',
  'tl.party_view': '您看到的是当事人可查阅的内容。',
  'tl.key.status': '状态',
  'tl.key.reason': '理由',
  'tl.key.name': '姓名',
  'tl.key.role': '身份',
  'tl.key.slot': '签署位置',
  'tl.key.method': '方式',
  'tl.key.version': '版本',
  'tl.key.ip': 'IP 地址',
  'tl.key.user_agent': '设备信息',
  'tl.key.channel': '发送渠道',
  'tl.key.to': '接收人',
  'tl.key.confirmed_at': '确认时间',
  'tl.key.scheduled_at': '开庭时间',
  'tl.key.expires_at': '有效期至',
  'tl.key.from': '原',
  'tl.key.to_status': '变更为',
  'tl.key.closing_method': '结案方式',
  'tl.key.sha256': 'SHA-256',
  'tl.key.size': '大小（字节）',
  'tl.key.via': '送达方式',
  'tl.key.segments': '录像分段',
  'tl.key.processing': '处理状态',
  'tl.key.verdict': '检测结论',
  'tl.key.label': '阶段',
  'tl.key.failures': '失败次数',
  'tl.key.locked': '已锁定',
  'tl.key.cause': '案由',
  'tl.key.number': '案号',
  'tl.key.procedure': '程序',
  'tl.key.answer': '答复',
};

const en = {
  'tl.title': 'Case timeline',
  'tl.intro': 'Everything in this case (and a counterclaim heard with it), oldest first; times are Beijing time.',
  'tl.refresh': 'Refresh',
  'tl.empty': 'Nothing yet.',
  'tl.loading': 'Loading the timeline…',
  'tl.count': '{n} items',
  'tl.filter': 'Show',
  'tl.filter.all': 'All',
  'tl.filter.case': 'Case',
  'tl.filter.people': 'Identity & notices',
  'tl.filter.documents': 'Documents',
  'tl.filter.hearing': 'Hearings',
  'tl.filter.evidence': 'Evidence & recordings',
  'tl.open': 'Open',
  'tl.open_pdf': 'View PDF',
  'tl.open_file': 'View file',
  'tl.open_case': 'Open case',
  'tl.open_record': 'Open record',
  'tl.details': 'Details',
  'tl.hide': 'Hide',
  'tl.audit': '{n} audit entries',
  'tl.audit_loading': 'Reading the audit entries…',
  'tl.audit_none': 'No matching entries.',
  'tl.audit_chain_bad': 'Audit entry check FAILED — report to the administrator now!',
  'tl.by': 'By {who}',
  'tl.counterclaim': 'Counterclaim {number}',
  'tl.other_case': '{number}',
  'tl.party_view': 'You see what a party of the case may see.',
  'tl.key.status': 'Status',
  'tl.key.reason': 'Reason',
  'tl.key.name': 'Name',
  'tl.key.role': 'Role',
  'tl.key.slot': 'Signs as',
  'tl.key.method': 'Method',
  'tl.key.version': 'Version',
  'tl.key.ip': 'IP address',
  'tl.key.user_agent': 'Device',
  'tl.key.channel': 'Channel',
  'tl.key.to': 'To',
  'tl.key.confirmed_at': 'Confirmed',
  'tl.key.scheduled_at': 'Hearing time',
  'tl.key.expires_at': 'Valid until',
  'tl.key.from': 'From',
  'tl.key.to_status': 'To',
  'tl.key.closing_method': 'Closed by',
  'tl.key.sha256': 'SHA-256',
  'tl.key.size': 'Size (bytes)',
  'tl.key.via': 'Delivered by',
  'tl.key.segments': 'Segments',
  'tl.key.processing': 'Processing',
  'tl.key.verdict': 'Verdict',
  'tl.key.label': 'Phase',
  'tl.key.failures': 'Failures',
  'tl.key.locked': 'Locked',
  'tl.key.cause': 'Cause',
  'tl.key.number': 'Case number',
  'tl.key.procedure': 'Procedure',
  'tl.key.answer': 'Answer',
};

const DICTS = { zh, en };

/** Translate a timeline key ({name} placeholders from params); else i18n.js's t(). */
export function tl(key, params) {
  let s = DICTS[lang()] && DICTS[lang()][key];
  if (s === undefined) s = zh[key];
  if (s === undefined) return t(key, params);
  if (params) {
    s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined || params[k] === null ? m : String(params[k])));
  }
  return s;
}

/** The label of a detail key, or null when the key has none (shown as is). */
export function keyLabel(key) {
  const k = 'tl.key.' + key;
  const s = tl(k);
  return s === k ? null : s;
}
