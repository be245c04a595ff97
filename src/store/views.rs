//! What a case looks like to the person reading it. Staff who manage the case see personal
//! data whole; everyone else (arbitrators, mediators, parties) sees phones and ID numbers
//! masked, and a party never sees invitations or the audit trail.

use super::cases::{CASE_COLUMNS, CaseRow};
use crate::authz::{CaseAccess, Permission, Principal};
use crate::domain::deadline;
use crate::domain::masking;
use crate::domain::roles::StaffRole;
use crate::error::AppResult;
use serde::Serialize;
use sqlx::AnyConnection;

#[derive(Debug, Serialize, Clone, sqlx::FromRow)]
pub struct StaffRef {
    pub id: i64,
    pub display_name: String,
}

#[derive(Debug, Serialize)]
pub struct CaseRef {
    pub id: i64,
    pub number: String,
    pub merged_hearing: bool,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ClaimView {
    pub id: i64,
    pub position: i64,
    pub description: String,
    pub amount_cents: i64,
}

#[derive(Debug, Serialize)]
pub struct AgentView {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub id_number: String,
    pub authority: String,
    pub authority_detail: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PartyView {
    pub id: i64,
    pub side: String,
    pub kind: String,
    pub name: String,
    pub legal_rep: Option<String>,
    pub phone: String,
    pub id_number: String,
    pub agents: Vec<AgentView>,
}

#[derive(Debug, Serialize)]
pub struct HearingView {
    pub id: i64,
    pub case_id: i64,
    pub case_numbers: Vec<String>,
    pub scheduled_at: i64,
    pub status: String,
    pub presiding_arbitrator: StaffRef,
    pub clerk: StaffRef,
    pub mediator: Option<StaffRef>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ProcedureChangeView {
    pub from: String,
    pub to: String,
    pub reason: String,
    pub at: i64,
    pub by: String,
}

#[derive(Debug, Serialize)]
pub struct CaseView {
    pub id: i64,
    pub number: String,
    pub cause: String,
    pub procedure: String,
    pub status: String,
    pub closing_method: Option<String>,
    pub accepted_at: i64,
    pub closed_at: Option<i64>,
    /// The time limit (with an approved extension and a merged counterclaim's restart).
    pub deadline_at: i64,
    /// `{at, days_left, state: ok|warning|overdue, extended}`; a closed case is judged
    /// at its closing.
    pub deadline: deadline::Deadline,
    pub arbitrator: Option<StaffRef>,
    pub counterclaim_of: Option<CaseRef>,
    pub merged_hearing: bool,
    pub counterclaims: Vec<CaseRef>,
    pub claims: Vec<ClaimView>,
    pub parties: Vec<PartyView>,
    pub hearings: Vec<HearingView>,
    pub procedure_history: Vec<ProcedureChangeView>,
    pub allowed: Vec<Permission>,
}

async fn staff_ref(conn: &mut AnyConnection, id: i64) -> AppResult<StaffRef> {
    Ok(
        sqlx::query_as("SELECT id, display_name FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?
            .unwrap_or(StaffRef {
                id,
                display_name: String::new(),
            }),
    )
}

/// Both numbers of a merged hearing: the claim's and its merged counterclaims'.
pub async fn hearing_case_numbers(
    conn: &mut AnyConnection,
    case_id: i64,
) -> AppResult<Vec<String>> {
    let mut numbers: Vec<String> =
        sqlx::query_as::<_, (String,)>("SELECT number FROM cases WHERE id = $1")
            .bind(case_id)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect();
    let merged: Vec<(String,)> = sqlx::query_as(
        "SELECT number FROM cases WHERE counterclaim_of = $1 AND merged_hearing = 1 ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await?;
    numbers.extend(merged.into_iter().map(|r| r.0));
    Ok(numbers)
}

#[allow(clippy::type_complexity)]
pub async fn hearing(conn: &mut AnyConnection, id: i64) -> AppResult<Option<HearingView>> {
    let row: Option<(i64, i64, i64, String, i64, i64, Option<i64>)> =
        sqlx::query_as("SELECT id, case_id, scheduled_at, status, presiding_arbitrator_id, clerk_id, mediator_id FROM hearings WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
    let Some((id, case_id, scheduled_at, status, presiding, clerk, mediator)) = row else {
        return Ok(None);
    };
    let mediator = match mediator {
        Some(m) => Some(staff_ref(conn, m).await?),
        None => None,
    };
    Ok(Some(HearingView {
        id,
        case_id,
        case_numbers: hearing_case_numbers(conn, case_id).await?,
        scheduled_at,
        status,
        presiding_arbitrator: staff_ref(conn, presiding).await?,
        clerk: staff_ref(conn, clerk).await?,
        mediator,
    }))
}

/// Hearing ids for a case: its own, or (merged counterclaim) its claim's.
pub async fn hearing_ids(conn: &mut AnyConnection, case: &CaseRow) -> AppResult<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT id FROM hearings WHERE case_id = $1 OR ($2 = 1 AND case_id = $3) ORDER BY scheduled_at, id")
        .bind(case.id)
        .bind(case.merged_hearing)
        .bind(case.counterclaim_of.unwrap_or(-1))
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub async fn case(
    conn: &mut AnyConnection,
    who: &Principal,
    case: &CaseRow,
    access: &CaseAccess,
) -> AppResult<CaseView> {
    let mut allowed = match access {
        CaseAccess::Granted(p) => p.clone(),
        _ => Vec::new(),
    };
    // A closed case is read-only for everyone; say so rather than offer forms that fail.
    if case.status() == crate::domain::case_status::CaseStatus::Closed {
        allowed.retain(|p| matches!(p, Permission::Read | Permission::Audit));
    }
    // Whole personal data only for those who manage the case.
    let full = allowed.contains(&Permission::Edit) || matches!(who, Principal::System);
    let id_view = |s: &str| {
        if full {
            s.to_string()
        } else {
            masking::id_number(s)
        }
    };
    let phone_view = |s: &str| {
        if full {
            s.to_string()
        } else {
            masking::phone(s)
        }
    };

    let claims: Vec<ClaimView> = sqlx::query_as("SELECT id, position, description, amount_cents FROM claims WHERE case_id = $1 ORDER BY position").bind(case.id).fetch_all(&mut *conn).await?;
    #[allow(clippy::type_complexity)]
    let party_rows: Vec<(i64, String, String, String, Option<String>, String, String)> =
        sqlx::query_as("SELECT id, side, kind, name, legal_rep, phone, id_number FROM parties WHERE case_id = $1 ORDER BY side, id").bind(case.id).fetch_all(&mut *conn).await?;
    #[allow(clippy::type_complexity)]
    let agent_rows: Vec<(i64, i64, String, String, String, String, Option<String>)> =
        sqlx::query_as("SELECT id, party_id, name, phone, id_number, authority, authority_detail FROM agents WHERE case_id = $1 ORDER BY id").bind(case.id).fetch_all(&mut *conn).await?;
    let parties = party_rows
        .into_iter()
        .map(|(id, side, kind, name, legal_rep, phone, idn)| PartyView {
            id,
            side,
            kind,
            name,
            legal_rep,
            phone: phone_view(&phone),
            id_number: id_view(&idn),
            agents: agent_rows
                .iter()
                .filter(|a| a.1 == id)
                .map(|a| AgentView {
                    id: a.0,
                    name: a.2.clone(),
                    phone: phone_view(&a.3),
                    id_number: id_view(&a.4),
                    authority: a.5.clone(),
                    authority_detail: a.6.clone(),
                })
                .collect(),
        })
        .collect();

    let mut hearings = Vec::new();
    for hid in hearing_ids(conn, case).await? {
        if let Some(h) = hearing(conn, hid).await? {
            hearings.push(h);
        }
    }
    let counterclaims: Vec<(i64, String, i64, i64)> = sqlx::query_as("SELECT id, number, merged_hearing, accepted_at FROM cases WHERE counterclaim_of = $1 ORDER BY id").bind(case.id).fetch_all(&mut *conn).await?;
    let merged_accepted: Vec<i64> = counterclaims
        .iter()
        .filter(|c| c.2 == 1)
        .map(|c| c.3)
        .collect();
    let counterclaim_of = match case.counterclaim_of {
        Some(cid) => {
            let (number,): (String,) = sqlx::query_as("SELECT number FROM cases WHERE id = $1")
                .bind(cid)
                .fetch_one(&mut *conn)
                .await?;
            Some(CaseRef {
                id: cid,
                number,
                merged_hearing: case.merged_hearing == 1,
            })
        }
        None => None,
    };
    let procedure_history: Vec<ProcedureChangeView> = sqlx::query_as(
        "SELECT p.from_kind AS \"from\", p.to_kind AS \"to\", p.reason, p.changed_at AS at, u.display_name AS by FROM procedure_changes p JOIN users u ON u.id = p.changed_by WHERE p.case_id = $1 ORDER BY p.id",
    )
    .bind(case.id)
    .fetch_all(&mut *conn)
    .await?;
    let arbitrator = match case.arbitrator_id {
        Some(a) => Some(staff_ref(conn, a).await?),
        None => None,
    };
    let extended = super::closing::extension(conn, case.id).await?.is_some();
    let deadline = deadline::status(
        case.accepted_at,
        &merged_accepted,
        extended,
        case.closed_at.unwrap_or_else(crate::time::now_ms),
        deadline::WARNING_DAYS,
    );
    Ok(CaseView {
        id: case.id,
        number: case.number.clone(),
        cause: case.cause.clone(),
        procedure: case.procedure_kind.clone(),
        status: case.status.clone(),
        closing_method: case.closing_method.clone(),
        accepted_at: case.accepted_at,
        closed_at: case.closed_at,
        deadline_at: deadline.at,
        deadline,
        arbitrator,
        counterclaim_of,
        merged_hearing: case.merged_hearing == 1,
        counterclaims: counterclaims
            .into_iter()
            .map(|c| CaseRef {
                id: c.0,
                number: c.1,
                merged_hearing: c.2 == 1,
            })
            .collect(),
        claims,
        parties,
        hearings,
        procedure_history,
        allowed,
    })
}

#[derive(Debug, Serialize)]
pub struct CaseSummary {
    pub id: i64,
    pub number: String,
    pub cause: String,
    pub status: String,
    pub procedure: String,
    pub closing_method: Option<String>,
    pub accepted_at: i64,
    pub applicant: Vec<String>,
    pub respondent: Vec<String>,
    pub next_hearing_at: Option<i64>,
    pub counterclaim_of: Option<i64>,
}

/// The case list's filters, already validated by the HTTP layer. Text filters are matched
/// as substrings; `phone` holds digits only (11 digits: the whole number, matched exactly;
/// fewer: any part of it, e.g. the last four); `accepted_from` is inclusive and
/// `accepted_to` exclusive (ms).
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    pub q: Option<String>,
    pub status: Option<String>,
    pub number: Option<String>,
    pub party: Option<String>,
    pub phone: Option<String>,
    pub arbitrator_id: Option<i64>,
    pub accepted_from: Option<i64>,
    pub accepted_to: Option<i64>,
    pub procedure: Option<String>,
    pub closing_method: Option<String>,
    pub page: i64,
    pub per_page: i64,
}

/// A bound value of a dynamically built query.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

/// `WHERE` clauses joined by `AND`, with their values numbered `$1…` in order.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub clauses: Vec<String>,
    pub args: Vec<Arg>,
}

impl Filter {
    /// The placeholder for a new bound value.
    pub fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1 = 1".into()
        } else {
            self.clauses.join(" AND ")
        }
    }
}

/// `%text%` for `LIKE … ESCAPE '\'`, with the wildcards in `text` taken literally.
pub(crate) fn contains_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// Which cases `who` may list: clerks and admins their commission's, arbitrators the cases
/// they are assigned to or preside over, mediators the cases whose hearings they mediate,
/// a party their own case. A merged counterclaim goes with its claim's hearing. (The
/// hearing conditions are uncorrelated `IN` subqueries: each is evaluated once, not per
/// case, which keeps an arbitrator's list fast over 100 000 cases.)
pub(crate) fn list_scope(who: &Principal, f: &mut Filter) {
    if let Some(commission) = who.commission_id() {
        let p = f.arg(Arg::Int(commission));
        f.clauses.push(format!("c.commission_id = {p}"));
    }
    match who {
        Principal::System => {}
        Principal::Party(p) => {
            let a = f.arg(Arg::Int(p.case_id));
            f.clauses.push(format!("c.id = {a}"));
        }
        Principal::Staff(s) => match s.role {
            StaffRole::Clerk | StaffRole::Admin => {}
            StaffRole::Arbitrator => {
                let u = f.arg(Arg::Int(s.user_id));
                f.clauses.push(format!("(c.arbitrator_id = {u} OR c.id IN (SELECT h.case_id FROM hearings h WHERE h.presiding_arbitrator_id = {u}) OR (c.merged_hearing = 1 AND c.counterclaim_of IN (SELECT h.case_id FROM hearings h WHERE h.presiding_arbitrator_id = {u})))"));
            }
            StaffRole::Mediator => {
                let u = f.arg(Arg::Int(s.user_id));
                f.clauses.push(format!("(c.id IN (SELECT h.case_id FROM hearings h WHERE h.mediator_id = {u}) OR (c.merged_hearing = 1 AND c.counterclaim_of IN (SELECT h.case_id FROM hearings h WHERE h.mediator_id = {u})))"));
            }
        },
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The filters of `query` as SQL over `cases c`.
fn list_filters(query: &ListQuery, f: &mut Filter) {
    if let Some(q) = non_empty(&query.q) {
        let p = f.arg(Arg::Text(contains_pattern(q)));
        f.clauses.push(format!("(c.number LIKE {p} ESCAPE '\\' OR c.cause LIKE {p} ESCAPE '\\' OR c.id IN (SELECT p.case_id FROM parties p WHERE p.name LIKE {p} ESCAPE '\\' OR p.phone LIKE {p} ESCAPE '\\'))"));
    }
    if let Some(n) = non_empty(&query.number) {
        let p = f.arg(Arg::Text(contains_pattern(n)));
        f.clauses.push(format!("c.number LIKE {p} ESCAPE '\\'"));
    }
    if let Some(n) = non_empty(&query.party) {
        let p = f.arg(Arg::Text(contains_pattern(n)));
        f.clauses.push(format!(
            "c.id IN (SELECT p.case_id FROM parties p WHERE p.name LIKE {p} ESCAPE '\\')"
        ));
    }
    if let Some(d) = non_empty(&query.phone) {
        // A whole number uses the index; a part of one is a substring match.
        let clause = if d.len() == 11 {
            let p = f.arg(Arg::Text(d.to_string()));
            format!("p.phone = {p}")
        } else {
            let p = f.arg(Arg::Text(contains_pattern(d)));
            format!("p.phone LIKE {p} ESCAPE '\\'")
        };
        f.clauses.push(format!(
            "c.id IN (SELECT p.case_id FROM parties p WHERE {clause})"
        ));
    }
    if let Some(a) = query.arbitrator_id {
        let p = f.arg(Arg::Int(a));
        f.clauses.push(format!("c.arbitrator_id = {p}"));
    }
    if let Some(t) = query.accepted_from {
        let p = f.arg(Arg::Int(t));
        f.clauses.push(format!("c.accepted_at >= {p}"));
    }
    if let Some(t) = query.accepted_to {
        let p = f.arg(Arg::Int(t));
        f.clauses.push(format!("c.accepted_at < {p}"));
    }
    for (column, value) in [
        ("c.status", &query.status),
        ("c.procedure_kind", &query.procedure),
        ("c.closing_method", &query.closing_method),
    ] {
        if let Some(v) = non_empty(value) {
            let p = f.arg(Arg::Text(v.to_string()));
            f.clauses.push(format!("{column} = {p}"));
        }
    }
}

/// Bind `args` in order to a dynamically built query.
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Int(i) => q.bind(*i),
                Arg::Text(s) => q.bind(s.clone()),
            };
        }
        q
    }};
}
pub(crate) use bind_args;

/// Cases this person may list, newest first, with the total matching.
pub async fn list(
    conn: &mut AnyConnection,
    who: &Principal,
    query: &ListQuery,
) -> AppResult<(Vec<CaseSummary>, i64)> {
    let mut f = Filter::default();
    list_scope(who, &mut f);
    list_filters(query, &mut f);
    let where_sql = f.sql();
    let (total,): (i64,) = bind_args!(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM cases c WHERE {where_sql}"
        ))),
        &f.args
    )
    .fetch_one(&mut *conn)
    .await?;
    let per_page = query.per_page.clamp(1, 100);
    let offset = query.page.max(1).saturating_sub(1).saturating_mul(per_page);
    if total == 0 || offset >= total {
        return Ok((Vec::new(), total));
    }
    let limit = f.arg(Arg::Int(per_page));
    let off = f.arg(Arg::Int(offset));
    let rows: Vec<CaseRow> = bind_args!(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM cases c WHERE {where_sql} ORDER BY c.accepted_at DESC, c.id DESC LIMIT {limit} OFFSET {off}",
            CASE_COLUMNS
                .split(", ")
                .map(|c| format!("c.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        &f.args
    )
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok((Vec::new(), total));
    }
    // Parties and next hearings of the page in two queries (ids are integers we read).
    let ids = rows
        .iter()
        .map(|c| c.id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let parties: Vec<(i64, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT case_id, side, name FROM parties WHERE case_id IN ({ids}) ORDER BY id"
    )))
    .fetch_all(&mut *conn)
    .await?;
    // A merged counterclaim's hearing is its claim's.
    let hearing_case = |c: &CaseRow| match c.counterclaim_of {
        Some(claim) if c.merged_hearing == 1 => claim,
        _ => c.id,
    };
    let hearing_ids = rows
        .iter()
        .map(|c| hearing_case(c).to_string())
        .collect::<Vec<_>>()
        .join(",");
    let next: Vec<(i64, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT case_id, MIN(scheduled_at) FROM hearings WHERE case_id IN ({hearing_ids}) AND status = 'scheduled' GROUP BY case_id"
    )))
    .fetch_all(&mut *conn)
    .await?;
    let names = |id: i64, side: &str| -> Vec<String> {
        parties
            .iter()
            .filter(|p| p.0 == id && p.1 == side)
            .map(|p| p.2.clone())
            .collect()
    };
    let items = rows
        .into_iter()
        .map(|c| {
            let hc = hearing_case(&c);
            CaseSummary {
                id: c.id,
                applicant: names(c.id, "applicant"),
                respondent: names(c.id, "respondent"),
                next_hearing_at: next.iter().find(|n| n.0 == hc).and_then(|n| n.1),
                number: c.number,
                cause: c.cause,
                status: c.status,
                procedure: c.procedure_kind,
                closing_method: c.closing_method,
                accepted_at: c.accepted_at,
                counterclaim_of: c.counterclaim_of,
            }
        })
        .collect();
    Ok((items, total))
}
