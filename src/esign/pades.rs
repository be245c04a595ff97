//! PAdES signatures (`/ETSI.CAdES.detached`) appended to a PDF as incremental updates.
//!
//! Signing is split in two because the signer's key is on their phone: [`prepare`] appends
//! the update (signature field + widget + signature dictionary with a zero-filled
//! `/Contents` placeholder) and returns the CAdES signed attributes for the phone to sign;
//! [`finish`] checks the phone's signature against the signer certificate and writes the CMS
//! `SignedData` into the placeholder. Nothing before the update is ever rewritten, so each
//! earlier signature still covers exactly the bytes it signed (its revision), and a later
//! signature covers everything up to itself. The commission [`seal`] runs both steps with the
//! server's seal key.
//!
//! Each signature dictionary also carries `/YT_DocSHA256`, the SHA-256 of the document
//! version the signer was shown, inside the signed byte range, so verification can tie the
//! signature to that version.

mod appearance;
mod incremental;

use anyhow::{Context, anyhow, ensure};
use chrono::{DateTime, Utc};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

pub use appearance::Appearance;

use super::{ca, cms, timestamp};

/// Bytes reserved for the CMS `SignedData` (written as hex, so twice as many characters):
/// two certificates and an RFC 3161 token with its own chain fit comfortably.
pub const CONTENTS_BYTES: usize = 8192;

/// Where and how a signature field is added.
#[derive(Clone, Debug)]
pub struct SigFieldSpec {
    /// Unique among the document's fields; no `.` (it separates field-name parts).
    pub field_name: String,
    /// Page index, 0-based.
    pub page: usize,
    /// Widget rectangle `[x1, y1, x2, y2]` in PDF user space (points, origin bottom-left,
    /// unlike krilla's top-left); all zero for an invisible signature.
    pub rect: [f32; 4],
    pub signer_name: String,
    pub reason: String,
    pub location: String,
    /// SHA-256 (hex) of the document version the signer was shown.
    pub doc_sha256_hex: String,
}

/// A PDF with a signature placeholder, and what the signer must sign.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The whole PDF: previous bytes + this update, `/Contents` still zero-filled.
    pub pdf: Vec<u8>,
    /// `[0, a, b, c]`: signed are `pdf[0..a]` and `pdf[b..b+c]`; `a..b` is `<hex>`.
    pub byte_range: [usize; 4],
    /// The CAdES signed attributes (DER `SET OF`, tag 0x31) to sign.
    pub signed_attrs_der: Vec<u8>,
    pub signer_cert_der: Vec<u8>,
    pub chain_der: Vec<Vec<u8>>,
}

/// What the widget shows.
pub(crate) enum Visual<'a> {
    Image(&'a Appearance),
    Seal,
    None,
}

/// Append a signature field and placeholder for `signer_cert_der`'s holder to `pdf`, with
/// the handwritten `appearance` (if any) in `field.rect`.
pub fn prepare(
    pdf: &[u8],
    field: &SigFieldSpec,
    appearance: Option<&Appearance>,
    signer_cert_der: &[u8],
    chain_der: &[Vec<u8>],
    signing_time: DateTime<Utc>,
) -> anyhow::Result<Prepared> {
    let visual = appearance.map_or(Visual::None, Visual::Image);
    prepare_with(
        pdf,
        field,
        visual,
        signer_cert_der,
        chain_der,
        signing_time,
        None,
    )
}

fn prepare_with(
    pdf: &[u8],
    field: &SigFieldSpec,
    visual: Visual<'_>,
    signer_cert_der: &[u8],
    chain_der: &[Vec<u8>],
    signing_time: DateTime<Utc>,
    records_json: Option<&[u8]>,
) -> anyhow::Result<Prepared> {
    ca::cert_info(signer_cert_der).context("signer certificate")?;
    for c in chain_der {
        ca::cert_info(c).context("chain certificate")?;
    }
    ensure!(
        field.doc_sha256_hex.len() == 64
            && field.doc_sha256_hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "doc_sha256_hex must be 64 hex digits"
    );
    let base = incremental::Base::read(pdf)?;
    // Records signed into the seal need room in /Contents beyond the usual signature.
    let contents_len =
        CONTENTS_BYTES + records_json.map_or(0, |r| r.len().div_ceil(1024) * 1024 + 64);
    let (bytes, byte_range) =
        incremental::append_signature(&base, field, &visual, signing_time, contents_len)?;
    let digest = range_digest(&bytes, byte_range)?;
    let signed_attrs_der = cms::signed_attributes_with(&digest, signer_cert_der, records_json)?;
    Ok(Prepared {
        pdf: bytes,
        byte_range,
        signed_attrs_der,
        signer_cert_der: signer_cert_der.to_vec(),
        chain_der: chain_der.to_vec(),
    })
}

/// SHA-256 over the two signed ranges of `pdf`.
pub(crate) fn range_digest(pdf: &[u8], br: [usize; 4]) -> anyhow::Result<[u8; 32]> {
    let [start, a, b, c] = br;
    ensure!(
        start == 0 && a < b && b.checked_add(c).is_some_and(|end| end <= pdf.len()),
        "byte range {br:?} does not fit the file"
    );
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(&pdf[..a]);
    ctx.update(&pdf[b..b + c]);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Ok(out)
}

/// Embed the signer's DER ECDSA-SHA256 signature over `prepared.signed_attrs_der` (checked
/// against the signer certificate's key first) and an optional RFC 3161 token over it.
pub fn finish(
    prepared: &Prepared,
    signature_der: &[u8],
    timestamp_token: Option<&[u8]>,
) -> anyhow::Result<Vec<u8>> {
    let info = ca::cert_info(&prepared.signer_cert_der).context("signer certificate")?;
    cms::verify_p256_der(&info.public_key, &prepared.signed_attrs_der, signature_der)?;
    // The attributes must still describe these bytes and this certificate.
    let digest = range_digest(&prepared.pdf, prepared.byte_range)?;
    let records = cms::records_in_signed_attrs(&prepared.signed_attrs_der);
    let expected =
        cms::signed_attributes_with(&digest, &prepared.signer_cert_der, records.as_deref())?;
    ensure!(
        expected == prepared.signed_attrs_der,
        "prepared PDF, certificate and signed attributes do not belong together"
    );
    if let Some(token) = timestamp_token {
        timestamp::verify_token(token, &cms::sha256(signature_der)).context("timestamp token")?;
    }
    let cms = cms::assemble(
        &prepared.signed_attrs_der,
        signature_der,
        &prepared.signer_cert_der,
        &prepared.chain_der,
        timestamp_token,
    )?;
    let [_, a, b, _] = prepared.byte_range;
    let slot = &prepared.pdf[a..b];
    ensure!(
        slot.len() >= 2
            && slot[0] == b'<'
            && slot[slot.len() - 1] == b'>'
            && slot[1..slot.len() - 1].iter().all(|&x| x == b'0'),
        "the /Contents placeholder is not empty"
    );
    let hex = ca::hex(&cms);
    ensure!(
        hex.len() <= slot.len() - 2,
        "signature ({} bytes) does not fit the placeholder",
        cms.len()
    );
    let mut out = prepared.pdf.clone();
    out[a + 1..a + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    Ok(out)
}

/// The commission seal in one call: prepare (a drawn seal when `field.rect` is non-empty,
/// otherwise invisible), sign with the seal key, timestamp when a TSA is given (a TSA
/// failure is an error: the caller decides whether to seal without), finish.
// The seal's inputs are all distinct (document, field, key, certificate, chain, time,
// timestamp authority, records); bundling them would only move the list.
#[allow(clippy::too_many_arguments)]
pub fn seal(
    pdf: &[u8],
    field: &SigFieldSpec,
    seal_pkcs8: &[u8],
    seal_cert_der: &[u8],
    chain_der: &[Vec<u8>],
    now: DateTime<Utc>,
    tsa: Option<&dyn timestamp::Tsa>,
    records_json: Option<&[u8]>,
) -> anyhow::Result<Vec<u8>> {
    let rng = SystemRandom::new();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, seal_pkcs8, &rng)
        .map_err(|e| anyhow!("seal key is not a PKCS#8 P-256 key: {e}"))?;
    let info = ca::cert_info(seal_cert_der).context("seal certificate")?;
    ensure!(
        info.public_key == key.public_key().as_ref(),
        "the seal certificate is not for this seal key"
    );
    let prepared = prepare_with(
        pdf,
        field,
        Visual::Seal,
        seal_cert_der,
        chain_der,
        now,
        records_json,
    )?;
    let sig = key
        .sign(&rng, &prepared.signed_attrs_der)
        .map_err(|_| anyhow!("seal signing failed"))?;
    let token = match tsa {
        Some(tsa) => Some(
            tsa.timestamp(&cms::sha256(sig.as_ref()))
                .context("timestamp authority")?,
        ),
        None => None,
    };
    finish(&prepared, sig.as_ref(), token.as_deref())
}
