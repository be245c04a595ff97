//! One participant's copy of another participant's published track: its own send-only
//! transceiver (reusing the client's m-line makes browsers drop the media), its own SSRC,
//! and the payload type negotiated on it.

use rtc::rtp_transceiver::RTCRtpSenderId;

#[derive(Debug)]
pub struct SubscribedTrack {
    pub publisher: u64,
    /// For stats and signaling only; forwarding matches on `publisher` + `source_ssrc`.
    pub published_track: String,
    /// SSRC of the publisher's stream this copies.
    pub source_ssrc: u32,
    pub sender: RTCRtpSenderId,
    pub ssrc: u32,
    pub mime: String,
    /// Payload type negotiated on this sender, looked up once (it does not change).
    pub payload_type: Option<u8>,
    /// Set once the subscriber has answered an offer containing this track.
    pub negotiated: bool,
    /// Video waits for a keyframe before the first packet is forwarded.
    pub waiting_for_keyframe: bool,
    pub packets: u64,
    pub bytes: u64,
}
