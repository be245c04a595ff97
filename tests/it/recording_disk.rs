//! Recording storage (issue 5, item 7): the recorder checks free space before and during a
//! hearing, warns the chair and clerk when it runs low (a banner in the chair console, one
//! event on the hearing's record per change), and a disk that fills pauses the recording
//! cleanly — the server, the hearing and the database carry on, what was written stays
//! chained, the gap is marked, writing resumes when space returns, and `yunting verify`
//! passes with the interruption named.

use crate::common::media_client::MediaClient;
use crate::common::{Backend, Client, TestServer};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use yunting::recording::verify::verify_dir;

fn token(c: &Client) -> &str {
    c.token.as_deref().unwrap()
}

/// The next storage notice of `kind` (a `recording_storage` message).
async fn storage_notice(c: &mut MediaClient, kind: &str, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let v = tokio::time::timeout(left, c.events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {kind} storage notice within {timeout:?}"))
            .expect("socket open");
        if v["type"] == "recording_storage" && v["notice"]["kind"] == kind {
            return v["notice"].clone();
        }
        if v["type"] == "recording_storage" {
            println!("storage notice (waiting for {kind}): {}", v["notice"]);
        }
    }
}

fn storage_notices_seen(c: &mut MediaClient) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(v) = c.events.try_recv() {
        if v["type"] == "recording_storage" {
            out.push(v["notice"].clone());
        }
    }
    out
}

async fn event_kinds(chair: &Client, hearing: i64) -> Vec<String> {
    let (s, ev) = chair.get(&format!("/api/hearings/{hearing}/events")).await;
    assert_eq!(s, 200, "{ev}");
    ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

fn audit_verifies(srv: &TestServer) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_yunting"))
        .args([
            "--data-dir",
            srv.dir.path().to_str().unwrap(),
            "--database-url",
            &srv.db_url,
            "audit",
            "verify",
        ])
        .env_remove("YUNTING_CONFIG")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_chair_is_warned_before_and_during_a_hearing_when_storage_runs_low() {
    // A warning threshold (1 PB) above whatever this disk has free.
    let (srv, demo) = TestServer::with_media(
        Backend::Sqlite,
        &[("YUNTING_RECORDING_WARN_FREE_MB", "1000000000")],
    )
    .await
    .unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let chair = srv.staff(&demo, "arbitrator").await;
    let clerk = srv.staff(&demo, "clerk").await;

    // Before the hearing: the status shows the free space and the warning; nothing is
    // blocked.
    let (s, rec) = chair
        .get(&format!("/api/hearings/{hearing}/recording"))
        .await;
    assert_eq!(s, 200, "{rec}");
    assert_eq!(rec["status"], "none", "{rec}");
    let st = &rec["storage"];
    assert_eq!(st["level"], "low", "{rec}");
    assert!(st["free_bytes"].as_u64().unwrap() > 0, "{rec}");
    assert_eq!(st["warn_free_mb"], 1_000_000_000u64, "{rec}");
    assert!(
        st["warning"]
            .as_str()
            .is_some_and(|w| w.starts_with("录像存储空间不足")),
        "{rec}"
    );

    // In the room: the chair and the clerk get the warning; a party does not.
    let mut c = MediaClient::join(&srv.base, hearing, token(&chair)).await;
    let mut k = MediaClient::join(&srv.base, hearing, token(&clerk)).await;
    let n = storage_notice(&mut c, "low", Duration::from_secs(10)).await;
    assert!(
        n["text"]
            .as_str()
            .unwrap()
            .starts_with("录像存储空间不足：")
            && n["text"]
                .as_str()
                .unwrap()
                .contains(" / Recording storage low: "),
        "{n}"
    );
    storage_notice(&mut k, "low", Duration::from_secs(10)).await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let mut a =
        MediaClient::join_admitted(&srv.base, hearing, token(&applicant), token(&chair)).await;
    // Media flows for a few checks: the estimate now has a write rate.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let (_, rec) = chair
        .get(&format!("/api/hearings/{hearing}/recording"))
        .await;
    assert_eq!(rec["status"], "recording", "{rec}");
    assert!(
        rec["storage"]["write_rate_bps"].as_f64().unwrap() > 10_000.0,
        "{rec}"
    );
    assert!(rec["storage"]["minutes_left"].as_u64().is_some(), "{rec}");
    assert!(rec["storage"]["paused"].is_null(), "{rec}");
    assert!(
        storage_notices_seen(&mut a).is_empty(),
        "parties are not told"
    );
    // No new notice while nothing changed (the estimate is re-sent at most once a minute).
    assert!(storage_notices_seen(&mut c).is_empty());

    // One event per change, not one per check.
    let kinds = event_kinds(&chair, hearing).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| k.starts_with("recording.storage"))
            .collect::<Vec<_>>(),
        ["recording.storage_low"],
        "{kinds:?}"
    );
    let dir = srv
        .end_hearing_and_wait_for_seal(&chair, &demo, "存储测试")
        .await;
    let report = verify_dir(&dir, None);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let low = m["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "recording.storage_low")
        .expect("the warning is in the sealed record");
    assert_eq!(low["detail"]["warn_free_mb"], 1_000_000_000u64);
    assert!(m["interruptions"].as_array().unwrap().is_empty());
    c.close().await;
    k.close().await;
    a.close().await;
}

/// A tmpfs mounted over the test server's recordings directory; unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(Tmpfs(at.to_path_buf()))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    fn free(&self) -> u64 {
        yunting::recording::disk::probe(&self.0).unwrap().free_bytes
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: the post-processing job may still hold files open.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_pauses_the_recording_cleanly_and_it_resumes_when_space_returns() {
    // Write until the disk refuses (no floor), so the real ENOSPC path runs.
    let (srv, demo) =
        TestServer::with_media(Backend::Sqlite, &[("YUNTING_RECORDING_STOP_FREE_MB", "0")])
            .await
            .unwrap();
    let disk = match Tmpfs::mount(&srv.dir.path().join("recordings"), "4m") {
        Ok(m) => m,
        Err(e) => {
            eprintln!("SKIPPED: cannot mount a tmpfs for the disk-full test (needs root): {e}");
            return;
        }
    };
    assert!(disk.free() <= 4 * 1024 * 1024);
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let chair = srv.staff(&demo, "arbitrator").await;
    // Leave about 700 KB: a few seconds of two participants' media.
    let filler = disk.0.join("filler");
    std::fs::write(&filler, vec![1u8; (disk.free() - 700 * 1024) as usize]).unwrap();

    let mut c = MediaClient::join(&srv.base, hearing, token(&chair)).await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let a = MediaClient::join_admitted(&srv.base, hearing, token(&applicant), token(&chair)).await;

    // The disk fills: the chair is told the recording paused, and why.
    let paused = storage_notice(&mut c, "paused", Duration::from_secs(40)).await;
    let text = paused["text"].as_str().unwrap();
    assert!(text.starts_with("录像存储空间已满，录像暂停"), "{paused}");
    // (What the failed chunk had taken is given back when the segment is cut back.)
    assert!(
        disk.free() < 1024 * 1024,
        "the disk is full: {}",
        disk.free()
    );

    // The server and the hearing carry on: the API answers, media still flows.
    let (s, _) = srv.client().get("/healthz").await;
    assert_eq!(s, 200);
    let before = a.received_from(&c.participant_id).video_packets;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = a.received_from(&c.participant_id).video_packets;
    assert!(
        after > before + 20,
        "media keeps flowing while the recording is paused ({before} → {after})"
    );
    let (_, rec) = chair
        .get(&format!("/api/hearings/{hearing}/recording"))
        .await;
    assert!(
        rec["storage"]["paused"]
            .as_str()
            .is_some_and(|p| p.contains("storage full")),
        "{rec}"
    );
    assert!(rec["storage"]["lost_bytes"].as_u64().unwrap() > 0, "{rec}");
    // The hearing's procedure is not affected: a phase change is still recorded.
    let (s, b) = chair
        .post(
            &format!("/api/hearings/{hearing}/control"),
            serde_json::json!({"do": "phase", "phase": "announce_discipline"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    // Space returns: writing resumes in a new segment.
    std::fs::remove_file(&filler).unwrap();
    storage_notice(&mut c, "low", Duration::from_secs(15)).await;
    let mut kinds = Vec::new();
    for _ in 0..50 {
        kinds = event_kinds(&chair, hearing).await;
        if kinds.iter().any(|k| k == "recording.resumed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        kinds.iter().any(|k| k == "recording.paused")
            && kinds.iter().any(|k| k == "recording.resumed"),
        "{kinds:?}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;

    let dir = srv
        .end_hearing_and_wait_for_seal(&chair, &demo, "磁盘测试")
        .await;
    // The record verifies: every chained segment intact, no stray segment; the gap is
    // named.
    let report = verify_dir(&dir, None);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let out = Command::new(env!("CARGO_BIN_EXE_yunting"))
        .arg("verify")
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("interruption(s) recorded"), "{stdout}");
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let gaps = m["interruptions"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(
        gaps[0]["reason"]
            .as_str()
            .unwrap()
            .contains("recording storage full"),
        "{gaps:?}"
    );
    let after_us = gaps[0]["after_us"].as_u64().unwrap();
    let segs = m["segments"].as_array().unwrap();
    assert!(
        segs.iter()
            .any(|s| s["last_us"].as_u64().unwrap() <= after_us),
        "segments before the gap: {segs:?}"
    );
    assert!(
        segs.iter()
            .any(|s| s["first_us"].as_u64().unwrap() > after_us),
        "segments after the gap: {segs:?}"
    );
    let events: Vec<&str> = m["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        events.contains(&"recording.paused") && events.contains(&"recording.resumed"),
        "{events:?}"
    );
    // The database was never on the full disk's path of harm: its audit chain verifies.
    let (ok, out) = audit_verifies(&srv);
    assert!(ok, "{out}");
    // Post-processing of a record with a gap finishes (on this tiny disk it may run out of
    // space itself: then it says so) and the server stays up.
    let mut outcome = None;
    for _ in 0..150 {
        let kinds = event_kinds(&chair, hearing).await;
        outcome = kinds
            .into_iter()
            .find(|k| k == "recording.processed" || k == "recording.processing_failed");
        if outcome.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(outcome.is_some(), "post-processing never finished");
    eprintln!(
        "disk full: {} segments, gap after {} µs, {} bytes not recorded, post-processing: {}",
        segs.len(),
        after_us,
        rec["storage"]["lost_bytes"],
        outcome.unwrap()
    );
    let (s, _) = srv.client().get("/healthz").await;
    assert_eq!(s, 200);
    c.close().await;
    a.close().await;
    drop(disk);
}

/// The whole data directory (SQLite database, keys, recordings) on one small disk that
/// fills during a hearing: writes are refused with `storage_full` (nothing half-written),
/// the server and the hearing's media carry on, and once space returns the database is
/// intact (SQLite's integrity check, the audit chain) and takes writes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_under_the_database_is_refused_cleanly_and_corrupts_nothing() {
    let mount = tempfile::tempdir().unwrap();
    let disk = match Tmpfs::mount(mount.path(), "24m") {
        Ok(m) => m,
        Err(e) => {
            eprintln!("SKIPPED: cannot mount a tmpfs for the disk-full test (needs root): {e}");
            return;
        }
    };
    let data = disk.0.join("data");
    let db = format!("sqlite://{}?mode=rwc", data.join("yunting.db").display());
    let recordings = data.join("recordings").display().to_string();
    let env = [
        ("YUNTING_DATA_DIR", data.to_str().unwrap()),
        ("YUNTING_DATABASE_URL", db.as_str()),
        ("YUNTING_RECORDINGS_DIR", recordings.as_str()),
        ("YUNTING_RECORDING_STOP_FREE_MB", "0"),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, *v)).collect();
    let (srv, demo) = TestServer::with_media(Backend::Sqlite, &env).await.unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let clerk = srv.staff(&demo, "clerk").await;
    let chair = srv.staff(&demo, "arbitrator").await;
    let mut c = MediaClient::join(&srv.base, hearing, token(&chair)).await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let a = MediaClient::join_admitted(&srv.base, hearing, token(&applicant), token(&chair)).await;

    let (s, before) = clerk.get("/api/cases").await;
    assert_eq!(s, 200, "{before}");
    // Fill the disk to the last byte.
    let filler = disk.0.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![7u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        while f.write_all(&[7u8]).is_ok() {}
        let _ = f.sync_all();
    }
    storage_notice(&mut c, "paused", Duration::from_secs(40)).await;

    // A write that needs space: refused with a clear error. (Reading a case is refused
    // too: every read is written to the audit trail first.)

    let mut refused = None;
    let mut created = 0;
    // (SQLite first fills the room its files already have: keep writing until it runs out.)
    for i in 0..5_000 {
        let (s, b) = clerk
            .post(
                "/api/cases",
                serde_json::json!({"cause": format!("工资{i}{}", "案由".repeat(30)), "procedure": "ordinary"}),
            )
            .await;
        if s != 201 {
            refused = Some((s, b));
            break;
        }
        created += 1;
    }
    let (s, b) = refused.expect("a write on a full disk was refused");
    assert_eq!(s, 507, "{b}");
    assert_eq!(b["error"]["code"], "storage_full", "{b}");
    let (s, _) = srv.client().get("/healthz").await;
    assert_eq!(s, 200);
    // Media keeps flowing to the others.
    let before_v = a.received_from(&c.participant_id).video_packets;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(a.received_from(&c.participant_id).video_packets > before_v + 20);

    // Space returns: writes go through; nothing was half-written and the chain holds.
    std::fs::remove_file(&filler).unwrap();
    let (s, b) = clerk
        .post(
            "/api/cases",
            serde_json::json!({"cause": "加班费", "procedure": "ordinary"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, after) = clerk.get("/api/cases").await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(
        after["total"].as_i64().unwrap(),
        before["total"].as_i64().unwrap() + created + 1,
        "only the cases whose creation answered 201 exist"
    );
    let mut conn = srv.app.db.pool.acquire().await.unwrap();
    let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    let (n, problems) = yunting::audit::verify_database(&srv.app.db).await.unwrap();
    if !problems.is_empty() {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT seq, action, actor FROM audit_log ORDER BY seq DESC LIMIT 8")
                .fetch_all(&srv.app.db.pool)
                .await
                .unwrap();
        println!("audit tail: {rows:?}");
    }
    assert!(problems.is_empty(), "{problems:?}");
    assert!(n > 10);
    let dir = srv
        .end_hearing_and_wait_for_seal(&chair, &demo, "磁盘满测试")
        .await;
    let report = verify_dir(&dir, None);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    drop((c, a));
}
