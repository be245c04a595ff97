//! Passkeys for signing (`esign::webauthn`): register one for this signer on this phone,
//! then confirm a prepared signature with it (`prepare` with `method: "webauthn"`
//! returns the challenge; `sign` carries the assertion).
//!
//! The relying party is the host the page was loaded from (the `Host` header), so a
//! commission reachable under its own name needs no configuration; the authenticator
//! binds each assertion to that host, and the challenge binds it to the document.

use super::documents::load;
use super::extract::{ApiJson, ApiPath, Auth};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::Principal;
use crate::error::{AppError, AppResult};
use crate::esign::webauthn::{self, Expect};
use crate::store::signing::{self, Signer};
use crate::time::now_ms;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::{Value, json};

/// The RP ID and origin of this request: the host the browser addressed.
pub fn relying_party(headers: &HeaderMap, https: bool) -> AppResult<(String, String)> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.len() < 256)
        .ok_or_else(|| AppError::invalid("invalid_host", "缺少 Host / missing Host header"))?;
    let rp_id = host.rsplit_once(':').map_or(host, |(h, _)| h).to_string();
    let scheme = if https { "https" } else { "http" };
    Ok((rp_id, format!("{scheme}://{host}")))
}

/// A registration challenge that needs no storage: a MAC over who asks and the minute,
/// accepted for this minute and the one before.
fn registration_challenge(app: &App, who: &Principal, minute: i64) -> Vec<u8> {
    app.key
        .sign(format!("webauthn-register:{}:{minute}", who.audit_name()).as_bytes())
}

fn owner_clause(s: &Signer) -> (Option<i64>, Option<i64>) {
    (s.invitation_id, s.user_id)
}

pub async fn credentials_of(
    conn: &mut sqlx::AnyConnection,
    signer: &Signer,
) -> AppResult<Vec<(String, String, i64)>> {
    let (inv, user) = owner_clause(signer);
    let rows: Vec<(String, String, i64)> = match (inv, user) {
        (Some(i), _) => sqlx::query_as("SELECT credential_id, public_key, sign_count FROM webauthn_credentials WHERE invitation_id = $1 ORDER BY id")
            .bind(i)
            .fetch_all(conn)
            .await?,
        (None, Some(u)) => sqlx::query_as("SELECT credential_id, public_key, sign_count FROM webauthn_credentials WHERE user_id = $1 ORDER BY id")
            .bind(u)
            .fetch_all(conn)
            .await?,
        _ => vec![],
    };
    Ok(rows)
}

async fn signer_of(app: &App, who: &Principal, id: i64) -> AppResult<(i64, Signer)> {
    let mut tx = app.db.write().await?;
    let (doc, _) = load(&mut tx, who, id).await?;
    let signer = signing::signer_for(tx.conn(), who, doc.case_id, doc.hearing_id)
        .await?
        .ok_or_else(|| super::signing::refusal(crate::esign::workflow::Refusal::NotASlot))?;
    tx.commit().await?;
    Ok((doc.case_id, signer))
}

/// Options for `navigator.credentials.create`.
pub async fn options(
    State(app): State<App>,
    Auth(who): Auth,
    headers: HeaderMap,
    axum::Extension(super::extract::Https(https)): axum::Extension<super::extract::Https>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let (_, signer) = signer_of(&app, &who, id).await?;
    let (rp_id, _) = relying_party(&headers, https)?;
    let mut conn = app.db.pool.acquire().await?;
    let existing = credentials_of(&mut conn, &signer).await?;
    let challenge = registration_challenge(&app, &who, now_ms() / 60_000);
    Ok(Json(json!({
        "rp_id": rp_id,
        "challenge": URL_SAFE_NO_PAD.encode(&challenge),
        "user_id": URL_SAFE_NO_PAD.encode(who.audit_name().as_bytes()),
        "user_name": signer.name,
        "credentials": existing.iter().map(|c| c.0.clone()).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    credential_id: String,
    /// `response.getPublicKey()`: SubjectPublicKeyInfo, base64.
    public_key: String,
    client_data_json: String,
    authenticator_data: String,
}

fn b64(s: &str, what: &'static str) -> AppResult<Vec<u8>> {
    if s.len() > 16 * 1024 {
        return Err(AppError::invalid(
            "invalid_passkey",
            format!("{what} 过长 / too long"),
        ));
    }
    B64.decode(s.trim())
        .or_else(|_| URL_SAFE_NO_PAD.decode(s.trim().trim_end_matches('=')))
        .map_err(|_| {
            AppError::invalid(
                "invalid_passkey",
                format!("{what} 不是 base64 / not base64"),
            )
        })
}

fn refused(e: webauthn::WebAuthnError) -> AppError {
    AppError::new(StatusCode::FORBIDDEN, "passkey_refused", e.to_string())
}

pub async fn register(
    State(app): State<App>,
    Auth(who): Auth,
    headers: HeaderMap,
    axum::Extension(super::extract::Https(https)): axum::Extension<super::extract::Https>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let (case_id, signer) = signer_of(&app, &who, id).await?;
    let (rp_id, origin) = relying_party(&headers, https)?;
    let client_data = b64(&body.client_data_json, "clientDataJSON")?;
    let auth = b64(&body.authenticator_data, "authenticatorData")?;
    let spki = b64(&body.public_key, "publicKey")?;
    if body.credential_id.is_empty() || body.credential_id.len() > 1024 {
        return Err(AppError::invalid("invalid_passkey", "credential id"));
    }
    let minute = now_ms() / 60_000;
    let mut last = Err(webauthn::WebAuthnError::WrongChallenge);
    for m in [minute, minute - 1] {
        let challenge = registration_challenge(&app, &who, m);
        last = webauthn::verify_registration(
            &client_data,
            &auth,
            &spki,
            &Expect {
                rp_id: &rp_id,
                origin: &origin,
                challenge: &challenge,
            },
        );
        if !matches!(last, Err(webauthn::WebAuthnError::WrongChallenge)) {
            break;
        }
    }
    let (point, counter) = last.map_err(refused)?;
    let mut tx = app.db.write().await?;
    sqlx::query("INSERT INTO webauthn_credentials (invitation_id, user_id, credential_id, public_key, sign_count, created_at) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING")
        .bind(signer.invitation_id)
        .bind(signer.user_id)
        .bind(&body.credential_id)
        .bind(crate::crypto::hex(&point))
        .bind(i64::from(counter))
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
    tx.audit(
        AuditEntry::new(
            &who,
            "signing.passkey_registered",
            format!("passkey:{}", body.credential_id),
        )
        .case(case_id)
        .detail(json!({"rp_id": rp_id, "public_key": crate::crypto::hex(&point)})),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"credential_id": body.credential_id})),
    ))
}

/// A passkey assertion over a prepared signature, as `sign` receives it.
#[derive(Deserialize, serde::Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Assertion {
    pub credential_id: String,
    pub client_data_json: String,
    pub authenticator_data: String,
    pub signature: String,
}

/// Check the assertion for a prepared signature; returns the evidence kept with the
/// signature record (the assertion and the credential's public key).
pub async fn check_assertion(
    tx: &mut crate::db::WriteTx,
    signer: &Signer,
    a: &Assertion,
    challenge: &[u8],
    rp: &(String, String),
) -> AppResult<Value> {
    let creds = credentials_of(tx.conn(), signer).await?;
    let Some((_, point_hex, count)) = creds.into_iter().find(|c| c.0 == a.credential_id) else {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "passkey_unknown",
            "该通行密钥未在本机登记 / this passkey is not registered for you",
        ));
    };
    let point = crate::crypto::unhex(&point_hex).unwrap_or_default();
    let client_data = b64(&a.client_data_json, "clientDataJSON")?;
    let auth = b64(&a.authenticator_data, "authenticatorData")?;
    let sig = b64(&a.signature, "signature")?;
    let counter = webauthn::verify_assertion(
        &client_data,
        &auth,
        &sig,
        &point,
        u32::try_from(count).unwrap_or(0),
        &Expect {
            rp_id: &rp.0,
            origin: &rp.1,
            challenge,
        },
    )
    .map_err(refused)?;
    sqlx::query("UPDATE webauthn_credentials SET sign_count = $1 WHERE credential_id = $2")
        .bind(i64::from(counter))
        .bind(&a.credential_id)
        .execute(tx.conn())
        .await?;
    Ok(json!({
        "credential_id": a.credential_id,
        "public_key": point_hex,
        "client_data_json": a.client_data_json,
        "authenticator_data": a.authenticator_data,
        "signature": a.signature,
        "rp_id": rp.0,
        "challenge": URL_SAFE_NO_PAD.encode(challenge),
    }))
}
