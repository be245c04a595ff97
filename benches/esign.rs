//! E-signature timings for `docs/performance.md`: render a 3-page mediation agreement,
//! assemble one signed incremental update (prepare + embed the phone's signature), and
//! verify a document carrying 5 signatures. Run: `cargo bench --bench esign`.

use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use std::time::Instant;
use yunting::esign::ca::{CommissionCa, SignerSubject};
use yunting::esign::pades::{self, Appearance, SigFieldSpec};
use yunting::esign::render::{self, FontSource};
use yunting::esign::templates::{DocKind, Fields, Templates};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut out = None;
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        out = Some(f());
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    (median(ms), out.unwrap())
}

fn fields(t: &yunting::esign::templates::Template) -> Fields {
    let mut f = Fields::new();
    for name in t.field_names() {
        let v = match name.as_str() {
            "agreed_terms" => "一、被申请人于本协议签订之日起十五日内向申请人支付拖欠工资、加班费及经济补偿金合计人民币伍万捌仟元整（¥58,000.00），通过银行转账方式支付至申请人名下账户。\n".repeat(14),
            "claims" => "1. 请求裁决被申请人支付2025年1月至6月拖欠工资人民币36000元。\n2. 请求裁决被申请人支付解除劳动合同经济补偿金人民币22000元。".into(),
            "applicant_agent" | "respondent_agent" => String::new(),
            _ => format!("{name} 测试值"),
        };
        f.insert(name, v);
    }
    f
}

fn png() -> Vec<u8> {
    let (w, h) = (240u32, 80u32);
    let mut rgba = vec![0u8; (w * h * 4) as usize];
    for x in 10..230u32 {
        let y = 20 + x * 40 / 220;
        let i = ((y * w + x) * 4) as usize;
        rgba[i..i + 4].copy_from_slice(&[20, 20, 60, 255]);
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.write_header().unwrap().write_image_data(&rgba).unwrap();
    }
    out
}

fn main() {
    let font = FontSource::load(&FontSource::default_path()).expect("Noto Sans CJK");
    let templates = Templates::load(None).unwrap();
    let t = templates.get(DocKind::MediationAgreement);
    let f = fields(t);
    let (render_ms, rendered) = time(20, || render::render(t, &f, &font).unwrap());
    println!(
        "render mediation agreement: {} pages, {} KB, median {render_ms:.1} ms",
        rendered.page_count,
        rendered.pdf.len() / 1024
    );

    let dir = tempfile::tempdir().unwrap();
    let authority =
        CommissionCa::load_or_create(dir.path(), 1, "基准测试仲裁委员会", None).unwrap();
    let rng = SystemRandom::new();
    let appearance = Appearance::from_png(&png()).unwrap();
    let chain = vec![authority.cert_der().to_vec()];
    let mut pdf = rendered.pdf.clone();
    let mut sign_ms = Vec::new();
    let slots = ["applicant", "respondent", "mediator", "arbitrator", "clerk"];
    for (i, slot) in slots.iter().enumerate() {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let subject = SignerSubject {
            name: format!("签署人{i}"),
            role: slot.to_string(),
            case_number: "基准〔2026〕1号".into(),
            id_hash_hex: "00".repeat(32),
        };
        let cert = authority
            .issue_signer_cert(
                key.public_key().as_ref(),
                &subject,
                chrono::Utc::now(),
                std::time::Duration::from_secs(3600),
            )
            .unwrap();
        let place = rendered.slots.iter().find(|s| s.id == *slot);
        let spec = SigFieldSpec {
            field_name: format!("bench_{slot}"),
            page: place.map_or(0, |p| p.page),
            rect: place.map_or([0.0; 4], |p| p.rect),
            signer_name: subject.name.clone(),
            reason: "bench".into(),
            location: "bench".into(),
            doc_sha256_hex: "00".repeat(32),
        };
        let t0 = Instant::now();
        let prepared = pades::prepare(
            &pdf,
            &spec,
            Some(&appearance),
            &cert,
            &chain,
            chrono::Utc::now(),
        )
        .unwrap();
        let raw = key.sign(&rng, &prepared.signed_attrs_der).unwrap();
        let der = yunting::esign::cms::ecdsa_fixed_to_der(raw.as_ref()).unwrap();
        pdf = pades::finish(&prepared, &der, None).unwrap();
        sign_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "prepare + embed one signature (incremental update with image, CMS, ring verify): median {:.1} ms over {} signatures",
        median(sign_ms.clone()),
        sign_ms.len()
    );
    let (verify_ms, report) = time(20, || {
        yunting::esign::pdf_verify::verify_pdf(&pdf, Some(authority.cert_der()))
    });
    assert!(report.ok && report.signatures.len() == 5);
    println!(
        "verify a document with 5 signatures ({} KB): median {verify_ms:.1} ms",
        pdf.len() / 1024
    );
}
