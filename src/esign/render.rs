//! Turns a template and a case's fields into the PDF a signer is shown and signs.
//!
//! The PDF is the thing signed, so three properties matter more than looks:
//! - **Deterministic bytes.** The same template and fields give the same SHA-256 (no
//!   timestamps, no random ids), so a document version can be re-rendered and compared.
//! - **Plain structure.** PDF 1.7 with a classic cross-reference table and no encryption:
//!   the PAdES step appends each signature as an incremental update after reading the file
//!   with lopdf.
//! - **Known signature places.** Layout reports where each signer's reserved rectangle
//!   is, in PDF user space, so the handwritten image can be placed exactly there later.
//!
//! Text is laid out here rather than by krilla's shaper: Chinese text needs no shaping,
//! and measuring and drawing with the same advances (read from the font with `ab_glyph`)
//! keeps line widths, justification and the reported rectangles exact. The certificate
//! of completion (`completion`) reuses this layout.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ab_glyph::Font as _;
use anyhow::{Context, anyhow, bail};
use krilla::Document;
use krilla::SerializeSettings;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke, StrokeDash};
use krilla::text::{GlyphId, KrillaGlyph};

use super::templates::{
    Block, FieldError, Fields, SlotSpec, Template, fill, only_empty_optionals, validate_fields,
};

/// A4 in points.
pub const PAGE_WIDTH: f32 = 595.276;
pub const PAGE_HEIGHT: f32 = 841.89;
const MM: f32 = 72.0 / 25.4;
const MARGIN_X: f32 = 25.0 * MM;
const MARGIN_TOP: f32 = 25.0 * MM;
const MARGIN_BOTTOM: f32 = 28.0 * MM;
const FOOTER_RULE_Y: f32 = PAGE_HEIGHT - 21.0 * MM;
/// The reserved signature rectangle.
pub const SLOT_WIDTH: f32 = 60.0 * MM;
pub const SLOT_HEIGHT: f32 = 22.0 * MM;
/// The seal's rectangle: a commission seal is a 42 mm circle.
pub const SEAL_SIZE: f32 = 42.0 * MM;

const BODY_SIZE: f32 = 12.0;
const LEADING: f32 = 1.75;
const EPS: f32 = 1e-3;

// ---------------------------------------------------------------------------------------
// Fonts

/// The CJK font the documents are set in: Noto Sans CJK SC by default (Debian's
/// `fonts-noto-cjk`). Loaded once and shared by every render.
pub struct FontSource {
    pub path: PathBuf,
    /// Face chosen inside a collection (TTC): the Simplified Chinese one.
    pub index: u32,
    pub face_name: String,
    /// The bold companion (`…-Bold.ttc` next to a `…-Regular.ttc`), used for titles.
    pub bold_path: Option<PathBuf>,
    regular: Face,
    bold: Option<Face>,
}

struct Face {
    data: Arc<Vec<u8>>,
    index: u32,
    pdf: krilla::text::Font,
}

impl FontSource {
    pub fn default_path() -> PathBuf {
        PathBuf::from("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
    }

    /// Loads the font at `path` (a TTC's Simplified Chinese face is picked by name) and,
    /// when present, its bold companion.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let (regular, face_name) =
            Face::load(path).with_context(|| format!("font {}", path.display()))?;
        let bold_path = bold_sibling(path);
        let bold = match &bold_path {
            Some(p) => Some(
                Face::load(p)
                    .with_context(|| format!("font {}", p.display()))?
                    .0,
            ),
            None => None,
        };
        Ok(FontSource {
            path: path.to_path_buf(),
            index: regular.index,
            face_name,
            bold_path,
            regular,
            bold,
        })
    }

    fn bold_face(&self) -> &Face {
        self.bold.as_ref().unwrap_or(&self.regular)
    }
}

fn bold_sibling(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    if !name.contains("Regular") {
        return None;
    }
    let sibling = path.with_file_name(name.replace("Regular", "Bold"));
    sibling.is_file().then_some(sibling)
}

impl Face {
    fn load(path: &Path) -> anyhow::Result<(Self, String)> {
        let data = Arc::new(std::fs::read(path)?);
        let (index, name) = choose_face(&data)?;
        let metrics = Metrics::new(&data, index)?;
        if ['中', '文', '，']
            .iter()
            .any(|c| metrics.glyph(*c).is_none())
        {
            bail!("face {index} ({name}) has no Chinese glyphs");
        }
        let pdf = krilla::text::Font::new(krilla::Data::from(data.clone()), index)
            .ok_or_else(|| anyhow!("krilla cannot read face {index}"))?;
        Ok((Face { data, index, pdf }, name))
    }
}

/// Picks the Simplified Chinese face of a collection: "Noto Sans CJK SC" first, else any
/// face named "… SC", else the first face.
fn choose_face(data: &[u8]) -> anyhow::Result<(u32, String)> {
    let names: Vec<String> = face_offsets(data)
        .ok_or_else(|| anyhow!("not an OpenType font or collection"))?
        .into_iter()
        .map(|off| face_name(data, off).unwrap_or_default())
        .collect();
    let pick = names
        .iter()
        .position(|n| n.contains("Sans CJK SC"))
        .or_else(|| {
            names
                .iter()
                .position(|n| n.ends_with(" SC") || n.contains(" SC "))
        })
        .unwrap_or(0);
    Ok((pick as u32, names[pick].clone()))
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

/// Offsets of each face's table directory.
fn face_offsets(data: &[u8]) -> Option<Vec<usize>> {
    if data.get(..4)? != b"ttcf" {
        return Some(vec![0]);
    }
    let count = be32(data, 8)? as usize;
    (0..count.min(64))
        .map(|i| be32(data, 12 + 4 * i).map(|o| o as usize))
        .collect()
}

/// The face's full name (name id 4), from the Windows English or Mac Roman record.
fn face_name(data: &[u8], face: usize) -> Option<String> {
    let tables = be16(data, face + 4)? as usize;
    let table = (0..tables)
        .map(|i| face + 12 + 16 * i)
        .find(|rec| data.get(*rec..rec + 4) == Some(b"name"))?;
    let name = be32(data, table + 8)? as usize;
    let count = be16(data, name + 2)? as usize;
    let strings = name + be16(data, name + 4)? as usize;
    (0..count).find_map(|i| {
        let rec = name + 6 + 12 * i;
        let (platform, lang, id) = (be16(data, rec)?, be16(data, rec + 4)?, be16(data, rec + 6)?);
        let (len, off) = (
            be16(data, rec + 8)? as usize,
            be16(data, rec + 10)? as usize,
        );
        let bytes = data.get(strings + off..strings + off + len)?;
        match (platform, lang, id) {
            (3, 0x409, 4) => {
                let units: Vec<u16> = bytes
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16(&units).ok()
            }
            (1, 0, 4) => Some(bytes.iter().map(|b| *b as char).collect()),
            _ => None,
        }
    })
}

/// Glyph ids and advances (in em) of one face.
struct Metrics<'a> {
    font: ab_glyph::FontRef<'a>,
    upem: f32,
}

impl<'a> Metrics<'a> {
    fn new(data: &'a [u8], index: u32) -> anyhow::Result<Self> {
        let font = ab_glyph::FontRef::try_from_slice_and_index(data, index)
            .map_err(|e| anyhow!("font face {index}: {e}"))?;
        let upem = font.units_per_em().unwrap_or(1000.0);
        Ok(Metrics { font, upem })
    }

    fn glyph(&self, c: char) -> Option<(u16, f32)> {
        let id = self.font.glyph_id(c);
        (id.0 != 0).then(|| (id.0, self.font.h_advance_unscaled(id) / self.upem))
    }

    fn notdef(&self) -> (u16, f32) {
        (
            0,
            self.font.h_advance_unscaled(ab_glyph::GlyphId(0)) / self.upem,
        )
    }
}

/// Characters drawn as nothing: zero-width and variation selectors.
fn is_ignorable(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{fe00}'..='\u{fe0f}')
        || ('\u{e0100}'..='\u{e01ef}').contains(&c)
}

// ---------------------------------------------------------------------------------------
// Line breaking

#[derive(Clone, Copy, Debug)]
struct Cell {
    ch: char,
    gid: u16,
    adv: f32,
}

/// An unbreakable run of cells: one ideograph, a Latin word, a space, or any of these
/// glued to the punctuation that may not be separated from it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Group {
    start: usize,
    end: usize,
    width: f32,
    space: bool,
}

/// One line's cells, its natural width (em) and where justification may add space
/// (after these cell indices).
#[derive(Clone, Debug, Default, PartialEq)]
struct LineSpan {
    start: usize,
    end: usize,
    width: f32,
    gaps: Vec<usize>,
}

/// Closing punctuation: may not start a line.
fn no_line_start(c: char) -> bool {
    "，。、；：？！）》」』】〕〉”’…—·％,.;:?!)]}%'\"～".contains(c)
}

/// Opening punctuation: may not end a line.
fn no_line_end(c: char) -> bool {
    "（《「『【〔〈“‘([{".contains(c)
}

fn is_word_char(c: char) -> bool {
    (c.is_ascii_graphic() && !matches!(c, '(' | '[' | '{'))
        || (c.is_alphabetic() && (c as u32) < 0x2e80)
}

fn groups(cells: &[Cell]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    let mut glue_next = false;
    let mut i = 0;
    while i < cells.len() {
        let space = cells[i].ch == ' ';
        let mut end = i + 1;
        if is_word_char(cells[i].ch) {
            while end < cells.len() && is_word_char(cells[end].ch) {
                end += 1;
            }
        }
        let width: f32 = cells[i..end].iter().map(|c| c.adv).sum();
        let glue = !space
            && (glue_next || no_line_start(cells[i].ch))
            && out.last().is_some_and(|g| !g.space);
        match out.last_mut() {
            Some(last) if glue => {
                last.end = end;
                last.width += width;
            }
            _ => out.push(Group {
                start: i,
                end,
                width,
                space,
            }),
        }
        glue_next = !space && no_line_end(cells[end - 1].ch);
        i = end;
    }
    out
}

impl LineSpan {
    fn is_empty(&self) -> bool {
        self.start == self.end
    }

    fn push(&mut self, range: Range<usize>, width: f32) {
        if self.is_empty() {
            self.start = range.start;
        } else {
            self.gaps.push(self.end - 1);
        }
        self.end = range.end;
        self.width += width;
    }

    fn trimmed(mut self, cells: &[Cell]) -> Self {
        while self.end > self.start && cells[self.end - 1].ch == ' ' {
            self.end -= 1;
            self.width -= cells[self.end].adv;
        }
        let end = self.end;
        self.gaps.retain(|g| *g + 1 < end);
        self
    }
}

/// Greedy line breaking; `first` and `rest` are the available widths in em.
fn wrap(cells: &[Cell], first: f32, rest: f32) -> Vec<LineSpan> {
    let mut lines = Vec::new();
    let mut cur = LineSpan::default();
    for g in groups(cells) {
        if g.space && cur.is_empty() {
            continue;
        }
        let avail = if lines.is_empty() { first } else { rest };
        if !g.space && !cur.is_empty() && cur.width + g.width > avail + EPS {
            lines.push(std::mem::take(&mut cur).trimmed(cells));
        }
        let avail = if lines.is_empty() { first } else { rest };
        if g.space || g.width <= avail + EPS {
            cur.push(g.start..g.end, g.width);
            continue;
        }
        // Wider than a whole line (a long number or URL): break between characters.
        for i in g.start..g.end {
            let avail = if lines.is_empty() { first } else { rest };
            if !cur.is_empty() && cur.width + cells[i].adv > avail + EPS {
                lines.push(std::mem::take(&mut cur).trimmed(cells));
            }
            let gaps = cur.gaps.len();
            cur.push(i..i + 1, cells[i].adv);
            if i > g.start {
                // No justification space inside the word.
                cur.gaps.truncate(gaps);
            }
        }
    }
    if !cur.is_empty() {
        lines.push(cur.trimmed(cells));
    }
    lines
}

// ---------------------------------------------------------------------------------------
// Layout

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
    Justify,
}

/// How continuation lines are indented.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Hang {
    None,
    /// Under the text after a "标签：" label that ends within this many em.
    AfterLabel(f32),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    pub size: f32,
    pub bold: bool,
    pub gray: u8,
    pub align: Align,
    /// First-line indent, em.
    pub indent: f32,
    pub hang: Hang,
    pub leading: f32,
}

impl Style {
    pub(crate) fn body() -> Self {
        Style {
            size: BODY_SIZE,
            bold: false,
            gray: 0,
            align: Align::Justify,
            indent: 0.0,
            hang: Hang::None,
            leading: LEADING,
        }
    }

    pub(crate) fn paragraph() -> Self {
        Style {
            indent: 2.0,
            ..Style::body()
        }
    }

    pub(crate) fn field() -> Self {
        Style {
            hang: Hang::AfterLabel(10.0),
            ..Style::body()
        }
    }

    pub(crate) fn centered(size: f32, bold: bool) -> Self {
        Style {
            size,
            bold,
            align: Align::Center,
            leading: 1.5,
            ..Style::body()
        }
    }

    pub(crate) fn heading() -> Self {
        Style {
            bold: true,
            align: Align::Left,
            ..Style::body()
        }
    }

    pub(crate) fn with_size(self, size: f32) -> Self {
        Style { size, ..self }
    }

    fn line_height(&self) -> f32 {
        self.size * self.leading
    }
}

/// One drawing instruction; y grows downwards from the page's top edge.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        bold: bool,
        gray: u8,
        text: String,
        glyphs: Vec<KrillaGlyph>,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
        gray: u8,
    },
    Rect {
        rect: [f32; 4],
        gray: u8,
        dashed: bool,
    },
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Page {
    pub ops: Vec<Op>,
    /// The page's text, one laid-out line per line.
    pub text: String,
}

/// A line ready to place: its text, glyphs with final advances, width and indent (pt).
struct ShapedLine {
    text: String,
    glyphs: Vec<KrillaGlyph>,
    width: f32,
    indent: f32,
}

/// Flows text blocks onto A4 pages.
pub(crate) struct Layout<'a> {
    regular: Metrics<'a>,
    bold: Metrics<'a>,
    footer_title: String,
    pages: Vec<Page>,
    y: f32,
    /// Characters the font could not draw (shown as the missing-glyph box).
    pub missing: BTreeSet<char>,
}

/// Where a signature slot ended up.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SignatureSlot {
    pub id: String,
    pub label: String,
    /// 0-based page index.
    pub page: usize,
    /// PDF user space points, x0 y0 x1 y1, origin bottom-left.
    pub rect: [f32; 4],
}

impl<'a> Layout<'a> {
    pub(crate) fn new(fonts: &'a FontSource, footer_title: &str) -> anyhow::Result<Self> {
        let regular = Metrics::new(&fonts.regular.data, fonts.regular.index)?;
        let bold_face = fonts.bold_face();
        let bold = Metrics::new(&bold_face.data, bold_face.index)?;
        Ok(Layout {
            regular,
            bold,
            footer_title: footer_title.to_string(),
            pages: vec![Page::default()],
            y: MARGIN_TOP,
            missing: BTreeSet::new(),
        })
    }

    pub(crate) fn text_width() -> f32 {
        PAGE_WIDTH - 2.0 * MARGIN_X
    }

    fn page_index(&self) -> usize {
        self.pages.len() - 1
    }

    fn at_page_top(&self) -> bool {
        self.y <= MARGIN_TOP + EPS
    }

    fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = MARGIN_TOP;
    }

    /// Starts a new page unless `height` more points fit on this one.
    pub(crate) fn keep(&mut self, height: f32) {
        if self.y + height > PAGE_HEIGHT - MARGIN_BOTTOM + EPS && !self.at_page_top() {
            self.new_page();
        }
    }

    /// Vertical space; dropped at the top of a page.
    pub(crate) fn space(&mut self, points: f32) {
        if self.at_page_top() {
            return;
        }
        self.y += points;
        if self.y > PAGE_HEIGHT - MARGIN_BOTTOM {
            self.new_page();
        }
    }

    /// A thin horizontal rule across the text width.
    pub(crate) fn rule(&mut self) {
        self.keep(8.0);
        let y = self.y + 4.0;
        self.op(Op::Line {
            from: (MARGIN_X, y),
            to: (PAGE_WIDTH - MARGIN_X, y),
            width: 0.5,
            gray: 160,
        });
        self.y += 8.0;
    }

    fn op(&mut self, op: Op) {
        let i = self.page_index();
        self.pages[i].ops.push(op);
    }

    /// Lays out `text` (several paragraphs if it holds newlines) across the text width.
    pub(crate) fn paragraph(&mut self, text: &str, style: &Style) {
        for (i, para) in text.split('\n').enumerate() {
            if i > 0 && para.trim().is_empty() {
                self.space(style.line_height() / 2.0);
                continue;
            }
            for line in self.shape(para, style, Self::text_width()) {
                self.keep(style.line_height());
                self.place(line, style, MARGIN_X, Self::text_width());
                self.y += style.line_height();
            }
        }
    }

    /// A heading kept on the same page as the first two lines that follow it.
    pub(crate) fn heading(&mut self, text: &str, style: &Style) {
        self.keep(style.line_height() + 2.0 * Style::body().line_height());
        self.paragraph(text, style);
    }

    fn place(&mut self, line: ShapedLine, style: &Style, left: f32, width: f32) {
        let x = match style.align {
            Align::Center => left + (width - line.width) / 2.0,
            Align::Right => left + width - line.width,
            Align::Left | Align::Justify => left + line.indent,
        };
        let baseline = self.y + style.size * (style.leading - 1.0) / 2.0 + style.size * 0.88;
        let page = self.page_index();
        self.pages[page].text.push_str(&line.text);
        self.pages[page].text.push('\n');
        self.op(Op::Text {
            x,
            baseline,
            size: style.size,
            bold: style.bold,
            gray: style.gray,
            text: line.text,
            glyphs: line.glyphs,
        });
    }

    /// Looks up each character's glyph; a tab becomes two ideographic spaces.
    fn cells(&mut self, text: &str, bold: bool) -> Vec<Cell> {
        let mut cells = Vec::with_capacity(text.len());
        for ch in text.chars().filter(|c| !is_ignorable(*c)) {
            let (ch, count) = if ch == '\t' { ('\u{3000}', 2) } else { (ch, 1) };
            let m = if bold { &self.bold } else { &self.regular };
            let (gid, adv) = m.glyph(ch).unwrap_or_else(|| {
                self.missing.insert(ch);
                m.notdef()
            });
            cells.extend(std::iter::repeat_n(Cell { ch, gid, adv }, count));
        }
        cells
    }

    /// Breaks one paragraph into lines of at most `width` points.
    fn shape(&mut self, text: &str, style: &Style, width: f32) -> Vec<ShapedLine> {
        let cells = self.cells(text, style.bold);
        let em = style.size;
        let first = style.indent;
        let hang = match style.hang {
            Hang::None => 0.0,
            Hang::AfterLabel(max) => label_width(&cells, max),
        };
        let spans = wrap(&cells, width / em - first, width / em - hang);
        let last = spans.len().saturating_sub(1);
        spans
            .into_iter()
            .enumerate()
            .map(|(i, span)| {
                let indent = if i == 0 { first } else { hang };
                let justify = style.align == Align::Justify && i < last;
                let target = width / em - indent;
                glyph_line(&cells, &span, justify.then_some(target), indent * em, em)
            })
            .collect()
    }

    /// Lays out signature slots two to a row, each a label over a reserved rectangle with
    /// a signature line along its bottom. A row never splits across pages.
    pub(crate) fn signature_slots(&mut self, slots: &[SlotSpec]) -> Vec<SignatureSlot> {
        let label_style = Style {
            align: Align::Left,
            ..Style::body()
        };
        let column = Self::text_width() / 2.0;
        let mut placed = Vec::new();
        self.space(BODY_SIZE);
        for row in slots.chunks(2) {
            let rect_h = row.iter().map(|s| slot_size(s).1).fold(0.0_f32, f32::max);
            self.keep(label_style.line_height() + 4.0 + rect_h + BODY_SIZE);
            let top = self.y;
            let mut bottom = top;
            // A lone signer (a withdrawal letter) signs on the right, as on paper.
            let first_column = if row.len() == 1 { 1 } else { 0 };
            for (i, slot) in row.iter().enumerate() {
                self.y = top;
                let left = MARGIN_X + column * (first_column + i) as f32;
                placed.push(self.slot(slot, left, column, &label_style));
                bottom = bottom.max(self.y);
            }
            self.y = bottom + BODY_SIZE;
        }
        placed
    }

    /// One slot at the cursor; leaves the cursor under its rectangle.
    fn slot(&mut self, slot: &SlotSpec, left: f32, column: f32, style: &Style) -> SignatureSlot {
        for line in self.shape(&slot.label, style, column - BODY_SIZE) {
            self.place(line, style, left, column);
            self.y += style.line_height();
        }
        let (w, h) = slot_size(slot);
        let top = self.y + 4.0;
        self.op(Op::Rect {
            rect: [left, top, left + w, top + h],
            gray: 185,
            dashed: true,
        });
        self.op(Op::Line {
            from: (left, top + h),
            to: (left + w, top + h),
            width: 0.8,
            gray: 40,
        });
        self.y = top + h;
        SignatureSlot {
            id: slot.id.clone(),
            label: slot.label.clone(),
            page: self.page_index(),
            rect: [left, PAGE_HEIGHT - (top + h), left + w, PAGE_HEIGHT - top],
        }
    }

    /// Adds each page's footer (rule, document title, "第 n 页 共 m 页") and returns the
    /// pages.
    pub(crate) fn finish(mut self) -> Vec<Page> {
        let total = self.pages.len();
        let style = Style {
            size: 9.0,
            gray: 90,
            align: Align::Left,
            ..Style::body()
        };
        let title = self.footer_title.clone();
        let width = Self::text_width();
        for n in 0..total {
            let left = self.shape(&title, &style, width * 0.7);
            let right = self.shape(&format!("第 {} 页 共 {total} 页", n + 1), &style, width);
            let baseline = FOOTER_RULE_Y + 13.0;
            let page = &mut self.pages[n];
            page.ops.push(Op::Line {
                from: (MARGIN_X, FOOTER_RULE_Y),
                to: (PAGE_WIDTH - MARGIN_X, FOOTER_RULE_Y),
                width: 0.5,
                gray: 150,
            });
            for (line, x) in [
                (left.into_iter().next(), Some(MARGIN_X)),
                (right.into_iter().next(), None),
            ] {
                let Some(line) = line else { continue };
                let x = x.unwrap_or(PAGE_WIDTH - MARGIN_X - line.width);
                page.text.push_str(&line.text);
                page.text.push('\n');
                page.ops.push(Op::Text {
                    x,
                    baseline,
                    size: style.size,
                    bold: false,
                    gray: style.gray,
                    text: line.text,
                    glyphs: line.glyphs,
                });
            }
        }
        self.pages
    }
}

fn slot_size(slot: &SlotSpec) -> (f32, f32) {
    if slot.id == "seal" {
        (SEAL_SIZE, SEAL_SIZE)
    } else {
        (SLOT_WIDTH, SLOT_HEIGHT)
    }
}

/// Width (em) up to and including a leading "标签：" that ends within `max` em, else 0.
fn label_width(cells: &[Cell], max: f32) -> f32 {
    let mut width = 0.0;
    for (i, c) in cells.iter().enumerate() {
        width += c.adv;
        if width > max {
            return 0.0;
        }
        if matches!(c.ch, '：' | ':') {
            // A label with nothing after it has nothing to hang.
            return if i + 1 < cells.len() { width } else { 0.0 };
        }
    }
    0.0
}

/// Turns a span into positioned glyphs; with `justify`, spreads the line to that width
/// (em) over its break opportunities, unless that would open gaps wider than 0.35 em.
fn glyph_line(
    cells: &[Cell],
    span: &LineSpan,
    justify: Option<f32>,
    indent: f32,
    em: f32,
) -> ShapedLine {
    let extra = match justify {
        Some(target) if !span.gaps.is_empty() && target > span.width => {
            let per = (target - span.width) / span.gaps.len() as f32;
            if per <= 0.35 { per } else { 0.0 }
        }
        _ => 0.0,
    };
    let mut text = String::new();
    let mut glyphs = Vec::with_capacity(span.end - span.start);
    let mut width = 0.0;
    for (i, cell) in cells.iter().enumerate().take(span.end).skip(span.start) {
        let start = text.len();
        text.push(cell.ch);
        let adv = cell.adv + if span.gaps.contains(&i) { extra } else { 0.0 };
        width += adv;
        glyphs.push(KrillaGlyph::new(
            GlyphId::new(cell.gid as u32),
            adv,
            0.0,
            0.0,
            0.0,
            start..text.len(),
            None,
        ));
    }
    ShapedLine {
        text,
        glyphs,
        width: width * em,
        indent,
    }
}

// ---------------------------------------------------------------------------------------
// PDF output

/// Writes laid-out pages as a PDF 1.7 file with the font subset embedded.
pub(crate) fn write_pdf(
    pages: &[Page],
    fonts: &FontSource,
    title: &str,
) -> anyhow::Result<Vec<u8>> {
    let settings = SerializeSettings {
        enable_tagging: false,
        ..SerializeSettings::default()
    };
    let mut doc = Document::new_with(settings);
    doc.set_metadata(
        Metadata::new()
            .title(title.to_string())
            .language("zh-CN".to_string())
            .creator("Yunting".to_string()),
    );
    for page in pages {
        let settings =
            PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).ok_or_else(|| anyhow!("page size"))?;
        let mut pdf_page = doc.start_page_with(settings);
        let mut surface = pdf_page.surface();
        for op in &page.ops {
            draw(&mut surface, op, fonts);
        }
        surface.finish();
        pdf_page.finish();
    }
    doc.finish().map_err(|e| anyhow!("writing PDF: {e:?}"))
}

fn gray(level: u8) -> krilla::paint::Paint {
    rgb::Color::new(level, level, level).into()
}

fn draw(surface: &mut krilla::surface::Surface<'_>, op: &Op, fonts: &FontSource) {
    match op {
        Op::Text {
            x,
            baseline,
            size,
            bold,
            gray: g,
            text,
            glyphs,
        } => {
            let face = if *bold {
                fonts.bold_face()
            } else {
                &fonts.regular
            };
            surface.set_stroke(None);
            surface.set_fill(Some(Fill {
                paint: gray(*g),
                ..Fill::default()
            }));
            surface.draw_glyphs(
                Point::from_xy(*x, *baseline),
                glyphs,
                face.pdf.clone(),
                text,
                *size,
                false,
            );
        }
        Op::Line {
            from,
            to,
            width,
            gray: g,
        } => {
            let mut pb = PathBuilder::new();
            pb.move_to(from.0, from.1);
            pb.line_to(to.0, to.1);
            stroke(surface, pb, *width, *g, None);
        }
        Op::Rect {
            rect,
            gray: g,
            dashed,
        } => {
            let mut pb = PathBuilder::new();
            if let Some(r) = Rect::from_ltrb(rect[0], rect[1], rect[2], rect[3]) {
                pb.push_rect(r);
            }
            let dash = dashed.then(|| StrokeDash {
                array: vec![3.0, 2.0],
                offset: 0.0,
            });
            stroke(surface, pb, 0.6, *g, dash);
        }
    }
}

fn stroke(
    surface: &mut krilla::surface::Surface<'_>,
    pb: PathBuilder,
    width: f32,
    level: u8,
    dash: Option<StrokeDash>,
) {
    let Some(path) = pb.finish() else { return };
    surface.set_fill(None);
    surface.set_stroke(Some(Stroke {
        paint: gray(level),
        width,
        dash,
        ..Stroke::default()
    }));
    surface.draw_path(&path);
    surface.set_stroke(None);
}

// ---------------------------------------------------------------------------------------
// Documents

pub struct Rendered {
    pub pdf: Vec<u8>,
    pub sha256: [u8; 32],
    pub slots: Vec<SignatureSlot>,
    pub page_count: usize,
    /// The laid-out text, line by line, pages ending with a form feed (like `pdftotext`).
    pub text: String,
}

/// Renders a document. Fields are validated first; a `FieldError` comes back inside the
/// `anyhow::Error` (downcast it), including a character the font cannot show.
pub fn render(t: &Template, fields: &Fields, font: &FontSource) -> anyhow::Result<Rendered> {
    validate_fields(t, fields)?;
    check_glyphs(fields, font)?;
    let mut layout = Layout::new(font, &t.title)?;
    for block in &t.blocks {
        lay_block(&mut layout, t, block, fields);
    }
    let slots = layout.signature_slots(&t.slots);
    if let Some(c) = layout.missing.iter().next() {
        bail!(
            "template {} uses a character the font cannot show: {c:?}",
            t.kind.as_str()
        );
    }
    let pages = layout.finish();
    let pdf = write_pdf(&pages, font, &t.title)?;
    Ok(finish_rendered(pdf, slots, &pages))
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn finish_rendered(pdf: Vec<u8>, slots: Vec<SignatureSlot>, pages: &[Page]) -> Rendered {
    let text = pages.iter().map(|p| format!("{}\u{c}", p.text)).collect();
    Rendered {
        sha256: sha256(&pdf),
        pdf,
        slots,
        page_count: pages.len(),
        text,
    }
}

fn check_glyphs(fields: &Fields, font: &FontSource) -> anyhow::Result<()> {
    let metrics = Metrics::new(&font.regular.data, font.regular.index)?;
    for (name, value) in fields {
        let bad = value
            .chars()
            .filter(|c| !matches!(c, '\n' | '\t') && !is_ignorable(*c))
            .find(|c| metrics.glyph(*c).is_none());
        if let Some(c) = bad {
            return Err(FieldError::UnsupportedCharacter(name.clone(), c).into());
        }
    }
    Ok(())
}

fn lay_block(layout: &mut Layout<'_>, t: &Template, block: &Block, fields: &Fields) {
    match block {
        Block::Header(s) => layout.paragraph(&fill(s, fields), &Style::centered(15.0, false)),
        Block::Title(s) => {
            layout.paragraph(&fill(s, fields), &Style::centered(20.0, true));
            layout.space(8.0);
        }
        Block::Heading(s) => {
            layout.space(4.0);
            layout.heading(&fill(s, fields), &Style::heading());
        }
        Block::Paragraph(s) => layout.paragraph(&fill(s, fields), &Style::paragraph()),
        Block::Field(s) if only_empty_optionals(t, s, fields) => {}
        Block::Field(s) => layout.paragraph(&fill(s, fields), &Style::field()),
        Block::Text(s) => layout.paragraph(&fill(s, fields), &Style::field()),
        Block::Closing(s) => layout.paragraph(&fill(s, fields), &Style::paragraph()),
        Block::Date(s) => {
            let style = Style {
                align: Align::Right,
                ..Style::body()
            };
            layout.paragraph(&fill(s, fields), &style);
        }
        Block::Spacer(points) => layout.space(points.clamp(0.0, 200.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cells with advance 1 em for ideographs, 0.5 em otherwise.
    fn cells(s: &str) -> Vec<Cell> {
        s.chars()
            .map(|ch| Cell {
                ch,
                gid: 1,
                adv: if ch.is_ascii() { 0.5 } else { 1.0 },
            })
            .collect()
    }

    fn lines(s: &str, width: f32) -> Vec<String> {
        let c = cells(s);
        wrap(&c, width, width)
            .iter()
            .map(|l| c[l.start..l.end].iter().map(|c| c.ch).collect())
            .collect()
    }

    #[test]
    fn chinese_breaks_between_any_characters() {
        assert_eq!(
            lines("申请人与被申请人劳动争议", 5.0),
            ["申请人与被", "申请人劳动", "争议"]
        );
    }

    #[test]
    fn latin_words_stay_together() {
        assert_eq!(
            lines("公司名称ACME Ltd有限", 7.0),
            ["公司名称ACME", "Ltd有限"]
        );
    }

    #[test]
    fn closing_punctuation_never_starts_a_line() {
        // "。" would start line two; the character before it moves down with it.
        assert_eq!(lines("一二三四五。六", 5.0), ["一二三四", "五。六"]);
        assert_eq!(lines("一二三四（五）", 5.0), ["一二三四", "（五）"]);
    }

    #[test]
    fn over_long_words_break_between_letters() {
        let l = lines("哈希ab0123456789abcdef0123456789", 6.0);
        assert!(l.len() > 2);
        assert!(l.iter().all(|s| s.chars().count() <= 12), "{l:?}");
        assert_eq!(l.concat(), "哈希ab0123456789abcdef0123456789");
    }

    #[test]
    fn spaces_do_not_start_or_end_lines() {
        let l = lines("aaaa bbbb cccc", 3.0);
        assert_eq!(l, ["aaaa", "bbbb", "cccc"]);
    }

    #[test]
    fn label_hang_only_for_short_labels() {
        assert_eq!(label_width(&cells("申请人：张三"), 10.0), 4.0);
        assert_eq!(label_width(&cells("到庭人员："), 10.0), 0.0);
        assert_eq!(
            label_width(&cells("这是一句很长的话而不是标签的冒号：后面"), 10.0),
            0.0
        );
    }

    #[test]
    fn justified_lines_fill_the_width() {
        let c = cells("甲乙丙丁戊己庚");
        let spans = wrap(&c, 5.5, 5.5);
        let line = glyph_line(&c, &spans[0], Some(5.5), 0.0, 10.0);
        assert!((line.width - 55.0).abs() < 0.01, "{}", line.width);
        let last = glyph_line(&c, &spans[1], None, 0.0, 10.0);
        assert!((last.width - 20.0).abs() < 0.01);
    }

    #[test]
    fn face_selection_finds_simplified_chinese() {
        let path = FontSource::default_path();
        if !path.exists() {
            eprintln!(
                "skipped: {} missing (apt-get install fonts-noto-cjk)",
                path.display()
            );
            return;
        }
        let data = std::fs::read(&path).unwrap();
        let (index, name) = choose_face(&data).unwrap();
        assert_eq!(name, "Noto Sans CJK SC");
        assert_eq!(index, 2);
    }

    #[test]
    fn font_source_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FontSource>();
    }
}
