//! Staff sign-in and the "who am I" call both pages start with.

use super::extract::{ApiJson, Auth, Https, Meta, session_cookie, session_token};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::auth::{password, session};
use crate::authz::Principal;
use crate::error::{AppError, AppResult};
use crate::store::{commissions, users};
use crate::time::{MINUTE_MS, now_ms};
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
}

const MAX_FAILED_LOGINS: i64 = 5;

fn bad_credentials() -> AppError {
    AppError::new(
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
        "用户名或密码错误 / wrong username or password",
    )
}

pub async fn login(
    State(app): State<App>,
    Extension(Https(https)): Extension<Https>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<Login>,
) -> AppResult<Response> {
    if body.username.len() > 64 || body.password.len() > 256 {
        return Err(bad_credentials());
    }
    let now = now_ms();
    let row: Option<(i64, String, i64, Option<i64>, i64)> =
        sqlx::query_as("SELECT id, password_hash, failed_logins, locked_until, commission_id FROM users WHERE username = $1 AND active = 1").bind(body.username.trim()).fetch_optional(&app.db.pool).await?;
    let Some((uid, hash, failed, locked_until, commission_id)) = row else {
        // Same work as a real check so timing does not reveal which usernames exist.
        let _ = password::verify(
            &body.password,
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000",
        );
        return Err(bad_credentials());
    };
    if locked_until.is_some_and(|u| u > now) {
        return Err(AppError::rate_limited(
            "登录失败次数过多，请15分钟后再试 / too many failed sign-ins; try again in 15 min",
        ));
    }
    let hash_ok = {
        let (pw, h) = (body.password.clone(), hash.clone());
        tokio::task::spawn_blocking(move || password::verify(&pw, &h))
            .await
            .unwrap_or(false)
    };
    let mut tx = app.db.write().await?;
    let actor = format!("user:{uid}");
    if !hash_ok {
        let failed = failed + 1;
        let lock = (failed >= MAX_FAILED_LOGINS).then_some(now + 15 * MINUTE_MS);
        sqlx::query("UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3")
            .bind(if lock.is_some() { 0 } else { failed })
            .bind(lock)
            .bind(uid)
            .execute(tx.conn())
            .await?;
        tx.audit(AuditEntry {
            commission_id: Some(commission_id),
            case_id: None,
            actor: actor.clone(),
            action: "auth.login_failed".into(),
            target: actor,
            detail: json!({"locked": lock.is_some()}),
            ip: meta.ip,
        })
        .await?;
        tx.commit().await?;
        return Err(bad_credentials());
    }
    sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
        .bind(uid)
        .execute(tx.conn())
        .await?;
    let token = session::create(tx.conn(), "staff", Some(uid), None, session::STAFF_TTL_MS).await?;
    tx.audit(AuditEntry {
        commission_id: Some(commission_id),
        case_id: None,
        actor: actor.clone(),
        action: "auth.login".into(),
        target: actor,
        detail: json!({"user_agent": meta.user_agent}),
        ip: meta.ip,
    })
    .await?;
    let user: users::User = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM users WHERE id = $1",
        users::COLUMNS
    )))
    .bind(uid)
    .fetch_one(tx.conn())
    .await?;
    let commission = commissions::get(tx.conn(), commission_id).await?;
    tx.commit().await?;
    let body = Json(json!({ "token": token, "user": user, "commission": commission }));
    Ok((
        [(
            SET_COOKIE,
            session_cookie(&token, session::STAFF_TTL_MS, https),
        )],
        body,
    )
        .into_response())
}

pub async fn logout(
    State(app): State<App>,
    Extension(Https(https)): Extension<Https>,
    Auth(who): Auth,
    headers: HeaderMap,
) -> AppResult<Response> {
    if let Some(t) = session_token(&headers) {
        session::revoke(&app.db, &t).await?;
    }
    let mut tx = app.db.write().await?;
    tx.audit(AuditEntry::new(&who, "auth.logout", who.audit_name()))
        .await?;
    tx.commit().await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(SET_COOKIE, session_cookie("", 0, https))],
    )
        .into_response())
}

pub async fn me(State(app): State<App>, Auth(who): Auth) -> AppResult<Json<serde_json::Value>> {
    let mut conn = app.db.pool.acquire().await?;
    match &who {
        Principal::Staff(s) => {
            let user: users::User = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM users WHERE id = $1",
                users::COLUMNS
            )))
            .bind(s.user_id)
            .fetch_one(&mut *conn)
            .await?;
            let commission = commissions::get(&mut conn, s.commission_id).await?;
            Ok(Json(
                json!({"kind": "staff", "user": user, "commission": commission}),
            ))
        }
        Principal::Party(p) => Ok(Json(
            json!({"kind": "party", "party": {"invitation_id": p.invitation_id, "case_id": p.case_id, "hearing_id": p.hearing_id, "role": p.role, "name": p.name}}),
        )),
        Principal::System => Err(AppError::forbidden()),
    }
}
