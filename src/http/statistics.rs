//! `/api/statistics` (JSON) and `/api/statistics.csv` (for Excel): the commission's case
//! figures by month. Clerks and admins see their commission's; an arbitrator sees the
//! figures of their own cases; mediators and parties are refused (403). Every request is
//! recorded in the audit log. Definitions: [`crate::domain::statistics`].

use super::extract::{ApiQuery, Auth};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::Principal;
use crate::db::Backend;
use crate::domain::roles::StaffRole;
use crate::domain::statistics::{self, Month, Statistics};
use crate::error::{AppError, AppResult};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

/// At most ten years in one request.
pub const MAX_MONTHS: i64 = 120;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    from: Option<String>,
    to: Option<String>,
}

/// Whose cases the figures cover.
fn scope_of(who: &Principal) -> AppResult<&'static str> {
    match who.staff().map(|s| s.role) {
        Some(StaffRole::Clerk | StaffRole::Admin) => Ok("commission"),
        Some(StaffRole::Arbitrator) => Ok("own"),
        _ => Err(AppError::forbidden()),
    }
}

fn month_param(name: &str, v: &Option<String>) -> AppResult<Option<Month>> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Month::parse(s).map(Some).ok_or_else(|| {
            AppError::invalid(
                "invalid_field",
                format!("{name}: 月份格式须为 YYYY-MM / expected a month YYYY-MM"),
            )
        }),
    }
}

/// The period asked for: by default the twelve months up to this one.
fn period(p: &StatsParams, utc_offset_hours: i32) -> AppResult<(Month, Month)> {
    let this_month = Month::of(crate::time::now_ms(), utc_offset_hours);
    let from = month_param("from", &p.from)?;
    let to = month_param("to", &p.to)?;
    let (from, to) = match (from, to) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, this_month.max(f)),
        (None, Some(t)) => (t.minus(11), t),
        (None, None) => (this_month.minus(11), this_month),
    };
    if from > to {
        return Err(AppError::invalid(
            "invalid_field",
            "to: 结束月份早于开始月份 / the end month is before the start month",
        ));
    }
    if Month::span(from, to) > MAX_MONTHS {
        return Err(AppError::invalid(
            "invalid_field",
            format!("to: 统计区间至多 {MAX_MONTHS} 个月 / at most {MAX_MONTHS} months"),
        ));
    }
    Ok((from, to))
}

/// Compute the figures and record the access.
async fn compute(
    app: &App,
    who: &Principal,
    p: &StatsParams,
    format: &str,
) -> AppResult<(Statistics, &'static str, bool)> {
    let scope = scope_of(who)?;
    let offset = app.config.utc_offset_hours;
    let (from, to) = period(p, offset)?;
    // Read outside the writers' lock: this is a scan over the commission's cases.
    let mut conn = app.db.pool.acquire().await?;
    let extensions =
        crate::store::statistics::extensions_table(&mut conn, app.db.backend == Backend::Postgres)
            .await?;
    let facts = crate::store::statistics::case_facts(
        &mut conn,
        who,
        from.start_ms(offset),
        to.next().start_ms(offset),
        extensions,
    )
    .await?;
    drop(conn);
    let stats = statistics::compute(&facts, from, to, offset);
    let mut tx = app.db.write().await?;
    tx.audit(
        AuditEntry::new(who, "statistics.read", "statistics").detail(json!({
            "from": from, "to": to, "format": format, "scope": scope,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok((stats, scope, extensions))
}

pub async fn get(
    State(app): State<App>,
    Auth(who): Auth,
    ApiQuery(p): ApiQuery<StatsParams>,
) -> AppResult<Json<Value>> {
    let (stats, scope, extensions) = compute(&app, &who, &p, "json").await?;
    let mut body = serde_json::to_value(&stats).map_err(|_| AppError::internal("statistics"))?;
    if let Some(map) = body.as_object_mut() {
        map.insert("scope".into(), json!(scope));
        map.insert("deadline_extensions".into(), json!(extensions));
        map.insert(
            "utc_offset_hours".into(),
            json!(app.config.utc_offset_hours),
        );
    }
    Ok(Json(body))
}

pub async fn csv(
    State(app): State<App>,
    Auth(who): Auth,
    ApiQuery(p): ApiQuery<StatsParams>,
) -> AppResult<Response> {
    let (stats, _, _) = compute(&app, &who, &p, "csv").await?;
    let filename = format!("statistics-{}-{}.csv", stats.from, stats.to);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        to_csv(&stats),
    )
        .into_response())
}

/// One CSV field: quoted when it holds a comma, quote or line break (quotes doubled); a
/// leading `= + - @` (or tab/CR) gets a `'` so a spreadsheet never reads it as a formula.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn row(out: &mut String, fields: &[String]) {
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

fn ratio(v: Option<f64>) -> String {
    v.map(|x| format!("{:.4}", x)).unwrap_or_default()
}

fn days(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}", x)).unwrap_or_default()
}

/// The statistics as CSV for Excel: UTF-8 with a byte-order mark, CRLF, bilingual headers,
/// four blocks (summary, months, closing methods, arbitrators) separated by empty lines.
pub fn to_csv(s: &Statistics) -> String {
    let mut out = String::from("\u{feff}");
    let r = |out: &mut String, a: &str, b: String| row(out, &[a.to_string(), b]);
    row(&mut out, &["指标 / figure".into(), "值 / value".into()]);
    r(&mut out, "统计区间起 / from", s.from.to_string());
    r(&mut out, "统计区间止 / to", s.to.to_string());
    r(&mut out, "收案数 / received", s.received.to_string());
    r(&mut out, "结案数 / closed", s.closed.to_string());
    r(&mut out, "调解率 / mediation rate", ratio(s.mediation_rate));
    r(
        &mut out,
        "和解撤诉数 / withdrawals after settlement",
        s.settled_withdrawals.to_string(),
    );
    r(
        &mut out,
        "网上开庭占比 / online hearing share",
        ratio(s.online_hearing_share),
    );
    r(
        &mut out,
        "结案天数中位数 / median days to close",
        days(s.days_to_close_median),
    );
    r(
        &mut out,
        "结案天数第90百分位 / 90th percentile days to close",
        days(s.days_to_close_p90),
    );
    r(
        &mut out,
        "审限内结案数 / closed within the deadline",
        s.within_deadline.to_string(),
    );
    r(
        &mut out,
        "审限内结案率 / share closed within the deadline",
        ratio(s.within_deadline_share),
    );
    out.push_str("\r\n");
    row(
        &mut out,
        &[
            "月份 / month".into(),
            "收案 / received".into(),
            "结案 / closed".into(),
        ],
    );
    for m in &s.months {
        row(
            &mut out,
            &[
                m.month.to_string(),
                m.received.to_string(),
                m.closed.to_string(),
            ],
        );
    }
    out.push_str("\r\n");
    row(
        &mut out,
        &[
            "结案方式 / closing method".into(),
            "件数 / cases".into(),
            "占比 / share".into(),
        ],
    );
    for (method, n) in s.closing_methods.entries() {
        row(
            &mut out,
            &[
                format!("{} / {}", method_zh(method), method.as_str()),
                n.to_string(),
                ratio(statistics::share(n, s.closed)),
            ],
        );
    }
    out.push_str("\r\n");
    row(
        &mut out,
        &[
            "仲裁员 / arbitrator".into(),
            "在办 / open".into(),
            "收案 / received".into(),
            "结案 / closed".into(),
        ],
    );
    for a in &s.arbitrators {
        row(
            &mut out,
            &[
                a.name.clone(),
                a.open.to_string(),
                a.received.to_string(),
                a.closed.to_string(),
            ],
        );
    }
    out
}

fn method_zh(m: crate::domain::case_status::ClosingMethod) -> &'static str {
    use crate::domain::case_status::ClosingMethod::*;
    match m {
        Mediation => "调解",
        Award => "裁决",
        Withdrawal => "撤回申请",
        DeemedWithdrawal => "按撤回申请处理",
        Rejection => "不予受理",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
        assert_eq!(csv_field("林仲裁"), "林仲裁");
    }

    #[test]
    fn csv_has_bom_and_blocks() {
        let m = Month::parse("2026-01").unwrap();
        let s = statistics::compute(&[], m, m.next(), 8);
        let text = to_csv(&s);
        assert!(text.starts_with('\u{feff}'));
        assert!(text.contains("\r\n2026-01,0,0\r\n2026-02,0,0\r\n"));
        assert_eq!(text.split("\r\n\r\n").count(), 4);
    }
}
