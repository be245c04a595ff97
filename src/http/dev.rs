//! `GET /dev/outbox`: what the `log` notifier "sent". Only routed when the server runs
//! with `--dev`, so a production server never exposes codes over HTTP.

use crate::app::App;
use crate::error::AppResult;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

pub async fn outbox(State(app): State<App>) -> AppResult<Json<Value>> {
    let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "SELECT id, channel, recipient, body, created_at FROM outbox ORDER BY id DESC LIMIT 100",
    )
    .fetch_all(&app.db.pool)
    .await?;
    let items: Vec<Value> = rows.into_iter().map(|(id, channel, recipient, body, created_at)| json!({"id": id, "channel": channel, "recipient": recipient, "body": body, "created_at": created_at})).collect();
    Ok(Json(json!({ "items": items })))
}
