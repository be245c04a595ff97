//! One clock for the whole server. Times are stored as milliseconds since the Unix epoch
//! (UTC) because both database backends compare plain integers the same way.

use chrono::{DateTime, Datelike, FixedOffset, Utc};

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// The calendar year of `ms` in the commission's time zone (case numbers run per year).
pub fn local_year(ms: i64, utc_offset_hours: i32) -> i64 {
    let offset =
        FixedOffset::east_opt(utc_offset_hours * 3600).unwrap_or(FixedOffset::east_opt(0).unwrap());
    let dt: DateTime<Utc> = DateTime::from_timestamp_millis(ms).unwrap_or_default();
    i64::from(dt.with_timezone(&offset).year())
}

/// A server timestamp in the commission's local time, for documents and reports.
pub fn local(ms: i64, utc_offset_hours: i32) -> chrono::DateTime<chrono::FixedOffset> {
    let offset = chrono::FixedOffset::east_opt(utc_offset_hours * 3600)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(8 * 3600).expect("+8 is a valid offset"));
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_changes_at_local_midnight() {
        // 2026-12-31T16:30:00Z is 2027-01-01 00:30 in China (UTC+8).
        let ms = DateTime::parse_from_rfc3339("2026-12-31T16:30:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(local_year(ms, 8), 2027);
        assert_eq!(local_year(ms, 0), 2026);
    }
}
