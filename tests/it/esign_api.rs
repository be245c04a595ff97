//! E-signature through the HTTP API, with `ring` standing in for the phone's WebCrypto
//! key: the confirmation (both parties, auto-sealed), the mediation agreement (parties,
//! then mediator, then the staff seal), the transcript with a refusal; and every refusal
//! the issue names: a key not certified for this signer and case, a replayed signature
//! for an older version, a signature after the document took effect, a signer of
//! another case, wrong OTP, expired certificate, concurrent signing, bad images and bad
//! template fields. The final PDFs are checked with the offline verifier.

use crate::common::esign::{certify, complete, new_key, prepare, sign, signature_png, strokes};
use crate::common::oracles::{content_stream_byte, pdfsig, pyhanko};
use crate::common::{Backend, Client, TestServer, assert_error};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::StatusCode;
use ring::signature::KeyPair;
use serde_json::{Value, json};

async fn create(c: &Client, case: i64, body: Value) -> Value {
    let (s, b) = c.post(&format!("/api/cases/{case}/documents"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b
}

async fn commission_ca_der(srv: &TestServer) -> Vec<u8> {
    let mut conn = srv.app.db.pool.acquire().await.unwrap();
    let (cid,): (i64,) = sqlx::query_as("SELECT id FROM commissions ORDER BY id LIMIT 1")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let commission = yunting::store::commissions::get(&mut conn, cid)
        .await
        .unwrap();
    yunting::esign::service::commission_ca(&srv.app, &commission)
        .unwrap()
        .cert_der()
        .to_vec()
}

/// The final PDF verifies offline: every signature intact and chained to the CA, the
/// last one covering the whole file.
async fn assert_pdf_valid(srv: &TestServer, c: &Client, doc: i64, signatures: usize) -> Vec<u8> {
    let (s, pdf) = c.get_bytes(&format!("/api/documents/{doc}/pdf")).await;
    assert_eq!(s, StatusCode::OK);
    let ca = commission_ca_der(srv).await;
    let report = yunting::esign::pdf_verify::verify_pdf(&pdf, Some(&ca));
    assert!(report.ok, "{}", report.render_text());
    assert_eq!(
        report.signatures.len(),
        signatures,
        "{}",
        report.render_text()
    );
    for sig in &report.signatures {
        assert!(
            sig.integrity_ok && sig.signature_ok && sig.chain_ok == Some(true),
            "{}",
            report.render_text()
        );
    }
    assert!(report.signatures.last().unwrap().covers_whole_file);
    // The two outside validators agree on the server's own PDF, and both reject it after
    // a one-byte change inside the signed ranges.
    let dir = tempfile::tempdir().unwrap();
    let (file, bad_file, ca_pem) = (
        dir.path().join("signed.pdf"),
        dir.path().join("changed.pdf"),
        dir.path().join("ca.pem"),
    );
    std::fs::write(&file, &pdf).unwrap();
    std::fs::write(&ca_pem, yunting::esign::ca::cert_pem_of(&ca).unwrap()).unwrap();
    let mut changed = pdf.clone();
    changed[content_stream_byte(&pdf)] ^= 0x01;
    std::fs::write(&bad_file, &changed).unwrap();
    if let Some((valid, text)) = pdfsig(&file) {
        assert_eq!(valid, signatures, "pdfsig:\n{text}");
        let (valid, text) = pdfsig(&bad_file).unwrap();
        assert_eq!(valid, 0, "pdfsig after a one-byte change:\n{text}");
    }
    if let Some((ok, text)) = pyhanko(&file, &[&ca_pem]) {
        assert!(ok, "pyhanko:\n{text}");
        assert_eq!(
            text.matches("The signature is judged VALID").count(),
            signatures,
            "pyhanko:\n{text}"
        );
        let (ok, text) = pyhanko(&bad_file, &[&ca_pem]).unwrap();
        assert!(!ok, "pyhanko after a one-byte change:\n{text}");
    }
    pdf
}

#[tokio::test]
async fn esign_sqlite() {
    run(Backend::Sqlite).await
}

#[tokio::test]
async fn esign_postgres() {
    run(Backend::Postgres).await
}

async fn run(backend: Backend) {
    let Some(srv) = TestServer::start(backend).await else {
        return;
    };
    let demo = srv.demo().await;
    let case = demo["case"]["id"].as_i64().unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let clerk = srv.staff(&demo, "clerk").await;
    let mediator = srv.staff(&demo, "mediator").await;
    let arbitrator = srv.staff(&demo, "arbitrator").await;
    let admin = srv.staff(&demo, "admin").await;
    let applicant = srv.verified_party(&demo, "applicant").await;
    let respondent = srv.verified_party(&demo, "respondent").await;

    confirmation(&srv, case, &clerk, &applicant, &respondent, &admin).await;
    mediation(
        &srv,
        case,
        hearing,
        &clerk,
        &mediator,
        &applicant,
        &respondent,
    )
    .await;
    transcript(
        &srv,
        case,
        hearing,
        &clerk,
        &arbitrator,
        &applicant,
        &respondent,
    )
    .await;
    bad_input(&srv, case, &clerk, &applicant).await;
    passkey(&srv, case, &clerk, &respondent).await;
}

async fn confirmation(
    srv: &TestServer,
    case: i64,
    clerk: &Client,
    applicant: &Client,
    respondent: &Client,
    admin: &Client,
) {
    // Bad template fields: control characters and markup are refused, nothing created.
    let (s, b) = clerk
        .post(
            &format!("/api/cases/{case}/documents"),
            json!({"kind": "confirmation", "fields": {"defence_period": "放弃\u{0007}"}}),
        )
        .await;
    assert_error(&(s, b), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let (s, b) = clerk
        .post(
            &format!("/api/cases/{case}/documents"),
            json!({"kind": "confirmation", "fields": {"defence_period": "<script>x</script>"}}),
        )
        .await;
    assert_error(&(s, b), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let (s, b) = clerk
        .post(
            &format!("/api/cases/{case}/documents"),
            json!({"kind": "confirmation", "fields": {"case_number": "forged"}}),
        )
        .await;
    assert_error(&(s, b), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    // Admin reads but does not draft.
    let (s, _) = admin
        .post(
            &format!("/api/cases/{case}/documents"),
            json!({"kind": "confirmation"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let doc = create(
        clerk,
        case,
        json!({"kind": "confirmation", "fields": {"defence_period": "放弃答辩期"}}),
    )
    .await;
    let id = doc["id"].as_i64().unwrap();
    assert_eq!(doc["status"], "signing");
    assert_eq!(doc["pending"], json!(["applicant", "respondent"]));
    let v1_sha = doc["sha256"].as_str().unwrap().to_string();

    // The party sees the PDF it signs, as pages too.
    let (s, pdf) = applicant
        .get_bytes(&format!("/api/documents/{id}/pdf"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF"));
    let (s, page) = applicant
        .get_bytes(&format!("/api/documents/{id}/pages/0"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.starts_with(b"\x89PNG"));
    let (s, _) = applicant
        .get_bytes(&format!("/api/documents/{id}/pages/99"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let a_phone = certify(applicant, id).await;
    let r_phone = certify(respondent, id).await;

    // A certificate of another signer is refused.
    let (s, b) = prepare(respondent, id, &a_phone).await;
    assert_error(&(s, b), StatusCode::FORBIDDEN, "certificate_not_yours");

    // A key that was not certified for this signer: the signature does not verify.
    let (s, p) = prepare(applicant, id, &a_phone).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let stranger = new_key();
    let (s, b) = complete(applicant, id, &p, &stranger).await;
    assert_error(&(s, b), StatusCode::FORBIDDEN, "bad_signature");

    // Replay for an older version: prepared on v1, the clerk then makes v2.
    let (s, old) = prepare(applicant, id, &a_phone).await;
    assert_eq!(s, StatusCode::OK, "{old}");
    let (s, v2) = clerk
        .post(
            &format!("/api/documents/{id}/versions"),
            json!({"fields": {"defence_period": "答辩期缩短为3日"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v2}");
    assert_eq!(v2["version"], 2);
    assert_ne!(v2["sha256"].as_str().unwrap(), v1_sha);
    let (s, b) = complete(applicant, id, &old, &a_phone.key).await;
    assert_error(&(s, b), StatusCode::CONFLICT, "stale_version");

    // Concurrent signing: both prepare on the same revision; the second is told to redo.
    let (s, pa) = prepare(applicant, id, &a_phone).await;
    assert_eq!(s, StatusCode::OK, "{pa}");
    let (s, pr) = prepare(respondent, id, &r_phone).await;
    assert_eq!(s, StatusCode::OK, "{pr}");
    let (s, after_a) = complete(applicant, id, &pa, &a_phone.key).await;
    assert_eq!(s, StatusCode::OK, "{after_a}");
    assert_eq!(after_a["pending"], json!(["respondent"]));
    let (s, b) = complete(respondent, id, &pr, &r_phone.key).await;
    assert_error(&(s, b), StatusCode::CONFLICT, "document_changed");
    let (_, still) = clerk.get(&format!("/api/documents/{id}")).await;
    assert_eq!(still["revision"], 1, "{still}");
    assert_eq!(still["status"], "signing");
    // Replaying the applicant's completed signature is refused.
    let (s, b) = complete(applicant, id, &pa, &a_phone.key).await;
    assert_error(&(s, b), StatusCode::CONFLICT, "signature_replayed");

    let done = sign(respondent, id, &r_phone).await;
    assert_eq!(done["status"], "effective", "{done}");
    assert!(done["certificate_url"].is_string());
    assert!(done["seal"]["sealed_at"].is_i64());

    // After it took effect nothing more is signed.
    let (s, b) = prepare(applicant, id, &a_phone).await;
    assert_error(&(s, b), StatusCode::CONFLICT, "document_effective");
    let (s, b) = clerk
        .post(
            &format!("/api/documents/{id}/versions"),
            json!({"fields": {}}),
        )
        .await;
    assert_error(&(s, b), StatusCode::CONFLICT, "document_effective");

    // Two parties + the seal, each its own revision, all valid.
    let pdf = assert_pdf_valid(srv, clerk, id, 3).await;
    let report = yunting::esign::pdf_verify::verify_pdf(&pdf, None);
    assert_eq!(
        report.signatures[0].doc_sha256_hex.as_deref(),
        v2["sha256"].as_str()
    );
    cli_verify(srv, &pdf).await;
    let (s, cert) = clerk
        .get_bytes(&format!("/api/documents/{id}/certificate.pdf"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(cert.starts_with(b"%PDF"));

    // Every step is on the audit trail.
    let actions = crate::common::audit_actions(clerk, case).await;
    for a in [
        "document.create",
        "document.new_version",
        "signing.certificate_issued",
        "document.signed",
        "document.sealed",
        "document.effective",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
}

async fn mediation(
    srv: &TestServer,
    case: i64,
    hearing: i64,
    clerk: &Client,
    mediator: &Client,
    applicant: &Client,
    respondent: &Client,
) {
    // The mediator drafts the agreement of the hearing they mediate.
    let doc = create(mediator, case, json!({"kind": "mediation_agreement", "hearing_id": hearing, "fields": {"agreed_terms": "一、被申请人于2026年12月31日前支付申请人工资差额人民币8000元。\n二、双方就本案再无其他争议。"}})).await;
    let id = doc["id"].as_i64().unwrap();
    let m_phone = certify(mediator, id).await;
    // Mediator before the parties: not their turn; seal before everyone: not ready.
    let (s, b) = prepare(mediator, id, &m_phone).await;
    assert_error(&(s, b), StatusCode::CONFLICT, "not_your_turn");
    let (s, b) = clerk
        .post(&format!("/api/documents/{id}/seal"), json!({}))
        .await;
    assert_error(&(s, b), StatusCode::CONFLICT, "seal_not_ready");
    // A party may not seal.
    let (s, _) = applicant
        .post(&format!("/api/documents/{id}/seal"), json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let a_phone = certify(applicant, id).await;
    let r_phone = certify(respondent, id).await;
    sign(respondent, id, &r_phone).await;
    sign(applicant, id, &a_phone).await;
    let v = sign(mediator, id, &m_phone).await;
    assert_eq!(v["status"], "signing", "not effective before the seal: {v}");
    assert_eq!(v["seal"]["ready"], true);
    let (s, sealed) = clerk
        .post(&format!("/api/documents/{id}/seal"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{sealed}");
    assert_eq!(sealed["status"], "effective");
    assert_pdf_valid(srv, clerk, id, 4).await;
}

async fn transcript(
    srv: &TestServer,
    case: i64,
    hearing: i64,
    clerk: &Client,
    arbitrator: &Client,
    applicant: &Client,
    respondent: &Client,
) {
    let doc = create(clerk, case, json!({"kind": "transcript", "hearing_id": hearing, "fields": {"transcript_text": "仲裁员：现在开庭。\n申请人：我方请求支付工资差额。\n被申请人：我方不同意。"}})).await;
    let id = doc["id"].as_i64().unwrap();
    // The respondent refuses, with a reason; refusing without one is refused.
    let (s, b) = respondent
        .post(
            &format!("/api/documents/{id}/refuse"),
            json!({"reason": "  "}),
        )
        .await;
    assert_error(&(s, b), StatusCode::UNPROCESSABLE_ENTITY, "reason_required");
    let (s, v) = respondent
        .post(
            &format!("/api/documents/{id}/refuse"),
            json!({"reason": "笔录第二段记录不完整"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let a_phone = certify(applicant, id).await;
    sign(applicant, id, &a_phone).await;
    let arb_phone = certify(arbitrator, id).await;
    sign(arbitrator, id, &arb_phone).await;
    let c_phone = certify(clerk, id).await;
    let done = sign(clerk, id, &c_phone).await;
    assert_eq!(done["status"], "effective", "{done}");
    let refused = done["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "respondent")
        .unwrap();
    assert_eq!(refused["status"], "refused");
    assert_eq!(refused["reason"], "笔录第二段记录不完整");
    // applicant + arbitrator + clerk + seal
    assert_pdf_valid(srv, clerk, id, 4).await;
}

async fn bad_input(srv: &TestServer, case: i64, clerk: &Client, applicant: &Client) {
    let doc = create(
        clerk,
        case,
        json!({"kind": "withdrawal_claim", "fields": {"withdrawal_reason": "双方已和解"}}),
    )
    .await;
    let id = doc["id"].as_i64().unwrap();
    let phone = certify(applicant, id).await;

    // Not an image; a huge image; no strokes; a malformed signature.
    let (s, b) = applicant
        .post(&format!("/api/documents/{id}/prepare"), json!({"certificate": phone.fingerprint, "image": B64.encode(b"GIF89a not a png"), "strokes": strokes()}))
        .await;
    assert_error(&(s, b), StatusCode::UNPROCESSABLE_ENTITY, "invalid_image");
    let (s, _) = applicant
        .post(&format!("/api/documents/{id}/prepare"), json!({"certificate": phone.fingerprint, "image": "A".repeat(2_000_000), "strokes": strokes()}))
        .await;
    assert!(
        s == StatusCode::PAYLOAD_TOO_LARGE || s == StatusCode::UNPROCESSABLE_ENTITY,
        "{s}"
    );
    let (s, b) = applicant
        .post(&format!("/api/documents/{id}/prepare"), json!({"certificate": phone.fingerprint, "image": B64.encode(signature_png()), "strokes": []}))
        .await;
    assert_error(&(s, b), StatusCode::UNPROCESSABLE_ENTITY, "invalid_strokes");
    let (s, p) = prepare(applicant, id, &phone).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let (s, b) = applicant
        .post(
            &format!("/api/documents/{id}/sign"),
            json!({"prepare_id": p["prepare_id"], "signature": B64.encode([7u8; 70])}),
        )
        .await;
    assert_error(
        &(s, b),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_signature",
    );
    let (s, b) = applicant
        .post(
            &format!("/api/documents/{id}/sign"),
            json!({"prepare_id": p["prepare_id"], "signature": "%%%"}),
        )
        .await;
    assert_error(
        &(s, b),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_signature",
    );
    let (s, b) = applicant
        .post(
            &format!("/api/documents/{id}/certificate"),
            json!({"public_key": B64.encode([4u8; 65])}),
        )
        .await;
    assert_error(&(s, b), StatusCode::UNPROCESSABLE_ENTITY, "invalid_key");

    // Wrong OTP when re-confirming identity for signing. (The identity check sent a code a
    // moment ago; age it past the 60 s resend limit instead of waiting.)
    srv.age_sent_codes().await;
    let (s, b) = applicant
        .post(&format!("/api/documents/{id}/otp"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let code = srv.otp_for("13800000001").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (s, b) = applicant
        .post(
            &format!("/api/documents/{id}/otp/verify"),
            json!({"code": wrong}),
        )
        .await;
    assert_error(&(s, b), StatusCode::UNAUTHORIZED, "bad_otp");
    let (s, b) = applicant
        .post(
            &format!("/api/documents/{id}/otp/verify"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // An expired certificate is refused (and the document is untouched).
    {
        let mut conn = srv.app.db.pool.acquire().await.unwrap();
        sqlx::query("UPDATE signer_certificates SET not_after = 1 WHERE fingerprint = $1")
            .bind(&phone.fingerprint)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let (s, b) = complete(applicant, id, &p, &phone.key).await;
    assert_error(&(s, b), StatusCode::FORBIDDEN, "certificate_expired");
    let (_, v) = clerk.get(&format!("/api/documents/{id}")).await;
    assert_eq!(v["revision"], 0);
    assert_eq!(v["status"], "signing");

    // A signer of another case sees nothing of this one.
    let (_, other) = srv.party_of_another_case(clerk).await;
    let (s, _) = other.get(&format!("/api/documents/{id}")).await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
    let (s, _) = other
        .post(
            &format!("/api/documents/{id}/certificate"),
            json!({"public_key": B64.encode(new_key().public_key().as_ref())}),
        )
        .await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );

    // A new certificate, and the withdrawal takes effect with the applicant's signature.
    let phone = certify(applicant, id).await;
    let done = sign(applicant, id, &phone).await;
    assert_eq!(done["status"], "effective");
    assert_pdf_valid(srv, clerk, id, 2).await;
}

/// `yunting verify file.pdf --ca ca.der` passes on the sealed PDF and fails, naming the
/// broken signature, after one byte inside the first signed range changes.
async fn cli_verify(srv: &TestServer, pdf: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let (file, ca) = (dir.path().join("signed.pdf"), dir.path().join("ca.der"));
    std::fs::write(&file, pdf).unwrap();
    std::fs::write(&ca, commission_ca_der(srv).await).unwrap();
    let run = |f: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_yunting"))
            .args(["verify", f.to_str().unwrap(), "--ca", ca.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let ok = run(&file);
    let text = String::from_utf8_lossy(&ok.stdout).to_string();
    assert!(ok.status.success(), "{text}");
    let mut bad = pdf.to_vec();
    // Inside the first revision (the rendered document), far from any signature.
    let at = bad.len() / 10;
    bad[at] ^= 0x01;
    let tampered = dir.path().join("tampered.pdf");
    std::fs::write(&tampered, &bad).unwrap();
    let out = run(&tampered);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !out.status.success(),
        "a changed byte went unnoticed:\n{text}"
    );
    assert!(
        text.contains("yt_v2_applicant") || text.contains("applicant"),
        "{text}"
    );
}

/// A software authenticator: what a phone's platform authenticator does, with `ring`.
struct Authenticator {
    key: ring::signature::EcdsaKeyPair,
    rp_id: String,
    origin: String,
    counter: u32,
}

impl Authenticator {
    fn new(base: &str) -> Self {
        let rng = ring::rand::SystemRandom::new();
        let alg = &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING;
        let p = ring::signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let host = base.trim_start_matches("http://").to_string();
        Authenticator {
            key: ring::signature::EcdsaKeyPair::from_pkcs8(alg, p.as_ref(), &rng).unwrap(),
            rp_id: host.rsplit_once(':').unwrap().0.to_string(),
            origin: base.to_string(),
            counter: 0,
        }
    }
    fn auth_data(&mut self, flags: u8) -> Vec<u8> {
        self.counter += 1;
        let mut a = ring::digest::digest(&ring::digest::SHA256, self.rp_id.as_bytes())
            .as_ref()
            .to_vec();
        a.push(flags);
        a.extend_from_slice(&self.counter.to_be_bytes());
        a
    }
    fn client_data(&self, kind: &str, challenge_b64url: &str) -> Vec<u8> {
        serde_json::to_vec(
            &json!({"type": kind, "challenge": challenge_b64url, "origin": self.origin}),
        )
        .unwrap()
    }
    fn spki(&self) -> Vec<u8> {
        let mut der = crate::common::unhex("3059301306072a8648ce3d020106082a8648ce3d030107034200");
        der.extend_from_slice(self.key.public_key().as_ref());
        der
    }
    fn assertion(&mut self, challenge: &str, flags: u8) -> Value {
        let auth = self.auth_data(flags);
        let cd = self.client_data("webauthn.get", challenge);
        let h = ring::digest::digest(&ring::digest::SHA256, &cd);
        let sig = self
            .key
            .sign(
                &ring::rand::SystemRandom::new(),
                &[auth.as_slice(), h.as_ref()].concat(),
            )
            .unwrap();
        json!({"credential_id": "cred-1", "client_data_json": B64.encode(&cd), "authenticator_data": B64.encode(&auth), "signature": B64.encode(sig.as_ref())})
    }
}

/// Passkey as the method: register on the phone, then confirm the prepared signature with
/// user verification; without the assertion, or without user verification, refused.
async fn passkey(srv: &TestServer, case: i64, clerk: &Client, respondent: &Client) {
    let doc = create(
        clerk,
        case,
        json!({"kind": "withdrawal_counterclaim", "fields": {"withdrawal_reason": "双方已和解"}}),
    )
    .await;
    let id = doc["id"].as_i64().unwrap();
    let mut authn = Authenticator::new(&respondent.base);
    let (s, opts) = respondent
        .post(&format!("/api/documents/{id}/passkey/options"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{opts}");
    assert_eq!(opts["rp_id"], authn.rp_id.as_str());
    let phone = certify(respondent, id).await;
    // Asking for the passkey method before registering one.
    let (s, b) = respondent
        .post(&format!("/api/documents/{id}/prepare"), json!({"certificate": phone.fingerprint, "image": B64.encode(signature_png()), "strokes": strokes(), "method": "webauthn"}))
        .await;
    assert_error(&(s, b), StatusCode::CONFLICT, "passkey_required");
    // Registration with another page's challenge is refused; the right one is kept.
    let reg = |authn: &mut Authenticator, challenge: &str| {
        let auth = authn.auth_data(0x45);
        json!({"credential_id": "cred-1", "public_key": B64.encode(authn.spki()), "client_data_json": B64.encode(authn.client_data("webauthn.create", challenge)), "authenticator_data": B64.encode(&auth)})
    };
    let (s, b) = respondent
        .post(
            &format!("/api/documents/{id}/passkey"),
            reg(&mut authn, "AAAA"),
        )
        .await;
    assert_error(&(s, b), StatusCode::FORBIDDEN, "passkey_refused");
    let challenge = opts["challenge"].as_str().unwrap().to_string();
    let (s, b) = respondent
        .post(
            &format!("/api/documents/{id}/passkey"),
            reg(&mut authn, &challenge),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    let (s, p) = respondent
        .post(&format!("/api/documents/{id}/prepare"), json!({"certificate": phone.fingerprint, "image": B64.encode(signature_png()), "strokes": strokes(), "method": "webauthn"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let wa_challenge = p["webauthn"]["challenge"].as_str().unwrap().to_string();
    let device_sig = phone_sign_b64(&phone, p["to_sign"].as_str().unwrap());
    // No assertion; an assertion without user verification: refused.
    let (s, b) = respondent
        .post(
            &format!("/api/documents/{id}/sign"),
            json!({"prepare_id": p["prepare_id"], "signature": device_sig}),
        )
        .await;
    assert_error(
        &(s, b),
        StatusCode::UNPROCESSABLE_ENTITY,
        "passkey_required",
    );
    let (s, b) = respondent
        .post(&format!("/api/documents/{id}/sign"), json!({"prepare_id": p["prepare_id"], "signature": device_sig, "webauthn": authn.assertion(&wa_challenge, 0x01)}))
        .await;
    assert_error(&(s, b), StatusCode::FORBIDDEN, "passkey_refused");
    let (s, done) = respondent
        .post(&format!("/api/documents/{id}/sign"), json!({"prepare_id": p["prepare_id"], "signature": device_sig, "webauthn": authn.assertion(&wa_challenge, 0x05)}))
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "effective");
    let slot = done["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "respondent")
        .unwrap();
    assert_eq!(slot["method"], "webauthn");
    assert_pdf_valid(srv, clerk, id, 2).await;
}

fn phone_sign_b64(phone: &crate::common::esign::Phone, to_sign: &str) -> String {
    let msg = B64.decode(to_sign).unwrap();
    B64.encode(
        phone
            .key
            .sign(&ring::rand::SystemRandom::new(), &msg)
            .unwrap()
            .as_ref(),
    )
}
