//! VP8 carries its own frame numbering in every packet's payload descriptor (RFC 7741):
//! the PictureID of the frame and the TL0PICIDX of its temporal base layer. Each simulcast
//! layer is a separate encoder with its own random starting values, so a subscriber moved
//! from one layer to another sees these numbers jump, often backwards. Chrome's receiver
//! orders and references frames by them: after a backward jump it takes the new keyframe
//! and every frame after it for frames it has already decoded, drops them, and neither
//! reports loss nor asks for a keyframe (the packets themselves are all there). The
//! picture freezes while packets keep arriving.
//!
//! So, like the sequence numbers and timestamps ([`super::seq_map`]), the ids of each
//! subscriber's stream continue across a change of source: the first frame after the
//! switch (a keyframe) takes the next PictureID and TL0PICIDX after the last forwarded
//! ones, and the rest of that source follows with the same offset. While the offsets are
//! zero (the usual case: one source all along) the payload is forwarded untouched.

/// One packet's payload descriptor (RFC 7741 §4.2): where its ids sit, and where the VP8
/// data after it begins. The one reader of the descriptor (keyframe detection uses it too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Ids {
    /// Byte offset and value of the PictureID, and whether it is the 15-bit form.
    pub picture_id: Option<(usize, u16, bool)>,
    /// Byte offset and value of the TL0PICIDX.
    pub tl0: Option<(usize, u8)>,
    /// Where the VP8 payload (at a frame's start, its frame header) begins.
    pub payload_at: usize,
}

/// Read a VP8 payload descriptor; `None` when it is too short to be one.
pub fn parse(p: &[u8]) -> Option<Vp8Ids> {
    let first = *p.first()?;
    let mut ids = Vp8Ids {
        picture_id: None,
        tl0: None,
        payload_at: 1,
    };
    if first & 0x80 == 0 {
        return Some(ids);
    }
    let x = *p.get(1)?;
    let mut i = 2;
    if x & 0x80 != 0 {
        let b = *p.get(i)?;
        if b & 0x80 != 0 {
            let lo = *p.get(i + 1)?;
            ids.picture_id = Some((i, (u16::from(b & 0x7f) << 8) | u16::from(lo), true));
            i += 2;
        } else {
            ids.picture_id = Some((i, u16::from(b), false));
            i += 1;
        }
    }
    if x & 0x40 != 0 {
        ids.tl0 = Some((i, *p.get(i)?));
        i += 1;
    }
    if x & 0x30 != 0 {
        i += 1; // TID/Y/KEYIDX
    }
    ids.payload_at = i;
    Some(ids)
}

/// The rewrite one packet needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Rewrite {
    ids: Vp8Ids,
    picture_id: u16,
    tl0: u8,
}

impl Vp8Rewrite {
    /// Write the mapped ids into a copy of the packet's payload.
    pub fn apply(&self, p: &mut [u8]) {
        if let Some((at, _, wide)) = self.ids.picture_id {
            if wide {
                p[at] = 0x80 | ((self.picture_id >> 8) as u8 & 0x7f);
                p[at + 1] = self.picture_id as u8;
            } else {
                p[at] = self.picture_id as u8 & 0x7f;
            }
        }
        if let Some((at, _)) = self.ids.tl0 {
            p[at] = self.tl0;
        }
    }
}

/// One subscriber's VP8 id continuity for one forwarded video.
#[derive(Debug, Clone, Copy, Default)]
pub struct PictureIdMapper {
    source: Option<u32>,
    pid_offset: u16,
    tl0_offset: u8,
    /// The newest PictureID and TL0PICIDX forwarded (after mapping).
    last_pid: Option<u16>,
    last_tl0: Option<u8>,
}

const PID_MASK_WIDE: u16 = 0x7fff;

fn pid_newer(a: u16, b: u16) -> bool {
    a != b && (a.wrapping_sub(b) & PID_MASK_WIDE) < 0x4000
}

impl PictureIdMapper {
    /// The stream resumes at a keyframe: its ids follow the last ones sent (see
    /// [`super::seq_map::SequenceMapper::rebase`]).
    pub fn rebase(&mut self) {
        self.source = None;
    }

    /// Map a packet from `source` (its SSRC), its descriptor read once by [`parse`] for
    /// every subscriber; `None` when its bytes stay as they are.
    pub fn map(&mut self, source: u32, ids: Vp8Ids) -> Option<Vp8Rewrite> {
        let pid = ids.picture_id.map(|(_, v, _)| v);
        let tl0 = ids.tl0.map(|(_, v)| v);
        if self.source != Some(source) {
            if let (Some(last), Some(p)) = (self.last_pid, pid) {
                self.pid_offset = last.wrapping_add(1).wrapping_sub(p) & PID_MASK_WIDE;
            }
            if let (Some(last), Some(t)) = (self.last_tl0, tl0) {
                self.tl0_offset = last.wrapping_add(1).wrapping_sub(t);
            }
            self.source = Some(source);
        }
        let out_pid = pid.map(|p| {
            let wide = ids.picture_id.is_some_and(|(_, _, w)| w);
            let mask = if wide { PID_MASK_WIDE } else { 0x7f };
            p.wrapping_add(self.pid_offset) & mask
        });
        let out_tl0 = tl0.map(|t| t.wrapping_add(self.tl0_offset));
        if let Some(p) = out_pid
            && self.last_pid.is_none_or(|l| pid_newer(p, l))
        {
            self.last_pid = Some(p);
        }
        if let Some(t) = out_tl0
            && self
                .last_tl0
                .is_none_or(|l| t != l && t.wrapping_sub(l) < 0x80)
        {
            self.last_tl0 = Some(t);
        }
        if out_pid == pid && out_tl0 == tl0 {
            return None;
        }
        Some(Vp8Rewrite {
            ids,
            picture_id: out_pid.unwrap_or(0),
            tl0: out_tl0.unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A descriptor with X, I (15-bit PictureID), L and T set, then one payload byte.
    fn pkt(pid: u16, tl0: u8, start: bool) -> Vec<u8> {
        vec![
            0x80 | if start { 0x10 } else { 0 },
            0xe0,
            0x80 | (pid >> 8) as u8,
            pid as u8,
            tl0,
            0x20,
            0x9d,
        ]
    }

    fn mapped(m: &mut PictureIdMapper, source: u32, p: Vec<u8>) -> (u16, u8) {
        let mut p = p;
        if let Some(rw) = m.map(source, parse(&p).unwrap()) {
            rw.apply(&mut p);
        }
        let ids = parse(&p).unwrap();
        (ids.picture_id.unwrap().1, ids.tl0.unwrap().1)
    }

    #[test]
    fn reads_every_descriptor_form() {
        assert_eq!(
            parse(&pkt(0x1234, 7, true)),
            Some(Vp8Ids {
                picture_id: Some((2, 0x1234, true)),
                tl0: Some((4, 7)),
                payload_at: 6,
            })
        );
        // 7-bit PictureID, no TL0PICIDX.
        assert_eq!(
            parse(&[0x90, 0x80, 0x05, 0x9d]),
            Some(Vp8Ids {
                picture_id: Some((2, 5, false)),
                tl0: None,
                payload_at: 3,
            })
        );
        // No extension byte at all.
        assert_eq!(
            parse(&[0x10, 0x9d]),
            Some(Vp8Ids {
                picture_id: None,
                tl0: None,
                payload_at: 1,
            })
        );
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&[0x80, 0x80, 0x85]), None, "truncated 15-bit id");
    }

    #[test]
    fn one_source_passes_untouched() {
        let mut m = PictureIdMapper::default();
        for i in 0..5u16 {
            assert_eq!(m.map(1, parse(&pkt(100 + i, 3, true)).unwrap()), None);
        }
    }

    #[test]
    fn a_switch_continues_the_ids_even_when_the_new_layer_is_behind() {
        let mut m = PictureIdMapper::default();
        assert_eq!(mapped(&mut m, 1, pkt(30_000, 200, true)), (30_000, 200));
        assert_eq!(mapped(&mut m, 1, pkt(30_001, 200, false)), (30_001, 200));
        // The new layer's numbers are far behind (and wrap): they continue from 30 001.
        assert_eq!(mapped(&mut m, 2, pkt(12, 4, true)), (30_002, 201));
        assert_eq!(mapped(&mut m, 2, pkt(13, 4, false)), (30_003, 201));
        assert_eq!(mapped(&mut m, 2, pkt(14, 5, true)), (30_004, 202));
        // And back to the first layer, wherever it has got to.
        assert_eq!(mapped(&mut m, 1, pkt(30_010, 209, true)), (30_005, 203));
    }

    #[test]
    fn a_resume_continues_the_ids_of_the_same_source() {
        let mut m = PictureIdMapper::default();
        mapped(&mut m, 1, pkt(500, 20, true));
        m.rebase();
        // Frames 501..=540 were never sent: the keyframe follows 500 directly.
        assert_eq!(mapped(&mut m, 1, pkt(541, 31, true)), (501, 21));
        assert_eq!(mapped(&mut m, 1, pkt(542, 31, false)), (502, 21));
    }

    #[test]
    fn picture_ids_wrap_at_fifteen_bits() {
        let mut m = PictureIdMapper::default();
        mapped(&mut m, 1, pkt(0x7fff, 255, true));
        assert_eq!(mapped(&mut m, 2, pkt(500, 9, true)), (0, 0));
        assert_eq!(mapped(&mut m, 2, pkt(501, 9, true)), (1, 0));
    }

    #[test]
    fn the_rest_of_the_packet_is_not_touched() {
        let mut m = PictureIdMapper::default();
        mapped(&mut m, 1, pkt(10, 1, true));
        let mut p = pkt(900, 50, true);
        let rw = m.map(2, parse(&p).unwrap()).expect("a rewrite");
        rw.apply(&mut p);
        assert_eq!(p[0], 0x90);
        assert_eq!(p[1], 0xe0);
        assert_eq!(&p[5..], &[0x20, 0x9d]);
    }
}
