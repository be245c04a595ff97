//! The live hearing rooms and the hands that carry out their decisions. A room's state
//! sits behind one `std::sync::Mutex` that is only ever held for a synchronous call into
//! [`RoomState`] and for queueing the resulting messages; media commands and database
//! writes happen after it is released. Every `Record` effect becomes one row on the
//! hearing's timeline (`hearing_events`, server time, for the recording's chapters) and
//! one audit entry, in the same transaction.

use super::messages::{DeviceCheckView, ExhibitView, IdentityView};
use super::phase::Phase;
use super::room::{Actor, ConnId, Effect, RoomError, RoomState, SeatInfo};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::Principal;
use crate::domain::roles::Side;
use crate::error::{AppError, AppResult};
use crate::hearing::controls::ControlCommand;
use crate::media::signaling::ServerMessage;
use axum::http::StatusCode;
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc::UnboundedSender;

pub enum Outbound {
    Msg(ServerMessage),
    Close,
}

/// A signaling socket's two inboxes: procedure messages from the room, media messages
/// from the SFU.
pub struct ConnTx {
    pub room: UnboundedSender<Outbound>,
    pub media: UnboundedSender<ServerMessage>,
}

pub struct Live {
    pub state: RoomState,
    pub case_id: i64,
    pub commission_id: i64,
    conns: HashMap<ConnId, ConnTx>,
}

#[derive(Default)]
pub struct Rooms {
    inner: Mutex<HashMap<i64, Live>>,
    next_conn: AtomicU64,
}

impl Rooms {
    pub fn next_conn(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Live>> {
        // A panic while holding the lock cannot leave a room half-changed in a way the
        // next caller could not cope with; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_loaded(&self, hearing: i64) -> bool {
        self.lock().contains_key(&hearing)
    }

    pub fn with<R>(&self, hearing: i64, f: impl FnOnce(&mut Live) -> R) -> Option<R> {
        self.lock().get_mut(&hearing).map(f)
    }

    pub fn register(&self, hearing: i64, conn: ConnId, tx: ConnTx) {
        self.with(hearing, |l| l.conns.insert(conn, tx));
    }

    pub fn unregister(&self, hearing: i64, conn: ConnId) {
        self.with(hearing, |l| l.conns.remove(&conn));
    }

    pub fn set_record_caucus(&self, commission: i64, on: bool) {
        for live in self.lock().values_mut() {
            if live.commission_id == commission {
                live.state.record_caucus = on;
            }
        }
    }

    pub fn hearings(&self) -> Vec<i64> {
        self.lock().keys().copied().collect()
    }

    /// Run `f` on the room and queue its messages; returns the effects left to carry out.
    pub fn decide<T>(
        &self,
        hearing: i64,
        f: impl FnOnce(&mut RoomState) -> Result<Vec<Effect>, T>,
    ) -> Option<Result<Vec<Effect>, T>> {
        self.with(hearing, |l| f(&mut l.state).map(|fx| l.deliver(fx)))
    }
}

impl Live {
    /// Queue `Send`/`Close` on the sockets' inboxes; return the rest.
    fn deliver(&mut self, fx: Vec<Effect>) -> Vec<Effect> {
        let mut rest = Vec::new();
        for e in fx {
            match e {
                Effect::Send { conn, msg } => {
                    if let Some(c) = self.conns.get(&conn) {
                        let _ = c.room.send(Outbound::Msg(msg));
                    }
                }
                Effect::Close { conn } => {
                    if let Some(c) = self.conns.get(&conn) {
                        let _ = c.room.send(Outbound::Close);
                    }
                }
                other => rest.push(other),
            }
        }
        rest
    }
}

/// Make sure the hearing's room is in memory (phase, lock and removals from the database).
pub async fn load(app: &App, hearing: i64) -> AppResult<()> {
    if app.rooms.is_loaded(hearing) {
        return Ok(());
    }
    let mut conn = app.db.pool.acquire().await?;
    /// case, phase, phase since, locked, created, record side rooms, commission.
    type HearingRow = (i64, String, Option<i64>, i64, i64, i64, i64);
    let row: Option<HearingRow> = sqlx::query_as(
        "SELECT h.case_id, h.phase, h.phase_since, h.locked, h.created_at, cm.record_caucus, cm.id \
         FROM hearings h JOIN cases c ON c.id = h.case_id JOIN commissions cm ON cm.id = c.commission_id \
         WHERE h.id = $1",
    )
    .bind(hearing)
    .fetch_optional(&mut *conn)
    .await?;
    let (case_id, phase, phase_since, locked, created_at, record_caucus, commission_id) =
        row.ok_or_else(|| AppError::not_found("hearing"))?;
    let numbers = crate::store::views::hearing(&mut conn, hearing)
        .await?
        .map(|h| h.case_numbers)
        .unwrap_or_default();
    let removed: Vec<(String, String)> =
        sqlx::query_as("SELECT seat, reason FROM hearing_removals WHERE hearing_id = $1")
            .bind(hearing)
            .fetch_all(&mut *conn)
            .await?;
    let phase = Phase::parse(&phase).unwrap_or(Phase::CheckAttendance);
    let mut state = RoomState::new(hearing, numbers, phase, phase_since.unwrap_or(created_at));
    state.locked = locked != 0;
    state.record_caucus = record_caucus != 0;
    state.removed = removed.into_iter().collect();
    state.grace_ms = app.config.reconnect_grace_secs as i64 * 1000;
    let mut rooms = app.rooms.lock();
    rooms.entry(hearing).or_insert(Live {
        state,
        case_id,
        commission_id,
        conns: HashMap::new(),
    });
    Ok(())
}

/// Carry out the effects a room decided (its messages are already queued).
pub async fn apply(app: &App, hearing: i64, who: &Principal, fx: Vec<Effect>) {
    let mut queue: VecDeque<Effect> = fx.into();
    let mut writes = Vec::new();
    let mut seal = false;
    let sfu = app.sfu.get();
    while let Some(e) = queue.pop_front() {
        match e {
            Effect::JoinMedia { conn } => {
                let found = app.rooms.with(hearing, |l| {
                    let seat = l.state.seats.values().find(|s| s.conn == Some(conn))?;
                    let media = l.conns.get(&conn)?.media.clone();
                    Some((
                        l.case_id,
                        crate::sfu::participant::Seat {
                            key: seat.info.key.clone(),
                            name: seat.info.name.clone(),
                            role: seat.info.role.clone(),
                        },
                        media,
                    ))
                });
                let (Some(sfu), Some(Some((case, seat, media)))) = (sfu, found) else {
                    continue;
                };
                if let Some(id) = sfu.join(hearing, case, seat, media).await
                    && let Some(Ok(more)) = app
                        .rooms
                        .decide(hearing, |s| Ok::<_, ()>(s.media_joined(conn, id)))
                {
                    queue.extend(more);
                }
            }
            Effect::MediaDisconnected { participant } => {
                if let Some(sfu) = sfu {
                    sfu.disconnected(participant).await;
                }
            }
            Effect::LeaveMedia {
                participant,
                reason,
            } => {
                if let Some(sfu) = sfu {
                    sfu.remove(participant, reason).await;
                }
            }
            Effect::Media {
                participant,
                control,
            } => {
                if let Some(sfu) = sfu {
                    sfu.control(participant, control).await;
                }
            }
            // After the records below are written: the manifest includes them.
            Effect::SealRecording => seal = true,
            Effect::Send { .. } | Effect::Close { .. } => {}
            other => writes.push(other),
        }
    }
    if !writes.is_empty()
        && let Err(e) = write(app, hearing, who, writes).await
    {
        tracing::error!(error = %e, hearing, "could not record a hearing event");
    }
    if seal && let Some(sfu) = sfu {
        seal_recording(app, hearing, sfu).await;
    }
}

async fn write(app: &App, hearing: i64, who: &Principal, writes: Vec<Effect>) -> AppResult<()> {
    let case_id = app.rooms.with(hearing, |l| l.case_id);
    let now = crate::time::now_ms();
    let mut tx = app.db.write().await?;
    for e in writes {
        match e {
            Effect::Record {
                kind,
                target,
                detail,
            } => append_event(&mut tx, who, hearing, case_id, &kind, target, detail).await?,
            Effect::SavePhase { phase, at } => {
                let status = if phase == Phase::Closed {
                    "closed"
                } else {
                    "open"
                };
                sqlx::query(
                    "UPDATE hearings SET phase = $1, phase_since = $2, status = $3 WHERE id = $4",
                )
                .bind(phase.as_str())
                .bind(at)
                .bind(status)
                .bind(hearing)
                .execute(tx.conn())
                .await?;
            }
            Effect::SaveLock { locked } => {
                sqlx::query("UPDATE hearings SET locked = $1 WHERE id = $2")
                    .bind(i64::from(locked))
                    .bind(hearing)
                    .execute(tx.conn())
                    .await?;
            }
            Effect::SaveRemoval { seat, reason } => {
                sqlx::query(
                    "INSERT INTO hearing_removals (hearing_id, seat, removed_at, removed_by, reason) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(hearing)
                .bind(&seat)
                .bind(now)
                .bind(who.audit_name())
                .bind(&reason)
                .execute(tx.conn())
                .await?;
            }
            Effect::EndSessions { invitation_id } => {
                sqlx::query(
                    "UPDATE sessions SET revoked_at = $1 WHERE invitation_id = $2 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(invitation_id)
                .execute(tx.conn())
                .await?;
            }
            _ => {}
        }
    }
    tx.commit().await
}

/// Close the hearing's recording and seal it with the commission's key; the seal is on
/// the record (or, if it failed, the failure is).
async fn seal_recording(app: &App, hearing: i64, sfu: &crate::sfu::Sfu) {
    let Some(dir) = sfu.close_recording(hearing).await else {
        return;
    };
    let (kind, detail) = match crate::recording::seal::seal(app, &dir, hearing, true).await {
        Ok(m) => {
            crate::recording::jobs::spawn(app.clone(), dir.clone(), hearing);
            (
                "recording.sealed",
                json!({"segments": m.segments.len(), "chain_head": m.chain_head, "tracks": m.tracks.len()}),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, hearing, "sealing the recording failed");
            ("recording.seal_failed", json!({"error": e.to_string()}))
        }
    };
    let rec = Effect::Record {
        kind: kind.into(),
        target: None,
        detail,
    };
    if let Err(e) = write(app, hearing, &Principal::System, vec![rec]).await {
        tracing::error!(error = %e, hearing, "could not record the seal");
    }
}

/// One entry on a hearing's record: a `hearing_events` row (server time; the recording's
/// chapters and the case timeline read these) and the matching audit entry, in `tx`.
pub async fn append_event(
    tx: &mut crate::db::WriteTx,
    who: &Principal,
    hearing: i64,
    case_id: Option<i64>,
    kind: &str,
    target: Option<String>,
    mut detail: serde_json::Value,
) -> AppResult<()> {
    let target = target.unwrap_or_else(|| format!("hearing:{hearing}"));
    if let Some(map) = detail.as_object_mut() {
        map.insert("hearing_id".into(), json!(hearing));
    }
    sqlx::query(
        "INSERT INTO hearing_events (hearing_id, at, kind, actor, target, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hearing)
    .bind(crate::time::now_ms())
    .bind(kind)
    .bind(who.audit_name())
    .bind(&target)
    .bind(detail.to_string())
    .execute(tx.conn())
    .await?;
    let mut entry = AuditEntry::new(who, kind, target).detail(detail);
    if let Some(c) = case_id {
        entry = entry.case(c);
    }
    tx.audit(entry).await?;
    Ok(())
}

/// An event the server itself puts on a hearing's record (timeline + audit).
pub async fn record_system_event(app: &App, hearing: i64, kind: &str, detail: serde_json::Value) {
    if !app.rooms.is_loaded(hearing)
        && let Err(e) = load(app, hearing).await
    {
        tracing::error!(error = %e, hearing, "cannot load the hearing to record an event");
    }
    let rec = Effect::Record {
        kind: kind.into(),
        target: None,
        detail,
    };
    if let Err(e) = write(app, hearing, &Principal::System, vec![rec]).await {
        tracing::error!(error = %e, hearing, kind, "could not record a system event");
    }
}

/// The HTTP status a refused command maps to.
pub fn status_of(e: &RoomError) -> StatusCode {
    match e.code {
        "forbidden" => StatusCode::FORBIDDEN,
        "unknown_seat" | "unknown_exhibit" => StatusCode::NOT_FOUND,
        "reason_required" => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::CONFLICT,
    }
}

/// A staff command from either path (socket or HTTP). A refusal changes nothing and is
/// audit-logged.
pub async fn control(
    app: &App,
    hearing: i64,
    who: &Principal,
    actor: Actor,
    cmd: ControlCommand,
) -> Result<(), RoomError> {
    let exhibit = match &cmd {
        ControlCommand::ShowExhibit { exhibit_id } => find_exhibit(app, hearing, *exhibit_id).await,
        _ => None,
    };
    let now = crate::time::now_ms();
    let decided = app
        .rooms
        .decide(hearing, |s| s.control(&actor, &cmd, exhibit, now))
        .unwrap_or_else(|| {
            Err(RoomError {
                code: "not_joined",
                message: "庭审室未开启 / the room is not open".into(),
            })
        });
    match decided {
        Ok(fx) => {
            if let ControlCommand::ShowExhibit { exhibit_id } = &cmd {
                mark_shown(app, *exhibit_id, now).await;
            }
            apply(app, hearing, who, fx).await;
            Ok(())
        }
        Err(e) => {
            let refused = Effect::Record {
                kind: "hearing.control_refused".into(),
                target: None,
                detail: json!({"by": actor.seat, "role": actor.role, "action": cmd.action(), "code": e.code}),
            };
            apply(app, hearing, who, vec![refused]).await;
            Err(e)
        }
    }
}

async fn find_exhibit(app: &App, hearing: i64, id: i64) -> Option<ExhibitView> {
    let mut conn = app.db.pool.acquire().await.ok()?;
    let row: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, name, mime FROM exhibits WHERE id = $1 AND hearing_id = $2")
            .bind(id)
            .bind(hearing)
            .fetch_optional(&mut *conn)
            .await
            .ok()?;
    row.map(|(id, name, mime)| ExhibitView {
        id,
        name,
        mime,
        url: format!("/api/exhibits/{id}"),
    })
}

async fn mark_shown(app: &App, id: i64, now: i64) {
    let res = async {
        let mut tx = app.db.write().await?;
        sqlx::query("UPDATE exhibits SET status = 'shown', shown_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    };
    if let Err(e) = res.await {
        tracing::error!(error = %e, "could not mark an exhibit shown");
    }
}

/// Grace periods run out even when nobody sends anything: check every second.
pub fn spawn_ticker(app: App) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            every.tick().await;
            let now = crate::time::now_ms();
            for h in app.rooms.hearings() {
                if let Some(Ok(fx)) = app.rooms.decide(h, |s| Ok::<_, ()>(s.tick(now)))
                    && !fx.is_empty()
                {
                    apply(&app, h, &Principal::System, fx).await;
                }
            }
        }
    });
}

/// Who sits in a seat: a staff member, or an invitee with what they verified and checked.
pub async fn seat_info(
    conn: &mut sqlx::AnyConnection,
    who: &Principal,
    hearing: i64,
    hearing_case: i64,
    presiding: i64,
) -> AppResult<SeatInfo> {
    match who {
        Principal::Staff(s) => Ok(SeatInfo {
            key: format!("user:{}", s.user_id),
            name: s.display_name.clone(),
            role: if s.user_id == presiding {
                "presiding_arbitrator".into()
            } else {
                s.role.as_str().into()
            },
            side: None,
            invitation_id: None,
            identity: None,
            device_check: None,
            discipline_ack_at: None,
        }),
        Principal::Party(p) => {
            let (case_id, party_id, agent_id, name, phone, id_number): (
                i64,
                Option<i64>,
                Option<i64>,
                String,
                String,
                String,
            ) = sqlx::query_as(
                "SELECT case_id, party_id, agent_id, name, phone, id_number FROM invitations WHERE id = $1",
            )
            .bind(p.invitation_id)
            .fetch_one(&mut *conn)
            .await?;
            let side: Option<(String,)> = sqlx::query_as(
                "SELECT side FROM parties WHERE id = COALESCE($1, (SELECT party_id FROM agents WHERE id = $2))",
            )
            .bind(party_id)
            .bind(agent_id)
            .fetch_optional(&mut *conn)
            .await?;
            // A counterclaim's parties sit on the swapped sides of the merged hearing.
            let side = side.and_then(|(s,)| Side::parse(&s)).map(|s| {
                if case_id == hearing_case {
                    s
                } else {
                    s.opposite()
                }
            });
            let verified: Option<(i64,)> = sqlx::query_as(
                "SELECT verified_at FROM identity_verifications WHERE invitation_id = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(p.invitation_id)
            .fetch_optional(&mut *conn)
            .await?;
            type Checks = (Option<String>, Option<String>, Option<i64>, Option<i64>);
            let checks: Option<Checks> =
                sqlx::query_as(
                    "SELECT device_check, device_verdict, device_checked_at, discipline_ack_at FROM hearing_party_checks WHERE hearing_id = $1 AND invitation_id = $2",
                )
                .bind(hearing)
                .bind(p.invitation_id)
                .fetch_optional(&mut *conn)
                .await?;
            let (device, verdict, checked_at, ack) = checks.unwrap_or_default();
            let device_check = match (device, verdict, checked_at) {
                (Some(d), Some(v), Some(at)) => {
                    serde_json::from_str::<crate::hearing::device_check::DeviceCheck>(&d)
                        .ok()
                        .map(|c| DeviceCheckView {
                            verdict: v,
                            camera: c.camera,
                            microphone: c.microphone,
                            rtt_ms: c.rtt_ms,
                            down_kbps: c.down_kbps,
                            up_kbps: c.up_kbps,
                            checked_at: at,
                        })
                }
                _ => None,
            };
            Ok(SeatInfo {
                key: format!("invitation:{}", p.invitation_id),
                name: name.clone(),
                role: p.role.as_str().into(),
                side,
                invitation_id: Some(p.invitation_id),
                identity: Some(IdentityView {
                    name,
                    id_masked: crate::domain::masking::id_number(&id_number),
                    phone_masked: crate::domain::masking::phone(&phone),
                    verified_at: verified.map(|(v,)| v),
                }),
                device_check,
                discipline_ack_at: ack,
            })
        }
        Principal::System => Err(AppError::forbidden()),
    }
}
