//! One signature as an incremental update (ISO 32000-1 §7.5.6): the previous bytes are
//! kept as they are and new or changed objects, a cross-reference section for just those
//! objects and a trailer with `/Prev` are appended. The section is a table or a stream, as
//! the previous revision's was.
//!
//! lopdf reads the existing structure (trailer, pages, AcroForm) and serializes each object;
//! the signature dictionary is framed here so that `/ByteRange` (fixed width, patched at the
//! end) and the zero-filled `/Contents` sit at known offsets.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, anyhow, bail, ensure};
use chrono::{DateTime, Utc};
use lopdf::xref::XrefType;
use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat, Writer};

use super::{SigFieldSpec, Visual, appearance};

/// `[0 a b c` padded with spaces to this width, then `]`.
const BYTE_RANGE_WIDTH: usize = 40;

/// The document as it is before the update.
pub(crate) struct Base<'a> {
    bytes: &'a [u8],
    doc: Document,
    root: ObjectId,
    xref_stream: bool,
    prev_startxref: usize,
    size: u32,
}

impl<'a> Base<'a> {
    pub(crate) fn read(bytes: &'a [u8]) -> anyhow::Result<Self> {
        let doc = Document::load_mem(bytes).map_err(|e| anyhow!("not a readable PDF: {e}"))?;
        ensure!(
            doc.xref_recovery.is_none(),
            "the PDF's cross-reference data is damaged"
        );
        ensure!(
            !doc.trailer.has(b"Encrypt") && doc.encryption_state.is_none(),
            "encrypted PDFs cannot be signed"
        );
        let root = doc
            .trailer
            .get(b"Root")
            .and_then(Object::as_reference)
            .map_err(|_| anyhow!("PDF without /Root"))?;
        let size = doc
            .trailer
            .get(b"Size")
            .and_then(Object::as_i64)
            .ok()
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(0)
            .max(doc.max_id + 1);
        let xref_stream = matches!(
            doc.reference_table.cross_reference_type,
            XrefType::CrossReferenceStream
        );
        let prev_startxref = last_startxref(bytes)?;
        Ok(Self {
            bytes,
            doc,
            root,
            xref_stream,
            prev_startxref,
            size,
        })
    }
}

/// The number after the last `startxref`.
fn last_startxref(bytes: &[u8]) -> anyhow::Result<usize> {
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    let pos = tail
        .windows(9)
        .rposition(|w| w == b"startxref")
        .ok_or_else(|| anyhow!("PDF without startxref"))?;
    let digits: String = tail[pos + 9..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| b as char)
        .collect();
    let n: usize = digits.parse().context("startxref")?;
    ensure!(n < bytes.len(), "startxref beyond the end of the file");
    Ok(n)
}

/// A PDF text string: PDFDocEncoding when plain ASCII, else UTF-16BE with a BOM.
pub(crate) fn text(s: &str) -> Object {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Object::String(s.as_bytes().to_vec(), StringFormat::Literal)
    } else {
        let mut out = vec![0xfe, 0xff];
        out.extend(s.encode_utf16().flat_map(u16::to_be_bytes));
        Object::String(out, StringFormat::Hexadecimal)
    }
}

fn name(n: &str) -> Object {
    Object::Name(n.as_bytes().to_vec())
}

/// `D:YYYYMMDDHHmmSS+00'00'`.
pub(crate) fn pdf_date(t: DateTime<Utc>) -> String {
    t.format("D:%Y%m%d%H%M%S+00'00'").to_string()
}

/// Field names (`/T`) of the top-level AcroForm fields.
fn field_names(doc: &Document, fields: &[Object]) -> Vec<String> {
    fields
        .iter()
        .filter_map(|f| {
            doc.dereference(f)
                .ok()?
                .1
                .as_dict()
                .ok()?
                .get(b"T")
                .ok()?
                .as_str()
                .ok()
        })
        .map(|t| {
            lopdf::decode_text_string(&Object::String(t.to_vec(), StringFormat::Literal))
                .unwrap_or_default()
        })
        .collect()
}

/// Follow one reference: (the object's id if it was a reference, the object).
fn resolve(doc: &Document, obj: &Object) -> anyhow::Result<(Option<ObjectId>, Object)> {
    match obj {
        Object::Reference(id) => Ok((
            Some(*id),
            doc.get_object(*id)
                .map_err(|e| anyhow!("object {id:?}: {e}"))?
                .clone(),
        )),
        other => Ok((None, other.clone())),
    }
}

/// Append `item` to an array held directly in `dict[key]` or in a referenced array object;
/// changed indirect objects go to `changed`.
fn append_to_array(
    doc: &Document,
    dict: &mut Dictionary,
    key: &[u8],
    item: Object,
    changed: &mut BTreeMap<ObjectId, Object>,
) -> anyhow::Result<()> {
    match dict.get(key).ok().cloned() {
        None | Some(Object::Null) => dict.set(key.to_vec(), Object::Array(vec![item])),
        Some(Object::Array(mut a)) => {
            a.push(item);
            dict.set(key.to_vec(), Object::Array(a));
        }
        Some(Object::Reference(id)) => {
            let mut a = changed
                .get(&id)
                .cloned()
                .map_or_else(|| doc.get_object(id).cloned(), Ok)
                .map_err(|e| anyhow!("{}: {e}", String::from_utf8_lossy(key)))?
                .as_array()
                .map_err(|_| anyhow!("/{} is not an array", String::from_utf8_lossy(key)))?
                .clone();
            a.push(item);
            changed.insert(id, Object::Array(a));
        }
        Some(_) => bail!("/{} is not an array", String::from_utf8_lossy(key)),
    }
    Ok(())
}

/// Append the signature field, its widget and appearance and a signature dictionary with a
/// `/Contents` placeholder of `contents_len` bytes. Returns the new file and its byte range.
pub(crate) fn append_signature(
    base: &Base<'_>,
    field: &SigFieldSpec,
    visual: &Visual<'_>,
    signing_time: DateTime<Utc>,
    contents_len: usize,
) -> anyhow::Result<(Vec<u8>, [usize; 4])> {
    let doc = &base.doc;
    ensure!(
        !field.field_name.is_empty() && !field.field_name.contains('.'),
        "field name must be non-empty without '.'"
    );
    let pages = doc.get_pages();
    let page_id = *pages
        .get(&(u32::try_from(field.page)? + 1))
        .ok_or_else(|| {
            anyhow!(
                "page {} does not exist (the document has {})",
                field.page,
                pages.len()
            )
        })?;

    let mut next = base.size;
    let mut alloc = || {
        let id = (next, 0u16);
        next += 1;
        id
    };
    let sig_id = alloc();
    let widget_id = alloc();
    let mut changed: BTreeMap<ObjectId, Object> = BTreeMap::new();

    // Appearance.
    let [x1, y1, x2, y2] = field.rect;
    let (w, h) = ((x2 - x1).abs(), (y2 - y1).abs());
    let visible = w >= 1.0 && h >= 1.0;
    let ap_id = match (visual, visible) {
        (Visual::Image(img), true) => {
            let (image_id, smask_id, ap) = (alloc(), alloc(), alloc());
            let (image, smask) = img.image_objects(smask_id)?;
            changed.insert(image_id, Object::Stream(image));
            if let Some(s) = smask {
                changed.insert(smask_id, Object::Stream(s));
            }
            changed.insert(
                ap,
                Object::Stream(appearance::image_form(w, h, img, image_id)),
            );
            Some(ap)
        }
        (Visual::Seal, true) => {
            let ap = alloc();
            changed.insert(ap, Object::Stream(appearance::seal_form(w, h)));
            Some(ap)
        }
        _ => None,
    };

    // The field merged with its widget annotation.
    let mut widget = Dictionary::new();
    widget.set("Type", name("Annot"));
    widget.set("Subtype", name("Widget"));
    widget.set("FT", name("Sig"));
    widget.set("T", text(&field.field_name));
    widget.set("V", Object::Reference(sig_id));
    widget.set("F", 132); // Print | Locked
    widget.set("P", Object::Reference(page_id));
    let rect = if visible {
        [x1.min(x2), y1.min(y2), x1.max(x2), y1.max(y2)]
    } else {
        [0.0; 4]
    };
    widget.set(
        "Rect",
        Object::Array(rect.iter().map(|&v| Object::Real(v)).collect()),
    );
    if let Some(ap) = ap_id {
        let mut apd = Dictionary::new();
        apd.set("N", Object::Reference(ap));
        widget.set("AP", apd);
    }
    changed.insert(widget_id, Object::Dictionary(widget));

    // The page lists the widget among its annotations.
    let mut page = doc
        .get_dictionary(page_id)
        .map_err(|e| anyhow!("page object: {e}"))?
        .clone();
    let annots_before = page.get(b"Annots").ok().cloned();
    append_to_array(
        doc,
        &mut page,
        b"Annots",
        Object::Reference(widget_id),
        &mut changed,
    )?;
    if page.get(b"Annots").ok() != annots_before.as_ref() {
        changed.insert(page_id, Object::Dictionary(page));
    }

    // The catalog's AcroForm lists the field; SigFlags 3 = SignaturesExist | AppendOnly.
    let mut catalog = doc
        .get_dictionary(base.root)
        .map_err(|e| anyhow!("catalog: {e}"))?
        .clone();
    let (form_id, form) = match catalog.get(b"AcroForm") {
        Ok(obj) => resolve(doc, obj)?,
        Err(_) => (None, Object::Dictionary(Dictionary::new())),
    };
    let mut form = form
        .as_dict()
        .map_err(|_| anyhow!("/AcroForm is not a dictionary"))?
        .clone();
    let existing = match form.get(b"Fields") {
        Ok(f) => resolve(doc, f)?.1.as_array().cloned().unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    if field_names(doc, &existing)
        .iter()
        .any(|n| n == &field.field_name)
    {
        bail!("a field named {:?} already exists", field.field_name);
    }
    append_to_array(
        doc,
        &mut form,
        b"Fields",
        Object::Reference(widget_id),
        &mut changed,
    )?;
    form.set("SigFlags", 3);
    match form_id {
        Some(id) => {
            changed.insert(id, Object::Dictionary(form));
        }
        None => {
            catalog.set("AcroForm", form);
            changed.insert(base.root, Object::Dictionary(catalog));
        }
    }

    // The signature dictionary, without /ByteRange and /Contents (framed by hand below).
    let mut sig = Dictionary::new();
    sig.set("Type", name("Sig"));
    sig.set("Filter", name("Adobe.PPKLite"));
    sig.set("SubFilter", name("ETSI.CAdES.detached"));
    sig.set(
        "M",
        Object::String(pdf_date(signing_time).into_bytes(), StringFormat::Literal),
    );
    sig.set("Name", text(&field.signer_name));
    sig.set("Reason", text(&field.reason));
    if !field.location.is_empty() {
        sig.set("Location", text(&field.location));
    }
    sig.set(
        "YT_DocSHA256",
        text(&field.doc_sha256_hex.to_ascii_lowercase()),
    );

    write_update(base, &changed, sig_id, &sig, next, contents_len)
}

fn write_object(out: &mut Vec<u8>, obj: &Object) -> anyhow::Result<()> {
    Writer::write_object(out, obj).map_err(|e| anyhow!("serialize: {e}"))
}

fn write_update(
    base: &Base<'_>,
    changed: &BTreeMap<ObjectId, Object>,
    sig_id: ObjectId,
    sig: &Dictionary,
    next_id: u32,
    contents_len: usize,
) -> anyhow::Result<(Vec<u8>, [usize; 4])> {
    let mut out = Vec::with_capacity(base.bytes.len() + contents_len * 2 + 64 * 1024);
    out.extend_from_slice(base.bytes);
    if !matches!(out.last(), Some(b'\n' | b'\r')) {
        out.push(b'\n');
    }
    let mut offsets: BTreeMap<ObjectId, usize> = BTreeMap::new();
    for (&id, obj) in changed {
        offsets.insert(id, out.len());
        writeln!(out, "{} {} obj", id.0, id.1)?;
        if Writer::need_separator(obj) {
            out.push(b' ');
        }
        write_object(&mut out, obj)?;
        out.extend_from_slice(if Writer::need_end_separator(obj) {
            b" \nendobj\n"
        } else {
            b"\nendobj\n"
        });
    }

    // The signature dictionary with its placeholders.
    offsets.insert(sig_id, out.len());
    write!(out, "{} {} obj\n<<", sig_id.0, sig_id.1)?;
    for (k, v) in sig.iter() {
        write_object(&mut out, &Object::Name(k.clone()))?;
        if Writer::need_separator(v) || matches!(v, Object::Name(_)) {
            out.push(b' ');
        }
        write_object(&mut out, v)?;
    }
    out.extend_from_slice(b"/ByteRange ");
    let byte_range_at = out.len();
    out.extend(std::iter::repeat_n(b' ', BYTE_RANGE_WIDTH + 1));
    out.extend_from_slice(b"/Contents ");
    let contents_at = out.len();
    out.push(b'<');
    out.extend(std::iter::repeat_n(b'0', contents_len * 2));
    out.push(b'>');
    let contents_end = out.len();
    out.extend_from_slice(b">>\nendobj\n");

    // Cross-reference section and trailer for just these objects.
    let mut trailer = Dictionary::new();
    trailer.set("Root", Object::Reference(base.root));
    for key in [&b"Info"[..], b"ID"] {
        if let Ok(v) = base.doc.trailer.get(key) {
            trailer.set(key.to_vec(), v.clone());
        }
    }
    trailer.set("Prev", base.prev_startxref as i64);
    let xref_at = out.len();
    if base.xref_stream {
        let xref_id = (next_id, 0u16);
        offsets.insert(xref_id, xref_at);
        let (index, data) = xref_stream_data(&offsets)?;
        trailer.set("Type", name("XRef"));
        trailer.set("Size", i64::from(next_id) + 1);
        trailer.set(
            "Index",
            Object::Array(index.into_iter().map(Object::Integer).collect()),
        );
        trailer.set("W", Object::Array(vec![1.into(), 4.into(), 2.into()]));
        let stream = lopdf::Stream::new(trailer, data);
        writeln!(out, "{} 0 obj", xref_id.0)?;
        write_object(&mut out, &Object::Stream(stream))?;
        out.extend_from_slice(b"\nendobj\n");
    } else {
        out.extend_from_slice(b"xref\n");
        for run in runs(&offsets) {
            writeln!(out, "{} {}", run[0].0.0, run.len())?;
            for (id, off) in run {
                write!(out, "{off:010} {:05} n\r\n", id.1)?;
            }
        }
        trailer.set("Size", i64::from(next_id));
        out.extend_from_slice(b"trailer\n");
        write_object(&mut out, &Object::Dictionary(trailer))?;
        out.push(b'\n');
    }
    write!(out, "startxref\n{xref_at}\n%%EOF\n")?;

    let byte_range = [0, contents_at, contents_end, out.len() - contents_end];
    let text = format!("[0 {} {} {}", byte_range[1], byte_range[2], byte_range[3]);
    ensure!(text.len() <= BYTE_RANGE_WIDTH, "byte range too wide");
    let slot = &mut out[byte_range_at..byte_range_at + BYTE_RANGE_WIDTH + 1];
    slot[..text.len()].copy_from_slice(text.as_bytes());
    slot[BYTE_RANGE_WIDTH] = b']';
    Ok((out, byte_range))
}

/// Consecutive object numbers grouped into subsections.
fn runs(offsets: &BTreeMap<ObjectId, usize>) -> Vec<Vec<(ObjectId, usize)>> {
    let mut runs: Vec<Vec<(ObjectId, usize)>> = Vec::new();
    for (&id, &off) in offsets {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|(prev, _)| prev.0 + 1 == id.0) => {
                run.push((id, off))
            }
            _ => runs.push(vec![(id, off)]),
        }
    }
    runs
}

/// `/Index` and the binary rows (`/W [1 4 2]`) of a cross-reference stream.
fn xref_stream_data(offsets: &BTreeMap<ObjectId, usize>) -> anyhow::Result<(Vec<i64>, Vec<u8>)> {
    let mut index = Vec::new();
    let mut data = Vec::new();
    for run in runs(offsets) {
        index.push(i64::from(run[0].0.0));
        index.push(run.len() as i64);
        for (id, off) in run {
            data.push(1);
            data.extend(u32::try_from(off).context("file over 4 GiB")?.to_be_bytes());
            data.extend(id.1.to_be_bytes());
        }
    }
    Ok((index, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_strings_and_runs() {
        assert_eq!(
            text("abc"),
            Object::String(b"abc".to_vec(), StringFormat::Literal)
        );
        let Object::String(bytes, StringFormat::Hexadecimal) = text("张") else {
            panic!()
        };
        assert_eq!(bytes, vec![0xfe, 0xff, 0x5f, 0x20]);
        let offsets: BTreeMap<ObjectId, usize> = [((5, 0), 1), ((6, 0), 2), ((9, 0), 3)].into();
        let r = runs(&offsets);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].len(), 2);
        let (index, data) = xref_stream_data(&offsets).unwrap();
        assert_eq!(index, vec![5, 2, 9, 1]);
        assert_eq!(data.len(), 3 * 7);
        assert_eq!(
            last_startxref(b"%PDF-1.7\n...startxref\n5\n%%EOF\n").unwrap(),
            5
        );
        assert!(last_startxref(b"%PDF").is_err());
    }
}
