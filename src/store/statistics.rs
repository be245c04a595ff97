//! The rows behind the statistics page: one [`CaseFact`] per case in scope that matters to
//! the period (received or closed in it, or open now). The arithmetic is
//! [`crate::domain::statistics`].
//!
//! Who sees what: clerks and admins the figures of their whole commission; an arbitrator
//! the figures of their own cases (those they are assigned to or preside over, as in the
//! case list); mediators and parties none (403, decided by the HTTP layer).

use super::views::{Arg, Filter, bind_args, list_scope};
use crate::authz::Principal;
use crate::domain::case_status::ClosingMethod;
use crate::domain::deadline;
use crate::domain::statistics::CaseFact;
use crate::error::AppResult;
use sqlx::AnyConnection;

/// Whether the deadline-extension table exists (an approved extension adds 15 days).
pub async fn extensions_table(conn: &mut AnyConnection, postgres: bool) -> AppResult<bool> {
    let sql = if postgres {
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'deadline_extensions' AND table_schema = current_schema()"
    } else {
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'deadline_extensions'"
    };
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(conn).await?;
    Ok(n > 0)
}

/// The facts of every case `who` may count that was received or closed in `[start, end)`
/// or is still open.
pub async fn case_facts(
    conn: &mut AnyConnection,
    who: &Principal,
    start: i64,
    end: i64,
    extensions: bool,
) -> AppResult<Vec<CaseFact>> {
    let mut f = Filter::default();
    list_scope(who, &mut f);
    let s = f.arg(Arg::Int(start));
    let e = f.arg(Arg::Int(end));
    f.clauses.push(format!(
        "(c.closed_at IS NULL OR (c.accepted_at >= {s} AND c.accepted_at < {e}) OR (c.closed_at >= {s} AND c.closed_at < {e}))"
    ));
    let closed_in = format!("c.closed_at >= {s} AND c.closed_at < {e}");
    // A hearing was held when it closed or its record shows the chair moving it on; a merged
    // counterclaim shares its claim's hearing.
    let held = format!(
        "CAST(CASE WHEN {closed_in} AND EXISTS (SELECT 1 FROM hearings h WHERE (h.case_id = c.id OR (c.merged_hearing = 1 AND h.case_id = c.counterclaim_of)) AND (h.status = 'closed' OR EXISTS (SELECT 1 FROM hearing_events ev WHERE ev.hearing_id = h.id AND ev.kind = 'hearing.phase'))) THEN 1 ELSE 0 END AS BIGINT)"
    );
    let settled = format!(
        "CAST(CASE WHEN {closed_in} AND c.closing_method = 'withdrawal' AND EXISTS (SELECT 1 FROM documents d WHERE d.case_id = c.id AND d.kind = 'mediation_agreement' AND d.status = 'effective') THEN 1 ELSE 0 END AS BIGINT)"
    );
    let extended = if extensions {
        format!(
            "CAST(CASE WHEN {closed_in} AND EXISTS (SELECT 1 FROM deadline_extensions x WHERE x.case_id = c.id) THEN 1 ELSE 0 END AS BIGINT)"
        )
    } else {
        "CAST(0 AS BIGINT)".into()
    };
    let sql = format!(
        "SELECT c.accepted_at, c.closed_at, c.closing_method, c.arbitrator_id, u.display_name, {held}, {settled}, {extended}, \
         (SELECT MAX(cc.accepted_at) FROM cases cc WHERE cc.counterclaim_of = c.id AND cc.merged_hearing = 1) \
         FROM cases c LEFT JOIN users u ON u.id = c.arbitrator_id WHERE {}",
        f.sql()
    );
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        i64,
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<String>,
        i64,
        i64,
        i64,
        Option<i64>,
    )> = bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql)), &f.args)
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(accepted_at, closed_at, method, arb, name, held, settled, extended, merged)| {
                let merged: Vec<i64> = merged.into_iter().collect();
                CaseFact {
                    accepted_at,
                    closed_at,
                    closing_method: method.as_deref().and_then(ClosingMethod::parse),
                    deadline_at: deadline::deadline_at(accepted_at, &merged, extended == 1),
                    hearing_held: held == 1,
                    settled: settled == 1,
                    arbitrator: arb.map(|id| (id, name.unwrap_or_default())),
                }
            },
        )
        .collect())
}
