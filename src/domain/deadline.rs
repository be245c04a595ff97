//! The statutory time limit: 45 days from acceptance (办案规则 art. 45), extendable by 15
//! days with approval; when a counterclaim is merged into the hearing the period restarts
//! from the counterclaim's acceptance (art. 46(4)).

use crate::time::DAY_MS;

pub const BASE_DAYS: i64 = 45;
pub const EXTENSION_DAYS: i64 = 15;

/// The deadline of a case, given its own acceptance, the acceptance times of counterclaims
/// merged into its hearing, and whether an extension was approved.
pub fn deadline_at(accepted_at: i64, merged_counterclaims_accepted: &[i64], extended: bool) -> i64 {
    let start = merged_counterclaims_accepted
        .iter()
        .copied()
        .fold(accepted_at, i64::max);
    start + (BASE_DAYS + if extended { EXTENSION_DAYS } else { 0 }) * DAY_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_five_days_then_restart_on_merged_counterclaim() {
        assert_eq!(deadline_at(0, &[], false), 45 * DAY_MS);
        assert_eq!(deadline_at(0, &[], true), 60 * DAY_MS);
        assert_eq!(deadline_at(0, &[10 * DAY_MS], false), 55 * DAY_MS);
        assert_eq!(deadline_at(20 * DAY_MS, &[10 * DAY_MS], false), 65 * DAY_MS);
    }
}
