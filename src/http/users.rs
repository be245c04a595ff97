//! Staff accounts (admin only) and the staff directory used to seat a tribunal.

use super::extract::{ApiJson, Auth};
use crate::app::App;
use crate::authz::{CommissionAction, commission_allows};
use crate::error::{AppError, AppResult};
use crate::store::users::{self, NewUser, User};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

pub async fn list(State(app): State<App>, Auth(who): Auth) -> AppResult<Json<Value>> {
    if !commission_allows(&who, CommissionAction::ManageUsers) {
        return Err(AppError::forbidden());
    }
    let s = who.staff().ok_or_else(AppError::forbidden)?;
    let items: Vec<User> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM users WHERE commission_id = $1 ORDER BY id",
        users::COLUMNS
    )))
    .bind(s.commission_id)
    .fetch_all(&app.db.pool)
    .await?;
    Ok(Json(json!({ "items": items })))
}

pub async fn create(
    State(app): State<App>,
    Auth(who): Auth,
    ApiJson(body): ApiJson<NewUser>,
) -> AppResult<(StatusCode, Json<User>)> {
    if !commission_allows(&who, CommissionAction::ManageUsers) {
        return Err(AppError::forbidden());
    }
    let commission_id = who.commission_id().ok_or_else(AppError::forbidden)?;
    let mut tx = app.db.write().await?;
    let user = users::create(&mut tx, &who, commission_id, &body).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(user)))
}

pub async fn staff_directory(State(app): State<App>, Auth(who): Auth) -> AppResult<Json<Value>> {
    if !commission_allows(&who, CommissionAction::ListStaff) {
        return Err(AppError::forbidden());
    }
    let s = who.staff().ok_or_else(AppError::forbidden)?;
    let items: Vec<(i64, String, String)> = sqlx::query_as("SELECT id, display_name, role FROM users WHERE commission_id = $1 AND active = 1 AND role <> 'admin' ORDER BY role, id").bind(s.commission_id).fetch_all(&app.db.pool).await?;
    let items: Vec<Value> = items
        .into_iter()
        .map(|(id, name, role)| json!({"id": id, "display_name": name, "role": role}))
        .collect();
    Ok(Json(json!({ "items": items })))
}
