//! The hash-chained audit log. Every state change and every access to a record appends
//! an entry in the same transaction as the change (see [`crate::db::WriteTx`]). Each entry
//! stores the previous entry's hash and its own SHA-256 over a canonical encoding, so
//! editing, deleting or reordering any stored entry breaks the chain at that point and
//! `yunting audit verify` names it.

use crate::authz::Principal;
use crate::db::Db;
use serde::Serialize;
use serde_json::Value;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What to record; the sequence number, time and hashes are filled in by the writer.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub commission_id: Option<i64>,
    pub case_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: Value,
    pub ip: Option<String>,
}

impl AuditEntry {
    pub fn new(actor: &Principal, action: &str, target: impl Into<String>) -> Self {
        Self {
            commission_id: actor.commission_id(),
            case_id: None,
            actor: actor.audit_name(),
            action: action.into(),
            target: target.into(),
            detail: Value::Null,
            ip: None,
        }
    }
    pub fn case(mut self, case_id: i64) -> Self {
        self.case_id = Some(case_id);
        self
    }
    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
    pub fn ip(mut self, ip: Option<String>) -> Self {
        self.ip = ip;
        self
    }
    pub fn commission(mut self, id: i64) -> Self {
        self.commission_id = Some(id);
        self
    }
}

/// SHA-256 over a JSON array of the entry's fields: unambiguous and easy to recompute
/// with any JSON library.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    seq: i64,
    at: i64,
    commission_id: Option<i64>,
    case_id: Option<i64>,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
    ip: Option<&str>,
    prev_hash: &str,
) -> String {
    let canonical = serde_json::json!([
        seq,
        at,
        commission_id,
        case_id,
        actor,
        action,
        target,
        detail,
        ip,
        prev_hash
    ])
    .to_string();
    crate::crypto::sha256_hex(canonical.as_bytes())
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct StoredEntry {
    pub seq: i64,
    pub at: i64,
    pub commission_id: Option<i64>,
    pub case_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl StoredEntry {
    pub fn recomputed_hash(&self) -> String {
        entry_hash(
            self.seq,
            self.at,
            self.commission_id,
            self.case_id,
            &self.actor,
            &self.action,
            &self.target,
            &self.detail,
            self.ip.as_deref(),
            &self.prev_hash,
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ChainProblem {
    /// The entry's stored hash does not match its contents.
    Altered { seq: i64 },
    /// The entry does not point at the hash of the entry before it.
    Broken { seq: i64 },
    /// Sequence numbers skip (an entry was deleted).
    Missing { after: i64, next: i64 },
    /// The head row does not match the last entry (entries removed at the end).
    HeadMismatch { head_seq: i64, last_seq: i64 },
}

impl std::fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainProblem::Altered { seq } => write!(
                f,
                "entry #{seq}: contents altered (hash mismatch) / 第{seq}条记录内容被篡改"
            ),
            ChainProblem::Broken { seq } => write!(
                f,
                "entry #{seq}: chain broken (previous hash mismatch) / 第{seq}条记录链接断裂"
            ),
            ChainProblem::Missing { after, next } => write!(
                f,
                "entries missing between #{after} and #{next} / 第{after}条与第{next}条之间有记录缺失"
            ),
            ChainProblem::HeadMismatch { head_seq, last_seq } => write!(
                f,
                "chain head says #{head_seq} but the last entry is #{last_seq} / 链头与末条记录不符"
            ),
        }
    }
}

/// Check a run of consecutive entries. `start_prev` is the hash the first entry must
/// point at (the genesis hash for a whole chain).
pub fn verify_entries(entries: &[StoredEntry], start_prev: Option<&str>) -> Vec<ChainProblem> {
    let mut problems = Vec::new();
    let mut prev: Option<(&str, i64)> = start_prev.map(|h| (h, 0));
    for e in entries {
        if e.recomputed_hash() != e.hash {
            problems.push(ChainProblem::Altered { seq: e.seq });
        }
        if let Some((prev_hash, prev_seq)) = prev {
            if prev_seq != 0 && e.seq != prev_seq + 1 {
                problems.push(ChainProblem::Missing {
                    after: prev_seq,
                    next: e.seq,
                });
            } else if e.prev_hash != prev_hash {
                problems.push(ChainProblem::Broken { seq: e.seq });
            }
        }
        prev = Some((&e.hash, e.seq));
    }
    problems
}

/// Verify the whole chain stored in the database.
pub async fn verify_database(db: &Db) -> anyhow::Result<(usize, Vec<ChainProblem>)> {
    let entries: Vec<StoredEntry> = sqlx::query_as("SELECT seq, at, commission_id, case_id, actor, action, target, detail, ip, prev_hash, hash FROM audit_log ORDER BY seq").fetch_all(&db.pool).await?;
    let mut problems = Vec::new();
    if let Some(first) = entries.first()
        && first.seq != 1
    {
        problems.push(ChainProblem::Missing {
            after: 0,
            next: first.seq,
        });
    }
    problems.extend(verify_entries(&entries, Some(GENESIS)));
    let (head_seq, head_hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&db.pool)
            .await?;
    let last_seq = entries.last().map(|e| e.seq).unwrap_or(0);
    let last_hash = entries.last().map(|e| e.hash.as_str()).unwrap_or(GENESIS);
    if head_seq != last_seq || head_hash != last_hash {
        problems.push(ChainProblem::HeadMismatch { head_seq, last_seq });
    }
    Ok((entries.len(), problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<StoredEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut e = StoredEntry {
                    seq,
                    at: seq * 10,
                    commission_id: Some(1),
                    case_id: None,
                    actor: "user:1".into(),
                    action: "x".into(),
                    target: "case:1".into(),
                    detail: "null".into(),
                    ip: None,
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.recomputed_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn intact_chain_verifies() {
        assert!(verify_entries(&chain(5), Some(GENESIS)).is_empty());
    }

    #[test]
    fn edit_delete_and_relink_are_named() {
        let mut c = chain(5);
        c[2].action = "y".into();
        assert_eq!(
            verify_entries(&c, Some(GENESIS)),
            vec![ChainProblem::Altered { seq: 3 }]
        );

        let mut c = chain(5);
        c.remove(2);
        assert_eq!(
            verify_entries(&c, Some(GENESIS)),
            vec![ChainProblem::Missing { after: 2, next: 4 }]
        );

        // Re-hashing an edited entry does not help: the next entry no longer links to it.
        let mut c = chain(5);
        c[1].detail = "\"forged\"".into();
        c[1].hash = c[1].recomputed_hash();
        assert_eq!(
            verify_entries(&c, Some(GENESIS)),
            vec![ChainProblem::Broken { seq: 3 }]
        );
    }
}
