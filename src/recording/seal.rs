//! Sealing a recording: gather the chain, tracks, participants, the hearing's events and
//! any interruptions into `manifest.json`, and sign it with the commission's seal key.
//! Done when a hearing ends and, after a crash, at the next start (`recover`), so what was
//! written before the crash is sealed and verifiable even if the hearing never resumes.

use super::chain::GENESIS;
use super::manifest::{self, FORMAT, Interruption, Manifest, TrackCount, TrackInfo};
use super::segment;
use super::writer::{self, INTERRUPTIONS_FILE, OPEN_MARKER, TRACKS_FILE};
use crate::app::App;
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::path::Path;

pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";
/// The commission's seal certificate, for checking the sealing key against its CA.
pub const SEAL_CERT: &str = "seal-certificate.pem";

/// Seal the recording in `dir` (hearing `hearing`); `complete` when the hearing ended.
pub async fn seal(app: &App, dir: &Path, hearing: i64, complete: bool) -> Result<Manifest> {
    let mut conn = app.db.pool.acquire().await?;
    let (case_id, commission_id): (i64, i64) = sqlx::query_as(
        "SELECT h.case_id, c.commission_id FROM hearings h JOIN cases c ON c.id = h.case_id WHERE h.id = $1",
    )
    .bind(hearing)
    .fetch_one(&mut *conn)
    .await?;
    let case_numbers = crate::store::views::hearing(&mut conn, hearing)
        .await?
        .map(|h| h.case_numbers)
        .unwrap_or_default();
    let rows: Vec<(i64, String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT at, kind, actor, target, detail FROM hearing_events WHERE hearing_id = $1 ORDER BY id",
    )
    .bind(hearing)
    .fetch_all(&mut *conn)
    .await?;
    let events: Vec<Value> = rows
        .into_iter()
        .map(|(at, kind, actor, target, detail)| {
            json!({"at_ms": at, "kind": kind, "actor": actor, "target": target,
                   "detail": serde_json::from_str::<Value>(&detail).unwrap_or(Value::Null)})
        })
        .collect();
    drop(conn);
    let key = std::fs::read(crate::store::commissions::seal_key_path(app, commission_id))
        .context("reading the commission seal key")?;
    let seal_cert = seal_certificate_pem(app, commission_id, &key).await;
    let dir = dir.to_path_buf();
    let m = tokio::task::spawn_blocking(move || {
        let m = write_manifest(&dir, hearing, case_id, case_numbers, events, complete, &key)?;
        // Beside the manifest, outside what is signed: whoever trusts the commission CA
        // can check that the sealing key is the commission's (`yunting verify --ca`).
        match seal_cert {
            Some(pem) => std::fs::write(dir.join(SEAL_CERT), pem)?,
            None => tracing::warn!("recording sealed without its seal certificate"),
        }
        anyhow::Ok(m)
    })
    .await??;
    Ok(m)
}

/// The commission's seal certificate (issued by its CA), PEM.
async fn seal_certificate_pem(app: &App, commission_id: i64, key: &[u8]) -> Option<String> {
    let mut conn = app.db.pool.acquire().await.ok()?;
    let commission = crate::store::commissions::get(&mut conn, commission_id)
        .await
        .ok()?;
    let ca = crate::esign::service::commission_ca(app, &commission).ok()?;
    let der = ca
        .seal_cert(&app.config.data_dir.join("keys"), commission_id, key)
        .map_err(|e| tracing::error!(error = %e, "seal certificate"))
        .ok()?;
    crate::esign::ca::cert_pem_of(&der).ok()
}

fn write_manifest(
    dir: &Path,
    hearing: i64,
    case_id: i64,
    case_numbers: Vec<String>,
    events: Vec<Value>,
    complete: bool,
    key: &[u8],
) -> Result<Manifest> {
    let segments = writer::read_chain(dir);
    let tracks: Vec<TrackInfo> = writer::read_lines(&dir.join(TRACKS_FILE));
    let interruptions: Vec<Interruption> = writer::read_lines(&dir.join(INTERRUPTIONS_FILE));
    let runs: Vec<Vec<TrackCount>> = writer::read_lines(&dir.join(writer::COUNTS_FILE));
    let received = sum_counts(&runs);
    let mut participants: Vec<Value> = Vec::new();
    for t in &tracks {
        if !participants.iter().any(|p| p["seat"] == t.seat.as_str()) {
            participants.push(json!({"seat": t.seat, "name": t.name, "role": t.role}));
        }
    }
    let m = Manifest {
        format: FORMAT.into(),
        hearing_id: hearing,
        case_id,
        case_numbers,
        complete,
        sealed_at_ms: crate::time::now_ms(),
        first_us: segments.first().map_or(0, |s| s.first_us),
        last_us: segments.last().map_or(0, |s| s.last_us),
        chain_head: segments
            .last()
            .map_or(GENESIS.to_string(), |s| s.hash.clone()),
        segments,
        tracks,
        participants,
        events,
        interruptions,
        received,
        seal_public_key: manifest::public_key_hex(key)?,
    };
    let bytes = serde_json::to_vec_pretty(&m)?;
    let sig = manifest::sign(key, &bytes)?;
    let tmp = dir.join("manifest.json.part");
    std::fs::write(&tmp, &bytes)?;
    std::fs::write(dir.join(SIGNATURE), crate::crypto::hex(&sig))?;
    std::fs::rename(&tmp, dir.join(MANIFEST))?;
    if complete {
        let _ = std::fs::remove_file(dir.join(OPEN_MARKER));
    }
    Ok(m)
}

/// Each track's counts over every run of the media server that closed cleanly.
fn sum_counts(runs: &[Vec<TrackCount>]) -> Vec<TrackCount> {
    let mut by_track: std::collections::BTreeMap<u16, TrackCount> = Default::default();
    for c in runs.iter().flatten() {
        let t = by_track.entry(c.track).or_insert(TrackCount {
            track: c.track,
            ..Default::default()
        });
        t.packets += c.packets;
        t.frames += c.frames;
    }
    by_track.into_values().collect()
}

/// After a crash: chain the segment files the chain does not list yet (the one being
/// written when the server died), note the interruption, and seal what is there.
/// Returns the hearings recovered.
pub async fn recover(app: &App) -> Result<Vec<i64>> {
    let root = app.config.recordings_dir.clone();
    let mut found = Vec::new();
    let Ok(cases) = std::fs::read_dir(&root) else {
        return Ok(found);
    };
    for case in cases.flatten() {
        let Ok(hearings) = std::fs::read_dir(case.path()) else {
            continue;
        };
        for h in hearings.flatten() {
            let dir = h.path();
            if !dir.join(OPEN_MARKER).exists() {
                continue;
            }
            let Some(hearing) = h.file_name().to_str().and_then(|s| s.parse::<i64>().ok()) else {
                continue;
            };
            let d = dir.clone();
            let after_us = tokio::task::spawn_blocking(move || close_orphans(&d)).await??;
            writer::append_line(
                &dir.join(INTERRUPTIONS_FILE),
                &Interruption {
                    after_us,
                    reason: "服务器意外停止 / the server stopped unexpectedly".into(),
                    detected_at_ms: crate::time::now_ms(),
                },
            )?;
            // The interruption is on the hearing's record, and in the manifest.
            crate::hearing::registry::record_system_event(
                app,
                hearing,
                "recording.interrupted",
                json!({"last_record_us": after_us}),
            )
            .await;
            seal(app, &dir, hearing, false).await?;
            std::fs::remove_file(dir.join(OPEN_MARKER))?;
            tracing::warn!(hearing, dir = %dir.display(), "recovered an interrupted recording and sealed it");
            found.push(hearing);
        }
    }
    Ok(found)
}

/// Chain segment files missing from the chain; returns the last record time.
fn close_orphans(dir: &Path) -> Result<u64> {
    let chain = writer::read_chain(dir);
    let mut last = chain.last().cloned();
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.starts_with("seg-") && n.ends_with(".ytr"))
        .filter(|n| !chain.iter().any(|c| &c.name == n))
        .collect();
    names.sort();
    for name in names {
        let data = std::fs::read(dir.join(&name))?;
        let (recs, _) = segment::read(&data);
        let span = (
            recs.first().map_or(0, |r| r.arrival_us),
            recs.last().map_or(0, |r| r.arrival_us),
        );
        last = Some(writer::chain_segment(dir, last.as_ref(), &name, span)?);
    }
    Ok(last.map_or(0, |l| l.last_us))
}
