//! A phone's side of e-signature for tests: `ring` stands in for the WebCrypto key that
//! a real phone keeps non-extractable in IndexedDB.

use super::{Client, TestServer};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

/// A phone's signing key (what WebCrypto keeps non-extractable in IndexedDB).
pub struct Phone {
    pub key: EcdsaKeyPair,
    pub fingerprint: String,
}

pub fn new_key() -> EcdsaKeyPair {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
}

pub async fn certify(c: &Client, doc: i64) -> Phone {
    let key = new_key();
    let (s, b) = c
        .post(
            &format!("/api/documents/{doc}/certificate"),
            json!({"public_key": B64.encode(key.public_key().as_ref())}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(
        b["certificate"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    Phone {
        key,
        fingerprint: b["fingerprint"].as_str().unwrap().to_string(),
    }
}

/// A small handwritten-looking PNG: a dark diagonal stroke on transparent.
pub fn signature_png() -> Vec<u8> {
    let (w, h) = (240u32, 80u32);
    let mut rgba = vec![0u8; (w * h * 4) as usize];
    for x in 10..230u32 {
        let y = 20 + (x * 40 / 220);
        for dy in 0..3 {
            let i = (((y + dy) * w + x) * 4) as usize;
            rgba[i..i + 4].copy_from_slice(&[20, 20, 60, 255]);
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header().unwrap().write_image_data(&rgba).unwrap();
    }
    out
}

pub fn strokes() -> Value {
    json!([{"penColor": "black", "points": [{"x": 10, "y": 20, "time": 1, "pressure": 0.5}, {"x": 230, "y": 60, "time": 90, "pressure": 0.5}]}])
}

pub async fn prepare(c: &Client, doc: i64, phone: &Phone) -> (StatusCode, Value) {
    c.post(
        &format!("/api/documents/{doc}/prepare"),
        json!({"certificate": phone.fingerprint, "image": B64.encode(signature_png()), "strokes": strokes(), "method": "device_key"}),
    )
    .await
}

pub fn phone_sign(key: &EcdsaKeyPair, to_sign_b64: &str) -> String {
    let msg = B64.decode(to_sign_b64).unwrap();
    let sig = key.sign(&SystemRandom::new(), &msg).unwrap();
    B64.encode(sig.as_ref())
}

pub async fn complete(
    c: &Client,
    doc: i64,
    prepared: &Value,
    key: &EcdsaKeyPair,
) -> (StatusCode, Value) {
    c.post(
        &format!("/api/documents/{doc}/sign"),
        json!({"prepare_id": prepared["prepare_id"], "signature": phone_sign(key, prepared["to_sign"].as_str().unwrap())}),
    )
    .await
}

pub async fn sign(c: &Client, doc: i64, phone: &Phone) -> Value {
    let (s, p) = prepare(c, doc, phone).await;
    assert_eq!(s, StatusCode::OK, "prepare: {p}");
    let (s, v) = complete(c, doc, &p, &phone.key).await;
    assert_eq!(s, StatusCode::OK, "sign: {v}");
    v
}

impl TestServer {
    /// Both parties of the demo case sign its simplified-procedure confirmation, so the
    /// demo hearing may open (the gate of `hearing::registry`).
    pub async fn confirm_simplified_procedure(&self, demo: &Value) {
        let case = demo["case"]["id"].as_i64().unwrap();
        let clerk = self.staff(demo, "clerk").await;
        let (s, doc) = clerk
            .post(
                &format!("/api/cases/{case}/documents"),
                json!({"kind": "confirmation", "fields": {"defence_period": "放弃答辩期"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{doc}");
        let id = doc["id"].as_i64().unwrap();
        self.age_sent_codes().await;
        for role in ["applicant", "respondent"] {
            let party = self.verified_party(demo, role).await;
            let phone = certify(&party, id).await;
            sign(&party, id, &phone).await;
        }
        let (_, doc) = clerk.get(&format!("/api/documents/{id}")).await;
        assert_eq!(doc["status"], "effective", "{doc}");
        self.age_sent_codes().await;
    }

    /// Codes sent by earlier identity checks, aged past the 60 s resend limit, so a test
    /// can verify the same party again at once instead of waiting.
    pub async fn age_sent_codes(&self) {
        let mut conn = self.app.db.pool.acquire().await.unwrap();
        sqlx::query("UPDATE otp_challenges SET created_at = created_at - 120000")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
}
