//! Renders every document kind with realistic fields and checks the PDFs with poppler
//! (`pdftotext`, `pdffonts`, `pdfinfo`, `pdftoppm`) and, when installed, `qpdf --check`.
//! Page-1 PNGs are left in `$TMPDIR/yunting-esign-render/` for a human look.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use crate::common::oracles::have;
use yunting::esign::completion::{CompletionInput, CompletionSigner, render_certificate};
use yunting::esign::render::{FontSource, PAGE_HEIGHT, PAGE_WIDTH, Rendered, render};
use yunting::esign::templates::{
    DefencePeriod, DocKind, FieldError, Fields, Templates, defence_period_text,
};

fn font() -> Option<&'static FontSource> {
    static FONT: OnceLock<Option<FontSource>> = OnceLock::new();
    FONT.get_or_init(|| {
        let path = FontSource::default_path();
        if !path.exists() {
            assert!(
                std::env::var_os("YUNTING_REQUIRE_ORACLES").is_none(),
                "{} missing: scripts/install-packages.sh test installs fonts-noto-cjk",
                path.display()
            );
            eprintln!(
                "skipped: {} missing (apt-get install fonts-noto-cjk)",
                path.display()
            );
            return None;
        }
        let started = Instant::now();
        let font = FontSource::load(&path).expect("font loads");
        eprintln!(
            "font {} (face {}) loaded in {:?}",
            font.face_name,
            font.index,
            started.elapsed()
        );
        Some(font)
    })
    .as_ref()
}

fn templates() -> Templates {
    Templates::load(None).unwrap()
}

fn out_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("yunting-esign-render");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

const TRANSCRIPT_EXCHANGE: &str = "仲裁员：现在开庭。本庭依法适用简易程序，通过网上仲裁庭审理申请人王小明与被申请人上海星辰信息科技有限公司劳动报酬争议一案。书记员已核验双方身份，当事人对对方出庭人员身份有无异议？
申请人：没有异议。
被申请人：没有异议。
仲裁员：当事人对仲裁员、书记员是否申请回避？
申请人：不申请。
被申请人：不申请。
仲裁员：请申请人陈述仲裁请求及事实和理由。
申请人：我于2021年3月1日入职被申请人处，担任Java开发工程师，月工资12,000元。2024年10月起公司以经营困难为由停发工资，同年12月31日通知我解除劳动合同，未支付经济补偿。请求：一、支付2024年10月至12月工资36,000元；二、支付违法解除劳动合同赔偿金48,000元。
仲裁员：被申请人答辩。
被申请人：对入职时间和工资标准无异议。2024年第四季度公司确因项目回款延迟暂缓发放工资，并非拒不支付；解除劳动合同是因为部门撤销，属于客观情况发生重大变化，公司愿意支付经济补偿，但不同意支付赔偿金。
仲裁员：下面进行举证质证。申请人提交劳动合同、银行流水、解除通知（证据1—3），已上传至平台。被申请人对证据的真实性有无异议？
被申请人：真实性无异议，对证明目的有异议。
	（被申请人委托代理人出示考勤记录截图，平台显示为证据4。）
仲裁员：双方是否愿意调解？
申请人：愿意。
被申请人：愿意，具体方案庭后提交。";

fn common() -> Fields {
    let mut f = Fields::new();
    for (k, v) in [
        ("commission_name", "上海市浦东新区劳动人事争议仲裁委员会"),
        ("case_number", "浦劳人仲（2025）办字第1234号"),
        ("applicant_name", "王小明"),
        ("respondent_name", "上海星辰信息科技有限公司"),
        (
            "applicant_info",
            "王小明，男，1990年5月12日出生，汉族，住上海市浦东新区张江路100弄5号302室",
        ),
        (
            "respondent_info",
            "上海星辰信息科技有限公司，住所地上海市浦东新区世纪大道200号18楼，法定代表人：李建国",
        ),
        ("case_cause", "劳动报酬争议"),
    ] {
        f.insert(k.into(), v.into());
    }
    f
}

fn fields_for(kind: DocKind) -> Fields {
    let mut f = common();
    let set = |f: &mut Fields, pairs: &[(&str, &str)]| {
        for (k, v) in pairs {
            f.insert(k.to_string(), v.to_string());
        }
    };
    match kind {
        DocKind::Confirmation => {
            set(
                &mut f,
                &[
                    (
                        "applicant_service_address",
                        "手机号码 13800138000；云庭平台账户",
                    ),
                    (
                        "respondent_service_address",
                        "电子邮箱 hr@xingchen-tech.cn；手机号码 021-58886666",
                    ),
                ],
            );
            f.insert(
                "defence_period".into(),
                defence_period_text(DefencePeriod::ShortenedToDays(3)),
            );
        }
        DocKind::MediationAgreement => set(
            &mut f,
            &[
                ("applicant_agent", "陈静，上海明理律师事务所律师"),
                ("respondent_agent", ""),
                (
                    "claims",
                    "1. 要求被申请人支付2024年10月至12月拖欠工资人民币36,000元；\n2. 要求被申请人支付违法解除劳动合同赔偿金人民币48,000元。",
                ),
                (
                    "agreed_terms",
                    "一、被申请人于2025年3月31日前一次性支付申请人2024年10月至12月工资及解除劳动合同经济补偿共计人民币60,000元（税前），汇入申请人指定的银行账户（中国工商银行上海张江支行，账号6222 0210 0100 1234 567）。\n二、双方劳动关系于2024年12月31日解除，被申请人于2025年3月31日前为申请人出具解除劳动合同证明，并办理档案和社会保险关系转移手续。\n三、申请人放弃其他仲裁请求。双方就劳动关系存续期间及解除事宜再无其他争议。",
                ),
            ],
        ),
        DocKind::WithdrawalClaim => set(
            &mut f,
            &[
                ("accepted_date", "2025年2月20日"),
                (
                    "withdrawal_reason",
                    "双方已自行和解，被申请人已支付全部款项",
                ),
                ("document_date", "2025年3月12日"),
            ],
        ),
        DocKind::WithdrawalCounterclaim => set(
            &mut f,
            &[
                ("counterclaim_accepted_date", "2025年3月1日"),
                (
                    "withdrawal_reason",
                    "反申请人与被反申请人已就培训费用达成和解",
                ),
                ("document_date", "2025年3月12日"),
            ],
        ),
        DocKind::Transcript => set(
            &mut f,
            &[
                ("hearing_time", "2025年3月12日 9时30分至11时05分"),
                ("tribunal", "独任仲裁员 赵敏"),
                ("clerk_name", "孙丽"),
                (
                    "attendees",
                    "申请人王小明；\n被申请人的委托代理人周涛（上海星辰信息科技有限公司法务专员）。",
                ),
                ("transcript_text", TRANSCRIPT_EXCHANGE),
            ],
        ),
    }
    f.retain(|k, _| templates().get(kind).field_names().iter().any(|n| n == k));
    f
}

fn write(name: &str, pdf: &[u8]) -> PathBuf {
    let path = out_dir().join(name);
    std::fs::write(&path, pdf).unwrap();
    path
}

/// `pdftotext` output without the page footers ("第 n 页 共 m 页" and the title repeated
/// at the foot of each page; the title's first occurrence is the heading).
fn extracted_body(path: &Path, title: &str) -> String {
    let text = run("pdftotext", &[path.to_str().unwrap(), "-"]);
    let mut seen_title = false;
    text.lines()
        .filter(|l| !squash(l).contains("页共"))
        .filter(|l| {
            if l.trim() != title {
                return true;
            }
            !std::mem::replace(&mut seen_title, true)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every line we laid out is found on its page by `pdftotext`, and nothing else is.
fn check_text_matches_layout(path: &Path, r: &Rendered) {
    let extracted = run("pdftotext", &[path.to_str().unwrap(), "-"]);
    let pages: Vec<&str> = extracted.split('\u{c}').collect();
    let laid: Vec<&str> = r.text.split('\u{c}').collect();
    assert_eq!(pages.len(), laid.len());
    for (page, ours) in pages.iter().zip(&laid) {
        let page = squash(page);
        for line in ours.lines() {
            assert!(page.contains(&squash(line)), "{line}\n{page}");
        }
        let sorted = |s: String| {
            let mut v: Vec<char> = s.chars().collect();
            v.sort();
            v
        };
        assert_eq!(sorted(page.clone()), sorted(squash(ours)));
    }
}

/// The signing step reads the PDF with lopdf before appending to it.
fn check_lopdf_reads(r: &Rendered) {
    let doc = lopdf::Document::load_mem(&r.pdf).expect("lopdf reads the PDF");
    assert_eq!(doc.get_pages().len(), r.page_count);
    assert!(doc.trailer.get(b"Encrypt").is_err());
    assert!(doc.trailer.get(b"ID").is_ok());
}

fn pdfinfo(path: &Path) -> std::collections::BTreeMap<String, String> {
    run("pdfinfo", &[path.to_str().unwrap()])
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn check_fonts_embedded_subset(path: &Path) {
    let fonts = run("pdffonts", &[path.to_str().unwrap()]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in rows {
        let name = row.split_whitespace().next().unwrap();
        let (tag, base) = name.split_once('+').expect("subset prefix");
        assert!(
            tag.len() == 6 && tag.chars().all(|c| c.is_ascii_uppercase()),
            "{row}"
        );
        assert!(base.starts_with("NotoSansCJK"), "{row}");
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name type... encoding emb sub uni object ID
        let n = cols.len();
        assert_eq!(&cols[n - 5..n - 2], ["yes", "yes", "yes"], "{row}");
    }
}

fn check_structure(pdf: &[u8]) {
    assert!(pdf.starts_with(b"%PDF-1.7"));
    let s = String::from_utf8_lossy(pdf);
    assert!(s.contains("\nxref\n"), "classic cross-reference table");
    assert!(!s.contains("/Encrypt"));
    assert!(!s.contains("/Type /XRef") && !s.contains("/Type/XRef"));
}

/// No word of the page's text may fall inside a reserved signature rectangle.
fn check_slots_clear_of_text(path: &Path, r: &Rendered) {
    let html = run("pdftotext", &["-bbox", path.to_str().unwrap(), "-"]);
    let pages: Vec<&str> = html.split("<page ").skip(1).collect();
    assert_eq!(pages.len(), r.page_count);
    for slot in &r.slots {
        // bbox output has its origin top-left.
        let (x0, y0, x1, y1) = (
            slot.rect[0],
            PAGE_HEIGHT - slot.rect[3],
            slot.rect[2],
            PAGE_HEIGHT - slot.rect[1],
        );
        for word in pages[slot.page].lines().filter(|l| l.contains("<word ")) {
            let attr = |name: &str| -> f32 {
                let start = word.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                word[start..].split('"').next().unwrap().parse().unwrap()
            };
            let overlaps =
                attr("xMin") < x1 && attr("xMax") > x0 && attr("yMin") < y1 && attr("yMax") > y0;
            assert!(!overlaps, "text inside slot {}: {word}", slot.id);
        }
    }
}

fn png_of_first_page(path: &Path, stem: &str) -> PathBuf {
    let prefix = out_dir().join(stem);
    run(
        "pdftoppm",
        &[
            "-r",
            "60",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            path.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    prefix.with_extension("png")
}

#[test]
fn every_kind_renders_with_its_fields_and_embedded_subset_font() {
    let Some(font) = font() else { return };
    if !have("pdftotext") {
        eprintln!("skipped: poppler-utils not installed");
        return;
    }
    let all = templates();
    for kind in DocKind::all() {
        let t = all.get(kind);
        let fields = fields_for(kind);
        let started = Instant::now();
        let r = render(t, &fields, font).unwrap();
        eprintln!(
            "{}: {} page(s), {} bytes, {:?}",
            kind.as_str(),
            r.page_count,
            r.pdf.len(),
            started.elapsed()
        );
        let path = write(&format!("{}.pdf", kind.as_str()), &r.pdf);
        check_structure(&r.pdf);

        let body = squash(&extracted_body(&path, &t.title));
        assert!(body.contains(&squash(&t.title)), "{kind:?} title");
        for (name, value) in &fields {
            assert!(
                body.contains(&squash(value)),
                "{kind:?}: {name} = {value}\n{body}"
            );
        }
        for slot in &t.slots {
            assert!(body.contains(&squash(&slot.label)), "{kind:?} slot label");
        }
        check_text_matches_layout(&path, &r);
        check_lopdf_reads(&r);

        let info = pdfinfo(&path);
        assert_eq!(info["Title"], t.title);
        assert_eq!(info["PDF version"], "1.7");
        assert_eq!(info["Encrypted"], "no");
        assert_eq!(info["Pages"], r.page_count.to_string());
        assert_eq!(info["Page size"], "595.276 x 841.89 pts (A4)");
        check_fonts_embedded_subset(&path);
        check_slots_clear_of_text(&path, &r);

        assert_eq!(r.slots.len(), t.slots.len());
        for (slot, spec) in r.slots.iter().zip(&t.slots) {
            assert_eq!(slot.id, spec.id);
            let [x0, y0, x1, y1] = slot.rect;
            assert!(0.0 < x0 && x1 < PAGE_WIDTH && 0.0 < y0 && y1 < PAGE_HEIGHT);
            let (w, h) = ((x1 - x0) / 72.0 * 25.4, (y1 - y0) / 72.0 * 25.4);
            if slot.id == "seal" {
                assert!((w - 42.0).abs() < 0.1 && (h - 42.0).abs() < 0.1);
            } else {
                assert!((w - 60.0).abs() < 0.1 && (h - 22.0).abs() < 0.1, "{w}x{h}");
            }
        }
        if have("pdftoppm") {
            let png = png_of_first_page(&path, kind.as_str());
            assert!(std::fs::metadata(png).unwrap().len() > 10_000);
        }
        if have("qpdf") {
            let out = Command::new("qpdf")
                .arg("--check")
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}

fn long_transcript_fields() -> Fields {
    let mut f = fields_for(DocKind::Transcript);
    let text = (1..=4)
        .map(|n| format!("（第{n}轮询问）\n{TRANSCRIPT_EXCHANGE}"))
        .collect::<Vec<_>>()
        .join("\n");
    f.insert("transcript_text".into(), text);
    f
}

#[test]
fn long_transcript_spans_pages_with_slots_on_the_last() {
    let Some(font) = font() else { return };
    let t = templates();
    let fields = long_transcript_fields();
    let r = render(t.get(DocKind::Transcript), &fields, font).unwrap();
    assert!(r.page_count >= 3, "{} pages", r.page_count);
    assert!(r.slots.iter().all(|s| s.page == r.page_count - 1));
    let pages: Vec<&str> = r.text.split('\u{c}').filter(|p| !p.is_empty()).collect();
    assert_eq!(pages.len(), r.page_count);
    for (i, page) in pages.iter().enumerate() {
        let footer = format!("第 {} 页 共 {} 页", i + 1, r.page_count);
        assert!(page.contains(&footer), "{footer}");
    }
    let path = write("transcript-long.pdf", &r.pdf);
    if have("pdftotext") {
        let body = squash(&extracted_body(&path, "庭审笔录"));
        assert!(body.contains(&squash(&fields["transcript_text"])));
        check_slots_clear_of_text(&path, &r);
    }
    if have("pdftoppm") {
        run(
            "pdftoppm",
            &[
                "-r",
                "60",
                "-png",
                path.to_str().unwrap(),
                out_dir().join("transcript-long").to_str().unwrap(),
            ],
        );
    }
}

#[test]
fn transcript_at_the_length_limit_renders() {
    let Some(font) = font() else { return };
    let t = templates();
    let mut fields = fields_for(DocKind::Transcript);
    let mut text = String::new();
    while text.chars().count() + TRANSCRIPT_EXCHANGE.chars().count() < 20_000 {
        text.push_str(TRANSCRIPT_EXCHANGE);
        text.push('\n');
    }
    fields.insert("transcript_text".into(), text);
    let started = Instant::now();
    let r = render(t.get(DocKind::Transcript), &fields, font).unwrap();
    eprintln!(
        "transcript of {} chars: {} pages, {} bytes in {:?}",
        fields["transcript_text"].chars().count(),
        r.page_count,
        r.pdf.len(),
        started.elapsed()
    );
    assert!(r.page_count > 10);
    assert!(r.slots.iter().all(|s| s.page == r.page_count - 1));
}

#[test]
fn three_page_mediation_agreement_timing_and_determinism() {
    let Some(font) = font() else { return };
    let t = templates();
    let tpl = t.get(DocKind::MediationAgreement);
    let mut fields = fields_for(DocKind::MediationAgreement);
    let terms = fields["agreed_terms"].clone();
    let long: Vec<String> = (1..=9).map(|n| format!("{n}. {terms}")).collect();
    fields.insert("agreed_terms".into(), long.join("\n"));

    let started = Instant::now();
    let a = render(tpl, &fields, font).unwrap();
    let first = started.elapsed();
    let started = Instant::now();
    let b = render(tpl, &fields, font).unwrap();
    let second = started.elapsed();
    eprintln!(
        "mediation agreement: {} pages, {} bytes, render {first:?} then {second:?}",
        a.page_count,
        a.pdf.len()
    );
    assert!(a.page_count >= 3, "{} pages", a.page_count);
    assert_eq!(a.sha256, b.sha256);
    assert_eq!(a.pdf, b.pdf);
    assert_eq!(a.slots, b.slots);
    let seal = a.slots.iter().find(|s| s.id == "seal").unwrap();
    assert_eq!(seal.page, a.page_count - 1);
    write("mediation-long.pdf", &a.pdf);

    fields.insert(
        "applicant_agent".into(),
        "陈静，上海明理律师事务所实习律师".into(),
    );
    let c = render(tpl, &fields, font).unwrap();
    assert_ne!(a.sha256, c.sha256);
}

#[test]
fn render_refuses_bad_fields_with_a_field_error() {
    let Some(font) = font() else { return };
    let t = templates();
    let tpl = t.get(DocKind::WithdrawalClaim);
    let mut fields = fields_for(DocKind::WithdrawalClaim);
    fields.insert("applicant_name".into(), "<b>王小明</b>".into());
    let err = render(tpl, &fields, font).err().unwrap();
    assert_eq!(
        err.downcast_ref::<FieldError>(),
        Some(&FieldError::Markup("applicant_name".into()))
    );
    fields.insert("applicant_name".into(), "王小明😀".into());
    let err = render(tpl, &fields, font).err().unwrap();
    assert_eq!(
        err.downcast_ref::<FieldError>(),
        Some(&FieldError::UnsupportedCharacter(
            "applicant_name".into(),
            '😀'
        ))
    );
    fields.remove("applicant_name");
    let err = render(tpl, &fields, font).err().unwrap();
    assert!(err.to_string().contains("applicant_name"), "{err}");
}

#[test]
fn completion_certificate_lists_signers_and_refusals() {
    let Some(font) = font() else { return };
    let signer = |name: &str, role: &str, method: &str, ms: i64, ids: Vec<i64>| {
        CompletionSigner {
        name: name.into(),
        role: role.into(),
        method: method.into(),
        cert_fingerprint: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        signed_at_ms: ms,
        ip: "203.0.113.24".into(),
        user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1 MicroMessenger/8.0.47".into(),
        audit_ids: ids,
        refused_reason: None,
    }
    };
    let mut refused = signer("周涛", "被申请人代理人", "", 1_741_745_000_000, vec![120]);
    refused.refused_reason = Some("对第二条履行期限有异议，需请示公司".into());
    let input = CompletionInput {
        title: "调解协议书".into(),
        case_number: "浦劳人仲（2025）办字第1234号".into(),
        version: 2,
        version_sha256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae".into(),
        final_sha256: "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9".into(),
        effective_at_ms: Some(1_741_750_000_000),
        signers: vec![
            signer(
                "王小明",
                "申请人",
                "设备密钥 WebCrypto",
                1_741_743_000_123,
                vec![101, 102],
            ),
            signer(
                "李建国",
                "被申请人",
                "通行密钥 WebAuthn",
                1_741_744_000_000,
                vec![110],
            ),
            refused,
            signer(
                "刘芳",
                "调解员",
                "通行密钥 WebAuthn",
                1_741_746_000_000,
                vec![130],
            ),
            signer(
                "上海市浦东新区劳动人事争议仲裁委员会",
                "仲裁委员会",
                "委员会印章",
                1_741_750_000_000,
                vec![140, 141],
            ),
        ],
    };
    let started = Instant::now();
    let pdf = render_certificate(&input, font).unwrap();
    eprintln!(
        "certificate: {} bytes in {:?}",
        pdf.len(),
        started.elapsed()
    );
    assert_eq!(pdf, render_certificate(&input, font).unwrap());
    check_structure(&pdf);
    let path = write("certificate.pdf", &pdf);
    if !have("pdftotext") {
        return;
    }
    let text = squash(&run("pdftotext", &[path.to_str().unwrap(), "-"]));
    for needle in [
        "电子签名完成证明",
        "CertificateofCompletion",
        "调解协议书",
        "浦劳人仲（2025）办字第1234号",
        &input.version_sha256,
        &input.final_sha256,
        "王小明",
        "设备密钥WebCrypto",
        "通行密钥WebAuthn",
        "委员会印章",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "2025-03-12T09:30:00.123+08:00",
        "203.0.113.24",
        "#101,#102",
        "拒绝签署",
        "对第二条履行期限有异议，需请示公司",
    ] {
        assert!(text.contains(needle), "{needle}\n{text}");
    }
    assert!(
        !text.contains("MicroMessenger/8.0.47"),
        "user agent truncated"
    );
    check_fonts_embedded_subset(&path);
    if have("pdftoppm") {
        png_of_first_page(&path, "certificate");
    }
}
