//! The commission's certificate authority for e-signatures.
//!
//! A signer's key never leaves their phone (non-extractable WebCrypto P-256), so what ties
//! a PDF signature to a person is a short-lived certificate this CA issues for that public
//! key, naming the signer, their role, the case and a salted hash of their ID number (never
//! the number). The commission seal gets a long-lived certificate from the same CA.
//!
//! Certificates are built from the `x509-cert` structures and signed with `ring`, so the CA
//! may be our own (development: generated on first use and kept under `dir`) or one the
//! commission already has (production: a configured certificate + PKCS#8 key, P-256, P-384
//! or RSA).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail, ensure};
use chrono::{DateTime, Datelike, Utc};
use der::asn1::{
    Any, BitString, GeneralizedTime, ObjectIdentifier as Oid, OctetString, PrintableStringRef,
    SetOfVec, UtcTime, Utf8StringRef,
};
use der::oid::AssociatedOid;
use der::{Decode, Encode, Reader, SliceReader};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self as rsig, EcdsaKeyPair, KeyPair, RsaKeyPair};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

use super::cms::{self, OID_EC_PUBLIC_KEY, OID_P256};

const OID_CN: Oid = Oid::new_unwrap("2.5.4.3");
const OID_SERIAL_NUMBER: Oid = Oid::new_unwrap("2.5.4.5");
const OID_C: Oid = Oid::new_unwrap("2.5.4.6");
const OID_O: Oid = Oid::new_unwrap("2.5.4.10");
const OID_OU: Oid = Oid::new_unwrap("2.5.4.11");
const OID_TITLE: Oid = Oid::new_unwrap("2.5.4.12");

/// The CA certificate's lifetime (development CA).
const CA_YEARS: i64 = 10;
/// The seal certificate's lifetime; renewed when less than `SEAL_RENEW_DAYS` remain.
const SEAL_YEARS: i64 = 5;
const SEAL_RENEW_DAYS: i64 = 30;
/// Role recorded in the seal certificate's `title`.
pub const SEAL_ROLE: &str = "commission-seal";

/// Who a signer certificate names. Stored in the subject as CN (name), title (role),
/// OU (case number) and serialNumber (the salted ID hash).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignerSubject {
    pub name: String,
    pub role: String,
    pub case_number: String,
    /// Salted hash of the ID number, never the number.
    pub id_hash_hex: String,
}

enum CaKey {
    Ec(EcdsaKeyPair, Oid),
    Rsa(RsaKeyPair),
}

impl CaKey {
    fn from_pkcs8(pkcs8: &[u8]) -> anyhow::Result<Self> {
        let rng = SystemRandom::new();
        if let Ok(k) = EcdsaKeyPair::from_pkcs8(&rsig::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8, &rng)
        {
            return Ok(CaKey::Ec(k, cms::OID_ECDSA_SHA256));
        }
        if let Ok(k) = EcdsaKeyPair::from_pkcs8(&rsig::ECDSA_P384_SHA384_ASN1_SIGNING, pkcs8, &rng)
        {
            return Ok(CaKey::Ec(k, cms::OID_ECDSA_SHA384));
        }
        RsaKeyPair::from_pkcs8(pkcs8)
            .map(CaKey::Rsa)
            .map_err(|e| anyhow!("CA key is not a PKCS#8 P-256, P-384 or RSA key: {e}"))
    }

    fn public_key(&self) -> &[u8] {
        match self {
            CaKey::Ec(k, _) => k.public_key().as_ref(),
            CaKey::Rsa(k) => k.public_key().as_ref(),
        }
    }

    fn sign(&self, msg: &[u8]) -> anyhow::Result<(Vec<u8>, Oid)> {
        let rng = SystemRandom::new();
        match self {
            CaKey::Ec(k, oid) => {
                let sig = k
                    .sign(&rng, msg)
                    .map_err(|_| anyhow!("CA signing failed"))?;
                Ok((sig.as_ref().to_vec(), *oid))
            }
            CaKey::Rsa(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(&rsig::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .map_err(|_| anyhow!("CA signing failed"))?;
                Ok((sig, cms::OID_RSA_SHA256))
            }
        }
    }

    fn sig_alg(&self) -> Oid {
        match self {
            CaKey::Ec(_, oid) => *oid,
            CaKey::Rsa(_) => cms::OID_RSA_SHA256,
        }
    }
}

/// The commission CA: its certificate and signing key.
pub struct CommissionCa {
    cert_der: Vec<u8>,
    cert: Certificate,
    key: CaKey,
}

fn ca_paths(dir: &Path, commission_id: i64) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("commission-{commission_id}-ca.pem")),
        dir.join(format!("commission-{commission_id}-ca.p8")),
    )
}

/// Write `bytes` to `path` via a temporary file, readable by the owner only when `secret`.
fn write_file(path: &Path, bytes: &[u8], secret: bool) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(if secret { 0o600 } else { 0o644 });
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("create {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// A PEM file's DER body (label checked) or the file itself when it is already DER.
fn read_pem_or_der(path: &Path, label: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    if bytes.starts_with(b"-----BEGIN") {
        let (got, der) =
            der::pem::decode_vec(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        ensure!(
            got == label,
            "{}: expected a PEM {label}, found {got}",
            path.display()
        );
        Ok(der)
    } else {
        Ok(bytes)
    }
}

impl CommissionCa {
    /// Development: the CA is generated and stored under `dir` (cert PEM + PKCS#8 key,
    /// mode 0600) on first call and loaded afterwards. Production: `configured` is
    /// (certificate PEM path, PKCS#8 key path, PEM or DER).
    pub fn load_or_create(
        dir: &Path,
        commission_id: i64,
        commission_name: &str,
        configured: Option<(&Path, &Path)>,
    ) -> anyhow::Result<Self> {
        if let Some((cert_path, key_path)) = configured {
            let cert = read_pem_or_der(cert_path, "CERTIFICATE")?;
            let key = read_pem_or_der(key_path, "PRIVATE KEY")?;
            return Self::from_parts(cert, &key);
        }
        let (cert_path, key_path) = ca_paths(dir, commission_id);
        if cert_path.exists() && key_path.exists() {
            let cert = read_pem_or_der(&cert_path, "CERTIFICATE")?;
            let key = std::fs::read(&key_path)?;
            return Self::from_parts(cert, &key);
        }
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&rsig::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| anyhow!("CA key generation failed"))?;
        let key = CaKey::from_pkcs8(pkcs8.as_ref())?;
        let subject = name(&[
            (OID_C, "CN"),
            (OID_O, commission_name),
            (OID_CN, &format!("{commission_name} 电子签名CA")),
        ])?;
        let spki = ec_spki(key.public_key())?;
        let now = Utc::now();
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: random_serial()?,
            signature: alg_id(key.sig_alg()),
            issuer: subject.clone(),
            validity: validity(
                now - chrono::Duration::minutes(5),
                now + chrono::Duration::days(365 * CA_YEARS),
            )?,
            subject,
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(vec![
                ext(
                    &BasicConstraints {
                        ca: true,
                        path_len_constraint: Some(0),
                    },
                    true,
                )?,
                ext(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign), true)?,
                ext(&SubjectKeyIdentifier(key_id(key.public_key())?), false)?,
            ]),
        };
        let cert_der = sign_tbs(tbs, &key)?;
        write_file(&key_path, pkcs8.as_ref(), true)?;
        write_file(&cert_path, pem(&cert_der)?.as_bytes(), false)?;
        Self::from_parts(cert_der, pkcs8.as_ref())
    }

    fn from_parts(cert_der: Vec<u8>, pkcs8: &[u8]) -> anyhow::Result<Self> {
        let cert = Certificate::from_der(&cert_der).context("CA certificate")?;
        let key = CaKey::from_pkcs8(pkcs8)?;
        ensure!(
            cert.tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes()
                == key.public_key(),
            "the CA key does not belong to the CA certificate"
        );
        Ok(Self {
            cert_der,
            cert,
            key,
        })
    }

    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    pub fn cert_pem(&self) -> String {
        pem(&self.cert_der).unwrap_or_default()
    }

    /// A short-lived signer certificate for `public_key` (uncompressed SEC1 P-256 point or
    /// a DER SubjectPublicKeyInfo), valid from `now - 5 min` to `now + ttl` (clipped to the
    /// CA's own validity); keyUsage digitalSignature + nonRepudiation; random serial.
    pub fn issue_signer_cert(
        &self,
        public_key: &[u8],
        subject: &SignerSubject,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> anyhow::Result<Vec<u8>> {
        let point = p256_point(public_key)?;
        let mut rdns: Vec<(Oid, &str)> = vec![(OID_CN, subject.name.as_str())];
        if !subject.role.is_empty() {
            rdns.push((OID_TITLE, &subject.role));
        }
        if !subject.case_number.is_empty() {
            rdns.push((OID_OU, &subject.case_number));
        }
        if !subject.id_hash_hex.is_empty() {
            rdns.push((OID_SERIAL_NUMBER, &subject.id_hash_hex));
        }
        ensure!(!subject.name.trim().is_empty(), "signer name is empty");
        let ttl = chrono::Duration::from_std(ttl)?;
        self.issue(
            &point,
            name(&rdns)?,
            now - chrono::Duration::minutes(5),
            now + ttl,
        )
    }

    /// The commission seal's certificate for the seal key (`seal_pkcs8`, P-256), issued by
    /// this CA and cached as `dir/commission-<id>-seal-cert.pem`; reissued when the key
    /// changed, the CA changed or it expires within 30 days.
    pub fn seal_cert(
        &self,
        dir: &Path,
        commission_id: i64,
        seal_pkcs8: &[u8],
    ) -> anyhow::Result<Vec<u8>> {
        let rng = SystemRandom::new();
        let seal =
            EcdsaKeyPair::from_pkcs8(&rsig::ECDSA_P256_SHA256_ASN1_SIGNING, seal_pkcs8, &rng)
                .map_err(|e| anyhow!("seal key is not a PKCS#8 P-256 key: {e}"))?;
        let point = seal.public_key().as_ref().to_vec();
        let path = dir.join(format!("commission-{commission_id}-seal-cert.pem"));
        let now = Utc::now();
        if let Ok(der) = read_pem_or_der(&path, "CERTIFICATE") {
            let fresh = cert_info(&der).is_ok_and(|info| {
                info.public_key == point
                    && info.not_after_ms
                        > (now + chrono::Duration::days(SEAL_RENEW_DAYS)).timestamp_millis()
            });
            if fresh && verify_issued_by(&der, &self.cert_der).is_ok() {
                return Ok(der);
            }
        }
        let commission = self.commission_name();
        let subject = name(&[
            (OID_C, "CN"),
            (OID_O, &commission),
            (OID_TITLE, SEAL_ROLE),
            (OID_CN, &format!("{commission} 电子印章")),
        ])?;
        let der = self.issue(
            &point,
            subject,
            now - chrono::Duration::minutes(5),
            now + chrono::Duration::days(365 * SEAL_YEARS),
        )?;
        std::fs::create_dir_all(dir)?;
        write_file(&path, pem(&der)?.as_bytes(), false)?;
        Ok(der)
    }

    fn commission_name(&self) -> String {
        attr_values(&self.cert.tbs_certificate.subject, OID_O)
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    fn issue(
        &self,
        point: &[u8],
        subject: Name,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> anyhow::Result<Vec<u8>> {
        let ca_tbs = &self.cert.tbs_certificate;
        let ca_end = ca_tbs.validity.not_after.to_unix_duration().as_millis() as i64;
        let not_after = not_after.min(DateTime::from_timestamp_millis(ca_end).unwrap_or(not_after));
        ensure!(not_after > not_before, "the CA certificate has expired");
        let ca_key_id = match ca_tbs.get::<SubjectKeyIdentifier>() {
            Ok(Some((_, ski))) => ski.0,
            _ => key_id(self.key.public_key())?,
        };
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: random_serial()?,
            signature: alg_id(self.key.sig_alg()),
            issuer: ca_tbs.subject.clone(),
            validity: validity(not_before, not_after)?,
            subject,
            subject_public_key_info: ec_spki(point)?,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(vec![
                ext(
                    &BasicConstraints {
                        ca: false,
                        path_len_constraint: None,
                    },
                    true,
                )?,
                ext(
                    &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
                    true,
                )?,
                ext(&SubjectKeyIdentifier(key_id(point)?), false)?,
                ext(
                    &AuthorityKeyIdentifier {
                        key_identifier: Some(ca_key_id),
                        authority_cert_issuer: None,
                        authority_cert_serial_number: None,
                    },
                    false,
                )?,
            ]),
        };
        sign_tbs(tbs, &self.key)
    }
}

fn sign_tbs(tbs: TbsCertificate, key: &CaKey) -> anyhow::Result<Vec<u8>> {
    let (sig, oid) = key.sign(&tbs.to_der()?)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: alg_id(oid),
        signature: BitString::from_bytes(&sig)?,
    };
    Ok(cert.to_der()?)
}

fn alg_id(oid: Oid) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

fn ext<T: Encode + AssociatedOid>(value: &T, critical: bool) -> anyhow::Result<Extension> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// RFC 7093 method 1: the leftmost 160 bits of the SHA-256 of the public key.
fn key_id(public_key: &[u8]) -> anyhow::Result<OctetString> {
    Ok(OctetString::new(cms::sha256(public_key)[..20].to_vec())?)
}

fn random_serial() -> anyhow::Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow!("no randomness"))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40; // positive, and no leading zero byte
    Ok(SerialNumber::new(&bytes)?)
}

fn to_time(t: DateTime<Utc>) -> anyhow::Result<Time> {
    let d = Duration::from_secs(u64::try_from(t.timestamp()).context("time before 1970")?);
    // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
    Ok(if t.year() < 2050 {
        Time::UtcTime(UtcTime::from_unix_duration(d)?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_unix_duration(d)?)
    })
}

fn validity(not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> anyhow::Result<Validity> {
    Ok(Validity {
        not_before: to_time(not_before)?,
        not_after: to_time(not_after)?,
    })
}

/// One RDN per attribute, in the given order; `C` and `serialNumber` are PrintableString,
/// everything else UTF8String.
fn name(entries: &[(Oid, &str)]) -> anyhow::Result<Name> {
    let mut rdns = Vec::new();
    for (oid, value) in entries {
        let value = if *oid == OID_C || *oid == OID_SERIAL_NUMBER {
            Any::encode_from(
                &PrintableStringRef::new(value)
                    .with_context(|| format!("{value:?} is not printable"))?,
            )?
        } else {
            Any::encode_from(&Utf8StringRef::new(value)?)?
        };
        let mut set = SetOfVec::new();
        set.insert(AttributeTypeAndValue { oid: *oid, value })?;
        rdns.push(RelativeDistinguishedName(set));
    }
    Ok(RdnSequence(rdns))
}

fn attr_values(name: &Name, oid: Oid) -> Vec<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == oid)
        .filter_map(|atv| {
            let any = &atv.value;
            std::str::from_utf8(any.value()).ok().map(str::to_owned)
        })
        .collect()
}

fn ec_spki(point: &[u8]) -> anyhow::Result<SubjectPublicKeyInfoOwned> {
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: OID_EC_PUBLIC_KEY,
            parameters: Some(Any::encode_from(&OID_P256)?),
        },
        subject_public_key: BitString::from_bytes(point)?,
    })
}

/// The uncompressed P-256 point from SEC1 bytes or a DER SubjectPublicKeyInfo, checked to
/// be on the curve (an ECDH agreement with an ephemeral key rejects any other point).
fn p256_point(public_key: &[u8]) -> anyhow::Result<Vec<u8>> {
    let point = if public_key.first() == Some(&0x30) {
        let spki = SubjectPublicKeyInfoOwned::from_der(public_key)
            .context("public key SubjectPublicKeyInfo")?;
        ensure!(
            spki.algorithm.oid == OID_EC_PUBLIC_KEY,
            "public key is not an EC key"
        );
        let curve: Oid = spki
            .algorithm
            .parameters
            .as_ref()
            .ok_or_else(|| anyhow!("EC key without curve"))?
            .decode_as()?;
        ensure!(curve == OID_P256, "public key is not on P-256");
        spki.subject_public_key.raw_bytes().to_vec()
    } else {
        public_key.to_vec()
    };
    ensure!(
        point.len() == 65 && point[0] == 4,
        "public key must be an uncompressed P-256 point (65 bytes)"
    );
    let rng = SystemRandom::new();
    let mine = ring::agreement::EphemeralPrivateKey::generate(&ring::agreement::ECDH_P256, &rng)
        .map_err(|_| anyhow!("no randomness"))?;
    ring::agreement::agree_ephemeral(
        mine,
        &ring::agreement::UnparsedPublicKey::new(&ring::agreement::ECDH_P256, &point),
        |_| (),
    )
    .map_err(|_| anyhow!("public key is not a valid P-256 point"))?;
    Ok(point)
}

/// A certificate (DER) as PEM text.
pub fn cert_pem_of(der: &[u8]) -> anyhow::Result<String> {
    pem(der)
}

fn pem(der: &[u8]) -> anyhow::Result<String> {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der)
        .map_err(|e| anyhow!("PEM: {e}"))
}

/// Lowercase hex SHA-256 of a certificate's DER: its fingerprint.
pub fn cert_sha256_hex(der: &[u8]) -> String {
    hex(&cms::sha256(der))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Facts about a certificate for the server's checks. The server decides what an expired
/// or not-yet-valid certificate means; this only reports the window.
#[derive(Clone, Debug)]
pub struct CertInfo {
    pub subject: SignerSubject,
    /// SEC1 public key bytes (uncompressed point for EC keys).
    pub public_key: Vec<u8>,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
    pub fingerprint: String,
}

impl CertInfo {
    /// Whether `at_ms` (Unix milliseconds) lies within the validity window.
    pub fn valid_at(&self, at_ms: i64) -> bool {
        self.not_before_ms <= at_ms && at_ms <= self.not_after_ms
    }
}

pub fn cert_info(der: &[u8]) -> anyhow::Result<CertInfo> {
    let cert = Certificate::from_der(der).context("not an X.509 certificate")?;
    let tbs = &cert.tbs_certificate;
    let first = |oid| {
        attr_values(&tbs.subject, oid)
            .into_iter()
            .next()
            .unwrap_or_default()
    };
    let ms = |t: &Time| i64::try_from(t.to_unix_duration().as_millis()).unwrap_or(i64::MAX);
    Ok(CertInfo {
        subject: SignerSubject {
            name: first(OID_CN),
            role: first(OID_TITLE),
            case_number: first(OID_OU),
            id_hash_hex: first(OID_SERIAL_NUMBER),
        },
        public_key: tbs
            .subject_public_key_info
            .subject_public_key
            .raw_bytes()
            .to_vec(),
        not_before_ms: ms(&tbs.validity.not_before),
        not_after_ms: ms(&tbs.validity.not_after),
        fingerprint: cert_sha256_hex(der),
    })
}

/// The raw `tbsCertificate` bytes of a certificate (what its signature covers).
fn raw_tbs(der: &[u8]) -> anyhow::Result<&[u8]> {
    let mut r = SliceReader::new(der)?;
    r.sequence(|c| {
        let tbs = c.tlv_bytes()?;
        while !c.is_finished() {
            Any::decode(c)?;
        }
        Ok(tbs)
    })
    .map_err(|e| anyhow!("certificate structure: {e}"))
}

/// `cert_der` names `ca_der`'s subject as issuer and carries a valid signature by its key.
pub fn verify_issued_by(cert_der: &[u8], ca_der: &[u8]) -> anyhow::Result<()> {
    let cert = Certificate::from_der(cert_der).context("certificate")?;
    let ca = Certificate::from_der(ca_der).context("CA certificate")?;
    if cert.tbs_certificate.issuer != ca.tbs_certificate.subject {
        bail!("certificate was not issued by this CA (issuer name differs)");
    }
    ensure!(
        cert.signature_algorithm.oid == cert.tbs_certificate.signature.oid,
        "certificate signature algorithms disagree"
    );
    cms::verify_with_spki(
        &ca.tbs_certificate.subject_public_key_info,
        &cert.signature_algorithm.oid,
        None,
        raw_tbs(cert_der)?,
        cert.signature.raw_bytes(),
    )
    .context("certificate signature by the CA")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone_key() -> EcdsaKeyPair {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&rsig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&rsig::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap()
    }

    fn subject() -> SignerSubject {
        SignerSubject {
            name: "张三".into(),
            role: "applicant".into(),
            case_number: "京劳人仲字(2025)第1号".into(),
            id_hash_hex: "ab".repeat(32),
        }
    }

    #[test]
    fn create_load_issue_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let ca = CommissionCa::load_or_create(dir.path(), 7, "北京市劳动人事争议仲裁委员会", None)
            .unwrap();
        let again = CommissionCa::load_or_create(dir.path(), 7, "ignored", None).unwrap();
        assert_eq!(ca.cert_der(), again.cert_der());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("commission-7-ca.p8"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(ca.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));

        let key = phone_key();
        let now = Utc::now();
        let pk = key.public_key().as_ref();
        let cert = ca
            .issue_signer_cert(pk, &subject(), now, Duration::from_secs(600))
            .unwrap();
        verify_issued_by(&cert, ca.cert_der()).unwrap();
        let info = cert_info(&cert).unwrap();
        assert_eq!(info.subject, subject());
        assert_eq!(info.public_key, pk);
        assert!(info.valid_at(now.timestamp_millis()));
        assert!(!info.valid_at((now + chrono::Duration::minutes(11)).timestamp_millis()));
        assert!(!info.valid_at((now - chrono::Duration::minutes(6)).timestamp_millis()));
        assert_eq!(info.fingerprint, cert_sha256_hex(&cert));

        // The same key as an SPKI is accepted too.
        let spki = ec_spki(pk).unwrap().to_der().unwrap();
        ca.issue_signer_cert(&spki, &subject(), now, Duration::from_secs(60))
            .unwrap();
        // Not a point on the curve.
        let mut bad = pk.to_vec();
        bad[64] ^= 1;
        assert!(
            ca.issue_signer_cert(&bad, &subject(), now, Duration::from_secs(60))
                .is_err()
        );
        assert!(
            ca.issue_signer_cert(&[4u8; 10], &subject(), now, Duration::from_secs(60))
                .is_err()
        );

        // Another CA does not verify it.
        let other =
            CommissionCa::load_or_create(dir.path(), 8, "北京市劳动人事争议仲裁委员会", None)
                .unwrap();
        assert!(verify_issued_by(&cert, other.cert_der()).is_err());
        let mut tampered = cert.clone();
        let n = tampered.len();
        tampered[n - 10] ^= 1;
        assert!(verify_issued_by(&tampered, ca.cert_der()).is_err());
    }

    #[test]
    fn seal_cert_is_cached_and_configured_ca_loads() {
        let dir = tempfile::tempdir().unwrap();
        let ca = CommissionCa::load_or_create(dir.path(), 1, "测试仲裁委", None).unwrap();
        let rng = SystemRandom::new();
        let seal =
            EcdsaKeyPair::generate_pkcs8(&rsig::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let a = ca.seal_cert(dir.path(), 1, seal.as_ref()).unwrap();
        let b = ca.seal_cert(dir.path(), 1, seal.as_ref()).unwrap();
        assert_eq!(a, b);
        let info = cert_info(&a).unwrap();
        assert_eq!(info.subject.name, "测试仲裁委 电子印章");
        assert_eq!(info.subject.role, SEAL_ROLE);
        let other =
            EcdsaKeyPair::generate_pkcs8(&rsig::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        assert_ne!(ca.seal_cert(dir.path(), 1, other.as_ref()).unwrap(), a);

        let (cert, key) = ca_paths(dir.path(), 1);
        let configured =
            CommissionCa::load_or_create(Path::new("/nonexistent"), 1, "x", Some((&cert, &key)))
                .unwrap();
        assert_eq!(configured.cert_der(), ca.cert_der());
    }
}
