//! One participant's copy of another participant's published track: its own send-only
//! transceiver (reusing the client's m-line makes browsers drop the media), its own SSRC,
//! the payload type negotiated on it, which layer it gets (switched only at a keyframe
//! of the new layer), and the numbering (sequence, timestamp, VP8 picture ids) that keeps
//! it one continuous stream across layer switches and publisher reconnects.

use super::published_track::TrackSource;
use crate::media::layer_select::{Forward, LayerSwitch};
use crate::media::seq_map::SequenceMapper;
use crate::media::signaling::MediaKind;
use crate::media::vp8_ids::PictureIdMapper;
use rtc::rtp_transceiver::RTCRtpSenderId;

/// The height a video is assumed shown at until the subscriber says (a phone's tile).
pub const DEFAULT_DISPLAY_HEIGHT: u16 = 360;

#[derive(Debug)]
pub struct SubscribedTrack {
    pub publisher: u64,
    /// For stats and signaling only; forwarding matches on `publisher` + `key`.
    pub published_track: String,
    /// The publication's key ([`super::published_track::PublishedTrack::key`]).
    pub key: u32,
    pub kind: MediaKind,
    pub sender: RTCRtpSenderId,
    pub ssrc: u32,
    pub mime: String,
    pub clock_rate: u32,
    /// Payload type negotiated on this sender, looked up once (it does not change).
    pub payload_type: Option<u8>,
    /// Set once the subscriber has answered an offer containing this track.
    pub negotiated: bool,
    /// Which layer is forwarded, and which is wanted.
    pub switch: LayerSwitch,
    pub seq: SequenceMapper,
    /// VP8 only: its picture ids continue across sources too.
    pub vp8_ids: Option<PictureIdMapper>,
    /// Height the subscriber shows this video at (0: hidden).
    pub display_height: u16,
    pub packets: u64,
    pub bytes: u64,
    pub bitrate: crate::media::bitrate::BitrateMeter,
}

impl SubscribedTrack {
    /// A copy of `source` on the subscriber's own sender, under its own SSRC.
    pub fn new(source: &TrackSource, sender: RTCRtpSenderId, ssrc: u32) -> Self {
        let kind = source.kind;
        // Audio flows at once; video starts on the lowest layer's next keyframe (cheap to
        // ask for, quick to arrive) and the allocation lifts it from there.
        let switch = LayerSwitch {
            target: Some(0),
            current: (kind == MediaKind::Audio).then_some(0),
        };
        Self {
            publisher: source.publisher,
            published_track: source.track_id.clone(),
            key: source.key,
            kind,
            sender,
            ssrc,
            mime: source.mime.clone(),
            clock_rate: source.clock_rate,
            payload_type: None,
            negotiated: false,
            switch,
            seq: SequenceMapper::default(),
            vp8_ids: source
                .mime
                .eq_ignore_ascii_case("video/vp8")
                .then(PictureIdMapper::default),
            display_height: DEFAULT_DISPLAY_HEIGHT,
            packets: 0,
            bytes: 0,
            bitrate: Default::default(),
        }
    }

    pub fn is_video(&self) -> bool {
        self.kind == MediaKind::Video
    }

    /// Video resumes only at a fresh keyframe (after a pause, a side room, a mute):
    /// returns the layer to ask one of.
    pub fn restart(&mut self) -> Option<usize> {
        if !self.is_video() {
            return None;
        }
        self.switch.current = None;
        self.switch.target
    }

    /// A packet of `layer` arrived: forward it to this subscriber? And, if not, the layer
    /// it is waiting on a keyframe of.
    pub fn decide(&mut self, layer: usize, starts_keyframe: bool) -> (bool, Option<usize>) {
        let paused = self.switch.current.is_none();
        let forward = self.switch.on_packet(layer, starts_keyframe) == Forward::Yes;
        if paused && forward {
            // Resuming at a keyframe: what was lost meanwhile is no use to the decoder.
            self.seq.rebase();
            if let Some(m) = self.vp8_ids.as_mut() {
                m.rebase();
            }
        }
        let waiting = (self.switch.current != self.switch.target)
            .then_some(self.switch.target)
            .flatten();
        (forward, waiting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(kind: MediaKind, mime: &str, clock_rate: u32) -> TrackSource {
        TrackSource {
            publisher: 1,
            key: 10,
            track_id: "p1-10".into(),
            kind,
            mime: mime.into(),
            clock_rate,
        }
    }

    fn video() -> SubscribedTrack {
        SubscribedTrack::new(
            &source(MediaKind::Video, "video/vp8", 90_000),
            Default::default(),
            99,
        )
    }

    #[test]
    fn video_waits_for_a_keyframe_of_its_layer_and_switches_only_at_one() {
        let mut s = video();
        assert_eq!(s.decide(0, false), (false, Some(0)));
        assert_eq!(s.decide(1, true), (false, Some(0)));
        assert_eq!(s.decide(0, true), (true, None));
        assert_eq!(s.decide(0, false), (true, None));
        // Up to layer 2: layer 0 keeps flowing until layer 2 has a keyframe.
        assert!(s.switch.retarget(Some(2)));
        assert_eq!(s.decide(0, false), (true, Some(2)));
        assert_eq!(s.decide(2, false), (false, Some(2)));
        assert_eq!(s.decide(2, true), (true, None));
        assert_eq!(s.decide(0, true), (false, None));
        // Paused: nothing, and no keyframe wanted; back on a keyframe of its layer.
        assert!(!s.switch.retarget(None));
        assert_eq!(s.decide(2, true), (false, None));
        s.switch.retarget(Some(1));
        assert_eq!(s.restart(), Some(1));
        assert_eq!(s.decide(1, true), (true, None));
    }

    #[test]
    fn a_resumed_video_continues_its_numbering_over_what_the_source_lost() {
        let mut s = video();
        assert_eq!(s.decide(0, true), (true, None));
        assert_eq!(s.seq.map(7, 1_000, 90_000, 0, 90_000), (1_000, 90_000));
        // Paused (an ICE restart); the source loses 1001..=1039 meanwhile.
        s.restart();
        assert_eq!(s.decide(0, false), (false, Some(0)));
        assert_eq!(s.decide(0, true), (true, None));
        assert_eq!(s.seq.map(7, 1_040, 99_000, 100, 90_000).0, 1_001);
        assert!(
            s.seq.is_stale(7, 1_020),
            "a late packet from before the resume"
        );
    }

    #[test]
    fn audio_flows_at_once() {
        let mut a = SubscribedTrack::new(
            &source(MediaKind::Audio, "audio/opus", 48_000),
            Default::default(),
            98,
        );
        assert_eq!(a.decide(0, false), (true, None));
        assert_eq!(a.restart(), None);
    }
}
