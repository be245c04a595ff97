//! Case numbers in the form the commissions print: `穗劳人仲案〔2026〕123号`.

pub fn format(prefix: &str, year: i64, seq: i64) -> String {
    format!("{prefix}〔{year}〕{seq}号")
}

/// Validate a number typed in by staff (importing an existing case). Returns a message
/// saying what is wrong.
pub fn validate(number: &str) -> Result<(), &'static str> {
    let n = number.trim();
    if n.is_empty() || n.chars().count() > 64 {
        return Err("案号须为1至64个字符 / a case number has 1 to 64 characters");
    }
    if n.chars().any(|c| c.is_control()) {
        return Err("案号含有控制字符 / the case number contains control characters");
    }
    if !(n.contains('〔') && n.contains('〕') && n.ends_with('号')) {
        return Err("案号格式应为「前缀〔年份〕序号号」 / expected the form prefix〔year〕N号");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_like_the_commission() {
        assert_eq!(
            super::format("穗劳人仲案", 2026, 123),
            "穗劳人仲案〔2026〕123号"
        );
        assert!(super::validate("穗劳人仲案〔2026〕123号").is_ok());
        assert!(super::validate("2026-123").is_err());
        assert!(super::validate("").is_err());
    }
}
