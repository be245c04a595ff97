//! Closing a case, its time limit and its records after closing: the facts the closing
//! rules of [`crate::domain::closing`] look at (effective documents, the claimant side's
//! presence in the case's hearings), the one extension of the time limit, and the purge of
//! a closed case once its retention period has ended.
//!
//! A purge never deletes the case row, its closing or its audit trail (the audit log is
//! append-only and hash-chained; the trail of a purged case is what proves it was kept and
//! then destroyed lawfully). In one audited transaction it erases the personal data held
//! in the case's rows (parties, agents, invitations, claims, document fields, signer
//! names, exhibits' names, identity-check addresses), ends the invitations' sessions and
//! records `case_purges`; after that commits, the case's files (document PDFs, exhibits,
//! the recordings of its own hearings) are removed, unless another case that is not purged
//! still uses the same content-addressed file, and the outcome is audit-logged as a second
//! entry. A main case is purged only after the counterclaims heard with it may be.

use super::cases::CaseRow;
use crate::audit::AuditEntry;
use crate::authz::Principal;
use crate::db::WriteTx;
use crate::domain::case_status::{CaseStatus, ClosingMethod, check_transition};
use crate::domain::closing::{
    self, Award, ClosingFacts, ClosingInput, DocFact, EventFact, Ground, HearingFact, Missing,
    RetentionPolicy, SeatFact,
};
use crate::domain::deadline::{self, Deadline, ExtensionError};
use crate::domain::identity;
use crate::domain::roles::Side;
use crate::error::{AppError, AppResult};
use crate::esign::templates::DocKind;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;
use std::path::PathBuf;

/// What closing needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ClosingContext {
    pub retention: RetentionPolicy,
    pub utc_offset_hours: i32,
}

impl Default for ClosingContext {
    /// The statutory retention floors, China's time zone.
    fn default() -> Self {
        ClosingContext {
            retention: RetentionPolicy::default(),
            utc_offset_hours: 8,
        }
    }
}

impl ClosingContext {
    pub fn from_config(c: &crate::config::Config) -> Self {
        ClosingContext {
            retention: c.records.retention,
            utc_offset_hours: c.utc_offset_hours,
        }
    }
}

/// The award as a closer types it (`award` in the closing request).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwardInput {
    pub number: String,
    /// `YYYY-MM-DD`.
    pub date: String,
}

/// Check the award details; 422 when malformed, or when given for another method.
pub fn validate_award(
    ctx: &ClosingContext,
    method: Option<ClosingMethod>,
    award: Option<&AwardInput>,
    now: i64,
) -> AppResult<Option<Award>> {
    let Some(a) = award else {
        return Ok(None);
    };
    if method != Some(ClosingMethod::Award) {
        return Err(AppError::invalid(
            "invalid_field",
            "只有以裁决结案时才填写裁决书信息 / award details are only for closing by award",
        ));
    }
    let today = crate::time::local(now, ctx.utc_offset_hours).date_naive();
    closing::validate_award(&a.number, &a.date, today)
        .map(Some)
        .map_err(|m| AppError::invalid("invalid_field", m))
}

const PRESENCE_KINDS: &str = "'hearing.join','hearing.rejoin','hearing.admit','hearing.waiting_room','hearing.leave','hearing.connection_lost','hearing.did_not_return','hearing.left_waiting_room','hearing.ended'";

/// Gather what the closing rules look at.
pub async fn facts(conn: &mut AnyConnection, case: &CaseRow) -> AppResult<ClosingFacts> {
    type DocRow = (i64, i64, String, Option<i64>);
    let docs: Vec<DocRow> = sqlx::query_as(
        "SELECT id, case_id, kind, hearing_id FROM documents WHERE status = 'effective' AND (case_id = $1 OR case_id = $2) ORDER BY id",
    )
    .bind(case.id)
    .bind(case.counterclaim_of.unwrap_or(-1))
    .fetch_all(&mut *conn)
    .await?;
    let documents = docs
        .into_iter()
        .filter_map(|(id, case_id, kind, hearing_id)| {
            DocKind::parse(&kind).map(|kind| DocFact {
                id,
                case_id,
                kind,
                hearing_id,
            })
        })
        .collect();
    let mut hearings = Vec::new();
    for hid in super::views::hearing_ids(conn, case).await? {
        hearings.push(hearing_fact(conn, case, hid).await?);
    }
    Ok(ClosingFacts {
        case_id: case.id,
        counterclaim_of: case.counterclaim_of,
        merged_hearing: case.merged_hearing == 1,
        documents,
        hearings,
    })
}

async fn hearing_fact(
    conn: &mut AnyConnection,
    case: &CaseRow,
    hid: i64,
) -> AppResult<HearingFact> {
    let (hearing_case, status): (i64, String) =
        sqlx::query_as("SELECT case_id, status FROM hearings WHERE id = $1")
            .bind(hid)
            .fetch_one(&mut *conn)
            .await?;
    // The claimant of this case, in the hearing's frame: a merged counterclaim's
    // applicant sits on the respondent's side of its claim's hearing.
    let claimant = if hearing_case == case.id {
        Side::Applicant
    } else {
        Side::Respondent
    };
    type InvRow = (i64, i64, String, Option<i64>, Option<String>);
    let invitations: Vec<InvRow> = sqlx::query_as(
        "SELECT i.id, i.case_id, i.role, i.verified_at, COALESCE(p.side, pa.side) \
         FROM invitations i \
         LEFT JOIN parties p ON p.id = i.party_id \
         LEFT JOIN agents a ON a.id = i.agent_id \
         LEFT JOIN parties pa ON pa.id = a.party_id \
         WHERE i.revoked_at IS NULL AND i.role IN ('applicant','respondent','agent') \
         AND (i.hearing_id = $1 OR (i.hearing_id IS NULL AND (i.case_id = $2 OR i.case_id IN (SELECT id FROM cases WHERE counterclaim_of = $2 AND merged_hearing = 1)))) \
         ORDER BY i.id",
    )
    .bind(hid)
    .bind(hearing_case)
    .fetch_all(&mut *conn)
    .await?;
    let claimant_seats = invitations
        .into_iter()
        .filter_map(|(id, inv_case, role, verified_at, side)| {
            let side = side
                .as_deref()
                .and_then(Side::parse)
                .or_else(|| Side::parse(&role))?;
            let side = if inv_case == hearing_case {
                side
            } else {
                side.opposite()
            };
            (side == claimant).then(|| SeatFact {
                seat: format!("invitation:{id}"),
                notice_confirmed: verified_at.is_some(),
            })
        })
        .collect();
    let events: Vec<(i64, i64, String, Option<String>)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, at, kind, target FROM hearing_events WHERE hearing_id = $1 AND kind IN ({PRESENCE_KINDS}) ORDER BY id"
        )))
        .bind(hid)
        .fetch_all(&mut *conn)
        .await?;
    Ok(HearingFact {
        id: hid,
        closed: status == "closed",
        claimant_seats,
        events: events
            .into_iter()
            .map(|(id, at, kind, seat)| EventFact { id, at, kind, seat })
            .collect(),
    })
}

/// One closing method as the console's closing form sees it.
#[derive(Debug, Serialize)]
pub struct MethodCheck {
    pub method: ClosingMethod,
    pub label: &'static str,
    pub allowed: bool,
    pub missing: Vec<Missing>,
    pub grounds: Vec<Ground>,
}

/// Whether `case` may close by `method` now: the status rule and the record rule together.
/// (Award details and a rejection's reason are asked for at closing, so they are not
/// counted as missing here.)
pub fn check_method(case: &CaseRow, facts: &ClosingFacts, method: ClosingMethod) -> MethodCheck {
    let mut missing = Vec::new();
    if let Err(e) = check_transition(case.status(), CaseStatus::Closed, Some(method), None) {
        missing.push(Missing {
            code: "status",
            message: e.to_string(),
        });
    }
    let placeholder = Award {
        number: String::new(),
        date: String::new(),
    };
    let input = ClosingInput {
        reason: Some("-"),
        award: Some(&placeholder),
    };
    let grounds = match closing::check(method, facts, &input) {
        Ok(g) => g
            .into_iter()
            .filter(|g| !matches!(g, Ground::Award { .. } | Ground::Reason { .. }))
            .collect(),
        Err(m) => {
            missing.extend(m);
            Vec::new()
        }
    };
    MethodCheck {
        method,
        label: closing::method_label_zh(method),
        allowed: missing.is_empty(),
        missing,
        grounds,
    }
}

/// Decide the closing and write its record (`case_closings`, `cases.retain_until`);
/// called by [`super::cases::transition_with`] after the status rule passed and before the
/// status changes. Returns the JSON detail for the status change and audit entry.
#[allow(clippy::too_many_arguments)]
pub async fn close(
    tx: &mut WriteTx,
    ctx: &ClosingContext,
    actor: &Principal,
    case: &CaseRow,
    method: ClosingMethod,
    reason: Option<&str>,
    award: Option<&Award>,
    now: i64,
) -> AppResult<serde_json::Value> {
    let facts = facts(tx.conn(), case).await?;
    let grounds = closing::check(method, &facts, &ClosingInput { reason, award }).map_err(|m| {
        AppError::conflict("closing_requirements_unmet", closing::describe(method, &m))
    })?;
    let retain_until = closing::retain_until(now, method, &ctx.retention, ctx.utc_offset_hours);
    let grounds_json = serde_json::to_value(&grounds).unwrap_or_default();
    sqlx::query("INSERT INTO case_closings (case_id, method, award_number, award_date, reason, grounds, retain_until, closed_by, closed_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)")
        .bind(case.id)
        .bind(method.as_str())
        .bind(award.map(|a| a.number.as_str()))
        .bind(award.map(|a| a.date.as_str()))
        .bind(reason)
        .bind(grounds_json.to_string())
        .bind(retain_until)
        .bind(actor.staff().map(|s| s.user_id))
        .bind(now)
        .execute(tx.conn())
        .await?;
    sqlx::query("UPDATE cases SET retain_until = $1 WHERE id = $2")
        .bind(retain_until)
        .bind(case.id)
        .execute(tx.conn())
        .await?;
    Ok(json!({
        "method": method,
        "grounds": grounds_json,
        "award": award,
        "retain_until": retain_until,
        "retention_years": ctx.retention.years(method),
    }))
}

// ------------------------------------------------------------------ the time limit

async fn merged_accepted(conn: &mut AnyConnection, case_id: i64) -> AppResult<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT accepted_at FROM cases WHERE counterclaim_of = $1 AND merged_hearing = 1",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ExtensionRow {
    pub days: i64,
    pub reason: String,
    pub approved_by: String,
    pub recorded_by: i64,
    pub recorded_at: i64,
}

pub async fn extension(conn: &mut AnyConnection, case_id: i64) -> AppResult<Option<ExtensionRow>> {
    Ok(sqlx::query_as(
        "SELECT days, reason, approved_by, recorded_by, recorded_at FROM deadline_extensions WHERE case_id = $1",
    )
    .bind(case_id)
    .fetch_optional(conn)
    .await?)
}

/// The case's deadline as of `now` (a closed case: as of its closing).
pub async fn deadline_of(
    conn: &mut AnyConnection,
    case: &CaseRow,
    now: i64,
) -> AppResult<Deadline> {
    let merged = merged_accepted(conn, case.id).await?;
    let extended = extension(conn, case.id).await?.is_some();
    let at = case.closed_at.unwrap_or(now);
    Ok(deadline::status(
        case.accepted_at,
        &merged,
        extended,
        at,
        deadline::WARNING_DAYS,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRequest {
    /// Why the case needs longer (案情复杂 …).
    pub reason: String,
    /// Who approved it (仲裁委员会主任 or the person so authorised), by name.
    pub approved_by: String,
}

/// Record the approved extension (+15 days), once, while the time limit runs.
pub async fn extend_deadline(
    tx: &mut WriteTx,
    actor: &Principal,
    case: &CaseRow,
    req: &ExtensionRequest,
) -> AppResult<Deadline> {
    let by = actor
        .staff()
        .map(|s| s.user_id)
        .ok_or_else(AppError::forbidden)?;
    let reason = identity::free_text(&req.reason, 500).map_err(super::invalid("invalid_field"))?;
    let approved_by =
        identity::free_text(&req.approved_by, 50).map_err(super::invalid("invalid_field"))?;
    let now = crate::time::now_ms();
    let merged = merged_accepted(tx.conn(), case.id).await?;
    let already = extension(tx.conn(), case.id).await?.is_some();
    deadline::may_extend(
        case.accepted_at,
        &merged,
        already,
        case.status() == CaseStatus::Closed,
        now,
    )
    .map_err(|e| {
        let code = match e {
            ExtensionError::AlreadyExtended => "already_extended",
            ExtensionError::Passed { .. } => "deadline_passed",
            ExtensionError::CaseClosed => "case_closed",
        };
        AppError::conflict(code, e.to_string())
    })?;
    let before = deadline::deadline_at(case.accepted_at, &merged, false);
    let after = deadline::deadline_at(case.accepted_at, &merged, true);
    sqlx::query("INSERT INTO deadline_extensions (case_id, days, reason, approved_by, recorded_by, recorded_at) VALUES ($1,$2,$3,$4,$5,$6)")
        .bind(case.id)
        .bind(deadline::EXTENSION_DAYS)
        .bind(&reason)
        .bind(&approved_by)
        .bind(by)
        .bind(now)
        .execute(tx.conn())
        .await?;
    tx.audit(
        AuditEntry::new(actor, "case.deadline_extension", format!("case:{}", case.id))
            .case(case.id)
            .detail(json!({"days": deadline::EXTENSION_DAYS, "reason": reason, "approved_by": approved_by, "deadline_before": before, "deadline_after": after})),
    )
    .await?;
    Ok(deadline::status(
        case.accepted_at,
        &merged,
        true,
        now,
        deadline::WARNING_DAYS,
    ))
}

// ------------------------------------------------------------------ records

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ClosingRow {
    pub method: String,
    pub award_number: Option<String>,
    pub award_date: Option<String>,
    pub reason: Option<String>,
    pub grounds: String,
    pub retain_until: i64,
    pub closed_by: Option<i64>,
    pub closed_at: i64,
}

pub async fn closing_record(
    conn: &mut AnyConnection,
    case_id: i64,
) -> AppResult<Option<ClosingRow>> {
    Ok(sqlx::query_as("SELECT method, award_number, award_date, reason, grounds, retain_until, closed_by, closed_at FROM case_closings WHERE case_id = $1")
        .bind(case_id)
        .fetch_optional(conn)
        .await?)
}

/// `retain_until` and `purged_at` of a case.
pub async fn retention(
    conn: &mut AnyConnection,
    case_id: i64,
) -> AppResult<(Option<i64>, Option<i64>)> {
    Ok(
        sqlx::query_as("SELECT retain_until, purged_at FROM cases WHERE id = $1")
            .bind(case_id)
            .fetch_optional(conn)
            .await?
            .unwrap_or((None, None)),
    )
}

/// Files to remove once the purge has committed.
#[derive(Debug, Default, Serialize)]
pub struct PurgePlan {
    pub pdfs: Vec<String>,
    pub exhibits: Vec<String>,
    pub recording_dirs: Vec<i64>,
}

const ERASED: &str = "（已清除）";

/// Erase a closed case whose retention has ended (see the module doc). Refuses (409) a
/// case that is not closed, whose retention has not ended, that is already purged, or a
/// claim whose merged counterclaim must still be kept.
pub async fn purge(
    tx: &mut WriteTx,
    ctx: &ClosingContext,
    actor: &Principal,
    case: &CaseRow,
    now: i64,
) -> AppResult<PurgePlan> {
    let by = actor
        .staff()
        .map(|s| s.user_id)
        .ok_or_else(AppError::forbidden)?;
    if case.status() != CaseStatus::Closed {
        return Err(AppError::conflict(
            "retention_not_ended",
            "案件尚未结案，不能删除 / the case is not closed and cannot be deleted",
        ));
    }
    let (retain_until, purged_at) = retention(tx.conn(), case.id).await?;
    if purged_at.is_some() {
        return Err(AppError::conflict(
            "already_purged",
            "案件材料已删除 / the case's records were already deleted",
        ));
    }
    // A case closed before retention was recorded is kept for the longest default period.
    let retain_until = retain_until.unwrap_or_else(|| {
        closing::retain_until(
            case.closed_at.unwrap_or(now),
            ClosingMethod::Award,
            &RetentionPolicy::default(),
            ctx.utc_offset_hours,
        )
    });
    if now < retain_until {
        let date = crate::time::local(retain_until, ctx.utc_offset_hours).format("%Y-%m-%d");
        return Err(AppError::conflict(
            "retention_not_ended",
            format!(
                "保管期限至{date}届满，届满前不得删除 / the records must be kept until {date}; nothing may be deleted before then"
            ),
        ));
    }
    type Counterclaim = (i64, String, String, Option<i64>, Option<i64>);
    let counterclaims: Vec<Counterclaim> = sqlx::query_as(
        "SELECT id, number, status, retain_until, purged_at FROM cases WHERE counterclaim_of = $1 AND merged_hearing = 1",
    )
    .bind(case.id)
    .fetch_all(tx.conn())
    .await?;
    for (_, number, status, until, purged) in &counterclaims {
        let may_go = purged.is_some() || (status == "closed" && until.is_some_and(|u| u <= now));
        if !may_go {
            return Err(AppError::conflict(
                "retention_not_ended",
                format!(
                    "合并审理的反申请案件{number}仍在保管期内，本案庭审材料不能删除 / the counterclaim {number} heard together with this case must still be kept"
                ),
            ));
        }
    }

    // What the files are, before the rows that name them are erased.
    let pdf_rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT v.sha256, v.head_sha256, v.certificate_sha256 FROM document_versions v JOIN documents d ON d.id = v.document_id WHERE d.case_id = $1",
    )
    .bind(case.id)
    .fetch_all(tx.conn())
    .await?;
    let mut pdfs: Vec<String> = pdf_rows
        .into_iter()
        .flat_map(|(a, b, c)| [Some(a), Some(b), c])
        .flatten()
        .collect();
    pdfs.sort();
    pdfs.dedup();
    let mut plan = PurgePlan::default();
    for sha in pdfs {
        // Content-addressed: another case that is kept may hold the very same file.
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM document_versions v JOIN documents d ON d.id = v.document_id JOIN cases c ON c.id = d.case_id \
             WHERE c.id <> $1 AND c.purged_at IS NULL AND (v.sha256 = $2 OR v.head_sha256 = $2 OR v.certificate_sha256 = $2)",
        )
        .bind(case.id)
        .bind(&sha)
        .fetch_one(tx.conn())
        .await?;
        if n == 0 {
            plan.pdfs.push(sha);
        }
    }
    let exhibits: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT sha256 FROM exhibits WHERE case_id = $1")
            .bind(case.id)
            .fetch_all(tx.conn())
            .await?;
    for (sha,) in exhibits {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM exhibits e JOIN cases c ON c.id = e.case_id WHERE c.id <> $1 AND c.purged_at IS NULL AND e.sha256 = $2",
        )
        .bind(case.id)
        .bind(&sha)
        .fetch_one(tx.conn())
        .await?;
        if n == 0 {
            plan.exhibits.push(sha);
        }
    }
    let own_hearings: Vec<(i64,)> = sqlx::query_as("SELECT id FROM hearings WHERE case_id = $1")
        .bind(case.id)
        .fetch_all(tx.conn())
        .await?;
    plan.recording_dirs = own_hearings.into_iter().map(|h| h.0).collect();

    // Erase the personal data in the case's rows.
    // (table, statement, what it binds after the case id: the erased marker, the time.)
    let statements: &[(&str, &'static str, bool, bool)] = &[
        (
            "parties",
            "UPDATE parties SET name = $2, legal_rep = NULL, phone = '', id_number = '' WHERE case_id = $1",
            true,
            false,
        ),
        (
            "agents",
            "UPDATE agents SET name = $2, phone = '', id_number = '', authority_detail = NULL WHERE case_id = $1",
            true,
            false,
        ),
        (
            "invitations",
            "UPDATE invitations SET name = $2, phone = '', id_number = '', revoked_at = COALESCE(revoked_at, $3) WHERE case_id = $1",
            true,
            true,
        ),
        (
            "claims",
            "UPDATE claims SET description = $2 WHERE case_id = $1",
            true,
            false,
        ),
        (
            "document_versions",
            "UPDATE document_versions SET fields = '{}' WHERE document_id IN (SELECT id FROM documents WHERE case_id = $1)",
            false,
            false,
        ),
        (
            "signatures",
            "UPDATE signatures SET name = $2, ip = NULL, user_agent = NULL WHERE document_id IN (SELECT id FROM documents WHERE case_id = $1)",
            true,
            false,
        ),
        (
            "signer_certificates",
            "UPDATE signer_certificates SET name = $2, ip = NULL, user_agent = NULL WHERE case_id = $1",
            true,
            false,
        ),
        (
            "identity_verifications",
            "UPDATE identity_verifications SET ip = NULL, user_agent = NULL WHERE invitation_id IN (SELECT id FROM invitations WHERE case_id = $1)",
            false,
            false,
        ),
        (
            "exhibits",
            "UPDATE exhibits SET name = $2 WHERE case_id = $1",
            true,
            false,
        ),
    ];
    let mut erased = serde_json::Map::new();
    for (table, sql, marker, time) in statements {
        let mut q = sqlx::query(*sql).bind(case.id);
        if *marker {
            q = q.bind(ERASED);
        }
        if *time {
            q = q.bind(now);
        }
        let res = q.execute(tx.conn()).await?;
        erased.insert((*table).into(), json!(res.rows_affected()));
    }
    // Whoever still holds a party session of this case is signed out.
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE revoked_at IS NULL AND invitation_id IN (SELECT id FROM invitations WHERE case_id = $2)")
        .bind(now)
        .bind(case.id)
        .execute(tx.conn())
        .await?;
    let detail = json!({
        "number": case.number,
        "closing_method": case.closing_method,
        "closed_at": case.closed_at,
        "retain_until": retain_until,
        "erased_rows": erased,
        "files": {"pdfs": plan.pdfs, "exhibits": plan.exhibits, "recordings_of_hearings": plan.recording_dirs},
    });
    sqlx::query("INSERT INTO case_purges (case_id, purged_by, purged_at, retain_until, detail) VALUES ($1,$2,$3,$4,$5)")
        .bind(case.id)
        .bind(by)
        .bind(now)
        .bind(retain_until)
        .bind(detail.to_string())
        .execute(tx.conn())
        .await?;
    let res = sqlx::query("UPDATE cases SET purged_at = $1 WHERE id = $2 AND purged_at IS NULL")
        .bind(now)
        .bind(case.id)
        .execute(tx.conn())
        .await?;
    if res.rows_affected() != 1 {
        return Err(AppError::conflict(
            "already_purged",
            "案件材料已删除 / the case's records were already deleted",
        ));
    }
    tx.audit(
        AuditEntry::new(actor, "case.purge", format!("case:{}", case.id))
            .commission(case.commission_id)
            .case(case.id)
            .detail(detail),
    )
    .await?;
    Ok(plan)
}

/// What removing the files did.
#[derive(Debug, Default, Serialize)]
pub struct FileOutcome {
    pub removed: Vec<String>,
    pub failed: Vec<String>,
}

/// Remove the files of a committed purge (a missing file counts as removed).
pub async fn remove_files(
    config: &crate::config::Config,
    case_id: i64,
    plan: &PurgePlan,
) -> FileOutcome {
    let mut out = FileOutcome::default();
    let mut paths: Vec<(PathBuf, bool)> = Vec::new();
    for sha in &plan.pdfs {
        paths.push((
            config.data_dir.join("documents").join(format!("{sha}.pdf")),
            false,
        ));
    }
    for sha in &plan.exhibits {
        paths.push((config.data_dir.join("exhibits").join(sha), false));
    }
    for h in &plan.recording_dirs {
        paths.push((
            crate::recording::writer::hearing_dir(&config.recordings_dir, case_id, *h),
            true,
        ));
    }
    for (path, dir) in paths {
        let res = if dir {
            tokio::fs::remove_dir_all(&path).await
        } else {
            tokio::fs::remove_file(&path).await
        };
        let shown = path.display().to_string();
        match res {
            Ok(()) => out.removed.push(shown),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::error!(error = %e, path = %shown, "removing a purged case's file");
                out.failed.push(shown);
            }
        }
    }
    // The case's recordings folder, if nothing else is left in it.
    let _ = tokio::fs::remove_dir(config.recordings_dir.join(case_id.to_string())).await;
    out
}
