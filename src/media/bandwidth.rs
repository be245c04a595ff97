//! How much the server may send one subscriber, estimated from the loss its receiver
//! reports describe (RTCP RR, about once a second per stream). This is the loss-based
//! half of Google Congestion Control (Holmer et al., draft-ietf-rmcat-gcc §6): heavy
//! loss cuts the estimate in proportion to the loss, light loss lets it grow by 8 %, and
//! in between it holds. Phones on mobile networks show congestion as loss long before
//! anything else the server can see, and a reported loss needs no probing.
//!
//! Until a subscriber reports loss, nothing limits it but the sizes it shows videos at:
//! the estimate starts at the maximum. The first heavy loss cuts from what the server was
//! actually sending (not from that maximum), so the reaction is immediate.

use std::time::{Duration, Instant};

pub const MIN_BPS: u32 = 60_000;
/// Where a subscriber starts: unconstrained until it reports loss.
pub const MAX_BPS: u32 = 8_000_000;
/// Above this loss the estimate falls (per mille).
pub const HIGH_LOSS_PERMILLE: u32 = 100;
/// Below this loss it grows.
pub const LOW_LOSS_PERMILLE: u32 = 20;
/// Growth per report of low loss (per mille)...
pub const GROWTH_PERMILLE: u64 = 1_080;
/// ...and at least this much (GCC's 8 % alone takes half a minute to climb back from the
/// floor to a phone's lowest video layer; the link was clean for a second meanwhile).
pub const GROWTH_MIN_BPS: u64 = 50_000;
/// Reports closer together than this are taken as one (a compound RTCP packet carries
/// one report block per stream the subscriber receives).
pub const MIN_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Copy)]
pub struct LossBasedEstimate {
    bps: u32,
    last_update: Option<Instant>,
    /// The worst loss reported since the last update, per mille.
    pending_loss: Option<u32>,
    /// The last loss taken into account, per mille (for stats and quality).
    pub last_loss_permille: u32,
}

impl Default for LossBasedEstimate {
    fn default() -> Self {
        Self {
            bps: MAX_BPS,
            last_update: None,
            pending_loss: None,
            last_loss_permille: 0,
        }
    }
}

impl LossBasedEstimate {
    pub fn bps(&self) -> u32 {
        self.bps
    }

    /// One report block's "fraction lost" (RFC 3550: loss since the last report, in
    /// 1/256) about a stream we send this subscriber; `sending_bps` is what the server
    /// sends it now.
    pub fn on_report(&mut self, fraction_lost: u8, now: Instant, sending_bps: u32) {
        let permille = u32::from(fraction_lost) * 1000 / 256;
        self.pending_loss = Some(self.pending_loss.map_or(permille, |p| p.max(permille)));
        if self
            .last_update
            .is_some_and(|t| now.duration_since(t) < MIN_INTERVAL)
        {
            return;
        }
        let loss = self.pending_loss.take().unwrap_or(0);
        self.last_update = Some(now);
        self.last_loss_permille = loss;
        let bps = u64::from(self.bps);
        let next = if loss > HIGH_LOSS_PERMILLE {
            // × (1 − loss/2), from no more than what was being sent.
            bps.min(u64::from(sending_bps.max(MIN_BPS))) * (2000 - u64::from(loss)) / 2000
        } else if loss < LOW_LOSS_PERMILLE {
            (bps * GROWTH_PERMILLE / 1000).max(bps + GROWTH_MIN_BPS)
        } else {
            bps
        };
        self.bps = next.clamp(u64::from(MIN_BPS), u64::from(MAX_BPS)) as u32;
    }

    /// The subscriber's own report of how much it can receive (REMB) caps the estimate.
    pub fn cap(&mut self, bps: u32) {
        self.bps = self.bps.min(bps.max(MIN_BPS));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(
        e: &mut LossBasedEstimate,
        loss_256: u8,
        seconds: u64,
        t0: Instant,
        sending: u32,
    ) -> Instant {
        let mut t = t0;
        for _ in 0..seconds {
            t += Duration::from_secs(1);
            e.on_report(loss_256, t, sending);
        }
        t
    }

    #[test]
    fn unconstrained_until_loss_then_cut_from_what_was_sent() {
        let t0 = Instant::now();
        let mut e = LossBasedEstimate::default();
        let t = feed(&mut e, 0, 10, t0, 1_500_000);
        assert_eq!(e.bps(), MAX_BPS);
        // 30 % loss (77/256) while sending 1.5 Mbps: × 0.85 of 1.5 Mbps.
        let t = feed(&mut e, 77, 1, t, 1_500_000);
        assert_eq!(e.bps(), 1_275_000);
        assert_eq!(e.last_loss_permille, 300);
        // Clean again: +8 % a report (1.275 × 1.08^10 ≈ 2.75 Mbps).
        feed(&mut e, 0, 10, t, 1_000_000);
        assert!((2_700_000..2_800_000).contains(&e.bps()), "{}", e.bps());
    }

    #[test]
    fn from_the_floor_it_climbs_by_at_least_50_kbps_a_report() {
        let t0 = Instant::now();
        let mut e = LossBasedEstimate::default();
        let t = feed(&mut e, 255, 30, t0, 100_000);
        assert_eq!(e.bps(), MIN_BPS);
        // 60 → 360 kbps in six clean reports (8 % alone: 95 kbps).
        feed(&mut e, 0, 6, t, 50_000);
        assert_eq!(e.bps(), MIN_BPS + 6 * 50_000);
    }

    #[test]
    fn moderate_loss_holds_and_the_estimate_stays_in_bounds() {
        let t0 = Instant::now();
        let mut e = LossBasedEstimate::default();
        let t = feed(&mut e, 128, 1, t0, 1_000_000);
        assert_eq!(e.bps(), 750_000);
        let t = feed(&mut e, 13, 5, t, 750_000); // 5 %: hold
        assert_eq!(e.bps(), 750_000);
        let t = feed(&mut e, 255, 60, t, 750_000);
        assert_eq!(e.bps(), MIN_BPS);
        feed(&mut e, 0, 200, t, MIN_BPS);
        assert_eq!(e.bps(), MAX_BPS);
    }

    #[test]
    fn report_blocks_of_one_compound_packet_count_once_with_the_worst_loss() {
        let t0 = Instant::now();
        let mut e = LossBasedEstimate::default();
        e.on_report(0, t0, 1_000_000);
        // Three blocks 1 ms apart: one update, with the worst loss, at the next report.
        e.on_report(0, t0 + Duration::from_millis(1), 1_000_000);
        e.on_report(128, t0 + Duration::from_millis(2), 1_000_000);
        e.on_report(0, t0 + Duration::from_millis(3), 1_000_000);
        assert_eq!(e.bps(), MAX_BPS);
        e.on_report(0, t0 + Duration::from_secs(1), 1_000_000);
        assert_eq!(e.last_loss_permille, 500);
        assert_eq!(e.bps(), 750_000);
    }

    #[test]
    fn remb_caps_it() {
        let mut e = LossBasedEstimate::default();
        e.cap(300_000);
        assert_eq!(e.bps(), 300_000);
        e.cap(1);
        assert_eq!(e.bps(), MIN_BPS);
    }
}
