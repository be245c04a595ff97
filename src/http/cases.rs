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

/// `GET /api/cases` parameters. All arrive as text and are checked here, so a malformed
/// value is a 422 `invalid_field` naming the parameter (an unknown parameter is a 400).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    q: Option<String>,
    status: Option<String>,
    number: Option<String>,
    party: Option<String>,
    phone: Option<String>,
    arbitrator_id: Option<String>,
    accepted_from: Option<String>,
    accepted_to: Option<String>,
    procedure: Option<String>,
    closing_method: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

fn bad_param(name: &str, why: &str) -> AppError {
    AppError::invalid("invalid_field", format!("{name}: {why}"))
}

/// A present, non-blank parameter, trimmed.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Free text: at most `max` characters, no control characters.
fn text_param(name: &str, v: &Option<String>, max: usize) -> AppResult<Option<String>> {
    let Some(s) = given(v) else { return Ok(None) };
    if s.chars().count() > max {
        return Err(bad_param(
            name,
            &format!("检索词过长 / search text too long (≤ {max})"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(bad_param(
            name,
            "含有控制字符 / contains control characters",
        ));
    }
    Ok(Some(s.to_string()))
}

fn int_param(
    name: &str,
    v: &Option<String>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> AppResult<i64> {
    match given(v) {
        None => Ok(default),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                bad_param(
                    name,
                    &format!(
                        "须为 {}–{} 的整数 / must be an integer {}–{}",
                        range.start(),
                        range.end(),
                        range.start(),
                        range.end()
                    ),
                )
            }),
    }
}

fn enum_param(
    name: &str,
    v: &Option<String>,
    ok: impl Fn(&str) -> bool,
) -> AppResult<Option<String>> {
    match given(v) {
        None => Ok(None),
        Some(s) if ok(s) => Ok(Some(s.to_string())),
        Some(s) => Err(bad_param(
            name,
            &format!(
                "未知取值 / unknown value {:?}",
                s.chars().take(40).collect::<String>()
            ),
        )),
    }
}

/// `YYYY-MM-DD` in the commission's time: the start of that day (ms).
fn date_param(name: &str, v: &Option<String>, utc_offset_hours: i32) -> AppResult<Option<i64>> {
    match given(v) {
        None => Ok(None),
        Some(s) => crate::domain::statistics::day_start_ms(s, utc_offset_hours)
            .map(Some)
            .ok_or_else(|| bad_param(name, "日期格式须为 YYYY-MM-DD / expected a date YYYY-MM-DD")),
    }
}

/// Digits of a phone number or a part of one (spaces, dashes and +86 allowed): 4–11 digits.
fn phone_param(v: &Option<String>) -> AppResult<Option<String>> {
    let Some(s) = given(v) else { return Ok(None) };
    let compact: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = compact
        .strip_prefix("+86")
        .or_else(|| compact.strip_prefix("0086"))
        .unwrap_or(&compact);
    if !(4..=11).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_param(
            "phone",
            "须为手机号码或其中 4 位以上数字 / expected a phone number or 4–11 of its digits",
        ));
    }
    Ok(Some(digits.to_string()))
}

pub async fn list(
    State(app): State<App>,
    Auth(who): Auth,
    ApiQuery(p): ApiQuery<ListParams>,
) -> AppResult<Json<Value>> {
    use crate::domain::case_status::{CaseStatus, ClosingMethod};
    use crate::domain::roles::Procedure;
    let page = int_param("page", &p.page, 1, 1..=1_000_000)?;
    let per_page = int_param("per_page", &p.per_page, 20, 1..=100)?;
    let offset = app.config.utc_offset_hours;
    let accepted_from = date_param("accepted_from", &p.accepted_from, offset)?;
    // The last day is included: the bound is the next midnight.
    let accepted_to =
        date_param("accepted_to", &p.accepted_to, offset)?.map(|t| t + crate::time::DAY_MS);
    if let (Some(a), Some(b)) = (accepted_from, accepted_to)
        && a >= b
    {
        return Err(bad_param(
            "accepted_to",
            "结束日期早于开始日期 / the end date is before the start date",
        ));
    }
    let query = ListQuery {
        q: text_param("q", &p.q, 100)?,
        status: enum_param("status", &p.status, |s| CaseStatus::parse(s).is_some())?,
        number: text_param("number", &p.number, 64)?,
        party: text_param("party", &p.party, 100)?,
        phone: phone_param(&p.phone)?,
        arbitrator_id: match given(&p.arbitrator_id) {
            None => None,
            Some(_) => Some(int_param(
                "arbitrator_id",
                &p.arbitrator_id,
                0,
                1..=i64::MAX,
            )?),
        },
        accepted_from,
        accepted_to,
        procedure: enum_param("procedure", &p.procedure, |s| Procedure::parse(s).is_some())?,
        closing_method: enum_param("closing_method", &p.closing_method, |s| {
            ClosingMethod::parse(s).is_some()
        })?,
        page,
        per_page,
    };
    let mut tx = app.db.write().await?;
    let (items, total) = views::list(tx.conn(), &who, &query).await?;
    tx.audit(AuditEntry::new(&who, "case.list", "cases").detail(json!({
        "q": query.q,
        "status": query.status,
        "number": query.number,
        "party": query.party,
        // Only the tail of a searched phone number goes into the log.
        "phone": query.phone.as_deref().map(crate::domain::masking::phone),
        "arbitrator_id": query.arbitrator_id,
        "accepted_from": given(&p.accepted_from),
        "accepted_to": given(&p.accepted_to),
        "procedure": query.procedure,
        "closing_method": query.closing_method,
        "page": page,
        "results": items.len(),
        "total": total,
    })))
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
    // The commission's retention periods apply; an award's number and date come with
    // `POST /api/cases/{id}/close`, so an award through here is refused as incomplete.
    let ctx = crate::store::closing::ClosingContext::from_config(&app.config);
    cases::transition_with(&mut tx, &ctx, &who, &case, &body, None).await?;
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
