//! `GET /api/cases/{id}/timeline`: the case's timeline ([`crate::store::timeline`]), as
//! the reader may see it; reading it is audit-logged (`case.timeline_read`).
//!
//! `GET /api/cases/{id}/audit/entries?seq=1,2,3`: the audit entries a timeline item
//! names, for staff who may read the audit trail (the whole trail is `/api/cases/{id}/audit`).
//! Only entries of the cases the timeline shows are returned; reading them is logged.

use super::cases::authorize;
use super::extract::{ApiPath, ApiQuery, Auth};
use crate::app::App;
use crate::audit::{AuditEntry, StoredEntry};
use crate::authz::Permission;
use crate::error::{AppError, AppResult};
use crate::store::timeline::{self, Viewer, placeholders};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

/// The most entries one request may name.
pub const MAX_SEQS: usize = 200;

pub async fn get(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    let (case, access) = authorize(&mut tx, &who, id, Permission::Read).await?;
    let viewer = Viewer::of(&who, &access);
    let collected = timeline::collect(tx.conn(), &case, app.config.utc_offset_hours).await?;
    tx.audit(
        AuditEntry::new(&who, "case.timeline_read", format!("case:{id}"))
            .case(id)
            .detail(json!({"view": if viewer.is_staff() { "staff" } else { "party" }})),
    )
    .await?;
    tx.commit().await?;
    let mut entries = collected.entries;
    // Recordings are staff's; the disk is read after the writers' lock is released.
    if viewer.is_staff() && !collected.recordings.is_empty() {
        let root = app.config.recordings_dir.clone();
        let targets = collected.recordings;
        let more = tokio::task::spawn_blocking(move || timeline::recording_entries(&root, targets))
            .await
            .map_err(anyhow::Error::from)?;
        entries.extend(more);
    }
    let items = timeline::visible(&viewer, entries);
    Ok(Json(json!({
        "case": {"id": case.id, "number": case.number},
        "view": if viewer.is_staff() { "staff" } else { "party" },
        "items": items,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    seq: String,
}

/// `1,2,3` → distinct sequence numbers in order; 422 for anything else.
pub fn parse_seqs(text: &str) -> AppResult<Vec<i64>> {
    let bad = || {
        AppError::invalid(
            "invalid_field",
            format!(
                "seq 须为以逗号分隔的正整数（至多{MAX_SEQS}个）/ seq must be up to {MAX_SEQS} comma-separated positive integers"
            ),
        )
    };
    let mut out = Vec::new();
    for part in text.split(',') {
        let n: i64 = part.trim().parse().map_err(|_| bad())?;
        if n < 1 {
            return Err(bad());
        }
        if !out.contains(&n) {
            out.push(n);
        }
        if out.len() > MAX_SEQS {
            return Err(bad());
        }
    }
    out.sort_unstable();
    Ok(out)
}

pub async fn audit_entries(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<EntriesQuery>,
) -> AppResult<Json<Value>> {
    let seqs = parse_seqs(&q.seq)?;
    let mut tx = app.db.write().await?;
    let (case, _) = authorize(&mut tx, &who, id, Permission::Audit).await?;
    let cases = timeline::scope(tx.conn(), &case).await?.audit_cases;
    let sql = format!(
        "SELECT seq, at, commission_id, case_id, actor, action, target, detail, ip, prev_hash, hash FROM audit_log WHERE seq IN ({}) AND case_id IN ({}) ORDER BY seq",
        placeholders(1, seqs.len()),
        placeholders(1 + seqs.len(), cases.len()),
    );
    let mut query = sqlx::query_as::<_, StoredEntry>(sqlx::AssertSqlSafe(sql));
    for s in &seqs {
        query = query.bind(*s);
    }
    for c in &cases {
        query = query.bind(*c);
    }
    let items: Vec<StoredEntry> = query.fetch_all(tx.conn()).await?;
    // Each entry's own hash; the chain as a whole is `yunting audit verify`'s.
    let chain_ok = items.iter().all(|e| e.recomputed_hash() == e.hash);
    tx.audit(
        AuditEntry::new(&who, "audit.read", format!("case:{id}"))
            .case(id)
            .detail(json!({"seq": seqs, "found": items.len()})),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({ "items": items, "chain_ok": chain_ok })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_lists() {
        assert_eq!(parse_seqs("3,1, 2,3").unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_seqs("7").unwrap(), vec![7]);
        for bad in [
            "",
            ",",
            "1,,2",
            "0",
            "-1",
            "x",
            "1.5",
            "9223372036854775808",
        ] {
            let e = parse_seqs(bad).unwrap_err();
            assert_eq!((e.status.as_u16(), e.code), (422, "invalid_field"), "{bad}");
        }
        let many = (1..=MAX_SEQS as i64 + 1)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse_seqs(&many).is_err());
        let enough = (1..=MAX_SEQS as i64)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(parse_seqs(&enough).unwrap().len(), MAX_SEQS);
    }
}
