// All user-visible strings of the staff console and the party page.
// Simplified Chinese is the default; English is available through the toggle
// and remembered in localStorage.

const STORAGE_KEY = 'yt_lang';

const zh = {
  'app.name': '云庭',
  'app.console': '仲裁庭审管理',
  'app.party': '远程庭审',
  'lang.toggle': 'English',
  'lang.toggle_title': '切换为英文',

  // generic
  'common.loading': '正在加载…',
  'common.working': '正在处理…',
  'common.none': '无',
  'common.dash': '—',
  'common.optional': '（选填）',
  'common.submit': '提交',
  'common.save': '保存',
  'common.cancel': '取消',
  'common.back': '返回',
  'common.retry': '重试',
  'common.copy': '复制',
  'common.copied': '已复制',
  'common.copy_failed': '复制失败，请手动选择链接复制',
  'common.yes': '是',
  'common.no': '否',
  'common.bj_time': '北京时间',
  'common.all': '全部',

  // errors
  'err.network': '网络连接失败，请检查网络后重试。',
  'err.required': '请填写“{label}”。',
  'err.http.400': '请求格式有误。',
  'err.http.401': '未登录或登录已过期，请重新登录。',
  'err.http.403': '您没有权限进行此操作。',
  'err.http.404': '未找到相关内容。',
  'err.http.409': '操作与当前状态冲突。',
  'err.http.410': '链接或验证码已失效。',
  'err.http.413': '提交的内容过大。',
  'err.http.415': '请求格式不受支持。',
  'err.http.422': '填写的内容不符合要求。',
  'err.http.429': '操作过于频繁，请稍后再试。',
  'err.http.500': '服务器出现错误，请稍后再试。',
  'err.http.other': '请求失败（{status}）。',
  'err.amount': '金额格式不正确，请填写如 12000 或 12000.50。',
  'err.claims_empty': '请至少填写一项仲裁请求。',
  'err.password_short': '密码至少 10 位。',
  'err.datetime': '请选择开庭时间。',
  'err.id_last6': '请填写证件号码后 6 位（数字或字母）。',
  'err.code': '请输入 6 位数字验证码。',

  // labels: status / closing / procedure / roles / sides / kinds / authority
  'status.accepted': '受理',
  'status.awaiting_hearing': '待开庭',
  'status.in_hearing': '开庭中',
  'status.hearing_closed': '已闭庭',
  'status.closed': '结案',
  'closing.mediation': '调解',
  'closing.award': '裁决',
  'closing.withdrawal': '撤回',
  'closing.deemed_withdrawal': '视为撤回',
  'closing.rejection': '不予受理',
  'procedure.ordinary': '一般程序',
  'procedure.simplified': '简易处理',
  'role.admin': '管理员',
  'role.arbitrator': '仲裁员',
  'role.clerk': '书记员',
  'role.mediator': '调解员',
  'role.applicant': '申请人',
  'role.respondent': '被申请人',
  'role.agent': '委托代理人',
  'role.witness': '证人',
  'role.observer': '旁听人员',
  'side.applicant': '申请人',
  'side.respondent': '被申请人',
  'kind.person': '自然人',
  'kind.organisation': '单位',
  'authority.general': '一般授权',
  'authority.special': '特别授权',
  'hstatus.scheduled': '已排期',
  'hstatus.open': '进行中',
  'hstatus.closed': '已闭庭',
  'hstatus.cancelled': '已取消',
  'weekday.0': '星期日',
  'weekday.1': '星期一',
  'weekday.2': '星期二',
  'weekday.3': '星期三',
  'weekday.4': '星期四',
  'weekday.5': '星期五',
  'weekday.6': '星期六',

  // console: login / nav
  'login.title': '工作人员登录',
  'login.username': '用户名',
  'login.password': '密码',
  'login.submit': '登录',
  'login.hint': '仅限本仲裁委工作人员使用。当事人请通过短信中的邀请链接进入。',
  'nav.cases': '案件',
  'nav.users': '用户管理',
  'nav.logout': '退出登录',
  'nav.skip': '跳到主要内容',
  'party_on_console': '您当前以当事人身份登录。请使用邀请链接进入候审室。',

  // console: case list
  'cases.title': '案件列表',
  'cases.search': '搜索',
  'cases.search_placeholder': '案号、案由或当事人姓名',
  'cases.status_filter': '状态',
  'cases.new': '新建案件',
  'cases.empty': '没有符合条件的案件。',
  'cases.total': '共 {total} 件',
  'cases.page': '第 {page} / {pages} 页',
  'cases.prev': '上一页',
  'cases.next': '下一页',
  'col.number': '案号',
  'col.cause': '案由',
  'col.status': '状态',
  'col.applicant': '申请人',
  'col.respondent': '被申请人',
  'col.next_hearing': '下次开庭',

  // console: case page
  'case.back': '返回案件列表',
  'case.overview': '基本信息',
  'case.number': '案号',
  'case.cause': '案由',
  'case.procedure': '程序',
  'case.status': '状态',
  'case.closing_method': '结案方式',
  'case.accepted_at': '受理日期',
  'case.deadline_at': '审理期限',
  'case.closed_at': '结案日期',
  'case.arbitrator': '承办仲裁员',
  'case.days_left': '剩余 {n} 天',
  'case.days_over': '已超期 {n} 天',
  'case.not_found': '未找到该案件，或您无权查看。',
  'case.open_counterclaim': '查看',
  'case.total_parties': '{n} 方',
  'case.counterclaim_of': '本案为反请求，本请求案件',
  'case.merged_hearing': '合并审理',
  'case.claims': '仲裁请求',
  'case.claims_total': '合计',
  'case.claims_empty': '尚无仲裁请求。',
  'case.parties': '当事人',
  'case.parties_empty': '尚未添加当事人。',
  'case.agents': '委托代理人',
  'case.legal_rep': '法定代表人',
  'case.phone': '手机号码',
  'case.id_number': '证件号码',
  'case.counterclaims': '反请求',
  'case.counterclaims_empty': '无反请求。',
  'case.merged': '合并审理',
  'case.separate': '分开审理',
  'case.hearings': '庭审安排',
  'case.hearings_empty': '尚未安排开庭。',
  'case.history': '程序变更记录',
  'case.history_empty': '无程序变更。',
  'case.invitations': '参加庭审邀请',
  'case.invitations_empty': '尚未发出邀请。',
  'case.audit': '操作日志',
  'case.audit_empty': '暂无记录。',
  'case.audit_show_all': '显示全部 {n} 条',
  'case.audit_chain_ok': '日志完整性校验通过',
  'case.audit_chain_bad': '日志完整性校验未通过，请立即报告管理员！',
  'case.actions': '办案操作',
  'hearing.time': '开庭时间',
  'hearing.tribunal': '仲裁庭',
  'hearing.presiding': '首席仲裁员',
  'hearing.clerk': '书记员',
  'hearing.mediator': '调解员',
  'hearing.case_numbers': '案号',
  'hearing.status': '状态',
  'history.from_to': '由 {from} 变更为 {to}',
  'history.reason': '理由',
  'history.by': '操作人',
  'inv.role': '身份',
  'inv.name': '姓名',
  'inv.phone': '手机',
  'inv.expires_at': '有效期至',
  'inv.created_at': '创建时间',
  'inv.state': '状态',
  'inv.state.active': '有效',
  'inv.state.verified': '已验证',
  'inv.state.revoked': '已撤销',
  'inv.state.expired': '已过期',
  'inv.revoke': '撤销',
  'inv.revoke_confirm': '再次点击确认撤销',
  'audit.at': '时间',
  'audit.actor': '操作人',
  'audit.action': '操作',
  'audit.detail': '内容',

  // console: forms
  'form.create_case': '新建案件',
  'form.case_number': '案号',
  'form.case_number_hint': '留空则自动编号',
  'form.cause': '案由',
  'form.procedure': '程序',
  'form.arbitrator': '承办仲裁员',
  'form.claims': '仲裁请求',
  'form.claim_description': '请求事项',
  'form.claim_amount': '金额（元）',
  'form.claim_amount_hint': '非金钱请求填 0',
  'form.add_claim_row': '增加一项请求',
  'form.remove_claim_row': '删除',
  'form.create': '创建',
  'form.add_party': '添加当事人',
  'form.side': '当事人地位',
  'form.kind': '类型',
  'form.name': '姓名 / 名称',
  'form.legal_rep': '法定代表人',
  'form.phone': '手机号码',
  'form.id_number': '身份证号码 / 统一社会信用代码',
  'form.add_agent': '添加委托代理人',
  'form.agent_party': '委托人',
  'form.agent_name': '代理人姓名',
  'form.agent_id_number': '代理人身份证号码',
  'form.authority': '代理权限',
  'form.authority_detail': '授权内容',
  'form.add_claim': '增加仲裁请求',
  'form.add_counterclaim': '提出反请求',
  'form.counterclaim_cause': '反请求案由',
  'form.counterclaim_cause_hint': '留空则沿用本案案由',
  'form.merged_hearing': '与本请求合并审理',
  'form.change_procedure': '变更程序',
  'form.new_procedure': '变更为',
  'form.reason': '理由',
  'form.transition': '变更案件状态',
  'form.transition_to': '变更为',
  'form.closing_method': '结案方式',
  'form.transition_none': '本案已结案，不能再变更状态。',
  'form.reason_required_hint': '休庭须填写理由',
  'form.schedule_hearing': '安排开庭',
  'form.scheduled_at': '开庭时间（北京时间）',
  'form.presiding': '首席仲裁员',
  'form.clerk': '书记员',
  'form.mediator': '调解员',
  'form.invite': '发出参加庭审邀请',
  'form.invite_role': '受邀身份',
  'form.invite_party': '当事人',
  'form.invite_agent': '委托代理人',
  'form.invite_hearing': '庭审',
  'form.invite_expires': '有效时长（小时，1–720）',
  'form.invite_no_party': '本案尚无该方当事人，请先添加当事人。',
  'form.invite_no_agent': '本案尚无委托代理人，请先添加代理人。',
  'form.invite_url': '邀请链接',
  'form.invite_created': '邀请已生成。请将下面的链接发送给受邀人：',
  'form.agent_of': '{party} 的代理人',
  'form.choose': '请选择',
  'form.saved': '已保存。',

  // console: users
  'users.title': '用户管理',
  'users.username': '用户名',
  'users.display_name': '姓名',
  'users.role': '角色',
  'users.password': '初始密码（至少 10 位）',
  'users.create': '新增用户',
  'users.created': '已创建用户 {name}。',
  'users.empty': '暂无用户。',

  // party page
  'party.title': '远程庭审',
  'party.step': '第 {n} 步，共 3 步',
  'party.step1': '核验身份',
  'party.step2': '短信验证',
  'party.step3': '候审',
  'party.commission': '仲裁委',
  'party.case_numbers': '案号',
  'party.role': '参加身份',
  'party.invitee': '受邀人',
  'party.phone': '预留手机',
  'party.hearing_time': '开庭时间',
  'party.intro': '您收到了参加仲裁庭审的邀请。请先核验身份，我们将向预留手机发送验证码。',
  'party.name': '姓名 / 单位名称',
  'party.name_hint': '请填写与证件一致的姓名或单位名称',
  'party.id_last6': '证件号码后 6 位',
  'party.id_last6_hint': '个人填身份证号码后 6 位（末位是 X 的填 X），单位填统一社会信用代码后 6 位',
  'party.get_code': '获取验证码',
  'party.code_sent': '验证码已发送至 {phone}，{minutes} 分钟内有效。',
  'party.code': '6 位验证码',
  'party.verify': '确认',
  'party.resend': '重新发送验证码',
  'party.resend_in': '{s} 秒后可重新发送',
  'party.resent': '新的验证码已发送。',
  'party.back': '返回上一步',
  'party.waiting_title': '候审室',
  'party.waiting_sub': '请在此等候',
  'party.waiting_message': '您已完成身份核验。请保持本页面打开，并在安静的环境中等候。书记员核对到庭情况后，将请您进入庭审。',
  'party.you': '参加人',
  'party.tribunal': '仲裁庭',
  'party.no_hearing': '开庭时间尚未确定，请留意仲裁委通知。',
  'party.recording_notice': '本庭审全程录音录像',
  'party.recording_notice_en': '',
  'party.privacy': '请勿将本链接转发他人。',
  'party.invalid_link': '链接无效',
  'party.invalid_link_msg': '链接不完整或已损坏，请核对短信中的链接，或联系仲裁委书记员。',
  'party.error_title.410': '链接已失效',
  'party.error_title.429': '操作过于频繁',
  'party.error_title.404': '链接无效',
  'party.error_title.other': '暂时无法打开',
  'party.contact': '如有疑问，请联系承办本案的仲裁委书记员。',
  'party.refresh': '刷新候审信息',

  // hearing room
  'role.presiding_arbitrator': '首席仲裁员',
  'room.title': '庭审室',
  'room.hearing': '庭审',
  'room.connecting': '正在连接…',
  'room.media': '正在打开摄像头和麦克风…',
  'room.waiting_others': '正在等待其他参加人进入…',
  'room.reconnecting': '网络中断，正在重新连接…',
  'room.reconnecting_hint': '您的席位将保留 60 秒。',
  'room.reconnected': '已重新连接。',
  'room.denied_title': '无权进入本庭审',
  'room.denied_msg': '您未登录，或您不是本庭审的参加人。工作人员请先登录；当事人请通过短信中的邀请链接完成身份核验后再进入。',
  'room.not_found_title': '庭审不存在',
  'room.not_found_msg': '请核对庭审链接，或联系承办本案的书记员。',
  'room.bad_link': '链接无效',
  'room.error_title': '无法进入庭审',
  'room.unsupported': '您的浏览器不支持视频庭审。请使用最新版的微信、Chrome、Safari 或 Edge 浏览器打开。',
  'room.to_console': '前往工作人员登录',
  'room.left_title': '已离开',
  'room.left_msg': '您已离开本次庭审。如需重新进入，请点击下方按钮。',
  'room.rejoin': '重新进入庭审',
  'room.taken_title': '已在其他页面进入',
  'room.taken_msg': '您已在另一窗口或设备上进入本庭审，本页面已断开。',
  'room.take_back': '在本页面重新进入',
  'room.mic_on': '麦克风已开',
  'room.mic_off': '麦克风已关',
  'room.cam_on': '摄像头已开',
  'room.cam_off': '摄像头已关',
  'room.mic': '麦克风',
  'room.cam': '摄像头',
  'room.leave': '离开',
  'room.leave_confirm': '再点一次确认离开',
  'room.you': '我',
  'room.muted_audio': '已静音',
  'room.muted_video': '已关闭摄像头',
  'room.muted_by_chair': '已被主持人静音',
  'room.tile_reconnecting': '重新连接中…',
  'room.no_video': '暂无画面',
  'room.quality': '网络',
  'room.quality.good': '良好',
  'room.quality.fair': '一般',
  'room.quality.poor': '较差',
  'room.quality.unknown': '检测中',
  'room.no_camera': '无法使用摄像头，您将以仅语音方式参加。请在浏览器设置中允许使用摄像头后刷新页面。',
  'room.no_media': '无法使用摄像头和麦克风，您现在只能观看和收听。请在浏览器设置中允许使用后刷新页面。',
  'room.enable_sound': '点击开启声音',
  'room.codec_unavailable': '本浏览器不支持 H.264 视频编码，已改用默认编码。',
  'room.left_participant': '{name} 已离开',
  'room.joined_participant': '{name} 已进入',
  'room.server_error': '服务器提示：{message}',
  'room.participants': '参加人',
};

const en = {
  'app.name': 'Yunting',
  'app.console': 'Hearing management',
  'app.party': 'Remote hearing',
  'lang.toggle': '中文',
  'lang.toggle_title': 'Switch to Chinese',

  'common.loading': 'Loading…',
  'common.working': 'Working…',
  'common.none': 'None',
  'common.dash': '—',
  'common.optional': ' (optional)',
  'common.submit': 'Submit',
  'common.save': 'Save',
  'common.cancel': 'Cancel',
  'common.back': 'Back',
  'common.retry': 'Try again',
  'common.copy': 'Copy',
  'common.copied': 'Copied',
  'common.copy_failed': 'Could not copy; please select the link and copy it by hand',
  'common.yes': 'Yes',
  'common.no': 'No',
  'common.bj_time': 'Beijing time',
  'common.all': 'All',

  'err.network': 'Network error. Please check your connection and try again.',
  'err.required': 'Please fill in “{label}”.',
  'err.http.400': 'The request was malformed.',
  'err.http.401': 'You are not signed in or your session has expired.',
  'err.http.403': 'You are not allowed to do this.',
  'err.http.404': 'Not found.',
  'err.http.409': 'This conflicts with the current state.',
  'err.http.410': 'The link or code is no longer valid.',
  'err.http.413': 'The submission is too large.',
  'err.http.415': 'Unsupported request format.',
  'err.http.422': 'Some of the information is not valid.',
  'err.http.429': 'Too many attempts. Please try again later.',
  'err.http.500': 'Server error. Please try again later.',
  'err.http.other': 'Request failed ({status}).',
  'err.amount': 'Invalid amount; write e.g. 12000 or 12000.50.',
  'err.claims_empty': 'Please enter at least one claim.',
  'err.password_short': 'The password must have at least 10 characters.',
  'err.datetime': 'Please choose the hearing time.',
  'err.id_last6': 'Please enter the last 6 characters of the ID number (digits or letters).',
  'err.code': 'Please enter the 6-digit code.',

  'status.accepted': 'Accepted',
  'status.awaiting_hearing': 'Awaiting hearing',
  'status.in_hearing': 'In hearing',
  'status.hearing_closed': 'Hearing closed',
  'status.closed': 'Closed',
  'closing.mediation': 'Mediation',
  'closing.award': 'Award',
  'closing.withdrawal': 'Withdrawal',
  'closing.deemed_withdrawal': 'Deemed withdrawal',
  'closing.rejection': 'Not accepted',
  'procedure.ordinary': 'Ordinary procedure',
  'procedure.simplified': 'Simplified procedure',
  'role.admin': 'Administrator',
  'role.arbitrator': 'Arbitrator',
  'role.clerk': 'Clerk',
  'role.mediator': 'Mediator',
  'role.applicant': 'Applicant',
  'role.respondent': 'Respondent',
  'role.agent': 'Authorised agent',
  'role.witness': 'Witness',
  'role.observer': 'Observer',
  'side.applicant': 'Applicant',
  'side.respondent': 'Respondent',
  'kind.person': 'Person',
  'kind.organisation': 'Organisation',
  'authority.general': 'General authority',
  'authority.special': 'Special authority',
  'hstatus.scheduled': 'Scheduled',
  'hstatus.open': 'In progress',
  'hstatus.closed': 'Closed',
  'hstatus.cancelled': 'Cancelled',
  'weekday.0': 'Sun',
  'weekday.1': 'Mon',
  'weekday.2': 'Tue',
  'weekday.3': 'Wed',
  'weekday.4': 'Thu',
  'weekday.5': 'Fri',
  'weekday.6': 'Sat',

  'login.title': 'Staff sign-in',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.hint': 'For commission staff only. Parties: please use the invitation link sent to your phone.',
  'nav.cases': 'Cases',
  'nav.users': 'Users',
  'nav.logout': 'Sign out',
  'nav.skip': 'Skip to main content',
  'party_on_console': 'You are signed in as a party. Please use your invitation link to reach the waiting room.',

  'cases.title': 'Cases',
  'cases.search': 'Search',
  'cases.search_placeholder': 'Case number, cause or party name',
  'cases.status_filter': 'Status',
  'cases.new': 'New case',
  'cases.empty': 'No matching cases.',
  'cases.total': '{total} in total',
  'cases.page': 'Page {page} of {pages}',
  'cases.prev': 'Previous',
  'cases.next': 'Next',
  'col.number': 'Case number',
  'col.cause': 'Cause',
  'col.status': 'Status',
  'col.applicant': 'Applicant',
  'col.respondent': 'Respondent',
  'col.next_hearing': 'Next hearing',

  'case.back': 'Back to cases',
  'case.overview': 'Overview',
  'case.number': 'Case number',
  'case.cause': 'Cause',
  'case.procedure': 'Procedure',
  'case.status': 'Status',
  'case.closing_method': 'Closing method',
  'case.accepted_at': 'Accepted on',
  'case.deadline_at': 'Deadline',
  'case.closed_at': 'Closed on',
  'case.arbitrator': 'Arbitrator in charge',
  'case.days_left': '{n} days left',
  'case.days_over': '{n} days overdue',
  'case.not_found': 'Case not found, or you may not see it.',
  'case.open_counterclaim': 'Open',
  'case.total_parties': '{n} parties',
  'case.counterclaim_of': 'This is a counterclaim to',
  'case.merged_hearing': 'Merged hearing',
  'case.claims': 'Claims',
  'case.claims_total': 'Total',
  'case.claims_empty': 'No claims yet.',
  'case.parties': 'Parties',
  'case.parties_empty': 'No parties yet.',
  'case.agents': 'Authorised agents',
  'case.legal_rep': 'Legal representative',
  'case.phone': 'Mobile',
  'case.id_number': 'ID number',
  'case.counterclaims': 'Counterclaims',
  'case.counterclaims_empty': 'No counterclaims.',
  'case.merged': 'Merged hearing',
  'case.separate': 'Separate hearing',
  'case.hearings': 'Hearings',
  'case.hearings_empty': 'No hearing scheduled.',
  'case.history': 'Procedure history',
  'case.history_empty': 'No procedure changes.',
  'case.invitations': 'Hearing invitations',
  'case.invitations_empty': 'No invitations yet.',
  'case.audit': 'Audit trail',
  'case.audit_empty': 'No entries.',
  'case.audit_show_all': 'Show all {n} entries',
  'case.audit_chain_ok': 'Audit chain verified',
  'case.audit_chain_bad': 'Audit chain verification FAILED — report to the administrator now!',
  'case.actions': 'Case actions',
  'hearing.time': 'Time',
  'hearing.tribunal': 'Tribunal',
  'hearing.presiding': 'Presiding arbitrator',
  'hearing.clerk': 'Clerk',
  'hearing.mediator': 'Mediator',
  'hearing.case_numbers': 'Case numbers',
  'hearing.status': 'Status',
  'history.from_to': '{from} → {to}',
  'history.reason': 'Reason',
  'history.by': 'By',
  'inv.role': 'Role',
  'inv.name': 'Name',
  'inv.phone': 'Mobile',
  'inv.expires_at': 'Expires',
  'inv.created_at': 'Created',
  'inv.state': 'State',
  'inv.state.active': 'Active',
  'inv.state.verified': 'Verified',
  'inv.state.revoked': 'Revoked',
  'inv.state.expired': 'Expired',
  'inv.revoke': 'Revoke',
  'inv.revoke_confirm': 'Click again to revoke',
  'audit.at': 'Time',
  'audit.actor': 'Actor',
  'audit.action': 'Action',
  'audit.detail': 'Detail',

  'form.create_case': 'New case',
  'form.case_number': 'Case number',
  'form.case_number_hint': 'Leave empty to number automatically',
  'form.cause': 'Cause',
  'form.procedure': 'Procedure',
  'form.arbitrator': 'Arbitrator in charge',
  'form.claims': 'Claims',
  'form.claim_description': 'Claim',
  'form.claim_amount': 'Amount (yuan)',
  'form.claim_amount_hint': '0 for non-monetary claims',
  'form.add_claim_row': 'Add a claim',
  'form.remove_claim_row': 'Remove',
  'form.create': 'Create',
  'form.add_party': 'Add party',
  'form.side': 'Side',
  'form.kind': 'Kind',
  'form.name': 'Name',
  'form.legal_rep': 'Legal representative',
  'form.phone': 'Mobile number',
  'form.id_number': 'ID number / unified social credit code',
  'form.add_agent': 'Add authorised agent',
  'form.agent_party': 'Principal',
  'form.agent_name': 'Agent name',
  'form.agent_id_number': 'Agent ID number',
  'form.authority': 'Authority',
  'form.authority_detail': 'Scope of authority',
  'form.add_claim': 'Add claim',
  'form.add_counterclaim': 'File counterclaim',
  'form.counterclaim_cause': 'Counterclaim cause',
  'form.counterclaim_cause_hint': 'Leave empty to use this case’s cause',
  'form.merged_hearing': 'Hear together with the main claim',
  'form.change_procedure': 'Change procedure',
  'form.new_procedure': 'Change to',
  'form.reason': 'Reason',
  'form.transition': 'Change case status',
  'form.transition_to': 'Change to',
  'form.closing_method': 'Closing method',
  'form.transition_none': 'This case is closed; its status cannot change.',
  'form.reason_required_hint': 'A reason is required to adjourn',
  'form.schedule_hearing': 'Schedule hearing',
  'form.scheduled_at': 'Hearing time (Beijing time)',
  'form.presiding': 'Presiding arbitrator',
  'form.clerk': 'Clerk',
  'form.mediator': 'Mediator',
  'form.invite': 'Invite to the hearing',
  'form.invite_role': 'Role',
  'form.invite_party': 'Party',
  'form.invite_agent': 'Authorised agent',
  'form.invite_hearing': 'Hearing',
  'form.invite_expires': 'Valid for (hours, 1–720)',
  'form.invite_no_party': 'This case has no party on that side yet; add one first.',
  'form.invite_no_agent': 'This case has no authorised agent yet; add one first.',
  'form.invite_url': 'Invitation link',
  'form.invite_created': 'Invitation created. Send this link to the invitee:',
  'form.agent_of': 'agent of {party}',
  'form.choose': 'Choose',
  'form.saved': 'Saved.',

  'users.title': 'Users',
  'users.username': 'Username',
  'users.display_name': 'Name',
  'users.role': 'Role',
  'users.password': 'Initial password (at least 10 characters)',
  'users.create': 'Add user',
  'users.created': 'User {name} created.',
  'users.empty': 'No users.',

  'party.title': 'Remote hearing',
  'party.step': 'Step {n} of 3',
  'party.step1': 'Identity',
  'party.step2': 'SMS code',
  'party.step3': 'Waiting',
  'party.commission': 'Commission',
  'party.case_numbers': 'Case number',
  'party.role': 'Attending as',
  'party.invitee': 'Invitee',
  'party.phone': 'Registered mobile',
  'party.hearing_time': 'Hearing time',
  'party.intro': 'You have been invited to an arbitration hearing. First confirm your identity; we will send a code to your registered mobile.',
  'party.name': 'Full name / organisation name',
  'party.name_hint': 'As shown on your ID card or business licence',
  'party.id_last6': 'Last 6 characters of your ID number',
  'party.id_last6_hint': 'Resident ID card (type X if it ends in X), or the unified social credit code for an organisation',
  'party.get_code': 'Send me a code',
  'party.code_sent': 'A code was sent to {phone}. It is valid for {minutes} minutes.',
  'party.code': '6-digit code',
  'party.verify': 'Confirm',
  'party.resend': 'Send a new code',
  'party.resend_in': 'New code in {s} s',
  'party.resent': 'A new code has been sent.',
  'party.back': 'Back',
  'party.waiting_title': 'Waiting room',
  'party.waiting_sub': 'Please wait here',
  'party.waiting_message': 'Your identity has been confirmed. Please keep this page open and wait somewhere quiet. The clerk will admit you once attendance has been checked.',
  'party.you': 'Attendee',
  'party.tribunal': 'Tribunal',
  'party.no_hearing': 'The hearing time has not been fixed yet; the commission will notify you.',
  'party.recording_notice': '本庭审全程录音录像',
  'party.recording_notice_en': 'This hearing is recorded in audio and video from start to finish.',
  'party.privacy': 'Do not forward this link to anyone.',
  'party.invalid_link': 'Invalid link',
  'party.invalid_link_msg': 'The link is incomplete or damaged. Please check the link in your SMS or contact the clerk.',
  'party.error_title.410': 'Link no longer valid',
  'party.error_title.429': 'Too many attempts',
  'party.error_title.404': 'Invalid link',
  'party.error_title.other': 'Cannot open right now',
  'party.contact': 'If you have questions, please contact the clerk handling your case.',
  'party.refresh': 'Refresh',

  'role.presiding_arbitrator': 'Presiding arbitrator',
  'room.title': 'Hearing room',
  'room.hearing': 'Hearing',
  'room.connecting': 'Connecting…',
  'room.media': 'Opening camera and microphone…',
  'room.waiting_others': 'Waiting for the other participants…',
  'room.reconnecting': 'Connection lost. Reconnecting…',
  'room.reconnecting_hint': 'Your seat is kept for 60 seconds.',
  'room.reconnected': 'Reconnected.',
  'room.denied_title': 'You may not enter this hearing',
  'room.denied_msg': 'You are not signed in, or you are not a participant of this hearing. Staff: please sign in first. Parties: please confirm your identity through the invitation link in your SMS.',
  'room.not_found_title': 'Hearing not found',
  'room.not_found_msg': 'Please check the link or contact the clerk handling your case.',
  'room.bad_link': 'Invalid link',
  'room.error_title': 'Cannot enter the hearing',
  'room.unsupported': 'This browser does not support video hearings. Please use a current WeChat, Chrome, Safari or Edge.',
  'room.to_console': 'Staff sign-in',
  'room.left_title': 'You have left',
  'room.left_msg': 'You have left the hearing. To enter again, use the button below.',
  'room.rejoin': 'Enter the hearing again',
  'room.taken_title': 'Opened elsewhere',
  'room.taken_msg': 'You entered this hearing from another window or device; this page has been disconnected.',
  'room.take_back': 'Enter again on this page',
  'room.mic_on': 'Microphone on',
  'room.mic_off': 'Microphone off',
  'room.cam_on': 'Camera on',
  'room.cam_off': 'Camera off',
  'room.mic': 'Microphone',
  'room.cam': 'Camera',
  'room.leave': 'Leave',
  'room.leave_confirm': 'Tap again to leave',
  'room.you': 'Me',
  'room.muted_audio': 'Muted',
  'room.muted_video': 'Camera off',
  'room.muted_by_chair': 'Muted by the chair',
  'room.tile_reconnecting': 'Reconnecting…',
  'room.no_video': 'No video',
  'room.quality': 'Network',
  'room.quality.good': 'Good',
  'room.quality.fair': 'Fair',
  'room.quality.poor': 'Poor',
  'room.quality.unknown': 'Checking',
  'room.no_camera': 'The camera cannot be used; you take part by audio only. Allow the camera in your browser settings and reload the page.',
  'room.no_media': 'Camera and microphone cannot be used; you can only watch and listen. Allow them in your browser settings and reload the page.',
  'room.enable_sound': 'Tap to turn on sound',
  'room.codec_unavailable': 'This browser cannot encode H.264 video; the default codec is used.',
  'room.left_participant': '{name} has left',
  'room.joined_participant': '{name} has joined',
  'room.server_error': 'Server message: {message}',
  'room.participants': 'Participants',
};

const DICTS = { zh, en };

function initialLang() {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    if (v === 'zh' || v === 'en') return v;
  } catch (_) { /* storage may be disabled */ }
  return 'zh';
}

let current = initialLang();
const listeners = new Set();

function applyDocumentLang() {
  if (typeof document !== 'undefined') {
    document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
  }
}
applyDocumentLang();

export function lang() { return current; }

export function setLang(l) {
  if (l !== 'zh' && l !== 'en') return;
  current = l;
  try { localStorage.setItem(STORAGE_KEY, l); } catch (_) { /* ignore */ }
  applyDocumentLang();
  for (const fn of listeners) fn(l);
}

export function toggleLang() { setLang(current === 'zh' ? 'en' : 'zh'); }

export function onLangChange(fn) { listeners.add(fn); }

/** Translate a key, replacing {name} placeholders from params. */
export function t(key, params) {
  let s = DICTS[current][key];
  if (s === undefined) s = zh[key];
  if (s === undefined) return key;
  if (params) {
    s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined || params[k] === null ? m : String(params[k])));
  }
  return s;
}

/** "key：value" with the punctuation of the current language. */
export function kv(key, value) {
  return key + (current === 'en' ? ': ' : '：') + value;
}

/** "（text）" in Chinese, " (text)" in English. */
export function paren(text) {
  return current === 'en' ? ' (' + text + ')' : '（' + text + '）';
}

/** Join names with 、 in Chinese, ", " in English. */
export function joinList(list) {
  return list.join(current === 'en' ? ', ' : '、');
}

/** Label of an enumerated value, e.g. label('status', 'closed') → 结案. */
export function label(group, value) {
  if (value === null || value === undefined || value === '') return t('common.dash');
  const key = group + '.' + value;
  const s = t(key);
  return s === key ? String(value) : s;
}

/**
 * Server messages are "中文 / English". Show the half that fits the language;
 * a message without the separator is shown whole.
 */
export function pickMessage(message) {
  if (typeof message !== 'string' || !message) return '';
  const i = message.indexOf(' / ');
  if (i < 0) return message;
  const zhPart = message.slice(0, i).trim();
  const enPart = message.slice(i + 3).trim();
  return current === 'en' ? (enPart || zhPart) : (zhPart || enPart);
}

const CN_OFFSET_MS = 8 * 3600 * 1000; // China Standard Time, no DST

function pad(n) { return n < 10 ? '0' + n : String(n); }

function cnParts(ms) {
  const d = new Date(Number(ms) + CN_OFFSET_MS);
  return {
    y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(),
    h: d.getUTCHours(), mi: d.getUTCMinutes(), wd: d.getUTCDay(),
  };
}

const EN_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function valid(ms) { return ms !== null && ms !== undefined && ms !== '' && Number.isFinite(Number(ms)); }

/** Date and time in Beijing time, e.g. 2026-03-05 09:30. */
export function fmtDateTime(ms) {
  if (!valid(ms)) return t('common.dash');
  const p = cnParts(ms);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}`;
}

/** Date only in Beijing time, e.g. 2026-03-05. */
export function fmtDate(ms) {
  if (!valid(ms)) return t('common.dash');
  const p = cnParts(ms);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}`;
}

/** Long, friendly form for parties: 2026年3月5日 星期四 09:30 / Thu 5 Mar 2026, 09:30. */
export function fmtLong(ms) {
  if (!valid(ms)) return t('common.dash');
  const p = cnParts(ms);
  const wd = t('weekday.' + p.wd);
  if (current === 'en') return `${wd} ${p.d} ${EN_MONTHS[p.mo - 1]} ${p.y}, ${pad(p.h)}:${pad(p.mi)}`;
  return `${p.y}年${p.mo}月${p.d}日 ${wd} ${pad(p.h)}:${pad(p.mi)}`;
}

/** Value for <input type="datetime-local"> from ms (Beijing time). */
export function toDateTimeInput(ms) {
  const p = cnParts(ms);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}`;
}

/** ms since epoch from a datetime-local value read as Beijing time; NaN if invalid. */
export function fromDateTimeInput(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || '');
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) - CN_OFFSET_MS;
}

/** ¥12,000.00 from integer fen. */
export function fmtYuan(cents) {
  if (cents === null || cents === undefined || !Number.isFinite(Number(cents))) return t('common.dash');
  const c = Math.round(Number(cents));
  const neg = c < 0;
  const abs = Math.abs(c);
  const yuan = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fen = pad(abs % 100);
  return (neg ? '-' : '') + '¥' + yuan + '.' + fen;
}

/** Integer fen from a yuan string like "12,000.5"; NaN if not a plain amount. */
export function parseYuan(text) {
  const s = String(text || '').replace(/[,，\s¥￥]/g, '');
  const m = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) return NaN;
  const frac = (m[2] || '').padEnd(2, '0');
  return Number(m[1]) * 100 + Number(frac);
}
