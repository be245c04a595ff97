//! Document templates for the e-signature feature.
//!
//! A signer signs the exact PDF they were shown, so the wording of a document must be
//! fixed before anyone signs and must be traceable afterwards: each template is a small
//! TOML file whose SHA-256 is recorded with every document version it produced. The
//! repository's templates are compiled into the binary (a deployment cannot lose them);
//! a commission that words its forms differently overrides them file by file from a
//! directory, and an override that does not parse stops start-up instead of silently
//! falling back to the default wording.
//!
//! Field values come from case records and from free text typed by staff (agreed terms,
//! the clerk's transcript). They are checked before rendering: a value cannot carry
//! control or bidi-override characters that would make the PDF read differently from
//! what the signer believes they saw, nor markup or placeholder syntax that could pass
//! for template text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use serde::Deserialize;

/// Fields supplied for one document: case fields filled by the server plus free text
/// (terms, transcript text).
pub type Fields = BTreeMap<String, String>;

/// Longest value of a single-line field, in characters.
pub const MAX_LINE_CHARS: usize = 200;
/// Longest value of a free-text field, in characters.
pub const MAX_FREE_TEXT_CHARS: usize = 20_000;

/// The slot ids a template may name, in the order a document is usually signed.
pub const SLOT_IDS: [&str; 6] = [
    "applicant",
    "respondent",
    "mediator",
    "arbitrator",
    "clerk",
    "seal",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Confirmation,
    MediationAgreement,
    WithdrawalClaim,
    WithdrawalCounterclaim,
    Transcript,
}

impl DocKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            DocKind::Confirmation => "confirmation",
            DocKind::MediationAgreement => "mediation_agreement",
            DocKind::WithdrawalClaim => "withdrawal_claim",
            DocKind::WithdrawalCounterclaim => "withdrawal_counterclaim",
            DocKind::Transcript => "transcript",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::all().into_iter().find(|k| k.as_str() == s)
    }

    pub fn title_zh(&self) -> &'static str {
        match self {
            DocKind::Confirmation => "仲裁简易程序权利、义务确认书",
            DocKind::MediationAgreement => "调解协议书",
            DocKind::WithdrawalClaim => "撤回仲裁申请书",
            DocKind::WithdrawalCounterclaim => "撤回仲裁反申请书",
            DocKind::Transcript => "庭审笔录",
        }
    }

    pub fn all() -> [DocKind; 5] {
        [
            DocKind::Confirmation,
            DocKind::MediationAgreement,
            DocKind::WithdrawalClaim,
            DocKind::WithdrawalCounterclaim,
            DocKind::Transcript,
        ]
    }

    fn index(self) -> usize {
        self as usize
    }

    fn embedded_source(self) -> &'static str {
        match self {
            DocKind::Confirmation => {
                include_str!("../../templates/documents/confirmation.toml")
            }
            DocKind::MediationAgreement => {
                include_str!("../../templates/documents/mediation_agreement.toml")
            }
            DocKind::WithdrawalClaim => {
                include_str!("../../templates/documents/withdrawal_claim.toml")
            }
            DocKind::WithdrawalCounterclaim => {
                include_str!("../../templates/documents/withdrawal_counterclaim.toml")
            }
            DocKind::Transcript => include_str!("../../templates/documents/transcript.toml"),
        }
    }
}

/// One block of a template, in reading order. Text may hold `{{field}}` placeholders.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Block {
    /// Centred line above the title (the commission's name).
    Header(String),
    /// The document title: large, bold, centred.
    Title(String),
    /// A section heading: bold, flush left.
    Heading(String),
    /// Body paragraph: first line indented two characters, justified.
    Paragraph(String),
    /// "Label：value" line; continuation lines hang under the value. Omitted when all of
    /// its placeholders are optional fields left empty.
    Field(String),
    /// Free text as typed: each line its own paragraph, no indent; a line starting with a
    /// short "speaker：" label hangs under its speech.
    Text(String),
    /// "此致" and similar: indented two characters.
    Closing(String),
    /// Flush right (the date under a letter).
    Date(String),
    /// Vertical space in points.
    Spacer(f32),
}

impl Block {
    fn text(&self) -> Option<&str> {
        match self {
            Block::Header(s)
            | Block::Title(s)
            | Block::Heading(s)
            | Block::Paragraph(s)
            | Block::Field(s)
            | Block::Text(s)
            | Block::Closing(s)
            | Block::Date(s) => Some(s),
            Block::Spacer(_) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotSpec {
    pub id: String,
    pub label: String,
}

/// Where a template's text came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateSource {
    Embedded,
    Override(PathBuf),
}

#[derive(Clone, Debug)]
pub struct Template {
    pub kind: DocKind,
    pub title: String,
    /// The version label written in the file (human-facing; `sha256_hex` is what counts).
    pub version: String,
    pub blocks: Vec<Block>,
    pub slots: Vec<SlotSpec>,
    /// Fields that may span several lines (newlines and tabs allowed, longer limit).
    pub free_text: BTreeSet<String>,
    /// Fields that may be left empty.
    pub optional: BTreeSet<String>,
    /// SHA-256 of the template file's bytes, lower-case hex.
    pub sha256_hex: String,
    pub source: TemplateSource,
    fields: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    kind: String,
    title: String,
    version: String,
    #[serde(default)]
    free_text: Vec<String>,
    #[serde(default)]
    optional: Vec<String>,
    block: Vec<Block>,
    slot: Vec<SlotSpec>,
}

impl Template {
    /// Placeholder names in order of first use.
    pub fn field_names(&self) -> Vec<String> {
        self.fields.clone()
    }

    pub fn is_free_text(&self, name: &str) -> bool {
        self.free_text.contains(name)
    }

    /// Parses and checks one template file's text.
    pub fn parse(kind: DocKind, source_text: &str, source: TemplateSource) -> anyhow::Result<Self> {
        let raw: RawTemplate = toml::from_str(source_text)?;
        if raw.kind != kind.as_str() {
            bail!("kind is \"{}\", expected \"{}\"", raw.kind, kind.as_str());
        }
        if raw.title.trim().is_empty() || raw.block.is_empty() {
            bail!("title and at least one block are required");
        }
        let fields = collect_fields(&raw.block)?;
        check_declared(&raw.free_text, &fields, "free_text")?;
        check_declared(&raw.optional, &fields, "optional")?;
        check_slots(&raw.slot)?;
        Ok(Template {
            kind,
            title: raw.title,
            version: raw.version,
            blocks: raw.block,
            slots: raw.slot,
            free_text: raw.free_text.into_iter().collect(),
            optional: raw.optional.into_iter().collect(),
            sha256_hex: sha256_hex(source_text.as_bytes()),
            source,
            fields,
        })
    }
}

fn collect_fields(blocks: &[Block]) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    for text in blocks.iter().filter_map(Block::text) {
        for piece in parse_placeholders(text).map_err(|e| anyhow!("{e}: {text}"))? {
            if let Piece::Field(name) = piece
                && !names.iter().any(|n| n == name)
            {
                names.push(name.to_string());
            }
        }
    }
    Ok(names)
}

fn check_declared(declared: &[String], used: &[String], list: &str) -> anyhow::Result<()> {
    match declared.iter().find(|d| !used.contains(d)) {
        Some(d) => bail!("{list} names \"{d}\", which no block uses"),
        None => Ok(()),
    }
}

fn check_slots(slots: &[SlotSpec]) -> anyhow::Result<()> {
    let mut seen = BTreeSet::new();
    for slot in slots {
        if !SLOT_IDS.contains(&slot.id.as_str()) {
            bail!("unknown slot id \"{}\" (one of {SLOT_IDS:?})", slot.id);
        }
        if !seen.insert(slot.id.as_str()) {
            bail!("slot \"{}\" appears twice", slot.id);
        }
        if slot.label.trim().is_empty() || slot.label.contains("{{") {
            bail!("slot \"{}\" needs a plain label", slot.id);
        }
    }
    if slots.is_empty() {
        bail!("a template needs at least one signature slot");
    }
    Ok(())
}

/// The templates of all five kinds, as used by one commission.
#[derive(Clone, Debug)]
pub struct Templates {
    by_kind: Vec<Template>,
}

impl Templates {
    /// The repository's templates, overridden by `<dir>/<kind>.toml` where such a file
    /// exists.
    pub fn load(override_dir: Option<&Path>) -> anyhow::Result<Self> {
        let by_kind = DocKind::all()
            .into_iter()
            .map(|kind| load_one(kind, override_dir))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Templates { by_kind })
    }

    pub fn get(&self, k: DocKind) -> &Template {
        &self.by_kind[k.index()]
    }
}

fn load_one(kind: DocKind, override_dir: Option<&Path>) -> anyhow::Result<Template> {
    if let Some(dir) = override_dir {
        let path = dir.join(format!("{}.toml", kind.as_str()));
        if path.is_file() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading template {}", path.display()))?;
            return Template::parse(kind, &text, TemplateSource::Override(path.clone()))
                .with_context(|| format!("template {}", path.display()));
        }
    }
    Template::parse(kind, kind.embedded_source(), TemplateSource::Embedded)
        .with_context(|| format!("embedded template {}", kind.as_str()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A piece of template text: literal text or a placeholder's field name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Lit(&'a str),
    Field(&'a str),
}

/// Splits template text at its `{{name}}` placeholders.
pub(crate) fn parse_placeholders(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        if rest[..start].contains("}}") {
            return Err("stray \"}}\"".into());
        }
        if start > 0 {
            pieces.push(Piece::Lit(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("unclosed \"{{\"")?;
        let name = &after[..end];
        if !is_field_name(name) {
            return Err(format!("bad placeholder name \"{name}\""));
        }
        pieces.push(Piece::Field(name));
        rest = &after[end + 2..];
    }
    if rest.contains("}}") {
        return Err("stray \"}}\"".into());
    }
    if !rest.is_empty() {
        pieces.push(Piece::Lit(rest));
    }
    Ok(pieces)
}

fn is_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.len() <= 64
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// Replaces the placeholders of `text` with their values (missing ones with nothing).
/// Values are inserted once, never re-scanned, so a value cannot pull in another field.
pub(crate) fn fill(text: &str, fields: &Fields) -> String {
    let Ok(pieces) = parse_placeholders(text) else {
        return text.to_string();
    };
    pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(s) => *s,
            Piece::Field(name) => fields.get(*name).map_or("", String::as_str),
        })
        .collect()
}

/// Whether a `field` line is to be left out: it has placeholders and all are optional
/// fields left empty.
pub(crate) fn only_empty_optionals(t: &Template, text: &str, fields: &Fields) -> bool {
    let Ok(pieces) = parse_placeholders(text) else {
        return false;
    };
    let mut names = pieces.iter().filter_map(|p| match p {
        Piece::Field(n) => Some(*n),
        Piece::Lit(_) => None,
    });
    let mut any = false;
    let all_empty = names.all(|n| {
        any = true;
        t.optional.contains(n) && fields.get(n).is_none_or(|v| v.trim().is_empty())
    });
    any && all_empty
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FieldError {
    #[error("缺少字段“{0}”的内容 / missing value for field `{0}`")]
    Missing(String),
    #[error("字段“{0}”含有不允许的控制字符 / field `{0}` contains a disallowed control character")]
    ControlCharacter(String),
    #[error(
        "字段“{0}”含有标记或占位符样式的内容（<标签、{{{{ 或 }}}}） / field `{0}` contains markup-like content (<tag, {{{{ or }}}})"
    )]
    Markup(String),
    #[error("字段“{0}”超过 {1} 个字符 / field `{0}` is longer than {1} characters")]
    TooLong(String, usize),
    #[error("模板中没有字段“{0}” / unknown field `{0}`")]
    Unknown(String),
    /// Found when rendering: the font has no glyph for this character.
    #[error(
        "字段“{0}”含有字体无法显示的字符“{1}” / field `{0}` contains a character the font cannot show ({1:?})"
    )]
    UnsupportedCharacter(String, char),
}

/// Checks the values supplied for a template: all its fields present, no unknown ones,
/// and each value free of control characters and markup and within its length limit.
pub fn validate_fields(t: &Template, fields: &Fields) -> Result<(), FieldError> {
    for name in &t.fields {
        let value = fields.get(name).map(String::as_str).unwrap_or("");
        if value.trim().is_empty() && !t.optional.contains(name) {
            return Err(FieldError::Missing(name.clone()));
        }
    }
    for (name, value) in fields {
        if !t.fields.contains(name) {
            return Err(FieldError::Unknown(name.clone()));
        }
        validate_value(name, value, t.is_free_text(name))?;
    }
    Ok(())
}

fn validate_value(name: &str, value: &str, free_text: bool) -> Result<(), FieldError> {
    if value.chars().any(|c| is_forbidden_char(c, free_text)) {
        return Err(FieldError::ControlCharacter(name.to_string()));
    }
    if looks_like_markup(value) {
        return Err(FieldError::Markup(name.to_string()));
    }
    let max = if free_text {
        MAX_FREE_TEXT_CHARS
    } else {
        MAX_LINE_CHARS
    };
    if value.chars().count() > max {
        return Err(FieldError::TooLong(name.to_string(), max));
    }
    Ok(())
}

fn is_forbidden_char(c: char, free_text: bool) -> bool {
    match c {
        '\n' | '\t' => !free_text,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

fn looks_like_markup(value: &str) -> bool {
    if value.contains("{{") || value.contains("}}") {
        return true;
    }
    value
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?')))
}

/// The respondent's choice about the defence period (答辩期) in the confirmation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefencePeriod {
    Waived,
    ShortenedToDays(u32),
}

/// The `defence_period` field of the confirmation: both options printed, the chosen one
/// ticked, as on the paper form.
pub fn defence_period_text(choice: DefencePeriod) -> String {
    match choice {
        DefencePeriod::Waived => "■ 放弃答辩期　　□ 答辩期缩短为＿＿日".to_string(),
        DefencePeriod::ShortenedToDays(n) => format!("□ 放弃答辩期　　■ 答辩期缩短为 {n} 日"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confirmation() -> Template {
        Templates::load(None)
            .unwrap()
            .get(DocKind::Confirmation)
            .clone()
    }

    fn complete_fields(t: &Template) -> Fields {
        t.field_names()
            .into_iter()
            .map(|n| (n.clone(), format!("值{n}")))
            .collect()
    }

    #[test]
    fn kinds_round_trip_and_match_embedded_titles() {
        let all = Templates::load(None).unwrap();
        for kind in DocKind::all() {
            assert_eq!(DocKind::parse(kind.as_str()), Some(kind));
            let t = all.get(kind);
            assert_eq!(t.kind, kind);
            assert_eq!(t.title, kind.title_zh());
            assert_eq!(t.sha256_hex.len(), 64);
            assert_eq!(t.source, TemplateSource::Embedded);
            assert!(t.field_names().contains(&"case_number".to_string()));
        }
        assert_eq!(DocKind::parse("nope"), None);
        let json = serde_json::to_string(&DocKind::MediationAgreement).unwrap();
        assert_eq!(json, "\"mediation_agreement\"");
    }

    #[test]
    fn slots_per_kind() {
        let all = Templates::load(None).unwrap();
        let ids = |k| -> Vec<String> { all.get(k).slots.iter().map(|s| s.id.clone()).collect() };
        assert_eq!(ids(DocKind::Confirmation), ["applicant", "respondent"]);
        assert_eq!(
            ids(DocKind::MediationAgreement),
            ["applicant", "respondent", "mediator", "seal"]
        );
        assert_eq!(ids(DocKind::WithdrawalClaim), ["applicant"]);
        assert_eq!(ids(DocKind::WithdrawalCounterclaim), ["respondent"]);
        assert_eq!(
            ids(DocKind::Transcript),
            ["applicant", "respondent", "arbitrator", "clerk"]
        );
    }

    #[test]
    fn complete_fields_pass() {
        let t = confirmation();
        assert_eq!(validate_fields(&t, &complete_fields(&t)), Ok(()));
    }

    #[test]
    fn missing_field_is_named() {
        let t = confirmation();
        let mut f = complete_fields(&t);
        f.remove("respondent_name");
        assert_eq!(
            validate_fields(&t, &f),
            Err(FieldError::Missing("respondent_name".into()))
        );
        f.insert("respondent_name".into(), "  ".into());
        assert_eq!(
            validate_fields(&t, &f),
            Err(FieldError::Missing("respondent_name".into()))
        );
    }

    #[test]
    fn optional_field_may_be_empty() {
        let all = Templates::load(None).unwrap();
        let t = all.get(DocKind::MediationAgreement);
        let mut f = complete_fields(t);
        f.remove("applicant_agent");
        f.insert("respondent_agent".into(), String::new());
        assert_eq!(validate_fields(t, &f), Ok(()));
        assert!(only_empty_optionals(
            t,
            "委托代理人：{{applicant_agent}}",
            &f
        ));
        assert!(!only_empty_optionals(t, "申请人：{{applicant_name}}", &f));
    }

    #[test]
    fn control_characters_are_refused() {
        let t = confirmation();
        for bad in [
            "a\u{0}b",
            "a\rb",
            "a\u{1b}[31m",
            "a\u{85}",
            "a\u{202e}cba",
            "x\u{2067}",
        ] {
            let mut f = complete_fields(&t);
            f.insert("applicant_name".into(), bad.into());
            assert_eq!(
                validate_fields(&t, &f),
                Err(FieldError::ControlCharacter("applicant_name".into())),
                "{bad:?}"
            );
        }
        // Newline and tab only in free text.
        let mut f = complete_fields(&t);
        f.insert("applicant_name".into(), "张三\n李四".into());
        assert!(matches!(
            validate_fields(&t, &f),
            Err(FieldError::ControlCharacter(_))
        ));
        let all = Templates::load(None).unwrap();
        let tr = all.get(DocKind::Transcript);
        let mut f = complete_fields(tr);
        f.insert(
            "transcript_text".into(),
            "仲裁员：现在开庭。\n\t申请人：到。".into(),
        );
        assert_eq!(validate_fields(tr, &f), Ok(()));
    }

    #[test]
    fn markup_is_refused() {
        let t = confirmation();
        for bad in [
            "<script>alert(1)</script>",
            "a</b>",
            "<!-- x -->",
            "{{case_number}}",
            "x}}",
        ] {
            let mut f = complete_fields(&t);
            f.insert("applicant_name".into(), bad.into());
            let err = validate_fields(&t, &f).unwrap_err();
            assert_eq!(err, FieldError::Markup("applicant_name".into()), "{bad:?}");
            assert!(err.to_string().contains("applicant_name"));
        }
        let mut f = complete_fields(&t);
        f.insert("applicant_name".into(), "月薪<5000元 且 a < b".into());
        assert_eq!(validate_fields(&t, &f), Ok(()));
    }

    #[test]
    fn length_limits_depend_on_free_text() {
        let t = confirmation();
        let mut f = complete_fields(&t);
        f.insert("applicant_name".into(), "张".repeat(MAX_LINE_CHARS));
        assert_eq!(validate_fields(&t, &f), Ok(()));
        f.insert("applicant_name".into(), "张".repeat(MAX_LINE_CHARS + 1));
        assert_eq!(
            validate_fields(&t, &f),
            Err(FieldError::TooLong("applicant_name".into(), MAX_LINE_CHARS))
        );
        let all = Templates::load(None).unwrap();
        let tr = all.get(DocKind::Transcript);
        let mut f = complete_fields(tr);
        f.insert("transcript_text".into(), "记".repeat(MAX_FREE_TEXT_CHARS));
        assert_eq!(validate_fields(tr, &f), Ok(()));
        f.insert(
            "transcript_text".into(),
            "记".repeat(MAX_FREE_TEXT_CHARS + 1),
        );
        assert_eq!(
            validate_fields(tr, &f),
            Err(FieldError::TooLong(
                "transcript_text".into(),
                MAX_FREE_TEXT_CHARS
            ))
        );
    }

    #[test]
    fn unknown_field_is_refused() {
        let t = confirmation();
        let mut f = complete_fields(&t);
        f.insert("agreed_terms".into(), "x".into());
        let err = validate_fields(&t, &f).unwrap_err();
        assert_eq!(err, FieldError::Unknown("agreed_terms".into()));
        let msg = err.to_string();
        assert!(
            msg.contains(" / ") && msg.contains("unknown field"),
            "{msg}"
        );
    }

    #[test]
    fn placeholders_parse_and_fill_once() {
        let pieces = parse_placeholders("案号：{{case_number}}（{{x_1}}）").unwrap();
        assert_eq!(
            pieces,
            [
                Piece::Lit("案号："),
                Piece::Field("case_number"),
                Piece::Lit("（"),
                Piece::Field("x_1"),
                Piece::Lit("）"),
            ]
        );
        assert!(parse_placeholders("{{open").is_err());
        assert!(parse_placeholders("a}}b").is_err());
        assert!(parse_placeholders("{{Bad}}").is_err());
        let mut f = Fields::new();
        f.insert("a".into(), "{{b}}".into());
        f.insert("b".into(), "no".into());
        assert_eq!(fill("[{{a}}]", &f), "[{{b}}]");
    }

    #[test]
    fn override_dir_replaces_one_kind_and_changes_hash() {
        let dir = tempfile::tempdir().unwrap();
        let base = Templates::load(None).unwrap();
        let text = DocKind::WithdrawalClaim
            .embedded_source()
            .replace("本申请书以电子签名方式签署", "本申请书经电子签名");
        std::fs::write(dir.path().join("withdrawal_claim.toml"), &text).unwrap();
        let over = Templates::load(Some(dir.path())).unwrap();
        let t = over.get(DocKind::WithdrawalClaim);
        assert!(matches!(t.source, TemplateSource::Override(_)));
        assert_ne!(t.sha256_hex, base.get(DocKind::WithdrawalClaim).sha256_hex);
        assert_eq!(
            over.get(DocKind::Transcript).sha256_hex,
            base.get(DocKind::Transcript).sha256_hex
        );
    }

    #[test]
    fn broken_override_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let bad = DocKind::Transcript
            .embedded_source()
            .replace("id = \"clerk\"", "id = \"janitor\"");
        std::fs::write(dir.path().join("transcript.toml"), bad).unwrap();
        let err = Templates::load(Some(dir.path())).unwrap_err();
        assert!(format!("{err:#}").contains("janitor"), "{err:#}");
        std::fs::write(
            dir.path().join("transcript.toml"),
            "kind = \"confirmation\"",
        )
        .unwrap();
        assert!(Templates::load(Some(dir.path())).is_err());
    }

    #[test]
    fn defence_period_text_marks_the_choice() {
        assert!(defence_period_text(DefencePeriod::Waived).starts_with("■ 放弃"));
        assert!(
            defence_period_text(DefencePeriod::ShortenedToDays(3)).contains("■ 答辩期缩短为 3 日")
        );
    }
}
