//! Commissions and their seal keys. The seal key (ECDSA P-256) signs what the commission
//! vouches for: sealed documents, recording manifests, case-file bundles. Its private
//! half lives in the data dir (0600), never in the database; the public half is stored so
//! that anyone holding an export can check a seal.

use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::Principal;
use crate::db::WriteTx;
use crate::error::{AppError, AppResult};
use crate::time::now_ms;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Commission {
    pub id: i64,
    pub name: String,
    pub case_prefix: String,
}

pub fn seal_key_path(app: &App, commission_id: i64) -> std::path::PathBuf {
    app.config
        .data_dir
        .join("keys")
        .join(format!("commission-{commission_id}-seal.p8"))
}

pub async fn create(
    tx: &mut WriteTx,
    app: &App,
    actor: &Principal,
    name: &str,
    case_prefix: &str,
) -> AppResult<Commission> {
    let name =
        crate::domain::identity::display_name(name).map_err(super::invalid("invalid_field"))?;
    let prefix = crate::domain::identity::display_name(case_prefix)
        .map_err(super::invalid("invalid_field"))?;
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|_| AppError::internal("seal key"))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| AppError::internal("seal key"))?;
    let public_hex = crate::crypto::hex(pair.public_key().as_ref());
    let (id,): (i64,) = sqlx::query_as("INSERT INTO commissions (name, case_prefix, seal_public_key, created_at) VALUES ($1,$2,$3,$4) RETURNING id")
        .bind(&name)
        .bind(&prefix)
        .bind(&public_hex)
        .bind(now_ms())
        .fetch_one(tx.conn())
        .await?;
    let path = seal_key_path(app, id);
    if path.exists() {
        // A key file left from an older database must not be silently reused.
        return Err(AppError::conflict(
            "conflict",
            format!("seal key file {} already exists", path.display()),
        ));
    }
    crate::app::write_private(&path, pkcs8.as_ref())?;
    tx.audit(AuditEntry::new(actor, "commission.create", format!("commission:{id}")).commission(id).detail(serde_json::json!({"name": name, "case_prefix": prefix, "seal_public_key": public_hex})))
        .await?;
    Ok(Commission {
        id,
        name,
        case_prefix: prefix,
    })
}

pub async fn get(conn: &mut sqlx::AnyConnection, id: i64) -> AppResult<Commission> {
    sqlx::query_as("SELECT id, name, case_prefix FROM commissions WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::not_found("commission"))
}
