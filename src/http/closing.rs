//! Closing a case and what follows: `POST /api/cases/{id}/close` (the closing with its
//! award details and the configured retention), `GET /api/cases/{id}/closing/check`
//! (which closing methods are possible now and what each still needs, for the closing
//! form), `POST /api/cases/{id}/deadline/extension` (the clerk records the approved
//! 15-day extension) and `POST /api/cases/{id}/purge` (an administrator erases a closed
//! case once its retention period has ended). Every call runs in one audited transaction.

use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::{Permission, Principal};
use crate::domain::case_status::{CaseStatus, ClosingMethod};
use crate::domain::roles::StaffRole;
use crate::error::{AppError, AppResult};
use crate::store::cases::{self, AwardInput, Transition};
use crate::store::closing::{self, ClosingContext, ExtensionRequest};
use crate::store::views::{self, CaseView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    pub closing_method: ClosingMethod,
    #[serde(default)]
    pub reason: Option<String>,
    /// For an award: `{number, date: "YYYY-MM-DD"}`.
    #[serde(default)]
    pub award: Option<AwardInput>,
}

/// Close the case (结案): the status rule, then the closing method's requirements.
pub async fn close(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CloseRequest>,
) -> AppResult<Json<CaseView>> {
    let mut tx = app.db.write().await?;
    let (case, _) = super::cases::authorize(&mut tx, &who, id, Permission::Transition).await?;
    let t = Transition {
        to: CaseStatus::Closed,
        closing_method: Some(body.closing_method),
        reason: body.reason.clone(),
    };
    cases::transition_with(
        &mut tx,
        &ClosingContext::from_config(&app.config),
        &who,
        &case,
        &t,
        body.award.as_ref(),
    )
    .await?;
    let (case, access) = super::cases::authorize(&mut tx, &who, id, Permission::Read).await?;
    let view = views::case(tx.conn(), &who, &case, &access).await?;
    tx.commit().await?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckParams {
    #[serde(default)]
    method: Option<String>,
}

/// What each closing method still needs (staff only), with the deadline, the closing
/// record of a closed case and its retention.
pub async fn check(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<CheckParams>,
) -> AppResult<Json<Value>> {
    if !matches!(who, Principal::Staff(_) | Principal::System) {
        return Err(AppError::forbidden());
    }
    let methods: Vec<ClosingMethod> = match p.method.as_deref().map(str::trim) {
        None | Some("") => ClosingMethod::ALL.to_vec(),
        Some(m) => vec![ClosingMethod::parse(m).ok_or_else(|| {
            AppError::invalid(
                "invalid_field",
                "结案方式应为 mediation、award、withdrawal、deemed_withdrawal 或 rejection / unknown closing method",
            )
        })?],
    };
    let mut tx = app.db.write().await?;
    let (case, _) = super::cases::authorize(&mut tx, &who, id, Permission::Read).await?;
    let facts = closing::facts(tx.conn(), &case).await?;
    let checks: Vec<_> = methods
        .iter()
        .map(|m| closing::check_method(&case, &facts, *m))
        .collect();
    let deadline = closing::deadline_of(tx.conn(), &case, crate::time::now_ms()).await?;
    let extension = closing::extension(tx.conn(), case.id).await?;
    let record = closing::closing_record(tx.conn(), case.id).await?;
    let (retain_until, purged_at) = closing::retention(tx.conn(), case.id).await?;
    let record = record.map(|r| {
        let grounds: Value = serde_json::from_str(&r.grounds).unwrap_or(Value::Null);
        json!({"method": r.method, "award_number": r.award_number, "award_date": r.award_date, "reason": r.reason, "grounds": grounds, "retain_until": r.retain_until, "closed_by": r.closed_by, "closed_at": r.closed_at})
    });
    tx.audit(
        AuditEntry::new(&who, "case.closing_check", format!("case:{id}"))
            .case(id)
            .detail(json!({"methods": methods})),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({
        "case_id": case.id,
        "status": case.status,
        "methods": checks,
        "deadline": deadline,
        "extension": extension,
        "closing": record,
        "retention": {
            "retain_until": retain_until,
            "purged_at": purged_at,
            "policy_years": app.config.records.retention,
        },
    })))
}

/// The clerk records the approved extension of the time limit (+15 days, once).
pub async fn extend_deadline(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ExtensionRequest>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let mut tx = app.db.write().await?;
    // Edit: the clerk who manages the case (arbitrators and admins do not record it).
    let (case, _) = super::cases::authorize(&mut tx, &who, id, Permission::Edit).await?;
    let deadline = closing::extend_deadline(&mut tx, &who, &case, &body).await?;
    let extension = closing::extension(tx.conn(), id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"case_id": id, "deadline": deadline, "extension": extension})),
    ))
}

/// An administrator erases a closed case whose retention period has ended; refused (409
/// `retention_not_ended`) before then. The erasure and, after it, the removal of the
/// files are both audit-logged.
pub async fn purge(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    if !who.is_role(StaffRole::Admin) {
        // Say "not found" to other commissions before "forbidden".
        let mut tx = app.db.write().await?;
        super::cases::authorize(&mut tx, &who, id, Permission::Read).await?;
        return Err(AppError::forbidden());
    }
    let now = crate::time::now_ms();
    let mut tx = app.db.write().await?;
    let (case, _) = super::cases::authorize(&mut tx, &who, id, Permission::Audit).await?;
    let ctx = ClosingContext::from_config(&app.config);
    let plan = closing::purge(&mut tx, &ctx, &who, &case, now).await?;
    tx.commit().await?;
    let files = closing::remove_files(&app.config, id, &plan).await;
    let mut tx = app.db.write().await?;
    tx.audit(
        AuditEntry::new(&who, "case.purge_files", format!("case:{id}"))
            .commission(case.commission_id)
            .case(id)
            .detail(json!({"removed": files.removed.len(), "failed": files.failed})),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({
        "case_id": id,
        "purged_at": now,
        "files": files,
    })))
}
