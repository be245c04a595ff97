//! Staff side of invitations: create (returns the link once), list, revoke.

use super::cases::authorize;
use super::extract::{ApiJson, ApiPath, Auth};
use crate::app::App;
use crate::authz::Permission;
use crate::error::AppResult;
use crate::store::invitations::{self, InvitationView, NewInvitation};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

pub async fn create(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewInvitation>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let mut tx = app.db.write().await?;
    let (case, _) = authorize(&mut tx, &who, id, Permission::Invite).await?;
    let created = invitations::create(&mut tx, &app, &who, &case, &body).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "invitation": InvitationView::from(&created.row), "url": created.url, "token": created.token }),
        ),
    ))
}

pub async fn list(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    authorize(&mut tx, &who, id, Permission::Invite).await?;
    let rows = invitations::list(tx.conn(), id).await?;
    tx.audit(crate::audit::AuditEntry::new(&who, "invitation.list", format!("case:{id}")).case(id))
        .await?;
    tx.commit().await?;
    let items: Vec<InvitationView> = rows.iter().map(InvitationView::from).collect();
    Ok(Json(json!({ "items": items })))
}

pub async fn revoke(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(inv_id): ApiPath<i64>,
) -> AppResult<Json<InvitationView>> {
    let mut tx = app.db.write().await?;
    let inv = invitations::get(tx.conn(), inv_id).await?;
    authorize(&mut tx, &who, inv.case_id, Permission::Invite).await?;
    invitations::revoke(&mut tx, &who, &inv).await?;
    let row = invitations::get(tx.conn(), inv_id).await?;
    tx.commit().await?;
    Ok(Json(InvitationView::from(&row)))
}
