//! The recording's manifest: segments with their hashes and the chain head, the tracks,
//! the participants, the hearing's events on the same wall clock, and any interruptions.
//! It is signed with the commission's seal key (ECDSA P-256, `ring`), over the exact bytes
//! of `manifest.json`, so anyone with the public key can check it offline.

use super::chain::ChainEntry;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, UnparsedPublicKey,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const FORMAT: &str = "yunting-recording/1";

/// One recorded stream, as the SFU received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackInfo {
    pub index: u16,
    pub seat: String,
    pub participant_id: String,
    pub name: String,
    pub role: String,
    pub kind: String,
    pub mime: String,
    pub clock_rate: u32,
    pub ssrc: u32,
    pub first_us: u64,
    /// A simulcast layer: the publication it belongs to (its public track id), its RTP
    /// stream id and its rank (0 = lowest). Every layer is recorded; post-processing uses
    /// the best one of each publication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulcast: Option<SimulcastLayer>,
}

impl TrackInfo {
    /// The simulcast layer's name (its RTP stream id), or "-".
    pub fn layer_name(&self) -> &str {
        self.simulcast.as_ref().map_or("-", |s| s.rid.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulcastLayer {
    pub publication: String,
    pub rid: String,
    pub layer: u8,
}

/// What the media server received and recorded of one track, counted on the live path
/// (independently of the segment files): post-processing must account for every frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackCount {
    pub track: u16,
    pub packets: u64,
    /// Video: packets with the RTP marker bit (a frame's last packet); audio: packets
    /// (one Opus frame each).
    pub frames: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interruption {
    /// Time of the last record written before the stop (µs).
    pub after_us: u64,
    pub reason: String,
    pub detected_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub hearing_id: i64,
    pub case_id: i64,
    pub case_numbers: Vec<String>,
    /// False when sealed by recovery after a crash (more may follow).
    pub complete: bool,
    pub sealed_at_ms: i64,
    pub first_us: u64,
    pub last_us: u64,
    pub segments: Vec<ChainEntry>,
    pub chain_head: String,
    pub tracks: Vec<TrackInfo>,
    pub participants: Vec<Value>,
    pub events: Vec<Value>,
    pub interruptions: Vec<Interruption>,
    /// Per track, what the media server recorded while it ran (a run cut off by a crash
    /// leaves no count, so after one these are lower bounds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub received: Vec<TrackCount>,
    pub seal_public_key: String,
}

pub fn sign(pkcs8: &[u8], bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let rng = ring::rand::SystemRandom::new();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8, &rng)
        .map_err(|_| anyhow::anyhow!("bad seal key"))?;
    Ok(pair
        .sign(&rng, bytes)
        .map_err(|_| anyhow::anyhow!("signing failed"))?
        .as_ref()
        .to_vec())
}

pub fn public_key_hex(pkcs8: &[u8]) -> anyhow::Result<String> {
    use ring::signature::KeyPair;
    let rng = ring::rand::SystemRandom::new();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8, &rng)
        .map_err(|_| anyhow::anyhow!("bad seal key"))?;
    Ok(crate::crypto::hex(pair.public_key().as_ref()))
}

pub fn verify(public_key_hex: &str, bytes: &[u8], signature: &[u8]) -> bool {
    let Some(key) = crate::crypto::unhex(public_key_hex) else {
        return false;
    };
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, key)
        .verify(bytes, signature)
        .is_ok()
}
