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
use crate::hearing::registry::{self, ConnTx, Outbound};
use crate::hearing::room::{Actor, Effect, RoomError, SeatInfo};
use crate::media::signaling::{
    self, ClientMessage, MAX_MESSAGE_BYTES, ServerMessage, SessionState,
};
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
    match &who {
        Principal::Party(p) => {
            if p.hearing_id != Some(hearing_id) && p.case_id != case_id {
                return Err(AppError::forbidden());
            }
        }
        Principal::Staff(_) => {
            authorize(&mut tx, &who, case_id, Permission::Read).await?;
        }
        Principal::System => return Err(AppError::forbidden()),
    }
    let seat = registry::seat_info(tx.conn(), &who, hearing_id, case_id, presiding).await?;
    tx.audit(
        AuditEntry::new(&who, "hearing.connect", format!("hearing:{hearing_id}")).case(case_id),
    )
    .await?;
    tx.commit().await?;
    registry::load(&app, hearing_id).await?;
    Ok(ws
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            session(app, socket, who, hearing_id, (case_id, presiding), seat)
        }))
}

async fn send(socket: &mut WebSocket, msg: &ServerMessage) -> bool {
    let text = serde_json::to_string(msg).unwrap_or_default();
    socket.send(Message::Text(text.into())).await.is_ok()
}

fn room_error(e: &RoomError) -> ServerMessage {
    ServerMessage::Error {
        code: e.code.to_string(),
        message: e.message.clone(),
    }
}

/// The seat as the database has it now: a party may have finished the device check or
/// the discipline step since the socket opened.
async fn fresh_seat(
    app: &App,
    who: &Principal,
    hearing: i64,
    case_presiding: (i64, i64),
) -> AppResult<SeatInfo> {
    let mut conn = app.db.pool.acquire().await?;
    registry::seat_info(&mut conn, who, hearing, case_presiding.0, case_presiding.1).await
}

async fn session(
    app: App,
    mut socket: WebSocket,
    who: Principal,
    hearing: i64,
    case_presiding: (i64, i64),
    mut seat: SeatInfo,
) {
    let Some(sfu) = app.sfu.get().cloned() else {
        return;
    };
    let conn = app.rooms.next_conn();
    let (room_tx, mut room_rx) = mpsc::unbounded_channel();
    let (media_tx, mut media_rx) = mpsc::unbounded_channel();
    app.rooms.register(
        hearing,
        conn,
        ConnTx {
            room: room_tx,
            media: media_tx,
        },
    );
    let mut state = SessionState::Connected;
    let mut audio_only = false;
    let mut left_on_purpose = false;
    let actor = Actor {
        seat: seat.key.clone(),
        role: seat.role.clone(),
    };
    loop {
        tokio::select! {
            // Procedure messages first: `admitted` must reach the client before `joined`.
            biased;
            out = room_rx.recv() => match out {
                Some(Outbound::Msg(msg)) => {
                    if !send(&mut socket, &msg).await { break; }
                }
                Some(Outbound::Close) | None => {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            },
            out = media_rx.recv() => {
                let Some(msg) = out else { continue };
                let taken_over = matches!(&msg, ServerMessage::Error { code, .. } if code == "seat_taken_over");
                if !send(&mut socket, &msg).await || taken_over {
                    break;
                }
            }
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
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                };
                let checked = signaling::parse(&text).and_then(|m| signaling::next_state(state, &m).map(|s| (m, s)));
                let (msg, next) = match checked {
                    Ok(v) => v,
                    Err(e) => {
                        if !send(&mut socket, &e.to_message()).await { break; }
                        continue;
                    }
                };
                let now = crate::time::now_ms();
                let result: Result<(), RoomError> = match msg {
                    ClientMessage::Join { audio_only: a } => {
                        audio_only = a;
                        if let Ok(s) = fresh_seat(&app, &who, hearing, case_presiding).await {
                            seat = s;
                        }
                        match app.rooms.decide(hearing, |r| r.join(conn, seat.clone(), now)) {
                            Some(Ok(fx)) => {
                                state = next;
                                registry::apply(&app, hearing, &who, fx).await;
                                Ok(())
                            }
                            Some(Err(e)) => {
                                // Refused entries are on the record too (locked room, removed, steps skipped).
                                let refused = Effect::Record {
                                    kind: "hearing.join_refused".into(),
                                    target: Some(seat.key.clone()),
                                    detail: json!({"code": e.code, "role": seat.role}),
                                };
                                registry::apply(&app, hearing, &who, vec![refused]).await;
                                Err(e)
                            }
                            None => break,
                        }
                    }
                    ClientMessage::Leave => {
                        left_on_purpose = true;
                        if let Some(Ok(fx)) = app.rooms.decide(hearing, |r| Ok::<_, ()>(r.disconnect(conn, true, now))) {
                            registry::apply(&app, hearing, &who, fx).await;
                        }
                        let _ = socket.send(Message::Close(None)).await;
                        break;
                    }
                    ClientMessage::RaiseHand { raised } => decide(&app, hearing, &who, |r| r.raise_hand(conn, raised)).await,
                    ClientMessage::ScreenShare { active } => decide(&app, hearing, &who, |r| r.screen_share(conn, active, now)).await,
                    ClientMessage::Help { text } => decide(&app, hearing, &who, |r| r.help(conn, &text, now)).await,
                    ClientMessage::Control { command } => {
                        registry::control(&app, hearing, &who, actor.clone(), command).await
                    }
                    ClientMessage::Ping => {
                        if !send(&mut socket, &ServerMessage::Pong).await { break; }
                        Ok(())
                    }
                    ClientMessage::Mute { kind, muted: false }
                        if app.rooms.with(hearing, |l| l.state.mute_held(conn, kind)).unwrap_or(false) =>
                    {
                        Err(RoomError { code: "mute_held", message: "首席仲裁员已将您静音，暂不能取消 / the chair has muted you".into() })
                    }
                    media => {
                        let admitted = app.rooms.with(hearing, |l| l.state.check_admitted(conn).map(|_| l.state.participant_of(conn)));
                        match admitted {
                            Some(Ok(Some(id))) => {
                                if std::mem::take(&mut audio_only) {
                                    sfu.signal(id, ClientMessage::AudioOnly { enabled: true }).await;
                                }
                                let self_mute = match &media {
                                    ClientMessage::Mute { kind, muted } => Some((*kind, *muted)),
                                    _ => None,
                                };
                                sfu.signal(id, media).await;
                                match self_mute {
                                    Some((kind, muted)) => decide(&app, hearing, &who, |r| r.self_mute(conn, kind, muted)).await,
                                    None => Ok(()),
                                }
                            }
                            // Admitted, the media seat is being set up: the client retries.
                            Some(Ok(None)) => Err(RoomError { code: "not_ready", message: "媒体连接准备中，请稍候 / media not ready yet".into() }),
                            Some(Err(e)) => Err(e),
                            None => break,
                        }
                    }
                };
                if let Err(e) = result
                    && !send(&mut socket, &room_error(&e)).await
                {
                    break;
                }
            }
        }
    }
    if !left_on_purpose {
        let now = crate::time::now_ms();
        if let Some(Ok(fx)) = app
            .rooms
            .decide(hearing, |r| Ok::<_, ()>(r.disconnect(conn, false, now)))
        {
            registry::apply(&app, hearing, &who, fx).await;
        }
    }
    app.rooms.unregister(hearing, conn);
}

async fn decide(
    app: &App,
    hearing: i64,
    who: &Principal,
    f: impl FnOnce(&mut crate::hearing::room::RoomState) -> Result<Vec<Effect>, RoomError>,
) -> Result<(), RoomError> {
    match app.rooms.decide(hearing, f) {
        Some(Ok(fx)) => {
            registry::apply(app, hearing, who, fx).await;
            Ok(())
        }
        Some(Err(e)) => Err(e),
        None => Ok(()),
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
    let (all, loops) = match app.sfu.get() {
        Some(sfu) => (sfu.stats(None).await, sfu.loop_metrics()),
        None => (Vec::new(), String::new()),
    };
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        crate::sfu::stats::prometheus(&all) + &loops,
    )
        .into_response()
}
