//! Offline depacketization of recorded RTP (post-processing only; the live path never
//! looks inside payloads beyond keyframe detection): ordering by sequence number across
//! 16-bit wrap, duplicates and jumps; VP8 (RFC 7741), H.264 (RFC 6184: single NAL unit,
//! STAP-A, FU-A → Annex-B access units) and Opus (one packet = one frame); and the
//! mapping of RTP timestamps to wall-clock time (sender reports, else arrival).
//!
//! Everything here is pure and defensive: malformed input drops a frame, never panics.

use super::segment::SenderReportRecord;

/// One recorded RTP packet, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket {
    pub seq: u16,
    pub ts: u32,
    pub marker: bool,
    pub ssrc: u32,
    pub arrival_us: u64,
    pub payload: Vec<u8>,
}

/// A packet with its place in the stream: `ext_seq` orders packets; consecutive packets
/// of one run differ by one. A jump in sequence numbers starts a new run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordered {
    pub ext_seq: u64,
    pub pkt: RtpPacket,
}

/// A jump in sequence numbers larger than this (either way) is a restart of the stream,
/// not reordering or loss.
const SEQ_JUMP: i32 = 3000;

/// Order packets (given in arrival order) by sequence number: unwrap the 16-bit counter
/// relative to the previous packet, start a new run on a jump, drop duplicates.
pub fn order(packets: Vec<RtpPacket>) -> Vec<Ordered> {
    let mut out: Vec<Ordered> = Vec::with_capacity(packets.len());
    let mut run: u64 = 0;
    let mut last: Option<(u16, i64)> = None;
    for pkt in packets {
        let ext = match last {
            None => 0i64,
            Some((prev_seq, prev_ext)) => {
                let d = pkt.seq.wrapping_sub(prev_seq) as i16 as i32;
                if d.abs() > SEQ_JUMP {
                    run += 1;
                    0
                } else {
                    prev_ext + d as i64
                }
            }
        };
        // Relative to the last packet, which keeps the run's counter continuous.
        last = Some((pkt.seq, ext));
        let ext_seq = (run << 40) | ((ext + (1i64 << 32)) as u64 & ((1u64 << 40) - 1));
        out.push(Ordered { ext_seq, pkt });
    }
    out.sort_by_key(|o| o.ext_seq);
    out.dedup_by_key(|o| o.ext_seq);
    out
}

/// [`order`] for a stream read a piece at a time (post-processing that must not hold a
/// whole recording): sequence numbers are unwrapped in arrival order exactly as `order`
/// does, and packets wait in a reorder buffer until the caller's horizon (an arrival time
/// the recording has been read past by more than any reordering) lets them go, smallest
/// `ext_seq` first. A packet older than what was already let go (or a duplicate) is
/// dropped. For packets reordered by less than the horizon's margin, the output is
/// `order`'s.
#[derive(Debug, Default)]
pub struct Orderer {
    run: u64,
    last: Option<(u16, i64)>,
    pending: std::collections::BTreeMap<u64, RtpPacket>,
    released: Option<u64>,
}

impl Orderer {
    pub fn push(&mut self, pkt: RtpPacket) {
        let ext = match self.last {
            None => 0i64,
            Some((prev_seq, prev_ext)) => {
                let d = pkt.seq.wrapping_sub(prev_seq) as i16 as i32;
                if d.abs() > SEQ_JUMP {
                    self.run += 1;
                    0
                } else {
                    prev_ext + d as i64
                }
            }
        };
        self.last = Some((pkt.seq, ext));
        let ext_seq = (self.run << 40) | ((ext + (1i64 << 32)) as u64 & ((1u64 << 40) - 1));
        if self.released.is_some_and(|r| ext_seq <= r) {
            return; // too late, or a duplicate of one let go
        }
        self.pending.entry(ext_seq).or_insert(pkt);
    }

    /// The next packet in order, if it arrived at or before `horizon_us` (`u64::MAX`: at
    /// the end, everything).
    pub fn pop(&mut self, horizon_us: u64) -> Option<Ordered> {
        let entry = self.pending.first_entry()?;
        if entry.get().arrival_us > horizon_us {
            return None;
        }
        let (ext_seq, pkt) = entry.remove_entry();
        self.released = Some(ext_seq);
        Some(Ordered { ext_seq, pkt })
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// A depacketized frame (video access unit or audio packet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub ts: u32,
    /// Earliest arrival among its packets.
    pub arrival_us: u64,
    pub keyframe: bool,
    pub data: Vec<u8>,
    /// Index of the sequence-number run it came from (a jump starts a new one).
    pub run: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Vp8,
    H264,
    Opus,
}

impl Codec {
    pub fn from_mime(mime: &str) -> Option<Codec> {
        match mime.to_ascii_lowercase().as_str() {
            "video/vp8" => Some(Codec::Vp8),
            "video/h264" => Some(Codec::H264),
            "audio/opus" => Some(Codec::Opus),
            _ => None,
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Depacketized {
    pub frames: Vec<Frame>,
    /// Frames seen (by timestamp) but dropped: a packet missing, or unparseable.
    pub dropped: u64,
    /// Frames before the first keyframe, not usable.
    pub before_keyframe: u64,
}

/// Split ordered packets into frames and depacketize each; video starts at the first
/// keyframe.
pub fn depacketize(codec: Codec, packets: &[Ordered]) -> Depacketized {
    let mut d = Depacketizer::new(codec);
    let mut out = Depacketized::default();
    for o in packets {
        if let Some(f) = d.push(o.clone()) {
            out.frames.push(f);
        }
    }
    out.frames.extend(d.finish());
    out.dropped = d.dropped;
    out.before_keyframe = d.before_keyframe;
    out
}

/// [`depacketize`] one packet at a time (packets in `ext_seq` order): a frame is the
/// consecutive packets with one timestamp and contiguous numbers, ending at the marker
/// bit; packets of the same timestamp after a gap belong to that broken frame too. A
/// frame comes out as soon as it is complete (its marker packet), a broken one when the
/// next frame starts.
#[derive(Debug)]
pub struct Depacketizer {
    codec: Codec,
    group: Vec<Ordered>,
    /// The group is past a gap: it can only end broken.
    broken: bool,
    seen_key: bool,
    /// Frames seen (by timestamp) but dropped: a packet missing, or unparseable.
    pub dropped: u64,
    /// Frames before the first keyframe, not usable.
    pub before_keyframe: u64,
}

impl Depacketizer {
    pub fn new(codec: Codec) -> Self {
        Depacketizer {
            codec,
            group: Vec::new(),
            broken: false,
            seen_key: false,
            dropped: 0,
            before_keyframe: 0,
        }
    }

    /// Take the next packet; a frame if this completed one.
    pub fn push(&mut self, o: Ordered) -> Option<Frame> {
        if self.codec == Codec::Opus {
            if o.pkt.payload.is_empty() {
                return None; // DTX keep-alive or padding only
            }
            if opus_samples(&o.pkt.payload).is_none() {
                self.dropped += 1; // not an Opus packet: a decoder would reject it
                return None;
            }
            return Some(Frame {
                ts: o.pkt.ts,
                arrival_us: o.pkt.arrival_us,
                keyframe: true,
                run: o.ext_seq >> 40,
                data: o.pkt.payload,
            });
        }
        if let Some(last) = self.group.last() {
            if o.pkt.ts != last.pkt.ts {
                // The open frame never saw its marker: broken (nothing comes out of it).
                self.close(false);
            } else if o.ext_seq != last.ext_seq + 1 {
                self.broken = true;
            }
        }
        let marker = o.pkt.marker;
        self.group.push(o);
        if marker {
            return self.close(!self.broken);
        }
        None
    }

    /// The end of the stream: a frame still open is broken.
    pub fn finish(&mut self) -> Option<Frame> {
        if self.codec == Codec::Opus || self.group.is_empty() {
            return None;
        }
        self.close(false)
    }

    fn close(&mut self, complete: bool) -> Option<Frame> {
        self.broken = false;
        if self.group.is_empty() {
            return None;
        }
        let parsed = if complete {
            match self.codec {
                Codec::Vp8 => vp8_frame(&self.group),
                Codec::H264 => h264_frame(&self.group),
                Codec::Opus => None,
            }
        } else {
            None
        };
        let ts = self.group[0].pkt.ts;
        let arrival_us = self
            .group
            .iter()
            .map(|o| o.pkt.arrival_us)
            .min()
            .unwrap_or(0);
        let run = self.group[0].ext_seq >> 40;
        self.group.clear();
        let Some((data, keyframe)) = parsed else {
            if self.seen_key {
                self.dropped += 1;
            }
            return None;
        };
        if !self.seen_key && !keyframe {
            self.before_keyframe += 1;
            return None;
        }
        self.seen_key = true;
        Some(Frame {
            ts,
            arrival_us,
            keyframe,
            data,
            run,
        })
    }
}

/// RFC 7741 payload descriptor: returns (start of partition, partition index, header
/// length).
fn vp8_descriptor(p: &[u8]) -> Option<(bool, u8, usize)> {
    let first = *p.first()?;
    let start = first & 0x10 != 0;
    let pid = first & 0x07;
    let mut i = 1;
    if first & 0x80 != 0 {
        let x = *p.get(1)?;
        i = 2;
        if x & 0x80 != 0 {
            let m = *p.get(i)?;
            i += if m & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1;
        }
        if x & 0x30 != 0 {
            i += 1;
        }
    }
    if i > p.len() {
        return None;
    }
    Some((start, pid, i))
}

/// A VP8 frame from its packets: the first must start partition 0.
fn vp8_frame(group: &[Ordered]) -> Option<(Vec<u8>, bool)> {
    let mut data = Vec::new();
    for (n, o) in group.iter().enumerate() {
        let (start, pid, hdr) = vp8_descriptor(&o.pkt.payload)?;
        if n == 0 && !(start && pid == 0) {
            return None;
        }
        data.extend_from_slice(&o.pkt.payload[hdr..]);
    }
    let keyframe = data.first()? & 0x01 == 0;
    if keyframe && vp8_dimensions(&data).is_none() {
        return None;
    }
    Some((data, keyframe))
}

/// Width and height from a VP8 keyframe's header.
pub fn vp8_dimensions(frame: &[u8]) -> Option<(u32, u32)> {
    if frame.len() < 10 || frame[0] & 0x01 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let h = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    (w > 0 && h > 0).then_some((w as u32, h as u32))
}

pub const NAL_IDR: u8 = 5;
pub const NAL_SPS: u8 = 7;
pub const NAL_PPS: u8 = 8;
const NAL_STAP_A: u8 = 24;
const NAL_FU_A: u8 = 28;
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// An H.264 access unit in Annex-B form from its packets; keyframe when it holds an IDR
/// slice.
fn h264_frame(group: &[Ordered]) -> Option<(Vec<u8>, bool)> {
    let mut data = Vec::new();
    let mut keyframe = false;
    let mut in_fu = false;
    for o in group {
        let p = &o.pkt.payload;
        let hdr = *p.first()?;
        if hdr & 0x80 != 0 {
            return None; // forbidden bit
        }
        match hdr & 0x1f {
            1..=23 => {
                if in_fu {
                    return None;
                }
                keyframe |= hdr & 0x1f == NAL_IDR;
                data.extend_from_slice(&START_CODE);
                data.extend_from_slice(p);
            }
            NAL_STAP_A => {
                if in_fu {
                    return None;
                }
                let mut i = 1;
                while i < p.len() {
                    let size = u16::from_be_bytes([p[i], *p.get(i + 1)?]) as usize;
                    let nal = p.get(i + 2..i + 2 + size)?;
                    if size == 0 {
                        return None;
                    }
                    keyframe |= nal[0] & 0x1f == NAL_IDR;
                    data.extend_from_slice(&START_CODE);
                    data.extend_from_slice(nal);
                    i += 2 + size;
                }
            }
            NAL_FU_A => {
                let fu = *p.get(1)?;
                let (s, e) = (fu & 0x80 != 0, fu & 0x40 != 0);
                if s {
                    if in_fu {
                        return None;
                    }
                    in_fu = true;
                    keyframe |= fu & 0x1f == NAL_IDR;
                    data.extend_from_slice(&START_CODE);
                    data.push((hdr & 0xe0) | (fu & 0x1f));
                } else if !in_fu {
                    return None; // a fragment whose start is missing
                }
                data.extend_from_slice(&p[2..]);
                if e {
                    in_fu = false;
                }
            }
            _ => return None, // STAP-B, MTAP, FU-B: not used by WebRTC
        }
    }
    if in_fu || data.is_empty() {
        return None;
    }
    Some((data, keyframe))
}

/// The NAL units of an Annex-B buffer (without start codes).
pub fn annexb_nals(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut out = Vec::new();
    for (n, &s) in starts.iter().enumerate() {
        let mut end = starts.get(n + 1).map_or(data.len(), |&next| next - 3);
        while end > s && data[end - 1] == 0 {
            end -= 1;
        }
        if end > s {
            out.push(&data[s..end]);
        }
    }
    out
}

struct Bits<'a> {
    data: Vec<u8>,
    pos: usize,
    _src: std::marker::PhantomData<&'a ()>,
}

impl Bits<'_> {
    fn new(nal: &[u8]) -> Self {
        // Remove emulation-prevention bytes (00 00 03).
        let mut data = Vec::with_capacity(nal.len());
        let mut zeros = 0;
        for &b in nal {
            if zeros >= 2 && b == 3 {
                zeros = 0;
                continue;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            data.push(b);
        }
        Bits {
            data,
            pos: 0,
            _src: std::marker::PhantomData,
        }
    }
    fn bit(&mut self) -> Option<u32> {
        let b = *self.data.get(self.pos / 8)?;
        let v = (b >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(v as u32)
    }
    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Some(v)
    }
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some(((1u64 << zeros) - 1 + self.bits(zeros)? as u64).min(u32::MAX as u64) as u32)
    }
    fn se(&mut self) -> Option<i32> {
        let k = self.ue()? as i64;
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -k / 2 } as i32)
    }
}

/// Width and height from an H.264 sequence parameter set (NAL unit incl. header).
pub fn h264_sps_dimensions(sps: &[u8]) -> Option<(u32, u32)> {
    if sps.first()? & 0x1f != NAL_SPS {
        return None;
    }
    let mut b = Bits::new(&sps[1..]);
    let profile = b.bits(8)?;
    b.bits(16)?; // constraint flags, level
    b.ue()?; // sps id
    let mut chroma = 1;
    if matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma = b.ue()?;
        if chroma == 3 {
            b.bit()?;
        }
        b.ue()?;
        b.ue()?;
        b.bit()?;
        if b.bit()? == 1 {
            for i in 0..if chroma == 3 { 12 } else { 8 } {
                if b.bit()? == 1 {
                    let size = if i < 6 { 16 } else { 64 };
                    let (mut last, mut next) = (8i32, 8i32);
                    for _ in 0..size {
                        if next != 0 {
                            next = (last + b.se()? + 256) % 256;
                        }
                        last = if next == 0 { last } else { next };
                    }
                }
            }
        }
    }
    b.ue()?; // log2_max_frame_num
    match b.ue()? {
        0 => {
            b.ue()?;
        }
        1 => {
            b.bit()?;
            b.se()?;
            b.se()?;
            for _ in 0..b.ue()?.min(255) {
                b.se()?;
            }
        }
        _ => {}
    }
    b.ue()?; // max_num_ref_frames
    b.bit()?;
    let w_mbs = b.ue()? as u64 + 1;
    let h_units = b.ue()? as u64 + 1;
    let frame_mbs_only = b.bit()? as u64;
    if frame_mbs_only == 0 {
        b.bit()?;
    }
    b.bit()?;
    let (mut l, mut r, mut t, mut bo) = (0u64, 0u64, 0u64, 0u64);
    if b.bit()? == 1 {
        l = b.ue()? as u64;
        r = b.ue()? as u64;
        t = b.ue()? as u64;
        bo = b.ue()? as u64;
    }
    let (cx, cy) = match chroma {
        1 => (2, 2 * (2 - frame_mbs_only)),
        2 => (2, 2 - frame_mbs_only),
        _ => (1, 2 - frame_mbs_only),
    };
    let w = (w_mbs * 16).checked_sub(cx * (l + r))?;
    let h = ((2 - frame_mbs_only) * h_units * 16).checked_sub(cy * (t + bo))?;
    (w > 0 && h > 0 && w < 1 << 16 && h < 1 << 16).then_some((w as u32, h as u32))
}

/// Duration of an Opus packet in 48 kHz samples, from its TOC byte (RFC 6716 §3.1);
/// `None` when it cannot be an Opus packet (no frames, or more than 120 ms).
pub fn opus_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][(config % 4) as usize],
        12..=15 => [480, 960][(config % 2) as usize],
        _ => [120, 240, 480, 960][(config % 4) as usize],
    };
    let count = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => (*packet.get(1)? & 0x3f) as u32,
    };
    (count > 0 && frame * count <= 5760).then_some(frame * count)
}

// ---- Timestamps -----------------------------------------------------------------------

/// A timestamp difference larger than this from what the arrival times say is a jump
/// in the sender's RTP clock: the frames after it are anchored afresh.
const TS_JUMP_US: i64 = 3_000_000;

/// What the clock mapping needs of a frame: its RTP timestamp, arrival and run.
pub trait Timed {
    fn ts(&self) -> u32;
    fn arrival_us(&self) -> u64;
    fn run(&self) -> u64;
}

impl Timed for Frame {
    fn ts(&self) -> u32 {
        self.ts
    }
    fn arrival_us(&self) -> u64 {
        self.arrival_us
    }
    fn run(&self) -> u64 {
        self.run
    }
}

/// A frame's timing without its data (what a first pass over a recording keeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameTime {
    pub ts: u32,
    pub arrival_us: u64,
    pub run: u64,
}

impl From<&Frame> for FrameTime {
    fn from(f: &Frame) -> Self {
        FrameTime {
            ts: f.ts,
            arrival_us: f.arrival_us,
            run: f.run,
        }
    }
}

impl Timed for FrameTime {
    fn ts(&self) -> u32 {
        self.ts
    }
    fn arrival_us(&self) -> u64 {
        self.arrival_us
    }
    fn run(&self) -> u64 {
        self.run
    }
}

/// NTP (32.32 fixed point, seconds since 1900) to microseconds.
pub fn ntp_to_us(ntp: u64) -> u64 {
    let secs = ntp >> 32;
    let frac = ntp & 0xffff_ffff;
    secs * 1_000_000 + ((frac * 1_000_000) >> 32)
}

/// Map each frame's RTP timestamp to the sender's clock (µs), from the sender reports
/// that arrived with the stream. `None` for a frame when no report applies (or the
/// report contradicts the arrival times, e.g. after a timestamp jump).
pub fn sender_times<F: Timed>(
    frames: &[F],
    srs: &[(u64, SenderReportRecord)],
    clock_rate: u32,
) -> Vec<Option<i64>> {
    if srs.is_empty() || clock_rate == 0 {
        return vec![None; frames.len()];
    }
    frames
        .iter()
        .map(|f| {
            // The latest report that arrived before the frame, else the first one.
            let sr = srs
                .iter()
                .rev()
                .find(|(at, _)| *at <= f.arrival_us())
                .unwrap_or(&srs[0])
                .1;
            let d = f.ts().wrapping_sub(sr.rtp_time) as i32 as i64;
            Some(ntp_to_us(sr.ntp_time) as i64 + d * 1_000_000 / clock_rate as i64)
        })
        .collect()
}

/// Wall-clock time (µs, the recording's clock) of each frame from its RTP timestamp,
/// anchored on arrival times: the RTP clock is unwrapped, and a jump (a timestamp step
/// that the arrival times do not show) starts a new anchor. Each anchor is the earliest
/// arrival relative to the RTP clock, so network jitter does not shift the stream.
pub fn arrival_times<F: Timed>(frames: &[F], clock_rate: u32) -> Vec<i64> {
    let clock = clock_rate.max(1) as i64;
    let mut epochs: Vec<(usize, usize)> = Vec::new(); // [start, end) per anchor
    let mut rel = Vec::with_capacity(frames.len()); // µs since the epoch's first frame
    let mut prev: Option<&F> = None;
    let mut ext: i64 = 0;
    for (i, f) in frames.iter().enumerate() {
        let new_epoch = match prev {
            None => true,
            Some(p) => {
                let d_ts = f.ts().wrapping_sub(p.ts()) as i32 as i64 * 1_000_000 / clock;
                let d_arr = f.arrival_us() as i64 - p.arrival_us() as i64;
                if f.run() != p.run() || (d_ts - d_arr).abs() > TS_JUMP_US {
                    true
                } else {
                    ext += d_ts;
                    false
                }
            }
        };
        if new_epoch {
            if let Some(last) = epochs.last_mut() {
                last.1 = i;
            }
            epochs.push((i, frames.len()));
            ext = 0;
        }
        rel.push(ext);
        prev = Some(f);
    }
    let mut out = vec![0i64; frames.len()];
    for (s, e) in epochs {
        let anchor = (s..e)
            .map(|i| frames[i].arrival_us() as i64 - rel[i])
            .min()
            .unwrap_or(0);
        for i in s..e {
            out[i] = anchor + rel[i];
        }
    }
    out
}

/// One stream's frames with their sender-clock times (from [`sender_times`]).
pub struct StreamTimes<'a, F: Timed = Frame> {
    pub frames: &'a [F],
    pub sender: Vec<Option<i64>>,
    pub clock_rate: u32,
}

/// Wall-clock times for the frames of one sender's tracks: sender-report times shifted
/// onto the recording's clock by one offset for the whole sender (so its streams stay in
/// sync as the sender's clock says), falling back to arrival anchoring per frame where
/// no report applies.
pub fn wall_times<F: Timed>(tracks: &[StreamTimes<F>]) -> Vec<Vec<i64>> {
    wall_times_counted(tracks).0
}

/// [`wall_times`], and for each track how many of its frames were timed by a sender
/// report (the rest fell back to arrival anchoring).
pub fn wall_times_counted<F: Timed>(tracks: &[StreamTimes<F>]) -> (Vec<Vec<i64>>, Vec<u64>) {
    // Offset sender clock → recording clock: the smallest (arrival − sender time), i.e.
    // the least-delayed frame.
    let offset = tracks
        .iter()
        .flat_map(|t| {
            t.frames
                .iter()
                .zip(&t.sender)
                .filter_map(|(f, s)| s.map(|s| f.arrival_us() as i64 - s))
        })
        .min();
    let mut counts = Vec::with_capacity(tracks.len());
    let times = tracks
        .iter()
        .map(|t| {
            let fallback = arrival_times(t.frames, t.clock_rate);
            let mut by_sender = 0u64;
            let times = t
                .frames
                .iter()
                .zip(&t.sender)
                .zip(fallback)
                .map(|((f, s), fb)| match (s, offset) {
                    (Some(s), Some(o)) if (s + o - f.arrival_us() as i64).abs() <= TS_JUMP_US => {
                        by_sender += 1;
                        s + o
                    }
                    _ => fb,
                })
                .collect();
            counts.push(by_sender);
            times
        })
        .collect();
    (times, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(seq: u16, ts: u32, marker: bool, payload: &[u8]) -> RtpPacket {
        RtpPacket {
            seq,
            ts,
            marker,
            ssrc: 1,
            arrival_us: seq as u64 * 1000,
            payload: payload.to_vec(),
        }
    }

    /// A VP8 keyframe header for 320×240 followed by `rest`.
    fn vp8_key(rest: &[u8]) -> Vec<u8> {
        let mut v = vec![
            0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00,
        ];
        // descriptor 0x10 (S=1, PID 0), then frame tag (keyframe bit 0) …
        v.extend_from_slice(rest);
        v
    }

    #[test]
    fn order_unwraps_sequence_numbers_and_drops_duplicates() {
        let seqs = [65534u16, 65535, 1, 0, 0, 2];
        let ordered = order(seqs.iter().map(|&s| pkt(s, 0, false, b"x")).collect());
        let got: Vec<u16> = ordered.iter().map(|o| o.pkt.seq).collect();
        assert_eq!(got, vec![65534, 65535, 0, 1, 2]);
        assert!(ordered.windows(2).all(|w| w[1].ext_seq == w[0].ext_seq + 1));
    }

    /// Everything through an `Orderer`, released `window` packets behind the newest.
    fn order_streamed(packets: Vec<RtpPacket>, window_us: u64) -> Vec<Ordered> {
        let mut o = Orderer::default();
        let mut out = Vec::new();
        for p in packets {
            let newest = p.arrival_us;
            o.push(p);
            while let Some(x) = o.pop(newest.saturating_sub(window_us)) {
                out.push(x);
            }
        }
        while let Some(x) = o.pop(u64::MAX) {
            out.push(x);
        }
        assert!(o.is_empty());
        out
    }

    #[test]
    fn the_streaming_orderer_matches_order_within_its_window() {
        // Reordered, duplicated, wrapping, and a jump to a new run (arrival 1 ms apart).
        let seqs = [
            65530u16, 65532, 65531, 65533, 65533, 65535, 65534, 0, 2, 1, 3, 40_000, 40_001, 40_003,
            40_002,
        ];
        let packets: Vec<RtpPacket> = seqs.iter().map(|&s| pkt(s, 0, false, b"x")).collect();
        // Arrival = seq × 1 ms in `pkt`: make it arrival order instead.
        let packets: Vec<RtpPacket> = packets
            .into_iter()
            .enumerate()
            .map(|(i, mut p)| {
                p.arrival_us = i as u64 * 1000;
                p
            })
            .collect();
        let batch = order(packets.clone());
        assert_eq!(order_streamed(packets.clone(), 5_000), batch);
        // A packet later than the window is dropped, not put out of order.
        let late = order_streamed(packets, 0);
        assert!(late.windows(2).all(|w| w[0].ext_seq < w[1].ext_seq));
        assert!(late.len() < batch.len());
    }

    #[test]
    fn depacketizing_one_packet_at_a_time_gives_the_same_frames() {
        let key = vp8_key(b"K");
        let packets = vec![
            pkt(1, 3000, false, &key),
            pkt(2, 3000, true, b"\x00k"),
            pkt(3, 6000, false, b"\x10\x01a"), // lost 4: broken
            pkt(5, 6000, true, b"\x00c"),
            pkt(6, 9000, true, b"\x10\x01d"),
            pkt(7, 12000, false, b"\x10\x01e"), // no marker, next ts: broken
            pkt(8, 15000, true, b"\x10\x01f"),
            pkt(9, 18000, false, b"\x10\x01g"), // open at the end
        ];
        let ordered = order(packets);
        let batch = depacketize(Codec::Vp8, &ordered);
        let mut d = Depacketizer::new(Codec::Vp8);
        let mut frames: Vec<Frame> = ordered.iter().filter_map(|o| d.push(o.clone())).collect();
        frames.extend(d.finish());
        assert_eq!(frames, batch.frames);
        assert_eq!(frames.len(), 3);
        assert_eq!(
            (d.dropped, d.before_keyframe),
            (batch.dropped, batch.before_keyframe)
        );
        assert_eq!(d.dropped, 3);
    }

    #[test]
    fn a_sequence_jump_starts_a_new_run_after_the_old_one() {
        let seqs = [100u16, 101, 40_000, 40_001, 102];
        let ordered = order(seqs.iter().map(|&s| pkt(s, 0, false, b"x")).collect());
        let got: Vec<u16> = ordered.iter().map(|o| o.pkt.seq).collect();
        // 102 after the jump is a jump back: a third run.
        assert_eq!(got, vec![100, 101, 40_000, 40_001, 102]);
        assert_eq!(ordered[2].ext_seq >> 40, 1);
    }

    #[test]
    fn vp8_partitions_across_packets_make_one_frame_and_the_keyframe_is_seen() {
        let first = vp8_key(b"AAA");
        let packets = vec![
            pkt(10, 3000, false, &first),
            pkt(11, 3000, false, b"\x00BBB"), // continuation (S=0)
            pkt(12, 3000, true, b"\x01CCC"),  // partition 1, S=0
            // A delta frame with an extended descriptor (X, I with 2-byte PictureID).
            pkt(13, 6000, true, &[0x90, 0x80, 0x81, 0x23, 0x01, b'D']),
        ];
        let d = depacketize(Codec::Vp8, &order(packets));
        assert_eq!(d.frames.len(), 2);
        assert!(d.frames[0].keyframe);
        assert_eq!(
            &d.frames[0].data[..],
            &[&first[1..], b"BBB", b"CCC"].concat()[..]
        );
        assert_eq!(vp8_dimensions(&d.frames[0].data), Some((320, 240)));
        assert!(!d.frames[1].keyframe);
        assert_eq!(d.frames[1].data, vec![0x01, b'D']);
    }

    #[test]
    fn a_missing_packet_drops_its_frame_and_video_starts_at_a_keyframe() {
        let packets = vec![
            pkt(1, 1000, true, &[0x10, 0x01, b'p']), // delta before any keyframe
            pkt(2, 2000, false, &vp8_key(b"k")),
            pkt(3, 2000, true, b"\x00k"),
            pkt(4, 3000, false, &[0x10, 0x01, b'a']),
            // 5 is lost
            pkt(6, 3000, true, b"\x00b"),
            pkt(7, 4000, true, &[0x10, 0x01, b'c']),
            pkt(8, 5000, false, &[0x10, 0x01, b'd']), // no marker: ends unfinished
        ];
        let d = depacketize(Codec::Vp8, &order(packets));
        assert_eq!(d.before_keyframe, 1);
        let ts: Vec<u32> = d.frames.iter().map(|f| f.ts).collect();
        assert_eq!(ts, vec![2000, 4000]);
        assert_eq!(d.dropped, 2);
    }

    #[test]
    fn h264_single_stap_a_and_fu_a_reassemble_into_annex_b() {
        let sps = [0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10];
        let pps = [0x68, 0xce, 0x3c, 0x80];
        let mut stap = vec![0x78];
        for nal in [&sps[..], &pps[..]] {
            stap.extend_from_slice(&(nal.len() as u16).to_be_bytes());
            stap.extend_from_slice(nal);
        }
        // IDR (0x65) split in three FU-A fragments.
        let fu_ind = 0x60 | 28;
        let packets = vec![
            pkt(100, 9000, false, &stap),
            pkt(101, 9000, false, &[fu_ind, 0x80 | 5, 1, 2]),
            pkt(102, 9000, false, &[fu_ind, 5, 3, 4]),
            pkt(103, 9000, true, &[fu_ind, 0x40 | 5, 5]),
            pkt(104, 12000, true, &[0x41, 9, 9]), // single NAL, non-IDR slice
            // A fragmented frame whose middle is lost: dropped.
            pkt(105, 15000, false, &[0x5c, 0x81, 7]),
            pkt(107, 15000, true, &[0x5c, 0x41, 7]),
        ];
        let d = depacketize(Codec::H264, &order(packets));
        assert_eq!(d.frames.len(), 2);
        assert!(d.frames[0].keyframe);
        let expected = [
            &START_CODE[..],
            &sps,
            &START_CODE,
            &pps,
            &START_CODE,
            &[0x65, 1, 2, 3, 4, 5],
        ]
        .concat();
        assert_eq!(d.frames[0].data, expected);
        let nals = annexb_nals(&d.frames[0].data);
        assert_eq!(nals.len(), 3);
        assert_eq!(nals[0], &sps);
        assert!(!d.frames[1].keyframe);
        assert_eq!(d.frames[1].data, [&START_CODE[..], &[0x41, 9, 9]].concat());
        assert_eq!(d.dropped, 1);
    }

    #[test]
    fn fu_a_without_its_start_or_end_is_dropped() {
        let fu = 0x7c;
        let d = depacketize(
            Codec::H264,
            &order(vec![
                pkt(1, 10, true, &[0x65, 1]),
                pkt(2, 20, true, &[fu, 0x01, 1]), // middle fragment alone
                pkt(3, 30, true, &[fu, 0x81, 1]), // start, never ended
                pkt(4, 40, true, &[0x41, 1]),
            ]),
        );
        assert_eq!(
            d.frames.iter().map(|f| f.ts).collect::<Vec<_>>(),
            vec![10, 40]
        );
        assert_eq!(d.dropped, 2);
    }

    #[test]
    fn sps_dimensions() {
        // From x264: baseline 640x480; high 1280x720; baseline 320x180 (cropped).
        let sps = [
            0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x3d, 0xb0, 0x11, 0x00, 0x00, 0x03, 0x00,
            0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x0f, 0x16, 0x2e, 0x48,
        ];
        assert_eq!(h264_sps_dimensions(&sps), Some((640, 480)));
        let sps = [
            0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00,
            0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60,
        ];
        assert_eq!(h264_sps_dimensions(&sps), Some((1280, 720)));
        let sps = [
            0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0x9f, 0x9f, 0x01, 0x10, 0x00, 0x00, 0x03,
            0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0xa4, 0x80,
        ];
        assert_eq!(h264_sps_dimensions(&sps), Some((320, 180)));
        assert_eq!(h264_sps_dimensions(&[0x67]), None);
        assert_eq!(h264_sps_dimensions(&[0x68, 1, 2]), None);
    }

    #[test]
    fn opus_durations_and_one_packet_per_frame() {
        assert_eq!(opus_samples(&[0xfc]), Some(960)); // CELT 20 ms, one frame
        assert_eq!(opus_samples(&[0x78]), Some(960)); // hybrid 20 ms
        assert_eq!(opus_samples(&[0x1b, 0x02]), Some(2880 * 2)); // 2 × 60 ms
        assert_eq!(opus_samples(&[0x1b, 0x03]), None); // 180 ms: too long
        assert_eq!(opus_samples(&[0x03, 0x00]), None); // no frames
        let d = depacketize(
            Codec::Opus,
            &order(vec![
                pkt(5, 960, true, b"\xfcb"),
                pkt(4, 0, true, b"\xfca"),
                pkt(6, 1920, false, b""),
                pkt(7, 2880, false, b"OpusTags"), // 48 × 20 ms: not Opus
            ]),
        );
        assert_eq!(d.dropped, 1);
        assert_eq!(
            d.frames.iter().map(|f| f.ts).collect::<Vec<_>>(),
            vec![0, 960]
        );
    }

    fn frame(ts: u32, arrival_us: u64, run: u64) -> Frame {
        Frame {
            ts,
            arrival_us,
            keyframe: true,
            data: vec![],
            run,
        }
    }

    #[test]
    fn arrival_anchoring_follows_the_rtp_clock_and_survives_jumps_and_wrap() {
        // 90 kHz, 33 ms frames, arrival jitter; RTP wraps; then a jump of 10^9 ticks.
        let base = u32::MAX - 3000;
        let frames = vec![
            frame(base, 1_000_500, 0), // delayed 500 µs
            frame(base.wrapping_add(3000), 1_033_333, 0),
            frame(base.wrapping_add(6000), 1_066_900, 0),
            frame(base.wrapping_add(1_000_000_000), 1_100_000, 0),
            frame(base.wrapping_add(1_000_003_000), 1_133_333, 0),
        ];
        let t = arrival_times(&frames, 90_000);
        assert_eq!(t[0], 1_000_000);
        assert_eq!(t[1], 1_033_333);
        assert_eq!(t[2], 1_066_666);
        assert_eq!(t[3], 1_100_000);
        assert_eq!(t[4], 1_133_333);
    }

    #[test]
    fn sender_reports_keep_two_streams_in_sync_despite_different_arrival() {
        // Audio (48 kHz) and video (90 kHz) with the same sender clock; the video's
        // packets arrive 200 ms late (a network queue), which the reports reveal.
        let ntp = |us: u64| ((us / 1_000_000) << 32) | (((us % 1_000_000) << 32) / 1_000_000);
        let sr = |rtp: u32, us: u64| SenderReportRecord {
            ssrc: 1,
            ntp_time: ntp(us),
            rtp_time: rtp,
            packet_count: 0,
            octet_count: 0,
        };
        let sender0 = 5_000_000_000u64; // sender clock at the start
        let audio: Vec<Frame> = (0..50)
            .map(|i| frame(1000 + i * 960, 10_000_000 + i as u64 * 20_000, 0))
            .collect();
        let video: Vec<Frame> = (0..30)
            .map(|i| frame(7000 + i * 3000, 10_200_000 + i as u64 * 33_333, 0))
            .collect();
        let a_srs = vec![(0u64, sr(1000, sender0))];
        let v_srs = vec![(0u64, sr(7000, sender0))];
        let ast = sender_times(&audio, &a_srs, 48_000);
        let vst = sender_times(&video, &v_srs, 90_000);
        let st = |frames, sender, clock_rate| StreamTimes {
            frames,
            sender,
            clock_rate,
        };
        let w = wall_times(&[st(&audio, ast, 48_000), st(&video, vst, 90_000)]);
        // The first audio and video frames were captured at the same instant.
        assert_eq!(w[0][0], w[1][0]);
        assert_eq!(w[0][0], 10_000_000);
        // Without reports, each stream anchors on its own arrival: 200 ms apart.
        let w = wall_times(&[
            st(&audio, vec![None; 50], 48_000),
            st(&video, vec![None; 30], 90_000),
        ]);
        assert_eq!(w[1][0] - w[0][0], 200_000);
        assert_eq!(ntp_to_us(ntp(1_234_567)), 1_234_566);
    }
}
