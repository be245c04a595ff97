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
    pub deadline_at: i64,
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
    Ok(CaseView {
        id: case.id,
        number: case.number.clone(),
        cause: case.cause.clone(),
        procedure: case.procedure_kind.clone(),
        status: case.status.clone(),
        closing_method: case.closing_method.clone(),
        accepted_at: case.accepted_at,
        closed_at: case.closed_at,
        deadline_at: deadline::deadline_at(case.accepted_at, &merged_accepted, false),
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

pub struct ListQuery {
    pub q: Option<String>,
    pub status: Option<String>,
    pub page: i64,
    pub per_page: i64,
}

/// Cases this person may list, newest first.
pub async fn list(
    conn: &mut AnyConnection,
    who: &Principal,
    query: &ListQuery,
) -> AppResult<(Vec<CaseSummary>, i64)> {
    // Scope clause and its one bound id.
    let (scope, scope_id): (&str, i64) = match who {
        Principal::System => ("1 = 1 AND $1 = $1", 0),
        Principal::Party(p) => ("c.id = $1", p.case_id),
        Principal::Staff(s) => match s.role {
            StaffRole::Clerk | StaffRole::Admin => ("c.commission_id = $1", s.commission_id),
            StaffRole::Arbitrator => (
                "(c.arbitrator_id = $1 OR EXISTS (SELECT 1 FROM hearings h WHERE h.presiding_arbitrator_id = $1 AND (h.case_id = c.id OR (c.merged_hearing = 1 AND h.case_id = c.counterclaim_of))))",
                s.user_id,
            ),
            StaffRole::Mediator => (
                "EXISTS (SELECT 1 FROM hearings h WHERE h.mediator_id = $1 AND (h.case_id = c.id OR (c.merged_hearing = 1 AND h.case_id = c.counterclaim_of)))",
                s.user_id,
            ),
        },
    };
    let commission_clause = match who.commission_id() {
        Some(_) => "c.commission_id = $2",
        None => "$2 = $2",
    };
    let pattern = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| {
            format!(
                "%{}%",
                q.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
    let filter = "($3 = '' OR c.number LIKE $3 ESCAPE '\\' OR c.cause LIKE $3 ESCAPE '\\' OR EXISTS (SELECT 1 FROM parties p WHERE p.case_id = c.id AND (p.name LIKE $3 ESCAPE '\\' OR p.phone LIKE $3 ESCAPE '\\'))) AND ($4 = '' OR c.status = $4)";
    let where_sql = format!("{scope} AND {commission_clause} AND {filter}");
    let q = pattern.unwrap_or_default();
    let status = query.status.clone().unwrap_or_default();
    let commission = who.commission_id().unwrap_or(0);
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM cases c WHERE {where_sql}"
    )))
    .bind(scope_id)
    .bind(commission)
    .bind(&q)
    .bind(&status)
    .fetch_one(&mut *conn)
    .await?;
    let rows: Vec<CaseRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM cases c WHERE {where_sql} ORDER BY c.accepted_at DESC, c.id DESC LIMIT $5 OFFSET $6",
        CASE_COLUMNS.split(", ").map(|c| format!("c.{c}")).collect::<Vec<_>>().join(", ")
    )))
    .bind(scope_id)
    .bind(commission)
    .bind(&q)
    .bind(&status)
    .bind(query.per_page)
    .bind((query.page - 1) * query.per_page)
    .fetch_all(&mut *conn)
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for c in rows {
        let parties: Vec<(String, String)> =
            sqlx::query_as("SELECT side, name FROM parties WHERE case_id = $1 ORDER BY id")
                .bind(c.id)
                .fetch_all(&mut *conn)
                .await?;
        let next: Option<(i64,)> = sqlx::query_as("SELECT scheduled_at FROM hearings WHERE (case_id = $1 OR ($2 = 1 AND case_id = $3)) AND status = 'scheduled' ORDER BY scheduled_at LIMIT 1")
            .bind(c.id)
            .bind(c.merged_hearing)
            .bind(c.counterclaim_of.unwrap_or(-1))
            .fetch_optional(&mut *conn)
            .await?;
        items.push(CaseSummary {
            id: c.id,
            number: c.number,
            cause: c.cause,
            status: c.status,
            procedure: c.procedure_kind,
            closing_method: c.closing_method,
            accepted_at: c.accepted_at,
            applicant: parties
                .iter()
                .filter(|p| p.0 == "applicant")
                .map(|p| p.1.clone())
                .collect(),
            respondent: parties
                .iter()
                .filter(|p| p.0 == "respondent")
                .map(|p| p.1.clone())
                .collect(),
            next_hearing_at: next.map(|n| n.0),
            counterclaim_of: c.counterclaim_of,
        });
    }
    Ok((items, total))
}
