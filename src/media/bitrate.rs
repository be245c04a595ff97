//! A stream's bitrate, measured over one-second windows (no allocation, no history):
//! what a simulcast layer currently costs, and what the server sends a subscriber.

/// A layer silent for this long is taken as off (the browser stopped encoding it).
pub const IDLE_MS: u64 = 2_000;
const WINDOW_MS: u64 = 1_000;

#[derive(Debug, Clone, Copy, Default)]
pub struct BitrateMeter {
    window_start_ms: u64,
    window_bytes: u64,
    last_packet_ms: Option<u64>,
    bps: u32,
}

impl BitrateMeter {
    pub fn on_bytes(&mut self, bytes: usize, now_ms: u64) {
        if self.last_packet_ms.is_none() {
            self.window_start_ms = now_ms;
        }
        self.roll(now_ms);
        self.window_bytes += bytes as u64;
        self.last_packet_ms = Some(now_ms);
    }

    fn roll(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.window_start_ms);
        if elapsed >= WINDOW_MS {
            let measured = (self.window_bytes * 8 * 1000 / elapsed).min(u64::from(u32::MAX)) as u32;
            // Half the old, half the new: a keyframe's burst does not whip the layer choice.
            self.bps = if self.bps == 0 {
                measured
            } else {
                ((u64::from(self.bps) + u64::from(measured)) / 2) as u32
            };
            self.window_start_ms = now_ms;
            self.window_bytes = 0;
        }
    }

    /// The bitrate as of `now_ms`; 0 once the stream has been silent for [`IDLE_MS`].
    pub fn bps(&self, now_ms: u64) -> u32 {
        match self.last_packet_ms {
            Some(t) if now_ms.saturating_sub(t) < IDLE_MS => self.bps,
            _ => 0,
        }
    }

    /// Whether the stream is flowing (for choosing layers before a full window).
    pub fn active(&self, now_ms: u64) -> bool {
        self.last_packet_ms
            .is_some_and(|t| now_ms.saturating_sub(t) < IDLE_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_stream_reads_its_rate_and_a_silent_one_reads_zero() {
        let mut m = BitrateMeter::default();
        // 500 kbps: 62 500 bytes a second, in 50 packets.
        for i in 0..150u64 {
            m.on_bytes(1_250, i * 20);
        }
        assert_eq!(m.bps(2_990), 500_000);
        assert!(m.active(2_990));
        assert_eq!(m.bps(2_980 + IDLE_MS), 0);
        assert!(!m.active(2_980 + IDLE_MS));
    }
}
