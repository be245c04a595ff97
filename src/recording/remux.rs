//! Post-processing of a sealed recording into one playable file per participant, without
//! re-encoding: VP8 + Opus into WebM, H.264 + Opus into Matroska, muxed with FFmpeg's
//! libavformat (`ffmpeg-next`). The recorded RTP is depacketized here (offline only, see
//! `depacketize`), both streams of a participant are put on the recording's wall clock
//! (sender reports when present, else arrival times) so they stay in sync, and each file
//! starts at the participant's first packet.
//!
//! Damage is reported, never fatal: a truncated segment contributes what is readable; a
//! lost packet drops its frame; a video stream that never sends a keyframe is left out
//! (noted); a participant whose codec changes gets a new file (`-2`, `-3`, …).

use super::depacketize::{
    self, Codec, Depacketizer, Frame, FrameTime, NAL_PPS, NAL_SPS, Orderer, RtpPacket, annexb_nals,
    h264_sps_dimensions, opus_samples, vp8_dimensions,
};
use super::manifest::{Manifest, TrackInfo};
use super::seal::MANIFEST;
use super::segment::{self, Kind, SenderReportRecord};
use super::writer::{self, TRACKS_FILE};
use anyhow::{Context, Result, bail};
use ffmpeg_next as ffmpeg;
use rtc::shared::marshal::Unmarshal;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// What was written and what was left out.
#[derive(Debug, Default, Clone)]
pub struct RemuxReport {
    pub files: Vec<OutputFile>,
    /// Participants or parts left out entirely, with the reason.
    pub skipped: Vec<String>,
    /// Everything else worth knowing: damaged segments, dropped frames, missing video.
    pub notes: Vec<String>,
    /// Bytes of segment data read (every pass).
    pub bytes_read: u64,
    /// How each usable stream was put on the wall clock: by its sender reports (RTCP SR,
    /// NTP ↔ RTP) or, failing those, by arrival times.
    pub sync: Vec<StreamSync>,
}

/// The clock mapping of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSync {
    pub participant_id: String,
    pub track: u16,
    /// "audio" or "video".
    pub kind: String,
    /// Sender reports recorded for the stream's SSRC.
    pub sender_reports: usize,
    pub frames: u64,
    /// Frames whose time came from a sender report (the others: arrival anchoring).
    pub by_sender_report: u64,
}

#[derive(Debug, Clone)]
pub struct OutputFile {
    pub path: PathBuf,
    pub participant_id: String,
    pub name: String,
    /// Wall-clock time (µs) of the file's time zero and of its end.
    pub start_us: u64,
    pub end_us: u64,
    pub video: Option<StreamSummary>,
    pub audio: Option<StreamSummary>,
}

#[derive(Debug, Clone)]
pub struct StreamSummary {
    pub codec: &'static str,
    /// Frames as received (not counting `filled`).
    pub frames: u64,
    /// Frames lost to missing packets (or unparseable).
    pub dropped: u64,
    /// Audio: 20 ms silence frames written into gaps (a reconnect, loss), so the file
    /// keeps to the wall clock without re-encoding.
    pub filled: u64,
    pub width: u32,
    pub height: u32,
}

impl RemuxReport {
    /// A human-readable summary, one line each.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.files {
            let s = |s: &Option<StreamSummary>| {
                s.as_ref().map_or("-".to_string(), |s| {
                    if s.width > 0 {
                        format!("{} {}x{} {} frames", s.codec, s.width, s.height, s.frames)
                    } else if s.filled > 0 {
                        format!(
                            "{} {} frames + {} of silence in gaps",
                            s.codec, s.frames, s.filled
                        )
                    } else {
                        format!("{} {} frames", s.codec, s.frames)
                    }
                })
            };
            out.push(format!(
                "wrote {} ({:.1} s; video {}; audio {})",
                f.path.display(),
                f.end_us.saturating_sub(f.start_us) as f64 / 1e6,
                s(&f.video),
                s(&f.audio)
            ));
        }
        for s in &self.sync {
            out.push(format!(
                "sync: {} track {} ({}): {} sender reports; {} of {} frames timed by them{}",
                s.participant_id,
                s.track,
                s.kind,
                s.sender_reports,
                s.by_sender_report,
                s.frames,
                if s.by_sender_report < s.frames {
                    ", the rest by arrival"
                } else {
                    ""
                }
            ));
        }
        out.extend(self.skipped.iter().map(|s| format!("skipped: {s}")));
        out.extend(self.notes.iter().map(|s| format!("note: {s}")));
        out
    }
}

/// Write one file per participant (and codec period) of the recording in `recording_dir`
/// into `out_dir`.
pub fn participant_files(recording_dir: &Path, out_dir: &Path) -> Result<RemuxReport> {
    participant_files_with_progress(recording_dir, out_dir, &mut |_| {})
}

/// As [`participant_files`], telling `progress` the share done (0.0–1.0) after each
/// participant.
pub fn participant_files_with_progress(
    recording_dir: &Path,
    out_dir: &Path,
    progress: &mut dyn FnMut(f32),
) -> Result<RemuxReport> {
    let mut report = RemuxReport::default();
    let (tracks, segments) = load(recording_dir, &mut report)?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    ffmpeg::init().context("initialising FFmpeg")?;
    ffmpeg::log::set_level(ffmpeg::log::Level::Error);

    // Participants in order of their first track.
    let mut order: Vec<&str> = Vec::new();
    for t in &tracks {
        if !order.contains(&t.participant_id.as_str()) {
            order.push(&t.participant_id);
        }
    }
    let mut damaged: HashSet<String> = HashSet::new();
    let total = order.len().max(1) as f32;
    for (i, pid) in order.into_iter().enumerate() {
        let mine: Vec<&TrackInfo> = tracks.iter().filter(|t| t.participant_id == pid).collect();
        let media = read_tracks(recording_dir, &segments, &mine, &mut report, &mut damaged);
        participant(pid, &mine, media, out_dir, &mut report);
        progress((i + 1) as f32 / total);
    }
    Ok(report)
}

// ---- Streaming: the composite reads the recording a segment at a time -----------------

/// How long a streamed packet waits for lower-numbered ones (reordering, retransmission):
/// it is released once the recording has been read this far past its arrival.
const REORDER_US: u64 = 2_000_000;

/// A participant of the recording (in order of its first track).
#[derive(Debug, Clone)]
pub struct Person {
    pub participant_id: String,
    pub name: String,
    pub role: String,
}

/// A first pass over a recording: who is in it, the wall-clock time of every usable
/// frame (depacketized and timed exactly as for [`participant_files`]: sender reports,
/// else arrival), and the notes; [`StreamPlan::stream`] then reads the recording again a
/// segment at a time and hands out the frames on the wall clock. What stays in memory is
/// a few bytes per frame and a bounded read-ahead, not the recording's media.
pub struct StreamPlan {
    pub people: Vec<Person>,
    pub report: RemuxReport,
    /// How far past a frame's wall-clock time the recording has to be read before the
    /// frame comes out (µs): segment granularity plus the reorder wait plus network delay.
    pub lead_us: u64,
    dir: PathBuf,
    segments: Vec<String>,
    /// Every track of the manifest: their records move the read position.
    known: HashSet<u16>,
    tracks: Vec<PlannedTrack>,
}

struct PlannedTrack {
    index: u16,
    person: usize,
    codec: Codec,
    ssrc: Option<u32>,
    /// Per frame, in stream order: its RTP timestamp (to check the second pass against
    /// the first) and its wall-clock time.
    ts: Vec<u32>,
    wall: Vec<i64>,
}

/// A frame on the recording's wall clock (µs), from [`RecordingStream`].
pub struct TimedFrame {
    /// Index into [`StreamPlan::people`].
    pub person: usize,
    pub track: u16,
    pub codec: Codec,
    pub wall: i64,
    pub frame: Frame,
}

/// One track's way from records to frames, identical in both passes so the second yields
/// exactly the frames the first one timed.
struct Pipe {
    ssrc: Option<u32>,
    orderer: Orderer,
    depack: Depacketizer,
}

impl Pipe {
    fn new(codec: Codec, ssrc: Option<u32>) -> Self {
        Pipe {
            ssrc,
            orderer: Orderer::default(),
            depack: Depacketizer::new(codec),
        }
    }

    fn push(&mut self, p: RtpPacket) {
        if self.ssrc.is_none_or(|s| s == p.ssrc) {
            self.orderer.push(p);
        }
    }

    /// The frames made of packets that arrived at or before `horizon_us` (`u64::MAX`:
    /// the end of the recording, everything).
    fn drain(&mut self, horizon_us: u64, mut out: impl FnMut(Frame)) {
        while let Some(o) = self.orderer.pop(horizon_us) {
            if let Some(f) = self.depack.push(o) {
                out(f);
            }
        }
        if horizon_us == u64::MAX
            && let Some(f) = self.depack.finish()
        {
            out(f);
        }
    }
}

fn parse_rtp(r: &segment::Record) -> Option<RtpPacket> {
    let mut body = r.body;
    let p = rtc::rtp::Packet::unmarshal(&mut body).ok()?;
    Some(RtpPacket {
        seq: p.header.sequence_number,
        ts: p.header.timestamp,
        marker: p.header.marker,
        ssrc: p.header.ssrc,
        arrival_us: r.arrival_us,
        payload: p.payload.to_vec(),
    })
}

/// Read one segment; damage is noted once per segment name. `None`: unreadable.
fn read_segment(
    dir: &Path,
    name: &str,
    report: &mut RemuxReport,
    damaged: &mut HashSet<String>,
) -> Option<Vec<u8>> {
    let data = match std::fs::read(dir.join(name)) {
        Ok(d) => d,
        Err(e) => {
            if damaged.insert(name.to_string()) {
                report.notes.push(format!("{name}: cannot be read ({e})"));
            }
            return None;
        }
    };
    report.bytes_read += data.len() as u64;
    Some(data)
}

fn note_damage(
    name: &str,
    err: Option<segment::ReadError>,
    records: usize,
    report: &mut RemuxReport,
    damaged: &mut HashSet<String>,
) {
    if let Some(err) = err
        && damaged.insert(name.to_string())
    {
        report.notes.push(format!(
            "{name}: damaged ({err:?}); the {records} readable records are used"
        ));
    }
}

/// What the first pass learns of one track.
struct Scan {
    pipe: Option<Pipe>,
    own: u64,
    other: u64,
    bad: u64,
    srs: Vec<(u64, SenderReportRecord)>,
    times: Vec<FrameTime>,
    /// For each frame, the newest arrival read when it came out of the pipe.
    out_at: Vec<u64>,
}

impl Scan {
    fn new(codec: Option<Codec>, ssrc: Option<u32>) -> Self {
        Scan {
            pipe: codec.map(|c| Pipe::new(c, ssrc)),
            own: 0,
            other: 0,
            bad: 0,
            srs: Vec::new(),
            times: Vec::new(),
            out_at: Vec::new(),
        }
    }

    fn drain(&mut self, horizon_us: u64, newest_us: u64) {
        let (times, out_at) = (&mut self.times, &mut self.out_at);
        if let Some(p) = self.pipe.as_mut() {
            p.drain(horizon_us, |f| {
                times.push(FrameTime::from(&f));
                out_at.push(newest_us);
            });
        }
    }
}

/// One pass over the segments for the tracks in `scans` (by track index).
/// The read position (newest arrival) moves with every record of a known track, as in
/// the second pass.
fn scan(
    dir: &Path,
    segments: &[String],
    tracks: &[TrackInfo],
    scans: &mut HashMap<u16, Scan>,
    report: &mut RemuxReport,
    damaged: &mut HashSet<String>,
) {
    let ssrc_of: HashMap<u16, u32> = tracks.iter().map(|t| (t.index, t.ssrc)).collect();
    let mut newest = 0u64;
    for name in segments {
        let Some(data) = read_segment(dir, name, report, damaged) else {
            continue;
        };
        let (records, err) = segment::read(&data);
        note_damage(name, err, records.len(), report, damaged);
        for r in &records {
            if !ssrc_of.contains_key(&r.track) {
                continue;
            }
            newest = newest.max(r.arrival_us);
            let Some(s) = scans.get_mut(&r.track) else {
                continue;
            };
            match r.kind {
                Kind::Rtp => match parse_rtp(r) {
                    Some(p) => {
                        if ssrc_of.get(&r.track) == Some(&p.ssrc) {
                            s.own += 1;
                        } else {
                            s.other += 1;
                        }
                        if let Some(pipe) = s.pipe.as_mut() {
                            pipe.push(p);
                        }
                    }
                    None => s.bad += 1,
                },
                Kind::SenderReport => {
                    if let Some(sr) = SenderReportRecord::read(r.body) {
                        s.srs.push((r.arrival_us, sr));
                    }
                }
            }
        }
        let horizon = newest.saturating_sub(REORDER_US);
        for s in scans.values_mut() {
            s.drain(horizon, newest);
        }
    }
    for s in scans.values_mut() {
        s.drain(u64::MAX, newest);
    }
}

/// The first pass (see [`StreamPlan`]).
pub fn plan(recording_dir: &Path) -> Result<StreamPlan> {
    let mut report = RemuxReport::default();
    let (tracks, segments) = load(recording_dir, &mut report)?;
    let mut damaged: HashSet<String> = HashSet::new();
    let mut scans: HashMap<u16, Scan> = tracks
        .iter()
        .map(|t| (t.index, Scan::new(Codec::from_mime(&t.mime), Some(t.ssrc))))
        .collect();
    scan(
        recording_dir,
        &segments,
        &tracks,
        &mut scans,
        &mut report,
        &mut damaged,
    );
    // A track none of whose packets carry its own SSRC keeps them all (as the per-
    // participant files do): a second scan for those.
    let mut all_ssrcs: HashMap<u16, Scan> = scans
        .iter()
        .filter(|(_, s)| s.own == 0 && s.other > 0)
        .map(|(i, _)| {
            let t = tracks
                .iter()
                .find(|t| t.index == *i)
                .expect("a known track");
            (*i, Scan::new(Codec::from_mime(&t.mime), None))
        })
        .collect();
    if !all_ssrcs.is_empty() {
        let mut quiet = RemuxReport::default();
        scan(
            recording_dir,
            &segments,
            &tracks,
            &mut all_ssrcs,
            &mut quiet,
            &mut damaged,
        );
        report.bytes_read += quiet.bytes_read;
        for (i, s) in all_ssrcs {
            let first = scans.insert(i, s);
            if let (Some(first), Some(s)) = (first, scans.get_mut(&i)) {
                (s.own, s.other, s.bad, s.srs) = (first.own, first.other, first.bad, first.srs);
            }
        }
    }

    let mut people: Vec<Person> = Vec::new();
    for t in &tracks {
        if !people.iter().any(|p| p.participant_id == t.participant_id) {
            people.push(Person {
                participant_id: t.participant_id.clone(),
                name: t.name.clone(),
                role: t.role.clone(),
            });
        }
    }
    let mut planned: Vec<PlannedTrack> = Vec::new();
    let mut lead: u64 = 0;
    for (pi, person) in people.iter().enumerate() {
        let who = format!("{} ({})", person.name, person.participant_id);
        let mut usable: Vec<(&TrackInfo, Codec, Scan, Vec<Option<i64>>)> = Vec::new();
        let mut syncs: Vec<StreamSync> = Vec::new();
        for t in tracks
            .iter()
            .filter(|t| t.participant_id == person.participant_id)
        {
            let Some(s) = scans.remove(&t.index) else {
                continue;
            };
            if s.bad > 0 {
                report.notes.push(format!(
                    "{who}: track {}: {} unparseable RTP records",
                    t.index, s.bad
                ));
            }
            let (Some(codec), Some(pipe)) = (Codec::from_mime(&t.mime), s.pipe.as_ref()) else {
                report.skipped.push(format!(
                    "{who}: track {} ({}): codec not supported for remuxing",
                    t.index, t.mime
                ));
                continue;
            };
            if s.own + s.other == 0 {
                report
                    .notes
                    .push(format!("{who}: track {} ({}): no packets", t.index, t.mime));
                continue;
            }
            let kind_video = codec != Codec::Opus;
            let (dropped, before_keyframe) = (pipe.depack.dropped, pipe.depack.before_keyframe);
            if kind_video && s.times.is_empty() {
                report.notes.push(format!(
                    "{who}: video track {} ({}) never sent a usable keyframe: no video from it",
                    t.index, t.mime
                ));
            } else if before_keyframe > 0 {
                report.notes.push(format!(
                    "{who}: video track {}: {before_keyframe} frames before the first keyframe left out",
                    t.index
                ));
            }
            if dropped > 0 {
                report.notes.push(format!(
                    "{who}: track {} ({}): {dropped} {} dropped",
                    t.index,
                    t.mime,
                    if kind_video {
                        "incomplete frames (lost packets)"
                    } else {
                        "packets that are not valid Opus"
                    }
                ));
            }
            let srs: Vec<(u64, SenderReportRecord)> = s
                .srs
                .iter()
                .filter(|(_, sr)| sr.ssrc == t.ssrc)
                .copied()
                .collect();
            let sender = depacketize::sender_times(&s.times, &srs, t.clock_rate);
            syncs.push(StreamSync {
                participant_id: t.participant_id.clone(),
                track: t.index,
                kind: if kind_video { "video" } else { "audio" }.into(),
                sender_reports: srs.len(),
                frames: s.times.len() as u64,
                by_sender_report: 0,
            });
            usable.push((t, codec, s, sender));
        }
        if usable.is_empty() {
            continue;
        }
        let (walls, by_sender) = {
            let input: Vec<depacketize::StreamTimes<FrameTime>> = usable
                .iter_mut()
                .map(|(t, _, s, sender)| depacketize::StreamTimes {
                    frames: &s.times,
                    sender: std::mem::take(sender),
                    clock_rate: t.clock_rate,
                })
                .collect();
            depacketize::wall_times_counted(&input)
        };
        for (s, n) in syncs.iter_mut().zip(by_sender) {
            s.by_sender_report = n;
        }
        report.sync.append(&mut syncs);
        for ((t, codec, s, _), wall) in usable.into_iter().zip(walls) {
            if s.times.is_empty() {
                continue;
            }
            for (at, w) in s.out_at.iter().zip(&wall) {
                lead = lead.max((*at as i64).saturating_sub(*w).max(0) as u64);
            }
            planned.push(PlannedTrack {
                index: t.index,
                person: pi,
                codec,
                ssrc: s.pipe.as_ref().and_then(|p| p.ssrc),
                ts: s.times.iter().map(|f| f.ts).collect(),
                wall,
            });
        }
    }
    Ok(StreamPlan {
        people,
        report,
        lead_us: lead,
        dir: recording_dir.to_path_buf(),
        segments,
        known: tracks.iter().map(|t| t.index).collect(),
        tracks: planned,
    })
}

impl StreamPlan {
    /// The second pass: the recording read again, a segment at a time.
    pub fn stream(&self) -> RecordingStream<'_> {
        RecordingStream {
            plan: self,
            pipes: self
                .tracks
                .iter()
                .enumerate()
                .map(|(i, t)| (t.index, (i, Pipe::new(t.codec, t.ssrc), 0usize)))
                .collect(),
            next_segment: 0,
            newest_us: 0,
            finished: false,
            damaged: HashSet::new(),
            mismatched: 0,
        }
    }
}

/// The recording's usable frames with their wall-clock times, read a segment at a time
/// (see [`StreamPlan`]).
pub struct RecordingStream<'a> {
    plan: &'a StreamPlan,
    /// Track index → (planned track, its pipe, frames handed out so far).
    pipes: HashMap<u16, (usize, Pipe, usize)>,
    next_segment: usize,
    newest_us: u64,
    finished: bool,
    damaged: HashSet<String>,
    /// Frames whose RTP timestamp did not match the first pass (never expected).
    pub mismatched: u64,
}

impl RecordingStream<'_> {
    /// Read on until every frame whose wall-clock time is at or before `until_us` has been
    /// handed to `out` (frames come out in stream order per track, not sorted by time).
    pub fn read_until(&mut self, until_us: i64, mut out: impl FnMut(TimedFrame)) {
        let target = until_us.saturating_add(self.plan.lead_us as i64);
        while !self.finished && self.newest_us as i64 <= target {
            self.step(&mut out);
        }
    }

    fn step(&mut self, out: &mut impl FnMut(TimedFrame)) {
        let plan = self.plan;
        let Some(name) = plan.segments.get(self.next_segment) else {
            self.finished = true;
            self.drain(u64::MAX, out);
            return;
        };
        self.next_segment += 1;
        let mut quiet = RemuxReport::default();
        let Some(data) = read_segment(&plan.dir, name, &mut quiet, &mut self.damaged) else {
            return;
        };
        let (records, _) = segment::read(&data);
        for r in &records {
            if !plan.known.contains(&r.track) {
                continue;
            }
            self.newest_us = self.newest_us.max(r.arrival_us);
            let Some((_, pipe, _)) = self.pipes.get_mut(&r.track) else {
                continue;
            };
            if r.kind == Kind::Rtp
                && let Some(p) = parse_rtp(r)
            {
                pipe.push(p);
            }
        }
        let horizon = self.newest_us.saturating_sub(REORDER_US);
        self.drain(horizon, out);
    }

    fn drain(&mut self, horizon: u64, out: &mut impl FnMut(TimedFrame)) {
        let plan = self.plan;
        let mismatched = &mut self.mismatched;
        for (&track, (ti, pipe, n)) in self.pipes.iter_mut() {
            let t = &plan.tracks[*ti];
            pipe.drain(horizon, |frame| {
                let wall = match (t.ts.get(*n), t.wall.get(*n)) {
                    (Some(&ts), Some(&w)) if ts == frame.ts => w,
                    _ => {
                        *mismatched += 1;
                        frame.arrival_us as i64
                    }
                };
                *n += 1;
                out(TimedFrame {
                    person: t.person,
                    track,
                    codec: t.codec,
                    wall,
                    frame,
                });
            });
        }
    }
}

/// The tracks and segment names: from the sealed manifest, else (unsealed) from the
/// tracks list, the chain and the segment files present.
fn load(dir: &Path, report: &mut RemuxReport) -> Result<(Vec<TrackInfo>, Vec<String>)> {
    if let Ok(bytes) = std::fs::read(dir.join(MANIFEST)) {
        let m: Manifest = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: unreadable manifest", dir.display()))?;
        let tracks = best_layers(m.tracks, &m.received, report);
        return Ok((tracks, m.segments.into_iter().map(|s| s.name).collect()));
    }
    let tracks: Vec<TrackInfo> = writer::read_lines(&dir.join(TRACKS_FILE));
    if tracks.is_empty() {
        bail!("{}: no manifest.json and no tracks", dir.display());
    }
    report
        .notes
        .push("no manifest.json: the recording is not sealed; using the files present".into());
    let mut names: Vec<String> = writer::read_chain(dir)
        .into_iter()
        .map(|c| c.name)
        .collect();
    let mut extra: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.starts_with("seg-") && n.ends_with(".ytr") && !names.contains(n))
        .collect();
    extra.sort();
    names.extend(extra);
    Ok((best_layers(tracks, &[], report), names))
}

/// Of each simulcast publication, the layer that was received most completely (the most
/// frames the media server counted; at equal counts the higher layer); the other layers
/// are left out of the playable files, noted. Without counts (a run cut off by a crash)
/// the highest layer.
fn best_layers(
    tracks: Vec<TrackInfo>,
    counts: &[super::manifest::TrackCount],
    report: &mut RemuxReport,
) -> Vec<TrackInfo> {
    let frames = |t: &TrackInfo| {
        counts
            .iter()
            .filter(|c| c.track == t.index)
            .map(|c| c.frames)
            .sum::<u64>()
    };
    let mut best: HashMap<(String, String), (u64, u8, u16)> = HashMap::new();
    for t in &tracks {
        let Some(s) = &t.simulcast else { continue };
        let key = (t.participant_id.clone(), s.publication.clone());
        let rank = (frames(t), s.layer, t.index);
        best.entry(key)
            .and_modify(|b| {
                if (rank.0, rank.1) > (b.0, b.1) {
                    *b = rank;
                }
            })
            .or_insert(rank);
    }
    tracks
        .into_iter()
        .filter(|t| {
            let Some(s) = &t.simulcast else { return true };
            let chosen = best[&(t.participant_id.clone(), s.publication.clone())].2;
            if chosen != t.index {
                report.notes.push(format!(
                    "{}: simulcast layer {} ({}) of {} left out; layer of track {chosen} used",
                    t.participant_id,
                    t.layer_name(),
                    t.index,
                    s.publication
                ));
            }
            chosen == t.index
        })
        .collect()
}

#[derive(Default)]
struct TrackMedia {
    packets: Vec<RtpPacket>,
    srs: Vec<(u64, SenderReportRecord)>,
    bad_packets: u64,
}

/// One pass over the segments, keeping the records of `tracks`.
fn read_tracks(
    dir: &Path,
    segments: &[String],
    tracks: &[&TrackInfo],
    report: &mut RemuxReport,
    damaged: &mut HashSet<String>,
) -> HashMap<u16, TrackMedia> {
    let mut media: HashMap<u16, TrackMedia> = tracks
        .iter()
        .map(|t| (t.index, TrackMedia::default()))
        .collect();
    for name in segments {
        let data = match std::fs::read(dir.join(name)) {
            Ok(d) => d,
            Err(e) => {
                if damaged.insert(name.clone()) {
                    report.notes.push(format!("{name}: cannot be read ({e})"));
                }
                continue;
            }
        };
        report.bytes_read += data.len() as u64;
        let (records, err) = segment::read(&data);
        if let Some(err) = err
            && damaged.insert(name.clone())
        {
            report.notes.push(format!(
                "{name}: damaged ({err:?}); the {} readable records are used",
                records.len()
            ));
        }
        for r in records {
            let Some(m) = media.get_mut(&r.track) else {
                continue;
            };
            match r.kind {
                Kind::Rtp => {
                    let mut body = r.body;
                    match rtc::rtp::Packet::unmarshal(&mut body) {
                        Ok(p) => m.packets.push(RtpPacket {
                            seq: p.header.sequence_number,
                            ts: p.header.timestamp,
                            marker: p.header.marker,
                            ssrc: p.header.ssrc,
                            arrival_us: r.arrival_us,
                            payload: p.payload.to_vec(),
                        }),
                        Err(_) => m.bad_packets += 1,
                    }
                }
                Kind::SenderReport => {
                    if let Some(sr) = SenderReportRecord::read(r.body) {
                        m.srs.push((r.arrival_us, sr));
                    }
                }
            }
        }
    }
    media
}

/// A track after depacketization, with wall-clock times.
struct Source {
    kind_video: bool,
    codec: Codec,
    frames: Vec<Frame>,
    wall: Vec<i64>,
    first_arrival: u64,
    last_arrival: u64,
    dropped: u64,
}

/// A period of a participant with one video and one audio codec: one output file.
struct Period {
    start_us: u64,
    video: Option<Codec>,
    audio: Option<Codec>,
}

/// Depacketize a participant's tracks and put them on one wall clock (sorted by first
/// arrival). Unusable tracks are noted in `report` and left out.
fn sources(
    who: &str,
    tracks: &[&TrackInfo],
    mut media: HashMap<u16, TrackMedia>,
    report: &mut RemuxReport,
) -> Vec<Source> {
    let mut sources: Vec<(Source, Vec<Option<i64>>, u32)> = Vec::new();
    let mut syncs: Vec<StreamSync> = Vec::new();
    for t in tracks {
        let m = media.remove(&t.index).unwrap_or_default();
        if m.bad_packets > 0 {
            report.notes.push(format!(
                "{who}: track {}: {} unparseable RTP records",
                t.index, m.bad_packets
            ));
        }
        let Some(codec) = Codec::from_mime(&t.mime) else {
            report.skipped.push(format!(
                "{who}: track {} ({}): codec not supported for remuxing",
                t.index, t.mime
            ));
            continue;
        };
        if m.packets.is_empty() {
            report
                .notes
                .push(format!("{who}: track {} ({}): no packets", t.index, t.mime));
            continue;
        }
        // Retransmissions or other streams recorded under the track: keep its own SSRC.
        let packets: Vec<RtpPacket> = if m.packets.iter().any(|p| p.ssrc == t.ssrc) {
            m.packets.into_iter().filter(|p| p.ssrc == t.ssrc).collect()
        } else {
            m.packets
        };
        let first_arrival = packets.iter().map(|p| p.arrival_us).min().unwrap_or(0);
        let last_arrival = packets.iter().map(|p| p.arrival_us).max().unwrap_or(0);
        // Packets are consumed as their frames are built: the track's media is held
        // once, not twice.
        let d = {
            let mut dp = Depacketizer::new(codec);
            let mut frames: Vec<Frame> = Vec::new();
            for o in depacketize::order(packets) {
                frames.extend(dp.push(o));
            }
            frames.extend(dp.finish());
            depacketize::Depacketized {
                frames,
                dropped: dp.dropped,
                before_keyframe: dp.before_keyframe,
            }
        };
        let kind_video = codec != Codec::Opus;
        if kind_video && d.frames.is_empty() {
            report.notes.push(format!(
                "{who}: video track {} ({}) never sent a usable keyframe: no video from it",
                t.index, t.mime
            ));
        } else if d.before_keyframe > 0 {
            report.notes.push(format!(
                "{who}: video track {}: {} frames before the first keyframe left out",
                t.index, d.before_keyframe
            ));
        }
        if d.dropped > 0 {
            report.notes.push(format!(
                "{who}: track {} ({}): {} {} dropped",
                t.index,
                t.mime,
                d.dropped,
                if kind_video {
                    "incomplete frames (lost packets)"
                } else {
                    "packets that are not valid Opus"
                }
            ));
        }
        let srs: Vec<(u64, SenderReportRecord)> = m
            .srs
            .into_iter()
            .filter(|(_, sr)| sr.ssrc == t.ssrc)
            .collect();
        let st = depacketize::sender_times(&d.frames, &srs, t.clock_rate);
        syncs.push(StreamSync {
            participant_id: t.participant_id.clone(),
            track: t.index,
            kind: if kind_video { "video" } else { "audio" }.into(),
            sender_reports: srs.len(),
            frames: d.frames.len() as u64,
            by_sender_report: 0,
        });
        sources.push((
            Source {
                kind_video,
                codec,
                frames: d.frames,
                wall: Vec::new(),
                first_arrival,
                last_arrival,
                dropped: d.dropped,
            },
            st,
            t.clock_rate,
        ));
    }
    if sources.is_empty() {
        return Vec::new();
    }
    // One clock for all of the participant's streams.
    let walls = {
        let input: Vec<depacketize::StreamTimes> = sources
            .iter()
            .map(|(s, st, c)| depacketize::StreamTimes {
                frames: &s.frames,
                sender: st.clone(),
                clock_rate: *c,
            })
            .collect();
        let (walls, by_sender) = depacketize::wall_times_counted(&input);
        for (s, n) in syncs.iter_mut().zip(by_sender) {
            s.by_sender_report = n;
        }
        report.sync.append(&mut syncs);
        walls
    };
    let mut sources: Vec<Source> = sources
        .into_iter()
        .zip(walls)
        .map(|((mut s, _, _), w)| {
            s.wall = w;
            s
        })
        .collect();
    sources.sort_by_key(|s| s.first_arrival);
    sources
}

fn participant(
    pid: &str,
    tracks: &[&TrackInfo],
    media: HashMap<u16, TrackMedia>,
    out_dir: &Path,
    report: &mut RemuxReport,
) {
    let who = format!("{} ({pid})", tracks[0].name);
    let sources = sources(&who, tracks, media, report);
    if sources.is_empty() {
        report
            .skipped
            .push(format!("{who}: nothing that can be remuxed"));
        return;
    }

    // Periods: a new one wherever a stream of one kind changes codec.
    let mut periods: Vec<Period> = Vec::new();
    for s in &sources {
        let same = periods.last().is_none_or(|p| {
            let cur = if s.kind_video { p.video } else { p.audio };
            cur.is_none_or(|c| c == s.codec)
        });
        if let Some(p) = periods.last_mut().filter(|_| same) {
            if s.kind_video {
                p.video = Some(s.codec);
            } else {
                p.audio = Some(s.codec);
            }
        } else {
            let prev = periods.last();
            periods.push(Period {
                start_us: s.first_arrival,
                video: if s.kind_video {
                    Some(s.codec)
                } else {
                    prev.and_then(|p| p.video)
                },
                audio: if s.kind_video {
                    prev.and_then(|p| p.audio)
                } else {
                    Some(s.codec)
                },
            });
        }
    }
    if let Some(p) = periods.first_mut() {
        p.start_us = 0;
    }
    let base = format!("{}-{}", sanitise(pid), sanitise(&tracks[0].name));
    let base = base.trim_end_matches('-').to_string();
    for (n, p) in periods.iter().enumerate() {
        let end = periods.get(n + 1).map_or(u64::MAX, |q| q.start_us);
        let suffix = if n == 0 {
            String::new()
        } else {
            format!("-{}", n + 1)
        };
        let ext = if p.video == Some(Codec::H264) {
            "mkv"
        } else {
            "webm"
        };
        let path = out_dir.join(format!("{base}{suffix}.{ext}"));
        let label = format!("{who}{suffix}");
        match write_period(&sources, p, end, &path, &label, report) {
            Ok(Some(mut f)) => {
                f.participant_id = pid.to_string();
                f.name = tracks[0].name.clone();
                report.files.push(f);
            }
            Ok(None) => {}
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                report
                    .skipped
                    .push(format!("{label}: writing {} failed: {e:#}", path.display()));
            }
        }
    }
}

/// Keep letters and digits (any script), `-` and `_`; everything else becomes `_`.
/// Output file names are `<participant>-<sanitised name>[-n]`.
pub fn sanitise(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(48)
        .collect();
    out.trim_matches('_').to_string()
}

struct OutFrame<'a> {
    wall: i64,
    frame: &'a Frame,
}

/// The frames of one kind and codec within [start, end), in time order.
fn frames_in<'a>(
    sources: &'a [Source],
    video: bool,
    codec: Codec,
    start: u64,
    end: u64,
) -> (Vec<OutFrame<'a>>, u64, u64, u64) {
    let mut out = Vec::new();
    let (mut first, mut last, mut dropped) = (u64::MAX, 0u64, 0u64);
    for s in sources
        .iter()
        .filter(|s| s.kind_video == video && s.codec == codec)
    {
        let mut any = false;
        for (f, &w) in s.frames.iter().zip(&s.wall) {
            if f.arrival_us >= start && f.arrival_us < end {
                out.push(OutFrame { wall: w, frame: f });
                any = true;
            }
        }
        if s.last_arrival >= start && s.first_arrival < end {
            first = first.min(s.first_arrival.max(start));
            last = last.max(s.last_arrival.min(end));
        }
        if any {
            dropped += s.dropped;
        }
    }
    out.sort_by_key(|f| f.wall);
    (out, first, last, dropped)
}

fn codec_name(c: Codec) -> &'static str {
    match c {
        Codec::Vp8 => "vp8",
        Codec::H264 => "h264",
        Codec::Opus => "opus",
    }
}

struct VideoSetup {
    width: u32,
    height: u32,
    extradata: Vec<u8>,
}

/// What the container needs before the first frame: dimensions, and for H.264 the
/// parameter sets (as Annex-B extradata).
fn video_setup(codec: Codec, frames: &[OutFrame]) -> Option<VideoSetup> {
    let key = frames.iter().find(|f| f.frame.keyframe)?;
    match codec {
        Codec::Vp8 => vp8_dimensions(&key.frame.data).map(|(width, height)| VideoSetup {
            width,
            height,
            extradata: Vec::new(),
        }),
        Codec::H264 => {
            let (mut sps, mut pps) = (None, None);
            for f in frames.iter().take_while(|f| f.wall <= key.wall) {
                for nal in annexb_nals(&f.frame.data) {
                    match nal[0] & 0x1f {
                        NAL_SPS => sps = Some(nal),
                        NAL_PPS => pps = Some(nal),
                        _ => {}
                    }
                }
            }
            let (sps, pps) = (sps?, pps?);
            let (width, height) = h264_sps_dimensions(sps)?;
            let mut extradata = Vec::new();
            for nal in [sps, pps] {
                extradata.extend_from_slice(&[0, 0, 0, 1]);
                extradata.extend_from_slice(nal);
            }
            Some(VideoSetup {
                width,
                height,
                extradata,
            })
        }
        Codec::Opus => None,
    }
}

fn write_period(
    sources: &[Source],
    p: &Period,
    end: u64,
    path: &Path,
    label: &str,
    report: &mut RemuxReport,
) -> Result<Option<OutputFile>> {
    let (mut video, v_first, v_last, v_dropped) = match p.video {
        Some(c) => frames_in(sources, true, c, p.start_us, end),
        None => (Vec::new(), u64::MAX, 0, 0),
    };
    let (audio, a_first, a_last, a_dropped) = match p.audio {
        Some(c) => frames_in(sources, false, c, p.start_us, end),
        None => (Vec::new(), u64::MAX, 0, 0),
    };
    // Video starts at a keyframe (a period may begin in the middle of a stream).
    let lead = video.iter().position(|f| f.frame.keyframe);
    match lead {
        Some(i) => {
            video.drain(..i);
        }
        None => video.clear(),
    }
    let setup = match (p.video, video.is_empty()) {
        (Some(c), false) => {
            let s = video_setup(c, &video);
            if s.is_none() {
                report.notes.push(format!(
                    "{label}: the {} video's first keyframe lacks what the container needs \
                     (dimensions / parameter sets): no video",
                    codec_name(c)
                ));
                video.clear();
            }
            s
        }
        (Some(c), true) => {
            report.notes.push(format!(
                "{label}: no {} keyframe was received: the file has no video",
                codec_name(c)
            ));
            None
        }
        _ => None,
    };
    if video.is_empty() && audio.is_empty() {
        report
            .skipped
            .push(format!("{label}: no complete frames to write"));
        return Ok(None);
    }
    // Time zero: the participant's first packet in this period.
    let first_packet = v_first.min(a_first);
    let t0 = video
        .iter()
        .chain(&audio)
        .map(|f| f.wall)
        .min()
        .unwrap_or(0)
        .min(first_packet as i64);
    let last_packet = v_last.max(a_last);

    let format = if p.video == Some(Codec::H264) {
        "matroska"
    } else {
        "webm"
    };
    let mut octx = ffmpeg::format::output_as(path, format)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut v_index = None;
    let mut a_index = None;
    if let (Some(c), Some(s)) = (p.video, &setup) {
        let mut st = octx.add_stream(ffmpeg::codec::Id::None)?;
        st.set_time_base(ffmpeg::Rational(1, 1000));
        unsafe {
            let par = (*st.as_mut_ptr()).codecpar;
            (*par).codec_type = ffmpeg::ffi::AVMediaType::AVMEDIA_TYPE_VIDEO;
            (*par).codec_id = match c {
                Codec::H264 => ffmpeg::ffi::AVCodecID::AV_CODEC_ID_H264,
                _ => ffmpeg::ffi::AVCodecID::AV_CODEC_ID_VP8,
            };
            (*par).width = s.width as i32;
            (*par).height = s.height as i32;
            set_extradata(par, &s.extradata)?;
        }
        v_index = Some(st.index());
    }
    if p.audio.is_some() && !audio.is_empty() {
        let mut st = octx.add_stream(ffmpeg::codec::Id::None)?;
        st.set_time_base(ffmpeg::Rational(1, 1000));
        unsafe {
            let par = (*st.as_mut_ptr()).codecpar;
            (*par).codec_type = ffmpeg::ffi::AVMediaType::AVMEDIA_TYPE_AUDIO;
            (*par).codec_id = ffmpeg::ffi::AVCodecID::AV_CODEC_ID_OPUS;
            (*par).sample_rate = 48_000;
            ffmpeg::ffi::av_channel_layout_default(&mut (*par).ch_layout, 2);
            set_extradata(par, &opus_head(2))?;
        }
        a_index = Some(st.index());
    }
    if v_index.is_none() && a_index.is_none() {
        report
            .skipped
            .push(format!("{label}: no stream left to write"));
        return Ok(None);
    }
    octx.write_header()
        .with_context(|| format!("writing the header of {}", path.display()))?;

    // Packets in time order across both streams; times in each stream's time base
    // (read back after the header: Matroska uses 1/1000), strictly increasing.
    struct Pending<'a> {
        stream: usize,
        ticks: i64,
        duration: i64,
        key: bool,
        data: &'a [u8],
    }
    let mut pending: Vec<Pending> = Vec::with_capacity(video.len() + audio.len());
    let mut summaries = (None, None);
    for (idx, frames, is_video) in [(v_index, &video, true), (a_index, &audio, false)] {
        let Some(idx) = idx else { continue };
        let tb = octx
            .stream(idx)
            .map(|s| s.time_base())
            .unwrap_or(ffmpeg::Rational(1, 1000));
        let (num, den) = (tb.numerator().max(1) as i64, tb.denominator().max(1) as i64);
        let to_ticks = |us: i64| (us as i128 * den as i128 / (num as i128 * 1_000_000)) as i64;
        let mut prev = -1i64;
        let start = pending.len();
        // Audio: where the previous frame ended (µs of wall clock), to fill gaps.
        let mut audio_end: Option<i64> = None;
        let mut filled = 0u64;
        let silence_ticks = to_ticks(SILENCE_US);
        for f in frames.iter() {
            if !is_video && let Some(end) = audio_end {
                let mut at = end;
                while f.wall - at > GAP_FILL_US {
                    let ticks = to_ticks((at - t0).max(0)).max(prev + 1);
                    prev = ticks;
                    pending.push(Pending {
                        stream: idx,
                        ticks,
                        duration: silence_ticks,
                        key: true,
                        data: &OPUS_SILENCE,
                    });
                    filled += 1;
                    at += SILENCE_US;
                }
            }
            let ticks = to_ticks((f.wall - t0).max(0)).max(prev + 1);
            prev = ticks;
            let duration = if is_video {
                0
            } else {
                let us = opus_samples(&f.frame.data).map_or(0, |n| n as i64 * 1_000_000 / 48_000);
                audio_end = Some(f.wall + us);
                to_ticks(us)
            };
            pending.push(Pending {
                stream: idx,
                ticks,
                duration,
                key: f.frame.keyframe,
                data: &f.frame.data,
            });
        }
        // Video frames last until the next one; the last one as long as the one before.
        if is_video {
            let n = pending.len();
            for i in start..n {
                let d = if i + 1 < n {
                    pending[i + 1].ticks - pending[i].ticks
                } else if i > start {
                    pending[i].ticks - pending[i - 1].ticks
                } else {
                    to_ticks(33_333).max(1)
                };
                pending[i].duration = d;
            }
        }
        let n = frames.len() as u64;
        if is_video {
            let c = p.video.unwrap_or(Codec::Vp8);
            summaries.0 = setup.as_ref().map(|s| StreamSummary {
                codec: codec_name(c),
                frames: n,
                dropped: v_dropped,
                filled: 0,
                width: s.width,
                height: s.height,
            });
        } else {
            summaries.1 = Some(StreamSummary {
                codec: "opus",
                frames: n,
                dropped: a_dropped,
                filled,
                width: 0,
                height: 0,
            });
        }
    }
    // Order by time (µs), video before audio at equal times.
    let tb_us = |pd: &Pending, octx: &ffmpeg::format::context::Output| -> i64 {
        let tb = octx
            .stream(pd.stream)
            .map(|s| s.time_base())
            .unwrap_or(ffmpeg::Rational(1, 1000));
        (pd.ticks as i128 * tb.numerator() as i128 * 1_000_000 / tb.denominator().max(1) as i128)
            as i64
    };
    let mut keyed: Vec<(i64, usize, Pending)> = pending
        .into_iter()
        .map(|pd| (tb_us(&pd, &octx), pd.stream, pd))
        .collect();
    keyed.sort_by_key(|(t, s, _)| (*t, *s));
    let mut end_us = 0i64;
    for (t, _, pd) in keyed {
        let mut pkt = ffmpeg::Packet::copy(pd.data);
        pkt.set_stream(pd.stream);
        pkt.set_pts(Some(pd.ticks));
        pkt.set_dts(Some(pd.ticks));
        pkt.set_duration(pd.duration);
        if pd.key {
            pkt.set_flags(ffmpeg::packet::Flags::KEY);
        }
        pkt.write_interleaved(&mut octx)
            .with_context(|| format!("writing a packet to {}", path.display()))?;
        end_us = end_us.max(t);
    }
    octx.write_trailer()
        .with_context(|| format!("finishing {}", path.display()))?;
    Ok(Some(OutputFile {
        path: path.to_path_buf(),
        participant_id: String::new(),
        name: String::new(),
        start_us: t0.max(0) as u64,
        end_us: (t0 + end_us).max(last_packet as i64).max(0) as u64,
        video: summaries.0,
        audio: summaries.1,
    }))
}

/// One 20 ms Opus frame of silence (CELT-only, fullband, mono: TOC 0xF8, then an empty
/// frame), written into audio gaps; decoders play it as silence in a stereo stream too.
const OPUS_SILENCE: [u8; 3] = [0xF8, 0xFF, 0xFE];
const SILENCE_US: i64 = 20_000;
/// Audio gaps longer than this are filled (shorter ones are jitter, left as they are).
const GAP_FILL_US: i64 = 60_000;

/// An `OpusHead` (RFC 7845 §5.1) for Matroska's CodecPrivate.
fn opus_head(channels: u8) -> Vec<u8> {
    let mut h = b"OpusHead".to_vec();
    h.push(1); // version
    h.push(channels);
    h.extend_from_slice(&0u16.to_le_bytes()); // pre-skip
    h.extend_from_slice(&48_000u32.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes()); // output gain
    h.push(0); // mapping family
    h
}

/// Give codec parameters their extradata, allocated as libavcodec frees it.
///
/// # Safety
/// `par` must point to a valid `AVCodecParameters` without extradata.
unsafe fn set_extradata(par: *mut ffmpeg::ffi::AVCodecParameters, data: &[u8]) -> Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let pad = ffmpeg::ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize;
    unsafe {
        let buf = ffmpeg::ffi::av_mallocz(data.len() + pad) as *mut u8;
        if buf.is_null() {
            bail!("out of memory");
        }
        std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len());
        (*par).extradata = buf;
        (*par).extradata_size = data.len() as i32;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::segment::{MAGIC, push_rtp};

    fn rtp(ssrc: u32, seq: u16, ts: u32, marker: bool, payload: Vec<u8>) -> rtc::rtp::Packet {
        let mut p = rtc::rtp::Packet::default();
        p.header.version = 2;
        p.header.payload_type = 96;
        p.header.sequence_number = seq;
        p.header.timestamp = ts;
        p.header.marker = marker;
        p.header.ssrc = ssrc;
        p.payload = bytes::Bytes::from(payload);
        p
    }

    fn track(index: u16, pid: &str, name: &str, mime: &str, ssrc: u32) -> TrackInfo {
        TrackInfo {
            index,
            seat: format!("seat-{pid}"),
            participant_id: pid.into(),
            name: name.into(),
            role: "party".into(),
            kind: if mime.starts_with("audio") {
                "audio"
            } else {
                "video"
            }
            .into(),
            mime: mime.into(),
            clock_rate: if mime.starts_with("audio") {
                48_000
            } else {
                90_000
            },
            ssrc,
            first_us: 0,
            simulcast: None,
        }
    }

    const T0: u64 = 1_700_000_000_000_000;

    fn vp8_frame(key: bool, n: usize) -> Vec<Vec<u8>> {
        let mut first = vec![0x10];
        if key {
            first.extend_from_slice(&[0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
        } else {
            first.extend_from_slice(&[0x01, 0x00, 0x00]);
        }
        first.extend(std::iter::repeat_n(n as u8, 50));
        vec![first, vec![0x00; 40]]
    }

    fn h264_frame(key: bool) -> Vec<Vec<u8>> {
        let sps = [
            0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0x9f, 0x9f, 0x01, 0x10, 0x00, 0x00, 0x03,
            0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0xa4, 0x80,
        ];
        let pps = [0x68, 0xce, 0x3c, 0x80];
        if !key {
            return vec![vec![0x41, 0x9a, 1, 2, 3]];
        }
        let mut stap = vec![0x78];
        for nal in [&sps[..], &pps[..]] {
            stap.extend_from_slice(&(nal.len() as u16).to_be_bytes());
            stap.extend_from_slice(nal);
        }
        vec![stap, vec![0x7c, 0x85, 1, 2], vec![0x7c, 0x45, 3, 4]]
    }

    /// A synthetic recording: p1 sends VP8 for 3 s then switches to H.264 (Opus
    /// throughout, VP8 sequence numbers wrapping); p2's VP8 never has a keyframe; the
    /// second segment is cut short.
    fn synthetic(dir: &Path) {
        let tracks = [
            track(0, "p1", "张 三/x", "video/VP8", 10),
            track(1, "p1", "张 三/x", "audio/opus", 11),
            track(2, "p2", "无关键帧", "video/VP8", 20),
            track(3, "p2", "无关键帧", "audio/opus", 21),
            track(4, "p1", "张 三/x", "video/H264", 12),
        ];
        for t in &tracks {
            writer::append_line(&dir.join(TRACKS_FILE), t).unwrap();
        }
        let mut recs: Vec<(u64, u16, rtc::rtp::Packet)> = Vec::new();
        let mut seq: u16 = 65_500;
        for i in 0..90u32 {
            let at = T0 + i as u64 * 33_333;
            let parts = vp8_frame(i % 30 == 0, i as usize);
            let n = parts.len();
            for (k, p) in parts.into_iter().enumerate() {
                recs.push((
                    at + k as u64 * 10,
                    0,
                    rtp(10, seq, 5000 + i * 3000, k + 1 == n, p),
                ));
                seq = seq.wrapping_add(1);
            }
        }
        let mut seq: u16 = 7;
        for i in 0..90u32 {
            let at = T0 + 3_000_000 + i as u64 * 33_333;
            let parts = h264_frame(i % 30 == 0);
            let n = parts.len();
            for (k, p) in parts.into_iter().enumerate() {
                recs.push((
                    at + k as u64 * 10,
                    4,
                    rtp(12, seq, 77 + i * 3000, k + 1 == n, p),
                ));
                seq = seq.wrapping_add(1);
            }
        }
        for i in 0..300u32 {
            let at = T0 + 2_000 + i as u64 * 20_000;
            recs.push((at, 1, rtp(11, i as u16, i * 960, true, vec![0xfc, 1, 2, 3])));
        }
        for i in 0..60u32 {
            let at = T0 + 500_000 + i as u64 * 33_333;
            recs.push((
                at,
                2,
                rtp(20, i as u16, i * 3000, true, vp8_frame(false, 1)[0].clone()),
            ));
        }
        for i in 0..100u32 {
            let at = T0 + 500_000 + i as u64 * 20_000;
            recs.push((at, 3, rtp(21, 900 + i as u16, i * 960, true, vec![0xfc, 9])));
        }
        recs.sort_by_key(|r| r.0);
        let mut segs = [MAGIC.to_vec(), MAGIC.to_vec()];
        for (at, track, p) in &recs {
            let s = usize::from(*at >= T0 + 3_000_000);
            assert!(push_rtp(&mut segs[s], *track, *at, p));
        }
        std::fs::write(dir.join("seg-000001.ytr"), &segs[0]).unwrap();
        let cut = segs[1].len() - 3;
        std::fs::write(dir.join("seg-000002.ytr"), &segs[1][..cut]).unwrap();
    }

    fn streams(path: &Path) -> Vec<(String, u64, u64)> {
        let out = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-show_streams", "-of", "json"])
            .arg(path)
            .output()
            .expect("ffprobe");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["codec_name"].as_str().unwrap().to_string(),
                    s["width"].as_u64().unwrap_or(0),
                    s["height"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    }

    #[test]
    fn the_streamed_recording_has_the_frames_and_times_of_the_whole_one() {
        let tmp = tempfile::tempdir().unwrap();
        let rec = tmp.path().join("rec");
        std::fs::create_dir_all(&rec).unwrap();
        synthetic(&rec);
        // Whole: every track read at once and timed per participant.
        let mut report = RemuxReport::default();
        let (tracks, segments) = load(&rec, &mut report).unwrap();
        let mut whole: HashMap<u16, Vec<(u32, i64, usize)>> = HashMap::new();
        for pid in ["p1", "p2"] {
            let mine: Vec<&TrackInfo> = tracks.iter().filter(|t| t.participant_id == pid).collect();
            let mut damaged = HashSet::new();
            let media = read_tracks(&rec, &segments, &mine, &mut report, &mut damaged);
            let mut by_codec: HashMap<u16, Vec<(u32, i64, usize)>> = HashMap::new();
            for src in sources(pid, &mine, media, &mut report) {
                let index = mine
                    .iter()
                    .find(|t| Codec::from_mime(&t.mime) == Some(src.codec))
                    .unwrap()
                    .index;
                let v = by_codec.entry(index).or_default();
                for (f, w) in src.frames.iter().zip(&src.wall) {
                    v.push((f.ts, *w, f.data.len()));
                }
            }
            whole.extend(by_codec);
        }
        // Streamed: a plan, then the frames as a composite reads them.
        let plan = plan(&rec).unwrap();
        assert_eq!(plan.people.len(), 2);
        let mut streamed: HashMap<u16, Vec<(u32, i64, usize)>> = HashMap::new();
        let mut stream = plan.stream();
        stream.read_until(i64::MAX - plan.lead_us as i64, |f| {
            streamed
                .entry(f.track)
                .or_default()
                .push((f.frame.ts, f.wall, f.frame.data.len()))
        });
        assert_eq!(stream.mismatched, 0);
        whole.retain(|_, v| !v.is_empty());
        assert_eq!(streamed, whole);
        assert_eq!(streamed[&0].len(), 90);
        assert_eq!(plan.report.sync, report.sync);
        let notes = plan.report.notes.join("\n");
        assert!(notes.contains("seg-000002.ytr: damaged"), "{notes}");
        assert!(notes.contains("never sent a usable keyframe"), "{notes}");
    }

    #[test]
    fn codec_change_missing_keyframes_and_a_cut_segment_are_handled() {
        let tmp = tempfile::tempdir().unwrap();
        let rec = tmp.path().join("rec");
        std::fs::create_dir_all(&rec).unwrap();
        synthetic(&rec);
        let out = tmp.path().join("out");
        let r = participant_files(&rec, &out).unwrap();
        let names: Vec<String> = r
            .files
            .iter()
            .map(|f| f.path.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            vec!["p1-张_三_x.webm", "p1-张_三_x-2.mkv", "p2-无关键帧.webm"],
            "{:?}",
            r.lines()
        );
        let notes = r.notes.join("\n");
        assert!(notes.contains("seg-000002.ytr: damaged"), "{notes}");
        assert!(notes.contains("never sent a usable keyframe"), "{notes}");
        assert!(notes.contains("no manifest.json"), "{notes}");

        // VP8 period: 90 frames across the sequence-number wrap, then H.264.
        let (vp8, h264, p2) = (&r.files[0], &r.files[1], &r.files[2]);
        assert_eq!(vp8.video.as_ref().unwrap().frames, 90);
        assert_eq!(vp8.video.as_ref().unwrap().dropped, 0);
        assert!(vp8.audio.as_ref().unwrap().frames >= 149);
        let h = h264.video.as_ref().unwrap();
        assert_eq!((h.codec, h.width, h.height), ("h264", 320, 180));
        assert!(h.frames >= 88, "{}", h.frames); // the cut may take the last frame
        assert!(p2.video.is_none());
        assert_eq!(p2.audio.as_ref().unwrap().frames, 100);

        assert_eq!(
            streams(&vp8.path),
            vec![("vp8".into(), 320, 240), ("opus".into(), 0, 0)]
        );
        assert_eq!(
            streams(&h264.path),
            vec![("h264".into(), 320, 180), ("opus".into(), 0, 0)]
        );
        assert_eq!(streams(&p2.path), vec![("opus".into(), 0, 0)]);
        // The second file starts where the codec changed.
        let d = h264.start_us as i64 - vp8.start_us as i64;
        assert!((d - 3_000_000).abs() < 50_000, "{d}");
    }

    /// A participant whose audio stops for a second (a reconnect): the file's audio is
    /// filled with 20 ms silence frames, so its timeline stays on the wall clock.
    #[test]
    fn an_audio_gap_is_filled_with_silence() {
        assert_eq!(opus_samples(&OPUS_SILENCE), Some(960));
        let tmp = tempfile::tempdir().unwrap();
        let rec = tmp.path().join("rec");
        std::fs::create_dir_all(&rec).unwrap();
        writer::append_line(
            &rec.join(TRACKS_FILE),
            &track(0, "p1", "王五", "audio/opus", 31),
        )
        .unwrap();
        let mut seg = MAGIC.to_vec();
        let mut n = 0u32;
        for i in 0..150u32 {
            // 0–1 s, then nothing until 2 s, then to 3 s.
            if (50..100).contains(&i) {
                continue;
            }
            let at = T0 + i as u64 * 20_000;
            assert!(push_rtp(
                &mut seg,
                0,
                at,
                &rtp(31, n as u16, i * 960, true, vec![0xfc, 0xff, 0xfe])
            ));
            n += 1;
        }
        std::fs::write(rec.join("seg-000001.ytr"), &seg).unwrap();
        let r = participant_files(&rec, &tmp.path().join("out")).unwrap();
        let a = r.files[0].audio.as_ref().unwrap();
        assert_eq!(a.frames, 100, "{:?}", r.lines());
        // The 1 s gap less the 60 ms left as jitter: 47 frames of 20 ms.
        assert_eq!(a.filled, 47, "{:?}", r.lines());
        let out = std::process::Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-count_frames",
                "-show_streams",
                "-of",
                "json",
            ])
            .arg(&r.files[0].path)
            .output()
            .expect("ffprobe");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let frames: u64 = v["streams"][0]["nb_read_frames"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(frames, 147);
    }

    /// Of a simulcast publication's three recorded layers, the files use the one the
    /// server received most of (the top one, unless it was off for a while).
    #[test]
    fn the_best_simulcast_layer_is_used_and_the_others_noted() {
        use crate::recording::manifest::{SimulcastLayer, TrackCount};
        let layer = |index: u16, rid: &str, rank: u8| {
            let mut t = track(index, "p1", "张三", "video/VP8", 100 + u32::from(index));
            t.simulcast = Some(SimulcastLayer {
                publication: "p1-100".into(),
                rid: rid.into(),
                layer: rank,
            });
            t
        };
        let tracks = vec![
            track(0, "p1", "张三", "audio/opus", 99),
            layer(1, "q", 0),
            layer(2, "h", 1),
            layer(3, "f", 2),
        ];
        let count = |track: u16, frames: u64| TrackCount {
            track,
            packets: frames,
            frames,
        };
        let mut r = RemuxReport::default();
        // All three complete: the top layer.
        let kept = best_layers(
            tracks.clone(),
            &[count(1, 600), count(2, 600), count(3, 600)],
            &mut r,
        );
        assert_eq!(kept.iter().map(|t| t.index).collect::<Vec<_>>(), vec![0, 3]);
        assert_eq!(r.notes.len(), 2, "{:?}", r.notes);
        // The top layer was off half the time: the middle one.
        let kept = best_layers(
            tracks.clone(),
            &[count(1, 600), count(2, 600), count(3, 300)],
            &mut RemuxReport::default(),
        );
        assert_eq!(kept.iter().map(|t| t.index).collect::<Vec<_>>(), vec![0, 2]);
        // No counts (after a crash): the top layer.
        let kept = best_layers(tracks, &[], &mut RemuxReport::default());
        assert_eq!(kept.iter().map(|t| t.index).collect::<Vec<_>>(), vec![0, 3]);
    }
}
