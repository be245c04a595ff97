//! Keyframes: recognising the packet that starts one (a subscriber can only start
//! decoding there, and simulcast layers may only be switched there), and rate-limiting
//! keyframe requests (PLI/FIR) towards a publisher: a late joiner needs one quickly, but
//! several subscribers asking at once must not make the publisher send a keyframe each.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    Vp8,
    H264,
}

/// Does this RTP payload begin a keyframe? Works on the payload only, no decoding.
pub fn starts_keyframe(codec: VideoCodec, payload: &[u8]) -> bool {
    match codec {
        VideoCodec::Vp8 => vp8_keyframe(payload),
        VideoCodec::H264 => h264_keyframe(payload),
    }
}

/// The picture height a keyframe's first packet states (VP8 frame header; H.264 SPS),
/// read from header bytes only: a simulcast layer's real size, for choosing layers.
pub fn keyframe_height(codec: VideoCodec, payload: &[u8]) -> Option<u16> {
    let (_, h) = match codec {
        VideoCodec::Vp8 => {
            let at = vp8_frame_start(payload)?;
            crate::recording::depacketize::vp8_dimensions(payload.get(at..)?)?
        }
        VideoCodec::H264 => {
            h264_sps(payload).and_then(crate::recording::depacketize::h264_sps_dimensions)?
        }
    };
    u16::try_from(h).ok().filter(|h| *h > 0)
}

/// Where the VP8 frame header starts after the payload descriptor (RFC 7741 §4.2).
fn vp8_frame_start(p: &[u8]) -> Option<usize> {
    super::vp8_ids::parse(p).map(|d| d.payload_at)
}

/// The SPS a packet carries, alone or aggregated (STAP-A).
fn h264_sps(p: &[u8]) -> Option<&[u8]> {
    let hdr = *p.first()?;
    match hdr & 0x1f {
        NAL_SPS => Some(p),
        NAL_STAP_A => {
            let mut i = 1;
            while i + 2 < p.len() {
                let size = u16::from_be_bytes([p[i], p[i + 1]]) as usize;
                let nal = p.get(i + 2..i + 2 + size)?;
                if size > 0 && nal[0] & 0x1f == NAL_SPS {
                    return Some(nal);
                }
                i += 2 + size;
            }
            None
        }
        _ => None,
    }
}

/// RFC 7741: skip the payload descriptor; the frame is a keyframe when this is the start
/// of partition 0 and the VP8 frame header's inverse-keyframe bit is clear.
fn vp8_keyframe(p: &[u8]) -> bool {
    let Some(&first) = p.first() else {
        return false;
    };
    let start = first & 0x10 != 0;
    let partition = first & 0x07;
    start
        && partition == 0
        && vp8_frame_start(p)
            .and_then(|i| p.get(i))
            .is_some_and(|h| h & 0x01 == 0)
}

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_STAP_A: u8 = 24;
const NAL_FU_A: u8 = 28;

/// RFC 6184: an IDR slice or a sequence parameter set, alone, aggregated (STAP-A) or as
/// the first fragment of a fragmented unit (FU-A).
fn h264_keyframe(p: &[u8]) -> bool {
    let Some(&hdr) = p.first() else { return false };
    match hdr & 0x1f {
        NAL_IDR | NAL_SPS => true,
        NAL_STAP_A => {
            let mut i = 1;
            while i + 2 < p.len() {
                let size = u16::from_be_bytes([p[i], p[i + 1]]) as usize;
                let Some(&nal) = p.get(i + 2) else {
                    return false;
                };
                if size == 0 {
                    return false;
                }
                if matches!(nal & 0x1f, NAL_IDR | NAL_SPS) {
                    return true;
                }
                i += 2 + size;
            }
            false
        }
        NAL_FU_A => p
            .get(1)
            .is_some_and(|fu| fu & 0x80 != 0 && matches!(fu & 0x1f, NAL_IDR | NAL_SPS)),
        _ => false,
    }
}

/// At most one keyframe request per interval per published track.
#[derive(Debug, Clone, Copy)]
pub struct KeyframeThrottle {
    interval_ms: u64,
    last_sent_ms: Option<u64>,
}

impl KeyframeThrottle {
    pub const DEFAULT_INTERVAL_MS: u64 = 500;

    pub fn new(interval_ms: u64) -> Self {
        Self {
            interval_ms,
            last_sent_ms: None,
        }
    }

    /// A subscriber asked (or joined); returns whether to send a PLI to the publisher now.
    pub fn request(&mut self, now_ms: u64) -> bool {
        match self.last_sent_ms {
            Some(last) if now_ms.saturating_sub(last) < self.interval_ms => false,
            _ => {
                self.last_sent_ms = Some(now_ms);
                true
            }
        }
    }
}

impl Default for KeyframeThrottle {
    fn default() -> Self {
        Self::new(Self::DEFAULT_INTERVAL_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_keyframes_with_and_without_extended_descriptor() {
        // S=1, PID=0, no extension; frame header P bit 0 → keyframe.
        assert!(starts_keyframe(
            VideoCodec::Vp8,
            &[0x10, 0x00, 0x9d, 0x01, 0x2a]
        ));
        // Same but inter frame (P bit set).
        assert!(!starts_keyframe(VideoCodec::Vp8, &[0x10, 0x01, 0x00]));
        // Continuation packet (S=0).
        assert!(!starts_keyframe(VideoCodec::Vp8, &[0x00, 0x00]));
        // X=1, I=1 with a 15-bit picture id, then the frame header (as Chrome sends).
        assert!(starts_keyframe(
            VideoCodec::Vp8,
            &[0x90, 0x80, 0x81, 0x23, 0x50, 0x9d]
        ));
        assert!(!starts_keyframe(
            VideoCodec::Vp8,
            &[0x90, 0x80, 0x81, 0x23, 0x51]
        ));
        // X=1, I, L, T set: 7-bit picture id, TL0PICIDX, TID byte.
        assert!(starts_keyframe(
            VideoCodec::Vp8,
            &[0x90, 0xE0, 0x12, 0x05, 0x40, 0x00]
        ));
        // Truncated descriptors are not keyframes (and do not panic).
        assert!(!starts_keyframe(VideoCodec::Vp8, &[0x90, 0x80, 0x81]));
        assert!(!starts_keyframe(VideoCodec::Vp8, &[]));
    }

    #[test]
    fn h264_keyframes() {
        assert!(starts_keyframe(VideoCodec::H264, &[0x65, 0x88])); // IDR
        assert!(starts_keyframe(VideoCodec::H264, &[0x67, 0x42])); // SPS
        assert!(!starts_keyframe(VideoCodec::H264, &[0x41, 0x9a])); // non-IDR slice
        // STAP-A with SPS, PPS.
        assert!(starts_keyframe(
            VideoCodec::H264,
            &[0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce]
        ));
        // STAP-A with only a PPS.
        assert!(!starts_keyframe(
            VideoCodec::H264,
            &[0x78, 0, 2, 0x68, 0xce]
        ));
        // FU-A: start of an IDR, and a middle fragment.
        assert!(starts_keyframe(VideoCodec::H264, &[0x7c, 0x85, 0x00]));
        assert!(!starts_keyframe(VideoCodec::H264, &[0x7c, 0x05, 0x00]));
        assert!(!starts_keyframe(VideoCodec::H264, &[0x78, 0xff, 0xff]));
    }

    #[test]
    fn keyframe_requests_are_throttled_per_track() {
        let mut t = KeyframeThrottle::default();
        assert!(t.request(1_000));
        assert!(!t.request(1_100));
        assert!(!t.request(1_499));
        assert!(t.request(1_500));
        assert!(!t.request(1_600));
    }

    #[test]
    fn keyframe_heights_come_from_the_frame_header_and_the_sps() {
        // VP8: descriptor (start of partition 0, extended with a 2-byte picture id),
        // frame tag (keyframe), start code, 640×360.
        let vp8 = [
            0x90, 0x80, 0x80, 0x01, 0x50, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01,
        ];
        assert!(starts_keyframe(VideoCodec::Vp8, &vp8));
        assert_eq!(keyframe_height(VideoCodec::Vp8, &vp8), Some(360));
        // H.264: a STAP-A with a 320×180 baseline SPS and a PPS.
        let sps = [
            0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0x9f, 0x9f, 0x01, 0x10, 0x00, 0x00, 0x03,
            0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0xa4, 0x80,
        ];
        let pps = [0x68, 0xce, 0x3c, 0x80];
        let mut stap = vec![0x78];
        for nal in [&sps[..], &pps[..]] {
            stap.extend_from_slice(&(nal.len() as u16).to_be_bytes());
            stap.extend_from_slice(nal);
        }
        assert_eq!(keyframe_height(VideoCodec::H264, &stap), Some(180));
        assert_eq!(keyframe_height(VideoCodec::H264, &[0x65, 1, 2]), None);
        assert_eq!(keyframe_height(VideoCodec::Vp8, &[0x10]), None);
    }
}
