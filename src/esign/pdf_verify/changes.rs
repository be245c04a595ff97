//! What changed between a signed revision and the current document, and whether each
//! change is one a later signature is allowed to make: add a signature field (AcroForm
//! `/Fields` and `/SigFlags`), its widget on a page (`/Annots`), appearance streams and the
//! signature itself, or a `/DSS`. New objects are harmless unless something old points at
//! them, and every changed old object is checked here.

use lopdf::{Dictionary, Document, Object, ObjectId};

/// Human-readable descriptions of the changes `new` makes to `old` that are not allowed.
pub(super) fn disallowed(old: &Document, new: &Document) -> Vec<String> {
    let mut out = Vec::new();
    let root = old.trailer.get(b"Root").and_then(Object::as_reference).ok();
    if new.trailer.get(b"Root").and_then(Object::as_reference).ok() != root {
        out.push(
            "之后的修订更换了文档目录 / a later revision replaced the document catalog".into(),
        );
    }
    let old_form = root
        .and_then(|r| old.get_dictionary(r).ok())
        .and_then(|c| c.get(b"AcroForm").and_then(Object::as_reference).ok());
    let old_fields =
        form_dict(old, root).and_then(|f| f.get(b"Fields").and_then(Object::as_reference).ok());
    let annots_arrays: Vec<ObjectId> = old
        .get_pages()
        .values()
        .filter_map(|p| {
            old.get_dictionary(*p)
                .ok()?
                .get(b"Annots")
                .and_then(Object::as_reference)
                .ok()
        })
        .collect();

    for (id, old_obj) in &old.objects {
        let Some(new_obj) = new.objects.get(id) else {
            if !is_bookkeeping(old_obj) {
                out.push(format!(
                    "之后的修订删除了对象 {} / a later revision removed object {}",
                    id.0, id.0
                ));
            }
            continue;
        };
        if same(old_obj, new_obj) || is_bookkeeping(old_obj) {
            continue;
        }
        let ok = match (old_obj, new_obj) {
            (Object::Dictionary(o), Object::Dictionary(n)) if Some(*id) == root => {
                catalog_ok(o, n) && inline_form_ok(new, o, n)
            }
            (Object::Dictionary(o), Object::Dictionary(n)) if Some(*id) == old_form => {
                form_ok(o, n)
            }
            (Object::Dictionary(o), Object::Dictionary(n)) if o.has_type(b"Page") => {
                page_ok(new, o, n)
            }
            (Object::Array(o), Object::Array(n)) if annots_arrays.contains(id) => {
                annots_ok(new, o, n)
            }
            (Object::Array(o), Object::Array(n)) if Some(*id) == old_fields => n.starts_with(o),
            _ => false,
        };
        if !ok {
            out.push(format!(
                "签名后文档被修改：对象 {} ({}) / document changed after this signature: object {} ({})",
                id.0,
                kind(old_obj),
                id.0,
                kind(old_obj)
            ));
        }
    }
    out
}

fn form_dict(doc: &Document, root: Option<ObjectId>) -> Option<&Dictionary> {
    let catalog = doc.get_dictionary(root?).ok()?;
    match catalog.get(b"AcroForm").ok()? {
        Object::Reference(r) => doc.get_dictionary(*r).ok(),
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

/// Cross-reference streams and object streams are rewritten by nature.
fn is_bookkeeping(obj: &Object) -> bool {
    matches!(obj, Object::Stream(s) if s.dict.has_type(b"XRef") || s.dict.has_type(b"ObjStm"))
}

fn kind(obj: &Object) -> String {
    match obj {
        Object::Dictionary(d) | Object::Stream(lopdf::Stream { dict: d, .. }) => d
            .get_type()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .unwrap_or_else(|_| obj.enum_variant().to_owned()),
        other => other.enum_variant().to_owned(),
    }
}

fn same(a: &Object, b: &Object) -> bool {
    match (a, b) {
        (Object::Stream(x), Object::Stream(y)) => x.dict == y.dict && x.content == y.content,
        _ => a == b,
    }
}

/// Equal apart from the listed keys.
fn equal_except(o: &Dictionary, n: &Dictionary, keys: &[&[u8]]) -> bool {
    let strip = |d: &Dictionary| {
        let mut d = d.clone();
        for k in keys {
            d.remove(k);
        }
        d
    };
    strip(o) == strip(n)
}

fn catalog_ok(o: &Dictionary, n: &Dictionary) -> bool {
    equal_except(o, n, &[b"AcroForm", b"DSS", b"Extensions"])
}

fn inline_form_ok(new: &Document, o: &Dictionary, n: &Dictionary) -> bool {
    match (o.get(b"AcroForm").ok(), n.get(b"AcroForm").ok()) {
        (Some(a), Some(b)) if a == b => true,
        (Some(Object::Dictionary(a)), Some(Object::Dictionary(b))) => form_ok(a, b),
        (None, Some(Object::Dictionary(b))) => {
            form_ok(&Dictionary::new(), b) && fields_are_sigs(new, b)
        }
        (None, Some(Object::Reference(r))) => new
            .get_dictionary(*r)
            .is_ok_and(|b| form_ok(&Dictionary::new(), b) && fields_are_sigs(new, b)),
        _ => false,
    }
}

/// An AcroForm may only gain fields and set `/SigFlags`, `/DR`, `/DA`.
fn form_ok(o: &Dictionary, n: &Dictionary) -> bool {
    let fields = |d: &Dictionary| d.get(b"Fields").ok().cloned();
    let prefix = match (fields(o), fields(n)) {
        (None, _) => true,
        (Some(Object::Array(a)), Some(Object::Array(b))) => b.starts_with(&a),
        (a, b) => a == b,
    };
    prefix && equal_except(o, n, &[b"Fields", b"SigFlags", b"DR", b"DA"])
}

fn fields_are_sigs(new: &Document, form: &Dictionary) -> bool {
    let Ok(Object::Array(fields)) = form.get(b"Fields") else {
        return true;
    };
    fields.iter().all(|f| is_sig_widget(new, f))
}

/// A page may only gain annotations, each a signature widget.
fn page_ok(new: &Document, o: &Dictionary, n: &Dictionary) -> bool {
    if !equal_except(o, n, &[b"Annots"]) {
        return false;
    }
    match (o.get(b"Annots").ok(), n.get(b"Annots").ok()) {
        (None, Some(Object::Array(b))) => annots_ok(new, &[], b),
        (Some(Object::Array(a)), Some(Object::Array(b))) => annots_ok(new, a, b),
        (a, b) => a == b,
    }
}

fn annots_ok(new: &Document, o: &[Object], n: &[Object]) -> bool {
    n.starts_with(o) && n[o.len()..].iter().all(|a| is_sig_widget(new, a))
}

fn is_sig_widget(doc: &Document, obj: &Object) -> bool {
    let Ok((_, Object::Dictionary(d))) = doc.dereference(obj) else {
        return false;
    };
    let ft_sig = |d: &Dictionary| d.get(b"FT").and_then(Object::as_name).ok() == Some(&b"Sig"[..]);
    let parent_sig = d
        .get(b"Parent")
        .ok()
        .and_then(|p| doc.dereference(p).ok())
        .and_then(|(_, p)| p.as_dict().ok())
        .is_some_and(ft_sig);
    let widget = d.get(b"Subtype").and_then(Object::as_name).ok() == Some(&b"Widget"[..]);
    (widget || !d.has(b"Subtype")) && (ft_sig(d) || parent_sig)
}
