//! The commission's own settings (admin only). Today one: whether back-to-back mediation
//! side rooms are recorded. The default is no, because concessions made in mediation may
//! not be used against a party later; a commission that records them must say so.

use super::extract::{ApiJson, Auth};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::{CommissionAction, commission_allows};
use crate::error::{AppError, AppResult};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    record_caucus: bool,
}

pub async fn get_settings(State(app): State<App>, Auth(who): Auth) -> AppResult<Json<Value>> {
    if !commission_allows(&who, CommissionAction::ManageUsers) {
        return Err(AppError::forbidden());
    }
    let id = who.commission_id().ok_or_else(AppError::forbidden)?;
    let (name, record_caucus): (String, i64) =
        sqlx::query_as("SELECT name, record_caucus FROM commissions WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await?;
    Ok(Json(
        json!({ "commission_id": id, "name": name, "record_caucus": record_caucus != 0 }),
    ))
}

pub async fn set_settings(
    State(app): State<App>,
    Auth(who): Auth,
    ApiJson(body): ApiJson<Settings>,
) -> AppResult<Json<Value>> {
    if !commission_allows(&who, CommissionAction::ManageUsers) {
        return Err(AppError::forbidden());
    }
    let id = who.commission_id().ok_or_else(AppError::forbidden)?;
    let mut tx = app.db.write().await?;
    sqlx::query("UPDATE commissions SET record_caucus = $1 WHERE id = $2")
        .bind(i64::from(body.record_caucus))
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        AuditEntry::new(
            &who,
            "commission.settings_changed",
            format!("commission:{id}"),
        )
        .detail(json!({"record_caucus": body.record_caucus})),
    )
    .await?;
    tx.commit().await?;
    // Rooms already open follow the new setting from their next side room on.
    app.rooms.set_record_caucus(id, body.record_caucus);
    Ok(Json(
        json!({ "commission_id": id, "record_caucus": body.record_caucus }),
    ))
}
