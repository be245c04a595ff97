//! The statistics page's figures as plain arithmetic over one row per case, so every
//! definition is here, in one place, and unit-tested:
//!
//! - **Period**: whole calendar months `from ..= to` in the commission's time (UTC+8).
//! - **Received / closed per month**: cases whose `accepted_at` / `closed_at` falls in the
//!   month. Every case row counts, counterclaims (反申请) included: each has its own number.
//! - **Closed-case figures** (closing methods, mediation rate, online hearing share, days to
//!   close, within deadline) are over the cases *closed in the period*.
//! - **Mediation rate (调解率)** = (closed by mediation + withdrawals after settlement) /
//!   closed. A withdrawal counts as "after settlement" when the case holds an effective
//!   mediation agreement (a signed 调解协议 document); nothing else in the record shows an
//!   out-of-hearing settlement. All withdrawals are also reported separately, so the
//!   commonly quoted 调撤率 ((mediation + withdrawal) / closed) can be derived.
//! - **Online hearing share** = closed cases with at least one hearing actually held / closed.
//!   Every hearing on this system is online; "held" means the hearing reached `closed`, or
//!   its record has a `hearing.phase` event (the chair moved it on). A merged counterclaim
//!   shares its claim's hearing.
//! - **Days to close** = `(closed_at − accepted_at)` in days (fractional, 86 400 000 ms a
//!   day). Median and 90th percentile by linear interpolation between closest ranks (the
//!   method of Excel's `PERCENTILE.INC` and numpy's default): p of sorted x₀..xₙ₋₁ is
//!   x at rank p·(n−1).
//! - **Within the deadline** = closed cases with `closed_at ≤ deadline::deadline_at(…)` /
//!   closed.
//! - **Per-arbitrator load**: per case arbitrator (`cases.arbitrator_id`): cases open now
//!   (a snapshot, whatever the period), cases received in the period, cases closed in it.
//!   Cases without an arbitrator are left out of this table.
//!
//! A share over zero cases is `None` (shown as "—"), never a division by zero.

use super::case_status::ClosingMethod;
use crate::time::DAY_MS;
use chrono::{Datelike, FixedOffset, NaiveDate, TimeZone};
use serde::Serialize;
use std::collections::BTreeMap;

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// Strictly `YYYY-MM`, years 2000–2999.
    pub fn parse(s: &str) -> Option<Month> {
        let b = s.as_bytes();
        if b.len() != 7 || b[4] != b'-' || !s.is_char_boundary(4) {
            return None;
        }
        if !b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit) {
            return None;
        }
        let year: i32 = s[..4].parse().ok()?;
        let month: u32 = s[5..].parse().ok()?;
        ((2000..=2999).contains(&year) && (1..=12).contains(&month))
            .then_some(Month { year, month })
    }

    /// The month `ms` falls in, at `utc_offset_hours`.
    pub fn of(ms: i64, utc_offset_hours: i32) -> Month {
        let local = crate::time::local(ms, utc_offset_hours);
        Month {
            year: local.year(),
            month: local.month(),
        }
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Months back (n = 0: this month).
    pub fn minus(self, n: u32) -> Month {
        let idx = self.index() - i64::from(n);
        Month {
            year: idx.div_euclid(12) as i32,
            month: idx.rem_euclid(12) as u32 + 1,
        }
    }

    fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    /// How many months `from ..= to` spans (0 when `to` is before `from`).
    pub fn span(from: Month, to: Month) -> i64 {
        (to.index() - from.index() + 1).max(0)
    }

    /// The first instant of the month at `utc_offset_hours`, in ms since the epoch.
    pub fn start_ms(self, utc_offset_hours: i32) -> i64 {
        let offset = FixedOffset::east_opt(utc_offset_hours * 3600)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC is a valid offset"));
        let date = NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default();
        offset
            .from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
            .single()
            .map(|d| d.timestamp_millis())
            .unwrap_or(0)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The midnight starting local date `YYYY-MM-DD` at `utc_offset_hours`; `None` if not a date.
pub fn day_start_ms(date: &str, utc_offset_hours: i32) -> Option<i64> {
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    if !b
        .iter()
        .enumerate()
        .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    {
        return None;
    }
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    if !(2000..=2999).contains(&d.year()) {
        return None;
    }
    let offset = FixedOffset::east_opt(utc_offset_hours * 3600)?;
    offset
        .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|t| t.timestamp_millis())
}

/// Percentile `p` (0–1) of `sorted` (ascending) by linear interpolation between closest
/// ranks; `None` for an empty list.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !p.is_finite() {
        return None;
    }
    let p = p.clamp(0.0, 1.0);
    let rank = p * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let frac = rank - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

/// `part / whole`, or `None` over nothing.
pub fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// What the statistics need to know about one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFact {
    pub accepted_at: i64,
    /// Set when the case is closed.
    pub closed_at: Option<i64>,
    pub closing_method: Option<ClosingMethod>,
    /// From `deadline::deadline_at`.
    pub deadline_at: i64,
    /// At least one hearing of the case was actually held (online).
    pub hearing_held: bool,
    /// The case holds an effective mediation agreement.
    pub settled: bool,
    /// The case's arbitrator: id and display name.
    pub arbitrator: Option<(i64, String)>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MonthRow {
    pub month: Month,
    pub received: usize,
    pub closed: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct MethodCounts {
    pub mediation: usize,
    pub award: usize,
    pub withdrawal: usize,
    pub deemed_withdrawal: usize,
    pub rejection: usize,
}

impl MethodCounts {
    fn add(&mut self, m: ClosingMethod) {
        match m {
            ClosingMethod::Mediation => self.mediation += 1,
            ClosingMethod::Award => self.award += 1,
            ClosingMethod::Withdrawal => self.withdrawal += 1,
            ClosingMethod::DeemedWithdrawal => self.deemed_withdrawal += 1,
            ClosingMethod::Rejection => self.rejection += 1,
        }
    }

    /// (method, count) in a fixed order.
    pub fn entries(&self) -> [(ClosingMethod, usize); 5] {
        [
            (ClosingMethod::Mediation, self.mediation),
            (ClosingMethod::Award, self.award),
            (ClosingMethod::Withdrawal, self.withdrawal),
            (ClosingMethod::DeemedWithdrawal, self.deemed_withdrawal),
            (ClosingMethod::Rejection, self.rejection),
        ]
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ArbitratorLoad {
    pub id: i64,
    pub name: String,
    /// Open now, whatever the period.
    pub open: usize,
    pub received: usize,
    pub closed: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Statistics {
    pub from: Month,
    pub to: Month,
    pub months: Vec<MonthRow>,
    pub received: usize,
    pub closed: usize,
    pub closing_methods: MethodCounts,
    /// Withdrawals of cases holding an effective mediation agreement.
    pub settled_withdrawals: usize,
    pub mediation_rate: Option<f64>,
    /// Closed cases that had a hearing held.
    pub hearing_held: usize,
    pub online_hearing_share: Option<f64>,
    pub days_to_close_median: Option<f64>,
    pub days_to_close_p90: Option<f64>,
    pub within_deadline: usize,
    pub within_deadline_share: Option<f64>,
    pub arbitrators: Vec<ArbitratorLoad>,
}

/// The figures for `from ..= to` (months at `utc_offset_hours`) over `cases`.
pub fn compute(cases: &[CaseFact], from: Month, to: Month, utc_offset_hours: i32) -> Statistics {
    let start = from.start_ms(utc_offset_hours);
    let end = to.next().start_ms(utc_offset_hours);
    let in_period = |ms: i64| ms >= start && ms < end;

    let mut months: BTreeMap<Month, MonthRow> = BTreeMap::new();
    let mut m = from;
    while m <= to {
        months.insert(
            m,
            MonthRow {
                month: m,
                received: 0,
                closed: 0,
            },
        );
        m = m.next();
    }

    let mut received = 0;
    let mut closed = 0;
    let mut methods = MethodCounts::default();
    let mut settled_withdrawals = 0;
    let mut held = 0;
    let mut within = 0;
    let mut days = Vec::new();
    let mut load: BTreeMap<i64, ArbitratorLoad> = BTreeMap::new();

    for c in cases {
        let was_received = in_period(c.accepted_at);
        let closed_in = c.closed_at.filter(|&t| in_period(t));
        let arb = c.arbitrator.as_ref().map(|(id, name)| {
            load.entry(*id).or_insert_with(|| ArbitratorLoad {
                id: *id,
                name: name.clone(),
                open: 0,
                received: 0,
                closed: 0,
            })
        });
        if let Some(a) = arb {
            if c.closed_at.is_none() {
                a.open += 1;
            }
            if was_received {
                a.received += 1;
            }
            if closed_in.is_some() {
                a.closed += 1;
            }
        }
        if was_received {
            received += 1;
            if let Some(row) = months.get_mut(&Month::of(c.accepted_at, utc_offset_hours)) {
                row.received += 1;
            }
        }
        let Some(closed_at) = closed_in else { continue };
        closed += 1;
        if let Some(row) = months.get_mut(&Month::of(closed_at, utc_offset_hours)) {
            row.closed += 1;
        }
        if let Some(method) = c.closing_method {
            methods.add(method);
            if method == ClosingMethod::Withdrawal && c.settled {
                settled_withdrawals += 1;
            }
        }
        if c.hearing_held {
            held += 1;
        }
        if closed_at <= c.deadline_at {
            within += 1;
        }
        days.push((closed_at - c.accepted_at) as f64 / DAY_MS as f64);
    }
    days.sort_by(f64::total_cmp);
    let mut arbitrators: Vec<ArbitratorLoad> = load
        .into_values()
        .filter(|a| a.open + a.received + a.closed > 0)
        .collect();
    arbitrators.sort_by(|a, b| {
        (b.open + b.received)
            .cmp(&(a.open + a.received))
            .then(a.id.cmp(&b.id))
    });
    Statistics {
        from,
        to,
        months: months.into_values().collect(),
        received,
        closed,
        mediation_rate: share(methods.mediation + settled_withdrawals, closed),
        closing_methods: methods,
        settled_withdrawals,
        hearing_held: held,
        online_hearing_share: share(held, closed),
        days_to_close_median: percentile(&days, 0.5),
        days_to_close_p90: percentile(&days, 0.9),
        within_deadline: within,
        within_deadline_share: share(within, closed),
        arbitrators,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CN: i32 = 8;

    fn at(date: &str, hour: i64) -> i64 {
        day_start_ms(date, CN).unwrap() + hour * crate::time::HOUR_MS
    }

    #[test]
    fn months_parse_and_step() {
        assert_eq!(
            Month::parse("2026-03"),
            Some(Month {
                year: 2026,
                month: 3
            })
        );
        for bad in [
            "2026-3",
            "2026-13",
            "2026-00",
            "26-03",
            "2026/03",
            "２026-03",
            "",
            "1999-12",
            "2026-03x",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        let dec = Month::parse("2025-12").unwrap();
        assert_eq!(dec.next().to_string(), "2026-01");
        assert_eq!(dec.minus(11).to_string(), "2025-01");
        assert_eq!(dec.minus(12).to_string(), "2024-12");
        assert_eq!(Month::span(dec.minus(11), dec), 12);
        assert_eq!(Month::span(dec, dec.minus(1)), 0);
    }

    #[test]
    fn months_are_china_time() {
        // 2026-01-31T16:30Z is 2026-02-01 00:30 in China.
        let ms = chrono::DateTime::parse_from_rfc3339("2026-01-31T16:30:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(Month::of(ms, CN).to_string(), "2026-02");
        assert_eq!(Month::of(ms, 0).to_string(), "2026-01");
        let feb = Month::parse("2026-02").unwrap();
        assert_eq!(
            feb.start_ms(CN),
            chrono::DateTime::parse_from_rfc3339("2026-01-31T16:00:00Z")
                .unwrap()
                .timestamp_millis()
        );
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(
            day_start_ms("2026-03-05", CN),
            Some(
                chrono::DateTime::parse_from_rfc3339("2026-03-04T16:00:00Z")
                    .unwrap()
                    .timestamp_millis()
            )
        );
        for bad in [
            "2026-02-30",
            "2026-3-5",
            "2026-03-05T00:00",
            "20260305",
            "2026-0a-05",
            "+026-03-05",
            "",
        ] {
            assert_eq!(day_start_ms(bad, CN), None, "{bad}");
        }
    }

    #[test]
    fn percentiles_interpolate() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7.0], 0.9), Some(7.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 0.5), Some(2.0));
        // 10 values 1..=10: rank 0.9 × 9 = 8.1 → 9 + 0.1 × (10 − 9).
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((percentile(&v, 0.9).unwrap() - 9.1).abs() < 1e-9);
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 1.0), Some(10.0));
        assert_eq!(percentile(&v, f64::NAN), None);
    }

    #[test]
    fn shares_never_divide_by_zero() {
        assert_eq!(share(0, 0), None);
        assert_eq!(share(1, 4), Some(0.25));
    }

    fn fact(
        accepted: i64,
        closed: Option<(i64, ClosingMethod)>,
        held: bool,
        settled: bool,
        arb: Option<i64>,
    ) -> CaseFact {
        CaseFact {
            accepted_at: accepted,
            closed_at: closed.map(|c| c.0),
            closing_method: closed.map(|c| c.1),
            deadline_at: crate::domain::deadline::deadline_at(accepted, &[], false),
            hearing_held: held,
            settled,
            arbitrator: arb.map(|a| (a, format!("仲裁员{a}"))),
        }
    }

    #[test]
    fn figures_by_hand() {
        use ClosingMethod::*;
        let jan = Month::parse("2026-01").unwrap();
        let mar = Month::parse("2026-03").unwrap();
        let cases = vec![
            // Received Dec (outside), closed Jan by mediation after 40 days: counts as closed.
            fact(
                at("2025-12-10", 10),
                Some((at("2026-01-19", 10), Mediation)),
                true,
                true,
                Some(1),
            ),
            // Received Jan, closed Feb by award after 50 days (late).
            fact(
                at("2026-01-05", 9),
                Some((at("2026-02-24", 9), Award)),
                true,
                false,
                Some(1),
            ),
            // Received Jan 1st 00:30 China time (Dec 31st UTC), withdrawn after settlement in 10 days.
            fact(
                at("2026-01-01", 0) + 30 * 60_000,
                Some((at("2026-01-11", 0) + 30 * 60_000, Withdrawal)),
                false,
                true,
                Some(2),
            ),
            // Received Feb, withdrawn without settlement after 20 days.
            fact(
                at("2026-02-01", 12),
                Some((at("2026-02-21", 12), Withdrawal)),
                false,
                false,
                None,
            ),
            // Received Mar, open.
            fact(at("2026-03-31", 23), None, false, false, Some(2)),
            // Received Apr (outside), open: arbitrator 2's load only.
            fact(at("2026-04-01", 0), None, false, false, Some(2)),
            // Closed in April (outside).
            fact(
                at("2026-03-02", 0),
                Some((at("2026-04-02", 0), Award)),
                true,
                false,
                Some(3),
            ),
        ];
        let s = compute(&cases, jan, mar, CN);
        let months: Vec<(String, usize, usize)> = s
            .months
            .iter()
            .map(|m| (m.month.to_string(), m.received, m.closed))
            .collect();
        assert_eq!(
            months,
            vec![
                ("2026-01".into(), 2, 2),
                ("2026-02".into(), 1, 2),
                ("2026-03".into(), 2, 0)
            ]
        );
        assert_eq!(s.received, 5);
        assert_eq!(s.closed, 4);
        assert_eq!(
            s.closing_methods,
            MethodCounts {
                mediation: 1,
                award: 1,
                withdrawal: 2,
                deemed_withdrawal: 0,
                rejection: 0
            }
        );
        assert_eq!(s.settled_withdrawals, 1);
        assert_eq!(s.mediation_rate, Some(0.5));
        assert_eq!(s.hearing_held, 2);
        assert_eq!(s.online_hearing_share, Some(0.5));
        // Days: 10, 20, 40, 50 → median 30, p90 rank 2.7 → 40 + 0.7 × 10 = 47.
        assert_eq!(s.days_to_close_median, Some(30.0));
        assert!((s.days_to_close_p90.unwrap() - 47.0).abs() < 1e-9);
        assert_eq!(s.within_deadline, 3);
        assert_eq!(s.within_deadline_share, Some(0.75));
        let load: Vec<(i64, usize, usize, usize)> = s
            .arbitrators
            .iter()
            .map(|a| (a.id, a.open, a.received, a.closed))
            .collect();
        // Sorted by open + received, then id; arbitrator 3's April closing is outside.
        assert_eq!(load, vec![(2, 2, 2, 1), (1, 0, 1, 2), (3, 0, 1, 0)]);
        assert_eq!(s.arbitrators[0].name, "仲裁员2");
    }

    #[test]
    fn empty_period() {
        let m = Month::parse("2026-05").unwrap();
        let s = compute(&[], m, m, CN);
        assert_eq!(s.months.len(), 1);
        assert_eq!(s.closed, 0);
        assert_eq!(s.mediation_rate, None);
        assert_eq!(s.days_to_close_median, None);
        assert_eq!(s.within_deadline_share, None);
        assert!(s.arbitrators.is_empty());
    }
}
