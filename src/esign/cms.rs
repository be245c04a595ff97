//! CMS (RFC 5652) for CAdES-style PDF signatures: the signed attributes a signer's phone
//! signs, the detached `SignedData` that goes into a PDF's `/Contents`, and the reverse
//! (parse and check a `SignedData`, ours or a timestamp authority's).
//!
//! Why the signed attributes are built apart from the rest: the phone's WebCrypto key
//! signs them, so the server hands out their DER (`SET OF`, tag 0x31) first and embeds the
//! very same attributes later, re-tagged `[0] IMPLICIT`. Everything is built and parsed with
//! the RustCrypto `cms`/`x509-cert`/`der` types; only signature *verification* reads the
//! signed attributes straight from the bytes, because `der` sorts a decoded `SET OF` and the
//! signature covers the bytes as they were sent.
//!
//! Attributes follow PAdES baseline B-B: content-type (id-data), message-digest and
//! signing-certificate-v2; no signing-time (the PDF's `/M` carries the claimed time).

use anyhow::{Context, anyhow, bail, ensure};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{ObjectIdentifier as Oid, OctetString, SetOfVec, Uint};
use der::{Any, Decode, Encode, Header, Reader, Sequence, SliceReader, Tag, TagNumber};
use ring::digest;
use ring::signature::{self as rsig, UnparsedPublicKey};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

pub const OID_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
pub const OID_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
pub const OID_CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
pub const OID_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
pub const OID_SIGNING_CERT_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
pub const OID_SIGNATURE_TIMESTAMP: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// Yunting's signature records (JSON) in the commission seal's signed attributes: every
/// earlier signature of the document (signer, method, certificate, document hash, passkey
/// assertion), so a verifier holding only the PDF can check them against the PDF's own
/// signatures. Other validators ignore an attribute they do not know. Under `2.25`
/// (X.667 UUID arcs, no registration needed); `der` decodes arcs below 2^28 only, so the
/// UUID is one whose value fits them (a commission with its own enterprise number can
/// move it there).
pub const OID_YT_SIGNATURE_RECORDS: Oid = Oid::new_unwrap("2.25.196832054");
pub const OID_SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
pub const OID_SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
pub const OID_SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
pub const OID_EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
pub const OID_P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
pub const OID_P384: Oid = Oid::new_unwrap("1.3.132.0.34");
pub const OID_ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
pub const OID_ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
pub const OID_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
pub const OID_RSA_SHA256: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
pub const OID_RSA_SHA384: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
pub const OID_RSA_SHA512: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");

/// The largest DER ECDSA P-256 signature (two 33-byte INTEGERs in a SEQUENCE).
const MAX_P256_DER_SIG: usize = 72;

/// `ESSCertIDv2` (RFC 5035). `hashAlgorithm` is `DEFAULT sha256`: DER omits it then, so it
/// is `None` for SHA-256.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    pub issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial` (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    pub issuer: Vec<GeneralName>,
    pub serial_number: SerialNumber,
}

/// `SigningCertificateV2` (RFC 5035); policies are kept opaque.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
    pub policies: Option<Vec<Any>>,
}

/// `SEQUENCE { r INTEGER, s INTEGER }`, the DER form of an ECDSA signature.
#[derive(Sequence)]
struct EcdsaSigValue {
    r: Uint,
    s: Uint,
}

pub fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: OID_SHA256,
        parameters: None,
    }
}

fn alg(oid: Oid) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// WebCrypto's raw ECDSA P-256 signature (r‖s, 32 bytes each) → ASN.1 DER.
pub fn ecdsa_fixed_to_der(sig: &[u8]) -> anyhow::Result<Vec<u8>> {
    ensure!(
        sig.len() == 64,
        "an ECDSA P-256 signature is 64 bytes (r‖s), got {}",
        sig.len()
    );
    let (r, s) = sig.split_at(32);
    ensure!(
        r.iter().any(|&b| b != 0) && s.iter().any(|&b| b != 0),
        "ECDSA signature with r or s zero"
    );
    let value = EcdsaSigValue {
        r: Uint::new(r)?,
        s: Uint::new(s)?,
    };
    Ok(value.to_der()?)
}

fn attribute(oid: Oid, value: Any) -> anyhow::Result<Attribute> {
    let mut values = SetOfVec::new();
    values.insert(value)?;
    Ok(Attribute { oid, values })
}

/// The CAdES signed attributes for a detached signature over content whose SHA-256 is
/// `message_digest`, made with the key of `signer_cert_der`. Returns the DER `SET OF`
/// (tag 0x31): exactly the bytes the signer signs.
pub fn signed_attributes(
    message_digest: &[u8; 32],
    signer_cert_der: &[u8],
) -> anyhow::Result<Vec<u8>> {
    signed_attributes_with(message_digest, signer_cert_der, None)
}

/// As [`signed_attributes`], with the signature records (JSON) as one more signed
/// attribute (the commission seal carries them).
pub fn signed_attributes_with(
    message_digest: &[u8; 32],
    signer_cert_der: &[u8],
    records_json: Option<&[u8]>,
) -> anyhow::Result<Vec<u8>> {
    let cert = Certificate::from_der(signer_cert_der).context("signer certificate")?;
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(sha256(signer_cert_der).to_vec())?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    cert.tbs_certificate.issuer.clone(),
                )],
                serial_number: cert.tbs_certificate.serial_number.clone(),
            }),
        }],
        policies: None,
    };
    let mut attrs = SetOfVec::new();
    attrs.insert(attribute(OID_CONTENT_TYPE, Any::encode_from(&OID_DATA)?)?)?;
    attrs.insert(attribute(
        OID_MESSAGE_DIGEST,
        Any::encode_from(&OctetString::new(message_digest.to_vec())?)?,
    )?)?;
    attrs.insert(attribute(OID_SIGNING_CERT_V2, Any::encode_from(&ess)?)?)?;
    if let Some(records) = records_json {
        attrs.insert(attribute(
            OID_YT_SIGNATURE_RECORDS,
            Any::encode_from(&OctetString::new(records.to_vec())?)?,
        )?)?;
    }
    Ok(attrs.to_der()?)
}

/// The signature records carried in DER signed attributes (a `SET OF Attribute`), if any.
pub fn records_in_signed_attrs(signed_attrs_der: &[u8]) -> Option<Vec<u8>> {
    let set = SetOfVec::<Attribute>::from_der(signed_attrs_der).ok()?;
    let attr = set.iter().find(|a| a.oid == OID_YT_SIGNATURE_RECORDS)?;
    single_value(attr)
        .ok()?
        .decode_as::<OctetString>()
        .ok()
        .map(OctetString::into_bytes)
}

/// Detached CMS `SignedData` (as a `ContentInfo`) from signed attributes, the DER ECDSA
/// signature over them, the signer certificate and its chain, and optionally an RFC 3161
/// token over the signature (unsigned attribute id-aa-signatureTimeStampToken).
pub fn assemble(
    signed_attrs_der: &[u8],
    signature_der: &[u8],
    signer_cert_der: &[u8],
    chain_der: &[Vec<u8>],
    timestamp_token: Option<&[u8]>,
) -> anyhow::Result<Vec<u8>> {
    let signed_attrs =
        SetOfVec::<Attribute>::from_der(signed_attrs_der).context("signed attributes")?;
    ensure!(
        signed_attrs.to_der()? == signed_attrs_der,
        "signed attributes are not in canonical DER order"
    );
    let cert = Certificate::from_der(signer_cert_der).context("signer certificate")?;
    let mut certificates = SetOfVec::new();
    for der in std::iter::once(signer_cert_der).chain(chain_der.iter().map(Vec::as_slice)) {
        let c = Certificate::from_der(der).context("chain certificate")?;
        if !certificates
            .iter()
            .any(|x| x == &CertificateChoices::Certificate(c.clone()))
        {
            certificates.insert(CertificateChoices::Certificate(c))?;
        }
    }
    let unsigned_attrs = match timestamp_token {
        Some(token) => {
            let mut set = SetOfVec::new();
            set.insert(attribute(
                OID_SIGNATURE_TIMESTAMP,
                Any::from_der(token).context("timestamp token")?,
            )?)?;
            Some(set)
        }
        None => None,
    };
    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256_alg(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: alg(OID_ECDSA_SHA256),
        signature: OctetString::new(signature_der.to_vec())?,
        unsigned_attrs,
    };
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(sha256_alg())?;
    let mut signer_infos = SetOfVec::new();
    signer_infos.insert(signer)?;
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: OID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(certificates)),
        crls: None,
        signer_infos: SignerInfos(signer_infos),
    };
    let ci = ContentInfo {
        content_type: OID_SIGNED_DATA,
        content: Any::encode_from(&sd)?,
    };
    Ok(ci.to_der()?)
}

/// What a `SignedData` says about its (first) signer, for verification.
#[derive(Clone, Debug)]
pub struct ParsedSignedData {
    pub econtent_type: Oid,
    /// The encapsulated content, when not detached (a timestamp token's TSTInfo).
    pub econtent: Option<Vec<u8>>,
    /// DER of every certificate carried.
    pub certificates: Vec<Vec<u8>>,
    /// The certificate the signer identifier points at, if carried.
    pub signer_cert: Option<Vec<u8>>,
    pub digest_alg: Oid,
    pub signature_alg: Oid,
    pub signature: Vec<u8>,
    /// The signed attributes exactly as signed (re-tagged as `SET OF`, 0x31).
    pub signed_attrs_raw: Vec<u8>,
    pub content_type_attr: Option<Oid>,
    pub message_digest: Option<Vec<u8>>,
    pub signing_cert_v2: Option<SigningCertificateV2>,
    pub timestamp_token: Option<Vec<u8>>,
    /// [`OID_YT_SIGNATURE_RECORDS`], when signed in.
    pub signature_records: Option<Vec<u8>>,
}

/// Length of the DER element that starts `bytes` (trailing zero padding is ignored).
pub fn der_element_len(bytes: &[u8]) -> anyhow::Result<usize> {
    let mut r = SliceReader::new(bytes)?;
    let header = Header::decode(&mut r)?;
    let len = usize::try_from((header.encoded_len()? + header.length)?)?;
    ensure!(len <= bytes.len(), "truncated DER");
    Ok(len)
}

/// The raw signed attributes of each `SignerInfo` of a `ContentInfo(SignedData)`, walked
/// with the `der` reader so the bytes are the ones that were signed.
fn raw_signed_attrs(ci_der: &[u8]) -> anyhow::Result<Vec<Option<Vec<u8>>>> {
    let mut r = SliceReader::new(ci_der)?;
    r.sequence(|ci| {
        Oid::decode(ci)?;
        let explicit = Header::decode(ci)?;
        ci.read_nested(explicit.length, |inner| {
            inner.sequence(|sd| {
                // version, digestAlgorithms, encapContentInfo, [0] certs?, [1] crls?
                Any::decode(sd)?;
                Any::decode(sd)?;
                Any::decode(sd)?;
                while sd.peek_tag()? != Tag::Set {
                    Any::decode(sd)?;
                }
                let set = Header::decode(sd)?;
                sd.read_nested(set.length, |infos| {
                    let mut out = Vec::new();
                    while !infos.is_finished() {
                        let tlv = infos.tlv_bytes()?;
                        out.push(signed_attrs_of(tlv)?);
                    }
                    Ok(out)
                })
            })
        })
    })
    .map_err(|e| anyhow!("SignedData structure: {e}"))
}

fn signed_attrs_of(signer_info: &[u8]) -> der::Result<Option<Vec<u8>>> {
    let mut r = SliceReader::new(signer_info)?;
    r.sequence(|si| {
        Any::decode(si)?; // version
        Any::decode(si)?; // sid
        Any::decode(si)?; // digestAlgorithm
        let tag = si.peek_tag()?;
        if tag
            == (Tag::ContextSpecific {
                constructed: true,
                number: TagNumber::N0,
            })
        {
            let mut raw = si.tlv_bytes()?.to_vec();
            raw[0] = 0x31;
            while !si.is_finished() {
                Any::decode(si)?;
            }
            Ok(Some(raw))
        } else {
            while !si.is_finished() {
                Any::decode(si)?;
            }
            Ok(None)
        }
    })
}

fn single_value(attr: &Attribute) -> anyhow::Result<&Any> {
    ensure!(
        attr.values.len() == 1,
        "attribute {} must have one value",
        attr.oid
    );
    attr.values.get(0).ok_or_else(|| anyhow!("empty attribute"))
}

/// Parse a DER `ContentInfo` holding a `SignedData` with one signer.
pub fn parse_signed_data(ci_der: &[u8]) -> anyhow::Result<ParsedSignedData> {
    let ci = ContentInfo::from_der(ci_der).context("CMS ContentInfo")?;
    ensure!(
        ci.content_type == OID_SIGNED_DATA,
        "CMS content is not SignedData"
    );
    let sd: SignedData = ci.content.decode_as().context("CMS SignedData")?;
    let infos = sd.signer_infos.0.as_slice();
    ensure!(
        infos.len() == 1,
        "expected one SignerInfo, found {}",
        infos.len()
    );
    let si = &infos[0];
    let raw = raw_signed_attrs(ci_der)?;
    // `der` sorts a decoded SET OF; with one signer the raw walk has the same single entry.
    let signed_attrs_raw = raw
        .into_iter()
        .next()
        .flatten()
        .ok_or_else(|| anyhow!("SignerInfo has no signed attributes"))?;

    let mut certificates = Vec::new();
    let mut signer_cert = None;
    if let Some(set) = &sd.certificates {
        for choice in set.0.iter() {
            if let CertificateChoices::Certificate(c) = choice {
                let der = c.to_der()?;
                let matches = match &si.sid {
                    SignerIdentifier::IssuerAndSerialNumber(ias) => {
                        ias.issuer == c.tbs_certificate.issuer
                            && ias.serial_number == c.tbs_certificate.serial_number
                    }
                    SignerIdentifier::SubjectKeyIdentifier(ski) => c
                        .tbs_certificate
                        .get::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
                        .ok()
                        .flatten()
                        .is_some_and(|(_, k)| k == *ski),
                };
                if matches && signer_cert.is_none() {
                    signer_cert = Some(der.clone());
                }
                certificates.push(der);
            }
        }
    }

    let mut out = ParsedSignedData {
        econtent_type: sd.encap_content_info.econtent_type,
        econtent: match &sd.encap_content_info.econtent {
            Some(any) => Some(any.decode_as::<OctetString>()?.into_bytes()),
            None => None,
        },
        certificates,
        signer_cert,
        digest_alg: si.digest_alg.oid,
        signature_alg: si.signature_algorithm.oid,
        signature: si.signature.as_bytes().to_vec(),
        signed_attrs_raw,
        content_type_attr: None,
        message_digest: None,
        signing_cert_v2: None,
        timestamp_token: None,
        signature_records: None,
    };
    for attr in si.signed_attrs.iter().flat_map(|s| s.iter()) {
        match attr.oid {
            o if o == OID_CONTENT_TYPE => {
                out.content_type_attr = Some(single_value(attr)?.decode_as()?)
            }
            o if o == OID_MESSAGE_DIGEST => {
                out.message_digest =
                    Some(single_value(attr)?.decode_as::<OctetString>()?.into_bytes())
            }
            o if o == OID_SIGNING_CERT_V2 => {
                out.signing_cert_v2 = Some(single_value(attr)?.decode_as()?)
            }
            o if o == OID_YT_SIGNATURE_RECORDS => {
                out.signature_records =
                    Some(single_value(attr)?.decode_as::<OctetString>()?.into_bytes())
            }
            _ => {}
        }
    }
    for attr in si.unsigned_attrs.iter().flat_map(|s| s.iter()) {
        if attr.oid == OID_SIGNATURE_TIMESTAMP {
            out.timestamp_token = Some(single_value(attr)?.to_der()?);
        }
    }
    Ok(out)
}

/// Digest `data` with the digest algorithm `oid` (SHA-256/384/512).
pub fn digest_with(oid: &Oid, data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let alg = match *oid {
        o if o == OID_SHA256 => &digest::SHA256,
        o if o == OID_SHA384 => &digest::SHA384,
        o if o == OID_SHA512 => &digest::SHA512,
        o => bail!("unsupported digest algorithm {o}"),
    };
    Ok(digest::digest(alg, data).as_ref().to_vec())
}

/// Verify `sig` over `msg` with the key in `spki`. `sig_alg` is the signature algorithm of
/// a certificate or SignerInfo; for a SignerInfo that says plain `rsaEncryption`,
/// `digest_alg` picks the hash.
pub fn verify_with_spki(
    spki: &SubjectPublicKeyInfoOwned,
    sig_alg: &Oid,
    digest_alg: Option<&Oid>,
    msg: &[u8],
    sig: &[u8],
) -> anyhow::Result<()> {
    let key = spki.subject_public_key.raw_bytes();
    let algorithm: &dyn rsig::VerificationAlgorithm = if spki.algorithm.oid == OID_EC_PUBLIC_KEY {
        let curve: Oid = spki
            .algorithm
            .parameters
            .as_ref()
            .ok_or_else(|| anyhow!("EC key without curve"))?
            .decode_as()?;
        match (curve, *sig_alg) {
            (c, a) if c == OID_P256 && a == OID_ECDSA_SHA256 => &rsig::ECDSA_P256_SHA256_ASN1,
            (c, a) if c == OID_P256 && a == OID_ECDSA_SHA384 => &rsig::ECDSA_P256_SHA384_ASN1,
            (c, a) if c == OID_P384 && a == OID_ECDSA_SHA256 => &rsig::ECDSA_P384_SHA256_ASN1,
            (c, a) if c == OID_P384 && a == OID_ECDSA_SHA384 => &rsig::ECDSA_P384_SHA384_ASN1,
            (c, a) => bail!("unsupported EC signature: curve {c}, algorithm {a}"),
        }
    } else if spki.algorithm.oid == OID_RSA {
        let hash = if *sig_alg == OID_RSA {
            digest_alg.copied().unwrap_or(OID_SHA256)
        } else {
            *sig_alg
        };
        match hash {
            h if h == OID_RSA_SHA256 || h == OID_SHA256 => &rsig::RSA_PKCS1_2048_8192_SHA256,
            h if h == OID_RSA_SHA384 || h == OID_SHA384 => &rsig::RSA_PKCS1_2048_8192_SHA384,
            h if h == OID_RSA_SHA512 || h == OID_SHA512 => &rsig::RSA_PKCS1_2048_8192_SHA512,
            h => bail!("unsupported RSA signature algorithm {h}"),
        }
    } else {
        bail!("unsupported public key algorithm {}", spki.algorithm.oid)
    };
    UnparsedPublicKey::new(algorithm, key)
        .verify(msg, sig)
        .map_err(|_| anyhow!("signature does not verify"))
}

/// Check a parsed SignerInfo's signature over its signed attributes with the signer
/// certificate's key, and that the attributes bind that certificate when they carry
/// signing-certificate-v2.
pub fn verify_signer(p: &ParsedSignedData) -> anyhow::Result<()> {
    let cert_der = p
        .signer_cert
        .as_ref()
        .ok_or_else(|| anyhow!("signer certificate not included"))?;
    let cert = Certificate::from_der(cert_der)?;
    if let Some(ess) = &p.signing_cert_v2 {
        let first = ess
            .certs
            .first()
            .ok_or_else(|| anyhow!("empty signing-certificate-v2"))?;
        let alg = first.hash_algorithm.as_ref().map_or(OID_SHA256, |a| a.oid);
        let hash = digest_with(&alg, cert_der)?;
        ensure!(
            first.cert_hash.as_bytes() == hash.as_slice(),
            "signing-certificate-v2 does not match the signer certificate"
        );
    }
    verify_with_spki(
        &cert.tbs_certificate.subject_public_key_info,
        &p.signature_alg,
        Some(&p.digest_alg),
        &p.signed_attrs_raw,
        &p.signature,
    )
}

/// Verify a DER ECDSA P-256/SHA-256 signature with an uncompressed SEC1 public key.
pub fn verify_p256_der(public_key: &[u8], msg: &[u8], sig_der: &[u8]) -> anyhow::Result<()> {
    ensure!(
        !sig_der.is_empty() && sig_der.len() <= MAX_P256_DER_SIG,
        "not an ECDSA P-256 signature (length {})",
        sig_der.len()
    );
    UnparsedPublicKey::new(&rsig::ECDSA_P256_SHA256_ASN1, public_key)
        .verify(msg, sig_der)
        .map_err(|_| anyhow!("the signature does not match the signer certificate's key"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn records_round_trip_in_signed_attributes() {
        let rng = ring::rand::SystemRandom::new();
        let dir = tempfile::tempdir().unwrap();
        let ca = crate::esign::ca::CommissionCa::load_or_create(dir.path(), 1, "x", None).unwrap();
        let seal = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &rng,
        )
        .unwrap();
        let cert = ca.seal_cert(dir.path(), 1, seal.as_ref()).unwrap();
        let attrs = signed_attributes_with(&[7u8; 32], &cert, Some(b"{\"a\":1}")).unwrap();
        assert_eq!(
            records_in_signed_attrs(&attrs).as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        let plain = signed_attributes(&[7u8; 32], &cert).unwrap();
        assert_eq!(records_in_signed_attrs(&plain), None);
    }

    use super::*;

    #[test]
    fn fixed_to_der_strips_and_pads() {
        let mut sig = [0u8; 64];
        sig[31] = 1; // r = 1
        sig[32] = 0x80; // s has its top bit set: needs a 0x00 pad
        let der = ecdsa_fixed_to_der(&sig).unwrap();
        assert_eq!(&der[..5], &[0x30, 0x26, 0x02, 0x01, 0x01]);
        assert_eq!(&der[5..8], &[0x02, 0x21, 0x00]);
        assert!(ecdsa_fixed_to_der(&[1u8; 63]).is_err());
        assert!(ecdsa_fixed_to_der(&[0u8; 64]).is_err());
    }

    #[test]
    fn element_len_ignores_padding() {
        let mut bytes = OctetString::new(vec![7u8; 300]).unwrap().to_der().unwrap();
        let n = bytes.len();
        bytes.extend([0u8; 100]);
        assert_eq!(der_element_len(&bytes).unwrap(), n);
        assert!(der_element_len(&bytes[..10]).is_err());
        assert!(der_element_len(&[]).is_err());
    }
}
