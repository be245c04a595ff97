//! The party's side: open a link, prove identity, reach the waiting page. Nothing here
//! needs an account; the link's signed token scopes everything to one case and role.

use super::extract::{ApiJson, ApiPath, Auth, Https, Meta, session_cookie};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::auth::session;
use crate::authz::Principal;
use crate::domain::masking;
use crate::error::{AppError, AppResult};
use crate::store::{commissions, identity, invitations, views};
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

async fn commission_of(app: &App, case_id: i64) -> AppResult<commissions::Commission> {
    let mut conn = app.db.pool.acquire().await?;
    let (cid,): (i64,) = sqlx::query_as("SELECT commission_id FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut *conn)
        .await?;
    commissions::get(&mut conn, cid).await
}

/// What the holder of a link may see before proving who they are: enough to recognise
/// their case, nothing more (name and phone masked).
pub async fn open(
    State(app): State<App>,
    Meta(meta): Meta,
    ApiPath(token): ApiPath<String>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    let inv = invitations::resolve_token(tx.conn(), &app, &token).await?;
    let commission = commission_of(&app, inv.case_id).await?;
    let (case_id, hearing) = (inv.case_id, inv.hearing_id);
    let numbers = match hearing {
        Some(h) => match views::hearing(tx.conn(), h).await? {
            Some(v) => v.case_numbers,
            None => views::hearing_case_numbers(tx.conn(), case_id).await?,
        },
        None => views::hearing_case_numbers(tx.conn(), case_id).await?,
    };
    let hearing_view = match hearing {
        Some(h) => views::hearing(tx.conn(), h)
            .await?
            .map(|v| json!({"id": v.id, "scheduled_at": v.scheduled_at})),
        None => None,
    };
    tx.audit(AuditEntry {
        commission_id: Some(commission.id),
        case_id: Some(case_id),
        actor: format!("invitation:{}:{}", inv.id, inv.role),
        action: "invitation.open".into(),
        target: format!("invitation:{}", inv.id),
        detail: json!({"user_agent": meta.user_agent}),
        ip: meta.ip,
    })
    .await?;
    tx.commit().await?;
    Ok(Json(json!({
        "commission": commission.name,
        "case_numbers": numbers,
        "role": inv.role,
        "name_hint": masking::name(&inv.name),
        "phone": masking::phone(&inv.phone),
        "hearing": hearing_view,
        "verified": inv.verified_at.is_some(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityBody {
    name: String,
    id_last6: String,
}

pub async fn identity(
    State(app): State<App>,
    Meta(meta): Meta,
    ApiPath(token): ApiPath<String>,
    ApiJson(body): ApiJson<IdentityBody>,
) -> AppResult<Json<Value>> {
    if body.name.chars().count() > 100 || body.id_last6.chars().count() > 12 {
        return Err(AppError::invalid(
            "invalid_field",
            "输入过长 / input too long",
        ));
    }
    let inv = {
        let mut conn = app.db.pool.acquire().await?;
        invitations::resolve_token(&mut conn, &app, &token).await?
    };
    let commission = commission_of(&app, inv.case_id).await?;
    let sent = identity::request_code(&app, &inv, commission.id, &body.name, &body.id_last6, &meta)
        .await?;
    Ok(Json(
        json!({ "sent": true, "phone": sent.phone_masked, "expires_in": identity::CODE_TTL_MS / 1000, "resend_after": identity::RESEND_AFTER_MS / 1000 }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    code: String,
}

pub async fn verify(
    State(app): State<App>,
    Extension(Https(https)): Extension<Https>,
    Meta(meta): Meta,
    ApiPath(token): ApiPath<String>,
    ApiJson(body): ApiJson<VerifyBody>,
) -> AppResult<Response> {
    if body.code.len() > 16 {
        return Err(AppError::invalid(
            "invalid_field",
            "验证码为6位数字 / the code has 6 digits",
        ));
    }
    let inv = {
        let mut conn = app.db.pool.acquire().await?;
        invitations::resolve_token(&mut conn, &app, &token).await?
    };
    let commission = commission_of(&app, inv.case_id).await?;
    let session_token = identity::verify_code(&app, &inv, commission.id, &body.code, &meta).await?;
    let body = Json(
        json!({ "verified": true, "case_id": inv.case_id, "hearing_id": inv.hearing_id, "token": session_token }),
    );
    Ok((
        [(
            SET_COOKIE,
            session_cookie(&session_token, session::PARTY_TTL_MS, https),
        )],
        body,
    )
        .into_response())
}

/// The waiting page's data (the hearing room itself comes with the media work).
pub async fn hearing(State(app): State<App>, Auth(who): Auth) -> AppResult<Json<Value>> {
    let Principal::Party(p) = &who else {
        return Err(AppError::forbidden());
    };
    let mut tx = app.db.write().await?;
    let hearing_id = match p.hearing_id {
        Some(h) => Some(h),
        None => {
            // No hearing named on the invitation: the case's next scheduled one.
            let case = crate::store::cases::get(tx.conn(), p.case_id).await?;
            views::hearing_ids(tx.conn(), &case).await?.last().copied()
        }
    };
    let hearing = match hearing_id {
        Some(h) => views::hearing(tx.conn(), h).await?,
        None => None,
    };
    let numbers = match &hearing {
        Some(h) => h.case_numbers.clone(),
        None => views::hearing_case_numbers(tx.conn(), p.case_id).await?,
    };
    // Where the party is in the steps before entering (device check, discipline), so a
    // reloaded page resumes at the right one.
    let mut checks = json!({"device_check": null, "discipline_ack_at": null, "removed": null});
    if let Some(h) = hearing_id {
        let row: Option<(Option<String>, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT device_verdict, device_checked_at, discipline_ack_at FROM hearing_party_checks WHERE hearing_id = $1 AND invitation_id = $2",
        )
        .bind(h)
        .bind(p.invitation_id)
        .fetch_optional(tx.conn())
        .await?;
        if let Some((verdict, checked_at, ack)) = row {
            if let (Some(v), Some(at)) = (verdict, checked_at) {
                checks["device_check"] = json!({"verdict": v, "checked_at": at});
            }
            checks["discipline_ack_at"] = json!(ack);
        }
        let removed: Option<(String,)> = sqlx::query_as(
            "SELECT reason FROM hearing_removals WHERE hearing_id = $1 AND seat = $2",
        )
        .bind(h)
        .bind(format!("invitation:{}", p.invitation_id))
        .fetch_optional(tx.conn())
        .await?;
        checks["removed"] = json!(removed.map(|(r,)| r));
    }
    tx.audit(
        AuditEntry::new(
            &who,
            "hearing.waiting_room",
            format!("hearing:{}", hearing_id.unwrap_or(0)),
        )
        .case(p.case_id),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(
        json!({ "me": {"name": p.name, "role": p.role}, "case_id": p.case_id, "case_numbers": numbers, "hearing": hearing, "state": "waiting",
                "device_check": checks["device_check"], "discipline_ack_at": checks["discipline_ack_at"], "removed": checks["removed"] }),
    ))
}
