//! The hash chain over closed segments. Each entry binds a segment's name, size and
//! SHA-256 to the previous entry, so a segment that is altered, removed or reordered
//! breaks the chain at exactly that point. Appended (one JSON line per segment) and
//! synced as each segment closes, so it survives a crash.

use serde::{Deserialize, Serialize};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainEntry {
    pub seq: u64,
    pub name: String,
    pub size: u64,
    pub sha256: String,
    /// Wall-clock span of the segment's records (µs), for navigation.
    pub first_us: u64,
    pub last_us: u64,
    pub prev: String,
    pub hash: String,
}

pub fn link(prev: &str, seq: u64, name: &str, size: u64, sha256: &str) -> String {
    crate::crypto::sha256_hex(format!("{prev}|{seq}|{name}|{size}|{sha256}").as_bytes())
}

impl ChainEntry {
    pub fn new(prev: &ChainEntry, name: &str, size: u64, sha256: &str, span: (u64, u64)) -> Self {
        Self::after(&prev.hash, prev.seq + 1, name, size, sha256, span)
    }

    pub fn after(
        prev: &str,
        seq: u64,
        name: &str,
        size: u64,
        sha256: &str,
        span: (u64, u64),
    ) -> Self {
        ChainEntry {
            seq,
            name: name.into(),
            size,
            sha256: sha256.into(),
            first_us: span.0,
            last_us: span.1,
            prev: prev.into(),
            hash: link(prev, seq, name, size, sha256),
        }
    }
}

/// The first entry that does not follow from the one before (by index), if any.
pub fn first_break(entries: &[ChainEntry]) -> Option<usize> {
    let mut prev = GENESIS.to_string();
    for (i, e) in entries.iter().enumerate() {
        if e.prev != prev
            || e.seq != i as u64 + 1
            || e.hash != link(&e.prev, e.seq, &e.name, e.size, &e.sha256)
        {
            return Some(i);
        }
        prev = e.hash.clone();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_or_missing_entry_breaks_the_chain_there() {
        let a = ChainEntry::after(GENESIS, 1, "seg-000001.ytr", 10, "aa", (0, 1));
        let b = ChainEntry::new(&a, "seg-000002.ytr", 20, "bb", (1, 2));
        let c = ChainEntry::new(&b, "seg-000003.ytr", 30, "cc", (2, 3));
        assert_eq!(first_break(&[a.clone(), b.clone(), c.clone()]), None);
        assert_eq!(first_break(&[a.clone(), c.clone()]), Some(1));
        let mut b2 = b.clone();
        b2.sha256 = "bx".into();
        assert_eq!(first_break(&[a, b2, c]), Some(1));
    }
}
