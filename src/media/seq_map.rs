//! One outgoing stream per subscriber, many possible sources: when the forwarded simulcast
//! layer changes, or the publisher reconnects with a new SSRC, the subscriber must still
//! see one continuous stream (consecutive sequence numbers, timestamps that advance with
//! wall time), or it would treat the switch as loss or a clock jump.

#[derive(Debug, Clone, Copy, Default)]
pub struct SequenceMapper {
    source: Option<u32>,
    seq_offset: u16,
    ts_offset: u32,
    last_out: Option<(u16, u32, u64)>,
    /// The source sequence number the current mapping started at: anything older from
    /// that source predates the switch and would land on numbers already used.
    floor: Option<u16>,
}

/// `a` is after `b` in RFC 3550 serial-number order.
pub fn seq_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

impl SequenceMapper {
    /// Map a packet from `source` (its SSRC) to the subscriber's numbering.
    pub fn map(
        &mut self,
        source: u32,
        seq: u16,
        ts: u32,
        now_ms: u64,
        clock_rate: u32,
    ) -> (u16, u32) {
        if self.source != Some(source) {
            if let Some((last_seq, last_ts, last_at)) = self.last_out {
                let elapsed_ms = now_ms.saturating_sub(last_at);
                let ts_gap = ((elapsed_ms * u64::from(clock_rate)) / 1000).max(1) as u32;
                self.seq_offset = last_seq.wrapping_add(1).wrapping_sub(seq);
                self.ts_offset = last_ts.wrapping_add(ts_gap).wrapping_sub(ts);
            }
            self.source = Some(source);
            self.floor = Some(seq);
        }
        let out = (
            seq.wrapping_add(self.seq_offset),
            ts.wrapping_add(self.ts_offset),
        );
        if self
            .last_out
            .is_none_or(|(last, _, _)| seq_newer(out.0, last))
        {
            self.last_out = Some((out.0, out.1, now_ms));
        }
        out
    }

    /// The packet with this source sequence number is deliberately not forwarded (e.g. a
    /// padding-only packet): close the gap so the subscriber does not ask for it.
    pub fn skip(&mut self) {
        self.seq_offset = self.seq_offset.wrapping_sub(1);
    }

    /// The source (SSRC) currently mapped.
    pub fn source(&self) -> Option<u32> {
        self.source
    }

    /// The stream resumes at a keyframe after a pause: whatever the source lost meanwhile
    /// is of no use to the decoder, so the next packet follows the last one sent, as after
    /// a change of source (no gap for the receiver to report as loss and ask for).
    pub fn rebase(&mut self) {
        self.source = None;
    }

    /// A packet from before the current mapping began (a late or retransmitted one from
    /// before a switch or a resume): it must not be forwarded, its number is taken.
    pub fn is_stale(&self, source: u32, seq: u16) -> bool {
        self.source == Some(source) && self.floor.is_some_and(|f| seq_newer(f, seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_source_passes_through() {
        let mut m = SequenceMapper::default();
        assert_eq!(m.map(1, 100, 9000, 0, 90_000), (100, 9000));
        assert_eq!(m.map(1, 101, 9000, 5, 90_000), (101, 9000));
    }

    #[test]
    fn switching_source_continues_sequence_and_time() {
        let mut m = SequenceMapper::default();
        m.map(1, 65_534, 1_000, 0, 90_000);
        m.map(1, 65_535, 4_000, 33, 90_000);
        // New layer with unrelated numbering, 100 ms later.
        let (s, t) = m.map(2, 7, 500_000, 133, 90_000);
        assert_eq!(s, 0); // wraps past 65535
        assert_eq!(t, 4_000 + 9_000);
        assert_eq!(m.map(2, 8, 503_000, 166, 90_000), (1, 16_000));
    }

    #[test]
    fn reordered_and_skipped_packets() {
        let mut m = SequenceMapper::default();
        m.map(1, 10, 0, 0, 48_000);
        m.map(1, 12, 0, 0, 48_000);
        // A late packet keeps its place and does not become "newest".
        assert_eq!(m.map(1, 11, 0, 0, 48_000).0, 11);
        m.skip(); // source seq 13 dropped on purpose
        assert_eq!(m.map(1, 14, 0, 0, 48_000).0, 13);
        assert!(seq_newer(0, 65_535) && !seq_newer(65_535, 0));
    }

    #[test]
    fn a_resume_after_source_loss_leaves_no_gap_and_refuses_older_packets() {
        let mut m = SequenceMapper::default();
        m.map(1, 100, 9_000, 0, 90_000);
        m.map(1, 101, 9_000, 0, 90_000);
        // Paused; the source loses 102..=149 on the way; the stream resumes at 150.
        m.rebase();
        assert!(!m.is_stale(1, 150));
        assert_eq!(m.map(1, 150, 90_000, 1_000, 90_000), (102, 99_000));
        assert_eq!(m.map(1, 151, 90_000, 1_010, 90_000).0, 103);
        // A late packet from before the resume would reuse a number: refused.
        assert!(m.is_stale(1, 140));
        assert!(!m.is_stale(1, 152));
        // Another source is judged by its own mapping when it comes.
        assert!(!m.is_stale(2, 1));
    }
}
