//! The composite hearing file: a real WebRTC hearing (three webrtc-rs participants sending
//! VP8 + Opus, one joining ~2 s late, the chair moving a phase) is recorded, sealed and
//! composited into one `hearing.mp4`. Checked with `ffprobe` / `ffmpeg`: one H.264
//! 1280×720 stream and one AAC stream, the hearing's wall-clock duration, one chapter per
//! phase, `moov` before `mdat` (plays while downloading), and a frame at ~4 s whose
//! occupied tiles are not black.

use crate::common::media_client::MediaClient;
use crate::common::{Backend, Client, TestServer, ffprobe, num};
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use yunting::recording::composite::{HEIGHT, WIDTH, hearing_file};
use yunting::recording::layout;
use yunting::recording::manifest::Manifest;

fn token(c: &Client) -> &str {
    c.token.as_deref().unwrap()
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
    // The hearing's wall clock, as the test sees it: from the chair opening the room to
    // the end.
    let opened_ms = yunting::time::now_ms();
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
    let ended_ms = yunting::time::now_ms();
    let dir = srv
        .end_hearing_and_wait_for_seal(&chair, &demo, "测试合成")
        .await;
    drop((c, a, r));
    let m: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m.tracks.len(), 6);
    let span_s = (ended_ms - opened_ms) as f64 / 1e3;
    let (first_us, last_us) = layout::hearing_span(&m.events, m.first_us, m.last_us);
    println!(
        "hearing {span_s:.2} s by the test's clock; packets {:.2} s; composite span {:.2} s",
        (m.last_us - m.first_us) as f64 / 1e6,
        (last_us - first_us) as f64 / 1e6
    );
    let file_s = (last_us - first_us) as f64 / 1e6;

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
    let p = ffprobe(&out, false);
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
                (e["at_ms"].as_i64().unwrap() * 1000 - first_us as i64) as f64 / 1e6,
                e["detail"]["label"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let moved: Vec<&(f64, String)> = phases
        .iter()
        .filter(|(at, _)| *at > 0.0 && *at < file_s - 0.2)
        .collect();
    assert!(moved.len() >= 2, "{phases:?} (span {file_s} s)");
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
        layout::chapters(&m.events, first_us, last_us)
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
    assert!((chapters.last().unwrap().1 - file_s).abs() < 0.05);

    // Plays from the start: moov before mdat.
    let boxes = top_boxes(&out);
    let moov = boxes.iter().position(|b| b == "moov").expect("moov");
    let mdat = boxes.iter().position(|b| b == "mdat").expect("mdat");
    assert!(moov < mdat, "{boxes:?}");

    // A frame 2 s before the end: all three participants are in (the third joined ~5 s
    // earlier): each occupied tile shows a picture (the test pattern), not black; the
    // empty fourth tile is dark.
    let at = file_s - 2.0;
    let y = gray_frame(&out, at);
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
    println!("mean luma per tile at {at:.1} s: {means:?}");
    for (i, m) in means.iter().take(3).enumerate() {
        assert!(*m > 50.0, "tile {i} looks black: {means:?}");
    }
    assert!(means[3] < 40.0, "{means:?}");
}

// --- benchmark ------------------------------------------------------------------------

/// The benchmark case, without a network: a 4-participant hearing at 640×360
/// (VP8 ~1 Mbps 30 fps, a keyframe every second, like `benches/sfu_load`, from a moving
/// test pattern with a little temporal noise so the encoders work as on a camera; Opus
/// 20 ms), synthesized straight into a sealed-format recording (10 s segments, RTP as the
/// SFU records it with a few ms of arrival jitter, one sender report per stream per
/// second), then post-processed: per-participant remux, then the composite. Prints each
/// job's speed as a multiple of real time, its CPU time, and the process's peak RSS
/// (`VmHWM`, reset between the jobs). The recording is made once per length by a child
/// process (cached in the temp dir), so the measured process holds nothing else.
///
/// `YT_BENCH_SECONDS` sets the hearing's length (default 60 s). Run in release:
/// `cargo test --release --test it -- --ignored --nocapture composite_speed`
#[test]
#[ignore = "benchmark; run with --release --ignored --nocapture"]
fn composite_speed_4_participants_640x360() {
    if let Some(dir) = std::env::var_os("YT_BENCH_SYNTHESIZE_INTO") {
        // The child: make the recording and go.
        bench::synthesize(Path::new(&dir), 4, bench::seconds());
        return;
    }
    let secs = bench::seconds();
    let rec = bench::recording(secs);
    let work = tempfile::tempdir().unwrap();
    let m: Manifest =
        serde_json::from_slice(&std::fs::read(rec.join("manifest.json")).unwrap()).unwrap();
    let span_s = (m.last_us - m.first_us) as f64 / 1e6;
    let media_s: f64 = 4.0 * span_s;
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "benchmark: {span_s:.1} s recording in {} ({build}); load average before: {}",
        rec.display(),
        bench::loadavg()
    );

    bench::reset_peak_rss();
    let (cpu0, started) = (bench::cpu_s(), Instant::now());
    let remux =
        yunting::recording::remux::participant_files(&rec, &work.path().join("remuxed")).unwrap();
    let (took, cpu) = (started.elapsed().as_secs_f64(), bench::cpu_s() - cpu0);
    for l in remux.lines() {
        println!("{l}");
    }
    assert_eq!(remux.files.len(), 4);
    println!(
        "remux speed: {span_s:.1} s hearing ({media_s:.0} participant-seconds) in {took:.3} s \
         ({cpu:.2} s CPU) = {:.0}× real time ({:.0}× per participant-second); peak RSS {} MB",
        span_s / took,
        media_s / took,
        bench::rss_kb("VmHWM") / 1024,
    );

    bench::reset_peak_rss();
    let out = work.path().join("hearing.mp4");
    let (cpu0, started) = (bench::cpu_s(), Instant::now());
    let report = hearing_file(&rec, &out).unwrap();
    let (took, cpu) = (started.elapsed().as_secs_f64(), bench::cpu_s() - cpu0);
    for l in report.lines() {
        println!("{l}");
    }
    println!(
        "composite speed: {span_s:.1} s hearing, 4 × 640×360 in {took:.2} s = {:.2}× real time; \
         {cpu:.1} s CPU ({:.2} cores busy; {:.3} CPU-s per hearing-s); peak RSS {} MB; \
         {:.1} MB written; load average after: {}",
        span_s / took,
        cpu / took,
        cpu / span_s,
        bench::rss_kb("VmHWM") / 1024,
        std::fs::metadata(&out).unwrap().len() as f64 / 1e6,
        bench::loadavg()
    );
    assert_eq!(report.participants, 4);
    let p = ffprobe(&out, false);
    let duration = num(&p["format"]["duration"]);
    assert!((duration - span_s).abs() <= 1.0, "{duration} vs {span_s}");
}

mod bench {
    use rtc::media::io::ivf_reader::IVFReader;
    use rtc::media::io::ogg_reader::OggReader;
    use rtc::rtp::codec::vp8::Vp8Payloader;
    use rtc::rtp::packetizer::Payloader;
    use serde_json::json;
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use yunting::recording::chain::{ChainEntry, GENESIS};
    use yunting::recording::manifest::{FORMAT, Manifest, TrackInfo};
    use yunting::recording::segment::{self, SenderReportRecord};

    /// A fixed wall clock (2026-01-01 UTC) so runs are comparable.
    const BASE_US: u64 = 1_767_225_600_000_000;

    pub fn seconds() -> u32 {
        std::env::var("YT_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60)
    }

    /// The `secs`-second recording, made by a child process the first time.
    pub fn recording(secs: u32) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("yunting-bench-recording-{secs}s"));
        if dir.join("manifest.json").exists() {
            return dir;
        }
        let tmp = std::env::temp_dir().join(format!("yunting-bench-recording-{secs}s.tmp"));
        let _ = std::fs::remove_dir_all(&tmp);
        let status = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "composite_speed_4_participants_640x360",
            ])
            .env("YT_BENCH_SYNTHESIZE_INTO", &tmp)
            .env("YT_BENCH_SECONDS", secs.to_string())
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::rename(&tmp, &dir).unwrap();
        dir
    }

    /// CPU time (user + system) of this process so far, in seconds.
    pub fn cpu_s() -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // After the command name in parentheses: fields 14 and 15 (utime, stime) in ticks.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
        ticks as f64 / 100.0
    }

    pub fn loadavg() -> String {
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn rss_kb(key: &str) -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Reset the process's peak RSS (`VmHWM`) to its current RSS (Linux ≥ 4.0).
    pub fn reset_peak_rss() {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }

    fn ffmpeg(args: &[&str]) {
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args(args)
            .output()
            .expect("ffmpeg is installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Participant `i`'s source files (cached per length): a moving test pattern with a
    /// little temporal noise (so the encoder spends its bitrate like on a camera) and a
    /// tone.
    fn media(i: usize, secs: u32) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join("yunting-bench-media");
        std::fs::create_dir_all(&dir).unwrap();
        let video = dir.join(format!("p{i}-{secs}s-640x360.ivf"));
        let audio = dir.join(format!("p{i}-{secs}s.ogg"));
        if !video.exists() {
            let tmp = dir.join(format!("p{i}-{secs}s-640x360.tmp.ivf"));
            ffmpeg(&[
                "-f",
                "lavfi",
                "-i",
                &format!(
                    "testsrc2=size=640x360:rate=30,hue=h={}:s=1,noise=alls=6:allf=t",
                    i * 90
                ),
                "-t",
                &secs.to_string(),
                "-c:v",
                "libvpx",
                "-b:v",
                "1000k",
                "-minrate",
                "1000k",
                "-maxrate",
                "1000k",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-g",
                "30",
                "-auto-alt-ref",
                "0",
                "-f",
                "ivf",
                tmp.to_str().unwrap(),
            ]);
            std::fs::rename(&tmp, &video).unwrap();
        }
        if !audio.exists() {
            let tmp = dir.join(format!("p{i}-{secs}s.tmp.ogg"));
            ffmpeg(&[
                "-f",
                "lavfi",
                "-i",
                &format!("sine=frequency={}:sample_rate=48000", 330 + 110 * i),
                "-t",
                &secs.to_string(),
                "-c:a",
                "libopus",
                "-page_duration",
                "20000",
                "-f",
                "ogg",
                tmp.to_str().unwrap(),
            ]);
            std::fs::rename(&tmp, &audio).unwrap();
        }
        (video, audio)
    }

    /// A little deterministic jitter (0–4 ms).
    fn jitter(n: u64) -> u64 {
        (n.wrapping_mul(2_654_435_761) >> 7) % 4_000
    }

    fn us_to_ntp(us: u64) -> u64 {
        let secs = us / 1_000_000 + 2_208_988_800;
        let frac = ((us % 1_000_000) << 32) / 1_000_000;
        (secs << 32) | frac
    }

    struct Rec {
        at: u64,
        track: u16,
        rtp: Option<rtc::rtp::Packet>,
        sr: Option<SenderReportRecord>,
    }

    fn packet(
        ssrc: u32,
        pt: u8,
        seq: u16,
        ts: u32,
        marker: bool,
        payload: bytes::Bytes,
    ) -> rtc::rtp::Packet {
        let mut p = rtc::rtp::Packet::default();
        p.header.version = 2;
        p.header.payload_type = pt;
        p.header.sequence_number = seq;
        p.header.timestamp = ts;
        p.header.ssrc = ssrc;
        p.header.marker = marker;
        p.payload = payload;
        p
    }

    /// One stream's records: RTP as the SFU would have received it (each frame's
    /// packets arrive together, a few ms of jitter) and one sender report per second.
    #[allow(clippy::too_many_arguments)]
    fn stream(
        out: &mut Vec<Rec>,
        track: u16,
        ssrc: u32,
        start_us: u64,
        frames: Vec<bytes::Bytes>,
        period_us: u64,
        ticks: u32,
        clock_rate: u32,
        video: bool,
    ) {
        let mut seq: u16 = 1000;
        let mut vp8 = Vp8Payloader::default();
        let ts0: u32 = 12_345;
        for (n, f) in frames.into_iter().enumerate() {
            let n = n as u64;
            let sent = start_us + n * period_us;
            let ts = ts0.wrapping_add(ticks.wrapping_mul(n as u32));
            if n * period_us % 1_000_000 < period_us {
                out.push(Rec {
                    at: sent + 1_000,
                    track,
                    rtp: None,
                    sr: Some(SenderReportRecord {
                        ssrc,
                        ntp_time: us_to_ntp(sent),
                        rtp_time: ts,
                        packet_count: n as u32,
                        octet_count: 0,
                    }),
                });
            }
            let at = sent + 2_000 + jitter(n * 7 + track as u64);
            let parts = if video {
                vp8.payload(1200, &f).unwrap()
            } else {
                vec![f]
            };
            let last = parts.len().saturating_sub(1);
            for (k, part) in parts.into_iter().enumerate() {
                let pt = if video { 96 } else { 111 };
                out.push(Rec {
                    at,
                    track,
                    rtp: Some(packet(ssrc, pt, seq, ts, video && k == last, part)),
                    sr: None,
                });
                seq = seq.wrapping_add(1);
            }
        }
        let _ = clock_rate;
    }

    /// Write a `participants`-person, `secs`-second recording into `dir` (what the writer
    /// and the seal would leave, minus the signature).
    pub fn synthesize(dir: &Path, participants: usize, secs: u32) {
        std::fs::create_dir_all(dir).unwrap();
        let roles = ["presiding_arbitrator", "applicant", "respondent", "clerk"];
        let names = ["王仲裁", "李小红", "某某科技有限公司", "赵书记"];
        let mut recs: Vec<Rec> = Vec::new();
        let mut tracks: Vec<TrackInfo> = Vec::new();
        for i in 0..participants {
            let (video, audio) = media(i, secs);
            // Everyone is in from the start (within 300 ms of each other).
            let start = BASE_US + i as u64 * 100_000;
            let mut frames = Vec::new();
            let (mut r, _) = IVFReader::new(std::io::BufReader::new(
                std::fs::File::open(&video).unwrap(),
            ))
            .unwrap();
            while let Ok((f, _)) = r.parse_next_frame() {
                frames.push(f.freeze());
            }
            let mut pages = Vec::new();
            let (mut r, _) = OggReader::new(
                std::io::BufReader::new(std::fs::File::open(&audio).unwrap()),
                true,
            )
            .unwrap();
            while let Ok((p, _)) = r.parse_next_page() {
                if !p.starts_with(b"OpusTags") {
                    pages.push(p.freeze());
                }
            }
            for (k, (kind, mime, rate)) in [
                ("audio", "audio/opus", 48_000u32),
                ("video", "video/vp8", 90_000),
            ]
            .into_iter()
            .enumerate()
            {
                let index = (i * 2 + k) as u16;
                let ssrc = 0x1000_0000 + index as u32;
                tracks.push(TrackInfo {
                    index,
                    seat: format!("user:{}", i + 1),
                    participant_id: format!("p{}", i + 1),
                    name: names[i % names.len()].into(),
                    role: roles[i % roles.len()].into(),
                    kind: kind.into(),
                    mime: mime.into(),
                    clock_rate: rate,
                    ssrc,
                    first_us: start,
                    simulcast: None,
                });
                if kind == "audio" {
                    stream(
                        &mut recs,
                        index,
                        ssrc,
                        start,
                        std::mem::take(&mut pages),
                        20_000,
                        960,
                        rate,
                        false,
                    );
                } else {
                    stream(
                        &mut recs,
                        index,
                        ssrc,
                        start,
                        std::mem::take(&mut frames),
                        33_333,
                        3_000,
                        rate,
                        true,
                    );
                }
            }
        }
        recs.sort_by_key(|r| r.at);
        // 10-second segments, chained.
        let first_us = recs.first().map_or(BASE_US, |r| r.at);
        let last_us = recs.last().map_or(BASE_US, |r| r.at);
        let mut segments: Vec<ChainEntry> = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut span = (0u64, 0u64);
        let flush = |buf: &mut Vec<u8>, span: (u64, u64), segments: &mut Vec<ChainEntry>| {
            if buf.is_empty() {
                return;
            }
            let seq = segments.len() as u64;
            let name = format!("seg-{seq:06}.ytr");
            let mut data = segment::MAGIC.to_vec();
            data.append(buf);
            std::fs::write(dir.join(&name), &data).unwrap();
            let sha = yunting::crypto::sha256_hex(&data);
            let prev = segments
                .last()
                .map_or(GENESIS.to_string(), |s| s.hash.clone());
            segments.push(ChainEntry::after(
                &prev,
                seq,
                &name,
                data.len() as u64,
                &sha,
                span,
            ));
        };
        for r in &recs {
            if !buf.is_empty() && r.at >= span.0 + 10_000_000 {
                flush(&mut buf, span, &mut segments);
            }
            if buf.is_empty() {
                span.0 = r.at;
            }
            span.1 = r.at;
            if let Some(p) = &r.rtp {
                assert!(segment::push_rtp(&mut buf, r.track, r.at, p));
            }
            if let Some(sr) = &r.sr {
                segment::push_sender_report(&mut buf, r.track, r.at, sr);
            }
        }
        flush(&mut buf, span, &mut segments);
        let at_ms = |s: u64| ((first_us + s * 1_000_000) / 1000) as i64;
        let phase = |s: u64, from: &str, to: &str, label: &str| {
            json!({"at_ms": at_ms(s), "kind": "hearing.phase", "actor": "user:1",
                   "detail": {"from": from, "to": to, "label": label}})
        };
        let third = (secs as u64 / 3).max(1);
        let m = Manifest {
            format: FORMAT.into(),
            hearing_id: 1,
            case_id: 1,
            case_numbers: vec!["京劳人仲字〔2026〕第1号".into()],
            complete: true,
            sealed_at_ms: (last_us / 1000) as i64,
            first_us,
            last_us,
            chain_head: segments.last().map_or(GENESIS.to_string(), |s| s.hash.clone()),
            segments,
            participants: (0..participants)
                .map(|i| json!({"seat": format!("user:{}", i + 1), "name": names[i % 4], "role": roles[i % 4]}))
                .collect(),
            tracks,
            events: vec![
                phase(third, "check_attendance", "announce_discipline", "宣布庭审纪律"),
                phase(2 * third, "announce_discipline", "opening", "宣布开庭"),
            ],
            interruptions: Vec::new(),
            received: Vec::new(),
            seal_public_key: String::new(),
        };
        std::fs::write(
            dir.join("manifest.json"),
            serde_json::to_vec_pretty(&m).unwrap(),
        )
        .unwrap();
    }
}
