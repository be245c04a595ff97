//! A plain-language connection quality from round-trip time and loss, the same thresholds
//! the party's device check uses: good enough for video, audio-only advised, or poor.

use super::signaling::QualityLevel;

pub fn level(rtt_ms: u32, loss_permille: u16) -> QualityLevel {
    if rtt_ms < 300 && loss_permille < 20 {
        QualityLevel::Good
    } else if rtt_ms < 600 && loss_permille < 80 {
        QualityLevel::Fair
    } else {
        QualityLevel::Poor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(level(40, 0), QualityLevel::Good);
        assert_eq!(level(350, 5), QualityLevel::Fair);
        assert_eq!(level(100, 50), QualityLevel::Fair);
        assert_eq!(level(100, 120), QualityLevel::Poor);
        assert_eq!(level(900, 0), QualityLevel::Poor);
    }
}
