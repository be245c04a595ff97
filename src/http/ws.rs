//! `/ws/hearing/<id>`: the hearing room's signaling socket. It authenticates the seat
//! (staff session, or a verified party of this hearing's case), then only moves frames:
//! each client frame is parsed and checked by [`crate::media::signaling`] and handed to
//! the SFU; the SFU's messages go back as JSON. Joining, leaving and losing the
//! connection are audit-logged, because in a hearing leaving and losing the network have
//! different legal consequences.

use super::cases::authorize;
use super::extract::{ApiPath, Auth};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::{Permission, Principal};
use crate::error::{AppError, AppResult};
use crate::media::signaling::{
    self, ClientMessage, MAX_MESSAGE_BYTES, ServerMessage, SessionState,
};
use crate::sfu::participant::Seat;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::json;
use tokio::sync::mpsc;

pub async fn hearing_socket(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(hearing_id): ApiPath<i64>,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    if app.sfu.get().is_none() {
        return Err(AppError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "media_unavailable",
            "媒体服务未启动 / the media server is not running",
        ));
    }
    let mut tx = app.db.write().await?;
    let (case_id, presiding): (i64, i64) =
        sqlx::query_as("SELECT case_id, presiding_arbitrator_id FROM hearings WHERE id = $1")
            .bind(hearing_id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or_else(|| AppError::not_found("hearing"))?;
    let seat = match &who {
        Principal::Party(p) => {
            if p.hearing_id != Some(hearing_id) && p.case_id != case_id {
                return Err(AppError::forbidden());
            }
            Seat {
                key: format!("invitation:{}", p.invitation_id),
                name: p.name.clone(),
                role: p.role.as_str().to_string(),
            }
        }
        Principal::Staff(s) => {
            authorize(&mut tx, &who, case_id, Permission::Read).await?;
            let role = if s.user_id == presiding {
                "presiding_arbitrator".to_string()
            } else {
                s.role.as_str().to_string()
            };
            Seat {
                key: format!("user:{}", s.user_id),
                name: s.display_name.clone(),
                role,
            }
        }
        Principal::System => return Err(AppError::forbidden()),
    };
    tx.audit(
        AuditEntry::new(&who, "hearing.connect", format!("hearing:{hearing_id}")).case(case_id),
    )
    .await?;
    tx.commit().await?;
    Ok(ws
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| session(app, socket, who, hearing_id, case_id, seat)))
}

async fn send(socket: &mut WebSocket, msg: &ServerMessage) -> bool {
    let text = serde_json::to_string(msg).unwrap_or_default();
    socket.send(Message::Text(text.into())).await.is_ok()
}

async fn audit(
    app: &App,
    who: &Principal,
    action: &str,
    hearing: i64,
    case_id: i64,
    detail: serde_json::Value,
) {
    let res = async {
        let mut tx = app.db.write().await?;
        tx.audit(
            AuditEntry::new(who, action, format!("hearing:{hearing}"))
                .case(case_id)
                .detail(detail),
        )
        .await?;
        tx.commit().await
    };
    if let Err(e) = res.await {
        tracing::error!(error = %e, action, "could not audit a hearing event");
    }
}

async fn session(
    app: App,
    mut socket: WebSocket,
    who: Principal,
    hearing: i64,
    case_id: i64,
    seat: Seat,
) {
    let Some(sfu) = app.sfu.get().cloned() else {
        return;
    };
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut state = SessionState::Connected;
    let mut participant: Option<u64> = None;
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => {
                        let e = ServerMessage::Error { code: "bad_message".into(), message: "只接受 JSON 文本消息 / text frames only".into() };
                        if !send(&mut socket, &e).await { break; }
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    // Closed or broken without `leave`: the network, not the person, went away.
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                        if let (Some(id), SessionState::Joined) = (participant, state) {
                            sfu.disconnected(id).await;
                            audit(&app, &who, "hearing.connection_lost", hearing, case_id, json!({"participant": id})).await;
                        }
                        break;
                    }
                };
                let checked = signaling::parse(&text).and_then(|m| signaling::next_state(state, &m).map(|s| (m, s)));
                let (msg, next) = match checked {
                    Ok(v) => v,
                    Err(e) => {
                        if !send(&mut socket, &e.to_message()).await { break; }
                        continue;
                    }
                };
                state = next;
                match msg {
                    ClientMessage::Join { audio_only } => {
                        participant = sfu.join(hearing, seat.clone(), events_tx.clone()).await;
                        if let (Some(id), true) = (participant, audio_only) {
                            sfu.signal(id, ClientMessage::AudioOnly { enabled: true }).await;
                        }
                        audit(&app, &who, "hearing.join", hearing, case_id, json!({"participant": participant, "role": seat.role})).await;
                    }
                    ClientMessage::Leave => {
                        if let Some(id) = participant {
                            sfu.signal(id, ClientMessage::Leave).await;
                        }
                        audit(&app, &who, "hearing.leave", hearing, case_id, json!({"participant": participant})).await;
                        let _ = socket.send(Message::Close(None)).await;
                        break;
                    }
                    other => {
                        if let Some(id) = participant {
                            sfu.signal(id, other).await;
                        }
                    }
                }
            }
            out = events.recv() => {
                let Some(msg) = out else { break };
                let taken_over = matches!(&msg, ServerMessage::Error { code, .. } if code == "seat_taken_over");
                if !send(&mut socket, &msg).await || taken_over {
                    break;
                }
            }
        }
    }
}

/// `GET /api/hearings/<id>/stats`: media counters per participant and track, for staff
/// who may see the hearing's case.
pub async fn hearing_stats(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(hearing_id): ApiPath<i64>,
) -> AppResult<axum::Json<serde_json::Value>> {
    if who.staff().is_none() {
        return Err(AppError::forbidden());
    }
    let mut tx = app.db.write().await?;
    let (case_id,): (i64,) = sqlx::query_as("SELECT case_id FROM hearings WHERE id = $1")
        .bind(hearing_id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| AppError::not_found("hearing"))?;
    authorize(&mut tx, &who, case_id, Permission::Read).await?;
    tx.audit(AuditEntry::new(&who, "hearing.stats", format!("hearing:{hearing_id}")).case(case_id))
        .await?;
    tx.commit().await?;
    let participants = match app.sfu.get() {
        Some(sfu) => sfu.stats(Some(hearing_id)).await,
        None => Vec::new(),
    };
    Ok(axum::Json(
        json!({ "hearing_id": hearing_id, "participants": participants }),
    ))
}

/// `GET /metrics`: Prometheus totals (no names, no case data).
pub async fn metrics(State(app): State<App>) -> Response {
    let all = match app.sfu.get() {
        Some(sfu) => sfu.stats(None).await,
        None => Vec::new(),
    };
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        crate::sfu::stats::prometheus(&all),
    )
        .into_response()
}
