//! Parties (申请人 / 被申请人), their agents (委托代理人) and the itemised claims.

use super::cases::{CaseRow, NewClaim};
use crate::audit::AuditEntry;
use crate::authz::Principal;
use crate::db::WriteTx;
use crate::domain::case_status::CaseStatus;
use crate::domain::identity;
use crate::domain::roles::{AgentAuthority, PartyKind, Side};
use crate::error::{AppError, AppResult};
use crate::time::now_ms;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewParty {
    pub side: Side,
    pub kind: PartyKind,
    pub name: String,
    #[serde(default)]
    pub legal_rep: Option<String>,
    pub phone: String,
    pub id_number: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    pub name: String,
    pub phone: String,
    pub id_number: String,
    pub authority: AgentAuthority,
    #[serde(default)]
    pub authority_detail: Option<String>,
}

fn open_case(case: &CaseRow) -> AppResult<()> {
    if case.status() == CaseStatus::Closed {
        return Err(AppError::conflict(
            "case_closed",
            "案件已结案，不能修改 / the case is closed and cannot be changed",
        ));
    }
    Ok(())
}

pub async fn add_party(
    tx: &mut WriteTx,
    actor: &Principal,
    case: &CaseRow,
    p: &NewParty,
) -> AppResult<i64> {
    open_case(case)?;
    let name = identity::display_name(&p.name).map_err(super::invalid("invalid_field"))?;
    let phone = identity::mobile_phone(&p.phone).map_err(super::invalid("invalid_phone"))?;
    let id_number = match p.kind {
        PartyKind::Person => {
            identity::resident_id(&p.id_number).map_err(super::invalid("invalid_id_number"))?
        }
        PartyKind::Organisation => identity::social_credit_code(&p.id_number)
            .map_err(super::invalid("invalid_id_number"))?,
    };
    let legal_rep = match (&p.kind, &p.legal_rep) {
        (PartyKind::Organisation, Some(r)) => {
            Some(identity::display_name(r).map_err(super::invalid("invalid_field"))?)
        }
        (PartyKind::Organisation, None) => {
            return Err(AppError::invalid(
                "invalid_field",
                "单位须填写法定代表人 / an organisation needs its legal representative",
            ));
        }
        (PartyKind::Person, Some(_)) => {
            return Err(AppError::invalid(
                "invalid_field",
                "自然人不填写法定代表人 / a person has no legal representative",
            ));
        }
        (PartyKind::Person, None) => None,
    };
    let (id,): (i64,) = sqlx::query_as("INSERT INTO parties (case_id, side, kind, name, legal_rep, phone, id_number, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id")
        .bind(case.id)
        .bind(p.side.as_str())
        .bind(p.kind.as_str())
        .bind(&name)
        .bind(legal_rep.as_deref())
        .bind(&phone)
        .bind(&id_number)
        .bind(now_ms())
        .fetch_one(tx.conn())
        .await?;
    tx.audit(
        AuditEntry::new(actor, "party.create", format!("party:{id}"))
            .case(case.id)
            .detail(json!({"side": p.side, "kind": p.kind, "name": name})),
    )
    .await?;
    Ok(id)
}

pub async fn add_agent(
    tx: &mut WriteTx,
    actor: &Principal,
    case: &CaseRow,
    party_id: i64,
    a: &NewAgent,
) -> AppResult<i64> {
    open_case(case)?;
    let belongs: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM parties WHERE id = $1 AND case_id = $2")
            .bind(party_id)
            .bind(case.id)
            .fetch_optional(tx.conn())
            .await?;
    if belongs.is_none() {
        return Err(AppError::not_found("party"));
    }
    let name = identity::display_name(&a.name).map_err(super::invalid("invalid_field"))?;
    let phone = identity::mobile_phone(&a.phone).map_err(super::invalid("invalid_phone"))?;
    let id_number =
        identity::resident_id(&a.id_number).map_err(super::invalid("invalid_id_number"))?;
    let detail = match &a.authority_detail {
        Some(d) if !d.trim().is_empty() => {
            Some(identity::free_text(d, 500).map_err(super::invalid("invalid_field"))?)
        }
        _ => None,
    };
    let (id,): (i64,) = sqlx::query_as("INSERT INTO agents (case_id, party_id, name, phone, id_number, authority, authority_detail, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id")
        .bind(case.id)
        .bind(party_id)
        .bind(&name)
        .bind(&phone)
        .bind(&id_number)
        .bind(a.authority.as_str())
        .bind(detail.as_deref())
        .bind(now_ms())
        .fetch_one(tx.conn())
        .await?;
    tx.audit(
        AuditEntry::new(actor, "agent.create", format!("agent:{id}"))
            .case(case.id)
            .detail(json!({"party_id": party_id, "name": name, "authority": a.authority})),
    )
    .await?;
    Ok(id)
}

pub async fn add_claim(
    tx: &mut WriteTx,
    actor: &Principal,
    case: &CaseRow,
    c: &NewClaim,
) -> AppResult<()> {
    open_case(case)?;
    super::cases::insert_claims(tx, case.id, std::slice::from_ref(c)).await?;
    tx.audit(
        AuditEntry::new(actor, "claim.create", format!("case:{}", case.id))
            .case(case.id)
            .detail(json!({"description": c.description, "amount_cents": c.amount_cents})),
    )
    .await?;
    Ok(())
}

/// Copy the claim's parties and agents into its counterclaim with sides swapped.
pub(crate) async fn copy_swapped(tx: &mut WriteTx, from_case: i64, to_case: i64) -> AppResult<()> {
    #[derive(sqlx::FromRow)]
    struct P {
        id: i64,
        side: String,
        kind: String,
        name: String,
        legal_rep: Option<String>,
        phone: String,
        id_number: String,
    }
    let parties: Vec<P> = sqlx::query_as("SELECT id, side, kind, name, legal_rep, phone, id_number FROM parties WHERE case_id = $1 ORDER BY id").bind(from_case).fetch_all(tx.conn()).await?;
    let now = now_ms();
    for p in parties {
        let side = Side::parse(&p.side)
            .map(Side::opposite)
            .unwrap_or(Side::Applicant);
        let (new_id,): (i64,) = sqlx::query_as("INSERT INTO parties (case_id, side, kind, name, legal_rep, phone, id_number, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id")
            .bind(to_case)
            .bind(side.as_str())
            .bind(&p.kind)
            .bind(&p.name)
            .bind(p.legal_rep.as_deref())
            .bind(&p.phone)
            .bind(&p.id_number)
            .bind(now)
            .fetch_one(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO agents (case_id, party_id, name, phone, id_number, authority, authority_detail, created_at) \
             SELECT $1, $2, name, phone, id_number, authority, authority_detail, $3 FROM agents WHERE party_id = $4",
        )
        .bind(to_case)
        .bind(new_id)
        .bind(now)
        .bind(p.id)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}
