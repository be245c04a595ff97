// Strings of the advanced case search and the statistics page (issue 7), kept apart from
// i18n.js so they can be edited without touching it. `tr` looks here first, in the current
// language, then falls back to i18n.js's dictionary (so shared keys such as
// 'closing.mediation' or 'common.all' keep one translation).

import { t, lang } from './i18n.js';

const zh = {
  'nav.statistics': '统计',

  'search.advanced': '高级检索',
  'search.number': '案号',
  'search.number_hint': '可填写案号的一部分，如“〔2026〕12”',
  'search.party': '当事人名称',
  'search.party_hint': '姓名或单位名称的一部分',
  'search.phone': '当事人手机号',
  'search.phone_hint': '完整号码或其中至少 4 位数字（如尾号）',
  'search.arbitrator': '承办仲裁员',
  'search.accepted_from': '受理日期起',
  'search.accepted_to': '受理日期止',
  'search.status': '案件状态',
  'search.procedure': '程序',
  'search.closing_method': '结案方式',
  'search.submit': '检索',
  'search.reset': '清空条件',
  'search.active': '已按 {n} 项条件筛选',
  'search.err_phone': '手机号请填写完整号码或其中 4 至 11 位数字。',
  'search.err_dates': '受理日期止不能早于受理日期起。',
  'search.first': '首页',
  'search.last': '末页',
  'search.goto': '跳至',
  'search.goto_page': '页码',

  'stats.title': '统计',
  'stats.lead': '收结案、结案方式、审理天数与仲裁员办案量。时间均为北京时间。',
  'stats.scope_own': '仅统计您承办或主持的案件。',
  'stats.from': '起始月份',
  'stats.to': '截止月份',
  'stats.apply': '查看',
  'stats.csv': '导出 CSV（Excel）',
  'stats.err_month': '月份格式应为 YYYY-MM，如 2026-01。',
  'stats.received': '收案',
  'stats.closed': '结案',
  'stats.mediation_rate': '调解率',
  'stats.mediation_rate_hint': '（调解结案 + 达成和解后撤回）÷ 结案数',
  'stats.online_share': '网上开庭占比',
  'stats.online_share_hint': '实际开过庭的结案案件 ÷ 结案数',
  'stats.median_days': '结案天数中位数',
  'stats.p90_days': '90% 案件结案天数',
  'stats.within_deadline': '审限内结案率',
  'stats.days': '{n} 天',
  'stats.monthly': '每月收结案',
  'stats.methods': '结案方式',
  'stats.arbitrators': '仲裁员办案量',
  'stats.open': '在办',
  'stats.month': '月份',
  'stats.cases': '件数',
  'stats.share': '占比',
  'stats.arbitrator': '仲裁员',
  'stats.table': '查看数据表',
  'stats.no_closed': '所选期间没有结案案件。',
  'stats.no_arbitrators': '没有分配了仲裁员的案件。',
  'stats.chart_failed': '图表加载失败，请查看下方数据表。',
};

const en = {
  'nav.statistics': 'Statistics',

  'search.advanced': 'Advanced search',
  'search.number': 'Case number',
  'search.number_hint': 'Any part of the number, e.g. “〔2026〕12”',
  'search.party': 'Party name',
  'search.party_hint': 'Any part of a person’s or organisation’s name',
  'search.phone': 'Party’s mobile number',
  'search.phone_hint': 'The whole number or at least 4 of its digits (e.g. the last four)',
  'search.arbitrator': 'Arbitrator',
  'search.accepted_from': 'Accepted from',
  'search.accepted_to': 'Accepted until',
  'search.status': 'Status',
  'search.procedure': 'Procedure',
  'search.closing_method': 'Closing method',
  'search.submit': 'Search',
  'search.reset': 'Clear',
  'search.active': 'Filtered by {n} condition(s)',
  'search.err_phone': 'Enter the whole mobile number or 4 to 11 of its digits.',
  'search.err_dates': 'The end date cannot be before the start date.',
  'search.first': 'First',
  'search.last': 'Last',
  'search.goto': 'Go',
  'search.goto_page': 'Page',

  'stats.title': 'Statistics',
  'stats.lead': 'Cases received and closed, closing methods, days to close and arbitrators’ load. Times are Beijing time.',
  'stats.scope_own': 'Only the cases you are assigned to or preside over.',
  'stats.from': 'From month',
  'stats.to': 'To month',
  'stats.apply': 'Show',
  'stats.csv': 'Export CSV (Excel)',
  'stats.err_month': 'Months are written YYYY-MM, e.g. 2026-01.',
  'stats.received': 'Received',
  'stats.closed': 'Closed',
  'stats.mediation_rate': 'Mediation rate',
  'stats.mediation_rate_hint': '(closed by mediation + withdrawn after settlement) ÷ closed',
  'stats.online_share': 'Online hearing share',
  'stats.online_share_hint': 'closed cases that had a hearing held ÷ closed',
  'stats.median_days': 'Median days to close',
  'stats.p90_days': '90th percentile days to close',
  'stats.within_deadline': 'Closed within the time limit',
  'stats.days': '{n} days',
  'stats.monthly': 'Received and closed per month',
  'stats.methods': 'Closing methods',
  'stats.arbitrators': 'Arbitrators’ load',
  'stats.open': 'Open',
  'stats.month': 'Month',
  'stats.cases': 'Cases',
  'stats.share': 'Share',
  'stats.arbitrator': 'Arbitrator',
  'stats.table': 'Show the data table',
  'stats.no_closed': 'No cases were closed in this period.',
  'stats.no_arbitrators': 'No cases with an assigned arbitrator.',
  'stats.chart_failed': 'The charts could not be loaded; see the data tables below.',
};

const DICTS = { zh, en };

/** Translate: this file's strings first, then i18n.js's. */
export function tr(key, params) {
  let s = (DICTS[lang()] || zh)[key];
  if (s === undefined) s = zh[key];
  if (s === undefined) return t(key, params);
  if (params) {
    s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined || params[k] === null ? m : String(params[k])));
  }
  return s;
}
