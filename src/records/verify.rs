//! `yunting verify <bundle.zip>`: everything the case file rests on, checked offline.
//!
//! In order: the archive's structure ([`super::safe_zip`]); the manifest's seal
//! signature; the trust files (the seal certificate was issued by the bundled CA and
//! certifies the very key that signed the manifest; with `--ca`, the bundled CA must be
//! the one the reader trusts); each listed file's size and SHA-256; files present but not
//! listed; every PDF signature; every recording's seal and hash chain; the audit slice;
//! and each signature record against the PDFs (same certificate, same document hash) and,
//! for passkey confirmations, the assertion itself. Each finding names its item.

use super::manifest::{self, BundleManifest, FileKind};
use super::safe_zip::{self, SafeZip};
use crate::recording::verify::RecordingFiles;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{Read, Seek};

/// PDFs larger than this are hashed but not parsed.
const MAX_PDF_BYTES: u64 = 512 << 20;
const MAX_JSON_BYTES: u64 = 256 << 20;
const MAX_SMALL_BYTES: u64 = 64 << 10;
const MAX_SEGMENT_BYTES: u64 = 256 << 20;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    pub item: String,
    pub ok: bool,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BundleReport {
    pub findings: Vec<Finding>,
    pub case_number: Option<String>,
    pub part: Option<String>,
    pub created_at_ms: Option<i64>,
    pub seal_key_fingerprint: Option<String>,
    pub ca_sha256: Option<String>,
    /// Whether the CA was checked against one the reader supplied.
    pub ca_pinned: bool,
    pub files_checked: usize,
    pub bytes_checked: u64,
    pub ok: bool,
}

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The commission CA certificate (DER) the reader trusts.
    pub trusted_ca_der: Option<Vec<u8>>,
}

impl BundleReport {
    fn pass(&mut self, item: impl Into<String>, message: impl Into<String>) {
        self.findings.push(Finding {
            item: item.into(),
            ok: true,
            message: message.into(),
        });
    }
    fn fail(&mut self, item: impl Into<String>, message: impl Into<String>) {
        self.findings.push(Finding {
            item: item.into(),
            ok: false,
            message: message.into(),
        });
    }
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.ok)
    }

    /// The report as a clerk reads it, Chinese and English.
    pub fn render_text(&self) -> String {
        let mut out =
            String::from("云庭电子卷宗校验报告 / Yunting case-file verification report\n");
        if let Some(n) = &self.case_number {
            out.push_str(&format!(
                "案号 / case: {n}   卷别 / part: {}\n",
                self.part.as_deref().unwrap_or("?")
            ));
        }
        if let Some(fp) = &self.seal_key_fingerprint {
            out.push_str(&format!("签章公钥指纹 / seal key fingerprint: {fp}\n"));
        }
        if let Some(ca) = &self.ca_sha256 {
            out.push_str(&format!("CA 证书 SHA-256 / CA certificate SHA-256: {ca}\n"));
        }
        if !self.ca_pinned {
            out.push_str("注意：未用 --ca 指定信任的仲裁委 CA 证书，请将上面的指纹与仲裁委公布的核对 / note: no trusted CA given with --ca; compare the fingerprints above with those the commission publishes\n");
        }
        for f in &self.findings {
            let tag = if f.ok { "通过 ok  " } else { "失败 FAIL" };
            out.push_str(&format!("[{tag}] {} — {}\n", f.item, f.message));
        }
        let bad = self.failures().count();
        if self.ok {
            out.push_str(&format!(
                "结论 / result: 通过 PASSED — {} 个文件，{} 字节 / {} files, {} bytes\n",
                self.files_checked, self.bytes_checked, self.files_checked, self.bytes_checked
            ));
        } else {
            out.push_str(&format!(
                "结论 / result: 未通过 FAILED — {bad} 项问题 / {bad} problem(s)\n"
            ));
        }
        out
    }
}

/// Check a bundle. Never panics and never writes: a hostile archive yields failures.
pub fn verify_bundle<R: Read + Seek>(reader: R, opts: &VerifyOptions) -> BundleReport {
    let mut r = BundleReport::default();
    check(reader, opts, &mut r);
    r.ok = r.findings.iter().all(|f| f.ok) && r.case_number.is_some();
    r
}

fn check<R: Read + Seek>(reader: R, opts: &VerifyOptions, r: &mut BundleReport) {
    let (mut zip, problems) = match safe_zip::open(reader) {
        Ok(z) => z,
        Err(e) => return r.fail("bundle", e),
    };
    for p in problems {
        r.fail(p.name, format!("已拒绝 / refused: {}", p.problem));
    }
    let m = match read_manifest(&mut zip, r) {
        Some(m) => m,
        None => return,
    };
    r.case_number = Some(m.case.number.clone());
    r.part = Some(m.part.as_str().to_string());
    r.created_at_ms = Some(m.created_at_ms);
    r.seal_key_fingerprint = Some(manifest::key_fingerprint(&m.commission.seal_public_key));
    let ca_der = check_trust(&mut zip, &m, opts, r);

    // Every listed file: present, the size and hash it was listed with.
    let mut verified: BTreeMap<String, (String, u64)> = BTreeMap::new();
    // (certificate, document hash) of every valid PDF signature → its passkey challenge.
    let mut pdf_signers: PdfSigners = HashMap::new();
    for f in &m.files {
        if !zip.entries.contains_key(&f.path) {
            r.fail(
                &f.path,
                "缺失：清单列出但压缩包中没有 / missing: listed but not in the archive",
            );
            continue;
        }
        let pdf = f.kind.is_signed_pdf() && f.size <= MAX_PDF_BYTES;
        let (sha, size, bytes) = if pdf {
            match zip.read(&f.path, MAX_PDF_BYTES) {
                Ok(b) => (crate::crypto::sha256_hex(&b), b.len() as u64, Some(b)),
                Err(e) => {
                    r.fail(&f.path, e);
                    continue;
                }
            }
        } else {
            match zip.sha256(&f.path) {
                Ok((s, n)) => (s, n, None),
                Err(e) => {
                    r.fail(&f.path, e);
                    continue;
                }
            }
        };
        r.bytes_checked += size;
        if sha != f.sha256 || size != f.size {
            r.fail(
                &f.path,
                format!(
                    "内容被改动：哈希或大小与清单不符 / altered: hash or size differs from the manifest (sha256 {sha})"
                ),
            );
            continue;
        }
        r.files_checked += 1;
        verified.insert(f.path.clone(), (sha, size));
        match bytes {
            Some(pdf) => check_pdf(&f.path, &pdf, ca_der.as_deref(), &mut pdf_signers, r),
            None => r.pass(&f.path, "哈希一致 / hash matches"),
        }
    }
    // Anything in the archive the manifest does not list was added afterwards.
    let listed: BTreeSet<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    let extra: Vec<String> = zip
        .entries
        .keys()
        .filter(|n| !listed.contains(n.as_str()))
        .filter(|n| *n != manifest::MANIFEST && *n != manifest::SIGNATURE)
        .cloned()
        .collect();
    for n in extra {
        r.fail(
            n,
            "清单未列出的文件（事后加入）/ file not listed in the manifest (added afterwards)",
        );
    }
    check_recordings(&mut zip, &m, &verified, r);
    for f in m.files.iter().filter(|f| verified.contains_key(&f.path)) {
        match f.kind {
            FileKind::Audit => check_audit(&mut zip, &f.path, r),
            // Named by their own SHA-256, which the signature records bind.
            FileKind::Strokes => {
                let named = f
                    .path
                    .rsplit('/')
                    .next()
                    .and_then(|n| n.strip_suffix(".json"))
                    .unwrap_or("");
                if named == f.sha256 {
                    r.pass(&f.path, "笔迹与签名记录所绑定的哈希一致 / strokes match the hash the signature record binds");
                } else {
                    r.fail(&f.path, "笔迹与其名称所示哈希不符 / strokes do not match the hash they are named by");
                }
            }
            FileKind::Signatures => {
                // The secondary file's records refer to PDFs kept in the main file.
                let pdfs = (m.part == super::manifest::Part::Main).then_some(&pdf_signers);
                check_signature_records(&mut zip, &f.path, pdfs, r)
            }
            _ => {}
        }
    }
    for o in &m.omitted {
        r.pass(
            format!("（未收入 / not included）{}", o.what),
            o.reason.clone(),
        );
    }
}

fn read_manifest<R: Read + Seek>(
    zip: &mut SafeZip<R>,
    r: &mut BundleReport,
) -> Option<BundleManifest> {
    let bytes = match zip.read(manifest::MANIFEST, manifest::MAX_MANIFEST_BYTES) {
        Ok(b) => b,
        Err(e) => {
            r.fail(manifest::MANIFEST, e);
            return None;
        }
    };
    let m: BundleManifest = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => {
            r.fail(manifest::MANIFEST, format!("无法解析 / unreadable ({e})"));
            return None;
        }
    };
    if m.format != manifest::FORMAT {
        r.fail(
            manifest::MANIFEST,
            format!("未知格式 / unknown format {:?}", m.format),
        );
        return None;
    }
    if m.files.len() > manifest::MAX_FILES {
        r.fail(manifest::MANIFEST, "列出的文件过多 / lists too many files");
        return None;
    }
    let mut seen = HashSet::new();
    for f in &m.files {
        if let Some(p) = safe_zip::name_problem(&f.path) {
            r.fail(
                manifest::MANIFEST,
                format!("清单中的路径 {:?} 不安全 / unsafe path listed: {p}", f.path),
            );
            return None;
        }
        if !seen.insert(f.path.as_str()) {
            r.fail(
                manifest::MANIFEST,
                format!("清单重复列出 / listed twice: {}", f.path),
            );
            return None;
        }
    }
    match zip.read(manifest::SIGNATURE, MAX_SMALL_BYTES) {
        Ok(sig) => {
            let sig = String::from_utf8_lossy(&sig).to_string();
            if manifest::verify(&m.commission.seal_public_key, &bytes, &sig) {
                r.pass(
                    manifest::MANIFEST,
                    "仲裁委签章有效 / commission seal signature valid",
                );
            } else {
                r.fail(
                    manifest::MANIFEST,
                    "签章无效：清单被改动或不是该签章所签 / seal signature INVALID: the manifest was altered",
                );
            }
        }
        Err(e) => r.fail(manifest::SIGNATURE, e),
    }
    Some(m)
}

/// The CA and seal certificates: returns the CA (DER) to check PDF chains against.
fn check_trust<R: Read + Seek>(
    zip: &mut SafeZip<R>,
    m: &BundleManifest,
    opts: &VerifyOptions,
    r: &mut BundleReport,
) -> Option<Vec<u8>> {
    let pem = |zip: &mut SafeZip<R>, name: &str| -> Result<Vec<u8>, String> {
        let bytes = zip.read(name, MAX_SMALL_BYTES)?;
        crate::store::signing::pem_to_der(&String::from_utf8_lossy(&bytes))
            .ok_or_else(|| "不是 PEM 证书 / not a PEM certificate".to_string())
    };
    let ca = match pem(zip, manifest::CA_CERT) {
        Ok(der) => der,
        Err(e) => {
            r.fail(manifest::CA_CERT, e);
            return opts.trusted_ca_der.clone();
        }
    };
    let ca_sha = crate::esign::ca::cert_sha256_hex(&ca);
    r.ca_sha256 = Some(ca_sha.clone());
    if ca_sha != m.commission.ca_certificate_sha256 {
        r.fail(
            manifest::CA_CERT,
            "与清单记录的 CA 不符 / not the CA the manifest names",
        );
    }
    if let Some(trusted) = &opts.trusted_ca_der {
        r.ca_pinned = true;
        if trusted != &ca {
            r.fail(
                manifest::CA_CERT,
                "不是您信任的仲裁委 CA 证书 / not the commission CA certificate you trust (--ca)",
            );
        }
    }
    match pem(zip, manifest::SEAL_CERT) {
        Ok(seal) => {
            let issued = crate::esign::ca::verify_issued_by(&seal, &ca);
            let key = crate::esign::ca::cert_info(&seal).map(|i| crate::crypto::hex(&i.public_key));
            match (issued, key) {
                (Ok(()), Ok(k)) if k == m.commission.seal_public_key => r.pass(
                    manifest::SEAL_CERT,
                    "签章证书由该 CA 签发，且与清单签章公钥一致 / seal certificate issued by the CA and matches the manifest's seal key",
                ),
                (Ok(()), Ok(_)) => r.fail(
                    manifest::SEAL_CERT,
                    "签章证书的公钥与清单签章公钥不符 / the seal certificate certifies a different key",
                ),
                (Err(e), _) => r.fail(
                    manifest::SEAL_CERT,
                    format!("不是该 CA 签发的证书 / not issued by the CA ({e})"),
                ),
                (_, Err(e)) => r.fail(manifest::SEAL_CERT, format!("证书无法解析 / unreadable ({e})")),
            }
        }
        Err(e) => r.fail(manifest::SEAL_CERT, e),
    }
    Some(opts.trusted_ca_der.clone().unwrap_or(ca))
}

fn check_pdf(
    path: &str,
    pdf: &[u8],
    ca: Option<&[u8]>,
    signers: &mut PdfSigners,
    r: &mut BundleReport,
) {
    let report = crate::esign::pdf_verify::verify_pdf(pdf, ca);
    for s in &report.signatures {
        if s.ok()
            && let Some(doc) = &s.doc_sha256_hex
        {
            signers.insert(
                (s.cert_fingerprint.clone(), doc.clone()),
                s.passkey_challenge.clone(),
            );
        }
    }
    if report.ok {
        r.pass(
            path,
            format!(
                "哈希一致，{} 个 PDF 签名全部有效 / hash matches, all {} PDF signature(s) valid",
                report.signatures.len(),
                report.signatures.len()
            ),
        );
    } else {
        let mut why: Vec<String> = report.problems.clone();
        for s in report.signatures.iter().filter(|s| !s.ok()) {
            why.push(format!(
                "{} ({}): {}",
                s.field_name,
                s.signer_cn,
                s.problems.join("; ")
            ));
        }
        r.fail(
            path,
            format!(
                "PDF 签名校验失败 / PDF signature check FAILED: {}",
                why.join(" | ")
            ),
        );
    }
}

/// A recording inside the bundle: its files under `recordings/hearing-N/`, with the
/// hashes already verified against the manifest (segments are not read twice).
struct BundledRecording<'a, R> {
    zip: &'a mut SafeZip<R>,
    prefix: String,
    verified: &'a BTreeMap<String, (String, u64)>,
}

impl<R: Read + Seek> RecordingFiles for BundledRecording<'_, R> {
    fn read(&mut self, name: &str) -> Result<Vec<u8>, String> {
        self.zip
            .read(&format!("{}{name}", self.prefix), MAX_SEGMENT_BYTES)
    }
    fn names(&self) -> Vec<String> {
        self.zip
            .entries
            .keys()
            .filter_map(|k| k.strip_prefix(&self.prefix))
            .filter(|k| !k.contains('/'))
            .map(str::to_string)
            .collect()
    }
    fn sha256(&mut self, name: &str) -> Result<(String, u64), String> {
        let path = format!("{}{name}", self.prefix);
        match self.verified.get(&path) {
            Some(v) => Ok(v.clone()),
            None => self.zip.sha256(&path),
        }
    }
}

fn check_recordings<R: Read + Seek>(
    zip: &mut SafeZip<R>,
    m: &BundleManifest,
    verified: &BTreeMap<String, (String, u64)>,
    r: &mut BundleReport,
) {
    let dirs: BTreeSet<String> = m
        .files
        .iter()
        .filter(|f| f.kind == FileKind::RecordingManifest)
        .filter_map(|f| f.path.rsplit_once('/').map(|(d, _)| format!("{d}/")))
        .collect();
    for prefix in dirs {
        let item = prefix.trim_end_matches('/').to_string();
        let with_segments = m
            .files
            .iter()
            .any(|f| f.kind == FileKind::RecordingSegment && f.path.starts_with(&prefix));
        let mut files = BundledRecording {
            zip,
            prefix: prefix.clone(),
            verified,
        };
        if with_segments {
            let rep = crate::recording::verify::verify_files(&mut files);
            seal_key_matches(&rep.seal_public_key, m, &item, r);
            if rep.problems.is_empty() {
                r.pass(
                    &item,
                    format!(
                        "录像签章有效，{} 项检查通过 / recording seal valid, {} checks passed",
                        rep.checked.len(),
                        rep.checked.len()
                    ),
                );
            } else {
                for p in rep.problems {
                    r.fail(&item, p);
                }
            }
        } else {
            // A bundle without video keeps the sealed manifest: its signature still holds.
            let manifest_bytes = files.read(crate::recording::seal::MANIFEST);
            let sig = files.read(crate::recording::seal::SIGNATURE);
            let parsed = manifest_bytes.as_ref().ok().and_then(|b| {
                serde_json::from_slice::<crate::recording::manifest::Manifest>(b).ok()
            });
            match (manifest_bytes, sig, parsed) {
                (Ok(b), Ok(s), Some(rm)) => {
                    seal_key_matches(&Some(rm.seal_public_key.clone()), m, &item, r);
                    let sig = crate::crypto::unhex(String::from_utf8_lossy(&s).trim()).unwrap_or_default();
                    if crate::recording::manifest::verify(&rm.seal_public_key, &b, &sig) {
                        r.pass(&item, "录像清单签章有效（卷宗未收入音视频分段）/ recording manifest seal valid (segments not included)");
                    } else {
                        r.fail(&item, "录像清单签章无效 / recording manifest seal INVALID");
                    }
                }
                _ => r.fail(&item, "录像清单或签章缺失、无法解析 / recording manifest or signature missing or unreadable"),
            }
        }
    }
}

fn seal_key_matches(key: &Option<String>, m: &BundleManifest, item: &str, r: &mut BundleReport) {
    if key
        .as_deref()
        .is_some_and(|k| k != m.commission.seal_public_key)
    {
        r.fail(
            item,
            "录像由另一把签章密钥封存 / the recording was sealed with a different seal key",
        );
    }
}

fn check_audit<R: Read + Seek>(zip: &mut SafeZip<R>, path: &str, r: &mut BundleReport) {
    match zip.read(path, MAX_JSON_BYTES) {
        Ok(bytes) => {
            let (n, problems) = super::audit_slice::check(&bytes);
            if problems.is_empty() {
                r.pass(
                    path,
                    format!("{n} 条审计记录哈希一致 / {n} audit entries intact"),
                );
            }
            for p in problems {
                r.fail(path, p);
            }
        }
        Err(e) => r.fail(path, e),
    }
}

/// (certificate fingerprint, document hash) of each valid PDF signature, with the
/// passkey challenge it implies.
type PdfSigners = HashMap<(String, String), Option<Vec<u8>>>;

fn check_signature_records<R: Read + Seek>(
    zip: &mut SafeZip<R>,
    path: &str,
    pdf_signers: Option<&PdfSigners>,
    r: &mut BundleReport,
) {
    let records: Vec<serde_json::Value> = match zip.read(path, MAX_JSON_BYTES).and_then(|b| {
        serde_json::from_slice(&b).map_err(|e| format!("无法解析 / unreadable ({e})"))
    }) {
        Ok(v) => v,
        Err(e) => return r.fail(path, e),
    };
    let mut checked = 0;
    for rec in &records {
        if rec["status"] != "signed" {
            continue;
        }
        let who = format!(
            "{}#{} {}",
            path,
            rec["id"],
            rec["name"].as_str().unwrap_or("?")
        );
        let fp = rec["cert_fingerprint"].as_str().unwrap_or("").to_string();
        let doc = rec["doc_sha256"].as_str().unwrap_or("").to_string();
        let signature = pdf_signers.map(|set| set.get(&(fp, doc)));
        if signature.is_some_and(|s| s.is_none()) {
            r.fail(
                &who,
                "卷宗中没有与该签名记录对应的有效 PDF 签名 / no valid PDF signature in the bundle matches this signature record",
            );
            continue;
        }
        if !rec["webauthn"].is_null()
            && let Err(e) = crate::esign::webauthn::verify_recorded(
                &rec["webauthn"],
                signature.flatten().and_then(|c| c.as_deref()),
            )
        {
            r.fail(
                &who,
                format!("通行密钥确认无效 / passkey confirmation invalid: {e}"),
            );
            continue;
        }
        checked += 1;
    }
    r.pass(
        path,
        format!("{checked} 条签名记录与 PDF 签名一致 / {checked} signature record(s) match the PDF signatures"),
    );
}
