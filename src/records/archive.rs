//! Export of closed cases to an archive directory: for each closed case not yet
//! exported, its main and secondary bundles (with video), the same files a clerk
//! downloads, written as `<dir>/<case id>-<number>/{main,secondary}.zip` plus an
//! `index.json` of what the directory holds. The directory is its own ledger: a case whose
//! folder holds both bundles is skipped, so the export can run on a schedule and after a
//! crash it finishes what it started (a bundle appears under its final name only once
//! complete). Each exported case is on the audit log.

use super::bundle::{self, Progress};
use super::collect::{self, safe_component};
use super::manifest::Part;
use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::Principal;
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct ArchiveReport {
    pub exported: Vec<String>,
    pub skipped: usize,
    pub failed: Vec<String>,
}

fn folder(id: i64, number: &str) -> String {
    format!("{id}-{}", safe_component(number))
}

/// Export every closed, not purged case of the database that `to` does not hold yet.
pub async fn export_closed(app: &App, to: &Path) -> Result<ArchiveReport> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let ids: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, number FROM cases WHERE status = 'closed' AND purged_at IS NULL ORDER BY id",
    )
    .fetch_all(&app.db.pool)
    .await?;
    let mut report = ArchiveReport::default();
    for (id, number) in ids {
        let dir = to.join(folder(id, &number));
        let done = [Part::Main, Part::Secondary]
            .iter()
            .all(|p| dir.join(format!("{}.zip", p.as_str())).is_file());
        if done {
            report.skipped += 1;
            continue;
        }
        match export_case(app, id, &dir).await {
            Ok(()) => report.exported.push(number),
            Err(e) => {
                tracing::error!(case = id, error = %e, "archive export failed");
                report.failed.push(format!("{number}: {e:#}"));
            }
        }
    }
    write_index(to)?;
    Ok(report)
}

async fn export_case(app: &App, id: i64, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let who = Principal::System;
    let mut parts = Vec::new();
    for part in [Part::Main, Part::Secondary] {
        let dest = dir.join(format!("{}.zip", part.as_str()));
        if dest.is_file() {
            continue;
        }
        let plan = {
            let mut conn = app.db.pool.acquire().await?;
            let case = crate::store::cases::get(&mut conn, id)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            collect::plan(app, &mut conn, &who, &case, part, true)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?
        };
        let out = dir.to_path_buf();
        let built = tokio::task::spawn_blocking(move || {
            bundle::write(plan, &out, &Arc::new(Progress::default()))
        })
        .await??;
        std::fs::rename(&built.path, &dest)?;
        parts.push(
            json!({"part": part.as_str(), "bundle": built.id, "size": built.size,
                          "files": built.manifest.files.len()}),
        );
    }
    let mut tx = app.db.write().await?;
    tx.audit(
        AuditEntry::new(&who, "case.archived", format!("case:{id}"))
            .case(id)
            .detail(json!({"dir": dir.display().to_string(), "parts": parts})),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    tx.commit().await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(())
}

/// `index.json`: every case folder with its bundles' sizes.
fn write_index(to: &Path) -> Result<()> {
    let mut cases: Vec<Value> = Vec::new();
    for e in std::fs::read_dir(to)?.flatten() {
        if !e.path().is_dir() {
            continue;
        }
        let name = e.file_name().to_string_lossy().to_string();
        let mut parts = serde_json::Map::new();
        for p in ["main", "secondary"] {
            if let Ok(m) = std::fs::metadata(e.path().join(format!("{p}.zip"))) {
                parts.insert(p.into(), json!(m.len()));
            }
        }
        cases.push(json!({"folder": name, "bundles": parts}));
    }
    cases.sort_by(|a, b| a["folder"].as_str().cmp(&b["folder"].as_str()));
    let tmp = to.join(".index.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&json!({"cases": cases}))?)?;
    std::fs::rename(tmp, to.join("index.json"))?;
    Ok(())
}
