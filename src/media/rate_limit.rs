//! A token bucket per publisher: a peer that floods the server with RTP (a broken client,
//! or an attack) loses its excess packets instead of starving everyone else's forwarding.

#[derive(Debug, Clone, Copy)]
pub struct PacketBudget {
    per_second: u32,
    burst: u32,
    tokens_milli: u64,
    last_ms: u64,
}

impl PacketBudget {
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second,
            burst,
            tokens_milli: u64::from(burst) * 1000,
            last_ms: 0,
        }
    }

    /// May one more packet pass at `now_ms`?
    pub fn allow(&mut self, now_ms: u64) -> bool {
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.last_ms = now_ms.max(self.last_ms);
        let cap = u64::from(self.burst) * 1000;
        self.tokens_milli = (self.tokens_milli + elapsed * u64::from(self.per_second)).min(cap);
        if self.tokens_milli >= 1000 {
            self.tokens_milli -= 1000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let mut b = PacketBudget::new(100, 10);
        assert_eq!((0..20).filter(|_| b.allow(0)).count(), 10);
        // 100 per second: one every 10 ms.
        assert!(!b.allow(5));
        assert!(b.allow(10));
        let passed = (0..1000u64).filter(|i| b.allow(20 + i)).count();
        assert!((95..=105).contains(&passed), "{passed}");
    }

    #[test]
    fn idle_time_refills_only_up_to_the_burst() {
        let mut b = PacketBudget::new(1000, 5);
        for _ in 0..5 {
            assert!(b.allow(0));
        }
        assert_eq!((0..100).filter(|_| b.allow(60_000)).count(), 5);
    }
}
