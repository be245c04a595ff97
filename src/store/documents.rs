//! Case documents for e-signature: versions, signatures, refusals and the seal. The rules
//! of who signs when are `esign::workflow`; this module keeps the record consistent:
//! every step runs in one write transaction (the PDF it produces is written first, under
//! its SHA-256, so a crash leaves at worst an unreferenced file), a signature binds the
//! version's hash, and a version that another signature has moved past refuses a stale
//! one (`document_changed`) instead of forking the PDF.

use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::Principal;
use crate::db::WriteTx;
use crate::error::{AppError, AppResult};
use crate::esign::templates::{DocKind, Fields};
use crate::esign::workflow::{self, DocStatus, SlotState, SlotStatus};
use crate::time::now_ms;
use serde::Serialize;
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DocumentRow {
    pub id: i64,
    pub case_id: i64,
    pub hearing_id: Option<i64>,
    pub kind: String,
    pub status: String,
    pub current_version: i64,
    pub created_by: String,
    pub created_at: i64,
    pub effective_at: Option<i64>,
}

impl DocumentRow {
    pub fn kind(&self) -> DocKind {
        DocKind::parse(&self.kind).unwrap_or(DocKind::Confirmation)
    }
    pub fn status(&self) -> DocStatus {
        DocStatus::parse(&self.status).unwrap_or(DocStatus::Void)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    pub id: i64,
    pub document_id: i64,
    pub version: i64,
    pub fields: String,
    pub template_sha256: String,
    pub slots: String,
    pub page_count: i64,
    pub sha256: String,
    pub head_sha256: String,
    pub revision: i64,
    pub certificate_sha256: Option<String>,
    pub created_by: String,
    pub created_at: i64,
}

/// Where a slot's signature goes on the page (from the renderer).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SlotPlace {
    pub id: String,
    pub label: String,
    pub page: usize,
    pub rect: [f32; 4],
}

impl VersionRow {
    pub fn places(&self) -> Vec<SlotPlace> {
        serde_json::from_str(&self.slots).unwrap_or_default()
    }
    pub fn fields(&self) -> Fields {
        serde_json::from_str(&self.fields).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SignatureRow {
    pub id: i64,
    pub document_id: i64,
    pub version_id: i64,
    pub slot: String,
    pub status: String,
    pub invitation_id: Option<i64>,
    pub user_id: Option<i64>,
    pub name: String,
    pub role: String,
    pub method: String,
    pub cert_fingerprint: Option<String>,
    pub doc_sha256: String,
    pub revision_sha256: Option<String>,
    pub image_sha256: Option<String>,
    pub strokes_sha256: Option<String>,
    pub webauthn: Option<String>,
    pub reason: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub at: i64,
    pub audit_id: i64,
}

const SIGNATURE_COLUMNS: &str = "id, document_id, version_id, slot, status, invitation_id, user_id, name, role, method, cert_fingerprint, doc_sha256, revision_sha256, image_sha256, strokes_sha256, webauthn, reason, ip, user_agent, at, audit_id";

// ---------------------------------------------------------------- PDF files

fn pdf_dir(app: &App) -> PathBuf {
    app.config.data_dir.join("documents")
}

/// Where the PDF with this SHA-256 is kept.
pub fn pdf_path(app: &App, sha: &str) -> PathBuf {
    pdf_dir(app).join(format!("{sha}.pdf"))
}

/// Store a PDF under its SHA-256 (atomic rename; an existing file of that name already
/// holds these exact bytes).
pub fn put_pdf(app: &App, bytes: &[u8]) -> AppResult<String> {
    let sha = crate::crypto::sha256_hex(bytes);
    let dir = pdf_dir(app);
    let path = dir.join(format!("{sha}.pdf"));
    if path.exists() {
        return Ok(sha);
    }
    std::fs::create_dir_all(&dir).map_err(|e| io_err("creating the document store", e))?;
    let tmp = dir.join(format!(".{sha}.{}.tmp", crate::crypto::random_token()));
    std::fs::write(&tmp, bytes).map_err(|e| io_err("writing a document", e))?;
    if let Ok(f) = std::fs::File::open(&tmp) {
        let _ = f.sync_all();
    }
    std::fs::rename(&tmp, &path).map_err(|e| io_err("storing a document", e))?;
    Ok(sha)
}

/// Read a stored PDF and check it is still the file its name promises.
pub fn get_pdf(app: &App, sha: &str) -> AppResult<Vec<u8>> {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::not_found("document file"));
    }
    let bytes = std::fs::read(pdf_dir(app).join(format!("{sha}.pdf")))
        .map_err(|_| AppError::not_found("document file"))?;
    if crate::crypto::sha256_hex(&bytes) != sha {
        tracing::error!(sha, "stored document does not match its hash");
        return Err(AppError::internal("document file altered"));
    }
    Ok(bytes)
}

fn io_err(what: &str, e: std::io::Error) -> AppError {
    tracing::error!(error = %e, "{what}");
    AppError::internal(what)
}

// ---------------------------------------------------------------- reads

pub async fn get(conn: &mut sqlx::AnyConnection, id: i64) -> AppResult<DocumentRow> {
    sqlx::query_as("SELECT id, case_id, hearing_id, kind, status, current_version, created_by, created_at, effective_at FROM documents WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::not_found("document"))
}

pub async fn list_for_case(
    conn: &mut sqlx::AnyConnection,
    case_id: i64,
) -> AppResult<Vec<DocumentRow>> {
    Ok(sqlx::query_as("SELECT id, case_id, hearing_id, kind, status, current_version, created_by, created_at, effective_at FROM documents WHERE case_id = $1 ORDER BY id")
        .bind(case_id)
        .fetch_all(conn)
        .await?)
}

pub async fn version(
    conn: &mut sqlx::AnyConnection,
    document_id: i64,
    version: i64,
) -> AppResult<VersionRow> {
    sqlx::query_as("SELECT id, document_id, version, fields, template_sha256, slots, page_count, sha256, head_sha256, revision, certificate_sha256, created_by, created_at FROM document_versions WHERE document_id = $1 AND version = $2")
        .bind(document_id)
        .bind(version)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::not_found("document version"))
}

pub async fn version_by_id(conn: &mut sqlx::AnyConnection, id: i64) -> AppResult<VersionRow> {
    sqlx::query_as("SELECT id, document_id, version, fields, template_sha256, slots, page_count, sha256, head_sha256, revision, certificate_sha256, created_by, created_at FROM document_versions WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::not_found("document version"))
}

pub async fn signatures(
    conn: &mut sqlx::AnyConnection,
    version_id: i64,
) -> AppResult<Vec<SignatureRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SIGNATURE_COLUMNS} FROM signatures WHERE version_id = $1 ORDER BY id"
    )))
    .bind(version_id)
    .fetch_all(conn)
    .await?)
}

/// The slot states of a version, from its signature rows.
pub fn slot_states(kind: DocKind, sigs: &[SignatureRow]) -> Vec<SlotState> {
    let mut slots = workflow::fresh_slots(kind);
    for s in &mut slots {
        if let Some(sig) = sigs.iter().find(|g| g.slot == s.id) {
            s.status = match sig.status.as_str() {
                "refused" => SlotStatus::Refused,
                _ => SlotStatus::Signed,
            };
        }
    }
    slots
}

// ---------------------------------------------------------------- writes

pub struct NewVersion {
    pub fields: Fields,
    pub template_sha256: String,
    pub places: Vec<SlotPlace>,
    pub page_count: usize,
    pub pdf_sha256: String,
}

pub async fn create(
    tx: &mut WriteTx,
    who: &Principal,
    case_id: i64,
    hearing_id: Option<i64>,
    kind: DocKind,
    v: &NewVersion,
) -> AppResult<i64> {
    let now = now_ms();
    let (id,): (i64,) = sqlx::query_as("INSERT INTO documents (case_id, hearing_id, kind, status, current_version, created_by, created_at) VALUES ($1,$2,$3,'signing',1,$4,$5) RETURNING id")
        .bind(case_id)
        .bind(hearing_id)
        .bind(kind.as_str())
        .bind(who.audit_name())
        .bind(now)
        .fetch_one(tx.conn())
        .await?;
    insert_version(tx, who, id, 1, v).await?;
    tx.audit(
        AuditEntry::new(who, "document.create", format!("document:{id}"))
            .case(case_id)
            .detail(json!({"kind": kind.as_str(), "version": 1, "sha256": v.pdf_sha256, "template_sha256": v.template_sha256, "hearing_id": hearing_id})),
    )
    .await?;
    Ok(id)
}

async fn insert_version(
    tx: &mut WriteTx,
    who: &Principal,
    document_id: i64,
    version: i64,
    v: &NewVersion,
) -> AppResult<()> {
    sqlx::query("INSERT INTO document_versions (document_id, version, fields, template_sha256, slots, page_count, sha256, head_sha256, revision, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$7,0,$8,$9)")
        .bind(document_id)
        .bind(version)
        .bind(serde_json::to_string(&v.fields).unwrap_or_default())
        .bind(&v.template_sha256)
        .bind(serde_json::to_string(&v.places).unwrap_or_default())
        .bind(v.page_count as i64)
        .bind(&v.pdf_sha256)
        .bind(who.audit_name())
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// A changed text is a new version; every signature must be given again.
pub async fn new_version(
    tx: &mut WriteTx,
    who: &Principal,
    doc: &DocumentRow,
    v: &NewVersion,
) -> AppResult<i64> {
    match doc.status() {
        DocStatus::Signing => {}
        DocStatus::Effective => {
            return Err(AppError::conflict(
                "document_effective",
                workflow::Refusal::Effective.message(),
            ));
        }
        DocStatus::Void => {
            return Err(AppError::conflict(
                "document_void",
                workflow::Refusal::Void.message(),
            ));
        }
    }
    let next = doc.current_version + 1;
    // Guarded on the version we read, so two concurrent edits cannot both win.
    let changed = sqlx::query(
        "UPDATE documents SET current_version = $1 WHERE id = $2 AND current_version = $3",
    )
    .bind(next)
    .bind(doc.id)
    .bind(doc.current_version)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(stale());
    }
    insert_version(tx, who, doc.id, next, v).await?;
    tx.audit(
        AuditEntry::new(who, "document.new_version", format!("document:{}", doc.id))
            .case(doc.case_id)
            .detail(json!({"version": next, "sha256": v.pdf_sha256, "previous_version": doc.current_version})),
    )
    .await?;
    Ok(next)
}

pub fn stale() -> AppError {
    AppError::conflict(
        "document_changed",
        "文书已被他人更新，请重新加载后签署 / the document changed meanwhile; reload and sign again",
    )
}

/// Everything recorded about one signature (or refusal, or the seal).
pub struct SignatureRecord<'a> {
    pub slot: &'a str,
    pub status: &'a str,
    pub invitation_id: Option<i64>,
    pub user_id: Option<i64>,
    pub name: &'a str,
    pub role: &'a str,
    pub method: &'a str,
    pub cert_fingerprint: Option<&'a str>,
    pub revision_sha256: Option<&'a str>,
    pub image_sha256: Option<&'a str>,
    pub strokes_sha256: Option<&'a str>,
    pub webauthn: Option<String>,
    pub reason: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Append a signature to the version: the version's head moves to the new revision
/// (guarded on the revision the signature was prepared on), the row and its audit entry
/// are written together.
pub async fn record_signature(
    tx: &mut WriteTx,
    who: &Principal,
    doc: &DocumentRow,
    ver: &VersionRow,
    base_revision: i64,
    rec: &SignatureRecord<'_>,
) -> AppResult<i64> {
    let now = now_ms();
    if let Some(head) = rec.revision_sha256 {
        let moved = sqlx::query("UPDATE document_versions SET head_sha256 = $1, revision = revision + 1 WHERE id = $2 AND revision = $3")
            .bind(head)
            .bind(ver.id)
            .bind(base_revision)
            .execute(tx.conn())
            .await?
            .rows_affected();
        if moved != 1 {
            return Err(stale());
        }
    }
    let action = match rec.status {
        "refused" => "document.refused",
        "sealed" => "document.sealed",
        _ => "document.signed",
    };
    let audit_id = tx
        .audit(
            AuditEntry::new(who, action, format!("document:{}", doc.id))
                .case(doc.case_id)
                .ip(rec.ip.map(str::to_string))
                .detail(json!({
                    "version": ver.version, "slot": rec.slot, "name": rec.name, "role": rec.role,
                    "method": rec.method, "certificate": rec.cert_fingerprint,
                    "doc_sha256": ver.sha256, "revision_sha256": rec.revision_sha256,
                    "image_sha256": rec.image_sha256, "strokes_sha256": rec.strokes_sha256,
                    "reason": rec.reason, "user_agent": rec.user_agent,
                })),
        )
        .await?;
    let inserted = sqlx::query("INSERT INTO signatures (document_id, version_id, slot, status, invitation_id, user_id, name, role, method, cert_fingerprint, doc_sha256, revision_sha256, image_sha256, strokes_sha256, webauthn, reason, ip, user_agent, at, audit_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20) ON CONFLICT DO NOTHING")
        .bind(doc.id)
        .bind(ver.id)
        .bind(rec.slot)
        .bind(rec.status)
        .bind(rec.invitation_id)
        .bind(rec.user_id)
        .bind(rec.name)
        .bind(rec.role)
        .bind(rec.method)
        .bind(rec.cert_fingerprint)
        .bind(&ver.sha256)
        .bind(rec.revision_sha256)
        .bind(rec.image_sha256)
        .bind(rec.strokes_sha256)
        .bind(rec.webauthn.as_deref())
        .bind(rec.reason)
        .bind(rec.ip)
        .bind(rec.user_agent.map(|u| u.chars().take(300).collect::<String>()))
        .bind(now)
        .bind(audit_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if inserted != 1 {
        return Err(AppError::conflict(
            "already_signed",
            workflow::Refusal::AlreadyDone.message(),
        ));
    }
    Ok(audit_id)
}

pub async fn mark_effective(
    tx: &mut WriteTx,
    who: &Principal,
    doc: &DocumentRow,
    ver: &VersionRow,
    final_sha256: &str,
    certificate_sha256: &str,
) -> AppResult<i64> {
    let now = now_ms();
    let changed = sqlx::query("UPDATE documents SET status = 'effective', effective_at = $1 WHERE id = $2 AND status = 'signing'")
        .bind(now)
        .bind(doc.id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if changed != 1 {
        return Err(stale());
    }
    sqlx::query("UPDATE document_versions SET certificate_sha256 = $1 WHERE id = $2")
        .bind(certificate_sha256)
        .bind(ver.id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        AuditEntry::new(who, "document.effective", format!("document:{}", doc.id))
            .case(doc.case_id)
            .detail(json!({"kind": doc.kind, "version": ver.version, "final_sha256": final_sha256, "certificate_sha256": certificate_sha256})),
    )
    .await?;
    Ok(now)
}

/// Is the simplified-procedure confirmation of this case in effect? `Err` explains what
/// is missing, for the chair.
pub async fn confirmation_gate(
    conn: &mut sqlx::AnyConnection,
    case_id: i64,
) -> AppResult<Result<(), String>> {
    let docs: Vec<(i64, String, i64)> = sqlx::query_as("SELECT id, status, current_version FROM documents WHERE case_id = $1 AND kind = 'confirmation' ORDER BY id DESC")
        .bind(case_id)
        .fetch_all(&mut *conn)
        .await?;
    if docs.iter().any(|(_, s, _)| s == "effective") {
        return Ok(Ok(()));
    }
    let Some((id, _, v)) = docs.into_iter().find(|(_, s, _)| s == "signing") else {
        return Ok(Err("简易程序确认书尚未发送签署 / the simplified-procedure confirmation has not been sent for signature".into()));
    };
    let ver = version(conn, id, v).await?;
    let sigs = signatures(conn, ver.id).await?;
    let waiting = workflow::pending(
        DocKind::Confirmation,
        &slot_states(DocKind::Confirmation, &sigs),
    );
    let zh = waiting
        .iter()
        .map(|s| workflow::slot_label_zh(s))
        .collect::<Vec<_>>()
        .join("、");
    Ok(Err(format!(
        "简易程序确认书尚未生效，待签署：{zh} / the simplified-procedure confirmation is not yet effective; waiting for: {}",
        waiting.join(", ")
    )))
}
