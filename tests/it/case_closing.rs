//! Closing a case (issue 7): each closing method is refused without the record it needs and
//! allowed with it; the time limit in the case view (extension, merged counterclaim);
//! retention and the audited purge. On SQLite and on PostgreSQL.

use crate::common::esign::{certify, sign};
use crate::common::{Backend, Client, TestServer, assert_error, audit_actions, id_number};
use reqwest::StatusCode;
use serde_json::{Value, json};
use yunting::domain::case_status::ClosingMethod;
use yunting::domain::closing::{RetentionPolicy, retain_until};
use yunting::time::{DAY_MS, now_ms};

macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() { super::$name(super::Backend::Sqlite).await }
            #[tokio::test]
            async fn postgres() { super::$name(super::Backend::Postgres).await }
        }
    )+};
}

on_both_backends!(
    withdrawal_and_deemed_withdrawal,
    mediation_award_and_rejection,
    deadline_in_the_case_view,
    retention_and_purge
);

// ---------------------------------------------------------------- helpers

async fn exec(srv: &TestServer, sql: &'static str, ints: &[i64], texts: &[&str]) {
    let mut conn = srv.app.db.pool.acquire().await.unwrap();
    let mut q = sqlx::query(sql);
    for i in ints {
        q = q.bind(*i);
    }
    for t in texts {
        q = q.bind(t.to_string());
    }
    q.execute(&mut *conn).await.unwrap();
}

/// A document that has taken effect (the signing itself is `esign_api`'s subject; one
/// document below goes through it end to end).
async fn effective_doc(srv: &TestServer, case: i64, kind: &str) -> i64 {
    let mut conn = srv.app.db.pool.acquire().await.unwrap();
    let (id,): (i64,) = sqlx::query_as("INSERT INTO documents (case_id, kind, status, current_version, created_by, created_at, effective_at) VALUES ($1, $2, 'effective', 1, 'test', $3, $3) RETURNING id")
        .bind(case)
        .bind(kind.to_string())
        .bind(now_ms())
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    id
}

/// The hearing ran and the chair closed it.
async fn hearing_closed(srv: &TestServer, hearing: i64) {
    exec(
        srv,
        "UPDATE hearings SET status = 'closed', phase = 'closed' WHERE id = $1",
        &[hearing],
        &[],
    )
    .await;
}

/// A presence event on the hearing's record (what `hearing::registry` writes).
async fn event(srv: &TestServer, hearing: i64, kind: &str, seat: Option<&str>) -> i64 {
    let mut conn = srv.app.db.pool.acquire().await.unwrap();
    let (id,): (i64,) = sqlx::query_as("INSERT INTO hearing_events (hearing_id, at, kind, actor, target, detail) VALUES ($1, $2, $3, 'system', $4, '{}') RETURNING id")
        .bind(hearing)
        .bind(now_ms())
        .bind(kind.to_string())
        .bind(seat.map(str::to_string))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    id
}

fn invitation_seat(demo: &Value, role: &str) -> String {
    let inv = demo["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == role)
        .unwrap();
    format!("invitation:{}", inv["invitation_id"])
}

fn staff_id(demo: &Value, username: &str) -> i64 {
    demo["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["username"] == username)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn new_case(clerk: &Client) -> i64 {
    let (s, c) = clerk
        .post(
            "/api/cases",
            json!({"cause": "劳动报酬", "procedure": "ordinary", "claims": [{"description": "工资", "amount_cents": 100_000}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let id = c["id"].as_i64().unwrap();
    let (s, p) = clerk.post(&format!("/api/cases/{id}/parties"), json!({"side": "applicant", "kind": "person", "name": "张三", "phone": "13600000021", "id_number": id_number("11010519880101123")})).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    id
}

async fn close(c: &Client, case: i64, body: Value) -> (StatusCode, Value) {
    c.post(&format!("/api/cases/{case}/close"), body).await
}

fn assert_unmet(resp: &(StatusCode, Value), mentions: &[&str]) {
    assert_error(resp, StatusCode::CONFLICT, "closing_requirements_unmet");
    let msg = resp.1["error"]["message"].as_str().unwrap();
    for m in mentions {
        assert!(msg.contains(m), "{m:?} not in {msg}");
    }
}

/// The detail of the case's last audit entry with `action`.
async fn last_audit(staff: &Client, case: i64, action: &str) -> Value {
    let (s, trail) = staff.get(&format!("/api/cases/{case}/audit")).await;
    assert_eq!(s, StatusCode::OK, "{trail}");
    assert_eq!(trail["chain_ok"], true);
    let e = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no {action} in {trail}"))
        .clone();
    match &e["detail"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        v => v.clone(),
    }
}

async fn check(c: &Client, case: i64, method: &str) -> Value {
    let (s, b) = c
        .get(&format!("/api/cases/{case}/closing/check?method={method}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

fn today_local() -> String {
    yunting::time::local(now_ms(), 8)
        .format("%Y-%m-%d")
        .to_string()
}

// ---------------------------------------------------------------- withdrawals

async fn withdrawal_and_deemed_withdrawal(b: Backend) {
    let Some(srv) = TestServer::start(b).await else {
        return;
    };
    let demo = srv.demo().await;
    let case = demo["case"]["id"].as_i64().unwrap();
    let cc = demo["counterclaim"]["id"].as_i64().unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let clerk = srv.staff(&demo, "clerk").await;

    // The claim cannot be withdrawn without the applicant's signed withdrawal.
    assert_unmet(
        &close(&clerk, case, json!({"closing_method": "withdrawal"})).await,
        &["撤回仲裁申请书", "withdrawal of the claim"],
    );
    // Nor through the status route.
    assert_unmet(
        &clerk
            .post(
                &format!("/api/cases/{case}/transition"),
                json!({"to": "closed", "closing_method": "withdrawal"}),
            )
            .await,
        &["withdrawal"],
    );
    let c = check(&clerk, case, "withdrawal").await;
    assert_eq!(c["methods"][0]["allowed"], false, "{c}");
    assert_eq!(c["methods"][0]["missing"][0]["code"], "withdrawal_claim");
    assert_eq!(c["deadline"]["state"], "ok");
    // The form's check is for staff.
    let applicant = srv.verified_party(&demo, "applicant").await;
    assert_error(
        &applicant
            .get(&format!("/api/cases/{case}/closing/check"))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &clerk
            .get(&format!("/api/cases/{case}/closing/check?method=settled"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );

    // The applicant signs the withdrawal on the phone; it takes effect.
    let (s, doc) = clerk
        .post(
            &format!("/api/cases/{case}/documents"),
            json!({"kind": "withdrawal_claim", "fields": {"withdrawal_reason": "双方已和解"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{doc}");
    let doc = doc["id"].as_i64().unwrap();
    let phone = certify(&applicant, doc).await;
    assert_eq!(sign(&applicant, doc, &phone).await["status"], "effective");

    // The claim's withdrawal does not withdraw the counterclaim.
    assert_unmet(
        &close(&clerk, cc, json!({"closing_method": "withdrawal"})).await,
        &["撤回仲裁反申请书", "counterclaim"],
    );
    let all = check(&clerk, case, "").await;
    let w = all["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["method"] == "withdrawal")
        .unwrap();
    assert_eq!(w["allowed"], true, "{all}");
    assert_eq!(w["grounds"][0]["id"], doc);
    // An award is not possible before a hearing (the status rule speaks too).
    let a = all["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["method"] == "award")
        .unwrap();
    assert_eq!(a["missing"][0]["code"], "status", "{a}");

    let (s, v) = clerk
        .post(
            &format!("/api/cases/{case}/transition"),
            json!({"to": "closed", "closing_method": "withdrawal"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["closing_method"], "withdrawal");
    let d = last_audit(&clerk, case, "case.transition").await;
    assert_eq!(d["closing"]["grounds"][0]["type"], "document");
    assert_eq!(d["closing"]["grounds"][0]["id"], doc);
    assert_eq!(d["closing"]["retention_years"], 5);

    // Deemed withdrawal of the counterclaim: its claimants (the respondent and its agent)
    // must have stayed away without excuse from a hearing that closed.
    assert_unmet(
        &close(&clerk, cc, json!({"closing_method": "deemed_withdrawal"})).await,
        &["视为撤回", "has not closed"],
    );
    let respondent = invitation_seat(&demo, "respondent");
    let agent = invitation_seat(&demo, "agent");
    let applicant_seat = invitation_seat(&demo, "applicant");
    event(&srv, hearing, "hearing.waiting_room", Some(&respondent)).await;
    event(&srv, hearing, "hearing.admit", Some(&respondent)).await;
    event(&srv, hearing, "hearing.waiting_room", Some(&agent)).await;
    event(&srv, hearing, "hearing.admit", Some(&agent)).await;
    event(&srv, hearing, "hearing.admit", Some(&applicant_seat)).await;
    let agent_left = event(&srv, hearing, "hearing.leave", Some(&agent)).await;
    // The respondent's network failed: excused.
    event(&srv, hearing, "hearing.connection_lost", Some(&respondent)).await;
    event(&srv, hearing, "hearing.did_not_return", Some(&respondent)).await;
    hearing_closed(&srv, hearing).await;
    assert_unmet(
        &close(&clerk, cc, json!({"closing_method": "deemed_withdrawal"})).await,
        &["hearing.did_not_return", "excused"],
    );
    // They came back, then left on purpose and stayed away until the hearing ended.
    event(&srv, hearing, "hearing.waiting_room", Some(&respondent)).await;
    event(&srv, hearing, "hearing.admit", Some(&respondent)).await;
    let respondent_left = event(&srv, hearing, "hearing.leave", Some(&respondent)).await;
    let ended = event(&srv, hearing, "hearing.ended", None).await;
    event(&srv, hearing, "hearing.rejoin", Some(&respondent)).await;
    let c = check(&clerk, cc, "deemed_withdrawal").await;
    assert_eq!(c["methods"][0]["allowed"], true, "{c}");
    let (s, v) = close(&clerk, cc, json!({"closing_method": "deemed_withdrawal"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "closed");
    let d = last_audit(&clerk, cc, "case.transition").await;
    let ids: Vec<i64> = d["closing"]["grounds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["type"] == "event")
        .map(|g| g["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![respondent_left, agent_left, ended], "{d}");
    // The closing record keeps the grounds.
    let c = check(&clerk, cc, "deemed_withdrawal").await;
    assert_eq!(c["closing"]["method"], "deemed_withdrawal");
    assert_eq!(c["closing"]["grounds"], d["closing"]["grounds"]);
}

// ---------------------------------------------------------------- mediation, award, rejection

async fn mediation_award_and_rejection(b: Backend) {
    let Some(srv) = TestServer::start(b).await else {
        return;
    };
    let demo = srv.demo().await;
    let clerk = srv.staff(&demo, "clerk").await;

    // Rejection needs a reason.
    let rejected = new_case(&clerk).await;
    assert_unmet(
        &close(&clerk, rejected, json!({"closing_method": "rejection"})).await,
        &["不予受理", "reason"],
    );
    let (s, v) = close(
        &clerk,
        rejected,
        json!({"closing_method": "rejection", "reason": "不属于劳动争议受理范围"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let c = check(&clerk, rejected, "rejection").await;
    let closed_at = v["closed_at"].as_i64().unwrap();
    assert_eq!(
        c["retention"]["retain_until"],
        retain_until(
            closed_at,
            ClosingMethod::Rejection,
            &RetentionPolicy::default(),
            8
        )
    );
    assert_eq!(c["closing"]["reason"], "不属于劳动争议受理范围");

    // Mediation needs an effective agreement; a withdrawal will not do.
    let mediated = new_case(&clerk).await;
    effective_doc(&srv, mediated, "withdrawal_counterclaim").await;
    assert_unmet(
        &close(&clerk, mediated, json!({"closing_method": "mediation"})).await,
        &["调解协议书", "mediation agreement"],
    );
    let agreement = effective_doc(&srv, mediated, "mediation_agreement").await;
    let (s, v) = close(&clerk, mediated, json!({"closing_method": "mediation"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let d = last_audit(&clerk, mediated, "case.transition").await;
    assert_eq!(d["closing"]["grounds"][0]["id"], agreement);

    // An award: a case with a merged counterclaim, heard.
    let awarded = new_case(&clerk).await;
    let (s, cc) = clerk
        .post(
            &format!("/api/cases/{awarded}/counterclaims"),
            json!({"merged_hearing": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cc}");
    let cc = cc["id"].as_i64().unwrap();
    let (s, h) = clerk
        .post(
            &format!("/api/cases/{awarded}/hearings"),
            json!({"scheduled_at": now_ms() + DAY_MS, "presiding_arbitrator_id": staff_id(&demo, "arbitrator"), "clerk_id": staff_id(&demo, "clerk")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    let hearing = h["id"].as_i64().unwrap();
    for to in ["in_hearing", "hearing_closed"] {
        let (s, v) = clerk
            .post(
                &format!("/api/cases/{awarded}/transition"),
                json!({"to": to}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let award = json!({"closing_method": "award", "award": {"number": "穗劳人仲案〔2026〕99号", "date": today_local()}});
    assert_unmet(
        &close(&clerk, awarded, award.clone()).await,
        &[
            "已闭庭",
            "a hearing that has closed",
            "庭审笔录",
            "transcript",
        ],
    );
    hearing_closed(&srv, hearing).await;
    let transcript = effective_doc(&srv, awarded, "transcript").await;
    assert_unmet(
        &close(&clerk, awarded, json!({"closing_method": "award"})).await,
        &["裁决书文号", "award's number"],
    );
    // Malformed details are 422; details for another method too.
    assert_error(
        &close(
            &clerk,
            awarded,
            json!({"closing_method": "award", "award": {"number": "1号", "date": "2026-02-30"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_error(
        &close(
            &clerk,
            awarded,
            json!({"closing_method": "mediation", "award": {"number": "1号", "date": today_local()}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_error(
        &close(&clerk, awarded, json!({"closing_method": "settled"})).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    // The arbitrator may close; a mediator may not.
    let mediator = srv.staff(&demo, "mediator").await;
    assert_eq!(
        close(&mediator, awarded, award.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let arbitrator = srv.staff(&demo, "arbitrator").await;
    let (s, v) = close(&arbitrator, awarded, award).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["closing_method"], "award");
    let c = check(&clerk, awarded, "award").await;
    assert_eq!(c["closing"]["award_number"], "穗劳人仲案〔2026〕99号");
    assert_eq!(c["closing"]["award_date"], today_local());
    let grounds = c["closing"]["grounds"].as_array().unwrap();
    assert!(
        grounds
            .iter()
            .any(|g| g["type"] == "hearing" && g["id"] == hearing)
    );
    assert!(
        grounds
            .iter()
            .any(|g| g["type"] == "document" && g["id"] == transcript)
    );
    assert_eq!(
        c["closing"]["retain_until"],
        retain_until(
            v["closed_at"].as_i64().unwrap(),
            ClosingMethod::Award,
            &RetentionPolicy::default(),
            8
        )
    );

    // The merged counterclaim: the claim's agreement settles it, the claim's own award
    // does not decide it.
    assert_unmet(
        &close(&clerk, cc, json!({"closing_method": "mediation"})).await,
        &["mediation agreement"],
    );
    let agreement = effective_doc(&srv, awarded, "mediation_agreement").await;
    let (s, v) = close(&clerk, cc, json!({"closing_method": "mediation"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let d = last_audit(&clerk, cc, "case.transition").await;
    assert_eq!(d["closing"]["grounds"][0]["id"], agreement);
    assert_eq!(d["closing"]["grounds"][0]["case_id"], awarded);
}

// ---------------------------------------------------------------- the time limit

async fn deadline_in_the_case_view(b: Backend) {
    let Some(srv) = TestServer::start(b).await else {
        return;
    };
    let demo = srv.demo().await;
    let clerk = srv.staff(&demo, "clerk").await;
    let case = new_case(&clerk).await;
    let (_, v) = clerk.get(&format!("/api/cases/{case}")).await;
    let accepted = v["accepted_at"].as_i64().unwrap();
    assert_eq!(v["deadline_at"], accepted + 45 * DAY_MS);
    assert_eq!(
        v["deadline"],
        json!({"at": accepted + 45 * DAY_MS, "days_left": 44, "state": "ok", "extended": false})
    );

    // Forty days in: the warning.
    exec(
        &srv,
        "UPDATE cases SET accepted_at = accepted_at - $1 WHERE id = $2",
        &[40 * DAY_MS, case],
        &[],
    )
    .await;
    let (_, v) = clerk.get(&format!("/api/cases/{case}")).await;
    assert_eq!(v["deadline"]["state"], "warning", "{v}");
    assert_eq!(v["deadline"]["days_left"], 4);

    // A counterclaim merged into the hearing restarts the count from its acceptance.
    let (s, cc) = clerk
        .post(
            &format!("/api/cases/{case}/counterclaims"),
            json!({"merged_hearing": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cc}");
    let cc_accepted = cc["accepted_at"].as_i64().unwrap();
    let (_, v) = clerk.get(&format!("/api/cases/{case}")).await;
    assert_eq!(v["deadline"]["at"], cc_accepted + 45 * DAY_MS);
    assert_eq!(v["deadline"]["state"], "ok");
    // A counterclaim heard separately does not.
    let other = new_case(&clerk).await;
    clerk
        .post(
            &format!("/api/cases/{other}/counterclaims"),
            json!({"merged_hearing": false}),
        )
        .await;
    let (_, v) = clerk.get(&format!("/api/cases/{other}")).await;
    assert_eq!(
        v["deadline"]["at"],
        v["accepted_at"].as_i64().unwrap() + 45 * DAY_MS
    );

    // The extension: recorded by the clerk, with reason and approver, once.
    let url = format!("/api/cases/{case}/deadline/extension");
    let body = json!({"reason": "案情复杂，需补充调查", "approved_by": "王主任"});
    let arbitrator = srv.staff(&demo, "arbitrator").await;
    let s = arbitrator.post(&url, body.clone()).await.0;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
    assert_error(
        &clerk
            .post(&url, json!({"reason": " ", "approved_by": "王主任"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_error(
        &clerk.post(&url, json!({"reason": "x"})).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    let (s, e) = clerk.post(&url, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    assert_eq!(e["deadline"]["extended"], true);
    assert_eq!(e["extension"]["approved_by"], "王主任");
    let (_, v) = clerk.get(&format!("/api/cases/{case}")).await;
    assert_eq!(
        v["deadline"],
        json!({"at": cc_accepted + 60 * DAY_MS, "days_left": 59, "state": "ok", "extended": true})
    );
    assert_eq!(v["deadline_at"], cc_accepted + 60 * DAY_MS);
    assert_error(
        &clerk.post(&url, body.clone()).await,
        StatusCode::CONFLICT,
        "already_extended",
    );
    let d = last_audit(&clerk, case, "case.deadline_extension").await;
    assert_eq!(d["reason"], "案情复杂，需补充调查");
    assert_eq!(d["deadline_after"], cc_accepted + 60 * DAY_MS);

    // Past the time limit: overdue, and too late to extend.
    let late = new_case(&clerk).await;
    exec(
        &srv,
        "UPDATE cases SET accepted_at = accepted_at - $1 WHERE id = $2",
        &[50 * DAY_MS, late],
        &[],
    )
    .await;
    let (_, v) = clerk.get(&format!("/api/cases/{late}")).await;
    assert_eq!(v["deadline"]["state"], "overdue", "{v}");
    // Five days and a little past: the sixth day overdue.
    assert_eq!(v["deadline"]["days_left"], -6);
    assert_error(
        &clerk
            .post(&format!("/api/cases/{late}/deadline/extension"), body)
            .await,
        StatusCode::CONFLICT,
        "deadline_passed",
    );
}

// ---------------------------------------------------------------- retention

async fn retention_and_purge(b: Backend) {
    let Some(srv) = TestServer::start(b).await else {
        return;
    };
    let demo = srv.demo().await;
    let clerk = srv.staff(&demo, "clerk").await;
    let admin = srv.staff(&demo, "admin").await;
    let case = new_case(&clerk).await;
    let url = format!("/api/cases/{case}/purge");

    // Not closed: nothing to purge.
    assert_error(
        &admin.post(&url, json!({})).await,
        StatusCode::CONFLICT,
        "retention_not_ended",
    );
    // The case's files: a signed agreement's PDF, an exhibit, a hearing's recording.
    let (s, h) = clerk
        .post(
            &format!("/api/cases/{case}/hearings"),
            json!({"scheduled_at": now_ms() + DAY_MS, "presiding_arbitrator_id": staff_id(&demo, "arbitrator"), "clerk_id": staff_id(&demo, "clerk")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    let hearing = h["id"].as_i64().unwrap();
    let agreement = effective_doc(&srv, case, "mediation_agreement").await;
    let sha =
        yunting::store::documents::put_pdf(&srv.app, b"%PDF-1.7 agreement of this case").unwrap();
    {
        let mut conn = srv.app.db.pool.acquire().await.unwrap();
        sqlx::query("INSERT INTO document_versions (document_id, version, fields, template_sha256, slots, page_count, sha256, head_sha256, created_by, created_at) VALUES ($1, 1, '{\"terms\":\"张三\"}', 'x', '[]', 1, $2, $2, 'test', $3)")
            .bind(agreement)
            .bind(sha.clone())
            .bind(now_ms())
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO exhibits (case_id, hearing_id, uploaded_by, name, mime, size, sha256, status, created_at) VALUES ($1, $2, 'test', '张三的工资条.pdf', 'application/pdf', 3, 'exhibitsha', 'shown', $3)")
            .bind(case)
            .bind(hearing)
            .bind(now_ms())
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let data = srv.dir.path();
    let pdf = data.join("documents").join(format!("{sha}.pdf"));
    let exhibit = data.join("exhibits").join("exhibitsha");
    std::fs::create_dir_all(exhibit.parent().unwrap()).unwrap();
    std::fs::write(&exhibit, b"pdf").unwrap();
    let recording = data
        .join("recordings")
        .join(case.to_string())
        .join(hearing.to_string());
    std::fs::create_dir_all(&recording).unwrap();
    std::fs::write(recording.join("seg-000001.ytr"), b"rtp").unwrap();
    assert!(pdf.exists());

    let (s, v) = close(&clerk, case, json!({"closing_method": "mediation"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Only an administrator purges, and not before the retention period ends.
    assert_error(
        &clerk.post(&url, json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let refused = admin.post(&url, json!({})).await;
    assert_error(&refused, StatusCode::CONFLICT, "retention_not_ended");
    let year = yunting::time::local_year(now_ms(), 8);
    assert!(
        refused.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{}-01-01", year + 6)),
        "{}",
        refused.1
    );
    let (_, v) = clerk.get(&format!("/api/cases/{case}")).await;
    assert_eq!(v["parties"][0]["name"], "张三");

    // Years later.
    exec(
        &srv,
        "UPDATE cases SET retain_until = $1 WHERE id = $2",
        &[now_ms() - 1, case],
        &[],
    )
    .await;
    let (s, p) = admin.post(&url, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["files"]["removed"].as_array().unwrap().len(), 3, "{p}");
    assert!(!pdf.exists() && !exhibit.exists() && !recording.exists());
    let (_, v) = clerk.get(&format!("/api/cases/{case}")).await;
    assert_eq!(v["parties"][0]["name"], "（已清除）", "{v}");
    assert_eq!(v["parties"][0]["id_number"], "");
    let actions = audit_actions(&admin, case).await;
    assert!(actions.contains(&"case.purge".to_string()), "{actions:?}");
    assert!(actions.contains(&"case.purge_files".to_string()));
    let d = last_audit(&admin, case, "case.purge").await;
    assert_eq!(d["erased_rows"]["parties"], 1, "{d}");
    assert_eq!(d["erased_rows"]["exhibits"], 1, "{d}");
    assert_eq!(d["files"]["pdfs"][0], sha);
    assert_error(
        &admin.post(&url, json!({})).await,
        StatusCode::CONFLICT,
        "already_purged",
    );
    let c = check(&clerk, case, "rejection").await;
    assert!(c["retention"]["purged_at"].as_i64().is_some(), "{c}");
    // The chain still verifies.
    let (_, problems) = yunting::audit::verify_database(&srv.app.db).await.unwrap();
    assert!(problems.is_empty(), "{problems:?}");

    // A claim whose merged counterclaim is still kept cannot go.
    let claim = new_case(&clerk).await;
    let (_, cc) = clerk
        .post(
            &format!("/api/cases/{claim}/counterclaims"),
            json!({"merged_hearing": true}),
        )
        .await;
    let cc = cc["id"].as_i64().unwrap();
    for id in [claim, cc] {
        let (s, v) = close(
            &clerk,
            id,
            json!({"closing_method": "rejection", "reason": "不属于受理范围"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    exec(
        &srv,
        "UPDATE cases SET retain_until = $1 WHERE id = $2",
        &[now_ms() - 1, claim],
        &[],
    )
    .await;
    let r = admin
        .post(&format!("/api/cases/{claim}/purge"), json!({}))
        .await;
    assert_error(&r, StatusCode::CONFLICT, "retention_not_ended");
    assert!(
        r.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("counterclaim"),
        "{}",
        r.1
    );
}
