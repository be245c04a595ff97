//! `GET /healthz`: for load balancers and for a newcomer checking the server is up.

use crate::app::App;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

pub async fn healthz(State(app): State<App>) -> (StatusCode, Json<Value>) {
    let ok = app.db.ping().await;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(
            json!({ "status": if ok { "ok" } else { "degraded" }, "version": env!("CARGO_PKG_VERSION"), "database": { "backend": app.db.backend.name(), "ok": ok } }),
        ),
    )
}
