//! Post-processing as a job queue: when a hearing's recording is sealed (at the end of
//! the hearing, or after a crash), its per-participant files and the composite
//! `hearing.mp4` are written into `<recording>/export/` in the background, off the media
//! path, one recording at a time, so a busy day's hearings do not take every core from
//! the live ones. The job's state is on disk (`export/STATE`: `queued`,
//! `processing <percent>`, `done` or `failed <reason>`), so a job cut off by a restart
//! runs again at the next start, and the recording status shows its progress.

use super::seal::MANIFEST;
use super::{composite, remux};
use crate::app::App;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const EXPORT_DIR: &str = "export";
pub const COMPOSITE_FILE: &str = "hearing.mp4";
const STATE: &str = "STATE";

/// The per-participant files are quick (no re-encoding); the composite takes the rest.
const REMUX_SHARE: f32 = 0.1;

/// `queued`, `processing`, `done` or `failed`; `None` before the first job.
pub fn state(dir: &Path) -> Option<String> {
    read_state(dir).map(|(s, _)| s)
}

/// How far the running job is, in percent.
pub fn progress(dir: &Path) -> Option<u8> {
    read_state(dir).and_then(|(_, p)| p)
}

fn read_state(dir: &Path) -> Option<(String, Option<u8>)> {
    let text = std::fs::read_to_string(dir.join(EXPORT_DIR).join(STATE)).ok()?;
    let mut words = text.split_whitespace();
    let state = words.next()?.to_string();
    let percent = match state.as_str() {
        "processing" => words.next().and_then(|p| p.parse().ok()).or(Some(0)),
        "done" => Some(100),
        _ => None,
    };
    Some((state, percent))
}

fn write_state(out: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(out.join(STATE), format!("{text}\n"))
}

/// Run the job for one sealed recording (blocking; call from `spawn_blocking`).
pub fn run(dir: &Path) -> anyhow::Result<remux::RemuxReport> {
    let out = dir.join(EXPORT_DIR);
    std::fs::create_dir_all(&out)?;
    write_state(&out, "processing 0")?;
    let mut last = 0u8;
    let mut progress = |fraction: f32| {
        let p = (fraction.clamp(0.0, 1.0) * 100.0) as u8;
        if p > last && p < 100 {
            last = p;
            let _ = write_state(&out, &format!("processing {p}"));
        }
    };
    let mut report =
        remux::participant_files_with_progress(dir, &out, &mut |f| progress(f * REMUX_SHARE))?;
    let mut lines = report.lines();
    // The composite hearing file: its failure does not fail the job (the per-participant
    // files stand); it is noted in the report.
    match composite::hearing_file_with_progress(
        dir,
        &out.join(COMPOSITE_FILE),
        &composite::CompositeOptions::default(),
        &mut |f| progress(REMUX_SHARE + f * (1.0 - REMUX_SHARE)),
    ) {
        Ok(c) => lines.extend(c.lines()),
        Err(e) => {
            let msg = format!("composite {COMPOSITE_FILE} failed: {e:#}");
            tracing::error!("{msg}");
            lines.push(format!("note: {msg}"));
            report.notes.push(msg);
        }
    }
    std::fs::write(out.join("report.txt"), lines.join("\n") + "\n")?;
    write_state(&out, "done")?;
    Ok(report)
}

/// Recordings waiting for post-processing, in order; the worker takes one at a time.
#[derive(Default)]
pub struct Queue {
    waiting: Mutex<VecDeque<(PathBuf, i64)>>,
    wake: tokio::sync::Notify,
}

impl Queue {
    /// Queue a sealed recording (again, if it was sealed again since: a resumed hearing).
    pub fn enqueue(&self, dir: PathBuf, hearing: i64) {
        let out = dir.join(EXPORT_DIR);
        if let Err(e) = std::fs::create_dir_all(&out).and_then(|_| write_state(&out, "queued")) {
            tracing::error!(error = %e, dir = %dir.display(), "cannot queue post-processing");
            return;
        }
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if !w.iter().any(|(d, _)| *d == dir) {
            w.push_back((dir, hearing));
        }
        drop(w);
        self.wake.notify_one();
    }

    fn next(&self) -> Option<(PathBuf, i64)> {
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }
}

/// The worker: one job at a time, each on a blocking thread; its outcome goes on the
/// hearing's record.
pub fn start_worker(app: App) {
    tokio::spawn(async move {
        loop {
            let Some((dir, hearing)) = app.jobs.next() else {
                app.jobs.wake.notified().await;
                continue;
            };
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
                Ok(Err(e)) => failed(&dir, e.to_string()),
                Err(e) => failed(&dir, e.to_string()),
            };
            if kind != "recording.processed" {
                tracing::error!(hearing, ?detail, "post-processing failed");
            }
            crate::hearing::registry::record_system_event(&app, hearing, kind, detail).await;
        }
    });
}

fn failed(dir: &Path, error: String) -> (&'static str, Value) {
    let one_line: String = error
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let _ = write_state(&dir.join(EXPORT_DIR), &format!("failed {one_line}"));
    ("recording.processing_failed", json!({ "error": error }))
}

/// At start: every sealed recording (complete, or interrupted by a crash and sealed by
/// recovery) whose job did not finish is queued again.
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
            let sealed =
                dir.join(MANIFEST).exists() && !dir.join(super::writer::OPEN_MARKER).exists();
            let hearing = h.file_name().to_str().and_then(|s| s.parse::<i64>().ok());
            if let (true, Some(hearing)) = (sealed, hearing)
                && state(&dir).as_deref() != Some("done")
            {
                tracing::info!(hearing, "queuing recording post-processing");
                app.jobs.enqueue(dir, hearing);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_file_reads_back_with_its_progress() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(state(d.path()), None);
        let out = d.path().join(EXPORT_DIR);
        std::fs::create_dir_all(&out).unwrap();
        for (text, s, p) in [
            ("queued", "queued", None),
            ("processing 0", "processing", Some(0)),
            ("processing 42", "processing", Some(42)),
            ("processing", "processing", Some(0)),
            ("done", "done", Some(100)),
            ("failed composite: no frames", "failed", None),
        ] {
            write_state(&out, text).unwrap();
            assert_eq!(state(d.path()).as_deref(), Some(s), "{text}");
            assert_eq!(progress(d.path()), p, "{text}");
        }
    }

    #[test]
    fn a_recording_waits_once_and_in_order() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        let q = Queue::default();
        q.enqueue(a.clone(), 1);
        q.enqueue(b.clone(), 2);
        q.enqueue(a.clone(), 1);
        assert_eq!(state(&a).as_deref(), Some("queued"));
        assert_eq!(q.next(), Some((a.clone(), 1)));
        // Sealed again while its job runs (a resumed hearing): it runs again afterwards.
        q.enqueue(a.clone(), 1);
        assert_eq!(q.next(), Some((b, 2)));
        assert_eq!(q.next(), Some((a, 1)));
        assert_eq!(q.next(), None);
    }
}
