//! The composite hearing file: a real WebRTC hearing (three webrtc-rs participants sending
//! VP8 + Opus, one joining ~2 s late, the chair moving a phase) is recorded, sealed and
//! composited into one `hearing.mp4`. Checked with `ffprobe` / `ffmpeg`: one H.264
//! 1280×720 stream and one AAC stream, the hearing's wall-clock duration, one chapter per
//! phase, `moov` before `mdat` (plays while downloading), and a frame at ~4 s whose
//! occupied tiles are not black.

mod common;

use common::media_client::MediaClient;
use common::{Backend, Client, TestServer};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use yunting::recording::composite::{HEIGHT, WIDTH, hearing_file};
use yunting::recording::layout;
use yunting::recording::manifest::Manifest;

fn token(c: &Client) -> &str {
    c.token.as_deref().unwrap()
}

fn probe(path: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-show_chapters",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe is installed (scripts/install-packages.sh test)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn num(v: &Value) -> f64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_f64())
        .unwrap_or(f64::NAN)
}

/// The top-level MP4 boxes in file order.
fn top_boxes(path: &Path) -> Vec<String> {
    let data = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut i = 0usize;
    while i + 8 <= data.len() {
        let mut size = u32::from_be_bytes(data[i..i + 4].try_into().unwrap()) as usize;
        let kind = String::from_utf8_lossy(&data[i + 4..i + 8]).to_string();
        if size == 1 {
            size = u64::from_be_bytes(data[i + 8..i + 16].try_into().unwrap()) as usize;
        } else if size == 0 {
            size = data.len() - i;
        }
        out.push(kind);
        if size < 8 {
            break;
        }
        i += size;
    }
    out
}

/// The luma plane of the frame at `at_s` seconds.
fn gray_frame(path: &Path, at_s: f64) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{at_s}"), "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recorded_hearing_becomes_one_composite_mp4() {
    let (srv, demo) = TestServer::with_media(Backend::Sqlite, &[]).await.unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let chair = srv.staff(&demo, "arbitrator").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let respondent = srv.ready_party(&demo, "respondent", hearing).await;
    let c = MediaClient::join(&srv.base, hearing, token(&chair)).await;
    let a = MediaClient::join_admitted(&srv.base, hearing, token(&applicant), token(&chair)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let r = MediaClient::join_admitted(&srv.base, hearing, token(&respondent), token(&chair)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    srv.confirm_simplified_procedure(&demo).await;
    let control = format!("/api/hearings/{hearing}/control");
    let (s, b) = chair
        .post(
            &control,
            json!({"do": "phase", "phase": "announce_discipline"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (s, b) = chair
        .post(&control, json!({"do": "phase", "phase": "opening"}))
        .await;
    assert_eq!(s, 200, "{b}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let dir = srv
        .end_hearing_and_wait_for_seal(&chair, &demo, "测试合成")
        .await;
    drop((c, a, r));
    let m: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m.tracks.len(), 6);
    let span_s = (m.last_us - m.first_us) as f64 / 1e6;

    let out = srv.dir.path().join("composite").join("hearing.mp4");
    let started = Instant::now();
    let report = hearing_file(&dir, &out).unwrap();
    let took = started.elapsed().as_secs_f64();
    for l in report.lines() {
        println!("{l}");
    }
    println!(
        "composite speed: {span_s:.1} s of hearing ({} participants) in {took:.2} s = {:.2}× \
         real time ({} build)",
        report.participants,
        span_s / took,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    assert_eq!(report.participants, 3);
    assert!(
        !report.notes.iter().any(|n| n.contains("font")),
        "{:?}",
        report.notes
    );

    // Streams and duration.
    let p = probe(&out);
    let streams = p["streams"].as_array().unwrap();
    // Video, audio, and the chapters' text track (QuickTime chapters, a data stream).
    let count = |t: &str| streams.iter().filter(|s| s["codec_type"] == t).count();
    assert_eq!((count("video"), count("audio")), (1, 1), "{p}");
    assert_eq!(streams.len(), 3, "{p}");
    let v = streams.iter().find(|s| s["codec_type"] == "video").unwrap();
    let a = streams.iter().find(|s| s["codec_type"] == "audio").unwrap();
    assert_eq!(v["codec_name"], "h264");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(WIDTH as u64), Some(HEIGHT as u64))
    );
    assert_eq!(a["codec_name"], "aac");
    assert_eq!(a["sample_rate"], "48000");
    assert_eq!(a["channels"], 2);
    let duration = num(&p["format"]["duration"]);
    assert!(
        (duration - span_s).abs() <= 1.0,
        "{duration} s in the file, {span_s} s of hearing"
    );
    for s in [v, a] {
        let d = num(&s["duration"]);
        assert!((d - span_s).abs() <= 1.0, "{}: {d} s", s["codec_name"]);
    }

    // Chapters: one per phase change within the recording, titled with its label.
    let phases: Vec<(f64, String)> = m
        .events
        .iter()
        .filter(|e| e["kind"] == "hearing.phase")
        .map(|e| {
            (
                (e["at_ms"].as_i64().unwrap() * 1000 - m.first_us as i64) as f64 / 1e6,
                e["detail"]["label"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let moved: Vec<&(f64, String)> = phases
        .iter()
        .filter(|(at, _)| *at > 0.0 && *at < span_s - 0.2)
        .collect();
    assert!(moved.len() >= 2, "{phases:?} (span {span_s} s)");
    let chapters: Vec<(f64, f64, String)> = p["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                num(&c["start_time"]),
                num(&c["end_time"]),
                c["tags"]["title"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    println!("chapters: {chapters:?}");
    assert_eq!(
        chapters,
        layout::chapters(&m.events, m.first_us, m.last_us)
            .iter()
            .map(|c| (
                c.start_ms as f64 / 1e3,
                c.end_ms as f64 / 1e3,
                c.title.clone()
            ))
            .collect::<Vec<_>>()
    );
    for (at, label) in moved {
        assert!(
            chapters
                .iter()
                .any(|(s, _, t)| t == label && (s - at).abs() < 0.05),
            "no chapter {label} at {at} s: {chapters:?}"
        );
    }
    assert_eq!(chapters[0].0, 0.0);
    assert!((chapters.last().unwrap().1 - span_s).abs() < 0.05);

    // Plays from the start: moov before mdat.
    let boxes = top_boxes(&out);
    let moov = boxes.iter().position(|b| b == "moov").expect("moov");
    let mdat = boxes.iter().position(|b| b == "mdat").expect("mdat");
    assert!(moov < mdat, "{boxes:?}");

    // A frame at ~4 s: all three participants are in (the third from ~2 s): each
    // occupied tile shows a picture (the test pattern), not black; the empty fourth tile
    // is dark.
    let y = gray_frame(&out, 4.0);
    assert_eq!(y.len(), (WIDTH * HEIGHT) as usize);
    let tiles = layout::tiles(4, WIDTH, HEIGHT);
    let mean = |r: &layout::Rect| {
        let mut sum = 0u64;
        for row in r.y..r.y + r.h {
            for col in r.x..r.x + r.w {
                sum += y[(row * WIDTH + col) as usize] as u64;
            }
        }
        sum as f64 / (r.w * r.h) as f64
    };
    let means: Vec<f64> = tiles.iter().map(mean).collect();
    println!("mean luma per tile at 4 s: {means:?}");
    for (i, m) in means.iter().take(3).enumerate() {
        assert!(*m > 50.0, "tile {i} looks black: {means:?}");
    }
    assert!(means[3] < 40.0, "{means:?}");
}
