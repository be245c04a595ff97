//! Post-processing as a job: when a hearing's recording is sealed, its per-participant
//! files and the composite `hearing.mp4` are written into `<recording>/export/` in the background, off the media path.
//! The job's state is on disk (`export/STATE`: `processing` or `done`), so a job cut off by
//! a restart runs again at the next start, and the recording status can show it.

use super::seal::MANIFEST;
use super::{composite, remux};
use crate::app::App;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

pub const EXPORT_DIR: &str = "export";
pub const COMPOSITE_FILE: &str = "hearing.mp4";
const STATE: &str = "STATE";

pub fn state(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join(EXPORT_DIR).join(STATE))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Run the job for one sealed recording (blocking; call from `spawn_blocking`).
pub fn run(dir: &Path) -> anyhow::Result<remux::RemuxReport> {
    let out = dir.join(EXPORT_DIR);
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join(STATE), "processing\n")?;
    let mut report = remux::participant_files(dir, &out)?;
    let mut lines = report.lines();
    // The composite hearing file: its failure does not fail the job (the per-participant
    // files stand); it is noted in the report.
    match composite::hearing_file(dir, &out.join(COMPOSITE_FILE)) {
        Ok(c) => lines.extend(c.lines()),
        Err(e) => {
            let msg = format!("composite {COMPOSITE_FILE} failed: {e:#}");
            tracing::error!("{msg}");
            lines.push(format!("note: {msg}"));
            report.notes.push(msg);
        }
    }
    std::fs::write(out.join("report.txt"), lines.join("\n") + "\n")?;
    std::fs::write(out.join(STATE), "done\n")?;
    Ok(report)
}

/// Start the job in the background and put its outcome on the hearing's record.
pub fn spawn(app: App, dir: PathBuf, hearing: i64) {
    tokio::spawn(async move {
        let d = dir.clone();
        let outcome = tokio::task::spawn_blocking(move || run(&d)).await;
        let (kind, detail): (&str, Value) = match outcome {
            Ok(Ok(r)) => (
                "recording.processed",
                json!({"files": r.files.iter().map(|f| f.path.file_name().map(|n| n.to_string_lossy().to_string())).collect::<Vec<_>>(),
                       "skipped": r.skipped, "notes": r.notes,
                       // How A/V sync was done: streams timed by their RTCP sender reports.
                       "sync": {"streams": r.sync.len(),
                                "by_sender_reports": r.sync.iter().filter(|s| s.frames > 0 && s.by_sender_report == s.frames).count()}}),
            ),
            Ok(Err(e)) => (
                "recording.processing_failed",
                json!({"error": e.to_string()}),
            ),
            Err(e) => (
                "recording.processing_failed",
                json!({"error": e.to_string()}),
            ),
        };
        if kind != "recording.processed" {
            tracing::error!(hearing, ?detail, "post-processing failed");
        }
        crate::hearing::registry::record_system_event(&app, hearing, kind, detail).await;
    });
}

/// At start: every sealed, complete recording whose job did not finish runs again.
pub fn resume(app: &App) {
    let root = app.config.recordings_dir.clone();
    let Ok(cases) = std::fs::read_dir(&root) else {
        return;
    };
    for case in cases.flatten() {
        let Ok(hearings) = std::fs::read_dir(case.path()) else {
            continue;
        };
        for h in hearings.flatten() {
            let dir = h.path();
            let complete = std::fs::read(dir.join(MANIFEST))
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .is_some_and(|m| m["complete"] == true);
            let hearing = h.file_name().to_str().and_then(|s| s.parse::<i64>().ok());
            if let (true, Some(hearing)) = (complete, hearing)
                && state(&dir).as_deref() != Some("done")
            {
                tracing::info!(hearing, "resuming recording post-processing");
                spawn(app.clone(), dir, hearing);
            }
        }
    }
}
