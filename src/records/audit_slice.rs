//! The case's slice of the hash-chained audit log, as JSON lines, and its offline check.
//!
//! The slice holds the entries of one case, which are not consecutive in the commission's
//! chain. Offline, each entry's hash is recomputed from its own fields and previous hash
//! (an edited entry fails), entries must be in increasing order, and where two entries
//! are neighbours in the chain the link between them is checked too. That an entry was
//! dropped from the slice is caught by the signed manifest, not by the slice itself.

use crate::audit::StoredEntry;

/// Serialize entries one JSON object per line.
pub fn to_jsonl(entries: &[StoredEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        // A struct of strings and integers always serializes.
        if let Ok(line) = serde_json::to_vec(e) {
            out.extend_from_slice(&line);
            out.push(b'\n');
        }
    }
    out
}

/// Problems in a slice, each naming the entry; and how many entries were checked.
pub fn check(jsonl: &[u8]) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut prev: Option<StoredEntry> = None;
    let mut n = 0;
    for (i, line) in jsonl.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let e: StoredEntry = match serde_json::from_slice(line) {
            Ok(e) => e,
            Err(_) => {
                problems.push(format!(
                    "第 {} 行无法解析 / line {} unreadable",
                    i + 1,
                    i + 1
                ));
                continue;
            }
        };
        n += 1;
        if e.recomputed_hash() != e.hash {
            problems.push(format!(
                "审计记录 #{} 内容被改动 / audit entry #{} altered",
                e.seq, e.seq
            ));
        }
        if let Some(p) = &prev {
            if e.seq <= p.seq {
                problems.push(format!(
                    "审计记录 #{} 顺序错误 / audit entry #{} out of order",
                    e.seq, e.seq
                ));
            } else if e.seq == p.seq + 1 && e.prev_hash != p.hash {
                problems.push(format!(
                    "审计记录 #{} 与前一条链接断裂 / audit entry #{} does not link to #{}",
                    e.seq, e.seq, p.seq
                ));
            }
        }
        prev = Some(e);
    }
    (n, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, prev: &str) -> StoredEntry {
        let mut e = StoredEntry {
            seq,
            at: 1000 + seq,
            commission_id: Some(1),
            case_id: Some(7),
            actor: "clerk:1".into(),
            action: "case.read".into(),
            target: "case:7".into(),
            detail: "{}".into(),
            ip: None,
            prev_hash: prev.into(),
            hash: String::new(),
        };
        e.hash = e.recomputed_hash();
        e
    }

    #[test]
    fn a_clean_slice_passes_and_an_edit_is_named() {
        let a = entry(5, "00");
        let b = entry(6, &a.hash.clone());
        let c = entry(9, "ff");
        let jsonl = to_jsonl(&[a.clone(), b.clone(), c.clone()]);
        assert_eq!(check(&jsonl), (3, vec![]));

        let mut edited = b.clone();
        edited.action = "case.deleted".into();
        let (_, p) = check(&to_jsonl(&[a.clone(), edited, c.clone()]));
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("#6"), "{p:?}");

        let unlinked = entry(6, "00");
        let (_, p) = check(&to_jsonl(&[a, unlinked, c]));
        assert!(p.iter().any(|x| x.contains("does not link")), "{p:?}");
    }
}
