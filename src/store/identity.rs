//! The identity check for invitation holders: name + last six characters of the ID
//! number, then a one-time code sent to the phone on record. Failures are committed even
//! though the request fails, because the rate limits must count them: five wrong answers
//! lock the invitation for 15 minutes; a code lives 5 minutes and allows 5 tries; a new
//! code can be asked for after 60 s and at most 5 times an hour.

use super::invitations::InvitationRow;
use crate::app::App;
use crate::audit::AuditEntry;
use crate::auth::session;
use crate::db::WriteTx;
use crate::domain::masking;
use crate::error::{AppError, AppResult};
use crate::notify::Message;
use crate::time::{HOUR_MS, MINUTE_MS, now_ms};
use serde_json::json;

pub const CODE_TTL_MS: i64 = 5 * MINUTE_MS;
pub const RESEND_AFTER_MS: i64 = 60_000;
pub const MAX_CODES_PER_HOUR: i64 = 5;
pub const MAX_TRIES_PER_CODE: i64 = 5;
pub const MAX_FAILURES: i64 = 5;
pub const LOCK_MS: i64 = 15 * MINUTE_MS;

/// Request metadata recorded with identity events.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

fn actor(inv: &InvitationRow) -> String {
    format!("invitation:{}:{}", inv.id, inv.role)
}

fn entry(inv: &InvitationRow, commission_id: i64, action: &str, meta: &ClientMeta) -> AuditEntry {
    AuditEntry {
        commission_id: Some(commission_id),
        case_id: Some(inv.case_id),
        actor: actor(inv),
        action: action.into(),
        target: format!("invitation:{}", inv.id),
        detail: serde_json::Value::Null,
        ip: meta.ip.clone(),
    }
}

fn check_lock(inv: &InvitationRow, now: i64) -> AppResult<()> {
    if let Some(until) = inv.locked_until
        && until > now
    {
        let mins = (until - now + MINUTE_MS - 1) / MINUTE_MS;
        return Err(AppError::rate_limited(format!(
            "错误次数过多，请{mins}分钟后再试 / too many failed attempts; try again in {mins} min"
        )));
    }
    Ok(())
}

/// Count one failed answer; lock the invitation when the limit is reached.
async fn record_failure(
    tx: &mut WriteTx,
    inv: &InvitationRow,
    commission_id: i64,
    what: &str,
    meta: &ClientMeta,
) -> AppResult<bool> {
    let now = now_ms();
    let failures = inv.failed_attempts + 1;
    let locked = failures >= MAX_FAILURES;
    if locked {
        sqlx::query("UPDATE invitations SET failed_attempts = 0, locked_until = $1 WHERE id = $2")
            .bind(now + LOCK_MS)
            .bind(inv.id)
            .execute(tx.conn())
            .await?;
    } else {
        sqlx::query("UPDATE invitations SET failed_attempts = $1 WHERE id = $2")
            .bind(failures)
            .bind(inv.id)
            .execute(tx.conn())
            .await?;
    }
    tx.audit(
        entry(inv, commission_id, "identity.failed", meta)
            .detail(json!({"check": what, "failures": failures, "locked": locked})),
    )
    .await?;
    Ok(locked)
}

/// Commit the failed attempt and say why the request is refused: `wrong`, or locked out
/// if this attempt reached the limit.
async fn refuse(
    mut tx: WriteTx,
    inv: &InvitationRow,
    commission_id: i64,
    what: &str,
    meta: &ClientMeta,
    wrong: AppError,
) -> AppError {
    let recorded = async {
        let locked = record_failure(&mut tx, inv, commission_id, what, meta).await?;
        tx.commit().await?;
        Ok::<bool, AppError>(locked)
    };
    match recorded.await {
        Ok(true) => AppError::rate_limited(
            "错误次数过多，请15分钟后再试 / too many failed attempts; try again in 15 min",
        ),
        Ok(false) => wrong,
        Err(e) => e,
    }
}

pub struct CodeSent {
    pub phone_masked: String,
}

/// Step 1: check name and ID suffix, then send a code.
pub async fn request_code(
    app: &App,
    inv: &InvitationRow,
    commission_id: i64,
    name: &str,
    id_last6: &str,
    meta: &ClientMeta,
) -> AppResult<CodeSent> {
    let now = now_ms();
    let mut tx = app.db.write().await?;
    // Re-read inside the write lock so concurrent attempts count correctly.
    let inv = super::invitations::get(tx.conn(), inv.id).await?;
    check_lock(&inv, now)?;
    let suffix = id_last6.trim().to_ascii_uppercase();
    let id_tail: String = inv
        .id_number
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let name_ok = name.trim() == inv.name;
    let id_ok = suffix.len() == 6 && crate::crypto::ct_eq(suffix.as_bytes(), id_tail.as_bytes());
    if !(name_ok && id_ok) {
        let wrong = AppError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "identity_mismatch",
            "姓名或身份证号后六位不正确 / name or ID suffix does not match",
        );
        return Err(refuse(tx, &inv, commission_id, "identity", meta, wrong).await);
    }
    issue_code(app, tx, &inv, commission_id, meta).await
}

/// Send a one-time code to the invitation's phone to re-confirm, inside an existing party
/// session, that the holder of the phone is acting (before signing a document). Shares
/// the rate limits and lockout of the first identity check.
pub async fn request_signing_code(
    app: &App,
    inv: &InvitationRow,
    commission_id: i64,
    meta: &ClientMeta,
) -> AppResult<CodeSent> {
    let mut tx = app.db.write().await?;
    let inv = super::invitations::get(tx.conn(), inv.id).await?;
    check_lock(&inv, now_ms())?;
    issue_code(app, tx, &inv, commission_id, meta).await
}

async fn issue_code(
    app: &App,
    mut tx: WriteTx,
    inv: &InvitationRow,
    commission_id: i64,
    meta: &ClientMeta,
) -> AppResult<CodeSent> {
    let now = now_ms();
    let recent: Vec<(i64,)> = sqlx::query_as("SELECT created_at FROM otp_challenges WHERE invitation_id = $1 AND created_at > $2 ORDER BY created_at DESC").bind(inv.id).bind(now - HOUR_MS).fetch_all(tx.conn()).await?;
    if let Some((last,)) = recent.first()
        && now - last < RESEND_AFTER_MS
    {
        let secs = (RESEND_AFTER_MS - (now - last)) / 1000 + 1;
        return Err(AppError::rate_limited(format!(
            "验证码已发送，请{secs}秒后再试 / a code was just sent; retry in {secs} s"
        )));
    }
    if recent.len() as i64 >= MAX_CODES_PER_HOUR {
        return Err(AppError::rate_limited(
            "一小时内发送次数过多 / too many codes this hour; try later",
        ));
    }
    let code = crate::crypto::random_digits(6);
    let mac = app
        .key
        .sign_hex(format!("otp:{}:{}", inv.id, code).as_bytes());
    sqlx::query("INSERT INTO otp_challenges (invitation_id, code_mac, created_at, expires_at) VALUES ($1,$2,$3,$4)").bind(inv.id).bind(&mac).bind(now).bind(now + CODE_TTL_MS).execute(tx.conn()).await?;
    sqlx::query("UPDATE invitations SET failed_attempts = 0 WHERE id = $1")
        .bind(inv.id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        entry(inv, commission_id, "identity.code_sent", meta)
            .detail(json!({"channel": app.notifier.channel(), "to": masking::phone(&inv.phone)})),
    )
    .await?;
    tx.commit().await?;
    let body = format!(
        "【云庭】您的身份验证码为 {code}，5分钟内有效。请勿告诉他人。Your Yunting verification code is {code} (valid 5 minutes)."
    );
    app.notifier
        .send(
            &app.db,
            &Message {
                to: inv.phone.clone(),
                purpose: "otp".into(),
                body,
            },
        )
        .await
        .map_err(|e| {
            tracing::warn!(invitation = inv.id, error = %e, "OTP delivery failed");
            AppError::new(
                axum::http::StatusCode::BAD_GATEWAY,
                "delivery_failed",
                "验证码发送失败，请稍后再试 / the code could not be sent; try again shortly",
            )
        })?;
    Ok(CodeSent {
        phone_masked: masking::phone(&inv.phone),
    })
}

/// Check a one-time code and record the verification (the transaction is returned open so
/// the caller adds what the verification unlocks).
async fn check_code(
    app: &App,
    inv: &InvitationRow,
    commission_id: i64,
    code: &str,
    meta: &ClientMeta,
) -> AppResult<(WriteTx, InvitationRow, i64)> {
    let now = now_ms();
    let mut tx = app.db.write().await?;
    let inv = super::invitations::get(tx.conn(), inv.id).await?;
    check_lock(&inv, now)?;
    let challenge: Option<(i64, String, i64, i64)> = sqlx::query_as("SELECT id, code_mac, expires_at, attempts FROM otp_challenges WHERE invitation_id = $1 AND consumed_at IS NULL ORDER BY id DESC LIMIT 1")
        .bind(inv.id)
        .fetch_optional(tx.conn())
        .await?;
    let Some((cid, mac, expires_at, attempts)) = challenge else {
        return Err(AppError::conflict(
            "no_code",
            "请先获取验证码 / ask for a code first",
        ));
    };
    if expires_at <= now {
        return Err(AppError::gone(
            "otp_expired",
            "验证码已过期，请重新获取 / the code has expired; ask for a new one",
        ));
    }
    if attempts >= MAX_TRIES_PER_CODE {
        return Err(AppError::rate_limited(
            "该验证码尝试次数过多，请重新获取 / too many tries for this code; ask for a new one",
        ));
    }
    let code = code.trim();
    let ok = code.len() == 6
        && code.bytes().all(|b| b.is_ascii_digit())
        && app
            .key
            .verify_hex(format!("otp:{}:{}", inv.id, code).as_bytes(), &mac);
    if !ok {
        sqlx::query("UPDATE otp_challenges SET attempts = attempts + 1 WHERE id = $1")
            .bind(cid)
            .execute(tx.conn())
            .await?;
        let wrong = AppError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "bad_otp",
            "验证码不正确 / the code is not correct",
        );
        return Err(refuse(tx, &inv, commission_id, "otp", meta, wrong).await);
    }
    sqlx::query("UPDATE otp_challenges SET consumed_at = $1 WHERE id = $2")
        .bind(now)
        .bind(cid)
        .execute(tx.conn())
        .await?;
    sqlx::query("UPDATE invitations SET verified_at = $1, failed_attempts = 0 WHERE id = $2")
        .bind(now)
        .bind(inv.id)
        .execute(tx.conn())
        .await?;
    sqlx::query("INSERT INTO identity_verifications (invitation_id, verified_at, ip, user_agent) VALUES ($1,$2,$3,$4)")
        .bind(inv.id)
        .bind(now)
        .bind(meta.ip.as_deref())
        .bind(meta.user_agent.as_deref().map(|u| u.chars().take(300).collect::<String>()))
        .execute(tx.conn())
        .await?;
    Ok((tx, inv, now))
}

/// Re-confirm identity inside a party session (before signing): the code is checked with
/// the same limits, and the verification is recorded; no new session is made.
pub async fn verify_signing_code(
    app: &App,
    inv: &InvitationRow,
    commission_id: i64,
    code: &str,
    meta: &ClientMeta,
) -> AppResult<()> {
    let (mut tx, inv, _) = check_code(app, inv, commission_id, code, meta).await?;
    tx.audit(
        entry(&inv, commission_id, "identity.reverified", meta)
            .detail(json!({"method": "otp", "purpose": "signing", "user_agent": meta.user_agent})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Step 2: check the code; on success the invitation is verified and a party session made.
pub async fn verify_code(
    app: &App,
    inv: &InvitationRow,
    commission_id: i64,
    code: &str,
    meta: &ClientMeta,
) -> AppResult<String> {
    let (mut tx, inv, now) = check_code(app, inv, commission_id, code, meta).await?;
    let ttl = (inv.expires_at - now).min(session::PARTY_TTL_MS);
    let token = session::create(tx.conn(), "party", None, Some(inv.id), ttl).await?;
    tx.audit(
        entry(&inv, commission_id, "identity.verified", meta)
            .detail(json!({"method": "otp", "user_agent": meta.user_agent})),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}
