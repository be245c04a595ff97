//! The outside PDF-signature checkers: poppler's `pdfsig` and pyHanko. `scripts/test.sh`
//! installs both and sets `YUNTING_REQUIRE_ORACLES`, so there a missing one fails the test
//! instead of skipping it.

use std::path::Path;
use std::process::Command;

pub fn have(tool: &str) -> bool {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    // scripts/test.sh installs every oracle and sets this: there, a missing one fails.
    if !ok && std::env::var_os("YUNTING_REQUIRE_ORACLES").is_some() {
        panic!("`{tool}` is not installed (scripts/install-packages.sh test installs it)");
    }
    if !ok {
        eprintln!("\n!!!!!!!! SKIPPING {tool} CHECKS: `{tool}` is not installed !!!!!!!!\n");
    }
    ok
}

pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `pdfsig <file>`: how many signatures poppler calls valid, and its output.
pub fn pdfsig(file: &Path) -> Option<(usize, String)> {
    if !have("pdfsig") {
        return None;
    }
    let (_, text) = run(Command::new("pdfsig").arg(file));
    Some((text.matches("Signature is Valid").count(), text))
}

/// `pyhanko sign validate --pretty-print --trust …`: every signature (exit status 0 only
/// when all validate), and its output.
pub fn pyhanko(file: &Path, trust: &[&Path]) -> Option<(bool, String)> {
    if !have("pyhanko") {
        return None;
    }
    let mut cmd = Command::new("pyhanko");
    cmd.args([
        "sign",
        "validate",
        "--pretty-print",
        "--no-revocation-check",
    ]);
    for t in trust {
        cmd.arg("--trust").arg(t);
    }
    cmd.arg(file);
    Some(run(&mut cmd))
}

/// A byte in the middle of page 1's content stream: inside every signature's signed
/// range, and a change there is a visible change of the document.
pub fn content_stream_byte(pdf: &[u8]) -> usize {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let page = *doc.get_pages().get(&1).unwrap();
    let contents = doc
        .get_dictionary(page)
        .unwrap()
        .get(b"Contents")
        .unwrap()
        .clone();
    let id = match contents {
        lopdf::Object::Reference(id) => id,
        lopdf::Object::Array(a) => a[0].as_reference().unwrap(),
        other => panic!("contents {other:?}"),
    };
    let Some(lopdf::xref::XrefEntry::Normal { offset, .. }) = doc.reference_table.get(id.0) else {
        panic!("content stream not at a plain offset")
    };
    let offset = *offset as usize;
    let data = offset
        + pdf[offset..]
            .windows(7)
            .position(|w| w == b"stream\n")
            .unwrap()
        + 7;
    let len = doc
        .get_object(id)
        .unwrap()
        .as_stream()
        .unwrap()
        .content
        .len();
    data + len / 2
}
