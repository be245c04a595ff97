//! The human-readable, bilingual (中文 / English) form of a [`PdfReport`], for the case
//! file and for `yunting verify`: one block per signature, failing ones named with why.

use std::fmt::Write;

use super::{PdfReport, SignatureReport};

fn yes_no(ok: bool) -> &'static str {
    if ok { "通过 / OK" } else { "失败 / FAILED" }
}

fn label(s: &SignatureReport, i: usize) -> String {
    let name = if s.field_name.is_empty() {
        "(未命名 / unnamed)"
    } else {
        &s.field_name
    };
    format!("#{} \"{name}\"", i + 1)
}

impl PdfReport {
    /// The report as text, ending with the verdict and every failing signature named.
    pub fn render_text(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "PDF 电子签名验证报告 / PDF signature verification report"
        );
        let _ = writeln!(t, "签名数量 / signatures: {}", self.signatures.len());
        for (i, s) in self.signatures.iter().enumerate() {
            let _ = writeln!(t, "\n[{}] 签名人 / signer: {}", label(s, i), s.signer_cn);
            let _ = writeln!(
                t,
                "    证书指纹 / certificate SHA-256: {}",
                s.cert_fingerprint
            );
            if let Some(m) = &s.signing_time {
                let _ = writeln!(t, "    声明的签署时间 / claimed signing time: {m}");
            }
            if let Some(d) = &s.doc_sha256_hex {
                let _ = writeln!(t, "    文书版本 / document version SHA-256: {d}");
            }
            let _ = writeln!(t, "    数据完整性 / integrity: {}", yes_no(s.integrity_ok));
            let _ = writeln!(t, "    签名值 / signature: {}", yes_no(s.signature_ok));
            let chain = match s.chain_ok {
                Some(ok) => yes_no(ok),
                None => "未检查（未提供信任锚）/ not checked (no trust anchor)",
            };
            let _ = writeln!(t, "    证书链 / certificate chain: {chain}");
            let ts = s.timestamp.as_deref().unwrap_or("无 / none");
            let _ = writeln!(t, "    可信时间戳 / timestamp: {ts}");
            let cover = if s.covers_whole_file {
                "覆盖整个文件 / covers the whole file"
            } else {
                "覆盖其所在修订，之后有追加修订 / covers its revision; later revisions follow"
            };
            let _ = writeln!(t, "    范围 / coverage: {cover}");
            for p in &s.problems {
                let _ = writeln!(t, "    问题 / problem: {p}");
            }
        }
        if let Some(n) = self.records_checked {
            let _ = writeln!(
                t,
                "\n签章所载签名记录 / signature records in the seal: {n} 条与 PDF 签名一致（含通行密钥确认）/ {n} match the PDF's signatures (passkey confirmations included)"
            );
        }
        for p in &self.problems {
            let _ = writeln!(t, "\n问题 / problem: {p}");
        }
        if self.modified_after_last_signature {
            let _ = writeln!(
                t,
                "\n最后一个签名之后文件被追加修改 / the file was modified after the last signature"
            );
        }
        if self.ok {
            let _ = writeln!(t, "\n结论 / verdict: 全部签名有效 / all signatures valid");
        } else {
            let _ = writeln!(t, "\n结论 / verdict: 验证失败 / verification FAILED");
            for (i, s) in self.signatures.iter().enumerate().filter(|(_, s)| !s.ok()) {
                let why = s.problems.first().cloned().unwrap_or_else(|| {
                    if s.chain_ok == Some(false) {
                        "证书链未通过 / certificate chain failed".into()
                    } else {
                        "签名无效 / signature invalid".into()
                    }
                });
                let _ = writeln!(t, "  - 签名 / signature {}: {why}", label(s, i));
            }
        }
        t
    }
}
