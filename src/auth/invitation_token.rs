//! Invitation tokens: `base64url(payload) "." base64url(HMAC-SHA256(server key, payload))`.
//! The payload names the invitation, its case, its role and its expiry, so a forged or
//! altered token fails before the database is asked; revocation is checked against the
//! stored invitation afterwards.

use crate::crypto::ServerKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationClaims {
    /// Format version.
    pub v: u8,
    /// Invitation id.
    pub i: i64,
    /// Case id.
    pub c: i64,
    /// Role.
    pub r: String,
    /// Expiry, ms since the epoch.
    pub e: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    BadSignature,
    Expired,
}

const DOMAIN: &[u8] = b"yunting-invitation-v1:";

fn mac_input(payload_b64: &str) -> Vec<u8> {
    [DOMAIN, payload_b64.as_bytes()].concat()
}

pub fn sign(key: &ServerKey, claims: &InvitationClaims) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let tag = URL_SAFE_NO_PAD.encode(key.sign(&mac_input(&payload)));
    format!("{payload}.{tag}")
}

pub fn verify(key: &ServerKey, token: &str, now_ms: i64) -> Result<InvitationClaims, TokenError> {
    if token.len() > 512 {
        return Err(TokenError::Malformed);
    }
    let (payload, tag) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| TokenError::Malformed)?;
    if !key.verify(&mac_input(payload), &tag) {
        return Err(TokenError::BadSignature);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed)?;
    let claims: InvitationClaims =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    if claims.v != 1 {
        return Err(TokenError::Malformed);
    }
    if claims.e <= now_ms {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> InvitationClaims {
        InvitationClaims {
            v: 1,
            i: 3,
            c: 9,
            r: "applicant".into(),
            e: 1_000,
        }
    }

    #[test]
    fn valid_token_round_trips() {
        let key = ServerKey::new(b"secret");
        let t = sign(&key, &claims());
        assert_eq!(verify(&key, &t, 999), Ok(claims()));
    }

    #[test]
    fn forged_altered_and_expired_tokens_fail() {
        let key = ServerKey::new(b"secret");
        let t = sign(&key, &claims());
        assert_eq!(verify(&key, &t, 1_000), Err(TokenError::Expired));
        assert_eq!(
            verify(&ServerKey::new(b"other"), &t, 0),
            Err(TokenError::BadSignature)
        );
        let mut other = claims();
        other.c = 10;
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
        let tag = t.split_once('.').unwrap().1;
        assert_eq!(
            verify(&key, &format!("{forged_payload}.{tag}"), 0),
            Err(TokenError::BadSignature)
        );
        assert_eq!(verify(&key, "garbage", 0), Err(TokenError::Malformed));
        assert_eq!(verify(&key, "a.!!!", 0), Err(TokenError::Malformed));
    }
}
