//! HTTP around the hearing room: what a party does before entering (network test, device
//! check, discipline acknowledgement), staff commands without the socket, the hearing's
//! timeline, and exhibits. Each write and each read of the record is audit-logged; the
//! network test endpoints are not (they carry no case data and are hit many times).

use super::cases::authorize;
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth, Meta};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::{Permission, Principal};
use crate::db::WriteTx;
use crate::error::{AppError, AppResult};
use crate::hearing::controls::ControlCommand;
use crate::hearing::device_check::{self, DeviceCheck};
use crate::hearing::messages::RECORDING_NOTICE;
use crate::hearing::registry;
use crate::hearing::room::Actor;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

/// 庭审纪律, read to and acknowledged by every party before entering.
pub const DISCIPLINE_ZH: &str = "\
一、当事人及其他仲裁参加人应按时参加庭审，服从仲裁庭指挥，遵守庭审纪律。
二、应在安静、独立、光线充足的场所参加庭审，本人始终出现在画面中，不得由他人代替；与案件无关的人员不得在场。
三、未经仲裁庭许可，不得自行录音、录像、拍照、截屏，不得传播或直播庭审过程。
四、发言须经仲裁庭许可，不得打断他人发言，不得喧哗、吵闹，不得侮辱、诽谤、威胁他人。
五、不得擅自离开庭审。因网络原因断开的，应立即重新进入；无正当理由拒不到庭或未经仲裁庭同意中途退庭的，申请人按撤回仲裁申请处理，被申请人可以缺席裁决。
六、证人未经仲裁庭传唤不得旁听庭审，作证后应退出庭审。
七、违反庭审纪律的，仲裁庭可以予以警告、静音或责令退出庭审；情节严重的，依法追究责任。
八、本庭审全程录音录像。";

/// The hearing's case, if `who` may take part in it.
pub(super) async fn hearing_case(
    tx: &mut WriteTx,
    who: &Principal,
    hearing: i64,
) -> AppResult<i64> {
    let (case_id,): (i64,) = sqlx::query_as("SELECT case_id FROM hearings WHERE id = $1")
        .bind(hearing)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| AppError::not_found("hearing"))?;
    match who {
        Principal::Party(p) if p.hearing_id == Some(hearing) || p.case_id == case_id => {}
        Principal::Party(_) | Principal::System => return Err(AppError::not_found("hearing")),
        Principal::Staff(_) => {
            authorize(tx, who, case_id, Permission::Read).await?;
        }
    }
    Ok(case_id)
}

// --- network test -------------------------------------------------------------------

pub async fn ping(Auth(_): Auth) -> Json<Value> {
    Json(json!({ "t": crate::time::now_ms() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobQuery {
    kb: Option<usize>,
}

pub const NETCHECK_MAX_BYTES: usize = 2 * 1024 * 1024;

pub async fn blob_download(Auth(_): Auth, ApiQuery(q): ApiQuery<BlobQuery>) -> Response {
    let n = q.kb.unwrap_or(256).clamp(1, NETCHECK_MAX_BYTES / 1024) * 1024;
    // Random, so a compressing proxy cannot make the link look faster than it is.
    let mut body = vec![0u8; n];
    let rng = ring::rand::SystemRandom::new();
    for chunk in body.chunks_mut(4096) {
        let _ = ring::rand::SecureRandom::fill(&rng, chunk);
    }
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

pub async fn blob_upload(Auth(_): Auth, body: Bytes) -> Json<Value> {
    Json(json!({ "bytes": body.len() }))
}

// --- device check and discipline ----------------------------------------------------

pub async fn device_check(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(hearing): ApiPath<i64>,
    ApiJson(check): ApiJson<DeviceCheck>,
) -> AppResult<Json<Value>> {
    if check.rtt_ms > 60_000 || check.down_kbps > 10_000_000 || check.up_kbps > 10_000_000 {
        return Err(AppError::bad_request(
            "invalid_device_check",
            "检测数据超出范围 / figures out of range",
        ));
    }
    let verdict = device_check::verdict(&check);
    let message = device_check::message(&check);
    let mut tx = app.db.write().await?;
    let case_id = hearing_case(&mut tx, &who, hearing).await?;
    let now = crate::time::now_ms();
    if let Principal::Party(p) = &who {
        sqlx::query(
            "INSERT INTO hearing_party_checks (hearing_id, invitation_id, device_check, device_verdict, device_checked_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (hearing_id, invitation_id) DO UPDATE SET device_check = excluded.device_check, device_verdict = excluded.device_verdict, device_checked_at = excluded.device_checked_at",
        )
        .bind(hearing)
        .bind(p.invitation_id)
        .bind(serde_json::to_string(&check).unwrap_or_default())
        .bind(verdict.as_str())
        .bind(now)
        .execute(tx.conn())
        .await?;
    }
    crate::hearing::registry::append_event(
        &mut tx,
        &who,
        hearing,
        Some(case_id),
        "hearing.device_check",
        Some(format!("hearing:{hearing}")),
        json!({"check": check, "verdict": verdict}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(
        json!({ "verdict": verdict, "message": message, "checked_at": now }),
    ))
}

pub async fn discipline_text(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(hearing): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    let case_id = hearing_case(&mut tx, &who, hearing).await?;
    tx.audit(
        AuditEntry::new(
            &who,
            "hearing.discipline_read",
            format!("hearing:{hearing}"),
        )
        .case(case_id),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(
        json!({ "text": DISCIPLINE_ZH, "recording_notice": RECORDING_NOTICE }),
    ))
}

pub async fn discipline_ack(
    State(app): State<App>,
    Auth(who): Auth,
    Meta(meta): Meta,
    ApiPath(hearing): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let Principal::Party(p) = &who else {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "not_a_party",
            "只有当事人等参加人需要确认庭审纪律 / only invitees acknowledge the discipline",
        ));
    };
    let mut tx = app.db.write().await?;
    let case_id = hearing_case(&mut tx, &who, hearing).await?;
    let now = crate::time::now_ms();
    sqlx::query(
        "INSERT INTO hearing_party_checks (hearing_id, invitation_id, discipline_ack_at, discipline_ip, discipline_user_agent) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (hearing_id, invitation_id) DO UPDATE SET discipline_ack_at = excluded.discipline_ack_at, discipline_ip = excluded.discipline_ip, discipline_user_agent = excluded.discipline_user_agent",
    )
    .bind(hearing)
    .bind(p.invitation_id)
    .bind(now)
    .bind(&meta.ip)
    .bind(&meta.user_agent)
    .execute(tx.conn())
    .await?;
    crate::hearing::registry::append_event(
        &mut tx,
        &who,
        hearing,
        Some(case_id),
        "hearing.discipline_acknowledged",
        Some(format!("invitation:{}", p.invitation_id)),
        json!({"at": now, "ip": meta.ip}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({ "acknowledged_at": now })))
}

// --- staff commands and the timeline ------------------------------------------------

pub async fn control(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(hearing): ApiPath<i64>,
    ApiJson(cmd): ApiJson<ControlCommand>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    let case_id = hearing_case(&mut tx, &who, hearing).await?;
    let (presiding,): (i64,) =
        sqlx::query_as("SELECT presiding_arbitrator_id FROM hearings WHERE id = $1")
            .bind(hearing)
            .fetch_one(tx.conn())
            .await?;
    // The same seat and role the socket would give; a party's commands are refused (and
    // recorded) by the one permission table in `hearing::controls`, as over the socket.
    let seat = registry::seat_info(tx.conn(), &who, hearing, case_id, presiding).await?;
    tx.commit().await?;
    let actor = Actor {
        seat: seat.key,
        role: seat.role,
    };
    registry::load(&app, hearing).await?;
    registry::control(&app, hearing, &who, actor, cmd)
        .await
        .map_err(|e| AppError::new(registry::status_of(&e), e.code, e.message))?;
    Ok(Json(json!({ "ok": true })))
}

pub async fn events(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(hearing): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    if who.staff().is_none() {
        return Err(AppError::forbidden());
    }
    let mut tx = app.db.write().await?;
    let case_id = hearing_case(&mut tx, &who, hearing).await?;
    let rows: Vec<(i64, i64, String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT id, at, kind, actor, target, detail FROM hearing_events WHERE hearing_id = $1 ORDER BY id",
    )
    .bind(hearing)
    .fetch_all(tx.conn())
    .await?;
    tx.audit(
        AuditEntry::new(&who, "hearing.events_read", format!("hearing:{hearing}")).case(case_id),
    )
    .await?;
    tx.commit().await?;
    let events: Vec<Value> = rows
        .into_iter()
        .map(|(id, at, kind, actor, target, detail)| {
            json!({"id": id, "at": at, "kind": kind, "actor": actor, "target": target,
                   "detail": serde_json::from_str::<Value>(&detail).unwrap_or(Value::Null)})
        })
        .collect();
    Ok(Json(json!({ "hearing_id": hearing, "events": events })))
}

// --- exhibits -----------------------------------------------------------------------

pub const EXHIBIT_MAX_BYTES: usize = 10 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExhibitQuery {
    name: String,
}

fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

pub async fn upload_exhibit(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(hearing): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ExhibitQuery>,
    body: Bytes,
) -> AppResult<Json<Value>> {
    let name = q.name.trim();
    if name.is_empty() || name.chars().count() > 120 || name.contains(['/', '\\', '\0']) {
        return Err(AppError::bad_request(
            "invalid_name",
            "文件名无效 / invalid file name",
        ));
    }
    // The content decides the type, not what the client claims.
    let Some(mime) = sniff_mime(&body) else {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_type",
            "只接受 JPEG、PNG 照片或 PDF 文件 / only JPEG, PNG or PDF",
        ));
    };
    // Access first: nothing from a stranger reaches the disk. (The check's transaction is
    // dropped before the file is written, so writers are not held up by the write.)
    {
        let mut check = app.db.write().await?;
        hearing_case(&mut check, &who, hearing).await?;
    }
    let sha = crate::crypto::sha256_hex(&body);
    let dir = app.config.data_dir.join("exhibits");
    let io = |e: std::io::Error| AppError::from(anyhow::Error::from(e));
    tokio::fs::create_dir_all(&dir).await.map_err(io)?;
    let path = dir.join(&sha);
    if !tokio::fs::try_exists(&path).await.map_err(io)? {
        let tmp = dir.join(format!("{sha}.part"));
        tokio::fs::write(&tmp, &body).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)?;
    }
    let mut tx = app.db.write().await?;
    let case_id = hearing_case(&mut tx, &who, hearing).await?;
    let now = crate::time::now_ms();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO exhibits (case_id, hearing_id, uploaded_by, name, mime, size, sha256, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING id",
    )
    .bind(case_id)
    .bind(hearing)
    .bind(who.audit_name())
    .bind(name)
    .bind(mime)
    .bind(body.len() as i64)
    .bind(&sha)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    crate::hearing::registry::append_event(
        &mut tx,
        &who,
        hearing,
        Some(case_id),
        "hearing.exhibit_uploaded",
        Some(format!("exhibit:{id}")),
        json!({"name": name, "mime": mime, "size": body.len(), "sha256": sha}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(
        json!({ "id": id, "name": name, "mime": mime, "size": body.len(), "sha256": sha, "status": "pending" }),
    ))
}

type ExhibitRow = (
    i64,
    String,
    String,
    String,
    i64,
    String,
    String,
    i64,
    Option<i64>,
);

const EXHIBIT_COLUMNS: &str =
    "id, uploaded_by, name, mime, size, sha256, status, created_at, shown_at";

fn exhibit_json(r: &ExhibitRow) -> Value {
    json!({"id": r.0, "uploaded_by": r.1, "name": r.2, "mime": r.3, "size": r.4, "sha256": r.5,
           "status": r.6, "created_at": r.7, "shown_at": r.8, "url": format!("/api/exhibits/{}", r.0)})
}

/// Parties see exhibits shown to everyone and their own; staff see all.
fn may_see(who: &Principal, r: &ExhibitRow) -> bool {
    who.staff().is_some() || r.6 == "shown" || r.1 == who.audit_name()
}

pub async fn list_exhibits(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(hearing): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    let case_id = hearing_case(&mut tx, &who, hearing).await?;
    let rows: Vec<ExhibitRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {EXHIBIT_COLUMNS} FROM exhibits WHERE hearing_id = $1 ORDER BY id"
    )))
    .bind(hearing)
    .fetch_all(tx.conn())
    .await?;
    tx.audit(
        AuditEntry::new(&who, "hearing.exhibits_read", format!("hearing:{hearing}")).case(case_id),
    )
    .await?;
    tx.commit().await?;
    let list: Vec<Value> = rows
        .iter()
        .filter(|r| may_see(&who, r))
        .map(exhibit_json)
        .collect();
    Ok(Json(json!({ "exhibits": list })))
}

pub async fn get_exhibit(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Response> {
    let mut tx = app.db.write().await?;
    let row: Option<(i64, ExhibitRow)> = sqlx::query_as::<
        _,
        (
            i64,
            i64,
            String,
            String,
            String,
            i64,
            String,
            String,
            i64,
            Option<i64>,
        ),
    >(sqlx::AssertSqlSafe(format!(
        "SELECT hearing_id, {EXHIBIT_COLUMNS} FROM exhibits WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .map(|(h, a, b, c, d, e, f, g, i, j)| (h, (a, b, c, d, e, f, g, i, j)));
    let Some((hearing, r)) = row else {
        return Err(AppError::not_found("exhibit"));
    };
    let case_id = hearing_case(&mut tx, &who, hearing).await?;
    if !may_see(&who, &r) {
        return Err(AppError::not_found("exhibit"));
    }
    tx.audit(AuditEntry::new(&who, "hearing.exhibit_read", format!("exhibit:{id}")).case(case_id))
        .await?;
    tx.commit().await?;
    let bytes = tokio::fs::read(app.config.data_dir.join("exhibits").join(&r.5))
        .await
        .map_err(anyhow::Error::from)?;
    Ok((
        [
            (header::CONTENT_TYPE, r.3.clone()),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

// --- recording ----------------------------------------------------------------------

/// `GET /api/hearings/<id>/recording`: the recording's state for staff (parties may not
/// have recordings): recording / sealed / interrupted, its span, size and whether it
/// verifies; and, before and during the hearing, the recording storage (`storage`: free
/// space, level, minutes left at the current write rate, whether writing is paused).
pub async fn recording_status(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(hearing): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    use crate::recording::{seal, verify, writer};
    if who.staff().is_none() {
        return Err(AppError::forbidden());
    }
    let mut tx = app.db.write().await?;
    let case_id = hearing_case(&mut tx, &who, hearing).await?;
    tx.audit(
        AuditEntry::new(&who, "recording.status_read", format!("hearing:{hearing}")).case(case_id),
    )
    .await?;
    let case = crate::store::cases::get(tx.conn(), case_id).await?;
    let commission = crate::store::commissions::get(tx.conn(), case.commission_id).await?;
    tx.commit().await?;
    // The server trusts its own commission CA: the seal is checked against it.
    let ca_der = crate::esign::service::commission_ca(&app, &commission)
        .ok()
        .map(|ca| ca.cert_der().to_vec());
    let dir = writer::hearing_dir(&app.config.recordings_dir, case_id, hearing);
    let storage_of = app.config.recording.then(|| {
        (
            crate::recording::disk::monitor(&app.config.recordings_dir),
            crate::recording::disk::Thresholds::from_config(&app.config),
        )
    });
    let out = tokio::task::spawn_blocking(move || {
        let storage = storage_of.map_or(Value::Null, |(m, t)| storage_status(&m, &t, hearing));
        if !dir.exists() {
            return json!({"hearing_id": hearing, "status": "none", "storage": storage});
        }
        let chain = writer::read_chain(&dir);
        let manifest: Option<Value> = std::fs::read(dir.join(seal::MANIFEST))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let open = dir.join(writer::OPEN_MARKER).exists();
        let status = match (&manifest, open) {
            (_, true) => "recording",
            (Some(m), false) if m["complete"] == true => "sealed",
            (Some(_), false) => "interrupted",
            (None, false) => "unsealed",
        };
        let (first, last) = (
            chain.first().map_or(0, |c| c.first_us),
            chain.last().map_or(0, |c| c.last_us),
        );
        let verification = manifest.as_ref().map(|_| {
            let r = verify::verify_dir(&dir, ca_der.as_deref());
            json!({"ok": r.problems.is_empty() && r.anchored, "anchored": r.anchored,
                   "problems": r.problems})
        });
        let processing = crate::recording::jobs::state(&dir);
        // What a clerk wants to know: recording / processing n% / ready / interrupted.
        let state = match (status, processing.as_deref()) {
            ("recording", _) => "recording",
            (_, Some("queued" | "processing")) => "processing",
            (_, Some("failed")) => "failed",
            ("sealed", Some("done")) => "ready",
            (s, _) => s,
        };
        json!({
            "hearing_id": hearing,
            "state": state,
            "percent": crate::recording::jobs::progress(&dir),
            "status": status,
            "segments": chain.len(),
            "bytes": chain.iter().map(|c| c.size).sum::<u64>(),
            "duration_s": (last.saturating_sub(first)) as f64 / 1e6,
            "tracks": manifest.as_ref().map(|m| m["tracks"].as_array().map_or(0, |t| t.len())),
            "interruptions": manifest.as_ref().map(|m| m["interruptions"].clone()),
            "verification": verification,
            "processing": processing,
            "storage": storage,
        })
    })
    .await
    .map_err(anyhow::Error::from)?;
    Ok(Json(out))
}

/// The recording storage as the status shows it (blocking: probes the filesystem).
fn storage_status(
    m: &crate::recording::disk::Monitor,
    t: &crate::recording::disk::Thresholds,
    hearing: i64,
) -> Value {
    use crate::recording::disk::{self, Level, MB};
    let space = match m.space(std::time::Duration::from_secs(1)) {
        Ok(s) => s,
        Err(e) => return json!({"error": e.to_string()}),
    };
    let rate = m.rate();
    let a = disk::assess(Level::Ok, space.free_bytes, rate, t);
    let writer = m.hearing(hearing).unwrap_or_default();
    let notice = crate::hearing::messages::StorageNotice::new(
        a.level,
        writer.paused.as_deref(),
        space.free_bytes,
        a.minutes_left,
        crate::time::now_ms(),
    );
    json!({
        "free_bytes": space.free_bytes,
        "total_bytes": space.total_bytes,
        "level": a.level,
        "minutes_left": a.minutes_left,
        "write_rate_bps": rate.round(),
        "warn_free_mb": t.warn_free / MB,
        "stop_free_mb": t.stop_free / MB,
        "paused": writer.paused,
        "lost_bytes": writer.lost_bytes,
        "warning": (notice.kind != "ok").then_some(notice.text),
    })
}
