//! One participant's copy of another participant's published track: its own send-only
//! transceiver (reusing the client's m-line makes browsers drop the media), its own SSRC,
//! and the payload type negotiated on it.

use rtc::rtp_transceiver::RTCRtpSenderId;

#[derive(Debug)]
pub struct SubscribedTrack {
    pub publisher: u64,
    pub published_track: String,
    pub sender: RTCRtpSenderId,
    pub ssrc: u32,
    pub mime: String,
    /// Set once the subscriber has answered an offer containing this track.
    pub negotiated: bool,
    /// Video waits for a keyframe before the first packet is forwarded.
    pub waiting_for_keyframe: bool,
    pub packets: u64,
    pub bytes: u64,
}
