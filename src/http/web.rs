//! The browser pages, embedded in the binary so one file serves everything.

use crate::error::AppError;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/"]
struct WebAssets;

fn serve(path: &str) -> Response {
    match WebAssets::get(path) {
        Some(file) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            let cache = if path.ends_with(".html") {
                "no-cache"
            } else {
                "public, max-age=300"
            };
            (
                [
                    (header::CONTENT_TYPE, mime.as_ref().to_string()),
                    (header::CACHE_CONTROL, cache.to_string()),
                ],
                file.data.into_owned(),
            )
                .into_response()
        }
        None => AppError::not_found(path).into_response(),
    }
}

pub async fn console() -> Response {
    serve("index.html")
}

pub async fn party_page() -> Response {
    serve("party.html")
}

pub async fn room_page() -> Response {
    serve("room.html")
}

/// The sign page may be framed by this origin only: the hearing room opens it over the
/// hearing when the chair pushes a document to a party's phone.
pub async fn sign_page() -> Response {
    let mut resp = serve("sign.html");
    let h = resp.headers_mut();
    h.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("SAMEORIGIN"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'"),
    );
    resp
}

/// Any other GET: a file under `web/`, or a JSON 404.
pub async fn asset(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path.is_empty() || path.contains("..") || path.starts_with("api/") {
        return AppError::not_found(uri.path()).into_response();
    }
    serve(path)
}

pub async fn not_found(uri: Uri) -> Response {
    (StatusCode::NOT_FOUND, AppError::not_found(uri.path())).into_response()
}
