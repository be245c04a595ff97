//! The statutory time limit: 45 days from acceptance (办案规则 art. 45), extendable by 15
//! days with approval; when a counterclaim is merged into the hearing the period restarts
//! from the counterclaim's acceptance (art. 46(4)).
//!
//! The extension is approved once (by the commission's head, in writing; the clerk records
//! who approved it and why) and only while the period is still running: an approval after
//! the deadline would extend a period that has already ended. Staff are warned
//! [`WARNING_DAYS`] days before the deadline; a closed case's state is judged at its
//! closing (closed in time, or late).

use crate::time::DAY_MS;
use serde::Serialize;

pub const BASE_DAYS: i64 = 45;
pub const EXTENSION_DAYS: i64 = 15;
/// Warn this many days before the deadline.
pub const WARNING_DAYS: i64 = 7;

/// The deadline of a case, given its own acceptance, the acceptance times of counterclaims
/// merged into its hearing, and whether an extension was approved.
pub fn deadline_at(accepted_at: i64, merged_counterclaims_accepted: &[i64], extended: bool) -> i64 {
    let start = merged_counterclaims_accepted
        .iter()
        .copied()
        .fold(accepted_at, i64::max);
    start + (BASE_DAYS + if extended { EXTENSION_DAYS } else { 0 }) * DAY_MS
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    Ok,
    /// Within the warning window.
    Warning,
    /// Passed (for a closed case: closed after the deadline).
    Overdue,
}

/// The deadline as the case view shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub at: i64,
    /// Whole days left (rounded down); negative once passed.
    pub days_left: i64,
    pub state: DeadlineState,
    pub extended: bool,
}

/// The deadline of a case seen at `now` (for a closed case: at its closing).
pub fn status(
    accepted_at: i64,
    merged_counterclaims_accepted: &[i64],
    extended: bool,
    now: i64,
    warning_days: i64,
) -> Deadline {
    let at = deadline_at(accepted_at, merged_counterclaims_accepted, extended);
    let left = at.saturating_sub(now);
    let state = if left < 0 {
        DeadlineState::Overdue
    } else if left <= warning_days.saturating_mul(DAY_MS) {
        DeadlineState::Warning
    } else {
        DeadlineState::Ok
    };
    Deadline {
        at,
        days_left: left.div_euclid(DAY_MS),
        state,
        extended,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionError {
    AlreadyExtended,
    Passed { deadline_at: i64 },
    CaseClosed,
}

impl std::fmt::Display for ExtensionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExtensionError::AlreadyExtended => write!(
                f,
                "审理期限已延长过一次，不能再次延长 / the time limit was already extended once"
            ),
            ExtensionError::Passed { .. } => write!(
                f,
                "审理期限已届满，不能再延长 / the time limit has already passed and cannot be extended"
            ),
            ExtensionError::CaseClosed => write!(f, "案件已结案 / the case is closed"),
        }
    }
}

/// Whether an extension may be recorded now.
pub fn may_extend(
    accepted_at: i64,
    merged_counterclaims_accepted: &[i64],
    already_extended: bool,
    closed: bool,
    now: i64,
) -> Result<(), ExtensionError> {
    if closed {
        return Err(ExtensionError::CaseClosed);
    }
    if already_extended {
        return Err(ExtensionError::AlreadyExtended);
    }
    let at = deadline_at(accepted_at, merged_counterclaims_accepted, false);
    if now > at {
        return Err(ExtensionError::Passed { deadline_at: at });
    }
    Ok(())
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

    #[test]
    fn the_counterclaim_restart_and_the_extension_add_up() {
        // Accepted day 0, counterclaim merged on day 20, extension approved: day 80.
        assert_eq!(deadline_at(0, &[20 * DAY_MS], true), 80 * DAY_MS);
        // Only the latest merged counterclaim counts.
        assert_eq!(
            deadline_at(0, &[20 * DAY_MS, 5 * DAY_MS], false),
            65 * DAY_MS
        );
        // A counterclaim accepted "before" the claim (imported data) does not shorten it.
        assert_eq!(deadline_at(30 * DAY_MS, &[0], false), 75 * DAY_MS);
    }

    #[test]
    fn state_ok_then_warning_then_overdue() {
        let s = status(0, &[], false, 0, WARNING_DAYS);
        assert_eq!(
            s,
            Deadline {
                at: 45 * DAY_MS,
                days_left: 45,
                state: DeadlineState::Ok,
                extended: false
            }
        );
        let s = status(0, &[], false, 38 * DAY_MS - 1, WARNING_DAYS);
        assert_eq!((s.days_left, s.state), (7, DeadlineState::Ok));
        let s = status(0, &[], false, 38 * DAY_MS, WARNING_DAYS);
        assert_eq!((s.days_left, s.state), (7, DeadlineState::Warning));
        let s = status(0, &[], false, 45 * DAY_MS, WARNING_DAYS);
        assert_eq!((s.days_left, s.state), (0, DeadlineState::Warning));
        let s = status(0, &[], false, 45 * DAY_MS + 1, WARNING_DAYS);
        assert_eq!((s.days_left, s.state), (-1, DeadlineState::Overdue));
        // The extension moves a warning back to ok.
        let s = status(0, &[], true, 40 * DAY_MS, WARNING_DAYS);
        assert_eq!(
            (s.at, s.days_left, s.state, s.extended),
            (60 * DAY_MS, 20, DeadlineState::Ok, true)
        );
        // A merged counterclaim restarts the count.
        let s = status(0, &[10 * DAY_MS], false, 44 * DAY_MS, WARNING_DAYS);
        assert_eq!((s.days_left, s.state), (11, DeadlineState::Ok));
    }

    #[test]
    fn one_extension_while_the_period_runs() {
        assert_eq!(may_extend(0, &[], false, false, 10 * DAY_MS), Ok(()));
        assert_eq!(
            may_extend(0, &[], true, false, 10 * DAY_MS),
            Err(ExtensionError::AlreadyExtended)
        );
        assert_eq!(
            may_extend(0, &[], false, true, 10 * DAY_MS),
            Err(ExtensionError::CaseClosed)
        );
        assert_eq!(
            may_extend(0, &[], false, false, 46 * DAY_MS),
            Err(ExtensionError::Passed {
                deadline_at: 45 * DAY_MS
            })
        );
        // The restart from a merged counterclaim keeps the period running.
        assert_eq!(
            may_extend(0, &[10 * DAY_MS], false, false, 46 * DAY_MS),
            Ok(())
        );
    }
}
