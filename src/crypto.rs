//! Small wrappers over `ring`: randomness, SHA-256 and HMAC. Everything that needs a
//! secret value (session tokens, OTP codes, invitation signatures) goes through here so
//! there is one place that decides how secrets are made and compared.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac};

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    SystemRandom::new()
        .fill(&mut buf)
        .expect("system randomness is available");
    buf
}

/// A fresh opaque token: 32 random bytes, base64url.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// A uniformly distributed decimal code of `digits` digits (rejection sampling, no bias).
pub fn random_digits(digits: u32) -> String {
    let modulus = 10u32.pow(digits);
    let limit = u32::MAX - (u32::MAX % modulus);
    loop {
        let n = u32::from_le_bytes(random_bytes::<4>());
        if n < limit {
            return format!("{:0width$}", n % modulus, width = digits as usize);
        }
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// Lower- or upper-case hex to bytes; `None` on anything else.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Compare two byte strings in time that depends only on their lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The server's HMAC key, used for invitation tokens and OTP codes.
#[derive(Clone)]
pub struct ServerKey(hmac::Key);

impl ServerKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        hmac::sign(&self.0, data).as_ref().to_vec()
    }

    pub fn sign_hex(&self, data: &[u8]) -> String {
        hex(&self.sign(data))
    }

    /// Constant-time check of a tag made by [`ServerKey::sign`].
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.0, data, tag).is_ok()
    }

    /// Constant-time comparison of a hex tag (as stored for OTP codes).
    pub fn verify_hex(&self, data: &[u8], tag_hex: &str) -> bool {
        let expected = self.sign_hex(data);
        ct_eq(expected.as_bytes(), tag_hex.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_have_requested_width() {
        for _ in 0..200 {
            let c = random_digits(6);
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn hmac_round_trip_and_forgery() {
        let k = ServerKey::new(b"k");
        let tag = k.sign(b"msg");
        assert!(k.verify(b"msg", &tag));
        assert!(!k.verify(b"msh", &tag));
        assert!(k.verify_hex(b"msg", &hex(&tag)));
        assert!(!ServerKey::new(b"other").verify(b"msg", &tag));
    }

    #[test]
    fn sha256_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
