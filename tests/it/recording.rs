//! Recording: every published track of a real WebRTC hearing is captured server-side into
//! chained segments, sealed with the commission's key when the hearing ends, and checked
//! offline by `yunting verify`, which names any altered, missing or unsealed file. A
//! `kill -9` mid-hearing loses at most the last second: on restart the recording is sealed
//! with the interruption marked, and the resumed hearing continues the same record.

use crate::common::media_client::MediaClient;
use crate::common::{Backend, Client, TestServer, ffprobe, num, wait_for};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use yunting::recording::segment::{self, Kind};
use yunting::recording::verify::verify_dir;

fn token(c: &Client) -> &str {
    c.token.as_deref().unwrap()
}

fn verify_cli(dir: &Path) -> (bool, String) {
    verify_cli_with(dir, None)
}

/// `yunting verify <dir> [--ca <pem>]`.
fn verify_cli_with(dir: &Path, ca: Option<&Path>) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yunting"));
    cmd.arg("verify").arg(dir);
    if let Some(ca) = ca {
        cmd.arg("--ca").arg(ca);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

/// RTP and sender-report records per track index, over every sealed segment.
fn count_records(dir: &Path) -> (HashMap<u16, u64>, u64) {
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let mut rtp = HashMap::new();
    let mut srs = 0;
    for s in m["segments"].as_array().unwrap() {
        let data = std::fs::read(dir.join(s["name"].as_str().unwrap())).unwrap();
        let (recs, err) = segment::read(&data);
        assert!(err.is_none(), "{err:?}");
        let mut last = 0;
        for r in recs {
            assert!(r.arrival_us >= last, "arrival times go forward");
            last = r.arrival_us;
            match r.kind {
                Kind::Rtp => *rtp.entry(r.track).or_insert(0) += 1,
                Kind::SenderReport => srs += 1,
            }
        }
    }
    (rtp, srs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hearing_is_recorded_sealed_verifiable_and_tampering_is_named() {
    let (srv, demo) = TestServer::with_media(Backend::Sqlite, &[]).await.unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let chair = srv.staff(&demo, "arbitrator").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let respondent = srv.ready_party(&demo, "respondent", hearing).await;
    let _c = MediaClient::join(&srv.base, hearing, token(&chair)).await;
    let _a = MediaClient::join_admitted(&srv.base, hearing, token(&applicant), token(&chair)).await;
    let _r =
        MediaClient::join_admitted(&srv.base, hearing, token(&respondent), token(&chair)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The applicant turns its microphone off and on: both are on the recording's record.
    _a.send(json!({"type": "mute", "kind": "audio", "muted": true}));
    tokio::time::sleep(Duration::from_secs(1)).await;
    _a.send(json!({"type": "mute", "kind": "audio", "muted": false}));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, stats) = chair.get(&format!("/api/hearings/{hearing}/stats")).await;
    let received: u64 = stats["participants"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["published"].as_array().unwrap().clone())
        .map(|t| t["packets"].as_u64().unwrap())
        .sum();
    let dir = srv
        .end_hearing_and_wait_for_seal(&chair, &demo, "测试录像")
        .await;
    let report = verify_dir(&dir, None);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(!report.anchored);
    assert!(
        !dir.join("RECORDING").exists(),
        "a complete seal removes the open marker"
    );
    let (ok, out) = verify_cli(&dir);
    assert!(ok, "{out}");

    // Every published track is in the record, with every packet the server received.
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["complete"], true);
    assert_eq!(
        m["tracks"].as_array().unwrap().len(),
        6,
        "3 participants × audio + video"
    );
    assert_eq!(m["participants"].as_array().unwrap().len(), 3);
    let kinds: Vec<&str> = m["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"hearing.admit")
            && kinds.contains(&"hearing.phase")
            && kinds.iter().filter(|k| **k == "hearing.self_mute").count() == 2,
        "{kinds:?}"
    );
    // The publishers' RTCP sender reports are recorded too (the A/V sync of
    // post-processing rests on them).
    let (rtp, srs) = count_records(&dir);
    assert!(srs > 0, "no sender reports recorded");
    assert_eq!(rtp.len(), 6);
    assert!(rtp.values().all(|n| *n > 0));
    let recorded: u64 = rtp.values().sum();
    assert!(
        recorded >= received,
        "recorded {recorded} packets, the server had received {received} a moment before the end"
    );
    // Staff see the recording's state; parties may not.
    let (st, rec) = chair
        .get(&format!("/api/hearings/{hearing}/recording"))
        .await;
    assert_eq!(st, 200);
    assert_eq!(rec["status"], "sealed", "{rec}");
    assert_eq!(rec["verification"]["ok"], true, "{rec}");
    assert!(rec["duration_s"].as_f64().unwrap() > 3.0, "{rec}");
    assert_eq!(
        applicant
            .get(&format!("/api/hearings/{hearing}/recording"))
            .await
            .0,
        403
    );
    // Post-processing runs after the seal: one playable file per participant.
    let export = dir.join("export");
    assert!(
        wait_for(Duration::from_secs(20), || {
            std::fs::read_to_string(export.join("STATE")).is_ok_and(|s| s.trim() == "done")
        })
        .await,
        "post-processing did not finish"
    );
    let webms = std::fs::read_dir(&export)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".webm"))
        .count();
    assert_eq!(webms, 3);
    // The seal is on the hearing's record.
    let (_, ev) = chair.get(&format!("/api/hearings/{hearing}/events")).await;
    assert!(
        ev["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "recording.sealed")
    );
    // ... and so is the post-processing (written just after the files).
    let mut processed = false;
    for _ in 0..50 {
        let (_, ev) = chair.get(&format!("/api/hearings/{hearing}/events")).await;
        if ev["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "recording.processed")
        {
            processed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(processed, "no recording.processed event");

    // Tampering, each on a fresh copy: one byte of a segment; a deleted segment; an
    // edited manifest; a segment slipped in.
    let copy = |name: &str| -> PathBuf {
        let to = srv.dir.path().join(name);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.path().is_file() {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
        to
    };
    let seg = m["segments"][0]["name"].as_str().unwrap().to_string();

    let d = copy("flip");
    let mut bytes = std::fs::read(d.join(&seg)).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 1;
    std::fs::write(d.join(&seg), bytes).unwrap();
    let (ok, out) = verify_cli(&d);
    assert!(
        !ok && out.contains(&format!("FAIL {seg}: 内容被改动 / altered")),
        "{out}"
    );

    let d = copy("deleted");
    std::fs::remove_file(d.join(&seg)).unwrap();
    let (ok, out) = verify_cli(&d);
    assert!(
        !ok && out.contains(&format!("FAIL {seg}: 缺失 / missing")),
        "{out}"
    );

    let d = copy("manifest");
    let text = std::fs::read_to_string(d.join("manifest.json")).unwrap();
    std::fs::write(
        d.join("manifest.json"),
        text.replacen("测试录像", "改过的理由", 1),
    )
    .unwrap();
    let (ok, out) = verify_cli(&d);
    assert!(!ok && out.contains("seal signature INVALID"), "{out}");

    let d = copy("extra");
    std::fs::write(d.join("seg-999999.ytr"), segment::MAGIC).unwrap();
    let (ok, out) = verify_cli(&d);
    assert!(!ok && out.contains("seg-999999.ytr"), "{out}");

    // Anchored to the commission CA, the original passes; a manifest edited and re-signed
    // with a forger's own key is intact under that key, which is all an unanchored check
    // can say (it prints the key's fingerprint), and fails once the CA is asked.
    let mut conn = srv.app.db.pool.acquire().await.unwrap();
    let commission = yunting::store::commissions::get(&mut conn, 1)
        .await
        .unwrap();
    drop(conn);
    let ca = yunting::esign::service::commission_ca(&srv.app, &commission).unwrap();
    let ca_pem = srv.dir.path().join("commission-ca.pem");
    std::fs::write(&ca_pem, ca.cert_pem()).unwrap();
    let (ok, out) = verify_cli_with(&dir, Some(&ca_pem));
    assert!(ok && out.contains("seal-certificate.pem"), "{out}");
    assert!(verify_dir(&dir, Some(ca.cert_der())).anchored);
    let d = copy("resigned");
    let forger = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &ring::rand::SystemRandom::new(),
    )
    .unwrap();
    let mut edited: Value =
        serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap();
    edited["events"] = json!([]);
    edited["seal_public_key"] =
        json!(yunting::recording::manifest::public_key_hex(forger.as_ref()).unwrap());
    let bytes = serde_json::to_vec_pretty(&edited).unwrap();
    let sig = yunting::recording::manifest::sign(forger.as_ref(), &bytes).unwrap();
    std::fs::write(d.join("manifest.json"), &bytes).unwrap();
    std::fs::write(d.join("manifest.sig"), yunting::crypto::hex(&sig)).unwrap();
    let (ok, out) = verify_cli(&d);
    assert!(ok && out.contains("未提供 --ca"), "{out}");
    let (ok, out) = verify_cli_with(&d, Some(&ca_pem));
    assert!(
        !ok && out.contains("FAIL seal-certificate.pem") && out.contains("different key"),
        "{out}"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(data: &Path, http: u16, udp: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_yunting"))
        .args(["--data-dir", data.to_str().unwrap(), "serve", "--dev"])
        .env("YUNTING_HTTP_ADDR", format!("127.0.0.1:{http}"))
        .env("YUNTING_HTTPS_ADDR", "off")
        .env("YUNTING_PUBLIC_URL", format!("http://127.0.0.1:{http}"))
        .env("YUNTING_MEDIA_UDP_ADDR", format!("127.0.0.1:{udp}"))
        .env("YUNTING_MEDIA_TCP_ADDR", "127.0.0.1:0")
        .env("YUNTING_RECORDINGS_DIR", data.join("recordings"))
        .env_remove("YUNTING_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn login(base: &str, demo: &Value, username: &str) -> String {
    let pw = demo["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["username"] == username)
        .unwrap()["password"]
        .clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = reqwest::Client::new()
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"username": username, "password": pw}))
            .send()
            .await
            && r.status().is_success()
        {
            return r.json::<Value>().await.unwrap()["token"]
                .as_str()
                .unwrap()
                .to_string();
        }
        assert!(Instant::now() < deadline, "server did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_mid_hearing_seals_what_was_written_and_the_hearing_records_on() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (http, udp) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{http}");
    let out = Command::new(env!("CARGO_BIN_EXE_yunting"))
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "--public-url",
            &base,
            "demo",
        ])
        .env_remove("YUNTING_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success());
    let demo: Value = serde_json::from_slice(&out.stdout).unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let case = demo["case"]["id"].as_i64().unwrap();
    let dir = data
        .join("recordings")
        .join(case.to_string())
        .join(hearing.to_string());

    let mut server = spawn(&data, http, udp);
    let chair = login(&base, &demo, "arbitrator").await;
    let clerk = login(&base, &demo, "clerk").await;
    let c = MediaClient::join(&base, hearing, &chair).await;
    let k = MediaClient::join(&base, hearing, &clerk).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let killed_at_us = yunting::time::now_ms() as u64 * 1000;
    server.kill().unwrap(); // SIGKILL: no chance to flush or seal
    server.wait().unwrap();
    drop((c, k));
    assert!(dir.join("RECORDING").exists());
    assert!(!dir.join("manifest.json").exists());

    // Restart: the interrupted recording is sealed, marked, and verifies.
    let mut server = spawn(&data, http, udp);
    let chair = login(&base, &demo, "arbitrator").await;
    assert!(
        wait_for(Duration::from_secs(10), || dir
            .join("manifest.json")
            .exists())
        .await,
        "recovery did not seal"
    );
    let first: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(first["complete"], false);
    assert_eq!(first["interruptions"].as_array().unwrap().len(), 1);
    let before_kill = first["segments"].as_array().unwrap().len();
    assert!(before_kill >= 1);
    let (rtp, _) = count_records(&dir);
    assert!(rtp.values().sum::<u64>() > 100, "{rtp:?}");
    // At most the last second is lost (the media loop hands its buffer to the writer
    // every 500 ms, on its 250 ms tick; the writer writes each hand-over out at once).
    let last_us = first["last_us"].as_u64().unwrap();
    let lost_ms = killed_at_us.saturating_sub(last_us) / 1000;
    println!("kill -9: the last {lost_ms} ms before the kill were lost");
    assert!(lost_ms <= 1_000, "{lost_ms} ms lost before the kill");
    let (ok, out) = verify_cli(&dir);
    assert!(ok, "{out}");
    let rec: Value = reqwest::Client::new()
        .get(format!("{base}/api/hearings/{hearing}/recording"))
        .bearer_auth(&chair)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rec["status"], "interrupted", "{rec}");
    assert_eq!(rec["verification"]["ok"], true, "{rec}");

    // The part before the crash is processed too, and plays: one file per participant
    // and the composite, as long as that part.
    let processed = || yunting::recording::jobs::state(&dir).as_deref() == Some("done");
    assert!(
        wait_for(Duration::from_secs(120), processed).await,
        "the interrupted recording was not processed: {:?}",
        yunting::recording::jobs::state(&dir)
    );
    plays(&dir, 2);
    let ev: Value = reqwest::Client::new()
        .get(format!("{base}/api/hearings/{hearing}/events"))
        .bearer_auth(&chair)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        ev["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "recording.interrupted"),
        "{ev}"
    );

    // The hearing resumes and keeps recording into new segments of the same record.
    let clerk = login(&base, &demo, "clerk").await;
    let _c = MediaClient::join(&base, hearing, &chair).await;
    let _k = MediaClient::join(&base, hearing, &clerk).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let r = reqwest::Client::new()
        .post(format!("{base}/api/hearings/{hearing}/control"))
        .bearer_auth(&chair)
        .json(&json!({"do": "end", "reason": "恢复后结束"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let complete = || {
        std::fs::read(dir.join("manifest.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|m| m["complete"] == true)
    };
    assert!(wait_for(Duration::from_secs(10), complete).await);
    let last: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert!(last["segments"].as_array().unwrap().len() > before_kill);
    assert_eq!(last["interruptions"].as_array().unwrap().len(), 1);
    assert_eq!(
        last["tracks"].as_array().unwrap().len(),
        8,
        "4 tracks before the crash, 4 after"
    );
    let (ok, out) = verify_cli(&dir);
    assert!(ok, "{out}");
    // The whole record plays on the wall clock: the composite spans both parts and the
    // gap between them.
    assert!(
        wait_for(Duration::from_secs(120), processed).await,
        "the final recording was not processed"
    );
    plays(&dir, 2);
    server.kill().unwrap();
    server.wait().unwrap();
}

/// The export of a processed recording plays: `participants` per-participant files with
/// decodable video, and `hearing.mp4` lasting the hearing's span on the wall clock (from
/// the first join to the end or the last packet, gaps included), within 1 s.
fn plays(dir: &Path, participants: usize) {
    let m: yunting::recording::manifest::Manifest =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let (first, last) = yunting::recording::layout::hearing_span(&m.events, m.first_us, m.last_us);
    let span_s = (last - first) as f64 / 1e6;
    let export = dir.join("export");
    let files: Vec<PathBuf> = std::fs::read_dir(&export)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "webm" || x == "mkv"))
        .collect();
    assert_eq!(files.len(), participants, "{files:?}");
    for f in &files {
        let p = ffprobe(f, true);
        let video = p["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["codec_type"] == "video")
            .unwrap_or_else(|| panic!("{}: no video: {p}", f.display()));
        assert!(num(&video["nb_read_frames"]) > 10.0, "{}: {p}", f.display());
    }
    let p = ffprobe(&export.join("hearing.mp4"), false);
    let d = num(&p["format"]["duration"]);
    assert!(
        (d - span_s).abs() <= 1.0,
        "hearing.mp4 lasts {d} s, the recording {span_s} s"
    );
}
