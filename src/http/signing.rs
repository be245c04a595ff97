//! The signer's steps, in order: confirm identity with a one-time code (parties), get a
//! certificate for the key the phone made, prepare (the server lays out the incremental
//! update with the handwritten image and returns the bytes to sign), and sign (the
//! phone's ECDSA signature, checked here with `ring` before it is embedded).
//! A transcript's party may instead refuse, with a reason.

use super::documents::{load, view};
use super::extract::{ApiJson, ApiPath, Auth, Meta};
use crate::app::App;
use crate::authz::Principal;
use crate::db::WriteTx;
use crate::error::{AppError, AppResult};
use crate::esign::workflow::{self, DocStatus, Refusal};
use crate::esign::{ca, pades, service};
use crate::notify::Message;
use crate::store::documents::{self, DocumentRow, SignatureRecord, VersionRow};
use crate::store::identity::ClientMeta;
use crate::store::signing::{self, Signer};
use crate::store::{cases, commissions, invitations};
use crate::time::now_ms;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::{Value, json};

/// Largest handwritten-signature PNG accepted (base64 inflates it by a third).
pub const IMAGE_MAX_BYTES: usize = 512 * 1024;
/// Largest stroke record (signature_pad's point groups as JSON).
pub const STROKES_MAX_BYTES: usize = 256 * 1024;
/// The body limit of `prepare`.
pub const PREPARE_BODY_MAX: usize = 1024 * 1024;

pub fn refusal(r: Refusal) -> AppError {
    let status = match r {
        Refusal::NotASlot => StatusCode::FORBIDDEN,
        _ => StatusCode::CONFLICT,
    };
    AppError::new(status, r.code(), r.message())
}

fn bad(code: &'static str, msg: &str) -> AppError {
    AppError::invalid(code, msg.to_string())
}

async fn signer_of(tx: &mut WriteTx, who: &Principal, doc: &DocumentRow) -> AppResult<Signer> {
    signing::signer_for(tx.conn(), who, doc.case_id, doc.hearing_id)
        .await?
        .ok_or_else(|| refusal(Refusal::NotASlot))
}

async fn state(
    tx: &mut WriteTx,
    doc: &DocumentRow,
) -> AppResult<(VersionRow, Vec<workflow::SlotState>)> {
    let ver = documents::version(tx.conn(), doc.id, doc.current_version).await?;
    let sigs = documents::signatures(tx.conn(), ver.id).await?;
    Ok((ver, documents::slot_states(doc.kind(), &sigs)))
}

fn party(who: &Principal) -> AppResult<&crate::authz::PartyPrincipal> {
    match who {
        Principal::Party(p) => Ok(p),
        _ => Err(bad(
            "not_a_party",
            "仅当事人需要短信验证 / only parties confirm by SMS code",
        )),
    }
}

async fn commission_of_case(tx: &mut WriteTx, case_id: i64) -> AppResult<commissions::Commission> {
    let case = cases::get(tx.conn(), case_id).await?;
    commissions::get(tx.conn(), case.commission_id).await
}

// ---------------------------------------------------------------- one-time code

pub async fn otp(
    State(app): State<App>,
    Auth(who): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let p = party(&who)?.clone();
    let (inv, commission) = {
        let mut tx = app.db.write().await?;
        let (doc, _) = load(&mut tx, &who, id).await?;
        signer_of(&mut tx, &who, &doc).await?;
        let inv = invitations::get(tx.conn(), p.invitation_id).await?;
        let c = commission_of_case(&mut tx, doc.case_id).await?;
        tx.commit().await?;
        (inv, c)
    };
    let sent =
        crate::store::identity::request_signing_code(&app, &inv, commission.id, &meta).await?;
    Ok(Json(json!({"sent": true, "phone": sent.phone_masked})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpBody {
    code: String,
}

pub async fn otp_verify(
    State(app): State<App>,
    Auth(who): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<OtpBody>,
) -> AppResult<Json<Value>> {
    if body.code.len() > 16 {
        return Err(bad(
            "invalid_field",
            "验证码为6位数字 / the code has 6 digits",
        ));
    }
    let p = party(&who)?.clone();
    let (inv, commission) = {
        let mut tx = app.db.write().await?;
        let (doc, _) = load(&mut tx, &who, id).await?;
        signer_of(&mut tx, &who, &doc).await?;
        let inv = invitations::get(tx.conn(), p.invitation_id).await?;
        let c = commission_of_case(&mut tx, doc.case_id).await?;
        tx.commit().await?;
        (inv, c)
    };
    crate::store::identity::verify_signing_code(&app, &inv, commission.id, &body.code, &meta)
        .await?;
    Ok(Json(
        json!({"verified": true, "valid_for_secs": signing::FRESH_VERIFICATION_MS / 1000}),
    ))
}

// ---------------------------------------------------------------- certificate

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertBody {
    /// The phone's P-256 public key: raw 0x04‖x‖y, base64.
    public_key: String,
}

fn decode_public_key(b64: &str) -> AppResult<Vec<u8>> {
    let raw = B64
        .decode(b64.trim())
        .map_err(|_| bad("invalid_key", "公钥格式错误 / the public key is not base64"))?;
    if raw.len() != 65 || raw[0] != 0x04 {
        return Err(bad(
            "invalid_key",
            "公钥应为 P-256 未压缩点（65字节）/ expected an uncompressed P-256 point (65 bytes)",
        ));
    }
    // ring checks that a peer's point is on the curve before any key agreement: use
    // that to refuse a key no signature could ever verify with.
    let rng = ring::rand::SystemRandom::new();
    let on_curve =
        ring::agreement::EphemeralPrivateKey::generate(&ring::agreement::ECDH_P256, &rng)
            .ok()
            .and_then(|mine| {
                ring::agreement::agree_ephemeral(
                    mine,
                    &ring::agreement::UnparsedPublicKey::new(&ring::agreement::ECDH_P256, &raw),
                    |_| (),
                )
                .ok()
            })
            .is_some();
    if !on_curve {
        return Err(bad(
            "invalid_key",
            "公钥不在 P-256 曲线上 / the public key is not a P-256 point",
        ));
    }
    Ok(raw)
}

pub async fn certificate(
    State(app): State<App>,
    Auth(who): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CertBody>,
) -> AppResult<Json<Value>> {
    let key = decode_public_key(&body.public_key)?;
    let key_hex = crate::crypto::hex(&key);
    let mut tx = app.db.write().await?;
    let (doc, _) = load(&mut tx, &who, id).await?;
    let signer = signer_of(&mut tx, &who, &doc).await?;
    signing::require_fresh_verification(tx.conn(), &who).await?;
    if let Some(c) = signing::current_certificate(tx.conn(), &signer, doc.case_id, &key_hex).await?
    {
        tx.commit().await?;
        return Ok(Json(
            json!({"fingerprint": c.fingerprint, "certificate": c.cert_pem, "not_after": c.not_after}),
        ));
    }
    let case = cases::get(tx.conn(), doc.case_id).await?;
    let commission = commissions::get(tx.conn(), case.commission_id).await?;
    let authority = service::commission_ca(&app, &commission)?;
    let subject = ca::SignerSubject {
        name: signer.name.clone(),
        role: workflow::slot_label_zh(&signer.slot).to_string(),
        case_number: case.number.clone(),
        id_hash_hex: service::identity_hash(&app, &signer.identity_ref),
    };
    let now = chrono::Utc::now();
    let der = authority
        .issue_signer_cert(
            &key,
            &subject,
            now,
            std::time::Duration::from_millis(signing::CERT_TTL_MS as u64),
        )
        .map_err(|e| {
            tracing::error!(error = %e, "issuing a signer certificate");
            AppError::internal("certificate issuance")
        })?;
    let info = ca::cert_info(&der).map_err(|_| AppError::internal("certificate"))?;
    let row = signing::store_certificate(
        &mut tx,
        &who,
        &signing::NewCertificate {
            commission_id: commission.id,
            case_id: doc.case_id,
            signer: &signer,
            public_key_hex: &key_hex,
            cert_der: &der,
            fingerprint: &info.fingerprint,
            not_before: info.not_before_ms,
            not_after: info.not_after_ms,
            ip: meta.ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(
        json!({"fingerprint": row.fingerprint, "certificate": row.cert_pem, "not_after": row.not_after}),
    ))
}

// ---------------------------------------------------------------- prepare and sign

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepareBody {
    certificate: String,
    /// The handwritten signature, a PNG, base64.
    image: String,
    /// signature_pad's stroke data (point groups), kept as evidence.
    strokes: Value,
    #[serde(default)]
    method: Option<String>,
}

fn decode_image(b64: &str) -> AppResult<Vec<u8>> {
    let b64 = b64.trim().trim_start_matches("data:image/png;base64,");
    if b64.len() > IMAGE_MAX_BYTES * 4 / 3 + 4 {
        return Err(bad(
            "image_too_large",
            "签名图片过大 / the signature image is too large",
        ));
    }
    B64.decode(b64).map_err(|_| {
        bad(
            "invalid_image",
            "签名图片不是有效的 PNG / the signature image is not a PNG",
        )
    })
}

pub async fn prepare(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PrepareBody>,
) -> AppResult<Json<Value>> {
    let png = decode_image(&body.image)?;
    let appearance = pades::Appearance::from_png(&png).map_err(|_| {
        bad(
            "invalid_image",
            "签名图片不是有效的 PNG / the signature image is not a valid PNG",
        )
    })?;
    let strokes = serde_json::to_vec(&body.strokes).unwrap_or_default();
    if strokes.len() > STROKES_MAX_BYTES
        || !body.strokes.is_array()
        || body.strokes.as_array().is_some_and(|a| a.is_empty())
    {
        return Err(bad(
            "invalid_strokes",
            "请先手写签名 / draw your signature first",
        ));
    }
    let method = match body.method.as_deref() {
        None | Some("device_key") => "device_key",
        Some("webauthn") => "webauthn",
        Some(_) => {
            return Err(bad(
                "invalid_method",
                "签署方式应为 device_key 或 webauthn / unknown method",
            ));
        }
    };
    let mut tx = app.db.write().await?;
    let (doc, _) = load(&mut tx, &who, id).await?;
    let signer = signer_of(&mut tx, &who, &doc).await?;
    let (ver, states) = state(&mut tx, &doc).await?;
    workflow::may_sign(doc.kind(), doc.status(), &states, &signer.slot).map_err(refusal)?;
    signing::require_fresh_verification(tx.conn(), &who).await?;
    let cert = signing::certificate_by_fingerprint(tx.conn(), &body.certificate).await?;
    check_certificate(&cert, &signer, doc.case_id)?;
    let case = cases::get(tx.conn(), doc.case_id).await?;
    let commission = commissions::get(tx.conn(), case.commission_id).await?;
    let authority = service::commission_ca(&app, &commission)?;
    let head = documents::get_pdf(&app, &ver.head_sha256)?;
    let spec = service::field_spec(doc.kind(), &ver, &signer.slot, &signer.name);
    let cert_der = cert.der()?;
    let chain = vec![authority.cert_der().to_vec()];
    let prepared = tokio::task::spawn_blocking(move || {
        pades::prepare(
            &head,
            &spec,
            Some(&appearance),
            &cert_der,
            &chain,
            chrono::Utc::now(),
        )
    })
    .await
    .map_err(|_| AppError::internal("prepare task"))?
    .map_err(|e| {
        tracing::error!(error = %e, "preparing a signature");
        AppError::internal("preparing the signature")
    })?;
    let pdf_sha = documents::put_pdf(&app, &prepared.pdf)?;
    let to_sign = B64.encode(&prepared.signed_attrs_der);
    // A passkey confirmation is bound to the version's hash and these signed attributes.
    let passkey = if method == "webauthn" {
        let creds = super::passkeys::credentials_of(tx.conn(), &signer).await?;
        if creds.is_empty() {
            return Err(AppError::conflict(
                "passkey_required",
                "请先在本机登记通行密钥 / register a passkey on this phone first",
            ));
        }
        let challenge =
            crate::esign::webauthn::signing_challenge(&ver.sha256, &prepared.signed_attrs_der);
        Some((
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&challenge),
            creds.into_iter().map(|c| c.0).collect::<Vec<_>>(),
        ))
    } else {
        None
    };
    let image_sha = crate::crypto::sha256_hex(&png);
    let strokes_sha = crate::crypto::sha256_hex(&strokes);
    // The strokes themselves are kept (content-addressed, outside the database), so the
    // hash the signature record binds can be checked again later; the secondary case
    // file carries them.
    store_strokes(&app, &strokes_sha, &strokes).await?;
    let prepare_id = signing::insert_prepare(
        &mut tx,
        &signing::NewPrepare {
            version_id: ver.id,
            slot: &signer.slot,
            base_revision: ver.revision,
            certificate_id: cert.id,
            pdf_sha256: &pdf_sha,
            signed_attrs_b64: &to_sign,
            byte_range: prepared.byte_range,
            image_sha256: &image_sha,
            strokes_sha256: &strokes_sha,
            method,
            webauthn_challenge: passkey.as_ref().map(|p| p.0.as_str()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({
        "prepare_id": prepare_id,
        "to_sign": to_sign,
        "webauthn": passkey.map(|(challenge, credentials)| json!({"challenge": challenge, "credentials": credentials})),
        "doc_sha256": ver.sha256,
        "version": ver.version,
        "revision": ver.revision,
        "image_sha256": image_sha,
        "strokes_sha256": strokes_sha,
    })))
}

fn check_certificate(cert: &signing::CertRow, signer: &Signer, case_id: i64) -> AppResult<()> {
    if !cert.belongs_to(signer, case_id) {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "certificate_not_yours",
            "该证书不属于您或本案 / this certificate was not issued to you for this case",
        ));
    }
    let now = now_ms();
    if cert.not_after <= now || cert.not_before > now {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "certificate_expired",
            "签名证书已过期，请重新验证身份 / the signing certificate has expired; verify again",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignBody {
    prepare_id: String,
    /// WebCrypto ECDSA P-256 signature (raw r‖s, 64 bytes), base64, over `to_sign`.
    signature: String,
    /// With `method: "webauthn"`: the passkey assertion over the prepare's challenge.
    #[serde(default)]
    webauthn: Option<super::passkeys::Assertion>,
}

pub async fn sign(
    State(app): State<App>,
    Auth(who): Auth,
    Meta(meta): Meta,
    headers: axum::http::HeaderMap,
    axum::Extension(super::extract::Https(https)): axum::Extension<super::extract::Https>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<SignBody>,
) -> AppResult<Json<Value>> {
    if body.signature.len() > 200 || body.prepare_id.len() > 100 {
        return Err(bad(
            "invalid_signature",
            "签名格式错误 / malformed signature",
        ));
    }
    let raw = B64
        .decode(body.signature.trim())
        .map_err(|_| bad("invalid_signature", "签名格式错误 / malformed signature"))?;
    if raw.len() != 64 {
        return Err(bad(
            "invalid_signature",
            "签名应为64字节 / the signature must be 64 bytes (r‖s)",
        ));
    }
    let mut tx = app.db.write().await?;
    let (doc, _) = load(&mut tx, &who, id).await?;
    let signer = signer_of(&mut tx, &who, &doc).await?;
    let prep = signing::take_prepare(&mut tx, &body.prepare_id).await?;
    let (ver, states) = state(&mut tx, &doc).await?;
    if prep.slot != signer.slot {
        return Err(refusal(Refusal::NotASlot));
    }
    workflow::may_sign(doc.kind(), doc.status(), &states, &signer.slot).map_err(refusal)?;
    if prep.version_id != ver.id {
        return Err(AppError::conflict(
            "stale_version",
            "文书已更新为新版本，此签名针对旧版本，已拒绝 / the signature is for an older version of the document",
        ));
    }
    if prep.base_revision != ver.revision {
        return Err(documents::stale());
    }
    signing::require_fresh_verification(tx.conn(), &who).await?;
    let cert = signing::certificate_by_id(tx.conn(), prep.certificate_id).await?;
    check_certificate(&cert, &signer, doc.case_id)?;
    let signed_attrs = B64
        .decode(&prep.signed_attrs)
        .map_err(|_| AppError::internal("stored prepare"))?;
    let public_key = crate::crypto::unhex(&cert.public_key).unwrap_or_default();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &public_key)
        .verify(&signed_attrs, &raw)
        .map_err(|_| {
            AppError::new(
                StatusCode::FORBIDDEN,
                "bad_signature",
                "签名校验失败：不是由已认证的密钥对该文书签署 / the signature does not verify with your certified key for this document",
            )
        })?;
    let case = cases::get(tx.conn(), doc.case_id).await?;
    let authority = service::commission_ca(
        &app,
        &commissions::get(tx.conn(), case.commission_id).await?,
    )?;
    let passkey = match (
        prep.method.as_str(),
        &body.webauthn,
        &prep.webauthn_challenge,
    ) {
        ("webauthn", Some(assertion), Some(challenge)) => {
            let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(challenge)
                .map_err(|_| AppError::internal("stored challenge"))?;
            let rp = super::passkeys::relying_party(&headers, https)?;
            Some(
                super::passkeys::check_assertion(&mut tx, &signer, assertion, &challenge, &rp)
                    .await?,
            )
        }
        ("webauthn", _, _) => {
            return Err(AppError::invalid(
                "passkey_required",
                "请用通行密钥确认（指纹、面容或锁屏密码）/ confirm with your passkey",
            ));
        }
        _ => None,
    };
    let der_sig = crate::esign::cms::ecdsa_fixed_to_der(&raw)
        .map_err(|_| bad("invalid_signature", "签名格式错误 / malformed signature"))?;
    let byte_range: [usize; 4] =
        serde_json::from_str(&prep.byte_range).map_err(|_| AppError::internal("stored prepare"))?;
    let prepared = pades::Prepared {
        pdf: documents::get_pdf(&app, &prep.pdf_sha256)?,
        byte_range,
        signed_attrs_der: signed_attrs,
        signer_cert_der: cert.der()?,
        chain_der: vec![authority.cert_der().to_vec()],
    };
    let signed = tokio::task::spawn_blocking(move || pades::finish(&prepared, &der_sig, None))
        .await
        .map_err(|_| AppError::internal("sign task"))?
        .map_err(|e| {
            tracing::error!(error = %e, "embedding a signature");
            AppError::internal("embedding the signature")
        })?;
    let head = documents::put_pdf(&app, &signed)?;
    documents::record_signature(
        &mut tx,
        &who,
        &doc,
        &ver,
        prep.base_revision,
        &SignatureRecord {
            slot: &signer.slot,
            status: "signed",
            invitation_id: signer.invitation_id,
            user_id: signer.user_id,
            name: &signer.name,
            role: &signer.slot,
            method: &prep.method,
            cert_fingerprint: Some(&cert.fingerprint),
            revision_sha256: Some(&head),
            image_sha256: Some(&prep.image_sha256),
            strokes_sha256: Some(&prep.strokes_sha256),
            webauthn: passkey.map(|p| p.to_string()),
            reason: None,
            ip: meta.ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
        },
    )
    .await?;
    complete_if_ready(&app, &mut tx, &doc, &meta).await?;
    let doc = documents::get(tx.conn(), id).await?;
    let out = view(&mut tx, &who, &doc).await?;
    tx.commit().await?;
    announce(&app, &doc, &signer.slot).await;
    Ok(Json(out))
}

/// Documents other than the mediation agreement are sealed by the server as soon as the
/// last signer has acted.
async fn complete_if_ready(
    app: &App,
    tx: &mut WriteTx,
    doc: &DocumentRow,
    meta: &ClientMeta,
) -> AppResult<()> {
    let (ver, states) = state(tx, doc).await?;
    if doc.status() == DocStatus::Signing
        && !workflow::sealed_by_staff(doc.kind())
        && workflow::ready_to_seal(doc.kind(), &states)
    {
        service::seal_and_complete(app, tx, &Principal::System, doc, &ver, meta).await?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefuseBody {
    reason: String,
}

/// A party refuses to sign the transcript, giving a reason.
pub async fn refuse(
    State(app): State<App>,
    Auth(who): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RefuseBody>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    let (doc, _) = load(&mut tx, &who, id).await?;
    let signer = signer_of(&mut tx, &who, &doc).await?;
    refuse_slot(
        &app,
        &mut tx,
        &who,
        &doc,
        &signer.slot,
        &signer.name,
        signer.invitation_id,
        &body.reason,
        &meta,
    )
    .await?;
    let doc = documents::get(tx.conn(), id).await?;
    let out = view(&mut tx, &who, &doc).await?;
    tx.commit().await?;
    announce(&app, &doc, &signer.slot).await;
    Ok(Json(out))
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn refuse_slot(
    app: &App,
    tx: &mut WriteTx,
    who: &Principal,
    doc: &DocumentRow,
    slot: &str,
    name: &str,
    invitation_id: Option<i64>,
    reason: &str,
    meta: &ClientMeta,
) -> AppResult<()> {
    let reason = reason.trim();
    if reason.is_empty()
        || reason.chars().count() > 500
        || reason.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(bad(
            "reason_required",
            "请填写拒签理由（500字以内）/ give the reason for refusing (up to 500 characters)",
        ));
    }
    let (ver, states) = state(tx, doc).await?;
    workflow::may_refuse(doc.kind(), doc.status(), &states, slot).map_err(refusal)?;
    documents::record_signature(
        tx,
        who,
        doc,
        &ver,
        ver.revision,
        &SignatureRecord {
            slot,
            status: "refused",
            invitation_id,
            user_id: None,
            name,
            role: slot,
            method: "refused",
            cert_fingerprint: None,
            revision_sha256: None,
            image_sha256: None,
            strokes_sha256: None,
            webauthn: None,
            reason: Some(reason),
            ip: meta.ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
        },
    )
    .await?;
    complete_if_ready(app, tx, doc, meta).await
}

/// The name of the party holding a slot, for refusals recorded by staff.
pub(super) async fn party_name(tx: &mut WriteTx, case_id: i64, slot: &str) -> AppResult<String> {
    if !matches!(slot, "applicant" | "respondent") {
        return Err(refusal(Refusal::RefusalNotAllowed));
    }
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM parties WHERE case_id = $1 AND side = $2 ORDER BY id")
            .bind(case_id)
            .bind(slot)
            .fetch_all(tx.conn())
            .await?;
    Ok(names
        .into_iter()
        .map(|(n,)| n)
        .collect::<Vec<_>>()
        .join("、"))
}

/// Record signing requests and build the messages carrying each party's link; staff
/// signers see the request in their console. Sending happens after commit.
pub(super) async fn send_links(
    app: &App,
    tx: &mut WriteTx,
    who: &Principal,
    doc: &DocumentRow,
    ver: &VersionRow,
    slots: &[String],
    via: &str,
) -> AppResult<Vec<Message>> {
    let mut out = Vec::new();
    let now = now_ms();
    for slot in slots {
        let invs: Vec<invitations::InvitationRow> = invitations::list(tx.conn(), doc.case_id)
            .await?
            .into_iter()
            .filter(|i| i.role == *slot && i.revoked_at.is_none() && i.expires_at > now)
            .collect();
        for inv in &invs {
            sqlx::query("INSERT INTO sign_requests (document_id, version_id, slot, invitation_id, via, sent_by, sent_at) VALUES ($1,$2,$3,$4,$5,$6,$7)")
                .bind(doc.id)
                .bind(ver.id)
                .bind(slot)
                .bind(inv.id)
                .bind(via)
                .bind(who.audit_name())
                .bind(now)
                .execute(tx.conn())
                .await?;
            if via == "link" {
                let link = invitations::signing_link(app, inv, doc.id);
                out.push(Message {
                    to: inv.phone.clone(),
                    purpose: "sign_request".into(),
                    body: format!(
                        "【云庭】请签署《{}》：{} 打开链接后需验证身份。Please sign the document: {}",
                        doc.kind().title_zh(),
                        link,
                        link
                    ),
                });
            }
        }
        tx.audit(
            crate::audit::AuditEntry::new(
                who,
                "document.sign_request",
                format!("document:{}", doc.id),
            )
            .case(doc.case_id)
            .detail(
                json!({"slot": slot, "via": via, "version": ver.version, "recipients": invs.len()}),
            ),
        )
        .await?;
    }
    Ok(out)
}

/// Tell the hearing room (if the document belongs to a live hearing) that a signature,
/// refusal or the seal arrived, so the chair sees it without reloading.
pub(super) async fn announce(app: &App, doc: &DocumentRow, slot: &str) {
    let Some(h) = doc.hearing_id else { return };
    let update = json!({"document_id": doc.id, "kind": doc.kind(), "title": doc.kind().title_zh(), "slot": slot, "status": doc.status()});
    if app.rooms.is_loaded(h) {
        let _ = app
            .rooms
            .decide(h, |room| Ok::<_, ()>(room.document_update(&update)));
    }
    crate::hearing::registry::record_system_event(app, h, "hearing.document_update", update).await;
}

/// Where a signature's handwriting strokes are kept: `data_dir/strokes/<sha256>.json`.
pub fn strokes_path(app: &App, sha256: &str) -> std::path::PathBuf {
    app.config
        .data_dir
        .join("strokes")
        .join(format!("{sha256}.json"))
}

async fn store_strokes(app: &App, sha256: &str, bytes: &[u8]) -> AppResult<()> {
    let path = strokes_path(app, sha256);
    if tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Ok(());
    }
    let dir = path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let tmp = dir.join(format!("{sha256}.part"));
    let write = async {
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await
    };
    write.await.map_err(|e| {
        tracing::error!(error = %e, "storing signature strokes");
        AppError::internal("storing the handwriting")
    })
}
