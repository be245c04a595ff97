//! Staff accounts.

use crate::audit::AuditEntry;
use crate::authz::Principal;
use crate::db::WriteTx;
use crate::domain::roles::StaffRole;
use crate::error::{AppError, AppResult};
use crate::time::now_ms;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub commission_id: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: StaffRole,
    pub password: String,
}

pub const COLUMNS: &str = "id, username, display_name, role, commission_id";

pub async fn create(
    tx: &mut WriteTx,
    actor: &Principal,
    commission_id: i64,
    new: &NewUser,
) -> AppResult<User> {
    let username = new.username.trim();
    if username.len() < 3
        || username.len() > 32
        || !username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
    {
        return Err(AppError::invalid(
            "invalid_field",
            "用户名须为3至32个字母、数字或 _ . - / username: 3–32 of a-z 0-9 _ . -",
        ));
    }
    let display_name = crate::domain::identity::display_name(&new.display_name)
        .map_err(super::invalid("invalid_field"))?;
    if new.password.chars().count() < crate::auth::password::MIN_LEN {
        return Err(AppError::invalid(
            "weak_password",
            "密码至少10个字符 / the password needs at least 10 characters",
        ));
    }
    let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(tx.conn())
        .await?;
    if exists.is_some() {
        return Err(AppError::conflict(
            "duplicate_username",
            "用户名已存在 / this username is taken",
        ));
    }
    let hash = crate::auth::password::hash(&new.password)?;
    let (id,): (i64,) = sqlx::query_as("INSERT INTO users (commission_id, username, display_name, role, password_hash, created_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id")
        .bind(commission_id)
        .bind(username)
        .bind(&display_name)
        .bind(new.role.as_str())
        .bind(&hash)
        .bind(now_ms())
        .fetch_one(tx.conn())
        .await?;
    tx.audit(
        AuditEntry::new(actor, "user.create", format!("user:{id}"))
            .commission(commission_id)
            .detail(serde_json::json!({"username": username, "role": new.role})),
    )
    .await?;
    Ok(User {
        id,
        username: username.to_string(),
        display_name,
        role: new.role.as_str().to_string(),
        commission_id,
    })
}

/// An active staff member of this commission with the given role (for tribunal seats).
pub async fn require_role(
    conn: &mut sqlx::AnyConnection,
    commission_id: i64,
    user_id: i64,
    roles: &[StaffRole],
) -> AppResult<User> {
    let u: Option<User> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1 AND commission_id = $2 AND active = 1"
    )))
    .bind(user_id)
    .bind(commission_id)
    .fetch_optional(conn)
    .await?;
    let u = u.ok_or_else(|| {
        AppError::invalid(
            "invalid_reference",
            format!("没有该工作人员 / no such staff member: {user_id}"),
        )
    })?;
    if !roles.iter().any(|r| r.as_str() == u.role) {
        let wanted: Vec<&str> = roles.iter().map(|r| r.label_zh()).collect();
        return Err(AppError::invalid(
            "invalid_field",
            format!(
                "{} 不是{} / user {} has the wrong role",
                u.display_name,
                wanted.join("或"),
                u.id
            ),
        ));
    }
    Ok(u)
}
