//! Signing inside the hearing (当庭调解) and the staff side of the signing rules, against
//! the real server with real WebRTC participants: the chair pushes a mediation agreement
//! to the parties' phones in the room and sees each signature arrive; a party whose
//! identity check is stale must confirm with a new code before signing; a new version
//! of a half-signed document needs every signature again; staff record a party's
//! refusal of the transcript and the others complete it.

use crate::common::esign::{certify, new_key, prepare, sign};
use crate::common::media_client::MediaClient;
use crate::common::{Backend, Client, TestServer, assert_error};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::StatusCode;
use ring::signature::KeyPair;
use serde_json::{Value, json};
use std::time::Duration;

fn token(c: &Client) -> &str {
    c.token.as_deref().unwrap()
}

async fn create(c: &Client, case: i64, body: Value) -> i64 {
    let (s, b) = c.post(&format!("/api/cases/{case}/documents"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["id"].as_i64().unwrap()
}

fn slot<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no slot {id} in {doc}"))
}

/// The next `document_update` the chair's console receives, for `slot`.
async fn update_for(chair: &mut MediaClient, slot: &str) -> Value {
    loop {
        let u = chair
            .wait_event("document_update", Duration::from_secs(10))
            .await;
        if u["update"]["slot"] == slot {
            return u["update"].clone();
        }
    }
}

fn phone_of(demo: &Value, role: &str) -> String {
    demo["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == role)
        .unwrap()["phone"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_chair_pushes_an_agreement_into_the_room_and_sees_each_signature_arrive() {
    let (srv, demo) = TestServer::with_media(Backend::Sqlite, &[]).await.unwrap();
    let case = demo["case"]["id"].as_i64().unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    srv.confirm_simplified_procedure(&demo).await;
    let chair = srv.staff(&demo, "arbitrator").await;
    let mediator = srv.staff(&demo, "mediator").await;
    let clerk = srv.staff(&demo, "clerk").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let respondent = srv.ready_party(&demo, "respondent", hearing).await;
    let mut chair_room = MediaClient::join(&srv.base, hearing, token(&chair)).await;
    let mut a_room =
        MediaClient::join_admitted(&srv.base, hearing, token(&applicant), token(&chair)).await;

    let id = create(
        &mediator,
        case,
        json!({"kind": "mediation_agreement", "hearing_id": hearing,
               "fields": {"agreed_terms": "一、被申请人于2026年12月31日前支付申请人工资差额人民币6000元。"}}),
    )
    .await;

    // Parties cannot push; pushing reaches only the signers who are in the room.
    let (s, _) = applicant
        .post(&format!("/api/documents/{id}/push"), json!({}))
        .await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
    let (s, b) = chair
        .post(&format!("/api/documents/{id}/push"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["pushed_to"].as_array().unwrap().len(), 1, "{b}");
    let pushed = a_room
        .wait_event("document_push", Duration::from_secs(5))
        .await;
    assert_eq!(pushed["document_id"], id);
    assert_eq!(pushed["url"], format!("/sign/{id}"));
    assert_eq!(pushed["title"], "调解协议书");

    // The respondent joins late; a second push reaches both pending party signers.
    let mut r_room =
        MediaClient::join_admitted(&srv.base, hearing, token(&respondent), token(&chair)).await;
    let (s, b) = chair
        .post(&format!("/api/documents/{id}/push"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["pushed_to"].as_array().unwrap().len(), 2, "{b}");
    let pushed = r_room
        .wait_event("document_push", Duration::from_secs(5))
        .await;
    assert_eq!(pushed["document_id"], id);

    // Each signature shows up on the chair's console as it arrives.
    let phone = certify(&applicant, id).await;
    sign(&applicant, id, &phone).await;
    let u = update_for(&mut chair_room, "applicant").await;
    assert_eq!(u["document_id"], id);
    assert_eq!(u["status"], "signing");
    let phone = certify(&respondent, id).await;
    sign(&respondent, id, &phone).await;
    update_for(&mut chair_room, "respondent").await;
    let phone = certify(&mediator, id).await;
    sign(&mediator, id, &phone).await;
    update_for(&mut chair_room, "mediator").await;
    let (s, b) = clerk
        .post(&format!("/api/documents/{id}/seal"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "effective", "{b}");
    let u = update_for(&mut chair_room, "seal").await;
    assert_eq!(u["status"], "effective");

    // Nothing left to push.
    let (s, b) = chair
        .post(&format!("/api/documents/{id}/push"), json!({}))
        .await;
    assert_error(&(s, b), StatusCode::CONFLICT, "document_effective");

    // The hearing's record has the push and every arrival.
    let actions = crate::common::audit_actions(&clerk, case).await;
    assert!(
        actions.iter().any(|a| a == "hearing.document_pushed"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn staff_rules_of_signing() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(srv) = TestServer::start(backend).await else {
            continue;
        };
        staff_rules(&srv).await;
    }
}

async fn staff_rules(srv: &TestServer) {
    let demo = srv.demo().await;
    let case = demo["case"]["id"].as_i64().unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let clerk = srv.staff(&demo, "clerk").await;
    let arbitrator = srv.staff(&demo, "arbitrator").await;
    let applicant = srv.verified_party(&demo, "applicant").await;
    srv.age_sent_codes().await;
    let respondent = srv.verified_party(&demo, "respondent").await;

    // A new version of a half-signed document needs every signature again, and the old
    // signature cannot be carried over.
    let id = create(
        &clerk,
        case,
        json!({"kind": "confirmation", "fields": {"defence_period": "放弃答辩期"}}),
    )
    .await;
    let a_phone = certify(&applicant, id).await;
    // Another signer's certificate (and key) is not the respondent's to use.
    let (s, b) = prepare(&respondent, id, &a_phone).await;
    assert_error(&(s, b), StatusCode::FORBIDDEN, "certificate_not_yours");
    let v1 = sign(&applicant, id, &a_phone).await;
    assert_eq!(slot(&v1, "applicant")["status"], "signed", "{v1}");
    let (s, v2) = clerk
        .post(
            &format!("/api/documents/{id}/versions"),
            json!({"fields": {"defence_period": "答辩期缩短为3日"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v2}");
    let (_, doc) = clerk.get(&format!("/api/documents/{id}")).await;
    assert_eq!(doc["version"], 2, "{doc}");
    assert_eq!(doc["status"], "signing", "{doc}");
    assert_ne!(slot(&doc, "applicant")["status"], "signed", "{doc}");
    assert_ne!(slot(&doc, "respondent")["status"], "signed", "{doc}");

    // A party whose identity check is older than the signing window must confirm with a
    // new code first; then it signs.
    let stale_phone = certify(&respondent, id).await;
    let mut conn = srv.app.db.pool.acquire().await.unwrap();
    sqlx::query("UPDATE identity_verifications SET verified_at = verified_at - 3600000")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    // Neither a certificate for a new phone key nor a signature with one made before.
    let (s, b) = respondent
        .post(
            &format!("/api/documents/{id}/certificate"),
            json!({"public_key": B64.encode(new_key().public_key().as_ref())}),
        )
        .await;
    assert_error(&(s, b), StatusCode::FORBIDDEN, "reverify_required");
    let (s, b) = prepare(&respondent, id, &stale_phone).await;
    assert_error(&(s, b), StatusCode::FORBIDDEN, "reverify_required");
    srv.age_sent_codes().await;
    let (s, b) = respondent
        .post(&format!("/api/documents/{id}/otp"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let code = srv.otp_for(&phone_of(&demo, "respondent")).await;
    let (s, b) = respondent
        .post(
            &format!("/api/documents/{id}/otp/verify"),
            json!({"code": "000000"}),
        )
        .await;
    assert!(s.is_client_error(), "a wrong code: {s} {b}");
    let (s, b) = respondent
        .post(
            &format!("/api/documents/{id}/otp/verify"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let r_phone = certify(&respondent, id).await;
    let done = sign(&respondent, id, &r_phone).await;
    assert_eq!(
        done["status"], "signing",
        "the applicant must sign v2: {done}"
    );
    srv.age_sent_codes().await;
    let (s, b) = applicant
        .post(&format!("/api/documents/{id}/otp"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let code = srv.otp_for(&phone_of(&demo, "applicant")).await;
    let (s, b) = applicant
        .post(
            &format!("/api/documents/{id}/otp/verify"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let done = sign(&applicant, id, &certify(&applicant, id).await).await;
    assert_eq!(done["status"], "effective", "{done}");

    // The transcript: the clerk records the respondent's refusal (said in the hearing);
    // the others sign and it is completed. Parties cannot record refusals; a reason is
    // required; a slot that does not exist is refused.
    let t = create(
        &clerk,
        case,
        json!({"kind": "transcript", "hearing_id": hearing,
               "fields": {"transcript_text": "仲裁员：现在开庭。\n被申请人：我方拒绝在笔录上签字。"}}),
    )
    .await;
    let (s, _) = applicant
        .post(
            &format!("/api/documents/{t}/refusals"),
            json!({"slot": "respondent", "reason": "x"}),
        )
        .await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
    let (s, b) = clerk
        .post(
            &format!("/api/documents/{t}/refusals"),
            json!({"slot": "respondent", "reason": " "}),
        )
        .await;
    assert_error(&(s, b), StatusCode::UNPROCESSABLE_ENTITY, "reason_required");
    let (s, b) = clerk
        .post(
            &format!("/api/documents/{t}/refusals"),
            json!({"slot": "nobody", "reason": "x"}),
        )
        .await;
    assert!(s.is_client_error(), "{s} {b}");
    let (s, b) = clerk
        .post(
            &format!("/api/documents/{t}/refusals"),
            json!({"slot": "respondent", "reason": "被申请人当庭表示拒绝签字"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(slot(&b, "respondent")["status"], "refused", "{b}");
    assert_eq!(slot(&b, "respondent")["reason"], "被申请人当庭表示拒绝签字");
    srv.age_sent_codes().await;
    let (s, b) = applicant
        .post(&format!("/api/documents/{t}/otp"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let code = srv.otp_for(&phone_of(&demo, "applicant")).await;
    let (s, _) = applicant
        .post(
            &format!("/api/documents/{t}/otp/verify"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    sign(&applicant, t, &certify(&applicant, t).await).await;
    sign(&arbitrator, t, &certify(&arbitrator, t).await).await;
    let done = sign(&clerk, t, &certify(&clerk, t).await).await;
    assert_eq!(done["status"], "effective", "{done}");
    assert_eq!(slot(&done, "respondent")["status"], "refused");

    // The certificate of completion names the signers, the refusal and the hashes.
    let (s, cert) = clerk
        .get_bytes(&format!("/api/documents/{t}/certificate.pdf"))
        .await;
    assert_eq!(s, StatusCode::OK);
    if crate::common::oracles::have("pdftotext") {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("cert.pdf");
        std::fs::write(&f, &cert).unwrap();
        let out = std::process::Command::new("pdftotext")
            .arg(&f)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let squeezed: String = text.split_whitespace().collect();
        for want in ["林仲裁", "被申请人当庭表示拒绝签字", "SHA-256"] {
            assert!(squeezed.contains(want), "{want} not in:\n{text}");
        }
        let h = done["sha256"].as_str().unwrap();
        assert!(squeezed.contains(&h[..16]), "{h} not in:\n{text}");
    }
}
