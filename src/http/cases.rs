//! `/api/cases`: the case file as the console edits it. Every handler loads the case,
//! asks [`crate::authz`] what this person may do with it, and does the work in one
//! audited transaction; reading a case is itself recorded.

use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::app::App;
use crate::audit::{AuditEntry, StoredEntry};
use crate::authz::{
    CaseAccess, CommissionAction, Permission, Principal, case_access, commission_allows,
};
use crate::db::WriteTx;
use crate::error::{AppError, AppResult};
use crate::store::cases::{
    self, CaseRow, NewCase, NewClaim, NewCounterclaim, ProcedureChange, Transition,
};
use crate::store::hearings::{self, NewHearing};
use crate::store::parties::{self, NewAgent, NewParty};
use crate::store::views::{self, CaseView, ListQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

/// Load a case and check that `who` holds `need` on it: 404 for other commissions (and
/// missing cases), 403 for the rest.
pub async fn authorize(
    tx: &mut WriteTx,
    who: &Principal,
    case_id: i64,
    need: Permission,
) -> AppResult<(CaseRow, CaseAccess)> {
    let case = cases::get(tx.conn(), case_id).await?;
    let facts = cases::facts(tx.conn(), &case).await?;
    let access = case_access(who, &facts);
    match &access {
        CaseAccess::Hidden => Err(AppError::not_found("case")),
        a if a.allows(need) => Ok((case, access)),
        _ => {
            tracing::warn!(actor = %who.audit_name(), case = case_id, need = ?need, "case access denied");
            Err(AppError::forbidden())
        }
    }
}

async fn view_after(mut tx: WriteTx, who: &Principal, case_id: i64) -> AppResult<Json<CaseView>> {
    let (case, access) = authorize(&mut tx, who, case_id, Permission::Read).await?;
    let view = views::case(tx.conn(), who, &case, &access).await?;
    tx.commit().await?;
    Ok(Json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    q: Option<String>,
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

pub async fn list(
    State(app): State<App>,
    Auth(who): Auth,
    ApiQuery(p): ApiQuery<ListParams>,
) -> AppResult<Json<Value>> {
    let page = p.page.unwrap_or(1);
    let per_page = p.per_page.unwrap_or(20);
    if page < 1 || !(1..=100).contains(&per_page) {
        return Err(AppError::invalid(
            "invalid_field",
            "page ≥ 1, per_page 1–100",
        ));
    }
    if let Some(s) = &p.status
        && !s.is_empty()
        && crate::domain::case_status::CaseStatus::parse(s).is_none()
    {
        return Err(AppError::invalid(
            "invalid_field",
            format!("未知状态 / unknown status {s:?}"),
        ));
    }
    if p.q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(AppError::invalid(
            "invalid_field",
            "检索词过长 / search text too long",
        ));
    }
    let mut tx = app.db.write().await?;
    let (items, total) = views::list(
        tx.conn(),
        &who,
        &ListQuery {
            q: p.q.clone(),
            status: p.status.clone(),
            page,
            per_page,
        },
    )
    .await?;
    tx.audit(
        AuditEntry::new(&who, "case.list", "cases")
            .detail(json!({"q": p.q, "status": p.status, "page": page, "results": items.len()})),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(
        json!({ "items": items, "total": total, "page": page, "per_page": per_page }),
    ))
}

pub async fn create(
    State(app): State<App>,
    Auth(who): Auth,
    ApiJson(body): ApiJson<NewCase>,
) -> AppResult<(StatusCode, Json<CaseView>)> {
    if !commission_allows(&who, CommissionAction::CreateCase) {
        return Err(AppError::forbidden());
    }
    let commission_id = who.commission_id().ok_or_else(AppError::forbidden)?;
    let mut tx = app.db.write().await?;
    let id = cases::create(&mut tx, &app, &who, commission_id, &body).await?;
    Ok((StatusCode::CREATED, view_after(tx, &who, id).await?))
}

pub async fn get(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<CaseView>> {
    let mut tx = app.db.write().await?;
    let (case, access) = authorize(&mut tx, &who, id, Permission::Read).await?;
    let view = views::case(tx.conn(), &who, &case, &access).await?;
    tx.audit(AuditEntry::new(&who, "case.read", format!("case:{id}")).case(id))
        .await?;
    tx.commit().await?;
    Ok(Json(view))
}

pub async fn add_party(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewParty>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let mut tx = app.db.write().await?;
    let (case, _) = authorize(&mut tx, &who, id, Permission::Edit).await?;
    let pid = parties::add_party(&mut tx, &who, &case, &body).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": pid, "case_id": id}))))
}

pub async fn add_agent(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath((id, party_id)): ApiPath<(i64, i64)>,
    ApiJson(body): ApiJson<NewAgent>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let mut tx = app.db.write().await?;
    let (case, _) = authorize(&mut tx, &who, id, Permission::Edit).await?;
    let aid = parties::add_agent(&mut tx, &who, &case, party_id, &body).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": aid, "party_id": party_id, "case_id": id})),
    ))
}

pub async fn add_claim(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewClaim>,
) -> AppResult<(StatusCode, Json<CaseView>)> {
    let mut tx = app.db.write().await?;
    let (case, _) = authorize(&mut tx, &who, id, Permission::Edit).await?;
    parties::add_claim(&mut tx, &who, &case, &body).await?;
    Ok((StatusCode::CREATED, view_after(tx, &who, id).await?))
}

pub async fn add_counterclaim(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewCounterclaim>,
) -> AppResult<(StatusCode, Json<CaseView>)> {
    let mut tx = app.db.write().await?;
    let (case, _) = authorize(&mut tx, &who, id, Permission::Edit).await?;
    let cid = cases::create_counterclaim(&mut tx, &app, &who, &case, &body).await?;
    Ok((StatusCode::CREATED, view_after(tx, &who, cid).await?))
}

pub async fn change_procedure(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ProcedureChange>,
) -> AppResult<Json<CaseView>> {
    let mut tx = app.db.write().await?;
    let (case, _) = authorize(&mut tx, &who, id, Permission::Transition).await?;
    cases::change_procedure(&mut tx, &who, &case, &body).await?;
    view_after(tx, &who, id).await
}

pub async fn transition(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Transition>,
) -> AppResult<Json<CaseView>> {
    let mut tx = app.db.write().await?;
    let (case, _) = authorize(&mut tx, &who, id, Permission::Transition).await?;
    cases::transition(&mut tx, &who, &case, &body).await?;
    view_after(tx, &who, id).await
}

pub async fn create_hearing(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewHearing>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let mut tx = app.db.write().await?;
    let (case, _) = authorize(&mut tx, &who, id, Permission::Edit).await?;
    let hid = hearings::create(&mut tx, &who, &case, &body).await?;
    let view = views::hearing(tx.conn(), hid).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!(view))))
}

pub async fn get_hearing(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(hid): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    let (case_id,): (i64,) = sqlx::query_as("SELECT case_id FROM hearings WHERE id = $1")
        .bind(hid)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| AppError::not_found("hearing"))?;
    // A party of a merged counterclaim is also heard here.
    let party_ok = matches!(&who, Principal::Party(p) if p.hearing_id == Some(hid));
    if !party_ok {
        authorize(&mut tx, &who, case_id, Permission::Read).await?;
    }
    let view = views::hearing(tx.conn(), hid).await?;
    tx.audit(AuditEntry::new(&who, "hearing.read", format!("hearing:{hid}")).case(case_id))
        .await?;
    tx.commit().await?;
    Ok(Json(json!(view)))
}

pub async fn audit_trail(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    authorize(&mut tx, &who, id, Permission::Audit).await?;
    let items: Vec<StoredEntry> = sqlx::query_as("SELECT seq, at, commission_id, case_id, actor, action, target, detail, ip, prev_hash, hash FROM audit_log WHERE case_id = $1 ORDER BY seq").bind(id).fetch_all(tx.conn()).await?;
    // Each entry's own hash is checked here; the links between a case's entries are not
    // consecutive, so the whole chain is verified by `yunting audit verify`.
    let chain_ok = items.iter().all(|e| e.recomputed_hash() == e.hash);
    tx.audit(AuditEntry::new(&who, "audit.read", format!("case:{id}")).case(id))
        .await?;
    tx.commit().await?;
    Ok(Json(json!({ "items": items, "chain_ok": chain_ok })))
}
