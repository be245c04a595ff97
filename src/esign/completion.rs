//! The certificate of completion (电子签名完成证明) issued with a signed document.
//!
//! The PAdES signatures inside the final PDF are what a court or verifier relies on, but
//! they cannot be read by a party holding a phone. The certificate restates, in words,
//! who signed which version (by hash) how, when and from where, and who refused and
//! why, so that a party can check it against the document and the audit log. It is a
//! separate PDF: appending it to the signed file would change the bytes the signatures
//! cover. Its layout is the document layout of `render`; like the documents it is
//! deterministic (every time shown comes from the input).

use chrono::{DateTime, FixedOffset};

use super::render::{Align, FontSource, Layout, Style, write_pdf};

pub struct CompletionSigner {
    pub name: String,
    pub role: String,
    pub method: String,
    pub cert_fingerprint: String,
    pub signed_at_ms: i64,
    pub ip: String,
    pub user_agent: String,
    pub audit_ids: Vec<i64>,
    /// Set when this person refused to sign; `signed_at_ms` is then the refusal's time.
    pub refused_reason: Option<String>,
}

pub struct CompletionInput {
    pub title: String,
    pub case_number: String,
    pub version: i64,
    pub version_sha256: String,
    pub final_sha256: String,
    pub effective_at_ms: Option<i64>,
    pub signers: Vec<CompletionSigner>,
}

const TITLE: &str = "电子签名完成证明";
const USER_AGENT_CHARS: usize = 120;

/// Renders the certificate as a PDF.
pub fn render_certificate(input: &CompletionInput, font: &FontSource) -> anyhow::Result<Vec<u8>> {
    let mut layout = Layout::new(font, &format!("{TITLE} · {}", clean(&input.title)))?;
    layout.paragraph(TITLE, &Style::centered(20.0, true));
    layout.paragraph("Certificate of Completion", &Style::centered(12.0, false));
    layout.space(10.0);
    summary(&mut layout, input);

    let (refused, signed): (Vec<_>, Vec<_>) = input
        .signers
        .iter()
        .partition(|s| s.refused_reason.is_some());
    section(&mut layout, "签署记录 / Signatures");
    if signed.is_empty() {
        layout.paragraph("（无 / none）", &small());
    }
    for (i, s) in signed.iter().enumerate() {
        signer(&mut layout, i + 1, s);
    }
    if !refused.is_empty() {
        section(&mut layout, "拒绝签署 / Refusals");
        for (i, s) in refused.iter().enumerate() {
            refusal(&mut layout, i + 1, s);
        }
    }
    layout.space(10.0);
    layout.paragraph(
        "本证明根据云庭系统的签署记录生成。各签名的效力以文件中数字签名的验证结果为准；\
         审计记录编号可在审计日志中查验。/ Generated from Yunting's signing records. The \
         digital signatures inside the document are authoritative; audit entry ids can be \
         checked in the audit log.",
        &Style {
            gray: 80,
            ..small()
        },
    );
    write_pdf(&layout.finish(), font, TITLE)
}

/// Recorded values are mostly Latin (hashes, addresses, user agents): set ragged-right,
/// since justifying them would open wide gaps.
fn small() -> Style {
    Style {
        align: Align::Left,
        ..Style::field().with_size(10.0)
    }
}

fn section(layout: &mut Layout<'_>, title: &str) {
    layout.space(8.0);
    layout.heading(title, &Style::heading().with_size(13.0));
    layout.rule();
}

fn kv(layout: &mut Layout<'_>, label: &str, value: &str) {
    layout.paragraph(&format!("{label}：{}", clean(value)), &small());
}

fn summary(layout: &mut Layout<'_>, input: &CompletionInput) {
    kv(layout, "文书 / Document", &input.title);
    kv(layout, "案号 / Case No.", &input.case_number);
    kv(layout, "版本 / Version", &input.version.to_string());
    kv(
        layout,
        "版本 SHA-256 / Version SHA-256",
        &input.version_sha256,
    );
    kv(
        layout,
        "最终文件 SHA-256 / Final PDF SHA-256",
        &input.final_sha256,
    );
    let effective = input
        .effective_at_ms
        .map_or_else(|| "未生效 / not in effect".to_string(), shanghai_time);
    kv(layout, "生效时间 / Effective", &effective);
}

fn signer(layout: &mut Layout<'_>, n: usize, s: &CompletionSigner) {
    layout.space(4.0);
    let heading = format!("{n}. {}（{}）", clean(&s.name), clean(&s.role));
    layout.heading(&heading, &Style::heading().with_size(11.0));
    kv(layout, "方式 / Method", &s.method);
    kv(
        layout,
        "证书指纹 / Certificate SHA-256",
        &s.cert_fingerprint,
    );
    kv(layout, "时间 / Time", &shanghai_time(s.signed_at_ms));
    kv(layout, "IP", &s.ip);
    kv(
        layout,
        "用户代理 / User agent",
        &truncate(&s.user_agent, USER_AGENT_CHARS),
    );
    kv(layout, "审计记录 / Audit entries", &audit_ids(&s.audit_ids));
}

fn refusal(layout: &mut Layout<'_>, n: usize, s: &CompletionSigner) {
    layout.space(4.0);
    let heading = format!("{n}. {}（{}）", clean(&s.name), clean(&s.role));
    layout.heading(&heading, &Style::heading().with_size(11.0));
    kv(
        layout,
        "理由 / Reason",
        s.refused_reason.as_deref().unwrap_or(""),
    );
    kv(layout, "时间 / Time", &shanghai_time(s.signed_at_ms));
    kv(layout, "IP", &s.ip);
    kv(layout, "审计记录 / Audit entries", &audit_ids(&s.audit_ids));
}

fn audit_ids(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "—".to_string();
    }
    ids.iter()
        .map(|i| format!("#{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// ISO 8601 in China Standard Time (UTC+8 all year), millisecond precision.
pub fn shanghai_time(ms: i64) -> String {
    let offset = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    match DateTime::from_timestamp_millis(ms) {
        Some(t) => t
            .with_timezone(&offset)
            .format("%Y-%m-%dT%H:%M:%S%.3f+08:00")
            .to_string(),
        None => format!("(invalid time {ms})"),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Recorded values (user agents above all) are not validated like template fields:
/// control characters become spaces and the whole is one line.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => ' ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_shanghai() {
        // 2025-03-12T01:30:00Z
        assert_eq!(
            shanghai_time(1_741_743_000_000),
            "2025-03-12T09:30:00.000+08:00"
        );
        assert_eq!(
            shanghai_time(1_741_743_000_123),
            "2025-03-12T09:30:00.123+08:00"
        );
    }

    #[test]
    fn long_user_agents_are_truncated() {
        let ua = "Mozilla/5.0 ".repeat(30);
        let t = truncate(&ua, USER_AGENT_CHARS);
        assert_eq!(t.chars().count(), USER_AGENT_CHARS);
        assert!(t.ends_with('…'));
        assert_eq!(truncate("short", 10), "short");
    }

    #[test]
    fn control_characters_are_neutralised() {
        assert_eq!(clean("a\nb\u{1b}c"), "a b c");
        assert_eq!(audit_ids(&[3, 17]), "#3, #17");
        assert_eq!(audit_ids(&[]), "—");
    }
}
