//! The signer's side of e-signature: who a principal is as a signer of a document, the
//! short-lived certificates for keys that live on signers' phones, and the prepared
//! signatures waiting for the phone's answer.
//!
//! A certificate binds one public key to one person, role and case; a prepared signature
//! binds one certificate, one document version and one revision of its PDF. A signature
//! that arrives for anything else (another key, an older version, a revision someone
//! else has since signed, a used preparation) is refused, so a captured signature cannot
//! be replayed onto a different document state.

use crate::audit::AuditEntry;
use crate::authz::Principal;
use crate::db::WriteTx;
use crate::domain::roles::{InviteeRole, StaffRole};
use crate::error::{AppError, AppResult};
use crate::time::{MINUTE_MS, now_ms};
use serde_json::json;

/// A party must have proved identity with a one-time code this recently to sign.
pub const FRESH_VERIFICATION_MS: i64 = 15 * MINUTE_MS;
/// Signer certificates live two hours: long enough for a hearing's mediation, short
/// enough that a lost phone's key soon stops working.
pub const CERT_TTL_MS: i64 = 2 * 60 * MINUTE_MS;
/// A prepared signature must be completed within ten minutes.
pub const PREPARE_TTL_MS: i64 = 10 * MINUTE_MS;

/// A principal as the holder of a signature slot.
#[derive(Debug, Clone)]
pub struct Signer {
    pub slot: String,
    pub name: String,
    pub invitation_id: Option<i64>,
    pub user_id: Option<i64>,
    /// Whatever identifies the person (ID number, or the staff account), hashed with the
    /// server key into the certificate so the number itself never appears in it.
    pub identity_ref: String,
}

/// Which slot of a document of `case_id` the principal may sign, if any.
pub async fn signer_for(
    conn: &mut sqlx::AnyConnection,
    who: &Principal,
    case_id: i64,
    hearing_id: Option<i64>,
) -> AppResult<Option<Signer>> {
    match who {
        Principal::Party(p) => {
            if p.case_id != case_id {
                return Ok(None);
            }
            let slot = match p.role {
                InviteeRole::Applicant => "applicant",
                InviteeRole::Respondent => "respondent",
                _ => return Ok(None),
            };
            let (id_number,): (String,) =
                sqlx::query_as("SELECT id_number FROM invitations WHERE id = $1")
                    .bind(p.invitation_id)
                    .fetch_one(conn)
                    .await?;
            Ok(Some(Signer {
                slot: slot.into(),
                name: p.name.clone(),
                invitation_id: Some(p.invitation_id),
                user_id: None,
                identity_ref: format!("id:{id_number}"),
            }))
        }
        Principal::Staff(s) => {
            let slot = match s.role {
                StaffRole::Mediator => {
                    let assigned: Vec<(i64,)> = sqlx::query_as(
                        "SELECT id FROM hearings WHERE case_id = $1 AND mediator_id = $2",
                    )
                    .bind(case_id)
                    .bind(s.user_id)
                    .fetch_all(conn)
                    .await?;
                    // A document of one hearing is the mediator of that hearing's.
                    let assigned = assigned
                        .into_iter()
                        .find(|(h,)| hearing_id.is_none_or(|want| want == *h));
                    assigned.map(|_| "mediator")
                }
                StaffRole::Arbitrator => {
                    let assigned: Option<(i64,)> = sqlx::query_as(
                        "SELECT id FROM cases WHERE id = $1 AND (arbitrator_id = $2 OR id IN (SELECT case_id FROM hearings WHERE presiding_arbitrator_id = $2))",
                    )
                    .bind(case_id)
                    .bind(s.user_id)
                    .fetch_optional(conn)
                    .await?;
                    assigned.map(|_| "arbitrator")
                }
                StaffRole::Clerk => {
                    let mine: Option<(i64,)> =
                        sqlx::query_as("SELECT id FROM cases WHERE id = $1 AND commission_id = $2")
                            .bind(case_id)
                            .bind(s.commission_id)
                            .fetch_optional(conn)
                            .await?;
                    mine.map(|_| "clerk")
                }
                StaffRole::Admin => None,
            };
            Ok(slot.map(|slot| Signer {
                slot: slot.into(),
                name: s.display_name.clone(),
                invitation_id: None,
                user_id: Some(s.user_id),
                identity_ref: format!("user:{}", s.user_id),
            }))
        }
        Principal::System => Ok(None),
    }
}

/// Parties sign only right after a one-time code; staff are inside their login session.
pub async fn require_fresh_verification(
    conn: &mut sqlx::AnyConnection,
    who: &Principal,
) -> AppResult<()> {
    let Principal::Party(p) = who else {
        return Ok(());
    };
    let last: Option<(i64,)> = sqlx::query_as(
        "SELECT verified_at FROM identity_verifications WHERE invitation_id = $1 ORDER BY verified_at DESC LIMIT 1",
    )
    .bind(p.invitation_id)
    .fetch_optional(conn)
    .await?;
    match last {
        Some((at,)) if now_ms() - at <= FRESH_VERIFICATION_MS => Ok(()),
        _ => Err(AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "reverify_required",
            "签署前请先用短信验证码确认身份 / confirm your identity with a one-time code before signing",
        )),
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CertRow {
    pub id: i64,
    pub commission_id: i64,
    pub case_id: i64,
    pub invitation_id: Option<i64>,
    pub user_id: Option<i64>,
    pub role: String,
    pub name: String,
    pub public_key: String,
    pub fingerprint: String,
    pub cert_pem: String,
    pub not_before: i64,
    pub not_after: i64,
}

const CERT_COLUMNS: &str = "id, commission_id, case_id, invitation_id, user_id, role, name, public_key, fingerprint, cert_pem, not_before, not_after";

impl CertRow {
    pub fn der(&self) -> AppResult<Vec<u8>> {
        pem_to_der(&self.cert_pem).ok_or_else(|| AppError::internal("stored certificate"))
    }
    pub fn belongs_to(&self, signer: &Signer, case_id: i64) -> bool {
        self.case_id == case_id
            && self.invitation_id == signer.invitation_id
            && self.user_id == signer.user_id
            && self.role == signer.slot
    }
}

pub fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

pub fn der_to_pem(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// A still-valid certificate of this signer for this key, if one was issued.
pub async fn current_certificate(
    conn: &mut sqlx::AnyConnection,
    signer: &Signer,
    case_id: i64,
    public_key_hex: &str,
) -> AppResult<Option<CertRow>> {
    let rows: Vec<CertRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CERT_COLUMNS} FROM signer_certificates WHERE case_id = $1 AND public_key = $2 AND not_after > $3 ORDER BY id DESC"
    )))
    .bind(case_id)
    .bind(public_key_hex)
    .bind(now_ms() + 5 * MINUTE_MS)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().find(|c| c.belongs_to(signer, case_id)))
}

pub async fn certificate_by_fingerprint(
    conn: &mut sqlx::AnyConnection,
    fingerprint: &str,
) -> AppResult<CertRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CERT_COLUMNS} FROM signer_certificates WHERE fingerprint = $1"
    )))
    .bind(fingerprint)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| {
        AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "certificate_unknown",
            "签名证书无效，请重新验证身份 / unknown signing certificate; verify your identity again",
        )
    })
}

pub struct NewCertificate<'a> {
    pub commission_id: i64,
    pub case_id: i64,
    pub signer: &'a Signer,
    pub public_key_hex: &'a str,
    pub cert_der: &'a [u8],
    pub fingerprint: &'a str,
    pub not_before: i64,
    pub not_after: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn store_certificate(
    tx: &mut WriteTx,
    who: &Principal,
    c: &NewCertificate<'_>,
) -> AppResult<CertRow> {
    let pem = der_to_pem(c.cert_der);
    let (id,): (i64,) = sqlx::query_as("INSERT INTO signer_certificates (commission_id, case_id, invitation_id, user_id, role, name, public_key, fingerprint, cert_pem, not_before, not_after, ip, user_agent, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) RETURNING id")
        .bind(c.commission_id)
        .bind(c.case_id)
        .bind(c.signer.invitation_id)
        .bind(c.signer.user_id)
        .bind(&c.signer.slot)
        .bind(&c.signer.name)
        .bind(c.public_key_hex)
        .bind(c.fingerprint)
        .bind(&pem)
        .bind(c.not_before)
        .bind(c.not_after)
        .bind(c.ip)
        .bind(c.user_agent.map(|u| u.chars().take(300).collect::<String>()))
        .bind(now_ms())
        .fetch_one(tx.conn())
        .await?;
    tx.audit(
        AuditEntry::new(who, "signing.certificate_issued", format!("certificate:{}", c.fingerprint))
            .case(c.case_id)
            .ip(c.ip.map(str::to_string))
            .detail(json!({"slot": c.signer.slot, "name": c.signer.name, "public_key": c.public_key_hex, "not_after": c.not_after})),
    )
    .await?;
    Ok(CertRow {
        id,
        commission_id: c.commission_id,
        case_id: c.case_id,
        invitation_id: c.signer.invitation_id,
        user_id: c.signer.user_id,
        role: c.signer.slot.clone(),
        name: c.signer.name.clone(),
        public_key: c.public_key_hex.into(),
        fingerprint: c.fingerprint.into(),
        cert_pem: pem,
        not_before: c.not_before,
        not_after: c.not_after,
    })
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PrepareRow {
    pub id: String,
    pub version_id: i64,
    pub slot: String,
    pub base_revision: i64,
    pub certificate_id: i64,
    pub pdf_sha256: String,
    pub signed_attrs: String,
    pub byte_range: String,
    pub image_sha256: String,
    pub strokes_sha256: String,
    pub method: String,
    pub webauthn_challenge: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub struct NewPrepare<'a> {
    pub version_id: i64,
    pub slot: &'a str,
    pub base_revision: i64,
    pub certificate_id: i64,
    pub pdf_sha256: &'a str,
    pub signed_attrs_b64: &'a str,
    pub byte_range: [usize; 4],
    pub image_sha256: &'a str,
    pub strokes_sha256: &'a str,
    pub method: &'a str,
    pub webauthn_challenge: Option<&'a str>,
}

pub async fn insert_prepare(tx: &mut WriteTx, p: &NewPrepare<'_>) -> AppResult<String> {
    let id = crate::crypto::random_token();
    let now = now_ms();
    sqlx::query("INSERT INTO signature_prepares (id, version_id, slot, base_revision, certificate_id, pdf_sha256, signed_attrs, byte_range, image_sha256, strokes_sha256, method, webauthn_challenge, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)")
        .bind(&id)
        .bind(p.version_id)
        .bind(p.slot)
        .bind(p.base_revision)
        .bind(p.certificate_id)
        .bind(p.pdf_sha256)
        .bind(p.signed_attrs_b64)
        .bind(serde_json::to_string(&p.byte_range).unwrap_or_default())
        .bind(p.image_sha256)
        .bind(p.strokes_sha256)
        .bind(p.method)
        .bind(p.webauthn_challenge)
        .bind(now)
        .bind(now + PREPARE_TTL_MS)
        .execute(tx.conn())
        .await?;
    Ok(id)
}

/// Take a prepared signature for completion: it must exist, be unused and unexpired;
/// it is marked used in the same transaction, so it completes at most once.
pub async fn take_prepare(tx: &mut WriteTx, id: &str) -> AppResult<PrepareRow> {
    let row: Option<PrepareRow> = sqlx::query_as("SELECT id, version_id, slot, base_revision, certificate_id, pdf_sha256, signed_attrs, byte_range, image_sha256, strokes_sha256, method, webauthn_challenge, created_at, expires_at, used_at FROM signature_prepares WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    let Some(row) = row else {
        return Err(AppError::not_found("prepared signature"));
    };
    if row.used_at.is_some() {
        return Err(AppError::conflict(
            "signature_replayed",
            "该签名已提交过，不能重复使用 / this signature was already submitted",
        ));
    }
    if row.expires_at <= now_ms() {
        return Err(AppError::gone(
            "prepare_expired",
            "签署准备已过期，请重新签署 / the signing step expired; sign again",
        ));
    }
    sqlx::query("UPDATE signature_prepares SET used_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(row)
}

pub async fn certificate_by_id(conn: &mut sqlx::AnyConnection, id: i64) -> AppResult<CertRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CERT_COLUMNS} FROM signer_certificates WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| AppError::internal("prepared signature certificate"))
}
