//! Audio/video sync of the post-processed recording (requirement: within 40 ms). The chair
//! publishes a test source whose flashes and beeps coincide: black VP8 video with a white
//! flash of 100 ms at t = 1, 3, 5, … s, and silent Opus audio with a 1 kHz beep of 100 ms
//! starting at the same instants. A second participant publishes the default test
//! pattern with silent audio (so the composite's mix holds only the chair's beeps). The
//! hearing is recorded for ~15 s, ended, and post-processed; in the chair's WebM and in
//! `hearing.mp4` the flash onsets (mean luma of the chair's picture jumps) and the beep
//! onsets (RMS over 5 ms windows rises out of silence) are measured with the `ffmpeg` CLI
//! and paired: every pair must be within 40 ms.
//!
//! The flash lasts three frames (100 ms), not one, because the composite samples the
//! tiles at 25 fps: a single 33 ms frame can fall between two composite frames.
//!
//! Expected: in the WebM the beep trails the flash by the Opus encoder's 6.5 ms lookahead
//! (312 samples of pre-skip, which RTP does not carry). The composite shows a frame at
//! the first 25 fps tick at or after its wall time, so there the flash shows 0–40 ms
//! late: offsets from about −33.5 ms to +6.5 ms, depending on where the flash falls
//! between ticks.
//!
//! The sync comes from the publishers' RTCP sender reports (NTP ↔ RTP time per stream),
//! not from arrival order: the test also checks that the recording holds sender reports
//! for every audio and video track, and that both post-processing paths timed every frame
//! by them (`StreamSync` in their reports).

use crate::common::media_client::{MediaClient, media_files};
use crate::common::{Backend, Client, TestServer};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use yunting::recording::composite::{HEIGHT, WIDTH, hearing_file};
use yunting::recording::layout::{self, Rect};
use yunting::recording::manifest::Manifest;
use yunting::recording::remux::{StreamSync, participant_files};
use yunting::recording::segment::{self, Kind, SenderReportRecord};

/// The requirement.
const MAX_OFFSET_S: f64 = 0.040;
/// Seconds between flashes (and beeps); the first at 1 s.
const PERIOD_S: u32 = 2;
/// Longer than the hearing lasts (~14 s), so the client never starts the files over.
const MEDIA_S: u32 = 20;

fn token(c: &Client) -> &str {
    c.token.as_deref().unwrap()
}

fn ffmpeg(args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg is installed (scripts/install-packages.sh test)");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The flash/beep source (VP8 IVF 320×240 30 fps, a keyframe every second; Ogg Opus
/// 48 kHz, 20 ms pages) and silent Opus audio for the other participant.
fn sync_media(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let video = dir.join("flash.ivf");
    let audio = dir.join("beep.ogg");
    let silence = dir.join("silence.ogg");
    let frames_per_period = 30 * PERIOD_S;
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!(
            "color=c=black:s=320x240:r=30:d={MEDIA_S},\
             drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:\
             enable='gte(n,30)*lt(mod(n-30,{frames_per_period}),3)'"
        ),
        "-c:v",
        "libvpx",
        "-b:v",
        "300k",
        "-minrate",
        "300k",
        "-maxrate",
        "300k",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-g",
        "30",
        "-keyint_min",
        "30",
        "-auto-alt-ref",
        "0",
        video.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!(
            "aevalsrc='0.5*sin(2*PI*1000*t)*gte(t,1)*lt(mod(t+1,{PERIOD_S}),0.1)':\
             s=48000:d={MEDIA_S}"
        ),
        "-c:a",
        "libopus",
        "-page_duration",
        "20000",
        audio.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("anullsrc=r=48000:cl=mono:d={MEDIA_S}"),
        "-c:a",
        "libopus",
        "-page_duration",
        "20000",
        silence.to_str().unwrap(),
    ]);
    (video, audio, silence)
}

/// Mean luma of every video frame (of `crop` if given) with its time in the file.
fn luma_series(path: &Path, crop: Option<Rect>) -> Vec<(f64, f64)> {
    let crop = crop
        .map(|r| format!("crop={}:{}:{}:{},", r.w, r.h, r.x, r.y))
        .unwrap_or_default();
    let out = ffmpeg(&[
        "-i",
        path.to_str().unwrap(),
        "-an",
        "-vf",
        &format!("{crop}signalstats,metadata=mode=print:key=lavfi.signalstats.YAVG:file=-"),
        "-f",
        "null",
        "-",
    ]);
    let text = String::from_utf8_lossy(&out);
    let mut series = Vec::new();
    let mut at = None;
    for line in text.lines() {
        if let Some(p) = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("pts_time:"))
        {
            at = p.parse::<f64>().ok();
        } else if let (Some(v), Some(t)) = (line.strip_prefix("lavfi.signalstats.YAVG="), at) {
            series.push((t, v.trim().parse::<f64>().unwrap()));
        }
    }
    series
}

/// Where the luma rises through the middle of its range (black → white).
fn flash_onsets(series: &[(f64, f64)]) -> Vec<f64> {
    let lo = series.iter().map(|s| s.1).fold(f64::INFINITY, f64::min);
    let hi = series.iter().map(|s| s.1).fold(f64::NEG_INFINITY, f64::max);
    if hi - lo < 50.0 {
        return Vec::new();
    }
    let mid = (lo + hi) / 2.0;
    series
        .windows(2)
        .filter(|w| w[0].1 <= mid && w[1].1 > mid)
        .map(|w| w[1].0)
        .collect()
}

/// Beep onsets (s) in the file's audio: decoded to mono s16le at 48 kHz on the file's
/// timeline (gaps filled, sample 0 = time 0); a 5 ms window whose RMS exceeds a tenth of
/// the loudest window's after at least 200 ms below it, refined to the sample.
fn beep_onsets(path: &Path) -> Vec<f64> {
    let pcm = ffmpeg(&[
        "-i",
        path.to_str().unwrap(),
        "-vn",
        "-af",
        "aresample=async=1:first_pts=0",
        "-ac",
        "1",
        "-ar",
        "48000",
        "-f",
        "s16le",
        "-",
    ]);
    let samples: Vec<f64> = pcm
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]) as f64 / 32768.0)
        .collect();
    const WIN: usize = 240; // 5 ms
    let rms: Vec<f64> = samples
        .chunks(WIN)
        .map(|w| (w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64).sqrt())
        .collect();
    let loudest = rms.iter().cloned().fold(0.0, f64::max);
    if loudest < 0.01 {
        return Vec::new();
    }
    let threshold = loudest / 10.0;
    let mut quiet = 0usize;
    let mut onsets = Vec::new();
    for (i, &r) in rms.iter().enumerate() {
        if r > threshold {
            if quiet >= 40 {
                // To the sample: the first one in this window or the one before that
                // exceeds the threshold's peak amplitude (a sine's peak is √2 × RMS).
                let from = (i - 1) * WIN;
                let first = samples[from..]
                    .iter()
                    .position(|x| x.abs() > threshold * std::f64::consts::SQRT_2)
                    .map_or(i * WIN, |k| from + k);
                onsets.push(first as f64 / 48_000.0);
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    onsets
}

/// Each flash paired with the nearest beep: (flash s, beep − flash s).
fn pair(flashes: &[f64], beeps: &[f64]) -> Vec<(f64, f64)> {
    flashes
        .iter()
        .filter_map(|&f| {
            beeps
                .iter()
                .map(|&b| b - f)
                .min_by(|a, b| a.abs().total_cmp(&b.abs()))
                .map(|d| (f, d))
        })
        .collect()
}

fn check(what: &str, flashes: &[f64], beeps: &[f64]) -> Vec<(f64, f64)> {
    println!("{what}: flashes at {flashes:.3?}");
    println!("{what}: beeps at   {beeps:.3?}");
    let pairs = pair(flashes, beeps);
    for (f, d) in &pairs {
        println!(
            "{what}: flash at {f:7.3} s, beep {:+6.1} ms (audio {})",
            d * 1000.0,
            if *d > 0.0 { "late" } else { "early" }
        );
    }
    pairs
}

/// Post-processing put every stream on the wall clock by its sender reports (not by
/// arrival): each track of the manifest, every frame.
fn synced_by_sender_reports(what: &str, m: &Manifest, sync: &[StreamSync]) {
    for t in &m.tracks {
        let s = sync
            .iter()
            .find(|s| s.track == t.index)
            .unwrap_or_else(|| panic!("{what}: no sync entry for track {}: {sync:?}", t.index));
        assert!(
            s.frames > 0 && s.sender_reports > 0 && s.by_sender_report == s.frames,
            "{what}: track {} ({}) not timed by sender reports: {s:?}",
            t.index,
            t.kind
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flashes_and_beeps_stay_within_40_ms_in_the_recordings() {
    let media_dir = tempfile::tempdir().unwrap();
    let (flash, beep, silence) = sync_media(media_dir.path());

    let (srv, demo) = TestServer::with_media(Backend::Sqlite, &[]).await.unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let chair = srv.staff(&demo, "arbitrator").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let c =
        MediaClient::join_with_media(&srv.base, hearing, token(&chair), None, (flash, beep)).await;
    let a = MediaClient::join_with_media(
        &srv.base,
        hearing,
        token(&applicant),
        Some(token(&chair)),
        (media_files().0.clone(), silence),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(11)).await;
    let dir = srv
        .end_hearing_and_wait_for_seal(&chair, &demo, "音画同步测试")
        .await;
    let chair_id = c.participant_id.clone();
    drop((c, a));
    let m: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m.tracks.len(), 4);
    // Every published stream's RTCP sender reports are in the recording (the NTP ↔ RTP
    // mapping the sync below relies on): the webrtc-rs publishers send one per stream
    // per second.
    let mut srs: HashMap<u16, usize> = HashMap::new();
    for s in &m.segments {
        let data = std::fs::read(dir.join(&s.name)).unwrap();
        let (recs, _) = segment::read(&data);
        for r in recs.iter().filter(|r| r.kind == Kind::SenderReport) {
            let sr = SenderReportRecord::read(r.body).expect("a well-formed sender report");
            let t = m.tracks.iter().find(|t| t.index == r.track).unwrap();
            assert_eq!(sr.ssrc, t.ssrc, "a sender report under the wrong track");
            *srs.entry(r.track).or_default() += 1;
        }
    }
    println!("sender reports recorded per track: {srs:?}");
    for t in &m.tracks {
        let n = srs.get(&t.index).copied().unwrap_or(0);
        assert!(
            n >= 5,
            "track {} ({} of {}): {n} sender reports recorded",
            t.index,
            t.kind,
            t.participant_id
        );
    }

    // The chair's own file.
    let report = participant_files(&dir, &srv.dir.path().join("remuxed")).unwrap();
    for l in report.lines() {
        println!("{l}");
    }
    synced_by_sender_reports("remux", &m, &report.sync);
    let file = report
        .files
        .iter()
        .find(|f| f.participant_id == chair_id)
        .expect("a file for the chair");
    let webm = check(
        "chair webm",
        &flash_onsets(&luma_series(&file.path, None)),
        &beep_onsets(&file.path),
    );

    // The composite: the chair's tile (the one that flashes) and the mix.
    let out = srv.dir.path().join("composite").join("hearing.mp4");
    let report = hearing_file(&dir, &out).unwrap();
    for l in report.lines() {
        println!("{l}");
    }
    synced_by_sender_reports("composite", &m, &report.sync);
    let flashes = layout::tiles(report.participants, WIDTH, HEIGHT)
        .into_iter()
        .map(|r| flash_onsets(&luma_series(&out, Some(r))))
        .max_by_key(|f| f.len())
        .unwrap_or_default();
    let mp4 = check("composite", &flashes, &beep_onsets(&out));

    for (what, pairs) in [("chair webm", &webm), ("composite", &mp4)] {
        assert!(
            pairs.len() >= 4,
            "{what}: only {} flash/beep pairs found",
            pairs.len()
        );
        for (f, d) in pairs {
            assert!(
                d.abs() <= MAX_OFFSET_S,
                "{what}: the beep at the flash at {f:.3} s is off by {:+.1} ms (> 40 ms)",
                d * 1000.0
            );
        }
    }
}
