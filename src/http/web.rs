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
