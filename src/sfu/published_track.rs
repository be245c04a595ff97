//! A track a participant sends to the server: one publication, received as one stream or,
//! with simulcast, as up to three layers of the same picture at different sizes (each its
//! own SSRC and RTP stream id). Subscribers each get one of the layers; the recorder
//! keeps them all.

use crate::media::bitrate::BitrateMeter;
use crate::media::keyframe::{KeyframeThrottle, VideoCodec};
use crate::media::layer_select::LayerInfo;
use crate::media::signaling::MediaKind;
use rtc::rtp_transceiver::RTCRtpReceiverId;

#[derive(Debug)]
pub struct PublishedTrack {
    /// Stable id shown to clients: `<participant>-<ssrc of its first stream>`.
    pub id: String,
    /// The SSRC of the stream that opened it: the key subscribers know it by (stable when
    /// lower layers open later and sort before it).
    pub key: u32,
    pub receiver: RTCRtpReceiverId,
    pub kind: MediaKind,
    /// Lower-case MIME type, e.g. `video/vp8`.
    pub mime: String,
    pub clock_rate: u32,
    pub video_codec: Option<VideoCodec>,
    /// Lowest first. One layer (no rid) without simulcast.
    pub layers: Vec<Layer>,
    pub packets: u64,
    pub bytes: u64,
}

#[derive(Debug)]
pub struct Layer {
    /// The RTP stream id (`None` without simulcast).
    pub rid: Option<String>,
    pub ssrc: u32,
    pub bitrate: BitrateMeter,
    /// Picture height, read from the stream's keyframes (0 until the first one).
    pub height: u16,
    pub keyframes: KeyframeThrottle,
    /// Its index in the hearing's recording, once described to the recorder.
    pub rec_track: Option<u16>,
}

impl Layer {
    pub fn new(rid: Option<String>, ssrc: u32) -> Self {
        Self {
            rid,
            ssrc,
            bitrate: BitrateMeter::default(),
            height: 0,
            keyframes: KeyframeThrottle::default(),
            rec_track: None,
        }
    }
}

/// Where a layer with this RTP stream id sits among its siblings: the names browsers and
/// our room page use (`q`/`h`/`f`, `l`/`m`/`h`, `0`/`1`/`2`), lowest first.
pub fn rid_rank(rid: &str) -> u8 {
    match rid.to_ascii_lowercase().as_str() {
        "q" | "l" | "lo" | "low" | "0" => 0,
        "h" | "m" | "mid" | "1" => 1,
        "f" | "hi" | "high" | "2" => 2,
        _ => 3,
    }
}

/// Nominal bitrates of the three layers, until the first second of a layer is measured.
const NOMINAL_BPS: [u32; 3] = [150_000, 500_000, 1_200_000];
/// Nominal heights, until a keyframe says.
const NOMINAL_HEIGHT: [u16; 3] = [180, 360, 720];

impl PublishedTrack {
    pub fn video_codec_of(mime: &str) -> Option<VideoCodec> {
        match mime {
            "video/vp8" => Some(VideoCodec::Vp8),
            "video/h264" => Some(VideoCodec::H264),
            _ => None,
        }
    }

    pub fn simulcast(&self) -> bool {
        self.layers.iter().any(|l| l.rid.is_some())
    }

    /// Add a layer in its place (lowest first); false if that SSRC is known.
    pub fn add_layer(&mut self, layer: Layer) -> bool {
        if self.layers.iter().any(|l| l.ssrc == layer.ssrc) {
            return false;
        }
        let rank = layer.rid.as_deref().map_or(0, rid_rank);
        let at = self
            .layers
            .iter()
            .position(|l| l.rid.as_deref().map_or(0, rid_rank) > rank)
            .unwrap_or(self.layers.len());
        self.layers.insert(at, layer);
        true
    }

    pub fn layer_of(&self, ssrc: u32) -> Option<usize> {
        self.layers.iter().position(|l| l.ssrc == ssrc)
    }

    /// What each layer costs and shows now, for choosing layers (flowing layers not yet
    /// measured count at their nominal rate).
    pub fn layer_infos(&self, now_ms: u64, out: &mut Vec<LayerInfo>) {
        out.clear();
        let n = self.layers.len();
        for (i, l) in self.layers.iter().enumerate() {
            // With one layer its nominal is the middle one's; with three, each its own.
            let slot = if n == 1 { 1 } else { i.min(2) };
            let measured = l.bitrate.bps(now_ms);
            let bitrate_bps = if measured > 0 {
                measured
            } else if l.bitrate.active(now_ms) {
                NOMINAL_BPS[slot]
            } else {
                0
            };
            // A layer carrying less than the one below it is one the browser is starving
            // (its own uplink estimate): a keyframe there may be long in coming. Not a
            // layer to choose.
            let starved = out
                .last()
                .is_some_and(|below: &LayerInfo| measured > 0 && measured < below.bitrate_bps);
            let bitrate_bps = if starved { 0 } else { bitrate_bps };
            let height = if l.height > 0 {
                l.height
            } else {
                NOMINAL_HEIGHT[slot]
            };
            out.push(LayerInfo {
                bitrate_bps,
                height,
            });
        }
    }

    /// The key subscribers know this publication by.
    pub fn key(&self) -> u32 {
        self.key
    }
}

/// What a subscriber needs to know about a published track to receive a copy of it.
#[derive(Debug, Clone)]
pub struct TrackSource {
    pub publisher: u64,
    /// [`PublishedTrack::key`].
    pub key: u32,
    pub track_id: String,
    pub kind: MediaKind,
    pub mime: String,
    pub clock_rate: u32,
}

impl PublishedTrack {
    pub fn source(&self, publisher: u64) -> TrackSource {
        TrackSource {
            publisher,
            key: self.key(),
            track_id: self.id.clone(),
            kind: self.kind,
            mime: self.mime.clone(),
            clock_rate: self.clock_rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track() -> PublishedTrack {
        PublishedTrack {
            id: "p1-1".into(),
            key: 30,
            receiver: Default::default(),
            kind: MediaKind::Video,
            mime: "video/vp8".into(),
            clock_rate: 90_000,
            video_codec: Some(VideoCodec::Vp8),
            layers: Vec::new(),
            packets: 0,
            bytes: 0,
        }
    }

    #[test]
    fn layers_sort_lowest_first_whatever_order_they_arrive_in() {
        let mut t = track();
        assert!(t.add_layer(Layer::new(Some("f".into()), 30)));
        assert!(t.add_layer(Layer::new(Some("q".into()), 10)));
        assert!(t.add_layer(Layer::new(Some("h".into()), 20)));
        assert!(!t.add_layer(Layer::new(Some("h".into()), 20)));
        let ssrcs: Vec<u32> = t.layers.iter().map(|l| l.ssrc).collect();
        assert_eq!(ssrcs, vec![10, 20, 30]);
        assert_eq!(t.layer_of(30), Some(2));
        assert!(t.simulcast());
        // The key stays the stream that opened it, though a lower layer sorts first.
        assert_eq!(t.key(), 30);
    }

    #[test]
    fn a_starved_top_layer_is_not_offered() {
        let mut t = track();
        t.add_layer(Layer::new(Some("q".into()), 10));
        t.add_layer(Layer::new(Some("h".into()), 20));
        t.add_layer(Layer::new(Some("f".into()), 30));
        // Two seconds: q 150 kbps, h 300 kbps, f a trickle of 20 kbps.
        for ms in (0..2_000u64).step_by(20) {
            t.layers[0].bitrate.on_bytes(375, ms);
            t.layers[1].bitrate.on_bytes(750, ms);
            if ms % 200 == 0 {
                t.layers[2].bitrate.on_bytes(500, ms);
            }
        }
        let mut infos = Vec::new();
        t.layer_infos(1_990, &mut infos);
        let rates: Vec<u32> = infos.iter().map(|i| i.bitrate_bps).collect();
        assert_eq!(rates, vec![150_000, 300_000, 0]);
    }

    #[test]
    fn layer_infos_use_nominal_rates_until_measured() {
        let mut t = track();
        t.add_layer(Layer::new(Some("q".into()), 10));
        t.add_layer(Layer::new(Some("h".into()), 20));
        t.add_layer(Layer::new(Some("f".into()), 30));
        t.layers[0].bitrate.on_bytes(100, 0);
        t.layers[2].bitrate.on_bytes(100, 0);
        t.layers[2].height = 480;
        let mut infos = Vec::new();
        t.layer_infos(10, &mut infos);
        assert_eq!(
            infos,
            vec![
                LayerInfo {
                    bitrate_bps: 150_000,
                    height: 180
                },
                LayerInfo {
                    bitrate_bps: 0,
                    height: 360
                },
                LayerInfo {
                    bitrate_bps: 1_200_000,
                    height: 480
                },
            ]
        );
    }
}
