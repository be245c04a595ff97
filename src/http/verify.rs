//! `POST /api/verify`: the console's verify page. Staff drop a signed PDF or a case-file
//! bundle; the server checks it exactly as `yunting verify` does and answers with the
//! report. Nothing is kept: the upload streams to a private temporary file that is
//! removed when the check ends. The check and its verdict (with the file's hash, not the
//! file) are on the audit log.
//!
//! Parties cannot use it (they verify offline with the binary); an upload is capped at
//! [`MAX_UPLOAD_BYTES`] while it streams, not after.

use super::extract::{Auth, Meta};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::error::{AppError, AppResult};
use crate::records::verify::{VerifyOptions, verify_bundle};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;

pub const MAX_UPLOAD_BYTES: u64 = 4 << 30;

/// Removes the temporary upload however the handler ends.
struct TempUpload(PathBuf);

impl Drop for TempUpload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub async fn verify(
    State(app): State<App>,
    Auth(who): Auth,
    Meta(meta): Meta,
    body: Body,
) -> AppResult<Json<Value>> {
    let Some(staff) = who.staff() else {
        return Err(AppError::forbidden());
    };
    let commission_id = staff.commission_id;
    let dir = app.config.data_dir.join("tmp");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(anyhow::Error::from)?;
    let tmp = TempUpload(dir.join(format!("verify-{}", crate::crypto::random_token())));
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp.0)
        .await
        .map_err(anyhow::Error::from)?;
    let mut stream = body.into_data_stream();
    let mut size: u64 = 0;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    use futures_util::StreamExt;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            AppError::invalid("upload_failed", "上传中断 / the upload was interrupted")
        })?;
        size += chunk.len() as u64;
        if size > MAX_UPLOAD_BYTES {
            return Err(AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "文件过大（上限 4 GB）/ file too large (limit 4 GB)",
            ));
        }
        ctx.update(&chunk);
        file.write_all(&chunk).await.map_err(anyhow::Error::from)?;
    }
    file.flush().await.map_err(anyhow::Error::from)?;
    drop(file);
    let sha = crate::crypto::hex(ctx.finish().as_ref());
    // The commission's own CA is the trust anchor the server knows.
    let ca_der = {
        let mut conn = app.db.pool.acquire().await?;
        let c = crate::store::commissions::get(&mut conn, commission_id).await?;
        crate::esign::service::commission_ca(&app, &c)?
            .cert_der()
            .to_vec()
    };
    let path = tmp.0.clone();
    let report = tokio::task::spawn_blocking(move || -> anyhow::Result<Value> {
        let mut head = [0u8; 5];
        let mut f = std::fs::File::open(&path)?;
        let n = std::io::Read::read(&mut f, &mut head)?;
        if n >= 5 && &head == b"%PDF-" {
            let pdf = std::fs::read(&path)?;
            let r = crate::esign::pdf_verify::verify_pdf(&pdf, Some(&ca_der));
            return Ok(json!({"kind": "pdf", "ok": r.ok, "text": r.render_text()}));
        }
        if n >= 4 && &head[..4] == b"PK\x03\x04" {
            let r = verify_bundle(
                std::io::BufReader::new(f),
                &VerifyOptions {
                    trusted_ca_der: Some(ca_der),
                },
            );
            return Ok(json!({"kind": "bundle", "ok": r.ok, "text": r.render_text(), "report": r}));
        }
        Ok(json!({"kind": "unknown"}))
    })
    .await
    .map_err(|_| AppError::internal("verify task"))??;
    if report["kind"] == "unknown" {
        return Err(AppError::invalid(
            "unsupported_file",
            "只能校验签名 PDF 或电子卷宗 ZIP / only signed PDFs and case-file bundles (ZIP) can be checked",
        ));
    }
    let mut tx = app.db.write().await?;
    tx.audit(
        AuditEntry::new(&who, "record.verified", format!("sha256:{sha}"))
            .commission(commission_id)
            .detail(
                json!({"kind": report["kind"], "ok": report["ok"], "size": size, "sha256": sha}),
            )
            .ip(meta.ip),
    )
    .await?;
    tx.commit().await?;
    let mut out = report;
    out["sha256"] = json!(sha);
    out["size"] = json!(size);
    Ok(Json(out))
}
