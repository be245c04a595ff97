//! Writing a bundle: the plan's files copied into a ZIP (stored, not recompressed: PDFs
//! and media are compressed already, and a stored archive verifies at hashing speed),
//! each hashed on the way through, then `manifest.json` and its seal signature last.
//! The file is written under a temporary name and renamed when complete, so a bundle on
//! disk is never half-written; it is kept for a day so interrupted downloads can resume.

use super::collect::{Plan, Source};
use super::manifest::{self, BundleManifest, FileEntry, FileKind};
use anyhow::{Context, Result};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// Bytes copied so far and bytes to copy, for a progress bar.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub total: AtomicU64,
}

pub struct Built {
    pub path: PathBuf,
    /// SHA-256 of `manifest.json`: names this bundle (ETag, resumption).
    pub id: String,
    pub size: u64,
    pub manifest: BundleManifest,
}

/// Kept bundles live this long.
pub const KEEP_MS: i64 = 24 * 3600 * 1000;

pub fn file_name(case_id: i64, part: manifest::Part, for_party: bool, id: &str) -> String {
    let audience = if for_party { "-party" } else { "" };
    format!("case-{case_id}-{}{audience}-{id}.zip", part.as_str())
}

fn readme(plan: &Plan) -> String {
    format!(
        "云庭电子卷宗 / Yunting electronic case file\r\n\
         案号 / case: {number}\r\n卷别 / part: {part_zh} ({part})\r\n仲裁委 / commission: {commission}\r\n\r\n\
         manifest.json 列出本卷宗每个文件的 SHA-256 与大小，并由仲裁委签章密钥签名（manifest.sig）。\r\n\
         离线校验：yunting verify <本文件.zip> [--ca trust/commission-ca.pem 的可信副本]\r\n\r\n\
         manifest.json lists every file in this bundle with its SHA-256 and size and is signed with\r\n\
         the commission's seal key (manifest.sig). Check it offline with:\r\n\
         yunting verify <this file.zip> [--ca <a trusted copy of the commission CA certificate>]\r\n\
         Signed PDFs can also be checked with pdfsig or pyHanko.\r\n",
        number = plan.case.number,
        part_zh = plan.part.label_zh(),
        part = plan.part.as_str(),
        commission = plan.commission.name,
    )
}

fn zip_time(ms: i64) -> zip::DateTime {
    let t = crate::time::local(ms, 8);
    use chrono::{Datelike, Timelike};
    zip::DateTime::from_date_and_time(
        u16::try_from(t.year()).unwrap_or(1980),
        u8::try_from(t.month()).unwrap_or(1),
        u8::try_from(t.day()).unwrap_or(1),
        u8::try_from(t.hour()).unwrap_or(0),
        u8::try_from(t.minute()).unwrap_or(0),
        u8::try_from(t.second()).unwrap_or(0),
    )
    .unwrap_or_default()
}

/// Write `plan` into `out_dir`; blocking (run it on a blocking thread).
pub fn write(mut plan: Plan, out_dir: &Path, progress: &Arc<Progress>) -> Result<Built> {
    std::fs::create_dir_all(out_dir).context("creating the bundle directory")?;
    let readme = readme(&plan);
    plan.files.push(super::collect::PlannedFile {
        path: manifest::README.into(),
        kind: FileKind::Readme,
        title: "说明 / how to verify".into(),
        source: Source::Bytes(readme.into_bytes()),
    });
    progress.total.store(plan.total_bytes(), Ordering::Relaxed);
    let tmp = out_dir.join(format!(
        ".building-{}.zip",
        crate::crypto::hex(&crate::crypto::random_bytes::<8>())
    ));
    let result = write_to(&plan, &tmp, progress);
    let (entries, manifest_bytes) = match result {
        Ok(x) => x,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let id = crate::crypto::sha256_hex(&manifest_bytes);
    let path = out_dir.join(file_name(plan.case.id, plan.part, plan.for_party, &id));
    std::fs::rename(&tmp, &path).context("finishing the bundle")?;
    let size = std::fs::metadata(&path)?.len();
    let manifest = build_manifest(&plan, entries);
    Ok(Built {
        path,
        id,
        size,
        manifest,
    })
}

fn build_manifest(plan: &Plan, files: Vec<FileEntry>) -> BundleManifest {
    BundleManifest {
        format: manifest::FORMAT.into(),
        part: plan.part,
        video: plan.video,
        case: plan.case.clone(),
        commission: plan.commission.clone(),
        created_at_ms: plan.created_at_ms,
        created_by: plan.created_by.clone(),
        audit_head: plan.audit_head.clone(),
        files,
        omitted: plan.omitted.clone(),
    }
}

fn write_to(plan: &Plan, tmp: &Path, progress: &Progress) -> Result<(Vec<FileEntry>, Vec<u8>)> {
    let out = File::create(tmp).context("creating the bundle file")?;
    let mut zip = ZipWriter::new(std::io::BufWriter::with_capacity(1 << 20, out));
    let base = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(zip_time(plan.created_at_ms))
        .unix_permissions(0o644);
    let mut entries = Vec::with_capacity(plan.files.len());
    let mut buf = vec![0u8; 1 << 20];
    for f in &plan.files {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let mut size: u64 = 0;
        match &f.source {
            Source::Bytes(b) => {
                zip.start_file(f.path.as_str(), base)?;
                zip.write_all(b)?;
                ctx.update(b);
                size = b.len() as u64;
                progress.done.fetch_add(size, Ordering::Relaxed);
            }
            Source::File(p) => {
                let mut src = File::open(p).with_context(|| format!("opening {}", p.display()))?;
                let len = src.metadata()?.len();
                zip.start_file(
                    f.path.as_str(),
                    base.large_file(len >= u64::from(u32::MAX) - 1024),
                )?;
                loop {
                    let n = src.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    zip.write_all(&buf[..n])?;
                    ctx.update(&buf[..n]);
                    size += n as u64;
                    progress.done.fetch_add(n as u64, Ordering::Relaxed);
                }
            }
        }
        entries.push(FileEntry {
            path: f.path.clone(),
            sha256: crate::crypto::hex(ctx.finish().as_ref()),
            size,
            kind: f.kind,
            title: f.title.clone(),
        });
    }
    let manifest = build_manifest(plan, entries.clone());
    let bytes = serde_json::to_vec_pretty(&manifest)?;
    let sig = manifest::sign(&plan.seal_pkcs8, &bytes)?;
    zip.start_file(manifest::MANIFEST, base)?;
    zip.write_all(&bytes)?;
    zip.start_file(manifest::SIGNATURE, base)?;
    zip.write_all(sig.as_bytes())?;
    let mut w = zip.finish()?;
    w.flush()?;
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("flushing the bundle: {e}"))?
        .sync_all()?;
    Ok((entries, bytes))
}

/// Remove kept bundles older than [`KEEP_MS`] and abandoned partial ones.
pub fn sweep(out_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(out_dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|d| d.as_millis() > KEEP_MS as u128);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
