//! Sessions: an opaque random token held by the browser (cookie) or API client (Bearer);
//! the database keeps only its SHA-256, so a leaked database does not leak live sessions.
//! A party session dies with its invitation: revoking the invitation or its expiry ends it.

use crate::authz::{PartyPrincipal, Principal, StaffPrincipal};
use crate::crypto::{random_token, sha256_hex};
use crate::db::Db;
use crate::domain::roles::{InviteeRole, StaffRole};
use crate::error::AppResult;
use crate::time::{HOUR_MS, now_ms};

pub const COOKIE: &str = "yt_session";
pub const STAFF_TTL_MS: i64 = 12 * HOUR_MS;
pub const PARTY_TTL_MS: i64 = 12 * HOUR_MS;

pub async fn create(
    conn: &mut sqlx::AnyConnection,
    kind: &str,
    user_id: Option<i64>,
    invitation_id: Option<i64>,
    ttl_ms: i64,
) -> AppResult<String> {
    let token = random_token();
    let now = now_ms();
    sqlx::query("INSERT INTO sessions (token_hash, kind, user_id, invitation_id, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6)")
        .bind(sha256_hex(token.as_bytes()))
        .bind(kind)
        .bind(user_id)
        .bind(invitation_id)
        .bind(now)
        .bind(now + ttl_ms)
        .execute(conn)
        .await?;
    Ok(token)
}

pub async fn revoke(db: &Db, token: &str) -> AppResult<()> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2")
        .bind(now_ms())
        .bind(sha256_hex(token.as_bytes()))
        .execute(&db.pool)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    id: i64,
    commission_id: i64,
    role: String,
    display_name: String,
}

#[derive(sqlx::FromRow)]
struct PartyRow {
    id: i64,
    case_id: i64,
    hearing_id: Option<i64>,
    role: String,
    party_id: Option<i64>,
    name: String,
    commission_id: i64,
}

/// Who holds this token, if anyone.
pub async fn resolve(db: &Db, token: &str) -> AppResult<Option<Principal>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let now = now_ms();
    let row: Option<(String, Option<i64>, Option<i64>)> =
        sqlx::query_as("SELECT kind, user_id, invitation_id FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2").bind(sha256_hex(token.as_bytes())).bind(now).fetch_optional(&db.pool).await?;
    let Some((kind, user_id, invitation_id)) = row else {
        return Ok(None);
    };
    match (kind.as_str(), user_id, invitation_id) {
        ("staff", Some(uid), _) => {
            let u: Option<StaffRow> = sqlx::query_as("SELECT id, commission_id, role, display_name FROM users WHERE id = $1 AND active = 1").bind(uid).fetch_optional(&db.pool).await?;
            Ok(u.and_then(|u| {
                Some(Principal::Staff(StaffPrincipal {
                    user_id: u.id,
                    commission_id: u.commission_id,
                    role: StaffRole::parse(&u.role)?,
                    display_name: u.display_name,
                }))
            }))
        }
        ("party", _, Some(iid)) => {
            let p: Option<PartyRow> = sqlx::query_as(
                "SELECT i.id, i.case_id, i.hearing_id, i.role, i.party_id, i.name, c.commission_id FROM invitations i JOIN cases c ON c.id = i.case_id \
                 WHERE i.id = $1 AND i.revoked_at IS NULL AND i.expires_at > $2 AND i.verified_at IS NOT NULL",
            )
            .bind(iid)
            .bind(now)
            .fetch_optional(&db.pool)
            .await?;
            Ok(p.and_then(|p| {
                Some(Principal::Party(PartyPrincipal {
                    invitation_id: p.id,
                    case_id: p.case_id,
                    hearing_id: p.hearing_id,
                    commission_id: p.commission_id,
                    role: InviteeRole::parse(&p.role)?,
                    party_id: p.party_id,
                    name: p.name,
                }))
            }))
        }
        _ => Ok(None),
    }
}
