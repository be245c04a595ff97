//! PAdES signatures checked by independent validators: poppler's `pdfsig` and pyHanko
//! (`pyhanko sign validate`), plus our own `verify_pdf`. A krilla-made PDF is signed by three
//! "phones" (ring P-256 keys signing like WebCrypto: raw r‖s) and sealed by the commission;
//! then bytes are flipped, keys swapped and an `openssl ts` authority timestamps the seal.
//!
//! CI needs: `apt-get install -y poppler-utils openssl` and `pip install pyhanko pyhanko-cli`.
//! A missing tool skips its checks with a loud message (our own verifier always runs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::oracles::{content_stream_byte, have, pdfsig, pyhanko, run};
use chrono::Utc;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};
use yunting::esign::ca::{self, CommissionCa, SignerSubject};
use yunting::esign::cms::ecdsa_fixed_to_der;
use yunting::esign::pades::{self, Appearance, SigFieldSpec};
use yunting::esign::pdf_verify::verify_pdf;
use yunting::esign::timestamp::{self, Tsa};

const DOC_SHA: &str = "5d1f2b0e9c3a4f6b8d7e0a1c2b3d4e5f60718293a4b5c6d7e8f9011223344556";

fn krilla_pdf() -> Vec<u8> {
    use krilla::geom::{PathBuilder, Point, Rect};
    use krilla::page::PageSettings;
    use krilla::text::{Font, TextDirection};
    let mut document = krilla::Document::new();
    let mut page = document.start_page_with(PageSettings::from_wh(595.0, 842.0).unwrap());
    let mut surface = page.surface();
    let font = [
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    ]
    .iter()
    .find_map(|p| std::fs::read(p).ok())
    .and_then(|data| Font::new(data.into(), 0));
    match font {
        Some(font) => {
            for (i, line) in [
                "调解协议书 Mediation agreement",
                "申请人：张三  被申请人：某某公司",
                "双方自愿达成如下协议……",
            ]
            .iter()
            .enumerate()
            {
                let y = 80.0 + 30.0 * i as f32;
                surface.draw_text(
                    Point::from_xy(60.0, y),
                    font.clone(),
                    16.0,
                    line,
                    false,
                    TextDirection::Auto,
                );
            }
        }
        None => eprintln!("!!! no system font found: the test PDF has a drawn box instead of text"),
    }
    let mut pb = PathBuilder::new();
    pb.push_rect(Rect::from_xywh(60.0, 200.0, 475.0, 2.0).unwrap());
    surface.draw_path(&pb.finish().unwrap());
    surface.finish();
    page.finish();
    document.finish().unwrap()
}

/// A 300×100 RGBA "handwritten" stroke on a transparent background.
fn signature_png() -> Vec<u8> {
    let (w, h) = (300u32, 100u32);
    let mut data = vec![0u8; (w * h * 4) as usize];
    for x in 10..290u32 {
        let y = (50.0 + 30.0 * ((x as f32) / 25.0).sin()) as u32;
        for dy in 0..4 {
            let i = (((y + dy).min(h - 1) * w + x) * 4) as usize;
            data[i..i + 4].copy_from_slice(&[10, 20, 120, 255]);
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&data).unwrap();
    writer.finish().unwrap();
    out
}

/// A phone's WebCrypto key stand-in: signs with SHA-256 and returns raw r‖s.
struct Phone(EcdsaKeyPair);

impl Phone {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        Phone(
            EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                pkcs8.as_ref(),
                &rng,
            )
            .unwrap(),
        )
    }
    fn public_key(&self) -> &[u8] {
        self.0.public_key().as_ref()
    }
    fn sign_raw(&self, msg: &[u8]) -> Vec<u8> {
        self.0
            .sign(&SystemRandom::new(), msg)
            .unwrap()
            .as_ref()
            .to_vec()
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    ca: CommissionCa,
    seal_pkcs8: Vec<u8>,
    seal_cert: Vec<u8>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca =
            CommissionCa::load_or_create(dir.path(), 1, "北京市朝阳区劳动人事争议仲裁委员会", None)
                .unwrap();
        let rng = SystemRandom::new();
        let seal_pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
                .unwrap()
                .as_ref()
                .to_vec();
        let seal_cert = ca.seal_cert(dir.path(), 1, &seal_pkcs8).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.cert_pem()).unwrap();
        Fixture {
            dir,
            ca,
            seal_pkcs8,
            seal_cert,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn chain(&self) -> Vec<Vec<u8>> {
        vec![self.ca.cert_der().to_vec()]
    }

    fn field(&self, name: &str, signer: &str, rect: [f32; 4]) -> SigFieldSpec {
        SigFieldSpec {
            field_name: name.into(),
            page: 0,
            rect,
            signer_name: signer.into(),
            reason: "同意调解协议 / agree".into(),
            location: "北京".into(),
            doc_sha256_hex: DOC_SHA.into(),
        }
    }

    fn phone_sign(&self, pdf: &[u8], field: &str, signer: &str, rect: [f32; 4]) -> Vec<u8> {
        let phone = Phone::new();
        let subject = SignerSubject {
            name: signer.into(),
            role: "party".into(),
            case_number: "京朝劳人仲字[2025]第0001号".into(),
            id_hash_hex: "0f".repeat(32),
        };
        let now = Utc::now();
        let cert = self
            .ca
            .issue_signer_cert(phone.public_key(), &subject, now, Duration::from_secs(900))
            .unwrap();
        let image = Appearance::from_png(&signature_png()).unwrap();
        let prepared = pades::prepare(
            pdf,
            &self.field(field, signer, rect),
            Some(&image),
            &cert,
            &self.chain(),
            now,
        )
        .unwrap();
        let sig = ecdsa_fixed_to_der(&phone.sign_raw(&prepared.signed_attrs_der)).unwrap();
        pades::finish(&prepared, &sig, None).unwrap()
    }

    fn seal(&self, pdf: &[u8], tsa: Option<&dyn Tsa>) -> Vec<u8> {
        let records = records_of(pdf, None);
        self.seal_with(pdf, tsa, &records)
    }

    fn seal_with(&self, pdf: &[u8], tsa: Option<&dyn Tsa>, records: &[u8]) -> Vec<u8> {
        let field = SigFieldSpec {
            reason: "commission seal".into(),
            ..self.field("seal", "仲裁委员会", [400.0, 80.0, 520.0, 200.0])
        };
        pades::seal(
            pdf,
            &field,
            &self.seal_pkcs8,
            &self.seal_cert,
            &self.chain(),
            Utc::now(),
            tsa,
            Some(records),
        )
        .unwrap()
    }

    /// krilla PDF → three phone signatures → seal.
    fn four_signatures(&self, tsa: Option<&dyn Tsa>) -> Vec<u8> {
        let mut pdf = krilla_pdf();
        for (i, name) in ["张三", "李四", "王五"].iter().enumerate() {
            let x = 60.0 + 110.0 * i as f32;
            pdf = self.phone_sign(
                &pdf,
                &format!("signer{}", i + 1),
                name,
                [x, 600.0, x + 100.0, 640.0],
            );
        }
        self.seal(&pdf, tsa)
    }
}

/// Signature records as the server makes them, from the signatures already in `pdf`
/// (`forge_fingerprint`: replace the first one's certificate fingerprint).
fn records_of(pdf: &[u8], forge_fingerprint: Option<&str>) -> Vec<u8> {
    let report = verify_pdf(pdf, None);
    let list: Vec<serde_json::Value> = report
        .signatures
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let fp = match (i, forge_fingerprint) {
                (0, Some(f)) => f.to_string(),
                _ => s.cert_fingerprint.clone(),
            };
            serde_json::json!({"slot": s.field_name, "status": "signed", "name": s.signer_cn,
                "method": "device_key", "cert_fingerprint": fp, "doc_sha256": s.doc_sha256_hex,
                "webauthn": null})
        })
        .collect();
    serde_json::to_vec(
        &serde_json::json!({"format": "yunting-signature-records/1", "signatures": list}),
    )
    .unwrap()
}

#[test]
fn three_phones_and_seal_are_valid_for_every_validator() {
    let fx = Fixture::new();
    let pdf = fx.four_signatures(None);
    let file = fx.path("signed.pdf");
    std::fs::write(&file, &pdf).unwrap();

    let report = verify_pdf(&pdf, Some(fx.ca.cert_der()));
    println!("{}", report.render_text());
    assert!(report.ok, "{}", report.render_text());
    assert_eq!(report.signatures.len(), 4);
    let names: Vec<_> = report
        .signatures
        .iter()
        .map(|s| s.field_name.as_str())
        .collect();
    assert_eq!(names, ["signer1", "signer2", "signer3", "seal"]);
    // The seal carries the signature records; they match the three signatures.
    assert_eq!(report.records_checked, Some(3), "{}", report.render_text());
    // A seal over records that do not match the PDF's signatures is reported.
    let unsealed = {
        let mut p = krilla_pdf();
        for (i, who) in ["申请人", "被申请人", "调解员"].iter().enumerate() {
            let x = 60.0 + 150.0 * i as f32;
            p = fx.phone_sign(
                &p,
                &format!("signer{}", i + 1),
                who,
                [x, 80.0, x + 120.0, 200.0],
            );
        }
        p
    };
    let forged = fx.seal_with(
        &unsealed,
        None,
        &records_of(&unsealed, Some(&"00".repeat(32))),
    );
    let r = verify_pdf(&forged, Some(fx.ca.cert_der()));
    assert!(!r.ok, "{}", r.render_text());
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("matches no signature")),
        "{:?}",
        r.problems
    );
    assert_eq!(report.signatures[0].signer_cn, "张三");
    assert!(
        report
            .signatures
            .iter()
            .all(|s| s.doc_sha256_hex.as_deref() == Some(DOC_SHA))
    );
    assert!(report.signatures[3].covers_whole_file && !report.signatures[0].covers_whole_file);
    assert!(!report.modified_after_last_signature);
    // Without a trust anchor the chain is not judged.
    assert!(
        verify_pdf(&pdf, None)
            .signatures
            .iter()
            .all(|s| s.chain_ok.is_none())
    );

    if let Some((valid, text)) = pdfsig(&file) {
        println!("pdfsig:\n{text}");
        assert_eq!(valid, 4, "pdfsig:\n{text}");
    }
    if let Some((ok, text)) = pyhanko(&file, &[&fx.path("ca.pem")]) {
        println!("pyhanko:\n{text}");
        assert!(ok, "pyhanko:\n{text}");
        assert_eq!(
            text.matches("The signature is judged VALID").count(),
            4,
            "pyhanko:\n{text}"
        );
    }
    if have("qpdf") {
        let (ok, text) = run(Command::new("qpdf").arg("--check").arg(&file));
        assert!(ok, "qpdf --check:\n{text}");
    }
}

#[test]
fn xref_stream_base_gets_xref_stream_updates() {
    let fx = Fixture::new();
    let mut doc = lopdf::Document::load_mem(&krilla_pdf()).unwrap();
    let mut base = Vec::new();
    doc.save_modern(&mut base).unwrap();
    let pdf = fx.phone_sign(&base, "signer1", "张三", [60.0, 600.0, 160.0, 640.0]);
    let pdf = fx.seal(&pdf, None);
    let tail = String::from_utf8_lossy(&pdf[base.len()..]).to_string();
    assert!(
        tail.contains("/Type/XRef") && !tail.contains("\ntrailer"),
        "update must use an xref stream"
    );
    let report = verify_pdf(&pdf, Some(fx.ca.cert_der()));
    assert!(report.ok, "{}", report.render_text());
    let file = fx.path("xrefstream.pdf");
    std::fs::write(&file, &pdf).unwrap();
    if let Some((valid, text)) = pdfsig(&file) {
        assert_eq!(valid, 2, "pdfsig:\n{text}");
    }
    if let Some((ok, text)) = pyhanko(&file, &[&fx.path("ca.pem")]) {
        assert!(ok, "pyhanko:\n{text}");
    }
}

/// Index of the first byte of the page content stream's data in the krilla revision.
#[test]
fn flipped_bytes_are_caught_and_named() {
    let fx = Fixture::new();
    let pdf = fx.four_signatures(None);

    // 1. A byte of the first revision's page content: every signature covers it.
    let mut bad = pdf.clone();
    bad[content_stream_byte(&pdf)] ^= 0x01;
    let report = verify_pdf(&bad, Some(fx.ca.cert_der()));
    let text = report.render_text();
    println!("{text}");
    assert!(!report.ok);
    assert!(report.signatures.iter().all(|s| !s.integrity_ok), "{text}");
    for name in ["signer1", "signer2", "signer3", "seal"] {
        assert!(
            text.contains(&format!("\"{name}\": ")),
            "{name} not named:\n{text}"
        );
    }
    let file = fx.path("tampered-content.pdf");
    std::fs::write(&file, &bad).unwrap();
    if let Some((valid, text)) = pdfsig(&file) {
        println!("pdfsig:\n{text}");
        assert_eq!(valid, 0, "pdfsig:\n{text}");
    }
    if let Some((ok, text)) = pyhanko(&file, &[&fx.path("ca.pem")]) {
        println!("pyhanko:\n{text}");
        assert!(!ok, "pyhanko:\n{text}");
    }

    // 2. A byte of the seal's signature dictionary (its /Reason).
    let at = pdf
        .windows(b"commission seal".len())
        .rposition(|w| w == b"commission seal")
        .unwrap();
    let mut bad = pdf.clone();
    bad[at] = b'C';
    let report = verify_pdf(&bad, Some(fx.ca.cert_der()));
    let text = report.render_text();
    println!("{text}");
    assert!(!report.ok);
    let seal = &report.signatures[3];
    assert_eq!(seal.field_name, "seal");
    assert!(!seal.integrity_ok && !seal.problems.is_empty(), "{text}");
    assert!(
        report.signatures[..3]
            .iter()
            .all(|s| s.integrity_ok && s.signature_ok),
        "{text}"
    );
    assert!(text.contains("\"seal\": "), "{text}");
    let file = fx.path("tampered-seal.pdf");
    std::fs::write(&file, &bad).unwrap();
    if let Some((valid, text)) = pdfsig(&file) {
        println!("pdfsig:\n{text}");
        assert_eq!(valid, 3, "pdfsig:\n{text}");
    }
    if let Some((ok, text)) = pyhanko(&file, &[&fx.path("ca.pem")]) {
        println!("pyhanko:\n{text}");
        assert!(!ok, "pyhanko:\n{text}");
    }

    // 3. An appended revision that redraws the page after everyone signed.
    let mut doc: lopdf::IncrementalDocument = pdf.as_slice().try_into().unwrap();
    let page = *doc.get_prev_documents().get_pages().get(&1).unwrap();
    doc.opt_clone_object_to_new_document(page).unwrap();
    let content = doc.new_document.add_object(lopdf::Stream::new(
        lopdf::Dictionary::new(),
        b"0 0 m 500 500 l S".to_vec(),
    ));
    doc.new_document
        .get_dictionary_mut(page)
        .unwrap()
        .set("Contents", lopdf::Object::Reference(content));
    let mut appended = Vec::new();
    doc.save_to(&mut appended).unwrap();
    let report = verify_pdf(&appended, Some(fx.ca.cert_der()));
    assert!(
        !report.ok && report.modified_after_last_signature,
        "{}",
        report.render_text()
    );
    assert!(
        report
            .signatures
            .iter()
            .all(|s| s.integrity_ok && !s.problems.is_empty()),
        "{}",
        report.render_text()
    );
}

/// Flip bytes all over a signed file: `verify_pdf` must never panic, and may only say "ok"
/// when the flipped byte lies in the unsigned zero padding of a `/Contents` placeholder.
#[test]
fn random_flips_never_pass_unless_in_unsigned_padding() {
    let fx = Fixture::new();
    let pdf = fx.four_signatures(None);
    let report = verify_pdf(&pdf, Some(fx.ca.cert_der()));
    assert!(report.ok);
    let gaps: Vec<(usize, usize)> = lopdf::Document::load_mem(&pdf)
        .unwrap()
        .objects
        .values()
        .filter_map(|o| {
            let br = o
                .as_dict()
                .ok()?
                .get(b"ByteRange")
                .ok()?
                .as_array()
                .ok()?
                .clone();
            Some((br[1].as_i64().ok()? as usize, br[2].as_i64().ok()? as usize))
        })
        .collect();
    assert_eq!(gaps.len(), 4);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..200 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let at = (seed >> 33) as usize % pdf.len();
        let mut bad = pdf.clone();
        bad[at] ^= 1 << ((seed >> 20) % 8);
        let r = verify_pdf(&bad, Some(fx.ca.cert_der()));
        if r.ok {
            assert!(
                gaps.iter().any(|&(a, b)| at > a && at + 1 < b),
                "flip at {at} passed:\n{}",
                r.render_text()
            );
        }
    }
    // Truncations are refused, too.
    for cut in [10, pdf.len() / 3, pdf.len() - 10] {
        assert!(!verify_pdf(&pdf[..cut], Some(fx.ca.cert_der())).ok);
    }
}

#[test]
fn wrong_key_and_garbage_signatures_are_refused() {
    let fx = Fixture::new();
    let (phone, other) = (Phone::new(), Phone::new());
    let subject = SignerSubject {
        name: "张三".into(),
        ..SignerSubject::default()
    };
    let cert = fx
        .ca
        .issue_signer_cert(
            phone.public_key(),
            &subject,
            Utc::now(),
            Duration::from_secs(60),
        )
        .unwrap();
    let prepared = pades::prepare(
        &krilla_pdf(),
        &fx.field("signer1", "张三", [0.0; 4]),
        None,
        &cert,
        &fx.chain(),
        Utc::now(),
    )
    .unwrap();
    let wrong = ecdsa_fixed_to_der(&other.sign_raw(&prepared.signed_attrs_der)).unwrap();
    let err = pades::finish(&prepared, &wrong, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not match"), "{err}");
    for garbage in [
        vec![],
        vec![0x30, 0x02, 0x02, 0x00],
        vec![0xff; 64],
        vec![0x30; 100_000],
    ] {
        assert!(pades::finish(&prepared, &garbage, None).is_err());
    }
    assert!(ecdsa_fixed_to_der(&[1u8; 65]).is_err());
    assert!(ecdsa_fixed_to_der(&[]).is_err());
    // A signature over other bytes.
    let sig = ecdsa_fixed_to_der(&phone.sign_raw(b"something else")).unwrap();
    assert!(pades::finish(&prepared, &sig, None).is_err());
    // The right one goes through, and an invisible signature validates.
    let sig = ecdsa_fixed_to_der(&phone.sign_raw(&prepared.signed_attrs_der)).unwrap();
    let pdf = pades::finish(&prepared, &sig, None).unwrap();
    assert!(verify_pdf(&pdf, Some(fx.ca.cert_der())).ok);
    // A field name cannot repeat; a page must exist; a non-image is refused.
    assert!(
        pades::prepare(
            &pdf,
            &fx.field("signer1", "x", [0.0; 4]),
            None,
            &cert,
            &[],
            Utc::now()
        )
        .is_err()
    );
    let bad_page = SigFieldSpec {
        page: 3,
        ..fx.field("signer2", "x", [0.0; 4])
    };
    assert!(pades::prepare(&pdf, &bad_page, None, &cert, &[], Utc::now()).is_err());
    assert!(
        Appearance::from_png(b"<svg/>")
            .unwrap_err()
            .to_string()
            .contains("not an image")
    );
    assert!(
        pades::prepare(
            b"not a pdf",
            &fx.field("a", "x", [0.0; 4]),
            None,
            &cert,
            &[],
            Utc::now()
        )
        .is_err()
    );
}

#[test]
fn cert_info_reports_expired_and_not_yet_valid() {
    let fx = Fixture::new();
    let phone = Phone::new();
    let subject = SignerSubject {
        name: "张三".into(),
        role: "applicant".into(),
        ..SignerSubject::default()
    };
    let now = Utc::now();
    let old = fx
        .ca
        .issue_signer_cert(
            phone.public_key(),
            &subject,
            now - chrono::Duration::days(2),
            Duration::from_secs(3600),
        )
        .unwrap();
    let info = ca::cert_info(&old).unwrap();
    assert!(info.not_after_ms < now.timestamp_millis() && !info.valid_at(now.timestamp_millis()));
    let future = fx
        .ca
        .issue_signer_cert(
            phone.public_key(),
            &subject,
            now + chrono::Duration::days(1),
            Duration::from_secs(3600),
        )
        .unwrap();
    let info = ca::cert_info(&future).unwrap();
    assert!(info.not_before_ms > now.timestamp_millis() && !info.valid_at(now.timestamp_millis()));
    assert_eq!(info.subject.role, "applicant");

    // A signature made with an expired certificate fails the chain check.
    let prepared = pades::prepare(
        &krilla_pdf(),
        &fx.field("s", "张三", [0.0; 4]),
        None,
        &old,
        &fx.chain(),
        now,
    )
    .unwrap();
    let sig = ecdsa_fixed_to_der(&phone.sign_raw(&prepared.signed_attrs_der)).unwrap();
    let report = verify_pdf(
        &pades::finish(&prepared, &sig, None).unwrap(),
        Some(fx.ca.cert_der()),
    );
    assert_eq!(
        report.signatures[0].chain_ok,
        Some(false),
        "{}",
        report.render_text()
    );
    assert!(report.signatures[0].integrity_ok && report.signatures[0].signature_ok);
}

/// An RFC 3161 authority made of `openssl ts` in a temp dir.
struct OpensslTsa {
    dir: PathBuf,
}

impl OpensslTsa {
    fn new(dir: &Path) -> Option<Self> {
        if !have("openssl") {
            return None;
        }
        let dir = dir.join("tsa");
        std::fs::create_dir_all(&dir).unwrap();
        let sh = |script: &str| {
            let (ok, text) = run(Command::new("sh").arg("-c").arg(script).current_dir(&dir));
            assert!(ok, "{script}\n{text}");
        };
        std::fs::write(
            dir.join("ext.cnf"),
            "extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n",
        )
        .unwrap();
        sh(
            "openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 30 -subj '/CN=Test TSA Root' \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
        );
        sh("openssl req -newkey rsa:2048 -nodes -keyout tsa.key -out tsa.csr -subj '/CN=Test TSA'");
        sh(
            "openssl x509 -req -in tsa.csr -CA root.pem -CAkey root.key -CAcreateserial -out tsa.pem -days 30 -extfile ext.cnf",
        );
        std::fs::write(
            dir.join("tsa.cnf"),
            format!(
                "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = {d}\nserial = $dir/serial\ncrypto_device = builtin\n\
                 signer_cert = $dir/tsa.pem\ncerts = $dir/root.pem\nsigner_key = $dir/tsa.key\nsigner_digest = sha256\n\
                 default_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\nordering = yes\ntsa_name = yes\n\
                 ess_cert_id_chain = no\ness_cert_id_alg = sha256\n",
                d = dir.display()
            ),
        )
        .unwrap();
        std::fs::write(dir.join("serial"), "01\n").unwrap();
        Some(OpensslTsa { dir })
    }
}

impl Tsa for OpensslTsa {
    fn timestamp(&self, imprint: &[u8; 32]) -> anyhow::Result<Vec<u8>> {
        let (req, nonce) = timestamp::request_der(imprint)?;
        std::fs::write(self.dir.join("req.der"), &req)?;
        let (ok, text) = run(Command::new("openssl")
            .args([
                "ts",
                "-reply",
                "-config",
                "tsa.cnf",
                "-queryfile",
                "req.der",
                "-out",
                "resp.der",
            ])
            .current_dir(&self.dir));
        anyhow::ensure!(ok, "openssl ts -reply: {text}");
        timestamp::token_from_response(&std::fs::read(self.dir.join("resp.der"))?, imprint, &nonce)
    }
}

#[test]
fn rfc3161_timestamp_on_the_seal() {
    let fx = Fixture::new();
    let Some(tsa) = OpensslTsa::new(fx.dir.path()) else {
        return;
    };
    let pdf = fx.four_signatures(Some(&tsa));
    let report = verify_pdf(&pdf, Some(fx.ca.cert_der()));
    println!("{}", report.render_text());
    assert!(report.ok, "{}", report.render_text());
    let ts = report.signatures[3]
        .timestamp
        .clone()
        .expect("seal timestamp");
    assert!(ts.contains("TSA: Test TSA"), "{ts}");
    assert!(report.signatures[..3].iter().all(|s| s.timestamp.is_none()));

    let file = fx.path("timestamped.pdf");
    std::fs::write(&file, &pdf).unwrap();
    if let Some((valid, text)) = pdfsig(&file) {
        println!("pdfsig:\n{text}");
        assert_eq!(valid, 4, "pdfsig:\n{text}");
    }
    let tsa_root = tsa.dir.join("root.pem");
    if let Some((ok, text)) = pyhanko(&file, &[&fx.path("ca.pem"), &tsa_root]) {
        println!("pyhanko:\n{text}");
        assert!(ok, "pyhanko:\n{text}");
        assert!(
            text.contains("The timestamp token is cryptographically sound"),
            "pyhanko:\n{text}"
        );
    }
}

#[test]
fn timing_figures() {
    let fx = Fixture::new();
    let base = krilla_pdf();
    let phone = Phone::new();
    let subject = SignerSubject {
        name: "张三".into(),
        ..SignerSubject::default()
    };
    let cert = fx
        .ca
        .issue_signer_cert(
            phone.public_key(),
            &subject,
            Utc::now(),
            Duration::from_secs(600),
        )
        .unwrap();
    let image = Appearance::from_png(&signature_png()).unwrap();
    let t = Instant::now();
    let n = 5;
    let mut pdf = base.clone();
    for i in 0..n {
        let field = fx.field(&format!("s{i}"), "张三", [60.0, 600.0, 160.0, 640.0]);
        let prepared =
            pades::prepare(&pdf, &field, Some(&image), &cert, &fx.chain(), Utc::now()).unwrap();
        let sig = ecdsa_fixed_to_der(&phone.sign_raw(&prepared.signed_attrs_der)).unwrap();
        pdf = pades::finish(&prepared, &sig, None).unwrap();
    }
    let per_sig = t.elapsed() / n;
    let t = Instant::now();
    let report = verify_pdf(&pdf, Some(fx.ca.cert_der()));
    let verify = t.elapsed();
    assert!(report.ok);
    eprintln!(
        "TIMING: prepare+finish {:?} per signature (base {} KB); verify_pdf of {n} signatures {:?} ({} KB)",
        per_sig,
        base.len() / 1024,
        verify,
        pdf.len() / 1024
    );
}
