//! What goes into a case-file bundle, decided from the database: the plan the writer
//! follows. Which part (正卷/副卷) and who asks decide what is in it; everything left out
//! for a reason is listed as omitted, so the bundle says what it is not.
//!
//! Main file: the case summary (ID numbers and phones masked), every document's current
//! signed PDF and its completion certificate, the signature records (without IP and
//! device), the hearings' event logs, the recordings (sealed manifest always; segments
//! and playable files when video is asked for), exhibits shown in the hearing, and the
//! trust files. Parties get the main file without recordings or hearing logs.
//! Secondary file: the audit trail of the case, identity checks with IP and device, the
//! signature records in full, superseded and void versions, exhibits never shown, and the
//! unmasked case summary.

use super::manifest::{
    AuditHead, CA_CERT, CaseInfo, CommissionInfo, FileKind, Omitted, Part, SEAL_CERT,
};
use crate::app::App;
use crate::authz::Principal;
use crate::domain::masking;
use crate::error::{AppError, AppResult};
use crate::esign::templates::DocKind;
use crate::recording::{jobs, seal, writer};
use crate::store::cases::CaseRow;
use crate::store::{commissions, documents};
use serde_json::{Value, json};
use sqlx::AnyConnection;
use std::path::PathBuf;

pub enum Source {
    File(PathBuf),
    Bytes(Vec<u8>),
}

pub struct PlannedFile {
    pub path: String,
    pub kind: FileKind,
    pub title: String,
    pub source: Source,
}

pub struct Plan {
    pub part: Part,
    pub video: bool,
    /// Made for a party (no recordings): kept under a name only parties reach, so a
    /// party holding a staff bundle's id cannot download its recordings.
    pub for_party: bool,
    pub case: CaseInfo,
    pub commission: CommissionInfo,
    pub created_by: String,
    pub created_at_ms: i64,
    pub audit_head: Option<AuditHead>,
    pub files: Vec<PlannedFile>,
    pub omitted: Vec<Omitted>,
    pub seal_pkcs8: Vec<u8>,
}

impl Plan {
    fn add(&mut self, path: String, kind: FileKind, title: impl Into<String>, source: Source) {
        self.files.push(PlannedFile {
            path,
            kind,
            title: title.into(),
            source,
        });
    }
    fn omit(&mut self, what: impl Into<String>, reason: impl Into<String>) {
        self.omitted.push(Omitted {
            what: what.into(),
            reason: reason.into(),
        });
    }
    /// Bytes the writer will copy (for progress).
    pub fn total_bytes(&self) -> u64 {
        self.files
            .iter()
            .map(|f| match &f.source {
                Source::Bytes(b) => b.len() as u64,
                Source::File(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            })
            .sum()
    }
}

fn json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap_or_default()
}

/// A file name for a bundle path: no separators, no control characters, bounded length.
pub fn safe_component(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.is_empty() {
        return "file".into();
    }
    // The cap is in bytes, because the verifier bounds a path in bytes
    // (`safe_zip::MAX_NAME_BYTES`) and a Chinese character is three of them; a short
    // extension survives the cut so the file still opens with the right program.
    let (stem, ext) = match trimmed.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= MAX_EXTENSION_BYTES => {
            (stem, Some(ext))
        }
        _ => (trimmed, None),
    };
    let room = MAX_COMPONENT_BYTES - ext.map_or(0, |e| e.len() + 1);
    let mut out = String::with_capacity(MAX_COMPONENT_BYTES);
    for c in stem.chars() {
        if out.len() + c.len_utf8() > room {
            break;
        }
        out.push(c);
    }
    if let Some(ext) = ext {
        out.push('.');
        out.push_str(ext);
    }
    out
}

/// A file-name component in a bundle, in bytes: with its directory and id prefix a
/// path stays far below the verifier's limit.
pub const MAX_COMPONENT_BYTES: usize = 120;
const MAX_EXTENSION_BYTES: usize = 10;

#[derive(sqlx::FromRow)]
struct PartyRow {
    id: i64,
    side: String,
    kind: String,
    name: String,
    legal_rep: Option<String>,
    phone: String,
    id_number: String,
}

#[derive(sqlx::FromRow)]
struct IdentityCheckRow {
    invitation_id: i64,
    role: String,
    name: String,
    verified_at: i64,
    ip: Option<String>,
    user_agent: Option<String>,
}

fn kind_title(kind: &str) -> String {
    DocKind::parse(kind).map_or_else(|| kind.to_string(), |k| k.title_zh().to_string())
}

pub async fn plan(
    app: &App,
    conn: &mut AnyConnection,
    who: &Principal,
    case: &CaseRow,
    part: Part,
    video: bool,
) -> AppResult<Plan> {
    let party = matches!(who, Principal::Party(_));
    let video = video && !party;
    let commission = commissions::get(&mut *conn, case.commission_id).await?;
    let seal_pkcs8 = std::fs::read(commissions::seal_key_path(app, case.commission_id))
        .map_err(|_| AppError::internal("commission seal key"))?;
    let seal_public_key = crate::recording::manifest::public_key_hex(&seal_pkcs8)
        .map_err(|_| AppError::internal("commission seal key"))?;
    let ca = crate::esign::service::commission_ca(app, &commission)?;
    let seal_cert = ca
        .seal_cert(
            &app.config.data_dir.join("keys"),
            commission.id,
            &seal_pkcs8,
        )
        .map_err(|e| {
            tracing::error!(error = %e, "seal certificate");
            AppError::internal("seal certificate")
        })?;
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await?;
    let mut plan = Plan {
        part,
        video,
        for_party: party,
        case: CaseInfo {
            id: case.id,
            number: case.number.clone(),
            cause: case.cause.clone(),
            procedure: case.procedure_kind.clone(),
            status: case.status.clone(),
            closing_method: case.closing_method.clone(),
            accepted_at_ms: case.accepted_at,
            closed_at_ms: case.closed_at,
        },
        commission: CommissionInfo {
            id: commission.id,
            name: commission.name.clone(),
            seal_public_key,
            ca_certificate_sha256: crate::esign::ca::cert_sha256_hex(ca.cert_der()),
        },
        created_by: who.audit_name(),
        created_at_ms: crate::time::now_ms(),
        audit_head: head.map(|(seq, hash)| AuditHead { seq, hash }),
        files: Vec::new(),
        omitted: Vec::new(),
        seal_pkcs8,
    };
    let seal_pem = crate::esign::ca::cert_pem_of(&seal_cert)
        .map_err(|_| AppError::internal("seal certificate"))?;
    plan.add(
        CA_CERT.into(),
        FileKind::Trust,
        "仲裁委 CA 证书 / commission CA certificate",
        Source::Bytes(ca.cert_pem().into_bytes()),
    );
    plan.add(
        SEAL_CERT.into(),
        FileKind::Trust,
        "仲裁委签章证书 / commission seal certificate",
        Source::Bytes(seal_pem.into_bytes()),
    );
    plan.add(
        "case.json".into(),
        FileKind::Case,
        "案件概况 / case summary",
        Source::Bytes(json_bytes(
            &case_summary(conn, case, part == Part::Secondary).await?,
        )),
    );
    add_documents(app, conn, case, part, &mut plan).await?;
    add_exhibits(app, conn, case, part, &mut plan).await?;
    match part {
        Part::Main if party => plan.omit(
            "录像与庭审记录 / recordings and hearing logs",
            "当事人不得下载录像 / parties may not download recordings",
        ),
        Part::Main => add_hearings(app, conn, case, &mut plan).await?,
        Part::Secondary => add_secondary(conn, case, &mut plan).await?,
    }
    Ok(plan)
}

async fn case_summary(conn: &mut AnyConnection, case: &CaseRow, full: bool) -> AppResult<Value> {
    let parties: Vec<PartyRow> = sqlx::query_as(
        "SELECT id, side, kind, name, legal_rep, phone, id_number FROM parties WHERE case_id = $1 ORDER BY id",
    )
    .bind(case.id)
    .fetch_all(&mut *conn)
    .await?;
    let claims: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT position, description, amount_cents FROM claims WHERE case_id = $1 ORDER BY position",
    )
    .bind(case.id)
    .fetch_all(&mut *conn)
    .await?;
    let hearings: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT id, scheduled_at, status FROM hearings WHERE case_id = $1 OR ($2 = 1 AND case_id = $3) ORDER BY scheduled_at, id",
    )
    .bind(case.id)
    .bind(case.merged_hearing)
    .bind(case.counterclaim_of.unwrap_or(-1))
    .fetch_all(&mut *conn)
    .await?;
    let statuses: Vec<(String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT from_status, to_status, reason, changed_at FROM status_changes WHERE case_id = $1 ORDER BY id",
    )
    .bind(case.id)
    .fetch_all(&mut *conn)
    .await?;
    let mask = |s: &str, f: fn(&str) -> String| if full { s.to_string() } else { f(s) };
    Ok(json!({
        "number": case.number,
        "cause": case.cause,
        "procedure": case.procedure_kind,
        "status": case.status,
        "closing_method": case.closing_method,
        "accepted_at_ms": case.accepted_at,
        "closed_at_ms": case.closed_at,
        "counterclaim_of": case.counterclaim_of,
        "merged_hearing": case.merged_hearing == 1,
        "parties": parties.iter().map(|p| json!({
            "id": p.id, "side": p.side, "kind": p.kind, "name": p.name, "legal_rep": p.legal_rep,
            "phone": mask(&p.phone, masking::phone), "id_number": mask(&p.id_number, masking::id_number),
        })).collect::<Vec<_>>(),
        "claims": claims.iter().map(|c| json!({"position": c.0, "description": c.1, "amount_cents": c.2})).collect::<Vec<_>>(),
        "hearings": hearings.iter().map(|h| json!({"id": h.0, "scheduled_at_ms": h.1, "status": h.2})).collect::<Vec<_>>(),
        "status_changes": statuses.iter().map(|s| json!({"from": s.0, "to": s.1, "reason": s.2, "at_ms": s.3})).collect::<Vec<_>>(),
    }))
}

async fn add_documents(
    app: &App,
    conn: &mut AnyConnection,
    case: &CaseRow,
    part: Part,
    plan: &mut Plan,
) -> AppResult<()> {
    let docs = documents::list_for_case(&mut *conn, case.id).await?;
    let mut records = Vec::new();
    let mut strokes: std::collections::HashSet<String> = Default::default();
    for d in &docs {
        let versions: Vec<(i64,)> = sqlx::query_as(
            "SELECT version FROM document_versions WHERE document_id = $1 ORDER BY version",
        )
        .bind(d.id)
        .fetch_all(&mut *conn)
        .await?;
        for (n,) in versions {
            let v = documents::version(&mut *conn, d.id, n).await?;
            let current = n == d.current_version && d.status != "void";
            let title = format!("{}（第{}版）", kind_title(&d.kind), n);
            let stem = format!("{}-{}-v{}", d.kind, d.id, n);
            if current && part == Part::Main {
                plan.add(
                    format!("documents/{stem}.pdf"),
                    FileKind::Document,
                    format!("{title} / {} ({})", d.kind, d.status),
                    Source::File(documents::pdf_path(app, &v.head_sha256)),
                );
                if let Some(c) = &v.certificate_sha256 {
                    plan.add(
                        format!("documents/{stem}-certificate.pdf"),
                        FileKind::Certificate,
                        format!("{title} 签署完成证明 / certificate of completion"),
                        Source::File(documents::pdf_path(app, c)),
                    );
                }
            } else if !current && part == Part::Secondary {
                plan.add(
                    format!("documents/superseded/{stem}.pdf"),
                    FileKind::Document,
                    format!("{title} 已被取代或作废 / superseded or void"),
                    Source::File(documents::pdf_path(app, &v.head_sha256)),
                );
            }
            for s in documents::signatures(&mut *conn, v.id).await? {
                let in_part = match part {
                    Part::Main => current,
                    Part::Secondary => true,
                };
                if !in_part {
                    continue;
                }
                let mut rec = json!({
                    "id": s.id, "document_id": d.id, "kind": d.kind, "version": n,
                    "slot": s.slot, "status": s.status, "name": s.name, "role": s.role,
                    "method": s.method, "cert_fingerprint": s.cert_fingerprint,
                    "doc_sha256": s.doc_sha256, "revision_sha256": s.revision_sha256,
                    "image_sha256": s.image_sha256, "strokes_sha256": s.strokes_sha256,
                    "webauthn": s.webauthn.as_deref().and_then(|w| serde_json::from_str::<Value>(w).ok()),
                    "reason": s.reason, "at_ms": s.at, "audit_seq": s.audit_id,
                });
                if part == Part::Secondary {
                    rec["ip"] = json!(s.ip);
                    rec["user_agent"] = json!(s.user_agent);
                    if let Some(sha) = s.strokes_sha256.as_deref()
                        && strokes.insert(sha.to_string())
                    {
                        let path = crate::http::signing::strokes_path(app, sha);
                        if path.exists() {
                            plan.add(
                                format!("documents/strokes/{sha}.json"),
                                FileKind::Strokes,
                                format!("手写签名笔迹 / handwriting strokes of {}", s.name),
                                Source::File(path),
                            );
                        }
                    }
                }
                records.push(rec);
            }
        }
    }
    if !records.is_empty() {
        plan.add(
            "documents/signatures.json".into(),
            FileKind::Signatures,
            "签名记录 / signature records",
            Source::Bytes(json_bytes(&Value::Array(records))),
        );
    }
    Ok(())
}

async fn add_exhibits(
    app: &App,
    conn: &mut AnyConnection,
    case: &CaseRow,
    part: Part,
    plan: &mut Plan,
) -> AppResult<()> {
    let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT id, name, sha256, status FROM exhibits WHERE case_id = $1 ORDER BY id",
    )
    .bind(case.id)
    .fetch_all(&mut *conn)
    .await?;
    for (id, name, sha, status) in rows {
        let shown = status == "shown";
        if shown != (part == Part::Main) {
            continue;
        }
        let path = app.config.data_dir.join("exhibits").join(&sha);
        if !path.is_file() {
            plan.omit(
                format!("证据 #{id} {name}"),
                "文件缺失 / file missing on the server",
            );
            continue;
        }
        plan.add(
            format!("exhibits/{id}-{}", safe_component(&name)),
            FileKind::Exhibit,
            format!("证据 / exhibit: {name}"),
            Source::File(path),
        );
    }
    Ok(())
}

async fn add_hearings(
    app: &App,
    conn: &mut AnyConnection,
    case: &CaseRow,
    plan: &mut Plan,
) -> AppResult<()> {
    let hearings: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, case_id FROM hearings WHERE case_id = $1 OR ($2 = 1 AND case_id = $3) ORDER BY scheduled_at, id",
    )
    .bind(case.id)
    .bind(case.merged_hearing)
    .bind(case.counterclaim_of.unwrap_or(-1))
    .fetch_all(&mut *conn)
    .await?;
    for (hearing, hearing_case) in hearings {
        let events: Vec<(i64, String, String, Option<String>, String)> = sqlx::query_as(
            "SELECT at, kind, actor, target, detail FROM hearing_events WHERE hearing_id = $1 ORDER BY id",
        )
        .bind(hearing)
        .fetch_all(&mut *conn)
        .await?;
        if !events.is_empty() {
            let list: Vec<Value> = events
                .into_iter()
                .map(|(at, kind, actor, target, detail)| {
                    json!({"at_ms": at, "kind": kind, "actor": actor, "target": target,
                           "detail": serde_json::from_str::<Value>(&detail).unwrap_or(Value::Null)})
                })
                .collect();
            plan.add(
                format!("hearings/hearing-{hearing}/events.json"),
                FileKind::HearingEvents,
                format!("第 {hearing} 次庭审记录（事件）/ hearing {hearing} event log"),
                Source::Bytes(json_bytes(&Value::Array(list))),
            );
        }
        add_recording(app, hearing, hearing_case, plan);
    }
    Ok(())
}

fn add_recording(app: &App, hearing: i64, hearing_case: i64, plan: &mut Plan) {
    let dir = writer::hearing_dir(&app.config.recordings_dir, hearing_case, hearing);
    let manifest_path = dir.join(seal::MANIFEST);
    let Ok(bytes) = std::fs::read(&manifest_path) else {
        if dir.is_dir() {
            plan.omit(
                format!("第 {hearing} 次庭审录像 / recording of hearing {hearing}"),
                "尚未封存（庭审进行中）/ not sealed yet (hearing in progress)",
            );
        }
        return;
    };
    let Ok(m) = serde_json::from_slice::<crate::recording::manifest::Manifest>(&bytes) else {
        plan.omit(
            format!("第 {hearing} 次庭审录像 / recording of hearing {hearing}"),
            "录像清单无法解析 / recording manifest unreadable",
        );
        return;
    };
    let prefix = format!("recordings/hearing-{hearing}");
    plan.add(
        format!("{prefix}/{}", seal::MANIFEST),
        FileKind::RecordingManifest,
        format!("第 {hearing} 次庭审录像清单（已封存）/ sealed recording manifest"),
        Source::Bytes(bytes),
    );
    plan.add(
        format!("{prefix}/{}", seal::SIGNATURE),
        FileKind::RecordingSeal,
        "录像签章 / recording seal",
        Source::File(dir.join(seal::SIGNATURE)),
    );
    if !plan.video {
        plan.omit(
            format!("第 {hearing} 次庭审音视频 / audio and video of hearing {hearing}"),
            "按要求不含音视频 / bundle made without video",
        );
        return;
    }
    for s in &m.segments {
        plan.add(
            format!("{prefix}/{}", s.name),
            FileKind::RecordingSegment,
            "原始录制分段 / raw recorded segment",
            Source::File(dir.join(&s.name)),
        );
    }
    if jobs::state(&dir).as_deref() != Some("done") {
        plan.omit(
            format!("第 {hearing} 次庭审的可播放录像 / playable files of hearing {hearing}"),
            "仍在生成，稍后重新生成卷宗即可收入 / still being made; make the bundle again later",
        );
        return;
    }
    for f in crate::http::recordings::list_export(&dir) {
        let title = match &f.participant {
            Some(p) => format!("参与人录像 / participant recording: {p}"),
            None => "合成庭审录像 / composite hearing recording".to_string(),
        };
        plan.add(
            format!("{prefix}/{}/{}", jobs::EXPORT_DIR, f.name),
            FileKind::RecordingExport,
            title,
            Source::File(dir.join(jobs::EXPORT_DIR).join(&f.name)),
        );
    }
}

async fn add_secondary(conn: &mut AnyConnection, case: &CaseRow, plan: &mut Plan) -> AppResult<()> {
    let entries: Vec<crate::audit::StoredEntry> = sqlx::query_as(
        "SELECT seq, at, commission_id, case_id, actor, action, target, detail, ip, prev_hash, hash FROM audit_log WHERE case_id = $1 ORDER BY seq",
    )
    .bind(case.id)
    .fetch_all(&mut *conn)
    .await?;
    plan.add(
        "audit/audit-log.jsonl".into(),
        FileKind::Audit,
        "本案审计日志（哈希链）/ the case's audit log (hash-chained)",
        Source::Bytes(super::audit_slice::to_jsonl(&entries)),
    );
    let checks: Vec<IdentityCheckRow> = sqlx::query_as(
        "SELECT i.id AS invitation_id, i.role, i.name, v.verified_at, v.ip, v.user_agent FROM identity_verifications v JOIN invitations i ON i.id = v.invitation_id WHERE i.case_id = $1 ORDER BY v.id",
    )
    .bind(case.id)
    .fetch_all(&mut *conn)
    .await?;
    plan.add(
        "audit/identity-checks.json".into(),
        FileKind::IdentityChecks,
        "身份核验记录 / identity checks",
        Source::Bytes(json_bytes(&Value::Array(
            checks
                .iter()
                .map(|c| json!({"invitation_id": c.invitation_id, "role": c.role, "name": c.name, "verified_at_ms": c.verified_at, "ip": c.ip, "user_agent": c.user_agent}))
                .collect(),
        ))),
    );
    Ok(())
}

#[cfg(test)]
mod safe_component_tests {
    use super::{MAX_COMPONENT_BYTES, safe_component};
    use crate::records::safe_zip::MAX_NAME_BYTES;

    #[test]
    fn long_chinese_names_stay_within_the_verifiers_path_limit() {
        let name = format!("{}.pdf", "劳动合同及工资支付记录照片".repeat(20));
        let c = safe_component(&name);
        assert!(c.len() <= MAX_COMPONENT_BYTES, "{} bytes", c.len());
        assert!(c.ends_with(".pdf"), "{c}");
        assert!(c.starts_with("劳动合同"), "{c}");
        let path = format!("exhibits/{}-{c}", i64::MAX);
        assert!(path.len() <= MAX_NAME_BYTES, "{} bytes", path.len());
    }

    #[test]
    fn separators_controls_and_dots_are_neutralised() {
        assert_eq!(safe_component("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_component("a\\b:c\n.png"), "a_b_c_.png");
        assert_eq!(safe_component(" ... "), "file");
        assert_eq!(safe_component("证据一.JPG"), "证据一.JPG");
        // A long "extension" is part of the name, not kept whole.
        let long_ext = format!("x.{}", "y".repeat(300));
        assert!(safe_component(&long_ext).len() <= MAX_COMPONENT_BYTES);
    }
}
