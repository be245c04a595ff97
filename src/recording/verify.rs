//! `yunting verify <recording-dir>`: everything a recording's integrity rests on, checked
//! offline with nothing but the files: the manifest's seal signature, each segment's size
//! and SHA-256, the hash chain, and segments present but never sealed. Every problem
//! names the file.

use super::chain;
use super::manifest::{self, Manifest};
use super::seal::{MANIFEST, SIGNATURE};
use std::path::Path;

#[derive(Debug, Default)]
pub struct Report {
    pub checked: Vec<String>,
    pub problems: Vec<String>,
}

pub fn verify_dir(dir: &Path) -> Report {
    let mut r = Report::default();
    let bytes = match std::fs::read(dir.join(MANIFEST)) {
        Ok(b) => b,
        Err(_) => {
            r.problems.push(format!("{MANIFEST}: 缺失 / missing"));
            return r;
        }
    };
    let m: Manifest = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => {
            r.problems
                .push(format!("{MANIFEST}: 无法解析 / unreadable ({e})"));
            return r;
        }
    };
    let sig = std::fs::read_to_string(dir.join(SIGNATURE))
        .ok()
        .and_then(|s| crate::crypto::unhex(s.trim()));
    match sig {
        Some(sig) if manifest::verify(&m.seal_public_key, &bytes, &sig) => r
            .checked
            .push(format!("{MANIFEST}: 签章有效 / seal signature valid")),
        Some(_) => r.problems.push(format!(
            "{MANIFEST}: 签章无效，清单被改动 / seal signature INVALID: the manifest was altered"
        )),
        None => r
            .problems
            .push(format!("{SIGNATURE}: 缺失或损坏 / missing or damaged")),
    }
    for s in &m.segments {
        match std::fs::read(dir.join(&s.name)) {
            Err(_) => r.problems.push(format!("{}: 缺失 / missing", s.name)),
            Ok(data) => {
                let sha = crate::crypto::sha256_hex(&data);
                if data.len() as u64 != s.size || sha != s.sha256 {
                    r.problems.push(format!(
                        "{}: 内容被改动 / altered (sha256 {sha}, sealed {})",
                        s.name, s.sha256
                    ));
                } else {
                    r.checked.push(format!("{}: ok", s.name));
                }
            }
        }
    }
    if let Some(i) = chain::first_break(&m.segments) {
        r.problems.push(format!(
            "{}: 哈希链断裂 / hash chain broken here",
            m.segments[i].name
        ));
    }
    if m.segments
        .last()
        .map_or(chain::GENESIS, |s| s.hash.as_str())
        != m.chain_head
    {
        r.problems
            .push("chain_head: 与分段不符 / does not match the segments".into());
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut extra: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n.starts_with("seg-") && n.ends_with(".ytr"))
            .filter(|n| !m.segments.iter().any(|s| &s.name == n))
            .collect();
        extra.sort();
        for n in extra {
            r.problems.push(format!(
                "{n}: 未封存的分段 / segment not in the sealed manifest"
            ));
        }
    }
    if !m.interruptions.is_empty() {
        r.checked.push(format!(
            "{} 次中断已记录 / interruption(s) recorded",
            m.interruptions.len()
        ));
    }
    r
}
