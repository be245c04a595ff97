//! The live hearing rooms and the hands that carry out their decisions. A room's state
//! sits behind one `std::sync::Mutex` that is only ever held for a synchronous call into
//! [`RoomState`] and for queueing the resulting messages; media commands and database
//! writes happen after it is released. Every `Record` effect becomes one row on the
//! hearing's timeline (`hearing_events`, server time, for the recording's chapters) and
//! one audit entry, in the same transaction.

use super::messages::{DeviceCheckView, ExhibitView, IdentityView, StorageNotice};
use super::phase::Phase;
use super::room::{Actor, ConnId, Effect, RoomError, RoomState, SeatInfo};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::Principal;
use crate::domain::roles::Side;
use crate::error::{AppError, AppResult};
use crate::hearing::controls::ControlCommand;
use crate::media::signaling::ServerMessage;
use crate::recording::disk::{self, HearingDisk, Level, Monitor};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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
    storage: StorageWatch,
}

/// One room's view of the recording storage: what the chair and clerk were told, and what
/// is on the hearing's record (each written once per change, not every check).
#[derive(Default)]
struct StorageWatch {
    level: Level,
    paused: Option<String>,
    notice: Option<StorageNotice>,
    /// Staff connections that have the current notice, and when it was last sent.
    told: HashSet<ConnId>,
    told_at: Option<Instant>,
    told_minutes: Option<u64>,
    /// The state last written to the hearing's record.
    recorded_level: Level,
    recorded_paused: bool,
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
        storage: StorageWatch::default(),
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
            app.jobs.enqueue(dir.clone(), hearing);
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
/// A simplified-procedure hearing opens only once both parties' confirmation of rights
/// and obligations (consent to the procedure, the online hearing, e-service, and the
/// defence-period waiver) is in effect; the refusal tells the chair what is missing.
async fn confirmation_gate(app: &App, hearing: i64) -> Result<(), RoomError> {
    let Some(case_id) = app.rooms.with(hearing, |l| l.case_id) else {
        return Ok(());
    };
    let checked = async {
        let mut conn = app.db.pool.acquire().await?;
        let case = crate::store::cases::get(&mut conn, case_id).await?;
        if case.procedure_kind != "simplified" {
            return Ok(Ok(()));
        }
        crate::store::documents::confirmation_gate(&mut conn, case_id).await
    };
    match checked.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(why)) => Err(RoomError {
            code: "confirmation_not_effective",
            message: why,
        }),
        Err(e) => {
            tracing::error!(hearing, error = %e.message, "checking the confirmation gate");
            Err(RoomError {
                code: "confirmation_not_effective",
                message: "无法确认简易程序确认书状态 / could not check the confirmation".into(),
            })
        }
    }
}

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
    let gate = match &cmd {
        ControlCommand::Phase { phase, .. } if phase.opens_hearing() => {
            confirmation_gate(app, hearing).await
        }
        _ => Ok(()),
    };
    let decided = match gate {
        Err(e) => Err(e),
        Ok(()) => app
            .rooms
            .decide(hearing, |s| s.control(&actor, &cmd, exhibit, now))
            .unwrap_or_else(|| {
                Err(RoomError {
                    code: "not_joined",
                    message: "庭审室未开启 / the room is not open".into(),
                })
            }),
    };
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

/// Grace periods run out even when nobody sends anything: check every second. Every
/// `STORAGE_CHECK_SECS` the recording storage is checked too.
pub fn spawn_ticker(app: App) {
    let monitor = disk::monitor(&app.config.recordings_dir);
    monitor.configure(disk::Thresholds::from_config(&app.config));
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
        let mut rates = Rates::default();
        let mut ticks: u64 = 0;
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
            ticks += 1;
            if app.config.recording && ticks.is_multiple_of(STORAGE_CHECK_SECS) {
                check_storage(&app, &monitor, &mut rates).await;
            }
        }
    });
}

/// How often the ticker checks the recording storage (seconds).
pub const STORAGE_CHECK_SECS: u64 = 2;
/// A low-space notice is sent again with a new estimate at most this often.
const STORAGE_RESEND: Duration = Duration::from_secs(60);

/// Each recording hearing's write rate (bytes/s, smoothed) from the bytes its writer was
/// handed between checks.
#[derive(Default)]
struct Rates {
    seen: HashMap<i64, (u64, Instant, f64)>,
}

impl Rates {
    /// Update from the writer's counters; the rate of all hearings together.
    fn update(&mut self, now: Instant, hearings: &[(i64, HearingDisk)]) -> f64 {
        self.seen
            .retain(|h, _| hearings.iter().any(|(x, _)| x == h));
        let mut total = 0.0;
        for (h, d) in hearings {
            let e = self.seen.entry(*h).or_insert((d.offered_bytes, now, 0.0));
            let dt = now.duration_since(e.1).as_secs_f64();
            if dt >= 0.5 {
                let now_rate = d.offered_bytes.saturating_sub(e.0) as f64 / dt;
                e.2 = if e.2 == 0.0 {
                    now_rate
                } else {
                    0.7 * e.2 + 0.3 * now_rate
                };
                e.0 = d.offered_bytes;
                e.1 = now;
            }
            total += e.2;
        }
        total
    }
}

/// Free space and the writer's state → a notice for the chair and clerk of every open
/// room, and one event on the hearing's record per change.
async fn check_storage(app: &App, monitor: &Arc<Monitor>, rates: &mut Rates) {
    let m = monitor.clone();
    let space = match tokio::task::spawn_blocking(move || m.space(Duration::ZERO)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "cannot read the recordings filesystem's free space");
            return;
        }
        Err(_) => return,
    };
    let writers = monitor.hearings();
    let rate = rates.update(Instant::now(), &writers);
    monitor.set_rate(rate);
    let t = monitor.thresholds();
    let now = crate::time::now_ms();
    for h in app.rooms.hearings() {
        let writer = writers.iter().find(|(x, _)| *x == h).map(|(_, d)| d);
        let paused = writer.and_then(|d| d.paused.clone());
        let lost = writer.map_or(0, |d| d.lost_bytes);
        let Some(todo) = app.rooms.with(h, |l| {
            l.watch_storage(space.free_bytes, rate, &t, paused, now)
        }) else {
            continue;
        };
        let Some((level, paused, records)) = todo else {
            continue;
        };
        let records = records
            .into_iter()
            .map(|(kind, mut detail)| {
                if let Some(d) = detail.as_object_mut() {
                    d.insert("lost_bytes".into(), json!(lost));
                }
                Effect::Record {
                    kind: kind.into(),
                    target: None,
                    detail,
                }
            })
            .collect();
        match write(app, h, &Principal::System, records).await {
            Ok(()) => {
                app.rooms.with(h, |l| {
                    l.storage.recorded_level = level;
                    l.storage.recorded_paused = paused;
                });
            }
            // Nothing half-written (the transaction rolled back); tried again next check.
            Err(e) => {
                tracing::error!(error = %e, hearing = h, "could not record the recording storage state")
            }
        }
    }
}

impl Live {
    /// The staff seats told about storage: the chair and the clerk.
    fn storage_staff(&self) -> Vec<ConnId> {
        self.state
            .seats
            .values()
            .filter(|s| matches!(s.info.role.as_str(), "presiding_arbitrator" | "clerk"))
            .filter_map(|s| s.conn)
            .collect()
    }

    /// Assess the storage for this room, send the notice to staff who do not have it yet
    /// (all of them when it changed), and return what the record lacks: the state to mark
    /// as recorded and the events to write.
    #[allow(clippy::type_complexity)]
    fn watch_storage(
        &mut self,
        free: u64,
        rate: f64,
        t: &disk::Thresholds,
        paused: Option<String>,
        now: i64,
    ) -> Option<(Level, bool, Vec<(&'static str, Value)>)> {
        if self.state.ended {
            return None;
        }
        let a = disk::assess(self.storage.level, free, rate, t);
        let was = self.storage.notice.as_ref().map(|n| n.kind.clone());
        self.storage.level = a.level;
        self.storage.paused = paused;
        let notice = StorageNotice::new(
            a.level,
            self.storage.paused.as_deref(),
            free,
            a.minutes_left,
            now,
        );
        let changed = was.as_deref().unwrap_or("ok") != notice.kind;
        let staff = self.storage_staff();
        let send_to: Vec<ConnId> = if changed {
            self.storage.told.clear();
            staff
        } else if notice.kind == "ok" {
            Vec::new()
        } else {
            let stale = notice.kind == "low"
                && self.storage.told_minutes != a.minutes_left
                && self
                    .storage
                    .told_at
                    .is_none_or(|at| at.elapsed() >= STORAGE_RESEND);
            if stale {
                self.storage.told.clear();
            }
            staff
                .into_iter()
                .filter(|c| !self.storage.told.contains(c))
                .collect()
        };
        if !send_to.is_empty() {
            let msg = notice.to_message();
            for c in &send_to {
                if let Some(tx) = self.conns.get(c) {
                    let _ = tx.room.send(Outbound::Msg(msg.clone()));
                }
                self.storage.told.insert(*c);
            }
            self.storage.told_at = Some(Instant::now());
            self.storage.told_minutes = a.minutes_left;
        }
        self.storage.notice = Some(notice);

        let mut records = Vec::new();
        let mb = |b: u64| b / disk::MB;
        if a.level != self.storage.recorded_level {
            let kind = match a.level {
                Level::Ok => "recording.storage_ok",
                Level::Low => "recording.storage_low",
                Level::Critical => "recording.storage_critical",
            };
            records.push((
                kind,
                json!({"free_mb": mb(free), "minutes_left": a.minutes_left,
                       "write_rate_kbps": (rate * 8.0 / 1000.0).round(),
                       "warn_free_mb": mb(t.warn_free), "stop_free_mb": mb(t.stop_free)}),
            ));
        }
        let is_paused = self.storage.paused.is_some();
        if is_paused != self.storage.recorded_paused {
            records.push(match &self.storage.paused {
                Some(reason) => (
                    "recording.paused",
                    json!({"reason": reason, "free_mb": mb(free)}),
                ),
                None => ("recording.resumed", json!({"free_mb": mb(free)})),
            });
        }
        (!records.is_empty()).then_some((a.level, is_paused, records))
    }
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
