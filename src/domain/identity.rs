//! Identity numbers and phone numbers as the commission records them. A person is known
//! by the 18-character resident ID (GB 11643, ISO 7064 MOD 11-2 check character), an
//! organisation by its unified social credit code (GB 32100, MOD 31 check character); a
//! party's phone must be a mainland mobile number because the one-time code goes there.

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character for the first 17 digits of a resident ID.
pub fn resident_id_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first17
        .bytes()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(ID_CHECK[(sum % 11) as usize])
}

/// Normalise (trim, upper-case x) and validate a resident ID number.
pub fn resident_id(input: &str) -> Result<String, &'static str> {
    let id = input.trim().to_ascii_uppercase();
    if id.len() != 18 || !id.is_ascii() {
        return Err("身份证号码须为18位 / a resident ID number has 18 characters");
    }
    let (body, check) = id.split_at(17);
    let Some(expected) = resident_id_check_char(body) else {
        return Err("身份证号码前17位须为数字 / the first 17 characters must be digits");
    };
    let month: u32 = body[10..12].parse().unwrap_or(0);
    let day: u32 = body[12..14].parse().unwrap_or(0);
    let year: u32 = body[6..10].parse().unwrap_or(0);
    if !(1900..=2100).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err("身份证号码中的出生日期无效 / the birth date in the ID number is invalid");
    }
    if !check.starts_with(expected) {
        return Err("身份证号码校验位不正确 / the ID number's check character is wrong");
    }
    Ok(id)
}

const USCC_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

pub fn uscc_check_char(first17: &str) -> Option<char> {
    if first17.chars().count() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in first17.chars().zip(USCC_WEIGHTS) {
        let v = USCC_CHARS.find(c)? as u32;
        sum += v * w;
    }
    let check = (31 - sum % 31) % 31;
    USCC_CHARS.chars().nth(check as usize)
}

/// Normalise and validate a unified social credit code (统一社会信用代码).
pub fn social_credit_code(input: &str) -> Result<String, &'static str> {
    let code = input.trim().to_ascii_uppercase();
    if code.chars().count() != 18 {
        return Err("统一社会信用代码须为18位 / a unified social credit code has 18 characters");
    }
    let (body, check) = code.split_at(17);
    match uscc_check_char(body) {
        None => Err("统一社会信用代码含有无效字符 / the code contains invalid characters"),
        Some(c) if check.starts_with(c) => Ok(code),
        Some(_) => Err("统一社会信用代码校验位不正确 / the code's check character is wrong"),
    }
}

/// Normalise a mainland mobile number to its 11 digits.
pub fn mobile_phone(input: &str) -> Result<String, &'static str> {
    let p: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    let p = p
        .strip_prefix("+86")
        .or_else(|| p.strip_prefix("0086"))
        .unwrap_or(&p);
    let b = p.as_bytes();
    if b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
    {
        Ok(p.to_string())
    } else {
        Err("手机号码格式不正确 / not a valid mainland mobile number (11 digits starting 13–19)")
    }
}

/// A person's or organisation's name: trimmed, 1–100 characters, no control characters
/// or markup brackets (names end up in documents and on screens).
pub fn display_name(input: &str) -> Result<String, &'static str> {
    let n = input.trim();
    if n.is_empty() || n.chars().count() > 100 {
        return Err("姓名/名称须为1至100个字符 / a name has 1 to 100 characters");
    }
    if n.chars().any(|c| c.is_control() || c == '<' || c == '>') {
        return Err(
            "姓名/名称含有不允许的字符 / the name contains characters that are not allowed",
        );
    }
    Ok(n.to_string())
}

/// Free text (causes, claims, reasons): trimmed, bounded, no control characters except
/// line breaks.
pub fn free_text(input: &str, max_chars: usize) -> Result<String, String> {
    let t = input.trim();
    if t.is_empty() {
        return Err("内容不能为空 / must not be empty".into());
    }
    if t.chars().count() > max_chars {
        return Err(format!(
            "内容不能超过{max_chars}个字符 / at most {max_chars} characters"
        ));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err("内容含有控制字符 / contains control characters".into());
    }
    Ok(t.to_string())
}

/// Build a valid resident ID from its first 17 digits (used by the demo and tests).
pub fn resident_id_with_check(first17: &str) -> String {
    format!(
        "{first17}{}",
        resident_id_check_char(first17).expect("17 digits")
    )
}

/// Build a valid social credit code from its first 17 characters.
pub fn social_credit_code_with_check(first17: &str) -> String {
    format!(
        "{first17}{}",
        uscc_check_char(first17).expect("17 valid characters")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_ids() {
        // The GB 11643 example number.
        assert_eq!(
            resident_id("11010519491231002x"),
            Ok("11010519491231002X".into())
        );
        assert!(resident_id("110105194912310021").is_err());
        assert!(resident_id("1101051949123100").is_err());
        assert!(resident_id("110105194913310028").is_err());
        let generated = resident_id_with_check("44010619900101123");
        assert!(resident_id(&generated).is_ok());
    }

    #[test]
    fn social_credit_codes() {
        // A code published on a business licence specimen.
        assert!(social_credit_code("91350100M000100Y43").is_ok());
        assert!(social_credit_code("91350100M000100Y44").is_err());
        assert!(social_credit_code("91350100M000100YI3").is_err());
        let generated = social_credit_code_with_check("91440101MA5CXXXX0");
        assert!(social_credit_code(&generated).is_ok());
    }

    #[test]
    fn phones() {
        assert_eq!(mobile_phone("+86 138-0000-0001"), Ok("13800000001".into()));
        assert!(mobile_phone("12800000001").is_err());
        assert!(mobile_phone("1380000000").is_err());
        assert!(mobile_phone("020-12345678").is_err());
    }

    #[test]
    fn names_and_text() {
        assert!(display_name("  张三 ").is_ok());
        assert!(display_name("<script>").is_err());
        assert!(display_name("a\u{7}b").is_err());
        assert!(free_text("x\ny", 10).is_ok());
        assert!(free_text("", 10).is_err());
        assert!(free_text("abcdefghijk", 10).is_err());
    }
}
