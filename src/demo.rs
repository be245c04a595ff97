//! `yunting demo`: a commission with staff, one case with a merged counterclaim, a hearing
//! tomorrow and invitation links, so a newcomer (and the tests) can try every path at
//! once. It goes through the same store functions as the API, audit entries included.

use crate::app::App;
use crate::authz::{Principal, StaffPrincipal};
use crate::domain::identity::{resident_id_with_check, social_credit_code_with_check};
use crate::domain::roles::{AgentAuthority, InviteeRole, PartyKind, Procedure, Side, StaffRole};
use crate::store::cases::{self, NewCase, NewClaim, NewCounterclaim};
use crate::store::hearings::{self, NewHearing};
use crate::store::invitations::{self, NewInvitation};
use crate::store::parties::{self, NewAgent, NewParty};
use crate::store::{commissions, users};
use crate::time::{DAY_MS, HOUR_MS, now_ms};
use anyhow::Result;
use serde_json::{Value, json};

pub async fn has_data(app: &App) -> Result<bool> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM commissions")
        .fetch_one(&app.db.pool)
        .await?;
    Ok(n > 0)
}

/// Tomorrow 09:30 in the commission's time zone.
fn tomorrow_morning(utc_offset_hours: i32) -> i64 {
    let offset_ms = i64::from(utc_offset_hours) * HOUR_MS;
    let local_midnight = (now_ms() + offset_ms).div_euclid(DAY_MS) * DAY_MS;
    local_midnight + DAY_MS + 9 * HOUR_MS + 30 * 60_000 - offset_ms
}

pub async fn seed(app: &App) -> Result<Value> {
    let mut tx = app.db.write().await?;
    let commission = commissions::create(
        &mut tx,
        app,
        &Principal::System,
        "广州市劳动人事争议仲裁委员会",
        "穗劳人仲案",
    )
    .await?;
    let mut staff = Vec::new();
    let mut ids = std::collections::HashMap::new();
    for (username, name, role) in [
        ("admin", "周管理", StaffRole::Admin),
        ("clerk", "陈书记", StaffRole::Clerk),
        ("arbitrator", "林仲裁", StaffRole::Arbitrator),
        ("mediator", "黄调解", StaffRole::Mediator),
    ] {
        let password = crate::auth::password::generate();
        let u = users::create(
            &mut tx,
            &Principal::System,
            commission.id,
            &users::NewUser {
                username: username.into(),
                display_name: name.into(),
                role,
                password: password.clone(),
            },
        )
        .await?;
        ids.insert(role, u.id);
        staff.push(json!({"username": username, "password": password, "role": role, "display_name": name, "id": u.id}));
    }
    let clerk = Principal::Staff(StaffPrincipal {
        user_id: ids[&StaffRole::Clerk],
        commission_id: commission.id,
        role: StaffRole::Clerk,
        display_name: "陈书记".into(),
    });

    let case_id = cases::create(
        &mut tx,
        app,
        &clerk,
        commission.id,
        &NewCase {
            cause: "劳动报酬、经济补偿".into(),
            procedure: Procedure::Simplified,
            arbitrator_id: Some(ids[&StaffRole::Arbitrator]),
            number: None,
            claims: vec![
                NewClaim {
                    description: "支付2026年8月至9月工资".into(),
                    amount_cents: 1_200_000,
                },
                NewClaim {
                    description: "支付解除劳动合同经济补偿".into(),
                    amount_cents: 1_800_000,
                },
            ],
        },
    )
    .await?;
    let case = cases::get(tx.conn(), case_id).await?;
    let applicant_id = resident_id_with_check("44010619900307152");
    let applicant = parties::add_party(
        &mut tx,
        &clerk,
        &case,
        &NewParty {
            side: Side::Applicant,
            kind: PartyKind::Person,
            name: "李小红".into(),
            legal_rep: None,
            phone: "13800000001".into(),
            id_number: applicant_id.clone(),
        },
    )
    .await?;
    let respondent = parties::add_party(
        &mut tx,
        &clerk,
        &case,
        &NewParty {
            side: Side::Respondent,
            kind: PartyKind::Organisation,
            name: "广州市某某科技有限公司".into(),
            legal_rep: Some("王建国".into()),
            phone: "13900000002".into(),
            id_number: social_credit_code_with_check("91440101MA5CXXXX0"),
        },
    )
    .await?;
    let agent_id_number = resident_id_with_check("44010419850615203");
    let agent = parties::add_agent(
        &mut tx,
        &clerk,
        &case,
        respondent,
        &NewAgent {
            name: "赵律师".into(),
            phone: "13700000003".into(),
            id_number: agent_id_number.clone(),
            authority: AgentAuthority::Special,
            authority_detail: Some("代为承认、放弃、变更仲裁请求，进行和解、调解".into()),
        },
    )
    .await?;
    let counterclaim_id = cases::create_counterclaim(
        &mut tx,
        app,
        &clerk,
        &case,
        &NewCounterclaim {
            cause: Some("返还多付工资".into()),
            merged_hearing: true,
            claims: vec![NewClaim {
                description: "返还多支付的2026年9月工资".into(),
                amount_cents: 350_000,
            }],
        },
    )
    .await?;
    let hearing_id = hearings::create(
        &mut tx,
        &clerk,
        &case,
        &NewHearing {
            scheduled_at: tomorrow_morning(app.config.utc_offset_hours),
            presiding_arbitrator_id: ids[&StaffRole::Arbitrator],
            clerk_id: ids[&StaffRole::Clerk],
            mediator_id: Some(ids[&StaffRole::Mediator]),
        },
    )
    .await?;
    let case = cases::get(tx.conn(), case_id).await?;
    let mut links = Vec::new();
    for (role, party_id, agent_id, name, phone, id_number) in [
        (
            InviteeRole::Applicant,
            Some(applicant),
            None,
            "李小红",
            "13800000001",
            applicant_id.clone(),
        ),
        (
            InviteeRole::Respondent,
            Some(respondent),
            None,
            "广州市某某科技有限公司",
            "13900000002",
            social_credit_code_with_check("91440101MA5CXXXX0"),
        ),
        (
            InviteeRole::Agent,
            None,
            Some(agent),
            "赵律师",
            "13700000003",
            agent_id_number.clone(),
        ),
        // A witness, kept in the waiting room until the chair calls them.
        (
            InviteeRole::Witness,
            None,
            None,
            "王证人",
            "13600000004",
            resident_id_with_check("44010619880808123"),
        ),
        // An observer (旁听): receive-only.
        (
            InviteeRole::Observer,
            None,
            None,
            "钱旁听",
            "13500000005",
            resident_id_with_check("44010619920909123"),
        ),
    ] {
        let own = party_id.is_none() && agent_id.is_none();
        let created = invitations::create(
            &mut tx,
            app,
            &clerk,
            &case,
            &NewInvitation {
                role,
                party_id,
                agent_id,
                name: own.then(|| name.to_string()),
                phone: own.then(|| phone.to_string()),
                id_number: own.then(|| id_number.clone()),
                hearing_id: Some(hearing_id),
                expires_in_hours: Some(72),
            },
        )
        .await?;
        let id_last6: String = id_number.chars().skip(12).collect();
        links.push(json!({"role": role, "name": name, "phone": phone, "id_last6": id_last6, "url": created.url, "invitation_id": created.row.id}));
    }
    let (number,): (String,) = sqlx::query_as("SELECT number FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(tx.conn())
        .await?;
    let (cc_number,): (String,) = sqlx::query_as("SELECT number FROM cases WHERE id = $1")
        .bind(counterclaim_id)
        .fetch_one(tx.conn())
        .await?;
    let (scheduled_at,): (i64,) = sqlx::query_as("SELECT scheduled_at FROM hearings WHERE id = $1")
        .bind(hearing_id)
        .fetch_one(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(json!({
        "commission": commission,
        "staff": staff,
        "case": {"id": case_id, "number": number},
        "counterclaim": {"id": counterclaim_id, "number": cc_number},
        "hearing": {"id": hearing_id, "scheduled_at": scheduled_at},
        "invitations": links,
        "console": format!("{}/", app.config.public_url),
    }))
}
