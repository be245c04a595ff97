//! The on-disk format of a recording segment: raw RTP as received (after SRTP, before
//! any rewrite) and the RTCP sender reports that map each stream's RTP clock to wall
//! time, each stamped with its arrival time. Nothing is depacketized or decoded on the
//! live path; post-processing reads these records back.
//!
//! A segment is `MAGIC` followed by records:
//! `kind:u8 track:u16 arrival_us:u64 len:u16 body[len]` (big-endian). A record cut short
//! by a crash is detected and reported, never misread; after a damaged record the reader
//! finds the next two plausible records in a row and goes on from there, so one bad byte
//! costs a few packets, not the rest of the segment.

use rtc::rtp::Packet;
use rtc::shared::marshal::{Marshal, MarshalSize};

pub const MAGIC: &[u8; 8] = b"YTREC01\n";
pub const HEADER_LEN: usize = 1 + 2 + 8 + 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Rtp = 1,
    SenderReport = 2,
}

/// One RTCP sender report: the NTP ↔ RTP timestamp pair of one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReportRecord {
    pub ssrc: u32,
    pub ntp_time: u64,
    pub rtp_time: u32,
    pub packet_count: u32,
    pub octet_count: u32,
}

impl SenderReportRecord {
    pub const LEN: usize = 24;

    fn write(&self, out: &mut [u8]) {
        out[0..4].copy_from_slice(&self.ssrc.to_be_bytes());
        out[4..12].copy_from_slice(&self.ntp_time.to_be_bytes());
        out[12..16].copy_from_slice(&self.rtp_time.to_be_bytes());
        out[16..20].copy_from_slice(&self.packet_count.to_be_bytes());
        out[20..24].copy_from_slice(&self.octet_count.to_be_bytes());
    }

    pub fn read(b: &[u8]) -> Option<Self> {
        if b.len() != Self::LEN {
            return None;
        }
        Some(Self {
            ssrc: u32::from_be_bytes(b[0..4].try_into().ok()?),
            ntp_time: u64::from_be_bytes(b[4..12].try_into().ok()?),
            rtp_time: u32::from_be_bytes(b[12..16].try_into().ok()?),
            packet_count: u32::from_be_bytes(b[16..20].try_into().ok()?),
            octet_count: u32::from_be_bytes(b[20..24].try_into().ok()?),
        })
    }
}

fn header(buf: &mut Vec<u8>, kind: Kind, track: u16, arrival_us: u64, len: usize) {
    buf.push(kind as u8);
    buf.extend_from_slice(&track.to_be_bytes());
    buf.extend_from_slice(&arrival_us.to_be_bytes());
    buf.extend_from_slice(&(len as u16).to_be_bytes());
}

/// Append one RTP packet. Writes into `buf`'s spare capacity: no allocation unless the
/// buffer must grow (it is sized for a second of media and reused).
pub fn push_rtp(buf: &mut Vec<u8>, track: u16, arrival_us: u64, pkt: &Packet) -> bool {
    let size = pkt.marshal_size();
    if size > u16::MAX as usize {
        return false;
    }
    let start = buf.len();
    header(buf, Kind::Rtp, track, arrival_us, size);
    let body = buf.len();
    buf.resize(body + size, 0);
    match pkt.marshal_to(&mut buf[body..]) {
        Ok(n) if n == size => true,
        _ => {
            buf.truncate(start);
            false
        }
    }
}

pub fn push_sender_report(buf: &mut Vec<u8>, track: u16, arrival_us: u64, sr: &SenderReportRecord) {
    header(
        buf,
        Kind::SenderReport,
        track,
        arrival_us,
        SenderReportRecord::LEN,
    );
    let at = buf.len();
    buf.resize(at + SenderReportRecord::LEN, 0);
    sr.write(&mut buf[at..]);
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub kind: Kind,
    pub track: u16,
    pub arrival_us: u64,
    pub body: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    NotASegment,
    /// The file ends inside a record (a crash while writing): everything before is good.
    Truncated {
        at: usize,
    },
    UnknownKind {
        at: usize,
        kind: u8,
    },
    /// Damaged bytes from `at`; reading went on at `resumed_at`.
    Skipped {
        at: usize,
        resumed_at: usize,
    },
}

/// The record at `at`, if it looks like one we wrote: a known kind, a body that fits,
/// an RTP body of RTP version 2 or a sender report of its size, and an arrival time
/// within a day of the previous record's.
fn record_at(
    data: &[u8],
    at: usize,
    prev_us: Option<u64>,
) -> Result<(Record<'_>, usize), ReadError> {
    if data.len() - at < HEADER_LEN {
        return Err(ReadError::Truncated { at });
    }
    let kind = match data[at] {
        1 => Kind::Rtp,
        2 => Kind::SenderReport,
        k => return Err(ReadError::UnknownKind { at, kind: k }),
    };
    let track = u16::from_be_bytes([data[at + 1], data[at + 2]]);
    let arrival_us = u64::from_be_bytes(data[at + 3..at + 11].try_into().unwrap_or([0; 8]));
    let len = u16::from_be_bytes([data[at + 11], data[at + 12]]) as usize;
    let body_at = at + HEADER_LEN;
    if data.len() - body_at < len {
        return Err(ReadError::Truncated { at });
    }
    let body = &data[body_at..body_at + len];
    let plausible = match kind {
        Kind::Rtp => len >= 12 && body[0] >> 6 == 2,
        Kind::SenderReport => len == SenderReportRecord::LEN,
    } && prev_us.is_none_or(|p| p.abs_diff(arrival_us) <= DAY_US);
    if !plausible {
        return Err(ReadError::Skipped { at, resumed_at: at });
    }
    Ok((
        Record {
            kind,
            track,
            arrival_us,
            body,
        },
        body_at + len,
    ))
}

const DAY_US: u64 = 86_400_000_000;

/// Where reading can go on after damage at `at`: the first offset holding a plausible
/// record followed by another plausible record (or by the end of the data).
fn resync(data: &[u8], at: usize, prev_us: Option<u64>) -> Option<usize> {
    (at + 1..data.len()).find(|&j| {
        record_at(data, j, prev_us).is_ok_and(|(r, next)| {
            next == data.len() || record_at(data, next, Some(r.arrival_us)).is_ok()
        })
    })
}

/// Read every record of a segment: the good records, and the first damage met (a cut
/// tail ends the reading; damage inside is skipped over).
pub fn read(data: &[u8]) -> (Vec<Record<'_>>, Option<ReadError>) {
    let mut out: Vec<Record<'_>> = Vec::new();
    if !data.starts_with(MAGIC) {
        return (out, Some(ReadError::NotASegment));
    }
    let mut first_error = None;
    let mut at = MAGIC.len();
    while at < data.len() {
        let prev = out.last().map(|r| r.arrival_us);
        match record_at(data, at, prev) {
            Ok((r, next)) => {
                out.push(r);
                at = next;
            }
            Err(e) => match resync(data, at, prev) {
                Some(j) => {
                    first_error.get_or_insert(ReadError::Skipped { at, resumed_at: j });
                    at = j;
                }
                None => {
                    first_error.get_or_insert(match e {
                        ReadError::Skipped { at, .. } => ReadError::Truncated { at },
                        e => e,
                    });
                    break;
                }
            },
        }
    }
    (out, first_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::shared::marshal::Unmarshal;

    fn packet(seq: u16, payload: &[u8]) -> Packet {
        let mut p = Packet::default();
        p.header.version = 2;
        p.header.payload_type = 96;
        p.header.sequence_number = seq;
        p.header.timestamp = 90_000;
        p.header.ssrc = 42;
        p.payload = bytes::Bytes::copy_from_slice(payload);
        p
    }

    #[test]
    fn records_round_trip_and_a_cut_tail_is_reported() {
        let mut buf = MAGIC.to_vec();
        assert!(push_rtp(&mut buf, 3, 1_000, &packet(7, b"frame")));
        let sr = SenderReportRecord {
            ssrc: 42,
            ntp_time: 1 << 40,
            rtp_time: 90_000,
            packet_count: 1,
            octet_count: 5,
        };
        push_sender_report(&mut buf, 3, 1_500, &sr);
        assert!(push_rtp(&mut buf, 4, 2_000, &packet(8, b"next")));
        let (recs, err) = read(&buf);
        assert_eq!(err, None);
        assert_eq!(recs.len(), 3);
        assert_eq!(
            (recs[0].kind, recs[0].track, recs[0].arrival_us),
            (Kind::Rtp, 3, 1_000)
        );
        let mut body = recs[0].body;
        let back = Packet::unmarshal(&mut body).unwrap();
        assert_eq!(back.header.sequence_number, 7);
        assert_eq!(&back.payload[..], b"frame");
        assert_eq!(SenderReportRecord::read(recs[1].body), Some(sr));

        // A crash in the middle of the last record: the first two survive.
        let cut = &buf[..buf.len() - 3];
        let (recs, err) = read(cut);
        assert_eq!(recs.len(), 2);
        assert!(matches!(err, Some(ReadError::Truncated { .. })));
        assert_eq!(read(b"garbage").1, Some(ReadError::NotASegment));
    }

    #[test]
    fn damage_inside_a_segment_costs_only_the_damaged_record() {
        let mut buf = MAGIC.to_vec();
        let mut starts = Vec::new();
        for i in 0..20u16 {
            starts.push(buf.len());
            assert!(push_rtp(
                &mut buf,
                1,
                1_000_000 + u64::from(i) * 20_000,
                &packet(i, b"opus frame")
            ));
        }
        // One record's kind byte, another's length and a third's RTP version overwritten.
        let mut bad = buf.clone();
        bad[starts[5]] = 0x7f;
        bad[starts[9] + 11] = 0xff;
        bad[starts[14] + HEADER_LEN] = 0x00;
        let (recs, err) = read(&bad);
        assert!(matches!(err, Some(ReadError::Skipped { .. })), "{err:?}");
        let seqs: Vec<u16> = recs
            .iter()
            .map(|r| {
                let mut b = r.body;
                Packet::unmarshal(&mut b).unwrap().header.sequence_number
            })
            .collect();
        let lost: Vec<u16> = (0..20).filter(|i| !seqs.contains(i)).collect();
        assert_eq!(lost, vec![5, 9, 14], "{seqs:?}");
        // Random damage never panics, and what is read is only what was written.
        for seed in 0..200u32 {
            let mut b = buf.clone();
            let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(12_345);
            for _ in 0..3 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let i = MAGIC.len() + (x as usize) % (b.len() - MAGIC.len());
                b[i] ^= (x >> 8) as u8 | 1;
            }
            let (recs, _) = read(&b);
            assert!(recs.len() <= 20);
        }
    }
}
