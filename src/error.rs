//! One error type for every failure an API call can meet. Each variant of failure maps to
//! exactly one HTTP status and a stable machine-readable code, so clients (the console,
//! the party page, tests) branch on `error.code` and show `error.message` to people.
//! Messages are bilingual ("中文 / English") because parties read Chinese first.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "请先登录或完成身份核验 / sign in or verify your identity first",
        )
    }
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "您无权执行此操作 / you are not allowed to do this",
        )
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("未找到 / not found: {what}"),
        )
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    pub fn gone(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, code, message)
    }
    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
    }
    pub fn internal(context: &str) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("服务器内部错误 / internal error ({context})"),
        )
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for AppError {}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return AppError::conflict("conflict", "记录已存在 / this record already exists");
            }
            // SQLITE_FULL (13) and PostgreSQL's disk_full (53100): the transaction was
            // rolled back whole; say what is wrong instead of a bare internal error.
            if matches!(db.code().as_deref(), Some("13" | "53100"))
                || db.message().contains("database or disk is full")
            {
                tracing::error!(error = %e, "database storage full");
                return AppError::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "storage_full",
                    "服务器存储空间已满，本次操作未保存，请联系管理员 / the server's storage is full; nothing was saved, tell the administrator",
                );
            }
            if db.is_foreign_key_violation() {
                return AppError::invalid(
                    "invalid_reference",
                    "引用的记录不存在 / a referenced record does not exist",
                );
            }
        }
        tracing::error!(error = %e, "database error");
        AppError::internal("database")
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = %e, "internal error");
        AppError::internal("server")
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}
