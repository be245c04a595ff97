//! Post-processing: a real WebRTC hearing (three webrtc-rs participants sending VP8 +
//! Opus) is recorded, sealed, and remuxed into one WebM per participant without
//! re-encoding. Every file is checked with `ffprobe` (decoding every frame): one VP8 and
//! one Opus stream, the participant's duration, and exactly as many video frames as the
//! segments hold complete frames, counted here independently of the remuxer. A segment
//! cut short (as by a crash) still remuxes, with the damage reported.

use crate::common::media_client::MediaClient;
use crate::common::{Backend, Client, TestServer, ffprobe, num};
use rtc::shared::marshal::Unmarshal;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};
use yunting::media::keyframe::{VideoCodec, starts_keyframe};
use yunting::recording::manifest::Manifest;
use yunting::recording::remux::participant_files;
use yunting::recording::segment::{self, Kind};

fn token(c: &Client) -> &str {
    c.token.as_deref().unwrap()
}

struct Pkt {
    seq: i64,
    ts: u32,
    marker: bool,
    keyframe_start: bool,
    /// The test client sends the Ogg comment header ("OpusTags") as its first audio
    /// packet; it is not Opus, and the remuxer leaves it out.
    not_opus: bool,
    arrival_us: u64,
}

/// What the segments hold for each track (index → packets in arrival order, own SSRC).
fn packets(dir: &Path, m: &Manifest) -> HashMap<u16, Vec<Pkt>> {
    let ssrc: HashMap<u16, u32> = m.tracks.iter().map(|t| (t.index, t.ssrc)).collect();
    let mut out: HashMap<u16, Vec<Pkt>> = HashMap::new();
    let mut last_seq: HashMap<u16, (u16, i64)> = HashMap::new();
    for s in &m.segments {
        let data = std::fs::read(dir.join(&s.name)).unwrap();
        let (recs, err) = segment::read(&data);
        assert!(err.is_none(), "{err:?}");
        for r in recs.into_iter().filter(|r| r.kind == Kind::Rtp) {
            let mut body = r.body;
            let p = rtc::rtp::Packet::unmarshal(&mut body).unwrap();
            if Some(&p.header.ssrc) != ssrc.get(&r.track) {
                continue;
            }
            // Unwrap the 16-bit sequence number against the previous packet.
            let seq = p.header.sequence_number;
            let ext = match last_seq.get(&r.track) {
                None => seq as i64,
                Some(&(prev, prev_ext)) => prev_ext + seq.wrapping_sub(prev) as i16 as i64,
            };
            last_seq.insert(r.track, (seq, ext));
            out.entry(r.track).or_default().push(Pkt {
                seq: ext,
                ts: p.header.timestamp,
                marker: p.header.marker,
                keyframe_start: starts_keyframe(VideoCodec::Vp8, &p.payload),
                not_opus: p.payload.starts_with(b"OpusTags"),
                arrival_us: r.arrival_us,
            });
        }
    }
    out
}

/// Complete video frames from the first keyframe on: a frame (one RTP timestamp) whose
/// packets run without a gap up to the one carrying the marker bit.
fn complete_frames(pkts: &[Pkt]) -> u64 {
    let mut by_seq: BTreeMap<i64, &Pkt> = BTreeMap::new();
    for p in pkts {
        by_seq.insert(p.seq, p);
    }
    let Some(first_key) = by_seq.values().find(|p| p.keyframe_start).map(|p| p.seq) else {
        return 0;
    };
    let mut frames: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
    for (&seq, p) in by_seq.range(first_key..) {
        frames.entry(p.ts).or_default().push(seq);
    }
    frames
        .values()
        .filter(|seqs| {
            let (lo, hi) = (seqs[0], *seqs.last().unwrap());
            by_seq[&hi].marker && (hi - lo + 1) as usize == seqs.len()
        })
        .count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recorded_hearing_becomes_one_playable_webm_per_participant() {
    let (srv, demo) = TestServer::with_media(Backend::Sqlite, &[]).await.unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let chair = srv.staff(&demo, "arbitrator").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let respondent = srv.ready_party(&demo, "respondent", hearing).await;
    let c = MediaClient::join(&srv.base, hearing, token(&chair)).await;
    let a = MediaClient::join_admitted(&srv.base, hearing, token(&applicant), token(&chair)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // A late joiner: its file starts later and is shorter. About 20 s of hearing in all
    // (the test media: a test pattern with its frame counter, and a tone).
    let r = MediaClient::join_admitted(&srv.base, hearing, token(&respondent), token(&chair)).await;
    tokio::time::sleep(Duration::from_secs(17)).await;
    let dir = srv
        .end_hearing_and_wait_for_seal(&chair, &demo, "测试转封装")
        .await;
    drop((c, a, r));
    let m: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m.tracks.len(), 6);

    let out = srv.dir.path().join("remuxed");
    let started = Instant::now();
    let report = participant_files(&dir, &out).unwrap();
    let took = started.elapsed().as_secs_f64();
    for l in report.lines() {
        println!("{l}");
    }
    let media_s = (m.last_us - m.first_us) as f64 / 1e6;
    let participant_s: f64 = report
        .files
        .iter()
        .map(|f| (f.end_us - f.start_us) as f64 / 1e6)
        .sum();
    let bytes: u64 = m.segments.iter().map(|s| s.size).sum();
    println!(
        "remux speed: {media_s:.1} s of hearing ({} participants, {participant_s:.1} s of \
         participant media, {:.2} MB of segments) in {:.1} ms = {:.0}× real time \
         ({:.0}× per participant-second), {:.0} MB/s of segments",
        report.files.len(),
        bytes as f64 / 1e6,
        took * 1000.0,
        media_s / took,
        participant_s / took,
        bytes as f64 / 1e6 / took
    );
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.files.len(), 3, "{:?}", report.lines());
    assert!(media_s > 19.0, "{media_s} s of hearing");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("1 packets that are not valid Opus dropped")),
        "{:?}",
        report.notes
    );

    let pkts = packets(&dir, &m);
    let mut starts = Vec::new();
    for f in &report.files {
        let mine: Vec<_> = m
            .tracks
            .iter()
            .filter(|t| t.participant_id == f.participant_id)
            .collect();
        assert_eq!(mine.len(), 2);
        let name = f.path.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with(&format!("{}-", f.participant_id)) && name.ends_with(".webm"),
            "{name}"
        );
        let video = mine.iter().find(|t| t.kind == "video").unwrap();
        let audio = mine.iter().find(|t| t.kind == "audio").unwrap();
        let vp = &pkts[&video.index];
        let ap = &pkts[&audio.index];
        let first = vp.iter().chain(ap).map(|p| p.arrival_us).min().unwrap();
        let last = vp.iter().chain(ap).map(|p| p.arrival_us).max().unwrap();
        let expected_s = (last - first) as f64 / 1e6;
        let expected_video_frames = complete_frames(vp);
        let audio_packets = {
            let mut seqs: Vec<i64> = ap.iter().filter(|p| !p.not_opus).map(|p| p.seq).collect();
            seqs.sort();
            seqs.dedup();
            seqs.len() as u64
        };
        starts.push(first);

        let probe = ffprobe(&f.path, true);
        let streams = probe["streams"].as_array().unwrap();
        assert_eq!(streams.len(), 2, "{probe}");
        let v = streams
            .iter()
            .find(|s| s["codec_type"] == "video")
            .expect("a video stream");
        let a = streams
            .iter()
            .find(|s| s["codec_type"] == "audio")
            .expect("an audio stream");
        assert_eq!(v["codec_name"], "vp8");
        assert_eq!(a["codec_name"], "opus");
        assert_eq!(
            (v["width"].as_u64(), v["height"].as_u64()),
            (Some(320), Some(240))
        );
        assert_eq!(probe["format"]["format_name"], "matroska,webm");
        let duration = num(&probe["format"]["duration"]);
        assert!(
            (duration - expected_s).abs() <= 1.0,
            "{name}: {duration} s in the file, {expected_s} s in the recording"
        );
        assert!(expected_s > 2.0, "{name}: {expected_s} s");
        let v_frames = num(&v["nb_read_frames"]) as u64;
        assert_eq!(
            v_frames, expected_video_frames,
            "{name}: video frames decoded vs complete frames recorded"
        );
        assert_eq!(f.video.as_ref().unwrap().frames, expected_video_frames);
        // One Opus frame per packet, plus any silence written into gaps.
        let filled = f.audio.as_ref().unwrap().filled;
        let a_frames = num(&a["nb_read_frames"]) as u64 - filled;
        assert_eq!(a_frames, audio_packets, "{name}: one Opus frame per packet");
        // Held to what the media server itself counted as it received and recorded
        // (not to the segment files): every frame it got is in the file.
        let live = |t: u16| {
            m.received
                .iter()
                .find(|c| c.track == t)
                .copied()
                .unwrap_or_else(|| panic!("no live count for track {t}: {:?}", m.received))
        };
        let (lv, la) = (live(video.index), live(audio.index));
        assert_eq!(
            v_frames, lv.frames,
            "{name}: video frames in the file vs frames the server received"
        );
        let not_opus = ap.iter().filter(|p| p.not_opus).count() as u64;
        assert_eq!(
            a_frames + not_opus,
            la.frames,
            "{name}: audio frames in the file (+ {not_opus} not Opus) vs packets the server received"
        );
        assert_eq!(
            la.packets,
            ap.len() as u64,
            "{name}: audio packets recorded"
        );
        assert_eq!(
            lv.packets,
            vp.len() as u64,
            "{name}: video packets recorded"
        );
        // Both streams start together (the client starts both at once).
        let (vs, as_) = (num(&v["start_time"]), num(&a["start_time"]));
        assert!(
            vs.abs() < 0.5 && as_.abs() < 0.5,
            "{name}: stream starts {vs} / {as_}"
        );
        println!(
            "{name}: {duration:.2} s (recorded {expected_s:.2} s), {v_frames} video frames, \
             {a_frames} audio frames"
        );
    }
    // The late joiner's file starts ~2 s after the first participant's.
    starts.sort();
    assert!(starts[2] - starts[0] > 1_500_000, "{starts:?}");

    // A segment cut short: the remux still succeeds, from what is readable, and says so.
    let cut = srv.dir.path().join("cut");
    std::fs::create_dir_all(&cut).unwrap();
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        // (The server's own post-processing may have made `export/` meanwhile.)
        if e.path().is_file() {
            std::fs::copy(e.path(), cut.join(e.file_name())).unwrap();
        }
    }
    let last_seg = &m.segments.last().unwrap().name;
    let data = std::fs::read(cut.join(last_seg)).unwrap();
    std::fs::write(cut.join(last_seg), &data[..data.len() * 2 / 3 + 5]).unwrap();
    let report = participant_files(&cut, &srv.dir.path().join("remuxed-cut")).unwrap();
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains(last_seg.as_str()) && n.contains("damaged")),
        "{:?}",
        report.notes
    );
    assert!(!report.files.is_empty(), "{:?}", report.lines());
    for f in &report.files {
        let probe = ffprobe(&f.path, true);
        assert!(!probe["streams"].as_array().unwrap().is_empty());
    }
}
