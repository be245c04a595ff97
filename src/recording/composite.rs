//! The composite hearing file: one `hearing.mp4` of the whole hearing (H.264 by libx264 +
//! AAC, `+faststart` so it plays while downloading), every participant in a gallery tile
//! labelled with role and name, the server clock (Beijing time) burned in, and one MP4
//! chapter per hearing phase.
//!
//! The timeline is the recording's wall clock from the manifest's first to last record,
//! so the file lasts as long as the hearing. Each participant's media comes from
//! `remux::plan` (the same depacketizing and wall-clock mapping as the per-participant
//! files, so audio and video stay in sync): a first pass times every frame, then the
//! recording is read again a segment at a time while the file is written, so memory
//! stays bounded however long the hearing (a few bytes per frame plus about a segment
//! read ahead). Video is decoded (VP8 / H.264), scaled into its tile (swscale) and held
//! until the next frame; a tile with no
//! picture for more than [`FREEZE_US`] (not joined yet, left, reconnecting, no keyframe)
//! shows a placeholder with the label; audio is decoded (Opus), resampled to 48 kHz
//! stereo (swresample), placed at its wall-clock time, summed with clipping and encoded.
//! Text is rasterized here (ab_glyph, Noto Sans CJK) onto the YUV planes.

use super::depacketize::Codec;
use super::layout::{self, Rect};
use super::manifest::Manifest;
use super::remux::{self, Person, StreamPlan, TimedFrame};
use super::seal::MANIFEST;
use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};
use anyhow::{Context, Result, anyhow, bail};
use ffmpeg::format::Pixel;
use ffmpeg::format::sample::{Sample, Type as SampleType};
use ffmpeg::{ChannelLayout, Dictionary, Rational, codec, decoder, encoder, frame};
use ffmpeg_next as ffmpeg;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::{Path, PathBuf};

pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 720;
pub const FPS: i32 = 25;
const RATE: i64 = 48_000;
/// How long a tile keeps showing the last picture before the placeholder.
pub const FREEZE_US: i64 = 2_000_000;
pub const DEFAULT_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

#[derive(Debug, Clone, Default)]
pub struct CompositeOptions {
    /// The CJK font for labels and the clock (else `YUNTING_CJK_FONT`, else
    /// [`DEFAULT_FONT`]). Without a usable font the file is written without text.
    pub font: Option<PathBuf>,
    /// libx264 preset (default [`PRESET`]).
    pub preset: Option<String>,
    /// libx264 parameters on top of the preset (default [`X264_PARAMS`] with the default
    /// preset, none with another).
    pub x264_params: Option<String>,
}

/// libx264 preset, quality and tuning. `veryfast` with the cheapest motion search
/// (`me=dia:subme=1`) costs about 30 % less CPU than plain `veryfast` at the same SSIM and
/// 6 % more bytes on the benchmark's 4 × 640×360 gallery (see docs/performance.md).
pub const PRESET: &str = "veryfast";
pub const CRF: &str = "26";
pub const X264_PARAMS: &str = "me=dia:subme=1";

#[derive(Debug, Clone, Default)]
pub struct CompositeReport {
    pub path: PathBuf,
    /// Wall-clock span of the hearing (µs) and what was written.
    pub span_us: u64,
    pub video_frames: u64,
    pub audio_samples: u64,
    pub participants: usize,
    pub chapters: usize,
    pub notes: Vec<String>,
    /// How each participant stream was put on the wall clock (sender reports or arrival).
    pub sync: Vec<remux::StreamSync>,
}

impl CompositeReport {
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "wrote {} ({:.1} s; {} participants; {} video frames; {:.1} s of audio; {} chapters)",
            self.path.display(),
            self.span_us as f64 / 1e6,
            self.participants,
            self.video_frames,
            self.audio_samples as f64 / RATE as f64,
            self.chapters
        )];
        out.extend(self.notes.iter().map(|n| format!("composite note: {n}")));
        out
    }
}

/// Write the composite hearing file of the sealed recording in `recording_dir` to `out`.
pub fn hearing_file(recording_dir: &Path, out: &Path) -> Result<CompositeReport> {
    hearing_file_with(recording_dir, out, &CompositeOptions::default())
}

pub fn hearing_file_with(
    recording_dir: &Path,
    out: &Path,
    opts: &CompositeOptions,
) -> Result<CompositeReport> {
    hearing_file_with_progress(recording_dir, out, opts, &mut |_| {})
}

/// As [`hearing_file_with`], telling `progress` the share of the timeline written
/// (0.0–1.0) once a second of output.
pub fn hearing_file_with_progress(
    recording_dir: &Path,
    out: &Path,
    opts: &CompositeOptions,
    progress: &mut dyn FnMut(f32),
) -> Result<CompositeReport> {
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(recording_dir.join(MANIFEST))
            .with_context(|| format!("{}: no manifest (not sealed)", recording_dir.display()))?,
    )
    .context("unreadable manifest")?;
    if manifest.last_us <= manifest.first_us {
        bail!("the recording is empty");
    }
    // First pass: who is in it and every frame's wall-clock time; the media is read again,
    // a segment at a time, while the file is written.
    let plan = remux::plan(recording_dir)?;
    let remux_report = &plan.report;
    // The file covers the hearing on the wall clock, from the first join to the end,
    // with placeholders where nobody was sending yet.
    let (span_first, span_last) =
        layout::hearing_span(&manifest.events, manifest.first_us, manifest.last_us);
    let mut report = CompositeReport {
        path: out.to_path_buf(),
        span_us: span_last - span_first,
        notes: remux_report.notes.clone(),
        sync: remux_report.sync.clone(),
        ..Default::default()
    };
    report.notes.extend(
        remux_report
            .skipped
            .iter()
            .map(|s| format!("left out: {s}")),
    );
    ffmpeg::init().context("initialising FFmpeg")?;
    ffmpeg::log::set_level(ffmpeg::log::Level::Error);

    let font = load_font(opts, &mut report.notes);
    let mut people = plan.people.clone();
    if people.len() > layout::MAX_TILES {
        report.notes.push(format!(
            "{} participants: only the first {} are shown",
            people.len(),
            layout::MAX_TILES
        ));
        people.truncate(layout::MAX_TILES);
    }
    report.participants = people.len();
    let chapters = layout::chapters(&manifest.events, span_first, span_last);
    let result = write(
        &manifest,
        &plan,
        &people,
        &chapters,
        font.as_ref(),
        opts,
        out,
        &mut report,
        progress,
    );
    if let Err(e) = result {
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    report.chapters = chapters.len();
    Ok(report)
}

fn load_font(opts: &CompositeOptions, notes: &mut Vec<String>) -> Option<FontVec> {
    let path = opts
        .font
        .clone()
        .or_else(|| std::env::var_os("YUNTING_CJK_FONT").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_FONT));
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            notes.push(format!(
                "font {} unreadable ({e}): no labels or clock",
                path.display()
            ));
            return None;
        }
    };
    // Noto Sans CJK collections: index 2 is the Simplified Chinese face.
    let font = FontVec::try_from_vec_and_index(data.clone(), 2)
        .or_else(|_| FontVec::try_from_vec_and_index(data, 0));
    match font {
        Ok(f) => Some(f),
        Err(e) => {
            notes.push(format!(
                "font {} unusable ({e}): no labels or clock",
                path.display()
            ));
            None
        }
    }
}

// --- text ---------------------------------------------------------------------------

/// A line of text as coverage (0–255), `w`×`h`.
struct Mask {
    w: u32,
    h: u32,
    data: Vec<u8>,
}

fn render(font: &FontVec, text: &str, px: f32) -> Mask {
    let scale = PxScale::from(px);
    let sf = font.as_scaled(scale);
    let ascent = sf.ascent();
    let h = (sf.ascent() - sf.descent()).ceil().max(1.0) as u32;
    let mut x = 0.0f32;
    let mut glyphs = Vec::new();
    for c in text.chars() {
        let id = sf.glyph_id(c);
        glyphs.push(id.with_scale_and_position(scale, point(x, ascent)));
        x += sf.h_advance(id);
    }
    let w = x.ceil().max(1.0) as u32;
    let mut data = vec![0u8; (w * h) as usize];
    for g in glyphs {
        if let Some(o) = font.outline_glyph(g) {
            let b = o.px_bounds();
            o.draw(|gx, gy, cov| {
                let px = b.min.x as i32 + gx as i32;
                let py = b.min.y as i32 + gy as i32;
                if px >= 0 && py >= 0 && (px as u32) < w && (py as u32) < h {
                    let i = (py as u32 * w + px as u32) as usize;
                    data[i] = data[i].max((cov.clamp(0.0, 1.0) * 255.0) as u8);
                }
            });
        }
    }
    Mask { w, h, data }
}

// --- the canvas -----------------------------------------------------------------------

/// A YUV 4:2:0 picture in plain buffers (no padding).
struct Canvas {
    w: u32,
    h: u32,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Canvas {
        Canvas {
            w,
            h,
            y: vec![16; (w * h) as usize],
            u: vec![128; (w * h / 4) as usize],
            v: vec![128; (w * h / 4) as usize],
        }
    }

    fn fill(&mut self, r: Rect, (y, u, v): (u8, u8, u8)) {
        for row in r.y..(r.y + r.h).min(self.h) {
            let s = (row * self.w + r.x) as usize;
            self.y[s..s + r.w.min(self.w - r.x) as usize].fill(y);
        }
        let cw = self.w / 2;
        for row in r.y / 2..((r.y + r.h) / 2).min(self.h / 2) {
            let s = (row * cw + r.x / 2) as usize;
            let n = (r.w / 2).min(cw - r.x / 2) as usize;
            self.u[s..s + n].fill(u);
            self.v[s..s + n].fill(v);
        }
    }

    /// Copy a picture (its planes, with their strides) into `r` (same size as the picture).
    fn blit(&mut self, r: Rect, pic: &frame::Video) {
        let cw = self.w as usize / 2;
        for (plane, (dst, dw, div)) in [
            (&mut self.y, self.w as usize, 1usize),
            (&mut self.u, cw, 2),
            (&mut self.v, cw, 2),
        ]
        .into_iter()
        .enumerate()
        {
            let stride = pic.stride(plane);
            let src = pic.data(plane);
            let (w, h) = (r.w as usize / div, r.h as usize / div);
            let (x0, y0) = (r.x as usize / div, r.y as usize / div);
            for row in 0..h {
                let d = (y0 + row) * dw + x0;
                let s = row * stride;
                if s + w <= src.len() && d + w <= dst.len() {
                    dst[d..d + w].copy_from_slice(&src[s..s + w]);
                }
            }
        }
    }

    /// Text at (x, y) over a darkened box, clipped to `clip`.
    fn text(&mut self, m: &Mask, x: i32, y: i32, clip: Rect) {
        let pad = 4i32;
        let bx0 = (x - pad).max(clip.x as i32) & !1;
        let by0 = (y - pad).max(clip.y as i32) & !1;
        let bx1 = (x + m.w as i32 + pad).min((clip.x + clip.w) as i32);
        let by1 = (y + m.h as i32 + pad).min((clip.y + clip.h) as i32);
        if bx1 <= bx0 || by1 <= by0 {
            return;
        }
        let dark = |v: u8, mid: i32| (mid + (v as i32 - mid) * 2 / 5) as u8;
        for py in by0..by1 {
            for px in bx0..bx1 {
                let i = (py as u32 * self.w + px as u32) as usize;
                let mut val = dark(self.y[i], 16);
                let (mx, my) = (px - x, py - y);
                if mx >= 0 && my >= 0 && (mx as u32) < m.w && (my as u32) < m.h {
                    let a = m.data[(my as u32 * m.w + mx as u32) as usize] as i32;
                    val = (val as i32 + (235 - val as i32) * a / 255) as u8;
                }
                self.y[i] = val;
            }
        }
        let cw = self.w / 2;
        for py in by0 / 2..by1 / 2 {
            for px in bx0 / 2..bx1 / 2 {
                let i = (py as u32 * cw + px as u32) as usize;
                self.u[i] = dark(self.u[i], 128);
                self.v[i] = dark(self.v[i], 128);
            }
        }
    }

    fn to_frame(&self, f: &mut frame::Video) {
        let cw = self.w as usize / 2;
        for (plane, (src, w, h)) in [
            (&self.y, self.w as usize, self.h as usize),
            (&self.u, cw, self.h as usize / 2),
            (&self.v, cw, self.h as usize / 2),
        ]
        .into_iter()
        .enumerate()
        {
            let stride = f.stride(plane);
            let dst = f.data_mut(plane);
            for row in 0..h {
                dst[row * stride..row * stride + w].copy_from_slice(&src[row * w..row * w + w]);
            }
        }
    }
}

// --- per-participant state ----------------------------------------------------------

/// A compressed frame waiting for its time: ordered by wall clock, then by when it came
/// out of the recording.
struct Queued {
    wall: i64,
    seq: u64,
    track: u16,
    codec: Codec,
    data: Vec<u8>,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.wall, self.seq) == (other.wall, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.wall, self.seq).cmp(&(other.wall, other.seq))
    }
}

/// Frames read ahead of the composite's clock, earliest first.
type Queue = BinaryHeap<Reverse<Queued>>;

struct Tile {
    rect: Rect,
    label: Option<Mask>,
    video: Queue,
    decoders: HashMap<u16, decoder::Video>,
    /// The latest decoded picture, scaled into `fit` (the buffer is reused).
    picture: Option<(Rect, frame::Video)>,
    picture_wall: i64,
    /// Pictures decoded.
    pictures: u64,
    scaler: Option<(
        Pixel,
        u32,
        u32,
        u32,
        u32,
        ffmpeg::software::scaling::Context,
    )>,
    audio: Queue,
    audio_decoders: HashMap<u16, AudioTrack>,
}

struct AudioTrack {
    decoder: decoder::Audio,
    resampler: Option<ffmpeg::software::resampling::Context>,
    /// Where the next frame goes if it arrives on time (absolute sample index).
    next_pos: Option<i64>,
}

fn video_decoder(c: Codec) -> Result<decoder::Video> {
    let id = match c {
        Codec::H264 => codec::Id::H264,
        _ => codec::Id::VP8,
    };
    let dc = decoder::find(id).ok_or_else(|| anyhow!("no {id:?} decoder"))?;
    Ok(codec::context::Context::new_with_codec(dc)
        .decoder()
        .open_as(dc)?
        .video()?)
}

fn opus_decoder() -> Result<decoder::Audio> {
    let dc = decoder::find(codec::Id::OPUS).ok_or_else(|| anyhow!("no Opus decoder"))?;
    let mut ctx = codec::context::Context::new_with_codec(dc);
    unsafe {
        let p = ctx.as_mut_ptr();
        (*p).sample_rate = RATE as i32;
        ffmpeg::ffi::av_channel_layout_default(&mut (*p).ch_layout, 2);
    }
    Ok(ctx.decoder().open_as(dc)?.audio()?)
}

/// Mixed audio not yet encoded: stereo f32 from absolute sample `base`.
struct Mix {
    base: i64,
    l: Vec<f32>,
    r: Vec<f32>,
}

impl Mix {
    fn add(&mut self, pos: i64, l: &[f32], r: &[f32]) {
        let skip = (self.base - pos).max(0) as usize;
        if skip >= l.len() {
            return;
        }
        let start = (pos + skip as i64 - self.base) as usize;
        let end = start + l.len() - skip;
        if self.l.len() < end {
            self.l.resize(end, 0.0);
            self.r.resize(end, 0.0);
        }
        for i in 0..l.len() - skip {
            self.l[start + i] += l[skip + i];
            self.r[start + i] += r[skip + i];
        }
    }
}

struct Out {
    octx: ffmpeg::format::context::Output,
    venc: encoder::Video,
    aenc: encoder::Audio,
    v_tb: Rational,
    a_tb: Rational,
}

impl Out {
    fn drain_video(&mut self) -> Result<()> {
        let mut pkt = ffmpeg::Packet::empty();
        while self.venc.receive_packet(&mut pkt).is_ok() {
            pkt.set_stream(0);
            pkt.rescale_ts(Rational(1, FPS), self.v_tb);
            pkt.write_interleaved(&mut self.octx)?;
        }
        Ok(())
    }

    fn drain_audio(&mut self) -> Result<()> {
        let mut pkt = ffmpeg::Packet::empty();
        while self.aenc.receive_packet(&mut pkt).is_ok() {
            pkt.set_stream(1);
            pkt.rescale_ts(Rational(1, RATE as i32), self.a_tb);
            pkt.write_interleaved(&mut self.octx)?;
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn write(
    m: &Manifest,
    plan: &StreamPlan,
    people: &[Person],
    chapters: &[layout::Chapter],
    font: Option<&FontVec>,
    opts: &CompositeOptions,
    path: &Path,
    report: &mut CompositeReport,
    progress: &mut dyn FnMut(f32),
) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut octx = ffmpeg::format::output_as(path, "mp4")
        .with_context(|| format!("opening {}", path.display()))?;
    let global = octx
        .format()
        .flags()
        .contains(ffmpeg::format::Flags::GLOBAL_HEADER);

    // Video: libx264.
    let x264 = encoder::find_by_name("libx264").ok_or_else(|| anyhow!("no libx264 encoder"))?;
    let mut venc = codec::context::Context::new_with_codec(x264)
        .encoder()
        .video()?;
    venc.set_width(WIDTH);
    venc.set_height(HEIGHT);
    venc.set_format(Pixel::YUV420P);
    venc.set_time_base(Rational(1, FPS));
    venc.set_frame_rate(Some(Rational(FPS, 1)));
    venc.set_gop(FPS as u32 * 4);
    if global {
        venc.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let mut vopts = Dictionary::new();
    vopts.set("preset", opts.preset.as_deref().unwrap_or(PRESET));
    vopts.set("crf", CRF);
    let params = match (&opts.x264_params, &opts.preset) {
        (Some(p), _) => Some(p.as_str()),
        (None, None) => Some(X264_PARAMS),
        (None, Some(_)) => None,
    };
    if let Some(p) = params.filter(|p| !p.is_empty()) {
        vopts.set("x264-params", p);
    }
    let venc = venc.open_as_with(x264, vopts).context("opening libx264")?;
    {
        let mut st = octx.add_stream(x264)?;
        st.set_parameters(&venc);
        st.set_time_base(Rational(1, FPS));
    }

    // Audio: FFmpeg's AAC.
    let aac = encoder::find(codec::Id::AAC).ok_or_else(|| anyhow!("no AAC encoder"))?;
    let mut aenc = codec::context::Context::new_with_codec(aac)
        .encoder()
        .audio()?;
    aenc.set_rate(RATE as i32);
    aenc.set_channel_layout(ChannelLayout::STEREO);
    unsafe {
        ffmpeg::ffi::av_channel_layout_default(&mut (*aenc.as_mut_ptr()).ch_layout, 2);
    }
    aenc.set_format(Sample::F32(SampleType::Planar));
    aenc.set_bit_rate(96_000);
    aenc.set_time_base(Rational(1, RATE as i32));
    if global {
        aenc.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let aenc = aenc.open_as(aac).context("opening the AAC encoder")?;
    let a_frame = aenc.frame_size().max(1) as i64;
    {
        let mut st = octx.add_stream(aac)?;
        st.set_parameters(&aenc);
        st.set_time_base(Rational(1, RATE as i32));
    }

    for (i, c) in chapters.iter().enumerate() {
        octx.add_chapter(i as i64, Rational(1, 1000), c.start_ms, c.end_ms, &c.title)?;
    }
    let mut fopts = Dictionary::new();
    fopts.set("movflags", "+faststart");
    octx.write_header_with(fopts)
        .with_context(|| format!("writing the header of {}", path.display()))?;
    let v_tb = octx
        .stream(0)
        .map(|s| s.time_base())
        .unwrap_or(Rational(1, FPS));
    let a_tb = octx
        .stream(1)
        .map(|s| s.time_base())
        .unwrap_or(Rational(1, RATE as i32));
    let mut out = Out {
        octx,
        venc,
        aenc,
        v_tb,
        a_tb,
    };

    // Tiles: one per participant; frames come from the recording as it is read.
    let rects = layout::tiles(people.len(), WIDTH, HEIGHT);
    let mut tiles: Vec<Tile> = Vec::new();
    for (p, rect) in people.iter().zip(rects) {
        let text = layout::label(&p.role, &p.name);
        let px = (rect.h as f32 / 14.0).clamp(14.0, 30.0);
        tiles.push(Tile {
            rect,
            label: font.map(|f| render(f, &text, px)),
            video: Queue::new(),
            decoders: HashMap::new(),
            picture: None,
            picture_wall: i64::MIN,
            pictures: 0,
            scaler: None,
            audio: Queue::new(),
            audio_decoders: HashMap::new(),
        });
    }
    let mut stream = plan.stream();
    let mut queued: u64 = 0;

    let (span_first, span_last) = layout::hearing_span(&m.events, m.first_us, m.last_us);
    let first = span_first as i64;
    let span = (span_last - span_first) as i64;
    let n_frames = ((span * FPS as i64 + 999_999) / 1_000_000).max(1);
    let total_samples = span * RATE / 1_000_000;
    // The picture is composed in `canvas` (its background outside the tiles is drawn
    // once) and copied into the encoder's frame; decoder output and mixing buffers are
    // reused from frame to frame.
    let mut canvas = Canvas::new(WIDTH, HEIGHT);
    let mut vframe = frame::Video::new(Pixel::YUV420P, WIDTH, HEIGHT);
    let mut decoded = frame::Video::empty();
    let mut got = frame::Video::empty();
    let (mut l, mut r): (Vec<f32>, Vec<f32>) = (Vec::new(), Vec::new());
    let mut clock: Option<(String, Mask)> = None;
    let clock_px = 28.0;
    let mut mix = Mix {
        base: 0,
        l: Vec::new(),
        r: Vec::new(),
    };
    let mut errors: HashMap<String, u64> = HashMap::new();
    let mut note = |k: String| *errors.entry(k).or_insert(0) += 1;

    for n in 0..n_frames {
        if n % FPS as i64 == 0 {
            progress(n as f32 / n_frames as f32);
        }
        let t = first + n * 1_000_000 / FPS as i64;
        // Everything due by this frame (audio is taken a frame ahead) out of the recording.
        let audio_upto = t + 1_000_000 / FPS as i64;
        stream.read_until(audio_upto, |f: TimedFrame| {
            let Some(tile) = tiles.get_mut(f.person) else {
                return; // beyond the gallery's tiles
            };
            let q = Queued {
                wall: f.wall,
                seq: queued,
                track: f.track,
                codec: f.codec,
                data: f.frame.data,
            };
            queued += 1;
            if q.codec == Codec::Opus {
                tile.audio.push(Reverse(q));
            } else {
                tile.video.push(Reverse(q));
            }
        });
        for (ti, tile) in tiles.iter_mut().enumerate() {
            let who = &people[ti];
            // Video up to the middle of this output frame: the nearest picture, so video
            // is at most half a frame (±20 ms) off the audio instead of up to a frame late.
            let mut fresh = false;
            let upto = t + 500_000 / FPS as i64;
            while tile.video.peek().is_some_and(|q| q.0.wall <= upto) {
                let Some(Reverse(f)) = tile.video.pop() else {
                    break;
                };
                if let std::collections::hash_map::Entry::Vacant(e) = tile.decoders.entry(f.track) {
                    match video_decoder(f.codec) {
                        Ok(d) => {
                            e.insert(d);
                        }
                        Err(err) => {
                            note(format!("{}: video decoder: {err}", who.name));
                            continue;
                        }
                    }
                }
                let dec = tile.decoders.get_mut(&f.track).expect("inserted");
                if dec.send_packet(&ffmpeg::Packet::copy(&f.data)).is_err() {
                    note(format!("{}: undecodable video frames", who.name));
                    continue;
                }
                // (`receive_frame` clears its frame when there is none: keep the last.)
                while dec.receive_frame(&mut got).is_ok() {
                    fresh = true;
                    tile.pictures += 1;
                    tile.picture_wall = f.wall;
                    std::mem::swap(&mut decoded, &mut got);
                }
            }
            if fresh && decoded.width() > 0 && decoded.height() > 0 {
                let fit = layout::fit(decoded.width(), decoded.height(), tile.rect);
                let key = (
                    decoded.format(),
                    decoded.width(),
                    decoded.height(),
                    fit.w,
                    fit.h,
                );
                let stale = tile
                    .scaler
                    .as_ref()
                    .is_none_or(|s| (s.0, s.1, s.2, s.3, s.4) != key);
                if stale {
                    match ffmpeg::software::scaling::Context::get(
                        key.0,
                        key.1,
                        key.2,
                        Pixel::YUV420P,
                        fit.w,
                        fit.h,
                        ffmpeg::software::scaling::Flags::BILINEAR,
                    ) {
                        Ok(s) => tile.scaler = Some((key.0, key.1, key.2, key.3, key.4, s)),
                        Err(e) => {
                            note(format!("{}: scaler: {e}", who.name));
                            tile.scaler = None;
                        }
                    }
                }
                if let Some(s) = tile.scaler.as_mut() {
                    // The tile's picture buffer is reused while its size stays.
                    if tile
                        .picture
                        .as_ref()
                        .is_none_or(|(r, _)| (r.w, r.h) != (fit.w, fit.h))
                    {
                        tile.picture = Some((fit, frame::Video::new(Pixel::YUV420P, fit.w, fit.h)));
                    }
                    if let Some((r, pic)) = tile.picture.as_mut() {
                        *r = fit;
                        if let Err(e) = s.5.run(&decoded, pic) {
                            note(format!("{}: scaling failed: {e}", who.name));
                            tile.picture = None;
                        }
                    }
                }
            }
            // Draw: the tile's background where the picture does not cover it.
            let live = tile.picture.is_some() && t - tile.picture_wall <= FREEZE_US;
            match (live, tile.picture.as_ref()) {
                (true, Some((fit, pic))) => {
                    if *fit != tile.rect {
                        canvas.fill(tile.rect, (40, 128, 128));
                    }
                    canvas.blit(*fit, pic);
                }
                _ => canvas.fill(tile.rect, (40, 128, 128)),
            }
            if let Some(lm) = &tile.label {
                let r = tile.rect;
                let (x, y) = if live {
                    (r.x as i32 + 10, (r.y + r.h) as i32 - lm.h as i32 - 10)
                } else {
                    // Placeholder: the label in the middle of the tile.
                    (
                        r.x as i32 + (r.w as i32 - lm.w as i32) / 2,
                        r.y as i32 + (r.h as i32 - lm.h as i32) / 2,
                    )
                };
                canvas.text(lm, x, y, r);
            }

            // Audio up to a little after now.
            while tile.audio.peek().is_some_and(|q| q.0.wall <= audio_upto) {
                let Some(Reverse(f)) = tile.audio.pop() else {
                    break;
                };
                if let std::collections::hash_map::Entry::Vacant(e) =
                    tile.audio_decoders.entry(f.track)
                {
                    match opus_decoder() {
                        Ok(decoder) => {
                            e.insert(AudioTrack {
                                decoder,
                                resampler: None,
                                next_pos: None,
                            });
                        }
                        Err(err) => {
                            note(format!("{}: audio decoder: {err}", who.name));
                            continue;
                        }
                    }
                }
                let at = tile.audio_decoders.get_mut(&f.track).expect("inserted");
                if at
                    .decoder
                    .send_packet(&ffmpeg::Packet::copy(&f.data))
                    .is_err()
                {
                    note(format!("{}: undecodable audio frames", who.name));
                    continue;
                }
                let mut pcm = frame::Audio::empty();
                while at.decoder.receive_frame(&mut pcm).is_ok() {
                    if at.resampler.is_none() {
                        let layout = if pcm.channel_layout().is_empty() {
                            ChannelLayout::default(pcm.channels() as i32)
                        } else {
                            pcm.channel_layout()
                        };
                        match ffmpeg::software::resampling::Context::get(
                            pcm.format(),
                            layout,
                            pcm.rate(),
                            Sample::F32(SampleType::Packed),
                            ChannelLayout::STEREO,
                            RATE as u32,
                        ) {
                            Ok(r) => at.resampler = Some(r),
                            Err(e) => {
                                note(format!("{}: resampler: {e}", who.name));
                                break;
                            }
                        }
                    }
                    let Some(rs) = at.resampler.as_mut() else {
                        break;
                    };
                    let mut st = frame::Audio::empty();
                    if rs.run(&pcm, &mut st).is_err() {
                        note(format!("{}: resampling failed", who.name));
                        continue;
                    }
                    let n = st.samples();
                    let bytes = st.data(0);
                    l.clear();
                    r.clear();
                    for s in bytes.chunks_exact(8).take(n) {
                        l.push(f32::from_ne_bytes([s[0], s[1], s[2], s[3]]));
                        r.push(f32::from_ne_bytes([s[4], s[5], s[6], s[7]]));
                    }
                    let pos = (f.wall - first) * RATE / 1_000_000;
                    // Frames that follow on time are put end to end (no clicks from
                    // jitter in the wall-clock times).
                    let pos = match at.next_pos {
                        Some(np) if (pos - np).abs() <= RATE / 25 => np,
                        _ => pos,
                    };
                    mix.add(pos, &l, &r);
                    at.next_pos = Some(pos + n as i64);
                }
            }
        }
        // The clock, top right.
        if let Some(f) = font {
            let text = layout::clock_text(t);
            if clock.as_ref().is_none_or(|(s, _)| *s != text) {
                let mask = render(f, &text, clock_px);
                clock = Some((text, mask));
            }
            if let Some((_, cm)) = &clock {
                let full = Rect {
                    x: 0,
                    y: 0,
                    w: WIDTH,
                    h: HEIGHT,
                };
                canvas.text(cm, WIDTH as i32 - cm.w as i32 - 16, 12, full);
            }
        }
        // The encoder may still hold the previous frame: write into a buffer of our own.
        if unsafe { ffmpeg::ffi::av_frame_make_writable(vframe.as_mut_ptr()) } < 0 {
            bail!("cannot reuse the video frame");
        }
        canvas.to_frame(&mut vframe);
        vframe.set_pts(Some(n));
        out.venc.send_frame(&vframe)?;
        out.drain_video()?;
        report.video_frames += 1;

        // Audio that can no longer change (frames arrive up to 40 ms ahead of `t`).
        let done = ((t - first) * RATE / 1_000_000 - RATE / 10).min(total_samples);
        encode_audio(
            &mut out,
            &mut mix,
            done,
            a_frame,
            false,
            &mut report.audio_samples,
        )?;
    }
    encode_audio(
        &mut out,
        &mut mix,
        total_samples,
        a_frame,
        true,
        &mut report.audio_samples,
    )?;
    out.venc.send_eof()?;
    out.drain_video()?;
    out.aenc.send_eof()?;
    out.drain_audio()?;
    out.octx
        .write_trailer()
        .with_context(|| format!("finishing {}", path.display()))?;
    if stream.mismatched > 0 {
        report.notes.push(format!(
            "{} frames read differently the second time: placed at their arrival",
            stream.mismatched
        ));
    }
    for (tile, who) in tiles.iter().zip(people) {
        if tile.pictures == 0 {
            report.notes.push(format!(
                "{}: no video picture decoded: placeholder only",
                who.name
            ));
        }
    }
    let mut errs: Vec<(String, u64)> = errors.into_iter().collect();
    errs.sort();
    report
        .notes
        .extend(errs.into_iter().map(|(k, n)| format!("{k} ({n}×)")));
    Ok(())
}

/// Encode the mix up to absolute sample `until` in encoder-sized frames (the last one
/// may be shorter when `until` is the end).
fn encode_audio(
    out: &mut Out,
    mix: &mut Mix,
    until: i64,
    frame_size: i64,
    last: bool,
    written: &mut u64,
) -> Result<()> {
    while mix.base < until {
        let n = (until - mix.base).min(frame_size);
        if n < frame_size && !last {
            break; // only the very end may be a short frame
        }
        let mut f = frame::Audio::new(
            Sample::F32(SampleType::Planar),
            n as usize,
            ChannelLayout::STEREO,
        );
        f.set_rate(RATE as u32);
        f.set_pts(Some(mix.base));
        unsafe {
            ffmpeg::ffi::av_channel_layout_default(&mut (*f.as_mut_ptr()).ch_layout, 2);
        }
        let take = (n as usize).min(mix.l.len());
        for (ch, src) in [(0usize, &mix.l), (1, &mix.r)] {
            let dst = f.plane_mut::<f32>(ch);
            for (d, s) in dst.iter_mut().zip(src.iter().take(take)) {
                *d = s.clamp(-1.0, 1.0);
            }
            for d in dst.iter_mut().skip(take) {
                *d = 0.0;
            }
        }
        mix.l.drain(..take);
        mix.r.drain(..take);
        mix.base += n;
        *written += n as u64;
        out.aenc.send_frame(&f)?;
        out.drain_audio()?;
    }
    Ok(())
}
