//! `yunting verify <recording-dir>`: everything a recording's integrity rests on, checked
//! offline with nothing but the files: the manifest's seal signature, each segment's size
//! and SHA-256, the hash chain, and segments present but never sealed. Every problem
//! names the file.

use super::chain;
use super::manifest::{self, Manifest};
use super::seal::{MANIFEST, SEAL_CERT, SIGNATURE};
use std::path::Path;

#[derive(Debug, Default)]
pub struct Report {
    pub checked: Vec<String>,
    pub problems: Vec<String>,
    /// The key the manifest claims to be sealed with (whether or not it verified).
    pub seal_public_key: Option<String>,
    /// Whether that key was checked against a trusted commission CA (`--ca`).
    pub anchored: bool,
}

/// Where a recording's files are read from: its directory, or a case-file bundle.
pub trait RecordingFiles {
    /// A file's bytes; `Err` with a reason when it is missing or unreadable.
    fn read(&mut self, name: &str) -> Result<Vec<u8>, String>;
    /// The names present (to find segments that were never sealed).
    fn names(&self) -> Vec<String>;
    /// A file's SHA-256 (hex) and size; a source that already knows them may say so.
    fn sha256(&mut self, name: &str) -> Result<(String, u64), String> {
        self.read(name)
            .map(|d| (crate::crypto::sha256_hex(&d), d.len() as u64))
    }
}

struct DirFiles<'a>(&'a Path);

impl RecordingFiles for DirFiles<'_> {
    fn read(&mut self, name: &str) -> Result<Vec<u8>, String> {
        std::fs::read(self.0.join(name)).map_err(|e| e.to_string())
    }
    fn names(&self) -> Vec<String> {
        std::fs::read_dir(self.0)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `trusted_ca_der`: the commission CA the person checking trusts. Without it the seal
/// is only shown to be intact under the key the manifest names, which anyone could have
/// made; with it, that key must be certified by the CA (`seal-certificate.pem`).
pub fn verify_dir(dir: &Path, trusted_ca_der: Option<&[u8]>) -> Report {
    let mut files = DirFiles(dir);
    let mut r = verify_files(&mut files);
    if let (Some(ca), Some(key)) = (trusted_ca_der, r.seal_public_key.clone()) {
        check_seal_certificate(&mut files, ca, &key, &mut r);
    }
    r
}

fn check_seal_certificate(
    files: &mut dyn RecordingFiles,
    ca: &[u8],
    key_hex: &str,
    r: &mut Report,
) {
    let der = files.read(SEAL_CERT).ok().and_then(|b| {
        std::str::from_utf8(&b)
            .ok()
            .and_then(crate::store::signing::pem_to_der)
    });
    let Some(der) = der else {
        r.problems.push(format!(
            "{SEAL_CERT}: 缺失或无法解析，无法核对签章密钥 / missing or unreadable: the sealing key cannot be checked against the CA"
        ));
        return;
    };
    let issued = crate::esign::ca::verify_issued_by(&der, ca);
    let key = crate::esign::ca::cert_info(&der).map(|i| crate::crypto::hex(&i.public_key));
    match (issued, key) {
        (Ok(()), Ok(k)) if k == key_hex => {
            r.anchored = true;
            r.checked.push(format!(
                "{SEAL_CERT}: 签章密钥由您信任的仲裁委 CA 认证 / the sealing key is certified by the commission CA you trust"
            ));
        }
        (Ok(()), Ok(_)) => r.problems.push(format!(
            "{SEAL_CERT}: 证书的公钥不是清单的签章密钥 / certifies a different key than the one that sealed the manifest"
        )),
        (Err(e), _) => r.problems.push(format!(
            "{SEAL_CERT}: 不是您信任的 CA 签发的 / not issued by the CA you trust ({e})"
        )),
        (_, Err(e)) => r
            .problems
            .push(format!("{SEAL_CERT}: 证书无法解析 / unreadable ({e})")),
    }
}

pub fn verify_files(files: &mut dyn RecordingFiles) -> Report {
    let mut r = Report::default();
    let bytes = match files.read(MANIFEST) {
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
    r.seal_public_key = Some(m.seal_public_key.clone());
    let sig = files
        .read(SIGNATURE)
        .ok()
        .and_then(|s| crate::crypto::unhex(String::from_utf8_lossy(&s).trim()));
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
        match files.sha256(&s.name) {
            Err(_) => r.problems.push(format!("{}: 缺失 / missing", s.name)),
            Ok((sha, size)) => {
                if size != s.size || sha != s.sha256 {
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
    let mut extra: Vec<String> = files
        .names()
        .into_iter()
        .filter(|n| n.starts_with("seg-") && n.ends_with(".ytr"))
        .filter(|n| !m.segments.iter().any(|s| &s.name == n))
        .collect();
    extra.sort();
    for n in extra {
        r.problems.push(format!(
            "{n}: 未封存的分段 / segment not in the sealed manifest"
        ));
    }
    if !m.interruptions.is_empty() {
        r.checked.push(format!(
            "{} 次中断已记录 / interruption(s) recorded",
            m.interruptions.len()
        ));
    }
    r
}
