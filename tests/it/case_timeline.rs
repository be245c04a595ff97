//! The case timeline (`GET /api/cases/{id}/timeline`) against the real server: a case
//! with its merged counterclaim, invitations and identity checks, the signed confirmation,
//! a hearing with phases, exhibits and a recording; what each role sees, what a party
//! does not see, the audit entries an item names, and that reading is recorded.
//! Runs on SQLite and PostgreSQL.

use crate::common::{Backend, Client, TestServer, assert_error, audit_actions};
use reqwest::StatusCode;
use serde_json::{Value, json};
use yunting::authz::Principal;
use yunting::domain::roles::StaffRole;
use yunting::store::{commissions, users};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_sqlite() {
    run(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_postgres() {
    run(Backend::Postgres).await
}

fn items(body: &Value) -> &Vec<Value> {
    body["items"].as_array().expect("items")
}

fn kinds(body: &Value) -> Vec<&str> {
    items(body)
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect()
}

fn invitation_id(demo: &Value, role: &str) -> i64 {
    demo["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == role)
        .unwrap()["invitation_id"]
        .as_i64()
        .unwrap()
}

async fn login(srv: &TestServer, username: &str, password: &str) -> Client {
    let mut c = srv.client();
    let (s, b) = c
        .post(
            "/api/auth/login",
            json!({"username": username, "password": password}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "login {username}: {b}");
    c.token = Some(b["token"].as_str().unwrap().to_string());
    c
}

async fn entries(c: &Client, case: i64, query: &str) -> (StatusCode, Value) {
    c.get(&format!("/api/cases/{case}/audit/entries?{query}"))
        .await
}

async fn control(c: &Client, hearing: i64, cmd: Value) -> (StatusCode, Value) {
    c.post(&format!("/api/hearings/{hearing}/control"), cmd)
        .await
}

/// The first item of `kind` whose detail field `key` equals `value`.
fn find<'a>(body: &'a Value, kind: &str, key: &str, value: &Value) -> Option<&'a Value> {
    items(body)
        .iter()
        .find(|i| i["kind"] == kind && &i["detail"][key] == value)
}

async fn run(backend: Backend) {
    let Some(srv) = TestServer::start(backend).await else {
        return;
    };
    let demo = srv.demo().await;
    let case = demo["case"]["id"].as_i64().unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let path = format!("/api/cases/{case}/timeline");
    let clerk = srv.staff(&demo, "clerk").await;
    let admin = srv.staff(&demo, "admin").await;
    let chair = srv.staff(&demo, "arbitrator").await;
    let mediator = srv.staff(&demo, "mediator").await;
    let (_, view) = clerk.get(&format!("/api/cases/{case}")).await;
    let counterclaim = view["counterclaims"][0]["id"].as_i64().unwrap();
    assert_eq!(view["counterclaims"][0]["merged_hearing"], true);

    // The record: both parties verify and sign the confirmation, check their devices and
    // acknowledge the discipline; the chair opens the hearing; exhibits; a refused command.
    srv.confirm_simplified_procedure(&demo).await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    srv.age_sent_codes().await;
    let respondent = srv.ready_party(&demo, "respondent", hearing).await;
    for phase in ["announce_discipline", "opening"] {
        let (s, b) = control(&chair, hearing, json!({"do": "phase", "phase": phase})).await;
        assert_eq!(s, StatusCode::OK, "{phase}: {b}");
    }
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let epath = format!("/api/hearings/{hearing}/exhibits");
    let (s, pending) = applicant
        .post_raw(&format!("{epath}?name=a.png"), "image/png", png.clone())
        .await;
    assert_eq!(s, StatusCode::OK, "{pending}");
    let (s, secret) = respondent
        .post_raw(
            &format!("{epath}?name=r-pending.png"),
            "image/png",
            png.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{secret}");
    let (s, shown) = respondent
        .post_raw(&format!("{epath}?name=r-shown.png"), "image/png", png)
        .await;
    assert_eq!(s, StatusCode::OK, "{shown}");
    let (s, b) = control(
        &chair,
        hearing,
        json!({"do": "show_exhibit", "exhibit_id": shown["id"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // The clerk may not show exhibits: refused, and the refusal is on the record.
    let (s, _) = control(
        &clerk,
        hearing,
        json!({"do": "show_exhibit", "exhibit_id": pending["id"]}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A sealed recording whose playable files are made (as the recorder leaves it).
    let rec = srv
        .dir
        .path()
        .join("recordings")
        .join(case.to_string())
        .join(hearing.to_string());
    std::fs::create_dir_all(rec.join("export")).unwrap();
    let sealed_at = yunting::time::now_ms();
    std::fs::write(
        rec.join("manifest.json"),
        json!({"complete": true, "sealed_at_ms": sealed_at}).to_string(),
    )
    .unwrap();
    std::fs::write(rec.join("export").join("STATE"), "done\n").unwrap();

    // --- the clerk: everything, in order, with audit entries -----------------------------
    let (s, tl) = clerk.get(&path).await;
    assert_eq!(s, StatusCode::OK, "{tl}");
    assert_eq!(tl["case"]["id"], case);
    assert_eq!(tl["case"]["number"], view["number"]);
    assert_eq!(tl["view"], "staff");
    let all = items(&tl);
    let times: Vec<i64> = all.iter().map(|i| i["at"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "sorted by time");
    let k = kinds(&tl);
    let first = |kind: &str| {
        k.iter()
            .position(|x| *x == kind)
            .unwrap_or_else(|| panic!("no {kind} in {k:?}"))
    };
    for kind in [
        "case.accepted",
        "case.counterclaim",
        "party.added",
        "agent.added",
        "invitation.created",
        "hearing.scheduled",
        "notice.sent",
        "identity.verified",
        "document.created",
        "document.signed",
        "document.effective",
        "hearing.device_check",
        "hearing.discipline_acknowledged",
        "hearing.phase",
        "exhibit.uploaded",
        "exhibit.shown",
        "hearing.control_refused",
        "recording.status",
    ] {
        first(kind);
    }
    assert!(first("case.accepted") < first("invitation.created"));
    assert!(first("invitation.created") < first("identity.verified"));
    assert!(first("document.created") < first("document.signed"));
    assert!(first("document.signed") < first("document.effective"));
    assert!(first("document.effective") < first("hearing.phase"));
    assert!(first("hearing.phase") < first("exhibit.shown"));
    let phases: Vec<&str> = all
        .iter()
        .filter(|i| i["kind"] == "hearing.phase")
        .map(|i| i["detail"]["to"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["announce_discipline", "opening"]);
    // Every item says which case it belongs to; the merged counterclaim's are marked.
    assert!(all.iter().all(|i| i["case_id"].is_i64()
        && i["case_number"].as_str().is_some_and(|n| !n.is_empty())
        && i["title_zh"].as_str().is_some_and(|t| !t.is_empty())
        && i["title_en"].as_str().is_some_and(|t| !t.is_empty())));
    let cc = find(&tl, "case.counterclaim", "merged_hearing", &json!(true)).expect("counterclaim");
    assert_eq!(cc["case_id"], counterclaim);
    assert!(
        all.iter()
            .any(|i| i["kind"] == "party.added" && i["case_id"] == counterclaim),
        "the counterclaim's parties are shown with the claim"
    );
    // Links and audit entries.
    let doc = first("document.created");
    let doc_id = all[doc]["detail"]["document_id"].as_i64().unwrap();
    assert_eq!(all[doc]["link"], format!("/api/documents/{doc_id}"));
    assert_eq!(
        all[first("case.accepted")]["link"],
        format!("/api/cases/{case}")
    );
    assert_eq!(
        all[first("hearing.scheduled")]["link"],
        format!("/api/hearings/{hearing}")
    );
    let ex = find(&tl, "exhibit.shown", "exhibit_id", &shown["id"]).expect("shown");
    assert_eq!(ex["link"], format!("/api/exhibits/{}", shown["id"]));
    let rec_item = &all[first("recording.status")];
    assert_eq!(rec_item["detail"]["status"], "ready");
    assert_eq!(rec_item["at"], sealed_at);
    assert_eq!(
        rec_item["link"],
        format!("/api/hearings/{hearing}/recording/files")
    );
    let applicant_inv = invitation_id(&demo, "applicant");
    let respondent_inv = invitation_id(&demo, "respondent");
    let verified = find(
        &tl,
        "identity.verified",
        "invitation_id",
        &json!(respondent_inv),
    )
    .expect("respondent verified");
    assert!(verified["detail"].get("user_agent").is_some());
    for (kind, action) in [
        ("case.accepted", "case.create"),
        ("document.created", "document.create"),
        ("document.signed", "document.signed"),
        ("document.effective", "document.effective"),
        ("hearing.phase", "hearing.phase"),
        ("hearing.scheduled", "hearing.create"),
        ("identity.verified", "identity.verified"),
        ("exhibit.shown", "hearing.show_exhibit"),
    ] {
        let item = &all[first(kind)];
        let seqs: Vec<String> = item["audit"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(!seqs.is_empty(), "{kind} names its audit entry: {item}");
        let (s, entries) = clerk
            .get(&format!(
                "/api/cases/{case}/audit/entries?seq={}",
                seqs.join(",")
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{entries}");
        assert_eq!(entries["chain_ok"], true);
        let got = entries["items"].as_array().unwrap();
        assert_eq!(got.len(), seqs.len(), "{kind}: {entries}");
        assert!(
            got.iter().any(|e| e["action"] == action),
            "{kind}: {entries}"
        );
    }
    let seal = &all[first("document.signed")];
    let (_, trail) = clerk.get(&format!("/api/cases/{case}/audit")).await;
    let entry = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["seq"] == seal["audit"][0])
        .unwrap();
    assert_eq!(entry["target"], format!("document:{doc_id}"));

    // The audit entries endpoint: staff with the audit trail only; bad lists refused;
    // entries of other cases are not returned.
    let (s, b) = entries(&admin, case, "seq=1").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    for bad in ["seq=", "seq=x", "seq=1,,2", "seq=0", "seq=-4"] {
        assert_error(
            &entries(&clerk, case, bad).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        );
    }
    let (s, _) = entries(&clerk, case, "other=1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_error(
        &entries(&chair, case, "seq=1").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &entries(&applicant, case, "seq=1").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    // --- roles ---------------------------------------------------------------------------
    // The admin reads and sees the audit entries; the case's arbitrator and the hearing's
    // mediator read without them.
    let (s, a) = admin.get(&path).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert!(
        items(&a)
            .iter()
            .any(|i| !i["audit"].as_array().unwrap().is_empty())
    );
    for c in [&chair, &mediator] {
        let (s, b) = c.get(&path).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["view"], "staff");
        assert!(kinds(&b).contains(&"hearing.control_refused"));
        assert!(
            items(&b)
                .iter()
                .all(|i| i["audit"].as_array().unwrap().is_empty())
        );
    }
    // Another arbitrator and another mediator of the commission: 403.
    for (username, role) in [("arb2", "arbitrator"), ("med2", "mediator")] {
        let (s, b) = admin
            .post(
                "/api/users",
                json!({"username": username, "display_name": "其他", "role": role, "password": "another-password-1"}),
            )
            .await;
        assert!(s.is_success(), "{b}");
        let other = login(&srv, username, "another-password-1").await;
        assert_error(&other.get(&path).await, StatusCode::FORBIDDEN, "forbidden");
    }
    // A party of another case of the commission: 403; a clerk of another commission: 404.
    let (other_case, other_party) = srv.party_of_another_case(&clerk).await;
    assert_error(
        &other_party.get(&path).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (s, own) = other_party
        .get(&format!("/api/cases/{other_case}/timeline"))
        .await;
    assert_eq!(s, StatusCode::OK, "{own}");
    assert!(kinds(&own).contains(&"case.accepted"));
    assert!(
        !kinds(&own).contains(&"hearing.phase"),
        "nothing of the other case"
    );
    {
        let mut tx = srv.app.db.write().await.unwrap();
        let c = commissions::create(
            &mut tx,
            &srv.app,
            &Principal::System,
            "深圳市劳动人事争议仲裁委员会",
            "深劳人仲案",
        )
        .await
        .unwrap();
        users::create(
            &mut tx,
            &Principal::System,
            c.id,
            &users::NewUser {
                username: "foreign".into(),
                display_name: "外委书记".into(),
                role: StaffRole::Clerk,
                password: "foreign-password-1".into(),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let foreign = login(&srv, "foreign", "foreign-password-1").await;
    assert_error(
        &foreign.get(&path).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &foreign
            .get(&format!("/api/cases/{case}/audit/entries?seq=1"))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &srv.client().get(&path).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_error(
        &clerk.get("/api/cases/99999/timeline").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (s, _) = clerk.get("/api/cases/abc/timeline").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // --- a party: the main file only --------------------------------------------------------
    let before = audit_actions(&clerk, case)
        .await
        .iter()
        .filter(|a| *a == "case.timeline_read")
        .count();
    let (s, mine) = applicant.get(&path).await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    assert_eq!(mine["view"], "party");
    let mk = kinds(&mine);
    for kind in [
        "case.accepted",
        "hearing.scheduled",
        "document.signed",
        "document.effective",
        "hearing.phase",
        "exhibit.shown",
        "identity.verified",
    ] {
        assert!(mk.contains(&kind), "a party sees {kind}: {mk:?}");
    }
    for kind in [
        "hearing.control_refused",
        "recording.status",
        "recording.sealed",
        "hearing.caucus_opened",
    ] {
        assert!(!mk.contains(&kind), "a party does not see {kind}");
    }
    let mine_items = items(&mine);
    assert!(
        mine_items
            .iter()
            .all(|i| i["audit"].as_array().unwrap().is_empty())
    );
    assert!(mine_items.iter().all(|i| {
        let l = i["link"].as_str().unwrap_or("");
        !l.contains("/invitations") && !l.contains("/events") && !l.contains("/recording")
    }));
    // Invitations, codes and device checks: only their own.
    for i in mine_items {
        if ["invitation.created", "notice.sent", "hearing.device_check"]
            .contains(&i["kind"].as_str().unwrap())
            && i["detail"]["purpose"] != "sign_request"
        {
            let owner = i["detail"]["invitation_id"].as_i64().or_else(|| {
                i["detail"]["seat"]
                    .as_str()
                    .and_then(|s| s.strip_prefix("invitation:"))
                    .and_then(|s| s.parse().ok())
            });
            if let Some(o) = owner {
                assert_eq!(o, applicant_inv, "{i}");
            }
        }
    }
    assert!(
        find(
            &mine,
            "invitation.created",
            "invitation_id",
            &json!(respondent_inv)
        )
        .is_none()
    );
    assert!(
        find(
            &mine,
            "invitation.created",
            "invitation_id",
            &json!(applicant_inv)
        )
        .is_some()
    );
    // The other party's identity check and signature: shown, without IP or user agent.
    let theirs = find(
        &mine,
        "identity.verified",
        "invitation_id",
        &json!(respondent_inv),
    )
    .expect("the respondent's check is shown");
    assert!(theirs["detail"].get("ip").is_none(), "{theirs}");
    assert!(theirs["detail"].get("user_agent").is_none(), "{theirs}");
    let own = find(
        &mine,
        "identity.verified",
        "invitation_id",
        &json!(applicant_inv),
    )
    .expect("own check");
    assert!(own["detail"].get("user_agent").is_some(), "{own}");
    let their_sig =
        find(&mine, "document.signed", "slot", &json!("respondent")).expect("signature");
    assert!(
        their_sig["detail"].get("ip").is_none() && their_sig["detail"].get("user_agent").is_none()
    );
    // Exhibits: their own pending one and the shown one, not the other side's pending one.
    assert!(find(&mine, "exhibit.uploaded", "exhibit_id", &pending["id"]).is_some());
    assert!(find(&mine, "exhibit.uploaded", "exhibit_id", &shown["id"]).is_some());
    assert!(find(&mine, "exhibit.uploaded", "exhibit_id", &secret["id"]).is_none());
    let (_, resp_view) = respondent.get(&path).await;
    assert!(find(&resp_view, "exhibit.uploaded", "exhibit_id", &secret["id"]).is_some());
    assert!(find(&resp_view, "exhibit.uploaded", "exhibit_id", &pending["id"]).is_none());
    // Reading is recorded, for parties as for staff.
    let actions = audit_actions(&clerk, case).await;
    let after = actions
        .iter()
        .filter(|a| *a == "case.timeline_read")
        .count();
    assert_eq!(after, before + 2, "the two party reads are on the record");
    let (_, trail) = clerk.get(&format!("/api/cases/{case}/audit")).await;
    assert!(
        trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "case.timeline_read"
                && e["actor"] == format!("invitation:{applicant_inv}:applicant"))
    );

    // --- the merged counterclaim: its own timeline shows the hearing it is heard in ---------
    let (s, cc) = clerk
        .get(&format!("/api/cases/{counterclaim}/timeline"))
        .await;
    assert_eq!(s, StatusCode::OK, "{cc}");
    let heard = find(&cc, "hearing.scheduled", "status", &json!("open"))
        .or_else(|| items(&cc).iter().find(|i| i["kind"] == "hearing.scheduled"))
        .expect("the claim's hearing");
    assert_eq!(heard["hearing_id"], hearing);
    assert_eq!(heard["case_id"], case);
    assert!(kinds(&cc).contains(&"hearing.phase"));
    assert!(
        !kinds(&cc).contains(&"document.created"),
        "the claim's papers stay there"
    );

    // --- a closed case: acceptance, rejection -----------------------------------------------
    let (_, small) = clerk
        .post(
            "/api/cases",
            json!({"cause": "确认劳动关系", "procedure": "ordinary"}),
        )
        .await;
    let small = small["id"].as_i64().unwrap();
    let (s, b) = clerk
        .post(
            &format!("/api/cases/{small}/transition"),
            json!({"to": "closed", "closing_method": "rejection", "reason": "不属于劳动争议"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, closed) = clerk.get(&format!("/api/cases/{small}/timeline")).await;
    assert_eq!(kinds(&closed), ["case.accepted", "case.closed"]);
    let last = &items(&closed)[1];
    assert_eq!(last["detail"]["closing_method"], "rejection");
    assert_eq!(last["detail"]["reason"], "不属于劳动争议");
    assert!(!last["audit"].as_array().unwrap().is_empty());
    assert!(
        last["actor"].as_str().is_some_and(|a| a == "陈书记"),
        "{last}"
    );
}
