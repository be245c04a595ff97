//! The case lifecycle, invitations and the identity check through the HTTP API, on SQLite
//! and on PostgreSQL.

use crate::common::{Backend, TestServer, assert_error, id_number, invitation_token};
use reqwest::StatusCode;
use serde_json::{Value, json};

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
    case_lifecycle,
    duplicate_numbers_and_atomic_writes,
    invitation_and_identity_check,
    otp_rate_limits,
    bad_input_is_refused_cleanly
);

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

fn tomorrow() -> i64 {
    yunting::time::now_ms() + yunting::time::DAY_MS
}

async fn case_lifecycle(b: Backend) {
    let Some(srv) = TestServer::start(b).await else {
        return;
    };
    let demo = srv.demo().await;
    let clerk = srv.staff(&demo, "clerk").await;
    let year = yunting::time::local_year(yunting::time::now_ms(), 8);

    let (s, case) = clerk
        .post("/api/cases", json!({"cause": "确认劳动关系", "procedure": "ordinary", "claims": [{"description": "确认劳动关系", "amount_cents": 0}, {"description": "加班费", "amount_cents": 523_456}]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    assert_eq!(case["number"], format!("穗劳人仲案〔{year}〕3号"));
    assert_eq!(case["status"], "accepted");
    assert_eq!(case["claims"].as_array().unwrap().len(), 2);
    let id = case["id"].as_i64().unwrap();

    let (s, b1) = clerk.post(&format!("/api/cases/{id}/parties"), json!({"side": "applicant", "kind": "person", "name": "张三", "phone": "+86 136 0000 0009", "id_number": id_number("11010519880101123")})).await;
    assert_eq!(s, StatusCode::CREATED, "{b1}");
    let (s, resp) = clerk
        .post(&format!("/api/cases/{id}/parties"), json!({"side": "respondent", "kind": "organisation", "name": "某某物流有限公司", "legal_rep": "钱董", "phone": "13600000010", "id_number": yunting::domain::identity::social_credit_code_with_check("91440101MA5CYYYY1")}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{resp}");
    let respondent = resp["id"].as_i64().unwrap();
    let (s, ag) = clerk.post(&format!("/api/cases/{id}/parties/{respondent}/agents"), json!({"name": "孙律师", "phone": "13600000011", "id_number": id_number("11010519800101123"), "authority": "general"})).await;
    assert_eq!(s, StatusCode::CREATED, "{ag}");

    // Counterclaim: its own number, sides swapped, merged into the claim's hearing.
    let (s, cc) = clerk.post(&format!("/api/cases/{id}/counterclaims"), json!({"merged_hearing": true, "claims": [{"description": "赔偿损失", "amount_cents": 100_000}]})).await;
    assert_eq!(s, StatusCode::CREATED, "{cc}");
    assert_eq!(cc["number"], format!("穗劳人仲案〔{year}〕4号"));
    assert_eq!(cc["counterclaim_of"]["id"], id);
    let cc_applicant = cc["parties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["side"] == "applicant")
        .unwrap();
    assert_eq!(cc_applicant["name"], "某某物流有限公司");
    assert_eq!(cc_applicant["agents"][0]["name"], "孙律师");
    let cc_id = cc["id"].as_i64().unwrap();

    // Out of order.
    assert_error(
        &clerk
            .post(
                &format!("/api/cases/{id}/transition"),
                json!({"to": "in_hearing"}),
            )
            .await,
        StatusCode::CONFLICT,
        "illegal_transition",
    );
    assert_error(
        &clerk
            .post(
                &format!("/api/cases/{id}/transition"),
                json!({"to": "closed", "closing_method": "award"}),
            )
            .await,
        StatusCode::CONFLICT,
        "illegal_transition",
    );

    // Procedure conversion is recorded with its reason.
    let (s, v) = clerk
        .post(
            &format!("/api/cases/{id}/procedure"),
            json!({"procedure": "simplified", "reason": "双方同意适用简易处理"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["procedure"], "simplified");
    assert_eq!(v["procedure_history"][0]["reason"], "双方同意适用简易处理");

    // Scheduling moves both the claim and the merged counterclaim to 待开庭.
    let hearing = json!({"scheduled_at": tomorrow(), "presiding_arbitrator_id": staff_id(&demo, "arbitrator"), "clerk_id": staff_id(&demo, "clerk")});
    let (s, h) = clerk
        .post(&format!("/api/cases/{id}/hearings"), hearing.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    assert_eq!(h["case_numbers"].as_array().unwrap().len(), 2);
    assert_error(
        &clerk
            .post(&format!("/api/cases/{cc_id}/hearings"), hearing.clone())
            .await,
        StatusCode::CONFLICT,
        "merged_counterclaim",
    );
    let bad_seat = json!({"scheduled_at": tomorrow(), "presiding_arbitrator_id": staff_id(&demo, "clerk"), "clerk_id": staff_id(&demo, "clerk")});
    assert_error(
        &clerk
            .post(&format!("/api/cases/{id}/hearings"), bad_seat)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_eq!(
        clerk.get(&format!("/api/cases/{cc_id}")).await.1["status"],
        "awaiting_hearing"
    );

    for to in ["in_hearing", "hearing_closed"] {
        let (s, v) = clerk
            .post(&format!("/api/cases/{id}/transition"), json!({"to": to}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["status"], to);
    }
    assert_error(
        &clerk
            .post(
                &format!("/api/cases/{id}/transition"),
                json!({"to": "closed"}),
            )
            .await,
        StatusCode::CONFLICT,
        "illegal_transition",
    );
    // An award needs the hearing closed, its transcript in effect and the award's number
    // (`case_closing.rs` covers the closing rules; here the record is set directly).
    assert_error(
        &clerk
            .post(
                &format!("/api/cases/{id}/transition"),
                json!({"to": "closed", "closing_method": "award"}),
            )
            .await,
        StatusCode::CONFLICT,
        "closing_requirements_unmet",
    );
    {
        let now = yunting::time::now_ms();
        let mut conn = srv.app.db.pool.acquire().await.unwrap();
        sqlx::query("UPDATE hearings SET status = 'closed', phase = 'closed' WHERE id = $1")
            .bind(h["id"].as_i64().unwrap())
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO documents (case_id, kind, status, current_version, created_by, created_at, effective_at) VALUES ($1, 'transcript', 'effective', 1, 'test', $2, $2)")
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let today = yunting::time::local(yunting::time::now_ms(), 8)
        .format("%Y-%m-%d")
        .to_string();
    let (s, v) = clerk
        .post(
            &format!("/api/cases/{id}/close"),
            json!({"closing_method": "award", "award": {"number": format!("穗劳人仲案〔{year}〕3号"), "date": today}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["closing_method"], "award");
    assert!(v["closed_at"].as_i64().is_some());

    // A closed case is frozen, and the view says so.
    assert_eq!(v["allowed"], json!(["read", "audit"]));
    assert_error(
        &clerk
            .post(
                &format!("/api/cases/{id}/claims"),
                json!({"description": "x", "amount_cents": 1}),
            )
            .await,
        StatusCode::CONFLICT,
        "case_closed",
    );
    assert_error(
        &clerk
            .post(
                &format!("/api/cases/{id}/transition"),
                json!({"to": "awaiting_hearing"}),
            )
            .await,
        StatusCode::CONFLICT,
        "illegal_transition",
    );

    // Every change left an audit entry, each entry's hash intact; so did reading the case.
    assert_eq!(
        clerk.get(&format!("/api/cases/{id}")).await.0,
        StatusCode::OK
    );
    let (s, trail) = clerk.get(&format!("/api/cases/{id}/audit")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(trail["chain_ok"], true);
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "case.create",
        "party.create",
        "agent.create",
        "case.counterclaim",
        "case.procedure",
        "hearing.create",
        "case.transition",
        "case.read",
    ] {
        assert!(actions.contains(&a), "missing {a} in {actions:?}");
    }
    assert_eq!(
        actions.iter().filter(|a| **a == "case.transition").count(),
        4
    );
}

async fn duplicate_numbers_and_atomic_writes(b: Backend) {
    let Some(srv) = TestServer::start(b).await else {
        return;
    };
    let demo = srv.demo().await;
    let clerk = srv.staff(&demo, "clerk").await;
    let n = "穗劳人仲案〔2025〕77号";
    let (s, _) = clerk
        .post(
            "/api/cases",
            json!({"cause": "工伤待遇", "procedure": "ordinary", "number": n}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_error(
        &clerk
            .post(
                "/api/cases",
                json!({"cause": "工伤待遇", "procedure": "ordinary", "number": n}),
            )
            .await,
        StatusCode::CONFLICT,
        "duplicate_case_number",
    );
    assert_error(
        &clerk
            .post(
                "/api/cases",
                json!({"cause": "x", "procedure": "ordinary", "number": "2025-77"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_case_number",
    );

    let before = clerk.get("/api/cases").await.1["total"].as_i64().unwrap();
    // The second claim is invalid: nothing of the case may remain, not even its number.
    let bad = json!({"cause": "劳动报酬", "procedure": "ordinary", "claims": [{"description": "工资", "amount_cents": 100}, {"description": "倒扣", "amount_cents": -5}]});
    assert_error(
        &clerk.post("/api/cases", bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_amount",
    );
    assert_eq!(
        clerk.get("/api/cases").await.1["total"].as_i64().unwrap(),
        before
    );
    let (_, next) = clerk
        .post(
            "/api/cases",
            json!({"cause": "劳动报酬", "procedure": "ordinary"}),
        )
        .await;
    let year = yunting::time::local_year(yunting::time::now_ms(), 8);
    assert_eq!(next["number"], format!("穗劳人仲案〔{year}〕3号"));
}

async fn invitation_and_identity_check(b: Backend) {
    let Some(srv) = TestServer::start(b).await else {
        return;
    };
    let demo = srv.demo().await;
    let clerk = srv.staff(&demo, "clerk").await;
    let inv = demo["invitations"][0].clone();
    let token = invitation_token(&inv);
    let anon = srv.client();

    let (s, info) = anon.get(&format!("/api/j/{token}")).await;
    assert_eq!(s, StatusCode::OK, "{info}");
    assert_eq!(info["name_hint"], "李**");
    assert_eq!(info["phone"], "138****0001");
    assert_eq!(info["case_numbers"].as_array().unwrap().len(), 2);

    assert_error(
        &anon
            .post(
                &format!("/api/j/{token}/identity"),
                json!({"name": "李小明", "id_last6": inv["id_last6"]}),
            )
            .await,
        StatusCode::UNAUTHORIZED,
        "identity_mismatch",
    );
    let (s, sent) = anon
        .post(
            &format!("/api/j/{token}/identity"),
            json!({"name": "李小红", "id_last6": inv["id_last6"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{sent}");
    assert_eq!(sent["phone"], "138****0001");
    // Asking again at once is refused (60 s between codes).
    assert_error(
        &anon
            .post(
                &format!("/api/j/{token}/identity"),
                json!({"name": "李小红", "id_last6": inv["id_last6"]}),
            )
            .await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );
    let code = srv.otp_for("13800000001").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_error(
        &anon
            .post(&format!("/api/j/{token}/verify"), json!({"code": wrong}))
            .await,
        StatusCode::UNAUTHORIZED,
        "bad_otp",
    );
    let mut party = srv.client();
    let (s, v) = party
        .post(&format!("/api/j/{token}/verify"), json!({"code": code}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    party.token = Some(v["token"].as_str().unwrap().to_string());

    let (s, waiting) = party.get("/api/party/hearing").await;
    assert_eq!(s, StatusCode::OK, "{waiting}");
    assert_eq!(waiting["state"], "waiting");
    assert_eq!(waiting["me"]["name"], "李小红");
    assert_eq!(waiting["case_numbers"].as_array().unwrap().len(), 2);
    // The party's view of its own case is reduced: personal data masked.
    let (s, own) = party.get("/api/cases/1").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        own["parties"][0]["id_number"]
            .as_str()
            .unwrap()
            .contains('*')
    );
    assert_eq!(own["allowed"], json!(["read"]));
    assert_error(
        &party.get("/api/cases/2").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &party.get("/api/cases/1/invitations").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    // Forged and expired links.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_error(
        &anon.get(&format!("/api/j/{forged}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let expired = yunting::auth::invitation_token::sign(
        &srv.app.key,
        &yunting::auth::invitation_token::InvitationClaims {
            v: 1,
            i: 1,
            c: 1,
            r: "applicant".into(),
            e: yunting::time::now_ms() - 1000,
        },
    );
    assert_error(
        &anon.get(&format!("/api/j/{expired}")).await,
        StatusCode::GONE,
        "invitation_expired",
    );

    // Revocation kills the link and the session made with it.
    let (s, r) = clerk
        .post(
            &format!("/api/invitations/{}/revoke", inv["invitation_id"]),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(r["revoked_at"].as_i64().is_some());
    assert_error(
        &anon.get(&format!("/api/j/{token}")).await,
        StatusCode::GONE,
        "invitation_revoked",
    );
    assert_error(
        &party.get("/api/party/hearing").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );

    let actions = crate::common::audit_actions(&clerk, 1).await;
    for a in [
        "invitation.open",
        "identity.failed",
        "identity.code_sent",
        "identity.verified",
        "invitation.revoke",
    ] {
        assert!(actions.iter().any(|x| x == a), "missing {a} in {actions:?}");
    }
    // No code ever reaches the audit log.
    let trail = clerk.get("/api/cases/1/audit").await.1;
    assert!(!trail.to_string().contains(&code));
}

async fn otp_rate_limits(b: Backend) {
    let Some(srv) = TestServer::start(b).await else {
        return;
    };
    let demo = srv.demo().await;
    let anon = srv.client();

    // Five wrong identity answers lock the invitation, even for the right answer.
    let resp_inv = &demo["invitations"][1];
    let t = invitation_token(resp_inv);
    for i in 0..5 {
        let r = anon
            .post(
                &format!("/api/j/{t}/identity"),
                json!({"name": "某公司", "id_last6": "000000"}),
            )
            .await;
        let expected = if i < 4 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(r.0, expected, "attempt {i}: {}", r.1);
    }
    assert_error(
        &anon
            .post(
                &format!("/api/j/{t}/identity"),
                json!({"name": resp_inv["name"], "id_last6": resp_inv["id_last6"]}),
            )
            .await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );

    // A code expires after five minutes.
    let agent = &demo["invitations"][2];
    let t = invitation_token(agent);
    assert_eq!(
        anon.post(
            &format!("/api/j/{t}/identity"),
            json!({"name": agent["name"], "id_last6": agent["id_last6"]})
        )
        .await
        .0,
        StatusCode::OK
    );
    let code = srv.otp_for("13700000003").await;
    sqlx::query("UPDATE otp_challenges SET expires_at = 0")
        .execute(&srv.app.db.pool)
        .await
        .unwrap();
    assert_error(
        &anon
            .post(&format!("/api/j/{t}/verify"), json!({"code": code}))
            .await,
        StatusCode::GONE,
        "otp_expired",
    );

    // Wrong codes count too: the fifth locks.
    let app_inv = &demo["invitations"][0];
    let t = invitation_token(app_inv);
    assert_eq!(
        anon.post(
            &format!("/api/j/{t}/identity"),
            json!({"name": app_inv["name"], "id_last6": app_inv["id_last6"]})
        )
        .await
        .0,
        StatusCode::OK
    );
    let code = srv.otp_for("13800000001").await;
    let wrong = if code == "999999" { "888888" } else { "999999" };
    for i in 0..5 {
        let r = anon
            .post(&format!("/api/j/{t}/verify"), json!({"code": wrong}))
            .await;
        let expected = if i < 4 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(r.0, expected, "try {i}: {}", r.1);
    }
    assert_error(
        &anon
            .post(&format!("/api/j/{t}/verify"), json!({"code": code}))
            .await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );
}

async fn bad_input_is_refused_cleanly(b: Backend) {
    let Some(srv) = TestServer::start(b).await else {
        return;
    };
    let demo = srv.demo().await;
    let clerk = srv.staff(&demo, "clerk").await;
    assert_error(
        &clerk
            .post_raw("/api/cases", "application/json", b"{\"cause\": ".to_vec())
            .await,
        StatusCode::BAD_REQUEST,
        "bad_json",
    );
    assert_error(
        &clerk
            .post_raw("/api/cases", "text/plain", b"{}".to_vec())
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let huge = format!(
        "{{\"cause\": \"{}\", \"procedure\": \"ordinary\"}}",
        "x".repeat(100 * 1024)
    );
    assert_error(
        &clerk
            .post_raw("/api/cases", "application/json", huge.into_bytes())
            .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );
    assert_error(
        &clerk
            .post(
                "/api/cases",
                json!({"cause": "x", "procedure": "ordinary", "judge": 1}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        &clerk
            .post("/api/cases", json!({"cause": "x", "procedure": "fast"}))
            .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        &clerk
            .post(
                "/api/cases",
                json!({"cause": "a\u{0007}b", "procedure": "ordinary"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    let party = |id: &str, phone: &str| json!({"side": "applicant", "kind": "person", "name": "王五", "phone": phone, "id_number": id});
    assert_error(
        &clerk
            .post(
                "/api/cases/1/parties",
                party("110105194912310021", "13800000009"),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_id_number",
    );
    assert_error(
        &clerk
            .post(
                "/api/cases/1/parties",
                party(&id_number("11010519491231002"), "12345"),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_phone",
    );
    assert_error(
        &clerk.post("/api/cases/1/parties", json!({"side": "respondent", "kind": "organisation", "name": "某公司", "phone": "13800000009", "id_number": yunting::domain::identity::social_credit_code_with_check("91440101MA5CXYXY2")})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_error(
        &clerk.get("/api/cases/abc").await,
        StatusCode::BAD_REQUEST,
        "bad_path",
    );
    assert_error(
        &clerk.get("/api/cases/999").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &clerk.get("/api/nothing-here").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &clerk.get("/api/cases?per_page=1000").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_error(
        &srv.client()
            .post(
                "/api/auth/login",
                json!({"username": "clerk", "password": "wrong-password"}),
            )
            .await,
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
    );
    // Nothing of the refused requests was written; the server still answers.
    let (s, case) = clerk.get("/api/cases/1").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(case["parties"].as_array().unwrap().len(), 2);
    assert_eq!(srv.client().get("/healthz").await.1["status"], "ok");
}
