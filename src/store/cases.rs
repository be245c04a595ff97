//! Cases: acceptance with a number, counterclaims, procedure conversion and the status
//! lifecycle.

pub use super::closing::{AwardInput, ClosingContext};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::{CaseFacts, Principal};
use crate::db::WriteTx;
use crate::domain::case_status::{CaseStatus, ClosingMethod, check_transition};
use crate::domain::roles::{Procedure, StaffRole};
use crate::domain::{case_number, identity};
use crate::error::{AppError, AppResult};
use crate::time::{local_year, now_ms};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClaim {
    pub description: String,
    pub amount_cents: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub cause: String,
    pub procedure: Procedure,
    #[serde(default)]
    pub arbitrator_id: Option<i64>,
    /// An existing number (importing a case); otherwise the next one of the year.
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub claims: Vec<NewClaim>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCounterclaim {
    #[serde(default)]
    pub cause: Option<String>,
    pub merged_hearing: bool,
    #[serde(default)]
    pub claims: Vec<NewClaim>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub to: CaseStatus,
    #[serde(default)]
    pub closing_method: Option<ClosingMethod>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureChange {
    pub procedure: Procedure,
    pub reason: String,
}

/// The row fields most operations need.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseRow {
    pub id: i64,
    pub commission_id: i64,
    pub number: String,
    pub cause: String,
    pub procedure_kind: String,
    pub status: String,
    pub closing_method: Option<String>,
    pub arbitrator_id: Option<i64>,
    pub counterclaim_of: Option<i64>,
    pub merged_hearing: i64,
    pub accepted_at: i64,
    pub closed_at: Option<i64>,
}

pub const CASE_COLUMNS: &str = "id, commission_id, number, cause, procedure_kind, status, closing_method, arbitrator_id, counterclaim_of, merged_hearing, accepted_at, closed_at";

pub async fn get(conn: &mut sqlx::AnyConnection, id: i64) -> AppResult<CaseRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CASE_COLUMNS} FROM cases WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| AppError::not_found("case"))
}

impl CaseRow {
    pub fn status(&self) -> CaseStatus {
        CaseStatus::parse(&self.status).unwrap_or(CaseStatus::Accepted)
    }
}

/// The facts authorization needs: who is assigned to this case and its merged hearing.
pub async fn facts(conn: &mut sqlx::AnyConnection, case: &CaseRow) -> AppResult<CaseFacts> {
    let rows: Vec<(i64, Option<i64>)> = sqlx::query_as("SELECT presiding_arbitrator_id, mediator_id FROM hearings WHERE case_id = $1 OR ($2 = 1 AND case_id = $3)")
        .bind(case.id)
        .bind(case.merged_hearing)
        .bind(case.counterclaim_of.unwrap_or(-1))
        .fetch_all(conn)
        .await?;
    Ok(CaseFacts {
        case_id: case.id,
        commission_id: case.commission_id,
        arbitrator_id: case.arbitrator_id,
        presiding_ids: rows.iter().map(|r| r.0).collect(),
        mediator_ids: rows.iter().filter_map(|r| r.1).collect(),
    })
}

fn claim_fields(c: &NewClaim) -> AppResult<String> {
    if c.amount_cents < 0 || c.amount_cents > 100_000_000_000 {
        return Err(AppError::invalid(
            "invalid_amount",
            "金额须在0至10亿元之间 / amount must be between 0 and 1e9 yuan",
        ));
    }
    identity::free_text(&c.description, 500).map_err(super::invalid("invalid_field"))
}

pub(crate) async fn insert_claims(
    tx: &mut WriteTx,
    case_id: i64,
    claims: &[NewClaim],
) -> AppResult<()> {
    if claims.len() > 50 {
        return Err(AppError::invalid(
            "invalid_field",
            "仲裁请求最多50项 / at most 50 claims",
        ));
    }
    let (mut pos,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM claims WHERE case_id = $1")
        .bind(case_id)
        .fetch_one(tx.conn())
        .await?;
    for c in claims {
        let description = claim_fields(c)?;
        pos += 1;
        sqlx::query("INSERT INTO claims (case_id, position, description, amount_cents) VALUES ($1,$2,$3,$4)").bind(case_id).bind(pos).bind(&description).bind(c.amount_cents).execute(tx.conn()).await?;
    }
    Ok(())
}

async fn next_number(
    tx: &mut WriteTx,
    commission_id: i64,
    prefix: &str,
    year: i64,
) -> AppResult<String> {
    loop {
        let (seq,): (i64,) = sqlx::query_as(
            "INSERT INTO case_sequences (commission_id, year, last_seq) VALUES ($1, $2, 1) \
             ON CONFLICT (commission_id, year) DO UPDATE SET last_seq = case_sequences.last_seq + 1 RETURNING last_seq",
        )
        .bind(commission_id)
        .bind(year)
        .fetch_one(tx.conn())
        .await?;
        let number = case_number::format(prefix, year, seq);
        // An imported case may already hold this number; take the next one.
        let taken: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM cases WHERE commission_id = $1 AND number = $2")
                .bind(commission_id)
                .bind(&number)
                .fetch_optional(tx.conn())
                .await?;
        if taken.is_none() {
            return Ok(number);
        }
    }
}

pub async fn create(
    tx: &mut WriteTx,
    app: &App,
    actor: &Principal,
    commission_id: i64,
    new: &NewCase,
) -> AppResult<i64> {
    let cause = identity::free_text(&new.cause, 100).map_err(super::invalid("invalid_field"))?;
    if let Some(a) = new.arbitrator_id {
        super::users::require_role(tx.conn(), commission_id, a, &[StaffRole::Arbitrator]).await?;
    }
    let commission = super::commissions::get(tx.conn(), commission_id).await?;
    let now = now_ms();
    let year = local_year(now, app.config.utc_offset_hours);
    let number = match &new.number {
        Some(n) => {
            case_number::validate(n).map_err(super::invalid("invalid_case_number"))?;
            let n = n.trim().to_string();
            let taken: Option<(i64,)> =
                sqlx::query_as("SELECT id FROM cases WHERE commission_id = $1 AND number = $2")
                    .bind(commission_id)
                    .bind(&n)
                    .fetch_optional(tx.conn())
                    .await?;
            if taken.is_some() {
                return Err(AppError::conflict(
                    "duplicate_case_number",
                    format!("案号已存在 / case number already exists: {n}"),
                ));
            }
            n
        }
        None => next_number(tx, commission_id, &commission.case_prefix, year).await?,
    };
    let created_by = actor.staff().map(|s| s.user_id);
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO cases (commission_id, number, year, cause, procedure_kind, status, arbitrator_id, accepted_at, created_by) \
         VALUES ($1,$2,$3,$4,$5,'accepted',$6,$7,$8) RETURNING id",
    )
    .bind(commission_id)
    .bind(&number)
    .bind(year)
    .bind(&cause)
    .bind(new.procedure.as_str())
    .bind(new.arbitrator_id)
    .bind(now)
    .bind(created_by.unwrap_or(0))
    .fetch_one(tx.conn())
    .await?;
    insert_claims(tx, id, &new.claims).await?;
    tx.audit(AuditEntry::new(actor, "case.create", format!("case:{id}")).commission(commission_id).case(id).detail(json!({"number": number, "cause": cause, "procedure": new.procedure, "claims": new.claims.len()}))).await?;
    Ok(id)
}

/// A counterclaim (反诉) is its own case, linked to the claim; its parties are the claim's
/// with sides swapped.
pub async fn create_counterclaim(
    tx: &mut WriteTx,
    app: &App,
    actor: &Principal,
    claim: &CaseRow,
    new: &NewCounterclaim,
) -> AppResult<i64> {
    if claim.counterclaim_of.is_some() {
        return Err(AppError::conflict(
            "conflict",
            "不能对反诉再提起反诉 / a counterclaim cannot have its own counterclaim",
        ));
    }
    if claim.status() == CaseStatus::Closed {
        return Err(AppError::conflict(
            "case_closed",
            "案件已结案 / the case is closed",
        ));
    }
    let procedure = Procedure::parse(&claim.procedure_kind).unwrap_or(Procedure::Ordinary);
    let cause = new.cause.clone().unwrap_or_else(|| claim.cause.clone());
    let case = NewCase {
        cause,
        procedure,
        arbitrator_id: claim.arbitrator_id,
        number: None,
        claims: Vec::new(),
    };
    let id = create(tx, app, actor, claim.commission_id, &case).await?;
    insert_claims(tx, id, &new.claims).await?;
    sqlx::query("UPDATE cases SET counterclaim_of = $1, merged_hearing = $2 WHERE id = $3")
        .bind(claim.id)
        .bind(i64::from(new.merged_hearing))
        .bind(id)
        .execute(tx.conn())
        .await?;
    super::parties::copy_swapped(tx, claim.id, id).await?;
    tx.audit(
        AuditEntry::new(actor, "case.counterclaim", format!("case:{id}"))
            .commission(claim.commission_id)
            .case(claim.id)
            .detail(json!({"counterclaim": id, "merged_hearing": new.merged_hearing})),
    )
    .await?;
    Ok(id)
}

/// A status change with the statutory retention defaults (used where the configuration is
/// not at hand, e.g. scheduling moving a case to 待开庭). Closing through the API goes
/// through [`transition_with`] with the configured retention.
pub async fn transition(
    tx: &mut WriteTx,
    actor: &Principal,
    case: &CaseRow,
    t: &Transition,
) -> AppResult<()> {
    transition_with(tx, &ClosingContext::default(), actor, case, t, None).await
}

/// A status change. Closing (`to == closed`) also has to meet the closing method's
/// requirements on the record ([`crate::domain::closing`]): refused with 409
/// `closing_requirements_unmet` naming what is missing; the grounds it rests on and the
/// retention date are stored with it (`case_closings`, `cases.retain_until`,
/// `status_changes.detail`, the audit entry).
pub async fn transition_with(
    tx: &mut WriteTx,
    ctx: &ClosingContext,
    actor: &Principal,
    case: &CaseRow,
    t: &Transition,
    award: Option<&AwardInput>,
) -> AppResult<()> {
    let from = case.status();
    let reason = match &t.reason {
        Some(r) if !r.trim().is_empty() => {
            Some(identity::free_text(r, 500).map_err(super::invalid("invalid_field"))?)
        }
        _ => None,
    };
    check_transition(from, t.to, t.closing_method, reason.as_deref())
        .map_err(|e| AppError::conflict("illegal_transition", e.to_string()))?;
    let now = now_ms();
    let award = super::closing::validate_award(ctx, t.closing_method, award, now)?;
    let closing = match (t.to, t.closing_method) {
        (CaseStatus::Closed, Some(method)) => Some(
            super::closing::close(
                tx,
                ctx,
                actor,
                case,
                method,
                reason.as_deref(),
                award.as_ref(),
                now,
            )
            .await?,
        ),
        _ => None,
    };
    let closed_at = (t.to == CaseStatus::Closed).then_some(now);
    // Compare-and-set on the old status: a concurrent change makes this one fail cleanly.
    let res = sqlx::query("UPDATE cases SET status = $1, closing_method = $2, closed_at = $3 WHERE id = $4 AND status = $5")
        .bind(t.to.as_str())
        .bind(t.closing_method.map(|m| m.as_str()))
        .bind(closed_at)
        .bind(case.id)
        .bind(from.as_str())
        .execute(tx.conn())
        .await?;
    if res.rows_affected() != 1 {
        return Err(AppError::conflict(
            "illegal_transition",
            "案件状态已被他人更改，请刷新 / the case changed meanwhile; reload",
        ));
    }
    sqlx::query("INSERT INTO status_changes (case_id, from_status, to_status, reason, changed_by, changed_at, detail) VALUES ($1,$2,$3,$4,$5,$6,$7)")
        .bind(case.id)
        .bind(from.as_str())
        .bind(t.to.as_str())
        .bind(reason.as_deref())
        .bind(actor.staff().map(|s| s.user_id))
        .bind(now)
        .bind(closing.as_ref().map(|c| c.to_string()))
        .execute(tx.conn())
        .await?;
    tx.audit(AuditEntry::new(actor, "case.transition", format!("case:{}", case.id)).case(case.id).detail(json!({"from": from, "to": t.to, "closing_method": t.closing_method, "reason": reason, "closing": closing}))).await?;
    Ok(())
}

pub async fn change_procedure(
    tx: &mut WriteTx,
    actor: &Principal,
    case: &CaseRow,
    c: &ProcedureChange,
) -> AppResult<()> {
    if case.status() == CaseStatus::Closed {
        return Err(AppError::conflict(
            "case_closed",
            "案件已结案 / the case is closed",
        ));
    }
    let reason = identity::free_text(&c.reason, 500).map_err(super::invalid("invalid_field"))?;
    if case.procedure_kind == c.procedure.as_str() {
        return Err(AppError::conflict(
            "conflict",
            "程序未改变 / the case already uses this procedure",
        ));
    }
    let by = actor
        .staff()
        .map(|s| s.user_id)
        .ok_or_else(AppError::forbidden)?;
    sqlx::query("UPDATE cases SET procedure_kind = $1 WHERE id = $2")
        .bind(c.procedure.as_str())
        .bind(case.id)
        .execute(tx.conn())
        .await?;
    sqlx::query("INSERT INTO procedure_changes (case_id, from_kind, to_kind, reason, changed_by, changed_at) VALUES ($1,$2,$3,$4,$5,$6)")
        .bind(case.id)
        .bind(&case.procedure_kind)
        .bind(c.procedure.as_str())
        .bind(&reason)
        .bind(by)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
    tx.audit(
        AuditEntry::new(actor, "case.procedure", format!("case:{}", case.id))
            .case(case.id)
            .detail(json!({"from": case.procedure_kind, "to": c.procedure, "reason": reason})),
    )
    .await?;
    Ok(())
}
