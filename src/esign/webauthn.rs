//! Passkeys (WebAuthn) as a signing method: where the phone has a platform authenticator,
//! the signer also confirms with it, user verification required (fingerprint, face or
//! screen lock), over a challenge bound to the document version's hash and the prepared
//! signature. The passkey proves the person at the phone approved this very document;
//! the device key still makes the PAdES signature.
//!
//! Only what the browser hands over without CBOR is used: at registration the credential's
//! public key as SubjectPublicKeyInfo (`getPublicKey()`) and the authenticator data
//! (`getAuthenticatorData()`); at assertion the authenticator data, client data and the
//! ES256 signature. Checks follow WebAuthn L2 §7.1/§7.2: type, challenge, origin, RP ID
//! hash, user-present and user-verified flags, signature, and a signature counter that
//! does not go back.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;

#[derive(Debug, PartialEq, Eq)]
pub enum WebAuthnError {
    Malformed(&'static str),
    WrongType,
    WrongChallenge,
    WrongOrigin,
    WrongRp,
    NotVerified,
    BadSignature,
    CounterWentBack,
    UnsupportedKey,
}

impl std::fmt::Display for WebAuthnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            WebAuthnError::Malformed(what) => {
                return write!(
                    f,
                    "通行密钥数据格式错误（{what}）/ malformed passkey data ({what})"
                );
            }
            WebAuthnError::WrongType => "通行密钥操作类型不符 / wrong WebAuthn operation type",
            WebAuthnError::WrongChallenge => {
                "通行密钥确认的不是本文书 / the passkey confirmed a different challenge"
            }
            WebAuthnError::WrongOrigin => "通行密钥来源网站不符 / wrong origin",
            WebAuthnError::WrongRp => "通行密钥所属网站不符 / wrong relying party",
            WebAuthnError::NotVerified => {
                "通行密钥未验证本人（指纹、面容或锁屏密码）/ the passkey did not verify the user"
            }
            WebAuthnError::BadSignature => "通行密钥签名无效 / the passkey signature is invalid",
            WebAuthnError::CounterWentBack => {
                "通行密钥计数器回退，疑似复制的密钥 / the passkey counter went back (cloned key?)"
            }
            WebAuthnError::UnsupportedKey => {
                "仅支持 ES256（P-256）通行密钥 / only ES256 (P-256) passkeys are supported"
            }
        };
        f.write_str(s)
    }
}

#[derive(Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
}

fn b64url(s: &str) -> Result<Vec<u8>, WebAuthnError> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| WebAuthnError::Malformed("base64url"))
}

/// What the relying party expects of every ceremony.
pub struct Expect<'a> {
    /// The RP ID: the host name the page is served from.
    pub rp_id: &'a str,
    /// The page origin, e.g. `https://hearing.example.gov.cn`.
    pub origin: &'a str,
    pub challenge: &'a [u8],
}

fn check_client_data(raw: &[u8], kind: &str, want: &Expect) -> Result<(), WebAuthnError> {
    let cd: ClientData =
        serde_json::from_slice(raw).map_err(|_| WebAuthnError::Malformed("clientDataJSON"))?;
    if cd.kind != kind {
        return Err(WebAuthnError::WrongType);
    }
    if b64url(&cd.challenge)? != want.challenge {
        return Err(WebAuthnError::WrongChallenge);
    }
    if cd.origin != want.origin {
        return Err(WebAuthnError::WrongOrigin);
    }
    Ok(())
}

/// RP ID hash, flags and counter of authenticator data.
fn check_auth_data(auth: &[u8], want: &Expect) -> Result<u32, WebAuthnError> {
    if auth.len() < 37 {
        return Err(WebAuthnError::Malformed("authenticatorData"));
    }
    let rp_hash = ring::digest::digest(&ring::digest::SHA256, want.rp_id.as_bytes());
    if &auth[..32] != rp_hash.as_ref() {
        return Err(WebAuthnError::WrongRp);
    }
    let flags = auth[32];
    if flags & FLAG_UP == 0 || flags & FLAG_UV == 0 {
        return Err(WebAuthnError::NotVerified);
    }
    Ok(u32::from_be_bytes([auth[33], auth[34], auth[35], auth[36]]))
}

/// The P-256 point (0x04‖x‖y) of an ES256 credential's SubjectPublicKeyInfo.
pub fn p256_point_from_spki(spki: &[u8]) -> Result<Vec<u8>, WebAuthnError> {
    use der::Decode;
    let info = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(spki)
        .map_err(|_| WebAuthnError::Malformed("public key"))?;
    const EC: der::oid::ObjectIdentifier =
        der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    const P256: der::oid::ObjectIdentifier =
        der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    let curve = info
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<der::oid::ObjectIdentifier>().ok());
    if info.algorithm.oid != EC || curve != Some(P256) {
        return Err(WebAuthnError::UnsupportedKey);
    }
    let point = info.subject_public_key.raw_bytes().to_vec();
    if point.len() != 65 || point[0] != 0x04 {
        return Err(WebAuthnError::UnsupportedKey);
    }
    Ok(point)
}

/// A registration (`navigator.credentials.create`) checked: returns the credential's
/// public key point and the initial counter.
pub fn verify_registration(
    client_data_json: &[u8],
    authenticator_data: &[u8],
    public_key_spki: &[u8],
    want: &Expect,
) -> Result<(Vec<u8>, u32), WebAuthnError> {
    check_client_data(client_data_json, "webauthn.create", want)?;
    let counter = check_auth_data(authenticator_data, want)?;
    Ok((p256_point_from_spki(public_key_spki)?, counter))
}

/// An assertion (`navigator.credentials.get`) checked against the stored credential;
/// returns the new counter.
pub fn verify_assertion(
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature_der: &[u8],
    public_key_point: &[u8],
    stored_counter: u32,
    want: &Expect,
) -> Result<u32, WebAuthnError> {
    check_client_data(client_data_json, "webauthn.get", want)?;
    let counter = check_auth_data(authenticator_data, want)?;
    let cd_hash = ring::digest::digest(&ring::digest::SHA256, client_data_json);
    let signed = [authenticator_data, cd_hash.as_ref()].concat();
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_ASN1,
        public_key_point,
    )
    .verify(&signed, signature_der)
    .map_err(|_| WebAuthnError::BadSignature)?;
    // Authenticators that do not count report 0 every time.
    if (counter != 0 || stored_counter != 0) && counter <= stored_counter {
        return Err(WebAuthnError::CounterWentBack);
    }
    Ok(counter)
}

/// Standard or URL-safe base64, as browsers and our records write it.
fn any_b64(s: &str) -> Result<Vec<u8>, WebAuthnError> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .or_else(|_| b64url(s.trim()))
}

/// Check a passkey confirmation as kept in a signature record (the credential's public
/// key, the assertion, the RP ID and the challenge), offline: type, challenge, an origin
/// on the RP ID's host, RP ID hash, user verification and the signature.
/// `expected_challenge`: the challenge recomputed from the document itself
/// ([`signing_challenge`] over the version hash and the PDF signature's signed
/// attributes). Without it the recorded challenge is taken as it stands, which proves
/// the passkey signed *something* but not this document.
pub fn verify_recorded(
    record: &serde_json::Value,
    expected_challenge: Option<&[u8]>,
) -> Result<(), WebAuthnError> {
    let text = |k: &'static str| {
        record[k]
            .as_str()
            .ok_or(WebAuthnError::Malformed(k))
            .map(str::to_string)
    };
    let client_data = any_b64(&text("client_data_json")?)?;
    let auth = any_b64(&text("authenticator_data")?)?;
    let sig = any_b64(&text("signature")?)?;
    let point =
        crate::crypto::unhex(&text("public_key")?).ok_or(WebAuthnError::Malformed("public_key"))?;
    let challenge = b64url(&text("challenge")?)?;
    if expected_challenge.is_some_and(|e| e != challenge.as_slice()) {
        return Err(WebAuthnError::WrongChallenge);
    }
    let rp_id = text("rp_id")?;
    let cd: ClientData = serde_json::from_slice(&client_data)
        .map_err(|_| WebAuthnError::Malformed("clientDataJSON"))?;
    let host = cd
        .origin
        .strip_prefix("https://")
        .or_else(|| cd.origin.strip_prefix("http://"))
        .map(|h| h.split(':').next().unwrap_or(h))
        .unwrap_or("");
    if host != rp_id {
        return Err(WebAuthnError::WrongOrigin);
    }
    verify_assertion(
        &client_data,
        &auth,
        &sig,
        &point,
        0,
        &Expect {
            rp_id: &rp_id,
            origin: &cd.origin,
            challenge: &challenge,
        },
    )
    .map(|_| ())
}

/// The challenge of a signature's passkey confirmation: bound to the document version's
/// hash and to the prepared signature (its signed attributes).
pub fn signing_challenge(doc_sha256_hex: &str, signed_attrs: &[u8]) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"yunting-webauthn-sign-v1:");
    ctx.update(doc_sha256_hex.as_bytes());
    ctx.update(b":");
    ctx.update(signed_attrs);
    ctx.finish().as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

    fn auth_data(rp: &str, flags: u8, counter: u32) -> Vec<u8> {
        let mut a = ring::digest::digest(&ring::digest::SHA256, rp.as_bytes())
            .as_ref()
            .to_vec();
        a.push(flags);
        a.extend_from_slice(&counter.to_be_bytes());
        a
    }

    fn client_data(kind: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"type": kind, "challenge": URL_SAFE_NO_PAD.encode(challenge), "origin": origin})).unwrap()
    }

    fn key() -> EcdsaKeyPair {
        let rng = SystemRandom::new();
        let p = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, p.as_ref(), &rng).unwrap()
    }

    fn assert_with(k: &EcdsaKeyPair, auth: &[u8], cd: &[u8]) -> Vec<u8> {
        let h = ring::digest::digest(&ring::digest::SHA256, cd);
        k.sign(&SystemRandom::new(), &[auth, h.as_ref()].concat())
            .unwrap()
            .as_ref()
            .to_vec()
    }

    /// A passkey confirmation as a bundle carries it checks offline; a changed byte of
    /// the assertion or a record naming another site does not.
    #[test]
    fn a_recorded_confirmation_checks_offline() {
        use base64::engine::general_purpose::STANDARD;
        let k = key();
        let challenge = signing_challenge(&"ab".repeat(32), b"attrs");
        let auth = auth_data("hearing.example.cn", FLAG_UP | FLAG_UV, 2);
        let cd = client_data(
            "webauthn.get",
            &challenge,
            "https://hearing.example.cn:8443",
        );
        let sig = assert_with(&k, &auth, &cd);
        let record = serde_json::json!({
            "credential_id": "c1",
            "public_key": crate::crypto::hex(k.public_key().as_ref()),
            "client_data_json": STANDARD.encode(&cd),
            "authenticator_data": URL_SAFE_NO_PAD.encode(&auth),
            "signature": STANDARD.encode(&sig),
            "rp_id": "hearing.example.cn",
            "challenge": URL_SAFE_NO_PAD.encode(&challenge),
        });
        let expected = challenge.as_slice();
        assert_eq!(verify_recorded(&record, Some(expected)), Ok(()));
        // A genuine assertion over another document's challenge: valid in itself, but
        // not for this document.
        let other = signing_challenge(&"cd".repeat(32), b"attrs");
        assert_eq!(
            verify_recorded(&record, Some(&other)),
            Err(WebAuthnError::WrongChallenge)
        );
        let mut forged = record.clone();
        let mut bad = sig.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        forged["signature"] = serde_json::json!(STANDARD.encode(&bad));
        assert!(verify_recorded(&forged, Some(expected)).is_err());
        let mut elsewhere = record.clone();
        elsewhere["rp_id"] = serde_json::json!("evil.example");
        assert_eq!(
            verify_recorded(&elsewhere, Some(expected)),
            Err(WebAuthnError::WrongOrigin)
        );
        let mut other_doc = record;
        other_doc["challenge"] = serde_json::json!(URL_SAFE_NO_PAD.encode(b"another document"));
        assert_eq!(
            verify_recorded(&other_doc, None),
            Err(WebAuthnError::WrongChallenge)
        );
        assert!(verify_recorded(&serde_json::json!({}), None).is_err());
    }

    #[test]
    fn an_assertion_bound_to_the_document_verifies_and_nothing_else_does() {
        let k = key();
        let point = k.public_key().as_ref().to_vec();
        let challenge = signing_challenge(&"ab".repeat(32), b"attrs");
        let want = Expect {
            rp_id: "hearing.example.cn",
            origin: "https://hearing.example.cn",
            challenge: &challenge,
        };
        let auth = auth_data("hearing.example.cn", FLAG_UP | FLAG_UV, 7);
        let cd = client_data("webauthn.get", &challenge, "https://hearing.example.cn");
        let sig = assert_with(&k, &auth, &cd);
        assert_eq!(verify_assertion(&cd, &auth, &sig, &point, 3, &want), Ok(7));
        // Counter not moving forward.
        assert_eq!(
            verify_assertion(&cd, &auth, &sig, &point, 7, &want),
            Err(WebAuthnError::CounterWentBack)
        );
        // Another document's challenge.
        let other = signing_challenge(&"cd".repeat(32), b"attrs");
        let cd2 = client_data("webauthn.get", &other, "https://hearing.example.cn");
        let sig2 = assert_with(&k, &auth, &cd2);
        assert_eq!(
            verify_assertion(&cd2, &auth, &sig2, &point, 0, &want),
            Err(WebAuthnError::WrongChallenge)
        );
        // No user verification.
        let auth_up = auth_data("hearing.example.cn", FLAG_UP, 9);
        let sig3 = assert_with(&k, &auth_up, &cd);
        assert_eq!(
            verify_assertion(&cd, &auth_up, &sig3, &point, 0, &want),
            Err(WebAuthnError::NotVerified)
        );
        // Wrong site.
        let auth_rp = auth_data("evil.example", FLAG_UP | FLAG_UV, 9);
        assert_eq!(
            verify_assertion(&cd, &auth_rp, &sig, &point, 0, &want),
            Err(WebAuthnError::WrongRp)
        );
        // Another key.
        let other_key = key();
        assert_eq!(
            verify_assertion(&cd, &auth, &sig, other_key.public_key().as_ref(), 0, &want),
            Err(WebAuthnError::BadSignature)
        );
        // Garbage.
        assert!(verify_assertion(b"{", &auth, &sig, &point, 0, &want).is_err());
        assert!(verify_assertion(&cd, b"short", &sig, &point, 0, &want).is_err());
    }
}
