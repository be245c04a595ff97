//! The HTTP surface: one module per resource, one router. Every failure leaves as the
//! JSON error of [`crate::error::AppError`]; bodies are capped at 64 KiB.

pub mod auth;
pub mod bundles;
pub mod cases;
pub mod closing;
pub mod commission;
pub mod dev;
pub mod documents;
pub mod extract;
pub mod health;
pub mod hearing_room;
pub mod invitations;
pub mod party;
pub mod passkeys;
pub mod recordings;
pub mod signing;
pub mod statistics;
pub mod timeline;
pub mod users;
pub mod verify;
pub mod web;
pub mod ws;

use crate::app::App;
use crate::error::AppError;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

pub const BODY_LIMIT: usize = 64 * 1024;
/// Drafting a document: a transcript's text can run to 20 000 characters.
pub const DOCUMENT_BODY_LIMIT: usize = 256 * 1024;

pub fn router(app: App, https: bool) -> Router {
    let mut api = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/me", get(auth::me))
        .route("/api/users", get(users::list).post(users::create))
        .route("/api/staff", get(users::staff_directory))
        .route(
            "/api/commission/settings",
            get(commission::get_settings).post(commission::set_settings),
        )
        .route("/api/cases", get(cases::list).post(cases::create))
        .route("/api/statistics", get(statistics::get))
        .route("/api/statistics.csv", get(statistics::csv))
        .route("/api/cases/{id}", get(cases::get))
        .route("/api/cases/{id}/parties", post(cases::add_party))
        .route(
            "/api/cases/{id}/parties/{party_id}/agents",
            post(cases::add_agent),
        )
        .route("/api/cases/{id}/claims", post(cases::add_claim))
        .route(
            "/api/cases/{id}/counterclaims",
            post(cases::add_counterclaim),
        )
        .route("/api/cases/{id}/procedure", post(cases::change_procedure))
        .route("/api/cases/{id}/transition", post(cases::transition))
        .route("/api/cases/{id}/close", post(closing::close))
        .route("/api/cases/{id}/closing/check", get(closing::check))
        .route(
            "/api/cases/{id}/deadline/extension",
            post(closing::extend_deadline),
        )
        .route("/api/cases/{id}/purge", post(closing::purge))
        .route("/api/cases/{id}/hearings", post(cases::create_hearing))
        .route(
            "/api/cases/{id}/invitations",
            get(invitations::list).post(invitations::create),
        )
        .route("/api/cases/{id}/audit", get(cases::audit_trail))
        .route("/api/cases/{id}/timeline", get(timeline::get))
        .route(
            "/api/cases/{id}/audit/entries",
            get(timeline::audit_entries),
        )
        .route("/api/hearings/{id}", get(cases::get_hearing))
        .route("/api/invitations/{id}/revoke", post(invitations::revoke))
        .route(
            "/api/cases/{id}/documents",
            get(documents::list)
                .post(documents::create)
                .layer(DefaultBodyLimit::max(DOCUMENT_BODY_LIMIT)),
        )
        .route("/api/documents/{id}", get(documents::get))
        .route("/api/documents/{id}/pdf", get(documents::pdf))
        .route(
            "/api/documents/{id}/certificate.pdf",
            get(documents::certificate),
        )
        .route("/api/documents/{id}/pages/{n}", get(documents::page))
        .route(
            "/api/documents/{id}/versions",
            post(documents::new_version).layer(DefaultBodyLimit::max(DOCUMENT_BODY_LIMIT)),
        )
        .route("/api/documents/{id}/send", post(documents::send))
        .route("/api/documents/{id}/seal", post(documents::seal))
        .route("/api/documents/{id}/push", post(documents::push))
        .route(
            "/api/documents/{id}/refusals",
            post(documents::record_refusal),
        )
        .route("/api/documents/{id}/otp", post(signing::otp))
        .route("/api/documents/{id}/otp/verify", post(signing::otp_verify))
        .route(
            "/api/documents/{id}/certificate",
            post(signing::certificate),
        )
        .route(
            "/api/documents/{id}/prepare",
            post(signing::prepare).layer(DefaultBodyLimit::max(signing::PREPARE_BODY_MAX)),
        )
        .route("/api/documents/{id}/sign", post(signing::sign))
        .route("/api/documents/{id}/refuse", post(signing::refuse))
        .route(
            "/api/documents/{id}/passkey/options",
            post(passkeys::options),
        )
        .route("/api/documents/{id}/passkey", post(passkeys::register))
        .route("/api/j/{token}", get(party::open))
        .route("/api/j/{token}/identity", post(party::identity))
        .route("/api/j/{token}/verify", post(party::verify))
        .route("/api/party/hearing", get(party::hearing))
        .route("/api/netcheck/ping", get(hearing_room::ping))
        .route(
            "/api/netcheck/blob",
            get(hearing_room::blob_download)
                .post(hearing_room::blob_upload)
                .layer(DefaultBodyLimit::max(hearing_room::NETCHECK_MAX_BYTES)),
        )
        .route(
            "/api/hearings/{id}/device-check",
            post(hearing_room::device_check),
        )
        .route(
            "/api/hearings/{id}/discipline",
            get(hearing_room::discipline_text).post(hearing_room::discipline_ack),
        )
        .route("/api/hearings/{id}/control", post(hearing_room::control))
        .route("/api/hearings/{id}/events", get(hearing_room::events))
        .route(
            "/api/hearings/{id}/recording",
            get(hearing_room::recording_status),
        )
        .route(
            "/api/hearings/{id}/recording/files",
            get(recordings::list_files),
        )
        .route(
            "/api/hearings/{id}/recording/files/{name}",
            get(recordings::get_file),
        )
        .route(
            "/api/hearings/{id}/recording/chapters",
            get(recordings::list_chapters),
        )
        .route(
            "/api/hearings/{id}/exhibits",
            get(hearing_room::list_exhibits)
                .post(hearing_room::upload_exhibit)
                .layer(DefaultBodyLimit::max(hearing_room::EXHIBIT_MAX_BYTES)),
        )
        .route("/api/exhibits/{id}", get(hearing_room::get_exhibit))
        .route("/api/cases/{id}/bundle", get(bundles::get))
        .route("/api/cases/{id}/bundles", post(bundles::start))
        .route("/api/bundle-jobs/{id}", get(bundles::job))
        .route(
            "/api/verify",
            post(verify::verify).layer(DefaultBodyLimit::disable()),
        )
        .route("/ws/hearing/{id}", get(ws::hearing_socket))
        .route("/api/hearings/{id}/stats", get(ws::hearing_stats))
        .route("/metrics", get(ws::metrics))
        .route("/", get(web::console))
        .route("/j/{token}", get(web::party_page))
        .route("/room/{hearing_id}", get(web::room_page))
        .route("/sign/{document_id}", get(web::sign_page));
    if app.dev {
        api = api.route("/dev/outbox", get(dev::outbox));
    }
    api.fallback(fallback)
        .method_not_allowed_fallback(|| async { AppError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "不支持该请求方法 / method not allowed").into_response() })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::Extension(extract::Https(https)))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        // Invitation links carry their token in the path: never send it on as a referrer.
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        // Pages refuse framing, except the sign page, which the hearing room shows over
        // itself (same origin) when the chair pushes a document (it sets its own headers).
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' wss: ws:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"),
        ))
        .with_state(app)
}

async fn fallback(method: axum::http::Method, uri: axum::http::Uri) -> axum::response::Response {
    if method == axum::http::Method::GET && !uri.path().starts_with("/api/") {
        return web::asset(uri).await;
    }
    AppError::not_found(uri.path()).into_response()
}
