//! Request extractors that turn every way a request can be malformed into an [`AppError`]
//! with the right status, and find out who is asking.

use crate::app::App;
use crate::auth::session;
use crate::authz::Principal;
use crate::error::AppError;
use crate::store::identity::ClientMeta;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

/// JSON body with our error mapping (malformed → 400, unknown field → 400, not JSON →
/// 415, too large → 413).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "请求须为 JSON (Content-Type: application/json) / the body must be JSON",
            )),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(AppError::bad_request(
                "bad_json",
                format!("JSON 格式错误 / malformed JSON: {}", e.body_text()),
            )),
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::bad_request(
                "bad_request",
                format!("请求字段有误 / invalid request: {}", e.body_text()),
            )),
            Err(JsonRejection::BytesRejection(e)) => {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Err(AppError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        "请求内容过大 / the request body is too large",
                    ))
                } else {
                    Err(AppError::bad_request("bad_request", e.body_text()))
                }
            }
            Err(e) => Err(AppError::bad_request("bad_request", e.body_text())),
        }
    }
}

/// The session token from the `yt_session` cookie or an `Authorization: Bearer` header.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some(t.trim().to_string());
    }
    for header in headers.get_all(COOKIE) {
        let Ok(s) = header.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=')
                && k == session::COOKIE
            {
                return Some(v.to_string());
            }
        }
    }
    None
}

/// Whoever is asking, if they are signed in or verified.
pub struct MaybeAuth(pub Option<Principal>);

impl FromRequestParts<App> for MaybeAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, AppError> {
        match session_token(&parts.headers) {
            Some(t) => Ok(MaybeAuth(session::resolve(&app.db, &t).await?)),
            None => Ok(MaybeAuth(None)),
        }
    }
}

/// A signed-in staff member or verified party; anonymous requests get 401.
pub struct Auth(pub Principal);

impl FromRequestParts<App> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, AppError> {
        MaybeAuth::from_request_parts(parts, app)
            .await?
            .0
            .map(Auth)
            .ok_or_else(AppError::unauthenticated)
    }
}

/// Where the request came from, for identity records and the audit log.
pub struct Meta(pub ClientMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(300).collect());
        Ok(Meta(ClientMeta { ip, user_agent }))
    }
}

/// Marks requests that arrived over HTTPS (session cookies then get `Secure`).
#[derive(Clone, Copy)]
pub struct Https(pub bool);

pub fn session_cookie(token: &str, max_age_ms: i64, https: bool) -> String {
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        session::COOKIE,
        max_age_ms / 1000,
        if https { "; Secure" } else { "" }
    )
}

/// Path parameters with a JSON 400 instead of axum's plain-text rejection.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e| {
                AppError::bad_request(
                    "bad_path",
                    format!("路径参数有误 / invalid path: {}", e.body_text()),
                )
            })
    }
}

/// Query parameters with a JSON 400.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e| {
                AppError::bad_request(
                    "bad_query",
                    format!("查询参数有误 / invalid query: {}", e.body_text()),
                )
            })
    }
}
