//! Invitations: the way a party, agent, witness or observer reaches a case without an
//! account. The invitation stores whom it is for (name, phone, ID number, copied from the
//! party or agent record) because the identity check compares against exactly that.

use super::cases::CaseRow;
use crate::app::App;
use crate::audit::AuditEntry;
use crate::auth::invitation_token::{self, InvitationClaims, TokenError};
use crate::authz::Principal;
use crate::db::WriteTx;
use crate::domain::case_status::CaseStatus;
use crate::domain::identity;
use crate::domain::masking;
use crate::domain::roles::{InviteeRole, Side};
use crate::error::{AppError, AppResult};
use crate::time::{HOUR_MS, now_ms};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    pub role: InviteeRole,
    #[serde(default)]
    pub party_id: Option<i64>,
    #[serde(default)]
    pub agent_id: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub id_number: Option<String>,
    #[serde(default)]
    pub hearing_id: Option<i64>,
    #[serde(default)]
    pub expires_in_hours: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: i64,
    pub case_id: i64,
    pub hearing_id: Option<i64>,
    pub role: String,
    pub party_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub name: String,
    pub phone: String,
    pub id_number: String,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub verified_at: Option<i64>,
    pub failed_attempts: i64,
    pub locked_until: Option<i64>,
    pub created_at: i64,
}

pub const COLUMNS: &str = "id, case_id, hearing_id, role, party_id, agent_id, name, phone, id_number, expires_at, revoked_at, verified_at, failed_attempts, locked_until, created_at";

/// What staff see of an invitation (phone masked: the link is what matters to them).
#[derive(Debug, Serialize)]
pub struct InvitationView {
    pub id: i64,
    pub case_id: i64,
    pub hearing_id: Option<i64>,
    pub role: String,
    pub name: String,
    pub phone: String,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub verified_at: Option<i64>,
    pub created_at: i64,
}

impl From<&InvitationRow> for InvitationView {
    fn from(r: &InvitationRow) -> Self {
        Self {
            id: r.id,
            case_id: r.case_id,
            hearing_id: r.hearing_id,
            role: r.role.clone(),
            name: r.name.clone(),
            phone: masking::phone(&r.phone),
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            verified_at: r.verified_at,
            created_at: r.created_at,
        }
    }
}

pub async fn get(conn: &mut sqlx::AnyConnection, id: i64) -> AppResult<InvitationRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM invitations WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| AppError::not_found("invitation"))
}

pub async fn list(conn: &mut sqlx::AnyConnection, case_id: i64) -> AppResult<Vec<InvitationRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM invitations WHERE case_id = $1 ORDER BY id"
    )))
    .bind(case_id)
    .fetch_all(conn)
    .await?)
}

pub struct Created {
    pub row: InvitationRow,
    pub token: String,
    pub url: String,
}

pub async fn create(
    tx: &mut WriteTx,
    app: &App,
    actor: &Principal,
    case: &CaseRow,
    n: &NewInvitation,
) -> AppResult<Created> {
    if case.status() == CaseStatus::Closed {
        return Err(AppError::conflict(
            "case_closed",
            "案件已结案 / the case is closed",
        ));
    }
    let hours = n.expires_in_hours.unwrap_or(72);
    if !(1..=720).contains(&hours) {
        return Err(AppError::invalid(
            "invalid_field",
            "有效期须为1至720小时 / expires_in_hours must be 1–720",
        ));
    }
    if let Some(h) = n.hearing_id {
        let ok: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM hearings WHERE id = $1 AND (case_id = $2 OR case_id = $3)",
        )
        .bind(h)
        .bind(case.id)
        .bind(case.counterclaim_of.unwrap_or(-1))
        .fetch_optional(tx.conn())
        .await?;
        if ok.is_none() {
            return Err(AppError::invalid(
                "invalid_reference",
                "该庭审不属于本案 / the hearing is not of this case",
            ));
        }
    }
    // Whom the invitation is for.
    let (party_id, agent_id, name, phone, id_number) = match n.role {
        InviteeRole::Applicant | InviteeRole::Respondent => {
            let pid = n.party_id.ok_or_else(|| {
                AppError::invalid("invalid_field", "须指定当事人 / party_id is required")
            })?;
            let side = if n.role == InviteeRole::Applicant {
                Side::Applicant
            } else {
                Side::Respondent
            };
            let p: Option<(String, String, String)> =
                sqlx::query_as("SELECT name, phone, id_number FROM parties WHERE id = $1 AND case_id = $2 AND side = $3").bind(pid).bind(case.id).bind(side.as_str()).fetch_optional(tx.conn()).await?;
            let (name, phone, id) = p.ok_or_else(|| {
                AppError::invalid(
                    "invalid_reference",
                    "本案没有该方当事人 / no such party on that side of this case",
                )
            })?;
            (Some(pid), None, name, phone, id)
        }
        InviteeRole::Agent => {
            let aid = n.agent_id.ok_or_else(|| {
                AppError::invalid("invalid_field", "须指定代理人 / agent_id is required")
            })?;
            let a: Option<(String, String, String)> = sqlx::query_as(
                "SELECT name, phone, id_number FROM agents WHERE id = $1 AND case_id = $2",
            )
            .bind(aid)
            .bind(case.id)
            .fetch_optional(tx.conn())
            .await?;
            let (name, phone, id) = a.ok_or_else(|| {
                AppError::invalid(
                    "invalid_reference",
                    "本案没有该代理人 / no such agent in this case",
                )
            })?;
            (None, Some(aid), name, phone, id)
        }
        InviteeRole::Witness | InviteeRole::Observer => {
            let name = identity::display_name(n.name.as_deref().unwrap_or(""))
                .map_err(super::invalid("invalid_field"))?;
            let phone = identity::mobile_phone(n.phone.as_deref().unwrap_or(""))
                .map_err(super::invalid("invalid_phone"))?;
            let id = identity::resident_id(n.id_number.as_deref().unwrap_or(""))
                .map_err(super::invalid("invalid_id_number"))?;
            (None, None, name, phone, id)
        }
    };
    let now = now_ms();
    let expires_at = now + hours * HOUR_MS;
    let created_by = actor
        .staff()
        .map(|s| s.user_id)
        .ok_or_else(AppError::forbidden)?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO invitations (case_id, hearing_id, role, party_id, agent_id, name, phone, id_number, expires_at, created_by, created_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id",
    )
    .bind(case.id)
    .bind(n.hearing_id)
    .bind(n.role.as_str())
    .bind(party_id)
    .bind(agent_id)
    .bind(&name)
    .bind(&phone)
    .bind(&id_number)
    .bind(expires_at)
    .bind(created_by)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    let token = invitation_token::sign(
        &app.key,
        &InvitationClaims {
            v: 1,
            i: id,
            c: case.id,
            r: n.role.as_str().to_string(),
            e: expires_at,
        },
    );
    let url = format!("{}/j/{}", app.config.public_url, token);
    tx.audit(AuditEntry::new(actor, "invitation.create", format!("invitation:{id}")).case(case.id).detail(json!({"role": n.role, "name": name, "hearing_id": n.hearing_id, "expires_at": expires_at}))).await?;
    let row = get(tx.conn(), id).await?;
    Ok(Created { row, token, url })
}

pub async fn revoke(tx: &mut WriteTx, actor: &Principal, inv: &InvitationRow) -> AppResult<()> {
    if inv.revoked_at.is_some() {
        return Err(AppError::conflict(
            "conflict",
            "邀请已撤销 / the invitation is already revoked",
        ));
    }
    let now = now_ms();
    sqlx::query("UPDATE invitations SET revoked_at = $1 WHERE id = $2")
        .bind(now)
        .bind(inv.id)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE invitation_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(inv.id)
    .execute(tx.conn())
    .await?;
    tx.audit(
        AuditEntry::new(actor, "invitation.revoke", format!("invitation:{}", inv.id))
            .case(inv.case_id),
    )
    .await?;
    Ok(())
}

/// Check a link's token and find its live invitation. Expired, forged and revoked links
/// get distinct errors so the party page can say what to do.
pub async fn resolve_token(
    conn: &mut sqlx::AnyConnection,
    app: &App,
    token: &str,
) -> AppResult<InvitationRow> {
    let now = now_ms();
    let claims = invitation_token::verify(&app.key, token, now).map_err(|e| match e {
        TokenError::Expired => AppError::gone(
            "invitation_expired",
            "链接已过期，请联系书记员重新发送 / this link has expired; ask the clerk for a new one",
        ),
        TokenError::Malformed | TokenError::BadSignature => {
            AppError::not_found("invitation link / 邀请链接无效")
        }
    })?;
    let inv = get(conn, claims.i).await?;
    if inv.case_id != claims.c || inv.role != claims.r {
        return Err(AppError::not_found("invitation link / 邀请链接无效"));
    }
    if inv.revoked_at.is_some() {
        return Err(AppError::gone(
            "invitation_revoked",
            "链接已被撤销 / this link has been revoked",
        ));
    }
    if inv.expires_at <= now {
        return Err(AppError::gone(
            "invitation_expired",
            "链接已过期，请联系书记员重新发送 / this link has expired; ask the clerk for a new one",
        ));
    }
    Ok(inv)
}

/// A fresh link for an existing invitation that lands on a document's signing page after
/// the identity check (the token is stateless: re-signing it costs nothing).
pub fn signing_link(app: &App, inv: &InvitationRow, document_id: i64) -> String {
    let token = invitation_token::sign(
        &app.key,
        &InvitationClaims {
            v: 1,
            i: inv.id,
            c: inv.case_id,
            r: inv.role.clone(),
            e: inv.expires_at,
        },
    );
    format!("{}/j/{}?sign={}", app.config.public_url, token, document_id)
}
