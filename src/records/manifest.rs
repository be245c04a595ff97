//! `manifest.json` of a case-file bundle: what is in it, with hashes, signed by the
//! commission's seal key over the exact bytes (ECDSA P-256, the same scheme as the
//! recording manifest, so one public key checks both).

use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "yunting-case-bundle/1";
pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";
pub const README: &str = "README.txt";
pub const CA_CERT: &str = "trust/commission-ca.pem";
pub const SEAL_CERT: &str = "trust/seal-certificate.pem";
/// Larger manifests are refused unread.
pub const MAX_MANIFEST_BYTES: u64 = 32 << 20;
/// Files one bundle may list.
pub const MAX_FILES: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// 正卷
    Main,
    /// 副卷
    Secondary,
}

impl Part {
    pub fn parse(s: &str) -> Option<Part> {
        match s {
            "main" => Some(Part::Main),
            "secondary" => Some(Part::Secondary),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Main => "main",
            Part::Secondary => "secondary",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Part::Main => "正卷",
            Part::Secondary => "副卷",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Case,
    Document,
    Certificate,
    Signatures,
    /// A handwritten signature's strokes, named by their SHA-256 (secondary file).
    Strokes,
    HearingEvents,
    RecordingManifest,
    RecordingSeal,
    RecordingSegment,
    RecordingExport,
    Exhibit,
    Audit,
    IdentityChecks,
    Trust,
    Readme,
}

impl FileKind {
    /// Signed PDFs, whose signatures the verifier checks (the certificate of completion
    /// is a plain PDF whose hash the manifest vouches for).
    pub fn is_signed_pdf(self) -> bool {
        matches!(self, FileKind::Document)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub size: u64,
    pub kind: FileKind,
    pub title: String,
}

/// Something that belongs to the file but is not in this bundle, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Omitted {
    pub what: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseInfo {
    pub id: i64,
    pub number: String,
    pub cause: String,
    pub procedure: String,
    pub status: String,
    pub closing_method: Option<String>,
    pub accepted_at_ms: i64,
    pub closed_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommissionInfo {
    pub id: i64,
    pub name: String,
    /// Hex SEC1 point of the seal key that signs this manifest.
    pub seal_public_key: String,
    pub ca_certificate_sha256: String,
}

/// The audit chain's head when the bundle was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    pub format: String,
    pub part: Part,
    pub video: bool,
    pub case: CaseInfo,
    pub commission: CommissionInfo,
    pub created_at_ms: i64,
    pub created_by: String,
    pub audit_head: Option<AuditHead>,
    pub files: Vec<FileEntry>,
    pub omitted: Vec<Omitted>,
}

/// Sign the manifest bytes with the seal key (PKCS#8): the hex signature for `manifest.sig`.
pub fn sign(seal_pkcs8: &[u8], manifest_bytes: &[u8]) -> anyhow::Result<String> {
    Ok(crate::crypto::hex(&crate::recording::manifest::sign(
        seal_pkcs8,
        manifest_bytes,
    )?))
}

pub fn verify(seal_public_key_hex: &str, manifest_bytes: &[u8], signature_hex: &str) -> bool {
    crate::crypto::unhex(signature_hex.trim()).is_some_and(|sig| {
        crate::recording::manifest::verify(seal_public_key_hex, manifest_bytes, &sig)
    })
}

/// A short fingerprint people can read aloud and compare: the first 16 bytes of the
/// SHA-256 of the key, in groups.
pub fn key_fingerprint(public_key_hex: &str) -> String {
    let raw = crate::crypto::unhex(public_key_hex).unwrap_or_default();
    let h = crate::crypto::sha256_hex(&raw);
    h.as_bytes()
        .chunks(4)
        .take(8)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect::<Vec<_>>()
        .join(" ")
}
