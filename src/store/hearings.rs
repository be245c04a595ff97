//! Scheduling hearings. A merged counterclaim (合并审理) has no hearing of its own: it is
//! heard in its claim's hearing, which then shows both case numbers.

use super::cases::CaseRow;
use crate::audit::AuditEntry;
use crate::authz::Principal;
use crate::db::WriteTx;
use crate::domain::case_status::CaseStatus;
use crate::domain::roles::StaffRole;
use crate::error::{AppError, AppResult};
use crate::time::{DAY_MS, MINUTE_MS, now_ms};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewHearing {
    pub scheduled_at: i64,
    pub presiding_arbitrator_id: i64,
    pub clerk_id: i64,
    #[serde(default)]
    pub mediator_id: Option<i64>,
}

pub async fn create(
    tx: &mut WriteTx,
    actor: &Principal,
    case: &CaseRow,
    h: &NewHearing,
) -> AppResult<i64> {
    match case.status() {
        CaseStatus::Accepted | CaseStatus::AwaitingHearing | CaseStatus::HearingClosed => {}
        s => {
            return Err(AppError::conflict(
                "illegal_transition",
                format!(
                    "案件处于「{}」状态，不能安排开庭 / cannot schedule a hearing now",
                    s.label_zh()
                ),
            ));
        }
    }
    if case.counterclaim_of.is_some() && case.merged_hearing == 1 {
        return Err(AppError::conflict(
            "merged_counterclaim",
            "合并审理的反诉在本诉庭审中审理 / a merged counterclaim is heard in its claim's hearing",
        ));
    }
    let now = now_ms();
    if h.scheduled_at < now - 5 * MINUTE_MS || h.scheduled_at > now + 365 * DAY_MS {
        return Err(AppError::invalid(
            "invalid_time",
            "开庭时间须在今后一年内 / the hearing must be scheduled within the next year",
        ));
    }
    let c = case.commission_id;
    super::users::require_role(
        tx.conn(),
        c,
        h.presiding_arbitrator_id,
        &[StaffRole::Arbitrator],
    )
    .await?;
    super::users::require_role(tx.conn(), c, h.clerk_id, &[StaffRole::Clerk]).await?;
    if let Some(m) = h.mediator_id {
        super::users::require_role(
            tx.conn(),
            c,
            m,
            &[StaffRole::Mediator, StaffRole::Arbitrator],
        )
        .await?;
    }
    let (id,): (i64,) = sqlx::query_as("INSERT INTO hearings (case_id, scheduled_at, presiding_arbitrator_id, clerk_id, mediator_id, status, created_at) VALUES ($1,$2,$3,$4,$5,'scheduled',$6) RETURNING id")
        .bind(case.id)
        .bind(h.scheduled_at)
        .bind(h.presiding_arbitrator_id)
        .bind(h.clerk_id)
        .bind(h.mediator_id)
        .bind(now)
        .fetch_one(tx.conn())
        .await?;
    tx.audit(AuditEntry::new(actor, "hearing.create", format!("hearing:{id}")).case(case.id).detail(json!({"scheduled_at": h.scheduled_at, "presiding": h.presiding_arbitrator_id, "clerk": h.clerk_id, "mediator": h.mediator_id}))).await?;

    // Scheduling moves the case, and counterclaims merged into it, to 待开庭.
    let mut to_move: Vec<CaseRow> = vec![case.clone()];
    let merged: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM cases WHERE counterclaim_of = $1 AND merged_hearing = 1")
            .bind(case.id)
            .fetch_all(tx.conn())
            .await?;
    for (mid,) in merged {
        to_move.push(super::cases::get(tx.conn(), mid).await?);
    }
    for c in to_move {
        if matches!(c.status(), CaseStatus::Accepted | CaseStatus::HearingClosed) {
            let t = super::cases::Transition {
                to: CaseStatus::AwaitingHearing,
                closing_method: None,
                reason: Some(format!("已安排开庭 / hearing {id} scheduled")),
            };
            super::cases::transition(tx, actor, &c, &t).await?;
        }
    }
    Ok(id)
}
