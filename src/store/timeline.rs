//! The case timeline (issue 7): one list per case of everything that happened to it, in
//! order: acceptance, parties, invitations and identity checks, notices sent (one-time
//! codes, signing links) and when they were answered, documents with each signature,
//! hearings with their phases and presence, exhibits, recordings with their status,
//! status changes and closing. Each item carries a link to the item itself and the
//! sequence numbers of its audit entries.
//!
//! A main case heard together with its counterclaim (合并审理) shows the counterclaim's
//! items too, each marked with the case it belongs to; a merged counterclaim shows the
//! claim's hearings it is heard in.
//!
//! Three steps, so the disk is never read while the writers' lock is held: [`collect`]
//! reads the database, [`recording_entries`] reads the recordings directory (blocking),
//! and [`visible`] sorts and cuts the list down to what the reader may see. Parties get
//! the main file only: no audit entries, no other person's IP address or user agent, no
//! internal events (side rooms, refused commands, staff commands on other seats), no
//! invitations or identity checks of witnesses and observers, no pending exhibit of
//! somebody else, and no recordings (they may not have them).

use super::cases::{CASE_COLUMNS, CaseRow};
use crate::authz::{CaseAccess, Permission, Principal};
use crate::error::AppResult;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::AnyConnection;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// How far apart (ms) a record's own time and its audit entry's time may be to match:
/// both are written in the same transaction, normally within a few milliseconds.
const AUDIT_WINDOW_MS: i64 = 5_000;

/// Audit actions that record a read, not an event of the case: never timeline items.
const READ_ACTIONS: &[&str] = &[
    "case.read",
    "case.list",
    "case.timeline_read",
    "audit.read",
    "invitation.list",
    "document.list",
    "document.read",
    "document.download",
    "document.page_view",
    "document.certificate_download",
    "hearing.read",
    "hearing.connect",
    "hearing.stats",
    "hearing.events_read",
    "hearing.exhibits_read",
    "hearing.exhibit_read",
    "hearing.discipline_read",
    "recording.status_read",
    "recording.files_read",
    "recording.chapters_read",
    "recording.played",
];

/// Detail keys that only staff and the person themselves see.
const PRIVATE: &[&str] = &["ip", "user_agent", "certificate"];

/// One thing that happened, as the reader sees it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimelineItem {
    /// Server time, ms since the Unix epoch.
    pub at: i64,
    /// Stable machine name, e.g. `document.signed`.
    pub kind: String,
    pub title_zh: String,
    pub title_en: String,
    /// Who did it (display name), when known.
    pub actor: Option<String>,
    /// The API address of the item, when there is one the reader may open.
    pub link: Option<String>,
    /// The case the item belongs to (a merged counterclaim's items are marked).
    pub case_id: i64,
    pub case_number: String,
    pub hearing_id: Option<i64>,
    /// Sequence numbers of the item's audit entries (staff who may read the audit trail).
    pub audit: Vec<i64>,
    pub detail: Value,
}

/// Who may see an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Everyone who may read the case: staff and its parties.
    Everyone,
    /// Staff and the holder of this invitation.
    Invitee(i64),
    /// Staff only (the secondary file).
    Staff,
}

/// An item with what decides who sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub item: TimelineItem,
    pub audience: Audience,
    /// The invitation whose own record this is: its private details are theirs to see.
    pub owner: Option<i64>,
    /// The link offered to parties (staff-only endpoints are not).
    pub party_link: Option<String>,
    /// After time: source rank, then row id, so equal times keep a stable order.
    pub rank: (u8, i64),
}

/// Who reads the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Staff { audit: bool },
    Party { invitation_id: i64 },
}

impl Viewer {
    pub fn of(who: &Principal, access: &CaseAccess) -> Viewer {
        match who {
            Principal::Party(p) => Viewer::Party {
                invitation_id: p.invitation_id,
            },
            Principal::System => Viewer::Staff { audit: true },
            Principal::Staff(_) => Viewer::Staff {
                audit: access.allows(Permission::Audit),
            },
        }
    }

    pub fn is_staff(&self) -> bool {
        matches!(self, Viewer::Staff { .. })
    }
}

/// Sort the entries (time, then a stable tiebreak) and keep what `viewer` may see, in
/// the form they may see it.
pub fn visible(viewer: &Viewer, mut entries: Vec<Entry>) -> Vec<TimelineItem> {
    entries.sort_by_key(|e| (e.item.at, e.rank));
    entries
        .into_iter()
        .filter_map(|e| match *viewer {
            Viewer::Staff { audit } => {
                let mut item = e.item;
                if !audit {
                    item.audit.clear();
                }
                Some(item)
            }
            Viewer::Party { invitation_id } => {
                let allowed = match e.audience {
                    Audience::Everyone => true,
                    Audience::Invitee(i) => i == invitation_id,
                    Audience::Staff => false,
                };
                if !allowed {
                    return None;
                }
                let mut item = e.item;
                item.audit.clear();
                item.link = e.party_link;
                if e.owner != Some(invitation_id)
                    && let Some(map) = item.detail.as_object_mut()
                {
                    for k in PRIVATE {
                        map.remove(*k);
                    }
                }
                Some(item)
            }
        })
        .collect()
}

// ------------------------------------------------------------------ the audit entries

#[derive(Debug, Clone, sqlx::FromRow)]
struct AuditRow {
    seq: i64,
    at: i64,
    actor: String,
    action: String,
    target: String,
    detail: String,
}

/// A case's audit entries by action and target, to find each item's entries.
struct AuditIndex {
    rows: Vec<AuditRow>,
    by_key: HashMap<(String, String), Vec<usize>>,
    used: HashSet<i64>,
}

impl AuditIndex {
    fn new(rows: Vec<AuditRow>) -> Self {
        let mut by_key: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            by_key
                .entry((r.action.clone(), r.target.clone()))
                .or_default()
                .push(i);
        }
        Self {
            rows,
            by_key,
            used: HashSet::new(),
        }
    }

    /// The entry of one of `actions` on `target` nearest to `at` (within the window);
    /// `consume` marks it used so that a second record of the same kind takes the next.
    fn nearest(
        &mut self,
        actions: &[&str],
        target: &str,
        at: i64,
        consume: bool,
    ) -> Option<AuditRow> {
        let mut best: Option<(i64, usize)> = None;
        for a in actions {
            let Some(ix) = self.by_key.get(&(a.to_string(), target.to_string())) else {
                continue;
            };
            for &i in ix {
                let r = &self.rows[i];
                let d = (r.at - at).abs();
                if d > AUDIT_WINDOW_MS || (consume && self.used.contains(&r.seq)) {
                    continue;
                }
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, i));
                }
            }
        }
        let (_, i) = best?;
        let row = self.rows[i].clone();
        if consume {
            self.used.insert(row.seq);
        }
        Some(row)
    }

    fn with_action<'a>(&'a self, action: &'a str) -> impl Iterator<Item = &'a AuditRow> + 'a {
        self.rows.iter().filter(move |r| r.action == action)
    }
}

// ------------------------------------------------------------------ names and labels

struct Names {
    users: HashMap<i64, String>,
    invitations: HashMap<i64, String>,
}

impl Names {
    /// An audit-style actor (`user:3:clerk`, `invitation:5:applicant`, `system`) or a seat
    /// key (`user:3`, `invitation:5`) as a display name.
    fn display(&self, actor: &str) -> String {
        let mut parts = actor.split(':');
        let kind = parts.next().unwrap_or_default();
        let id = parts.next().and_then(|s| s.parse::<i64>().ok());
        let found = match (kind, id) {
            ("user", Some(id)) => self.users.get(&id),
            ("invitation", Some(id)) => self.invitations.get(&id),
            _ => None,
        };
        match (found, kind) {
            (Some(n), _) => n.clone(),
            (None, "system") => "系统".into(),
            (None, _) => actor.to_string(),
        }
    }
}

/// `invitation:5` or `invitation:5:applicant` → 5.
fn invitation_of(seat_or_actor: &str) -> Option<i64> {
    let rest = seat_or_actor.strip_prefix("invitation:")?;
    rest.split(':').next()?.parse().ok()
}

fn status_label(s: &str) -> (&'static str, &'static str) {
    match s {
        "accepted" => ("受理", "accepted"),
        "awaiting_hearing" => ("待开庭", "awaiting hearing"),
        "in_hearing" => ("开庭中", "in hearing"),
        "hearing_closed" => ("已闭庭", "hearing closed"),
        "closed" => ("结案", "closed"),
        _ => ("未知状态", "unknown status"),
    }
}

fn closing_label(s: &str) -> (&'static str, &'static str) {
    match s {
        "mediation" => ("调解", "mediation"),
        "award" => ("裁决", "award"),
        "withdrawal" => ("撤回", "withdrawal"),
        "deemed_withdrawal" => ("视为撤回", "deemed withdrawal"),
        "rejection" => ("不予受理", "rejection"),
        _ => ("其他", "other"),
    }
}

fn procedure_label(s: &str) -> (&'static str, &'static str) {
    match s {
        "simplified" => ("简易处理", "simplified procedure"),
        _ => ("一般程序", "ordinary procedure"),
    }
}

fn role_label(s: &str) -> (&'static str, &'static str) {
    match s {
        "applicant" => ("申请人", "applicant"),
        "respondent" => ("被申请人", "respondent"),
        "agent" => ("委托代理人", "agent"),
        "witness" => ("证人", "witness"),
        "observer" => ("旁听人员", "observer"),
        "arbitrator" | "presiding_arbitrator" => ("仲裁员", "arbitrator"),
        "clerk" => ("书记员", "clerk"),
        "mediator" => ("调解员", "mediator"),
        "admin" => ("管理员", "administrator"),
        "seal" => ("仲裁委员会印章", "commission seal"),
        _ => ("参加人", "participant"),
    }
}

fn doc_label(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "confirmation" => (
            "仲裁简易程序权利、义务确认书",
            "simplified-procedure confirmation",
        ),
        "mediation_agreement" => ("调解协议书", "mediation agreement"),
        "withdrawal_claim" => ("撤回仲裁申请书", "withdrawal of the claim"),
        "withdrawal_counterclaim" => ("撤回仲裁反申请书", "withdrawal of the counterclaim"),
        "transcript" => ("庭审笔录", "hearing transcript"),
        _ => ("文书", "document"),
    }
}

fn phase_label(p: &str) -> (&'static str, &'static str) {
    match p {
        "check_attendance" => ("核对出庭人员", "checking attendance"),
        "announce_discipline" => ("宣布庭审纪律", "hearing discipline announced"),
        "opening" => ("宣布开庭", "hearing opened"),
        "claims_and_defence" => ("申诉答辩", "claims and defence"),
        "investigation" => ("庭审调查与质证", "investigation and evidence"),
        "debate" => ("庭审辩论", "debate"),
        "final_statements" => ("最后陈述", "final statements"),
        "mediation" => ("当庭调解", "mediation in the hearing"),
        "closed" => ("闭庭", "hearing closed"),
        _ => ("庭审阶段", "hearing phase"),
    }
}

fn recording_label(s: &str) -> (&'static str, &'static str) {
    match s {
        "recording" => ("正在录制", "recording"),
        "processing" => (
            "已封存，正在生成回放文件",
            "sealed, playable files being made",
        ),
        "ready" => ("可回放", "ready to play"),
        "interrupted" => (
            "录制中断（已封存已录部分）",
            "interrupted (what was recorded is sealed)",
        ),
        _ => ("未封存", "not sealed"),
    }
}

/// Title of a hearing's own event; `who` is the seat's or actor's name.
fn hearing_event_title(kind: &str, who: &str, detail: &Value) -> (String, String) {
    let s = |zh: &str, en: &str| (zh.to_string(), en.to_string());
    let with = |zh: &str, en: &str| (format!("{zh}：{who}"), format!("{en}: {who}"));
    match kind {
        "hearing.phase" => {
            let (zh, en) = phase_label(detail["to"].as_str().unwrap_or_default());
            (format!("庭审阶段：{zh}"), format!("Hearing phase: {en}"))
        }
        "hearing.ended" => s("庭审结束", "Hearing ended"),
        "hearing.pause" => s("休庭", "Hearing paused"),
        "hearing.resume" => s("继续开庭", "Hearing resumed"),
        "hearing.join" => with("进入庭审", "Joined the hearing"),
        "hearing.rejoin" => with("重新进入庭审", "Rejoined the hearing"),
        "hearing.leave" => with("离开庭审", "Left the hearing"),
        "hearing.connection_lost" => with("连接中断", "Connection lost"),
        "hearing.did_not_return" => {
            with("断线后未返回", "Did not return after losing the connection")
        }
        "hearing.waiting_room" => with("进入候审室", "Entered the waiting room"),
        "hearing.left_waiting_room" => with("离开候审室", "Left the waiting room"),
        "hearing.admit" => with("准许进入庭审", "Admitted"),
        "hearing.deny" => with("拒绝进入庭审", "Refused entry"),
        "hearing.reverify" => with("要求重新核验身份", "Asked to verify identity again"),
        "hearing.call_witness" => with("传唤证人", "Witness called"),
        "hearing.dismiss_witness" => with("证人退庭", "Witness dismissed"),
        "hearing.device_check" => with("设备检测", "Device check"),
        "hearing.discipline_acknowledged" => {
            with("确认庭审纪律", "Hearing discipline acknowledged")
        }
        "hearing.mute" => with("静音", "Muted by the chair"),
        "hearing.self_mute" => with(
            "自行开关麦克风或摄像头",
            "Own microphone or camera switched",
        ),
        "hearing.mute_parties" => s("全体当事人静音", "All parties muted"),
        "hearing.remove" => with("责令退出庭审", "Removed from the hearing"),
        "hearing.warn" => with("警告", "Warned"),
        "hearing.lock" => s("锁定庭审室", "Hearing room lock changed"),
        "hearing.caucus_opened" => s("背对背调解开始", "Side room opened"),
        "hearing.caucus_closed" => s("背对背调解结束", "Side room closed"),
        "hearing.hide_exhibit" => s("停止展示证据", "Exhibit hidden"),
        "hearing.hand" => with("举手", "Hand raised"),
        "hearing.help" => with("请求帮助", "Asked for help"),
        "hearing.screen_share_started" => with("开始共享屏幕", "Screen sharing started"),
        "hearing.screen_share_stopped" => with("停止共享屏幕", "Screen sharing stopped"),
        "hearing.control_refused" => s("庭审指令被拒绝", "Hearing command refused"),
        "hearing.join_refused" => with("进入庭审被拒绝", "Entry refused"),
        "recording.sealed" => s("录像已封存", "Recording sealed"),
        "recording.seal_failed" => s("录像封存失败", "Recording seal failed"),
        "recording.interrupted" => s("录像中断", "Recording interrupted"),
        "recording.paused" => s("录像暂停（存储空间不足）", "Recording paused (storage)"),
        "recording.resumed" => s("录像恢复", "Recording resumed"),
        "recording.storage_low" => s("录像存储空间不足", "Recording storage low"),
        "recording.storage_critical" => s("录像存储空间严重不足", "Recording storage critical"),
        "recording.storage_ok" => s("录像存储空间恢复正常", "Recording storage back to normal"),
        "recording.processed" => s("回放文件已生成", "Playable files made"),
        "recording.processing_failed" => s("回放文件生成失败", "Making playable files failed"),
        other => (
            format!("庭审记录：{other}"),
            format!("Hearing record: {other}"),
        ),
    }
}

/// Who may see a hearing's own event, and whose it is; `None`: not a timeline item (it
/// is shown by another item, e.g. an exhibit's upload, or only notifies the room).
fn hearing_event_audience(
    kind: &str,
    actor: &str,
    target: &str,
) -> Option<(Audience, Option<i64>)> {
    let seat_owner = invitation_of(target);
    let by_staff_seat = target.starts_with("user:");
    match kind {
        "hearing.exhibit_uploaded"
        | "hearing.show_exhibit"
        | "hearing.document_update"
        | "hearing.document_pushed" => None,
        "hearing.phase" | "hearing.ended" | "hearing.pause" | "hearing.resume" => {
            Some((Audience::Everyone, None))
        }
        "hearing.join"
        | "hearing.rejoin"
        | "hearing.leave"
        | "hearing.connection_lost"
        | "hearing.did_not_return" => Some(match seat_owner {
            Some(i) => (Audience::Invitee(i), Some(i)),
            None if by_staff_seat => (Audience::Everyone, None),
            None => (Audience::Staff, None),
        }),
        "hearing.waiting_room"
        | "hearing.left_waiting_room"
        | "hearing.admit"
        | "hearing.deny"
        | "hearing.reverify"
        | "hearing.call_witness"
        | "hearing.dismiss_witness" => Some(match seat_owner {
            Some(i) => (Audience::Invitee(i), Some(i)),
            None => (Audience::Staff, None),
        }),
        "hearing.device_check" | "hearing.discipline_acknowledged" => {
            Some(match invitation_of(actor) {
                Some(i) => (Audience::Invitee(i), Some(i)),
                None => (Audience::Staff, None),
            })
        }
        // Side rooms, refused commands, mutes, warnings, recordings and anything new: the
        // secondary file.
        _ => Some((Audience::Staff, None)),
    }
}

/// A hearing event's detail, flat (so the private keys are where [`visible`] looks),
/// with the event's id and the seat it concerns.
fn event_detail(event_id: i64, seat: Option<&str>, detail: Value) -> Value {
    let mut map = match detail {
        Value::Object(m) => m,
        Value::Null => serde_json::Map::new(),
        other => serde_json::Map::from_iter([("data".to_string(), other)]),
    };
    map.remove("hearing_id");
    map.insert("event_id".into(), json!(event_id));
    if let Some(s) = seat {
        map.insert("seat".into(), json!(s));
    }
    Value::Object(map)
}

fn local_time(ms: i64, utc_offset_hours: i32) -> String {
    crate::time::local(ms, utc_offset_hours)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

// ------------------------------------------------------------------ the cases involved

/// The cases whose items a timeline shows, and whose audit entries it links: the case,
/// its merged counterclaims (heard together), and, for a merged counterclaim, the claim
/// whose hearings it is heard in (`audit_cases` only).
pub struct Scope {
    pub cases: Vec<CaseRow>,
    pub audit_cases: Vec<i64>,
    /// Cases whose hearings count: `cases` plus the claim of a merged counterclaim.
    pub hearing_cases: Vec<i64>,
}

pub async fn scope(conn: &mut AnyConnection, case: &CaseRow) -> AppResult<Scope> {
    let mut cases = vec![case.clone()];
    if case.counterclaim_of.is_none() {
        let merged: Vec<CaseRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE counterclaim_of = $1 AND merged_hearing = 1 ORDER BY id"
        )))
        .bind(case.id)
        .fetch_all(&mut *conn)
        .await?;
        cases.extend(merged);
    }
    let mut hearing_cases: Vec<i64> = cases.iter().map(|c| c.id).collect();
    if case.merged_hearing == 1
        && let Some(main) = case.counterclaim_of
    {
        hearing_cases.push(main);
    }
    Ok(Scope {
        audit_cases: hearing_cases.clone(),
        hearing_cases,
        cases,
    })
}

/// `$first, $first+1, …` for `n` bound values.
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Run `sql` (with `{in}` standing for the id list) over `ids`.
async fn rows_in<T>(conn: &mut AnyConnection, sql: &str, ids: &[i64]) -> AppResult<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let text = sql.replace("{in}", &placeholders(1, ids.len()));
    let mut q = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(text));
    for id in ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(conn).await?)
}

// ------------------------------------------------------------------ collecting

/// What the database says; recordings are read separately ([`recording_entries`]).
pub struct Collected {
    pub entries: Vec<Entry>,
    pub recordings: Vec<RecordingTarget>,
}

/// A hearing whose recording directory may hold a recording.
#[derive(Debug, Clone)]
pub struct RecordingTarget {
    pub dir: PathBuf,
    pub hearing_id: i64,
    pub case_id: i64,
    pub case_number: String,
    /// When nothing on disk says when (the hearing's time).
    pub fallback_at: i64,
    pub audit: Vec<i64>,
}

struct Builder {
    entries: Vec<Entry>,
    numbers: HashMap<i64, String>,
    audit: AuditIndex,
    names: Names,
}

struct Item<'a> {
    at: i64,
    kind: &'a str,
    title: (String, String),
    actor: Option<String>,
    link: Option<String>,
    party_link: Option<String>,
    case_id: i64,
    hearing_id: Option<i64>,
    audit: Vec<i64>,
    detail: Value,
    audience: Audience,
    owner: Option<i64>,
    rank: (u8, i64),
}

impl Builder {
    /// Add an item; its actor defaults to the actor of its first audit entry.
    fn push(&mut self, it: Item<'_>) {
        let actor = it.actor.or_else(|| {
            it.audit.first().and_then(|seq| {
                self.audit
                    .rows
                    .iter()
                    .find(|r| r.seq == *seq)
                    .map(|r| self.names.display(&r.actor))
            })
        });
        self.entries.push(Entry {
            item: TimelineItem {
                at: it.at,
                kind: it.kind.to_string(),
                title_zh: it.title.0,
                title_en: it.title.1,
                actor,
                link: it.link,
                case_id: it.case_id,
                case_number: self.numbers.get(&it.case_id).cloned().unwrap_or_default(),
                hearing_id: it.hearing_id,
                audit: it.audit,
                detail: it.detail,
            },
            audience: it.audience,
            owner: it.owner,
            party_link: it.party_link,
            rank: it.rank,
        });
    }

    fn seqs(&mut self, actions: &[&str], target: &str, at: i64) -> Vec<i64> {
        self.audit
            .nearest(actions, target, at, true)
            .map(|r| vec![r.seq])
            .unwrap_or_default()
    }
}

type InvitationRow = (
    i64,
    i64,
    Option<i64>,
    String,
    String,
    i64,
    Option<i64>,
    i64,
    i64,
);
type HearingRow = (i64, i64, i64, String, i64);
type DocRow = (
    i64,
    i64,
    Option<i64>,
    String,
    String,
    String,
    i64,
    Option<i64>,
);
type SignatureRow = (
    i64,
    i64,
    String,
    String,
    Option<i64>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
);

/// Read every item of the case (and what is heard with it) from the database.
#[allow(clippy::type_complexity)]
pub async fn collect(
    conn: &mut AnyConnection,
    case: &CaseRow,
    utc_offset_hours: i32,
) -> AppResult<Collected> {
    let scope = scope(conn, case).await?;
    let ids: Vec<i64> = scope.cases.iter().map(|c| c.id).collect();
    let read_list = READ_ACTIONS
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let audit_rows: Vec<AuditRow> = rows_in(
        conn,
        &format!("SELECT seq, at, actor, action, target, detail FROM audit_log WHERE case_id IN ({{in}}) AND action NOT IN ({read_list}) ORDER BY seq"),
        &scope.audit_cases,
    )
    .await?;
    let users: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, display_name FROM users WHERE commission_id = $1")
            .bind(case.commission_id)
            .fetch_all(&mut *conn)
            .await?;
    // id, case_id, hearing_id, role, name, created_by, revoked_at, created_at, expires_at
    let all_invitations: Vec<InvitationRow> = rows_in(
        conn,
        "SELECT id, case_id, hearing_id, role, name, created_by, revoked_at, created_at, expires_at FROM invitations WHERE case_id IN ({in}) ORDER BY id",
        &scope.audit_cases,
    )
    .await?;
    let mut b = Builder {
        entries: Vec::new(),
        numbers: scope
            .cases
            .iter()
            .map(|c| (c.id, c.number.clone()))
            .collect(),
        audit: AuditIndex::new(audit_rows),
        names: Names {
            users: users.into_iter().collect(),
            invitations: all_invitations.iter().map(|i| (i.0, i.4.clone())).collect(),
        },
    };
    let user_name = |b: &Builder, id: i64| b.names.users.get(&id).cloned();

    // --- the cases: acceptance, counterclaims, status, procedure ----------------------
    for c in &scope.cases {
        let target = format!("case:{}", c.id);
        let mut audit = b.seqs(&["case.create"], &target, c.accepted_at);
        audit.extend(b.seqs(&["case.counterclaim"], &target, c.accepted_at));
        let (pzh, pen) = procedure_label(&c.procedure_kind);
        let (kind, title) = if c.counterclaim_of.is_some() {
            (
                "case.counterclaim",
                (
                    format!("反诉受理：{}（{}）", c.number, c.cause),
                    format!("Counterclaim accepted: {} ({})", c.number, c.cause),
                ),
            )
        } else {
            (
                "case.accepted",
                (
                    format!("案件受理：{}（{}，{pzh}）", c.number, c.cause),
                    format!("Case accepted: {} ({}, {pen})", c.number, c.cause),
                ),
            )
        };
        b.push(Item {
            at: c.accepted_at,
            kind,
            title,
            actor: None,
            link: Some(format!("/api/cases/{}", c.id)),
            party_link: Some(format!("/api/cases/{}", c.id)),
            case_id: c.id,
            hearing_id: None,
            audit,
            detail: json!({"number": c.number, "cause": c.cause, "procedure": c.procedure_kind,
                           "counterclaim_of": c.counterclaim_of, "merged_hearing": c.merged_hearing == 1}),
            audience: Audience::Everyone,
            owner: None,
            rank: (0, c.id),
        });
    }
    if case.counterclaim_of.is_none() {
        // Counterclaims heard separately: one line here, their own timeline there.
        let separate: Vec<(i64, String, String, i64)> = sqlx::query_as("SELECT id, number, cause, accepted_at FROM cases WHERE counterclaim_of = $1 AND merged_hearing = 0 ORDER BY id")
            .bind(case.id)
            .fetch_all(&mut *conn)
            .await?;
        for (id, number, cause, at) in separate {
            let audit = b.seqs(&["case.counterclaim"], &format!("case:{id}"), at);
            b.push(Item {
                at,
                kind: "case.counterclaim",
                title: (
                    format!("提起反诉（另行审理）：{number}（{cause}）"),
                    format!("Counterclaim filed (heard separately): {number} ({cause})"),
                ),
                actor: None,
                link: Some(format!("/api/cases/{id}")),
                party_link: None,
                case_id: case.id,
                hearing_id: None,
                audit,
                detail: json!({"counterclaim_id": id, "number": number, "merged_hearing": false}),
                audience: Audience::Everyone,
                owner: None,
                rank: (1, id),
            });
        }
    }
    let statuses: Vec<(i64, i64, String, String, Option<String>, Option<i64>, i64)> = rows_in(
        conn,
        "SELECT id, case_id, from_status, to_status, reason, changed_by, changed_at FROM status_changes WHERE case_id IN ({in}) ORDER BY id",
        &ids,
    )
    .await?;
    for (id, case_id, from, to, reason, by, at) in statuses {
        let audit = b.seqs(&["case.transition"], &format!("case:{case_id}"), at);
        let closing = scope
            .cases
            .iter()
            .find(|c| c.id == case_id)
            .and_then(|c| c.closing_method.clone());
        let (fzh, fen) = status_label(&from);
        let (tzh, ten) = status_label(&to);
        let closed = to == "closed";
        let title = if closed {
            let (czh, cen) = closing_label(closing.as_deref().unwrap_or_default());
            (format!("结案（{czh}）"), format!("Case closed ({cen})"))
        } else {
            (
                format!("案件状态：{fzh} → {tzh}"),
                format!("Case status: {fen} → {ten}"),
            )
        };
        let actor = by.and_then(|u| user_name(&b, u));
        b.push(Item {
            at,
            kind: if closed { "case.closed" } else { "case.status" },
            title,
            actor,
            link: Some(format!("/api/cases/{case_id}")),
            party_link: Some(format!("/api/cases/{case_id}")),
            case_id,
            hearing_id: None,
            audit,
            detail: json!({"from": from, "to": to, "reason": reason,
                           "closing_method": if closed { closing } else { None }}),
            audience: Audience::Everyone,
            owner: None,
            rank: (16, id),
        });
    }
    let procedures: Vec<(i64, i64, String, String, String, i64, i64)> = rows_in(
        conn,
        "SELECT id, case_id, from_kind, to_kind, reason, changed_by, changed_at FROM procedure_changes WHERE case_id IN ({in}) ORDER BY id",
        &ids,
    )
    .await?;
    for (id, case_id, from, to, reason, by, at) in procedures {
        let audit = b.seqs(&["case.procedure"], &format!("case:{case_id}"), at);
        let (fzh, fen) = procedure_label(&from);
        let (tzh, ten) = procedure_label(&to);
        let actor = user_name(&b, by);
        b.push(Item {
            at,
            kind: "case.procedure",
            title: (
                format!("程序变更：{fzh} → {tzh}"),
                format!("Procedure changed: {fen} → {ten}"),
            ),
            actor,
            link: Some(format!("/api/cases/{case_id}")),
            party_link: Some(format!("/api/cases/{case_id}")),
            case_id,
            hearing_id: None,
            audit,
            detail: json!({"from": from, "to": to, "reason": reason}),
            audience: Audience::Everyone,
            owner: None,
            rank: (17, id),
        });
    }

    // --- parties and agents -----------------------------------------------------------
    let parties: Vec<(i64, i64, String, String, i64)> = rows_in(
        conn,
        "SELECT id, case_id, side, name, created_at FROM parties WHERE case_id IN ({in}) ORDER BY id",
        &ids,
    )
    .await?;
    for (id, case_id, side, name, at) in &parties {
        let audit = b.seqs(&["party.create"], &format!("party:{id}"), *at);
        let (szh, sen) = role_label(side);
        b.push(Item {
            at: *at,
            kind: "party.added",
            title: (
                format!("列明当事人：{name}（{szh}）"),
                format!("Party added: {name} ({sen})"),
            ),
            actor: None,
            link: Some(format!("/api/cases/{case_id}")),
            party_link: Some(format!("/api/cases/{case_id}")),
            case_id: *case_id,
            hearing_id: None,
            audit,
            detail: json!({"party_id": id, "side": side, "name": name}),
            audience: Audience::Everyone,
            owner: None,
            rank: (2, *id),
        });
    }
    let agents: Vec<(i64, i64, i64, String, String, i64)> = rows_in(
        conn,
        "SELECT id, case_id, party_id, name, authority, created_at FROM agents WHERE case_id IN ({in}) ORDER BY id",
        &ids,
    )
    .await?;
    for (id, case_id, party_id, name, authority, at) in agents {
        let audit = b.seqs(&["agent.create"], &format!("agent:{id}"), at);
        let of = parties
            .iter()
            .find(|p| p.0 == party_id)
            .map(|p| p.3.clone())
            .unwrap_or_default();
        b.push(Item {
            at,
            kind: "agent.added",
            title: (
                format!("委托代理人：{name}（{of}）"),
                format!("Agent appointed: {name} (for {of})"),
            ),
            actor: None,
            link: Some(format!("/api/cases/{case_id}")),
            party_link: Some(format!("/api/cases/{case_id}")),
            case_id,
            hearing_id: None,
            audit,
            detail: json!({"agent_id": id, "party_id": party_id, "name": name, "authority": authority}),
            audience: Audience::Everyone,
            owner: None,
            rank: (3, id),
        });
    }

    // --- invitations, identity checks, one-time codes ----------------------------------
    let invitations: Vec<&InvitationRow> = all_invitations
        .iter()
        .filter(|i| ids.contains(&i.1))
        .collect();
    let role_of: HashMap<i64, (String, i64)> = invitations
        .iter()
        .map(|i| (i.0, (i.3.clone(), i.1)))
        .collect();
    for (id, case_id, hearing_id, role, name, created_by, revoked_at, created_at, expires_at) in
        invitations.iter().map(|i| (*i).clone())
    {
        let target = format!("invitation:{id}");
        let audit = b.seqs(&["invitation.create"], &target, created_at);
        let (rzh, ren) = role_label(&role);
        let actor = user_name(&b, created_by);
        b.push(Item {
            at: created_at,
            kind: "invitation.created",
            title: (
                format!("发出参加庭审邀请：{name}（{rzh}）"),
                format!("Invitation made: {name} ({ren})"),
            ),
            actor,
            link: Some(format!("/api/cases/{case_id}/invitations")),
            party_link: None,
            case_id,
            hearing_id,
            audit,
            detail: json!({"invitation_id": id, "role": role, "name": name, "expires_at": expires_at}),
            audience: Audience::Invitee(id),
            owner: Some(id),
            rank: (4, id),
        });
        if let Some(at) = revoked_at {
            let audit = b.seqs(&["invitation.revoke"], &target, at);
            b.push(Item {
                at,
                kind: "invitation.revoked",
                title: (
                    format!("撤销邀请：{name}（{rzh}）"),
                    format!("Invitation revoked: {name} ({ren})"),
                ),
                actor: None,
                link: Some(format!("/api/cases/{case_id}/invitations")),
                party_link: None,
                case_id,
                hearing_id,
                audit,
                detail: json!({"invitation_id": id, "role": role, "name": name}),
                audience: Audience::Invitee(id),
                owner: Some(id),
                rank: (18, id),
            });
        }
    }
    let inv_ids: Vec<i64> = invitations.iter().map(|i| i.0).collect();
    let verifications: Vec<(i64, i64, i64, Option<String>, Option<String>)> = rows_in(
        conn,
        "SELECT id, invitation_id, verified_at, ip, user_agent FROM identity_verifications WHERE invitation_id IN ({in}) ORDER BY id",
        &inv_ids,
    )
    .await?;
    for (id, inv, at, ip, user_agent) in &verifications {
        let Some((role, case_id)) = role_of.get(inv).cloned() else {
            continue;
        };
        let matched = b.audit.nearest(
            &["identity.verified", "identity.reverified"],
            &format!("invitation:{inv}"),
            *at,
            true,
        );
        let reverified = matched
            .as_ref()
            .is_some_and(|r| r.action == "identity.reverified");
        let name = b.names.display(&format!("invitation:{inv}"));
        let (rzh, ren) = role_label(&role);
        // The parties see that the other side is verified; witnesses' and observers'
        // checks stay with staff (parties never see those invitations).
        let audience = if matches!(role.as_str(), "applicant" | "respondent" | "agent") {
            Audience::Everyone
        } else {
            Audience::Invitee(*inv)
        };
        b.push(Item {
            at: *at,
            kind: if reverified {
                "identity.reverified"
            } else {
                "identity.verified"
            },
            title: if reverified {
                (
                    format!("签署前再次核验身份：{name}（{rzh}）"),
                    format!("Identity confirmed again before signing: {name} ({ren})"),
                )
            } else {
                (
                    format!("身份核验通过：{name}（{rzh}）"),
                    format!("Identity verified: {name} ({ren})"),
                )
            },
            actor: Some(name.clone()),
            link: Some(format!("/api/cases/{case_id}/invitations")),
            party_link: None,
            case_id,
            hearing_id: None,
            audit: matched.map(|r| vec![r.seq]).unwrap_or_default(),
            detail: json!({"invitation_id": inv, "role": role, "name": name, "method": "otp",
                           "ip": ip, "user_agent": user_agent}),
            audience,
            owner: Some(*inv),
            rank: (7, *id),
        });
    }
    // Codes sent and failed answers are only in the audit log.
    let code_rows: Vec<AuditRow> = b
        .audit
        .with_action("identity.code_sent")
        .chain(b.audit.with_action("identity.failed"))
        .cloned()
        .collect();
    for r in code_rows {
        let Some(inv) = invitation_of(&r.target) else {
            continue;
        };
        let Some((role, case_id)) = role_of.get(&inv).cloned() else {
            continue;
        };
        let d: Value = serde_json::from_str(&r.detail).unwrap_or(Value::Null);
        let name = b.names.display(&r.target);
        let (rzh, ren) = role_label(&role);
        if r.action == "identity.code_sent" {
            // Answered by the first verification after it.
            let confirmed_at = verifications
                .iter()
                .filter(|v| v.1 == inv && v.2 >= r.at)
                .map(|v| v.2)
                .min();
            b.push(Item {
                at: r.at,
                kind: "notice.sent",
                title: (
                    format!("发送身份验证码：{name}（{rzh}）"),
                    format!("Verification code sent: {name} ({ren})"),
                ),
                actor: Some("系统".into()),
                link: Some(format!("/api/cases/{case_id}/invitations")),
                party_link: None,
                case_id,
                hearing_id: None,
                audit: vec![r.seq],
                detail: json!({"purpose": "otp", "invitation_id": inv, "channel": d["channel"],
                               "to": d["to"], "confirmed_at": confirmed_at}),
                audience: Audience::Invitee(inv),
                owner: Some(inv),
                rank: (6, r.seq),
            });
        } else {
            b.push(Item {
                at: r.at,
                kind: "identity.failed",
                title: (
                    format!("身份核验未通过：{name}（{rzh}）"),
                    format!("Identity check failed: {name} ({ren})"),
                ),
                actor: Some(name.clone()),
                link: Some(format!("/api/cases/{case_id}/invitations")),
                party_link: None,
                case_id,
                hearing_id: None,
                audit: vec![r.seq],
                detail: json!({"invitation_id": inv, "check": d["check"], "failures": d["failures"],
                               "locked": d["locked"]}),
                audience: Audience::Invitee(inv),
                owner: Some(inv),
                rank: (7, r.seq),
            });
        }
    }

    // --- hearings -----------------------------------------------------------------------
    let hearings: Vec<HearingRow> = rows_in(
        conn,
        "SELECT id, case_id, scheduled_at, status, created_at FROM hearings WHERE case_id IN ({in}) ORDER BY scheduled_at, id",
        &scope.hearing_cases,
    )
    .await?;
    let hearing_ids: Vec<i64> = hearings.iter().map(|h| h.0).collect();
    // A hearing of the claim, seen from its merged counterclaim, is marked as the claim's.
    let unnamed: Vec<i64> = hearings
        .iter()
        .map(|h| h.1)
        .filter(|c| !b.numbers.contains_key(c))
        .collect();
    for c in unnamed {
        let n: Option<(String,)> = sqlx::query_as("SELECT number FROM cases WHERE id = $1")
            .bind(c)
            .fetch_optional(&mut *conn)
            .await?;
        b.numbers.insert(c, n.map(|n| n.0).unwrap_or_default());
    }
    let case_of_hearing = |h: &HearingRow| -> i64 { h.1 };
    for h in &hearings {
        let (id, _, scheduled_at, status, created_at) = h.clone();
        let audit = b.seqs(&["hearing.create"], &format!("hearing:{id}"), created_at);
        let when = local_time(scheduled_at, utc_offset_hours);
        b.push(Item {
            at: created_at,
            kind: "hearing.scheduled",
            title: (
                format!("安排开庭：{when}"),
                format!("Hearing scheduled: {when}"),
            ),
            actor: None,
            link: Some(format!("/api/hearings/{id}")),
            party_link: Some(format!("/api/hearings/{id}")),
            case_id: case_of_hearing(h),
            hearing_id: Some(id),
            audit,
            detail: json!({"scheduled_at": scheduled_at, "status": status}),
            audience: Audience::Everyone,
            owner: None,
            rank: (5, id),
        });
    }
    let events: Vec<(i64, i64, i64, String, String, Option<String>, String)> = rows_in(
        conn,
        "SELECT id, hearing_id, at, kind, actor, target, detail FROM hearing_events WHERE hearing_id IN ({in}) ORDER BY id",
        &hearing_ids,
    )
    .await?;
    let mut recording_audit: HashMap<i64, Vec<i64>> = HashMap::new();
    for (id, hearing, at, kind, actor, target, detail) in events {
        let target = target.unwrap_or_else(|| format!("hearing:{hearing}"));
        let Some((audience, owner)) = hearing_event_audience(&kind, &actor, &target) else {
            continue;
        };
        let detail: Value = serde_json::from_str(&detail).unwrap_or(Value::Null);
        let audit = b.seqs(&[kind.as_str()], &target, at);
        if kind.starts_with("recording.") {
            recording_audit
                .entry(hearing)
                .or_default()
                .extend(audit.iter().copied());
        }
        let subject = if target.starts_with("user:") || target.starts_with("invitation:") {
            b.names.display(&target)
        } else {
            b.names.display(&actor)
        };
        let title = hearing_event_title(&kind, &subject, &detail);
        let h = hearings.iter().find(|h| h.0 == hearing);
        let seated = owner.is_some() || target.starts_with("user:");
        b.push(Item {
            at,
            kind: &kind,
            title,
            actor: Some(b.names.display(&actor)),
            link: Some(format!("/api/hearings/{hearing}/events")),
            party_link: Some(format!("/api/hearings/{hearing}")),
            case_id: h.map(case_of_hearing).unwrap_or(case.id),
            hearing_id: Some(hearing),
            audit,
            detail: event_detail(id, seated.then_some(target.as_str()), detail),
            audience,
            owner,
            rank: (13, id),
        });
    }

    // --- exhibits ----------------------------------------------------------------------
    let exhibits: Vec<(i64, i64, String, String, String, i64, String, String, i64, Option<i64>)> =
        rows_in(
            conn,
            "SELECT id, hearing_id, uploaded_by, name, mime, size, sha256, status, created_at, shown_at FROM exhibits WHERE hearing_id IN ({in}) ORDER BY id",
            &hearing_ids,
        )
        .await?;
    for (id, hearing, by, name, mime, size, sha, status, created_at, shown_at) in exhibits {
        let target = format!("exhibit:{id}");
        let owner = invitation_of(&by);
        let shown = status == "shown";
        let case_id = hearings
            .iter()
            .find(|h| h.0 == hearing)
            .map(case_of_hearing)
            .unwrap_or(case.id);
        let audit = b.seqs(&["hearing.exhibit_uploaded"], &target, created_at);
        let who = b.names.display(&by);
        let link = Some(format!("/api/exhibits/{id}"));
        // A pending exhibit is its uploader's (and staff's) until the chair shows it.
        let audience = match (shown, owner) {
            (true, _) => Audience::Everyone,
            (false, Some(i)) => Audience::Invitee(i),
            (false, None) => Audience::Staff,
        };
        b.push(Item {
            at: created_at,
            kind: "exhibit.uploaded",
            title: (
                format!("提交证据：{name}（{who}）"),
                format!("Exhibit uploaded: {name} ({who})"),
            ),
            actor: Some(who.clone()),
            link: link.clone(),
            party_link: link.clone(),
            case_id,
            hearing_id: Some(hearing),
            audit,
            detail: json!({"exhibit_id": id, "name": name, "mime": mime, "size": size, "sha256": sha, "status": status}),
            audience,
            owner,
            rank: (12, id),
        });
        if let Some(at) = shown_at {
            let audit = b.seqs(&["hearing.show_exhibit"], &target, at);
            b.push(Item {
                at,
                kind: "exhibit.shown",
                title: (
                    format!("当庭展示证据：{name}"),
                    format!("Exhibit shown in the hearing: {name}"),
                ),
                actor: None,
                link: link.clone(),
                party_link: link,
                case_id,
                hearing_id: Some(hearing),
                audit,
                detail: json!({"exhibit_id": id, "name": name}),
                audience: Audience::Everyone,
                owner,
                rank: (14, id),
            });
        }
    }

    // --- documents, versions, signatures, notices, effect ------------------------------
    let docs: Vec<DocRow> = rows_in(
        conn,
        "SELECT id, case_id, hearing_id, kind, status, created_by, created_at, effective_at FROM documents WHERE case_id IN ({in}) ORDER BY id",
        &ids,
    )
    .await?;
    let doc_of = |id: i64| docs.iter().find(|d| d.0 == id).cloned();
    for (id, case_id, hearing_id, kind, status, created_by, created_at, effective_at) in
        docs.iter().cloned()
    {
        let target = format!("document:{id}");
        let (dzh, den) = doc_label(&kind);
        let link = Some(format!("/api/documents/{id}"));
        let audit = b.seqs(&["document.create"], &target, created_at);
        b.push(Item {
            at: created_at,
            kind: "document.created",
            title: (format!("制作《{dzh}》"), format!("Drafted: {den}")),
            actor: Some(b.names.display(&created_by)),
            link: link.clone(),
            party_link: link.clone(),
            case_id,
            hearing_id,
            audit,
            detail: json!({"document_id": id, "kind": kind, "status": status}),
            audience: Audience::Everyone,
            owner: None,
            rank: (8, id),
        });
        if let Some(at) = effective_at {
            let audit = b.seqs(&["document.effective"], &target, at);
            b.push(Item {
                at,
                kind: "document.effective",
                title: (format!("《{dzh}》生效"), format!("In effect: {den}")),
                actor: None,
                link: link.clone(),
                party_link: link,
                case_id,
                hearing_id,
                audit,
                detail: json!({"document_id": id, "kind": kind}),
                audience: Audience::Everyone,
                owner: None,
                rank: (11, id),
            });
        }
    }
    let doc_ids: Vec<i64> = docs.iter().map(|d| d.0).collect();
    let versions: Vec<(i64, i64, i64, String, i64, String)> = rows_in(
        conn,
        "SELECT id, document_id, version, sha256, created_at, created_by FROM document_versions WHERE document_id IN ({in}) ORDER BY id",
        &doc_ids,
    )
    .await?;
    for (id, doc, version, sha, at, by) in &versions {
        let Some(d) = doc_of(*doc).filter(|_| *version > 1) else {
            continue;
        };
        let (dzh, den) = doc_label(&d.3);
        let audit = b.seqs(&["document.new_version"], &format!("document:{doc}"), *at);
        let link = Some(format!("/api/documents/{doc}"));
        b.push(Item {
            at: *at,
            kind: "document.version",
            title: (
                format!("《{dzh}》修改为第{version}版"),
                format!("{den}: version {version}"),
            ),
            actor: Some(b.names.display(by)),
            link: link.clone(),
            party_link: link,
            case_id: d.1,
            hearing_id: d.2,
            audit,
            detail: json!({"document_id": doc, "version": version, "sha256": sha}),
            audience: Audience::Everyone,
            owner: None,
            rank: (9, *id),
        });
    }
    let signatures: Vec<SignatureRow> = rows_in(
        conn,
        "SELECT id, document_id, slot, status, invitation_id, name, role, method, reason, ip, user_agent, at, audit_id, version_id FROM signatures WHERE document_id IN ({in}) ORDER BY id",
        &doc_ids,
    )
    .await?;
    for (
        id,
        doc,
        slot,
        status,
        inv,
        name,
        role,
        method,
        reason,
        ip,
        ua,
        at,
        audit_id,
        version_id,
    ) in signatures.iter().cloned()
    {
        let Some(d) = doc_of(doc) else { continue };
        let (dzh, den) = doc_label(&d.3);
        let (szh, sen) = role_label(&slot);
        let version = versions.iter().find(|v| v.0 == version_id).map(|v| v.2);
        let (kind, title) = match status.as_str() {
            "refused" => (
                "document.refused",
                (
                    format!("拒绝签署《{dzh}》：{name}（{szh}）"),
                    format!("Refused to sign the {den}: {name} ({sen})"),
                ),
            ),
            "sealed" => (
                "document.sealed",
                (
                    format!("《{dzh}》加盖仲裁委员会印章"),
                    format!("Commission seal applied: {den}"),
                ),
            ),
            _ => (
                "document.signed",
                (
                    format!("签署《{dzh}》：{name}（{szh}）"),
                    format!("Signed the {den}: {name} ({sen})"),
                ),
            ),
        };
        let link = Some(format!("/api/documents/{doc}"));
        b.audit.used.insert(audit_id);
        b.push(Item {
            at,
            kind,
            title,
            actor: Some(name.clone()),
            link: link.clone(),
            party_link: link,
            case_id: d.1,
            hearing_id: d.2,
            audit: vec![audit_id],
            detail: json!({"document_id": doc, "version": version, "slot": slot, "name": name, "role": role,
                           "method": method, "reason": reason, "ip": ip, "user_agent": ua}),
            audience: Audience::Everyone,
            owner: inv,
            rank: (10, id),
        });
    }
    let requests: Vec<(i64, i64, i64, String, Option<i64>, Option<i64>, String, String, i64)> = rows_in(
        conn,
        "SELECT id, document_id, version_id, slot, invitation_id, user_id, via, sent_by, sent_at FROM sign_requests WHERE document_id IN ({in}) ORDER BY id",
        &doc_ids,
    )
    .await?;
    for (id, doc, version_id, slot, inv, user, via, sent_by, at) in requests {
        let Some(d) = doc_of(doc) else { continue };
        let (dzh, den) = doc_label(&d.3);
        let to = match (inv, user) {
            (Some(i), _) => b.names.display(&format!("invitation:{i}")),
            (None, Some(u)) => b.names.display(&format!("user:{u}")),
            _ => String::new(),
        };
        // Answered when that slot of that version is signed (or refused).
        let answered = signatures
            .iter()
            .find(|s| s.13 == version_id && s.2 == slot)
            .map(|s| (s.11, s.3.clone()));
        let audit = b
            .audit
            .nearest(
                &["document.sign_request"],
                &format!("document:{doc}"),
                at,
                false,
            )
            .map(|r| vec![r.seq])
            .unwrap_or_default();
        let (vzh, ven) = if via == "room" {
            ("庭审中推送", "pushed in the hearing")
        } else {
            ("短信链接", "SMS link")
        };
        let link = Some(format!("/api/documents/{doc}"));
        b.push(Item {
            at,
            kind: "notice.sent",
            title: (
                format!("送达签署通知《{dzh}》（{vzh}）：{to}"),
                format!("Signing request for the {den} ({ven}): {to}"),
            ),
            actor: Some(b.names.display(&sent_by)),
            link: link.clone(),
            party_link: link,
            case_id: d.1,
            hearing_id: d.2,
            audit,
            detail: json!({"purpose": "sign_request", "document_id": doc, "slot": slot, "via": via,
                           "to": to, "confirmed_at": answered.as_ref().map(|a| a.0),
                           "answer": answered.map(|a| a.1)}),
            audience: match inv {
                Some(i) => Audience::Invitee(i),
                None => Audience::Staff,
            },
            owner: inv,
            rank: (6, id),
        });
    }

    // --- recordings (read from disk later) -----------------------------------------------
    let recordings = hearings
        .iter()
        .map(|h| RecordingTarget {
            dir: crate::recording::writer::hearing_dir(Path::new(""), h.1, h.0),
            hearing_id: h.0,
            case_id: case_of_hearing(h),
            case_number: b
                .numbers
                .get(&case_of_hearing(h))
                .cloned()
                .unwrap_or_default(),
            fallback_at: h.2,
            audit: recording_audit.remove(&h.0).unwrap_or_default(),
        })
        .collect();
    Ok(Collected {
        entries: b.entries,
        recordings,
    })
}

// ------------------------------------------------------------------ recordings

/// The state of one recording directory, as the timeline reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingState {
    /// `recording`, `processing` (sealed, playable files being made), `ready`,
    /// `interrupted` (sealed after a crash), `unsealed` (not yet recovered).
    pub status: &'static str,
    pub at: Option<i64>,
    pub complete: Option<bool>,
    pub processing: Option<String>,
    pub segments: usize,
}

/// What is on disk for one hearing (blocking); `None` if nothing was recorded. The same
/// markers as the hearing's recording status (`RECORDING`, `manifest.json`, the export
/// job's `STATE`).
pub fn recording_state(dir: &Path) -> Option<RecordingState> {
    use crate::recording::{jobs, seal, writer};
    if !dir.is_dir() {
        return None;
    }
    let manifest: Option<Value> = std::fs::read(dir.join(seal::MANIFEST))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let open = dir.join(writer::OPEN_MARKER).exists();
    let processing = jobs::state(dir);
    let complete = manifest.as_ref().map(|m| m["complete"] == true);
    let status = match (open, complete) {
        (true, _) => "recording",
        (false, Some(true)) if processing.as_deref() == Some("done") => "ready",
        (false, Some(true)) => "processing",
        (false, Some(false)) => "interrupted",
        (false, None) => "unsealed",
    };
    let chain = writer::read_chain(dir);
    let sealed_at = manifest
        .as_ref()
        .and_then(|m| m["sealed_at_ms"].as_i64())
        .filter(|t| *t > 0);
    let last = chain
        .last()
        .map(|c| (c.last_us / 1000) as i64)
        .filter(|t| *t > 0);
    Some(RecordingState {
        status,
        at: sealed_at.or(last),
        complete,
        processing,
        segments: chain.len(),
    })
}

/// One `recording.status` item per recorded hearing (blocking: reads the disk). `root`
/// is the recordings directory; the targets' `dir` is relative to it.
pub fn recording_entries(root: &Path, targets: Vec<RecordingTarget>) -> Vec<Entry> {
    targets
        .into_iter()
        .filter_map(|t| {
            let s = recording_state(&root.join(&t.dir))?;
            let (zh, en) = recording_label(s.status);
            let h = t.hearing_id;
            let link = if s.status == "ready" {
                format!("/api/hearings/{h}/recording/files")
            } else {
                format!("/api/hearings/{h}/recording")
            };
            Some(Entry {
                item: TimelineItem {
                    at: s.at.unwrap_or(t.fallback_at),
                    kind: "recording.status".into(),
                    title_zh: format!("庭审录像：{zh}"),
                    title_en: format!("Hearing recording: {en}"),
                    actor: None,
                    link: Some(link),
                    case_id: t.case_id,
                    case_number: t.case_number,
                    hearing_id: Some(h),
                    audit: t.audit,
                    detail: json!({"status": s.status, "complete": s.complete,
                                   "processing": s.processing, "segments": s.segments}),
                },
                audience: Audience::Staff,
                owner: None,
                party_link: None,
                rank: (15, h),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: i64, kind: &str, audience: Audience, owner: Option<i64>, rank: i64) -> Entry {
        Entry {
            item: TimelineItem {
                at,
                kind: kind.into(),
                title_zh: kind.into(),
                title_en: kind.into(),
                actor: None,
                link: Some(format!("/staff/{kind}")),
                case_id: 1,
                case_number: "X".into(),
                hearing_id: None,
                audit: vec![rank],
                detail: json!({"ip": "10.0.0.1", "user_agent": "UA", "certificate": "ab", "name": "n"}),
            },
            audience,
            owner,
            party_link: Some(format!("/party/{kind}")),
            rank: (0, rank),
        }
    }

    fn sample() -> Vec<Entry> {
        vec![
            entry(30, "hearing.caucus_opened", Audience::Staff, None, 1),
            entry(10, "case.accepted", Audience::Everyone, None, 2),
            entry(20, "identity.verified", Audience::Everyone, Some(7), 3),
            entry(20, "identity.verified", Audience::Everyone, Some(8), 4),
            entry(25, "exhibit.uploaded", Audience::Invitee(8), Some(8), 5),
            entry(26, "invitation.created", Audience::Invitee(7), Some(7), 6),
        ]
    }

    #[test]
    fn staff_see_everything_in_order_with_audit_when_allowed() {
        let all = visible(&Viewer::Staff { audit: true }, sample());
        let kinds: Vec<(i64, &str)> = all.iter().map(|i| (i.at, i.kind.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (10, "case.accepted"),
                (20, "identity.verified"),
                (20, "identity.verified"),
                (25, "exhibit.uploaded"),
                (26, "invitation.created"),
                (30, "hearing.caucus_opened"),
            ]
        );
        // Equal times: the stable tiebreak (rank) decides.
        assert_eq!(all[1].audit, vec![3]);
        assert_eq!(all[2].audit, vec![4]);
        assert_eq!(all[1].detail["ip"], "10.0.0.1");
        assert_eq!(all[0].link.as_deref(), Some("/staff/case.accepted"));

        let no_audit = visible(&Viewer::Staff { audit: false }, sample());
        assert_eq!(no_audit.len(), 6);
        assert!(no_audit.iter().all(|i| i.audit.is_empty()));
        assert_eq!(no_audit[1].detail["user_agent"], "UA");
    }

    #[test]
    fn a_party_sees_the_main_file_only() {
        let mine = visible(&Viewer::Party { invitation_id: 7 }, sample());
        let kinds: Vec<&str> = mine.iter().map(|i| i.kind.as_str()).collect();
        // No side room, no other party's pending exhibit; their own invitation stays.
        assert_eq!(
            kinds,
            vec![
                "case.accepted",
                "identity.verified",
                "identity.verified",
                "invitation.created"
            ]
        );
        assert!(mine.iter().all(|i| i.audit.is_empty()));
        assert!(
            mine.iter()
                .all(|i| i.link.as_deref().unwrap().starts_with("/party/"))
        );
        // Their own check keeps its details; the other party's loses IP, UA, certificate.
        assert_eq!(mine[1].detail["ip"], "10.0.0.1");
        assert_eq!(mine[1].detail["user_agent"], "UA");
        let other = &mine[2].detail;
        assert!(other.get("ip").is_none() && other.get("user_agent").is_none());
        assert!(other.get("certificate").is_none());
        assert_eq!(other["name"], "n");

        let theirs = visible(&Viewer::Party { invitation_id: 8 }, sample());
        let kinds: Vec<&str> = theirs.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(
            kinds,
            vec![
                "case.accepted",
                "identity.verified",
                "identity.verified",
                "exhibit.uploaded"
            ]
        );
        assert!(theirs[1].detail.get("ip").is_none());
        assert_eq!(theirs[2].detail["ip"], "10.0.0.1");
    }

    #[test]
    fn hearing_events_are_sorted_into_main_and_secondary_file() {
        use Audience::*;
        let a = |k: &str, actor: &str, target: &str| hearing_event_audience(k, actor, target);
        assert_eq!(
            a("hearing.phase", "user:3:arbitrator", "hearing:1"),
            Some((Everyone, None))
        );
        assert_eq!(
            a("hearing.ended", "system", "hearing:1"),
            Some((Everyone, None))
        );
        assert_eq!(
            a("hearing.join", "invitation:5:applicant", "invitation:5"),
            Some((Invitee(5), Some(5)))
        );
        assert_eq!(
            a("hearing.join", "user:3:arbitrator", "user:3"),
            Some((Everyone, None))
        );
        assert_eq!(
            a(
                "hearing.connection_lost",
                "invitation:6:respondent",
                "invitation:6"
            ),
            Some((Invitee(6), Some(6)))
        );
        assert_eq!(
            a("hearing.admit", "user:3:arbitrator", "invitation:6"),
            Some((Invitee(6), Some(6)))
        );
        assert_eq!(
            a(
                "hearing.device_check",
                "invitation:5:applicant",
                "hearing:1"
            ),
            Some((Invitee(5), Some(5)))
        );
        for internal in [
            "hearing.caucus_opened",
            "hearing.caucus_closed",
            "hearing.control_refused",
            "hearing.join_refused",
            "hearing.warn",
            "hearing.mute",
            "recording.sealed",
            "hearing.something_new",
        ] {
            assert_eq!(
                a(internal, "user:3:arbitrator", "invitation:5"),
                Some((Staff, None)),
                "{internal}"
            );
        }
        assert_eq!(
            a(
                "hearing.exhibit_uploaded",
                "invitation:5:applicant",
                "exhibit:1"
            ),
            None
        );
        assert_eq!(
            a("hearing.show_exhibit", "user:3:arbitrator", "exhibit:1"),
            None
        );
    }

    fn row(seq: i64, at: i64, action: &str, target: &str) -> AuditRow {
        AuditRow {
            seq,
            at,
            actor: "user:1:clerk".into(),
            action: action.into(),
            target: target.into(),
            detail: "null".into(),
        }
    }

    #[test]
    fn audit_entries_match_by_action_target_and_nearest_time() {
        let mut ix = AuditIndex::new(vec![
            row(1, 1_000, "case.transition", "case:1"),
            row(2, 50_000, "case.transition", "case:1"),
            row(3, 50_002, "case.transition", "case:2"),
            row(4, 90_000, "hearing.phase", "hearing:1"),
        ]);
        assert_eq!(
            ix.nearest(&["case.transition"], "case:1", 49_990, true)
                .map(|r| r.seq),
            Some(2)
        );
        // Used entries are not taken twice; nothing within the window: none.
        assert_eq!(
            ix.nearest(&["case.transition"], "case:1", 49_990, true)
                .map(|r| r.seq),
            None
        );
        assert_eq!(
            ix.nearest(&["case.transition"], "case:1", 1_001, true)
                .map(|r| r.seq),
            Some(1)
        );
        assert!(
            ix.nearest(&["hearing.phase"], "hearing:2", 90_000, true)
                .is_none()
        );
        // Not consuming: the same entry serves several records (one request, many SMS).
        assert_eq!(
            ix.nearest(&["hearing.phase"], "hearing:1", 90_100, false)
                .map(|r| r.seq),
            Some(4)
        );
        assert_eq!(
            ix.nearest(&["hearing.phase"], "hearing:1", 90_100, false)
                .map(|r| r.seq),
            Some(4)
        );
    }

    #[test]
    fn names_and_seats() {
        let names = Names {
            users: HashMap::from([(3, "林仲裁".to_string())]),
            invitations: HashMap::from([(5, "李小红".to_string())]),
        };
        assert_eq!(names.display("user:3:arbitrator"), "林仲裁");
        assert_eq!(names.display("user:3"), "林仲裁");
        assert_eq!(names.display("invitation:5:applicant"), "李小红");
        assert_eq!(names.display("system"), "系统");
        assert_eq!(names.display("user:x"), "user:x");
        assert_eq!(names.display(""), "");
        assert_eq!(invitation_of("invitation:5:agent"), Some(5));
        assert_eq!(invitation_of("invitation:"), None);
        assert_eq!(invitation_of("user:5"), None);
    }

    #[test]
    fn recording_status_from_the_markers_on_disk() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("1").join("2");
        assert_eq!(recording_state(&dir), None);
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(recording_state(&dir).unwrap().status, "unsealed");
        std::fs::write(dir.join("RECORDING"), "").unwrap();
        assert_eq!(recording_state(&dir).unwrap().status, "recording");
        std::fs::remove_file(dir.join("RECORDING")).unwrap();
        std::fs::write(
            dir.join("manifest.json"),
            r#"{"complete": false, "sealed_at_ms": 1234}"#,
        )
        .unwrap();
        let s = recording_state(&dir).unwrap();
        assert_eq!((s.status, s.at), ("interrupted", Some(1234)));
        std::fs::write(
            dir.join("manifest.json"),
            r#"{"complete": true, "sealed_at_ms": 1234}"#,
        )
        .unwrap();
        assert_eq!(recording_state(&dir).unwrap().status, "processing");
        std::fs::create_dir_all(dir.join("export")).unwrap();
        std::fs::write(dir.join("export").join("STATE"), "done\n").unwrap();
        assert_eq!(recording_state(&dir).unwrap().status, "ready");
        // Not valid JSON: treated as not sealed, no panic.
        std::fs::write(dir.join("manifest.json"), b"\xff{").unwrap();
        assert_eq!(recording_state(&dir).unwrap().status, "unsealed");

        let entries = recording_entries(
            d.path(),
            vec![RecordingTarget {
                dir: PathBuf::from("1").join("2"),
                hearing_id: 2,
                case_id: 1,
                case_number: "X".into(),
                fallback_at: 99,
                audit: vec![5],
            }],
        );
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].item.at, 99);
        assert_eq!(entries[0].audience, Audience::Staff);
        assert_eq!(entries[0].item.detail["status"], "unsealed");
    }
}
