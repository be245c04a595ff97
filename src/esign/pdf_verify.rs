//! Offline verification of a signed PDF, with no network and no server state: for each
//! signature, are the signed bytes intact, does the signature verify with the embedded
//! certificate, does that certificate chain to the commission CA (when given) and was it
//! valid when signing, what does the timestamp say, and did anything change afterwards.
//!
//! "Afterwards" matters because each signature covers only its own revision: a later
//! incremental update could redraw the page. So every revision after a signature is compared
//! with the signed one ([`changes`]) and may only add signature fields, widgets and their
//! appearances; anything else is named as a problem of that signature.

mod changes;
mod report;

use anyhow::{anyhow, ensure};
use lopdf::{Dictionary, Document, Object, ObjectId};

use super::{ca, cms, timestamp};

/// The verdict on one signature.
#[derive(Clone, Debug, Default)]
pub struct SignatureReport {
    pub field_name: String,
    pub signer_cn: String,
    pub cert_fingerprint: String,
    /// The claimed signing time (`/M`), as ISO 8601 when it parses.
    pub signing_time: Option<String>,
    /// `/YT_DocSHA256`: the document version the signer was shown.
    pub doc_sha256_hex: Option<String>,
    pub covers_whole_file: bool,
    /// The signed byte ranges hash to the signed message-digest.
    pub integrity_ok: bool,
    /// The CMS signature verifies with the signer certificate.
    pub signature_ok: bool,
    /// Chains to the trust anchor and was valid at signing time; `None` without an anchor.
    pub chain_ok: Option<bool>,
    /// The verified RFC 3161 time, with the TSA's name.
    pub timestamp: Option<String>,
    /// Signature records signed into this signature (the commission seal).
    pub signature_records: Option<Vec<u8>>,
    /// The passkey challenge this signature implies (document hash + signed attributes),
    /// against which a recorded passkey confirmation is checked.
    pub passkey_challenge: Option<Vec<u8>>,
    pub problems: Vec<String>,
}

impl SignatureReport {
    pub fn ok(&self) -> bool {
        self.integrity_ok
            && self.signature_ok
            && self.chain_ok != Some(false)
            && self.problems.is_empty()
    }
}

/// The verdict on a document.
#[derive(Clone, Debug, Default)]
pub struct PdfReport {
    /// In revision order.
    pub signatures: Vec<SignatureReport>,
    /// Bytes after the last signature's revision (beyond trailing whitespace).
    pub modified_after_last_signature: bool,
    pub ok: bool,
    /// Problems of the document as a whole (unreadable, no signature, signature records
    /// that do not match the signatures).
    pub problems: Vec<String>,
    /// How many signature records the seal carried and were checked (`None`: no records).
    pub records_checked: Option<usize>,
}

/// Verify every signature of `pdf`; `trust_anchor_der` is the commission CA certificate.
/// Never panics: unreadable input gives a report with `ok == false` and a problem.
pub fn verify_pdf(pdf: &[u8], trust_anchor_der: Option<&[u8]>) -> PdfReport {
    std::panic::catch_unwind(|| verify_inner(pdf, trust_anchor_der)).unwrap_or_else(|_| PdfReport {
        problems: vec!["PDF 无法解析 / the PDF could not be parsed".into()],
        ..PdfReport::default()
    })
}

fn verify_inner(pdf: &[u8], anchor: Option<&[u8]>) -> PdfReport {
    let mut report = PdfReport::default();
    let doc = match Document::load_mem(pdf) {
        Ok(doc) => doc,
        Err(e) => {
            report
                .problems
                .push(format!("PDF 无法解析 / not a readable PDF: {e}"));
            return report;
        }
    };
    let mut sigs = signature_dicts(&doc);
    sigs.sort_by_key(|(_, _, d)| byte_range(d).map(|br| br[2] + br[3]).unwrap_or(usize::MAX));
    for (field_name, _, dict) in &sigs {
        report
            .signatures
            .push(check_signature(pdf, &doc, field_name, dict, anchor));
    }
    let last_end = sigs
        .iter()
        .filter_map(|(_, _, d)| byte_range(d).ok())
        .map(|br| br[2] + br[3])
        .max();
    match last_end {
        Some(end) if end <= pdf.len() => {
            report.modified_after_last_signature = pdf[end..]
                .iter()
                .any(|b| !b.is_ascii_whitespace() && *b != 0);
        }
        Some(_) => report.modified_after_last_signature = true,
        None => report
            .problems
            .push("未找到签名 / no signature found".into()),
    }
    check_records(&mut report);
    report.ok = report.problems.is_empty()
        && !report.modified_after_last_signature
        && report.signatures.iter().all(SignatureReport::ok);
    report
}

/// The signature records the last signature (the seal) carries, checked against the
/// document's own signatures: each signed record must match a valid signature of the
/// PDF by the same certificate over the same document hash, and a passkey confirmation
/// must verify. Only records signed into a signature that itself verified count.
fn check_records(report: &mut PdfReport) {
    let Some(last) = report.signatures.last() else {
        return;
    };
    let Some(raw) = last.signature_records.clone() else {
        return;
    };
    if !last.ok() {
        return;
    }
    let parsed: serde_json::Value = match serde_json::from_slice(&raw) {
        Ok(v) => v,
        Err(_) => {
            report
                .problems
                .push("签名记录无法解析 / signature records unreadable".into());
            return;
        }
    };
    let records = parsed["signatures"].as_array().cloned().unwrap_or_default();
    let mut checked = 0;
    for rec in &records {
        if rec["status"] != "signed" {
            continue;
        }
        let name = rec["name"].as_str().unwrap_or("?");
        let fp = rec["cert_fingerprint"].as_str().unwrap_or("");
        let doc = rec["doc_sha256"].as_str().unwrap_or("");
        let matched = report.signatures.iter().find(|s| {
            s.ok() && s.cert_fingerprint == fp && s.doc_sha256_hex.as_deref() == Some(doc)
        });
        let Some(matched) = matched else {
            report.problems.push(format!(
                "签名记录（{name}）与文件中的签名不符 / the signature record of {name} matches no signature in the PDF"
            ));
            continue;
        };
        if !rec["webauthn"].is_null()
            && let Err(e) = super::webauthn::verify_recorded(
                &rec["webauthn"],
                matched.passkey_challenge.as_deref(),
            )
        {
            report.problems.push(format!(
                "{name} 的通行密钥确认无效 / {name}'s passkey confirmation is invalid: {e}"
            ));
            continue;
        }
        checked += 1;
    }
    report.records_checked = Some(checked);
}

/// Every signature dictionary of the current revision, with the name of the field that
/// holds it (empty when no field does).
fn signature_dicts(doc: &Document) -> Vec<(String, ObjectId, Dictionary)> {
    let mut names = std::collections::HashMap::new();
    for obj in doc.objects.values() {
        let Ok(d) = obj.as_dict() else { continue };
        if let Ok(Object::Reference(v)) = d.get(b"V") {
            let t = d
                .get(b"T")
                .and_then(Object::as_str)
                .ok()
                .map(decode_text)
                .unwrap_or_default();
            names.entry(*v).or_insert(t);
        }
    }
    let mut out = Vec::new();
    for (id, obj) in &doc.objects {
        let Ok(d) = obj.as_dict() else { continue };
        let is_sig =
            d.has(b"ByteRange") && d.has(b"Contents") && (d.has(b"Filter") || d.has_type(b"Sig"));
        if is_sig && !d.has_type(b"DocTimeStamp") {
            out.push((names.get(id).cloned().unwrap_or_default(), *id, d.clone()));
        }
    }
    out
}

pub(crate) fn decode_text(bytes: &[u8]) -> String {
    if bytes.starts_with(&[0xfe, 0xff]) {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        bytes.iter().map(|&b| b as char).collect()
    }
}

fn byte_range(d: &Dictionary) -> anyhow::Result<[usize; 4]> {
    let arr = d
        .get(b"ByteRange")
        .and_then(Object::as_array)
        .map_err(|_| anyhow!("no /ByteRange"))?;
    ensure!(arr.len() == 4, "/ByteRange must have 4 numbers");
    let mut out = [0usize; 4];
    for (o, v) in out.iter_mut().zip(arr) {
        *o = usize::try_from(
            v.as_i64()
                .map_err(|_| anyhow!("/ByteRange holds a non-integer"))?,
        )?;
    }
    Ok(out)
}

/// The CMS bytes in the gap of `br`, checked to be this dictionary's `/Contents`.
fn contents_in_gap(pdf: &[u8], br: [usize; 4], dict: &Dictionary) -> anyhow::Result<Vec<u8>> {
    let [start, a, b, c] = br;
    ensure!(
        start == 0 && a < b && b.checked_add(c).is_some_and(|e| e <= pdf.len()),
        "/ByteRange does not fit the file"
    );
    let gap = &pdf[a..b];
    ensure!(
        gap.len() >= 2 && gap[0] == b'<' && gap[gap.len() - 1] == b'>',
        "/ByteRange gap is not a hex string"
    );
    let hex = &gap[1..gap.len() - 1];
    ensure!(
        hex.len().is_multiple_of(2) && hex.iter().all(u8::is_ascii_hexdigit),
        "/Contents is not hex"
    );
    let bytes: Vec<u8> = hex
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("00"), 16).unwrap_or(0))
        .collect();
    let own = dict
        .get(b"Contents")
        .and_then(Object::as_str)
        .map_err(|_| anyhow!("no /Contents"))?;
    ensure!(
        own == bytes.as_slice(),
        "/ByteRange does not point at this signature's /Contents"
    );
    let len = cms::der_element_len(&bytes)?;
    Ok(bytes[..len].to_vec())
}

/// `D:YYYYMMDDHHmmSS(+HH'mm'|Z)` → ISO 8601 (UTC), or the text as is.
fn pdf_date_iso(raw: &str) -> String {
    let s = raw.trim_start_matches("D:");
    let parsed = s
        .get(..14)
        .and_then(|d| chrono::NaiveDateTime::parse_from_str(d, "%Y%m%d%H%M%S").ok());
    let Some(local) = parsed else {
        return raw.to_owned();
    };
    let rest = &s[14..];
    let offset_min = match rest.as_bytes().first() {
        Some(sign @ (b'+' | b'-')) => {
            let h: i64 = rest.get(1..3).and_then(|v| v.parse().ok()).unwrap_or(0);
            let m: i64 = rest.get(4..6).and_then(|v| v.parse().ok()).unwrap_or(0);
            if *sign == b'+' {
                h * 60 + m
            } else {
                -(h * 60 + m)
            }
        }
        _ => 0,
    };
    let utc = local - chrono::Duration::minutes(offset_min);
    utc.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn check_signature(
    pdf: &[u8],
    doc: &Document,
    field: &str,
    dict: &Dictionary,
    anchor: Option<&[u8]>,
) -> SignatureReport {
    let mut r = SignatureReport {
        field_name: field.to_owned(),
        signing_time: dict
            .get(b"M")
            .and_then(Object::as_str)
            .ok()
            .map(|m| pdf_date_iso(&decode_text(m))),
        doc_sha256_hex: dict
            .get(b"YT_DocSHA256")
            .and_then(Object::as_str)
            .ok()
            .map(decode_text),
        ..SignatureReport::default()
    };
    let br = match byte_range(dict) {
        Ok(br) => br,
        Err(e) => {
            r.problems
                .push(format!("签名范围无效 / bad byte range: {e}"));
            return r;
        }
    };
    r.covers_whole_file = br[2] + br[3] == pdf.len();
    let parsed = contents_in_gap(pdf, br, dict).and_then(|der| cms::parse_signed_data(&der));
    let p = match parsed {
        Ok(p) => p,
        Err(e) => {
            r.problems
                .push(format!("签名数据无法解析 / unreadable signature: {e:#}"));
            return r;
        }
    };
    r.signature_records = p.signature_records.clone();
    r.passkey_challenge = r
        .doc_sha256_hex
        .as_deref()
        .map(|doc| super::webauthn::signing_challenge(doc, &p.signed_attrs_raw));
    if let Some(cert) = &p.signer_cert {
        r.cert_fingerprint = ca::cert_sha256_hex(cert);
        r.signer_cn = ca::cert_info(cert)
            .map(|i| i.subject.name)
            .unwrap_or_default();
    }

    // Integrity: the signed ranges hash to the signed message-digest.
    let [_, a, b, c] = br;
    let mut signed = Vec::with_capacity(a + c);
    signed.extend_from_slice(&pdf[..a]);
    signed.extend_from_slice(&pdf[b..b + c]);
    match (cms::digest_with(&p.digest_alg, &signed), &p.message_digest) {
        (Ok(d), Some(md)) if &d == md => {
            r.integrity_ok = p.content_type_attr == Some(cms::OID_DATA)
        }
        (Ok(_), Some(_)) => r.problems.push(
            "文件内容已被篡改（摘要不符）/ signed bytes were altered (digest mismatch)".into(),
        ),
        (Err(e), _) => r.problems.push(format!("摘要算法不支持 / {e}")),
        (_, None) => r
            .problems
            .push("缺少 message-digest 属性 / no message-digest attribute".into()),
    }

    // Signature over the signed attributes by the signer certificate.
    match cms::verify_signer(&p) {
        Ok(()) => r.signature_ok = true,
        Err(e) => r
            .problems
            .push(format!("签名值无效 / signature invalid: {e:#}")),
    }

    // Timestamp over the signature value.
    let mut ts_ms = None;
    if let Some(token) = &p.timestamp_token {
        match timestamp::verify_token(token, &cms::sha256(&p.signature)) {
            Ok(info) => {
                ts_ms = Some(info.gen_time_ms);
                let when = chrono::DateTime::from_timestamp_millis(info.gen_time_ms)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or(info.gen_time);
                r.timestamp = Some(match info.tsa_name {
                    Some(n) => format!("{when} (TSA: {n})"),
                    None => when,
                });
            }
            Err(e) => r
                .problems
                .push(format!("时间戳无效 / timestamp invalid: {e:#}")),
        }
    }

    // Chain to the trust anchor, valid at the (timestamped, else claimed) signing time.
    if let (Some(anchor), Some(cert)) = (anchor, &p.signer_cert) {
        let at_ms = ts_ms.or_else(|| {
            r.signing_time
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis())
        });
        match chain_to(cert, &p.certificates, anchor, at_ms) {
            Ok(()) => r.chain_ok = Some(true),
            Err(e) => {
                r.chain_ok = Some(false);
                r.problems
                    .push(format!("证书不可信 / certificate not trusted: {e:#}"));
            }
        }
    } else if anchor.is_some() {
        r.chain_ok = Some(false);
    }

    // Later revisions may only add signatures.
    if !r.covers_whole_file {
        match Document::load_mem(&pdf[..b + c]) {
            Ok(old) => r.problems.extend(changes::disallowed(&old, doc)),
            Err(e) => r.problems.push(format!(
                "已签修订无法解析 / signed revision unreadable: {e}"
            )),
        }
    }
    r
}

/// `cert` chains to `anchor` (directly or through certificates carried in the CMS) and is
/// within its validity at `at_ms`.
fn chain_to(
    cert: &[u8],
    pool: &[Vec<u8>],
    anchor: &[u8],
    at_ms: Option<i64>,
) -> anyhow::Result<()> {
    let info = ca::cert_info(cert)?;
    match at_ms {
        Some(t) => ensure!(
            info.valid_at(t),
            "证书在签署时不在有效期内 / certificate not valid at signing time"
        ),
        None => anyhow::bail!("no signing time to check the certificate's validity against"),
    }
    let mut current = cert.to_vec();
    for _ in 0..5 {
        if current == anchor || ca::verify_issued_by(&current, anchor).is_ok() {
            return Ok(());
        }
        let parent = pool
            .iter()
            .find(|c| **c != current && ca::verify_issued_by(&current, c).is_ok())
            .ok_or_else(|| anyhow!("not issued by the commission CA"))?;
        current = parent.clone();
    }
    anyhow::bail!("certificate chain too long")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_never_panics() {
        for input in [
            &b""[..],
            b"%PDF-1.7\n",
            b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF",
            &[0xffu8; 300],
        ] {
            let r = verify_pdf(input, None);
            assert!(!r.ok);
            assert!(!r.render_text().is_empty());
        }
        assert_eq!(
            pdf_date_iso("D:20250102030405+08'00'"),
            "2025-01-01T19:04:05Z"
        );
        assert_eq!(pdf_date_iso("D:20250102030405Z"), "2025-01-02T03:04:05Z");
        assert_eq!(pdf_date_iso("junk"), "junk");
    }
}
