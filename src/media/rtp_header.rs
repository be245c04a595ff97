//! In-place rewriting of an RTP header for one subscriber (RFC 3550, RFC 8285).
//!
//! A forwarded packet must carry the subscriber's SSRC and payload type, and header
//! extensions under the ids *that subscriber* negotiated: a browser silently drops packets
//! whose extension ids it does not know. Extensions the subscriber did not negotiate are
//! replaced by padding, so the header keeps its length and the payload never moves.

/// Where the parts of an RTP packet start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpLayout {
    pub payload_type: u8,
    pub marker: bool,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Offset and length of the header-extension *elements* (after the 4-byte
    /// extension header), if any.
    pub extension: Option<(usize, usize)>,
    /// RFC 8285 profile: 0xBEDE (one-byte) or 0x1000..=0x100F (two-byte).
    pub extension_profile: u16,
    pub payload_offset: usize,
    /// Payload end (before any padding).
    pub payload_end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpError {
    TooShort,
    NotVersion2,
    BadPadding,
    BadExtension,
}

/// Parse the fixed header, CSRCs, extension block and padding bounds.
pub fn parse(buf: &[u8]) -> Result<RtpLayout, RtpError> {
    if buf.len() < 12 {
        return Err(RtpError::TooShort);
    }
    if buf[0] >> 6 != 2 {
        return Err(RtpError::NotVersion2);
    }
    let has_padding = buf[0] & 0x20 != 0;
    let has_extension = buf[0] & 0x10 != 0;
    let csrc_count = (buf[0] & 0x0f) as usize;
    let mut offset = 12 + 4 * csrc_count;
    if buf.len() < offset {
        return Err(RtpError::TooShort);
    }
    let mut extension = None;
    let mut extension_profile = 0;
    if has_extension {
        if buf.len() < offset + 4 {
            return Err(RtpError::BadExtension);
        }
        extension_profile = u16::from_be_bytes([buf[offset], buf[offset + 1]]);
        let words = u16::from_be_bytes([buf[offset + 2], buf[offset + 3]]) as usize;
        let start = offset + 4;
        let len = words * 4;
        if buf.len() < start + len {
            return Err(RtpError::BadExtension);
        }
        extension = Some((start, len));
        offset = start + len;
    }
    let mut payload_end = buf.len();
    if has_padding {
        let pad = *buf.last().unwrap_or(&0) as usize;
        if pad == 0 || payload_end < offset + pad {
            return Err(RtpError::BadPadding);
        }
        payload_end -= pad;
    }
    Ok(RtpLayout {
        payload_type: buf[1] & 0x7f,
        marker: buf[1] & 0x80 != 0,
        sequence: u16::from_be_bytes([buf[2], buf[3]]),
        timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
        extension,
        extension_profile,
        payload_offset: offset,
        payload_end,
    })
}

/// A subscriber's header-extension id mapping: `map[publisher_id]` is the subscriber's id
/// for the same extension URI, or 0 when the subscriber did not negotiate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionMap {
    pub map: [u8; 256],
}

impl Default for ExtensionMap {
    fn default() -> Self {
        Self { map: [0; 256] }
    }
}

impl ExtensionMap {
    /// Build from (publisher id, subscriber id) pairs.
    pub fn from_pairs(pairs: &[(u8, u8)]) -> Self {
        let mut m = Self::default();
        for &(from, to) in pairs {
            m.map[from as usize] = to;
        }
        m
    }
}

/// What to put in the header for this subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewrite<'a> {
    pub ssrc: u32,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub extensions: &'a ExtensionMap,
}

/// Rewrite SSRC, payload type, sequence number, timestamp and extension ids in place.
pub fn rewrite(buf: &mut [u8], layout: &RtpLayout, r: &Rewrite<'_>) -> Result<(), RtpError> {
    buf[1] = (buf[1] & 0x80) | (r.payload_type & 0x7f);
    buf[2..4].copy_from_slice(&r.sequence.to_be_bytes());
    buf[4..8].copy_from_slice(&r.timestamp.to_be_bytes());
    buf[8..12].copy_from_slice(&r.ssrc.to_be_bytes());
    if let Some((start, len)) = layout.extension {
        let block = &mut buf[start..start + len];
        match layout.extension_profile {
            0xBEDE => rewrite_one_byte(block, r.extensions)?,
            p if p & 0xfff0 == 0x1000 => rewrite_two_byte(block, r.extensions)?,
            // An unknown profile cannot be mapped; blank it so no stale id leaks through.
            _ => block.fill(0),
        }
    }
    Ok(())
}

/// One-byte elements: `ID(4) L(4)` then L+1 bytes; ID 0 is padding, ID 15 ends the block.
/// Kept elements are packed to the front, the rest becomes padding.
fn rewrite_one_byte(block: &mut [u8], map: &ExtensionMap) -> Result<(), RtpError> {
    let (mut read, mut write) = (0, 0);
    while read < block.len() {
        let b = block[read];
        if b == 0 {
            read += 1;
            continue;
        }
        let id = b >> 4;
        if id == 15 {
            break;
        }
        let len = (b & 0x0f) as usize + 1;
        if read + 1 + len > block.len() {
            return Err(RtpError::BadExtension);
        }
        let to = map.map[id as usize];
        if (1..=14).contains(&to) {
            block[write] = (to << 4) | (b & 0x0f);
            block.copy_within(read + 1..read + 1 + len, write + 1);
            write += 1 + len;
        }
        read += 1 + len;
    }
    block[write..].fill(0);
    Ok(())
}

/// Two-byte elements: `ID(8) L(8)` then L bytes; ID 0 is padding (a single byte).
fn rewrite_two_byte(block: &mut [u8], map: &ExtensionMap) -> Result<(), RtpError> {
    let (mut read, mut write) = (0, 0);
    while read < block.len() {
        let id = block[read];
        if id == 0 {
            read += 1;
            continue;
        }
        if read + 2 > block.len() {
            return Err(RtpError::BadExtension);
        }
        let len = block[read + 1] as usize;
        if read + 2 + len > block.len() {
            return Err(RtpError::BadExtension);
        }
        let to = map.map[id as usize];
        if to != 0 {
            block[write] = to;
            block[write + 1] = len as u8;
            block.copy_within(read + 2..read + 2 + len, write + 2);
            write += 2 + len;
        }
        read += 2 + len;
    }
    block[write..].fill(0);
    Ok(())
}

/// Iterate the (id, data) elements of an extension block (for tests and for reading
/// e.g. the audio level or the RID).
pub fn elements(block: &[u8], profile: u16) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < block.len() {
        if block[i] == 0 {
            i += 1;
            continue;
        }
        if profile == 0xBEDE {
            let id = block[i] >> 4;
            if id == 15 {
                break;
            }
            let len = (block[i] & 0x0f) as usize + 1;
            if i + 1 + len > block.len() {
                break;
            }
            out.push((id, block[i + 1..i + 1 + len].to_vec()));
            i += 1 + len;
        } else {
            if i + 2 > block.len() {
                break;
            }
            let (id, len) = (block[i], block[i + 1] as usize);
            if i + 2 + len > block.len() {
                break;
            }
            out.push((id, block[i + 2..i + 2 + len].to_vec()));
            i += 2 + len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet with a one-byte extension block holding ids 1 (1 byte), 3 (2 bytes), 5 (3 bytes).
    fn packet() -> Vec<u8> {
        let mut p = vec![0x90, 96, 0x12, 0x34, 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef];
        p.extend_from_slice(&[0xBE, 0xDE, 0, 3]);
        p.extend_from_slice(&[
            0x10, 0xAA, 0x31, 0xB1, 0xB2, 0x52, 0xC1, 0xC2, 0xC3, 0, 0, 0,
        ]);
        p.extend_from_slice(b"payload");
        p
    }

    #[test]
    fn parses_header_fields() {
        let p = packet();
        let l = parse(&p).unwrap();
        assert_eq!(
            (l.payload_type, l.sequence, l.timestamp, l.ssrc),
            (96, 0x1234, 0x1000, 0xdeadbeef)
        );
        assert_eq!(l.extension, Some((16, 12)));
        assert_eq!(&p[l.payload_offset..l.payload_end], b"payload");
    }

    #[test]
    fn rewrites_ids_and_strips_unknown_extensions_without_moving_payload() {
        let mut p = packet();
        let l = parse(&p).unwrap();
        let map = ExtensionMap::from_pairs(&[(1, 4), (5, 2)]); // 3 not negotiated
        rewrite(
            &mut p,
            &l,
            &Rewrite {
                ssrc: 7,
                payload_type: 102,
                sequence: 9,
                timestamp: 99,
                extensions: &map,
            },
        )
        .unwrap();
        let l2 = parse(&p).unwrap();
        assert_eq!(
            (
                l2.payload_type,
                l2.sequence,
                l2.timestamp,
                l2.ssrc,
                l2.marker
            ),
            (102, 9, 99, 7, false)
        );
        let (s, n) = l2.extension.unwrap();
        assert_eq!(
            elements(&p[s..s + n], 0xBEDE),
            vec![(4, vec![0xAA]), (2, vec![0xC1, 0xC2, 0xC3])]
        );
        assert_eq!(&p[l2.payload_offset..l2.payload_end], b"payload");
    }

    #[test]
    fn two_byte_extensions_and_marker_survive() {
        let mut p = vec![
            0x90,
            0x80 | 111,
            0,
            1,
            0,
            0,
            0,
            1,
            0,
            0,
            0,
            1,
            0x10,
            0x00,
            0,
            2,
            20,
            2,
            0xAB,
            0xCD,
            30,
            1,
            0xEE,
            0,
        ];
        p.extend_from_slice(&[1, 2, 3]);
        let l = parse(&p).unwrap();
        let map = ExtensionMap::from_pairs(&[(30, 200)]);
        rewrite(
            &mut p,
            &l,
            &Rewrite {
                ssrc: 1,
                payload_type: 63,
                sequence: 1,
                timestamp: 1,
                extensions: &map,
            },
        )
        .unwrap();
        let l2 = parse(&p).unwrap();
        assert!(l2.marker);
        assert_eq!(l2.payload_type, 63);
        let (s, n) = l2.extension.unwrap();
        assert_eq!(elements(&p[s..s + n], 0x1000), vec![(200, vec![0xEE])]);
    }

    #[test]
    fn malformed_packets_are_refused_not_panicked_on() {
        assert_eq!(parse(&[0x80; 11]), Err(RtpError::TooShort));
        assert_eq!(parse(&[0x40; 12]), Err(RtpError::NotVersion2));
        let mut p = packet();
        p[15] = 40; // extension longer than the packet
        assert_eq!(parse(&p), Err(RtpError::BadExtension));
        let mut p = packet();
        p[0] |= 0x20;
        *p.last_mut().unwrap() = 200;
        assert_eq!(parse(&p), Err(RtpError::BadPadding));
        // An element running past its block.
        let mut p = packet();
        p[16] = 0x1F;
        let l = parse(&p).unwrap();
        let map = ExtensionMap::default();
        assert_eq!(
            rewrite(
                &mut p,
                &l,
                &Rewrite {
                    ssrc: 1,
                    payload_type: 1,
                    sequence: 1,
                    timestamp: 1,
                    extensions: &map
                }
            ),
            Err(RtpError::BadExtension)
        );
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        // A cheap deterministic fuzz: every prefix and many bit patterns.
        let map = ExtensionMap::from_pairs(&[(1, 1), (2, 3)]);
        let mut seed = 0x12345678u32;
        for len in 0..80 {
            for _ in 0..200 {
                let mut buf: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 17;
                        seed ^= seed << 5;
                        seed as u8
                    })
                    .collect();
                if len > 0 {
                    buf[0] = (buf[0] & 0x3f) | 0x80;
                }
                if let Ok(l) = parse(&buf) {
                    let _ = rewrite(
                        &mut buf,
                        &l,
                        &Rewrite {
                            ssrc: 1,
                            payload_type: 1,
                            sequence: 1,
                            timestamp: 1,
                            extensions: &map,
                        },
                    );
                }
            }
        }
    }
}
