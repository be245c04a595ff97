//! A track a participant sends to the server.

use crate::media::keyframe::{KeyframeThrottle, VideoCodec};
use crate::media::signaling::MediaKind;
use rtc::rtp_transceiver::RTCRtpReceiverId;

#[derive(Debug)]
pub struct PublishedTrack {
    /// Stable id shown to clients: `<participant>-<ssrc>`.
    pub id: String,
    pub receiver: RTCRtpReceiverId,
    pub ssrc: u32,
    pub kind: MediaKind,
    /// Lower-case MIME type, e.g. `video/vp8`.
    pub mime: String,
    pub clock_rate: u32,
    pub video_codec: Option<VideoCodec>,
    pub keyframes: KeyframeThrottle,
    pub packets: u64,
    pub bytes: u64,
    /// Its index in the hearing's recording, once described to the recorder.
    pub rec_track: Option<u16>,
}

impl PublishedTrack {
    pub fn video_codec_of(mime: &str) -> Option<VideoCodec> {
        match mime {
            "video/vp8" => Some(VideoCodec::Vp8),
            "video/h264" => Some(VideoCodec::H264),
            _ => None,
        }
    }
}

/// What a subscriber needs to know about a published track to receive a copy of it.
#[derive(Debug, Clone)]
pub struct TrackSource {
    pub publisher: u64,
    pub ssrc: u32,
    pub track_id: String,
    pub kind: MediaKind,
    pub mime: String,
    pub clock_rate: u32,
}

impl PublishedTrack {
    pub fn source(&self, publisher: u64) -> TrackSource {
        TrackSource {
            publisher,
            ssrc: self.ssrc,
            track_id: self.id.clone(),
            kind: self.kind,
            mime: self.mime.clone(),
            clock_rate: self.clock_rate,
        }
    }
}
