//! Reading a ZIP that may have been made to hurt the reader.
//!
//! A bundle handed to `yunting verify` (or dropped on the verify page) may come from
//! anyone. Before a byte of content is read, every entry's name, type, compression and
//! declared sizes are checked against fixed bounds; while reading, no entry may yield
//! more than it declared. Names that could mean another place once extracted (absolute,
//! `..`, backslashes, drive letters, control characters) or that collide are refused,
//! even though nothing here is ever extracted: a verifier must not pass a file that an
//! unzip tool would put somewhere else.

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use zip::{CompressionMethod, ZipArchive, ZipReadOptions};

/// Entries an archive may have.
pub const MAX_ENTRIES: usize = 100_000;
/// What one entry may expand to (a long hearing's composite is a few GB).
pub const MAX_ENTRY_BYTES: u64 = 64 << 30;
/// What the whole archive may expand to.
pub const MAX_TOTAL_BYTES: u64 = 256 << 30;
/// Expansion ratio beyond which a deflated entry is taken for a bomb.
pub const MAX_RATIO: u64 = 200;
/// Longest entry name, in bytes.
pub const MAX_NAME_BYTES: usize = 240;

/// Why a name is refused, or `None` when it is a plain relative path.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("空文件名 / empty name");
    }
    if name.len() > MAX_NAME_BYTES {
        return Some("文件名过长 / name too long");
    }
    if name.chars().any(|c| c.is_control()) {
        return Some("文件名含控制字符 / control characters in the name");
    }
    if name.contains('\\') {
        return Some("文件名含反斜杠 / backslash in the name");
    }
    if name.starts_with('/') {
        return Some("绝对路径 / absolute path");
    }
    let first = name.split('/').next().unwrap_or("");
    if first.len() >= 2 && first.as_bytes()[1] == b':' {
        return Some("含盘符的路径 / drive-letter path");
    }
    for part in name.split('/') {
        match part {
            "" => return Some("路径含空段 / empty path segment"),
            "." | ".." => return Some("路径含 . 或 .. / `.` or `..` in the path"),
            _ => {}
        }
    }
    None
}

/// One entry that passed the checks.
#[derive(Debug, Clone)]
pub struct Entry {
    pub index: usize,
    pub size: u64,
}

/// An archive whose entries passed the structural checks.
pub struct SafeZip<R> {
    archive: ZipArchive<R>,
    pub entries: BTreeMap<String, Entry>,
}

/// A problem with one named entry (the entry is left out) or with the whole archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryProblem {
    pub name: String,
    pub problem: String,
}

/// Open and check `r`. `Err` when the archive as a whole cannot be trusted (not a ZIP,
/// too many entries, duplicate names, too large in total); otherwise the usable entries
/// and the problems of the refused ones.
pub fn open<R: Read + Seek>(r: R) -> Result<(SafeZip<R>, Vec<EntryProblem>), String> {
    let mut archive = ZipArchive::new(r)
        .map_err(|e| format!("不是有效的 ZIP 文件 / not a valid ZIP archive ({e})"))?;
    if archive.len() > MAX_ENTRIES {
        return Err(format!(
            "ZIP 条目过多（{} 个，上限 {MAX_ENTRIES}）/ too many entries ({}, limit {MAX_ENTRIES})",
            archive.len(),
            archive.len()
        ));
    }
    if archive.has_duplicate_names() {
        return Err(
            "ZIP 中有重复的文件名，无法确定以哪一份为准 / duplicate file names in the archive: which copy counts is ambiguous"
                .into(),
        );
    }
    let mut entries = BTreeMap::new();
    let mut problems = Vec::new();
    let mut total: u64 = 0;
    let mut seen_folded = std::collections::HashSet::new();
    for index in 0..archive.len() {
        let f = archive
            .by_index_raw(index)
            .map_err(|e| format!("ZIP 目录损坏 / damaged ZIP directory ({e})"))?;
        let name = match f.name() {
            Ok(n) => n.to_string(),
            Err(_) => {
                problems.push(EntryProblem {
                    name: format!("#{index}"),
                    problem: "文件名编码无效 / invalid name encoding".into(),
                });
                continue;
            }
        };
        let refuse = |p: &str| EntryProblem {
            name: name.clone(),
            problem: p.to_string(),
        };
        if let Some(p) = name_problem(&name) {
            problems.push(refuse(p));
            continue;
        }
        // Case-insensitive file systems would merge these on extraction.
        if !seen_folded.insert(name.to_lowercase()) {
            problems.push(refuse(
                "与另一文件名仅大小写不同 / differs from another name only by case",
            ));
            continue;
        }
        if f.is_dir() || f.is_symlink() {
            problems.push(refuse("不是普通文件（目录或链接）/ not a regular file"));
            continue;
        }
        if f.encrypted() {
            problems.push(refuse("已加密 / encrypted"));
            continue;
        }
        let method = f.compression();
        if method != CompressionMethod::Stored && method != CompressionMethod::Deflated {
            problems.push(refuse(
                "不支持的压缩方式（仅限存储或 deflate）/ unsupported compression (stored or deflate only)",
            ));
            continue;
        }
        let (size, packed) = (f.size(), f.compressed_size());
        if size > MAX_ENTRY_BYTES {
            problems.push(refuse("声明大小超过上限 / declared size over the limit"));
            continue;
        }
        if method == CompressionMethod::Deflated && size > packed.max(1).saturating_mul(MAX_RATIO) {
            problems.push(refuse(
                "压缩比异常，疑似压缩炸弹 / expansion ratio too high (zip bomb?)",
            ));
            continue;
        }
        if method == CompressionMethod::Stored && size != packed {
            problems.push(refuse("大小记录不一致 / inconsistent sizes"));
            continue;
        }
        total = total.saturating_add(size);
        entries.insert(name, Entry { index, size });
    }
    if total > MAX_TOTAL_BYTES {
        return Err(format!(
            "ZIP 展开后总量过大 / archive expands to too much ({total} bytes)"
        ));
    }
    Ok((SafeZip { archive, entries }, problems))
}

impl<R: Read + Seek> SafeZip<R> {
    /// Stream an entry's content to `sink` in chunks; errors when it yields more or less
    /// than declared, fails its CRC, or its local header disagrees with the directory.
    pub fn stream(&mut self, name: &str, mut sink: impl FnMut(&[u8])) -> Result<u64, String> {
        let Some(e) = self.entries.get(name).cloned() else {
            return Err("不在压缩包中 / not in the archive".into());
        };
        let opts = ZipReadOptions::new().enforce_header_consistency(true);
        let mut f = self
            .archive
            .by_index_with_options(e.index, opts)
            .map_err(|err| format!("无法读取 / unreadable ({err})"))?;
        let mut buf = vec![0u8; 1 << 20];
        let mut n: u64 = 0;
        loop {
            let k = f
                .read(&mut buf)
                .map_err(|err| format!("内容损坏 / damaged content ({err})"))?;
            if k == 0 {
                break;
            }
            n += k as u64;
            if n > e.size {
                return Err("内容超过声明大小 / more data than declared".into());
            }
            sink(&buf[..k]);
        }
        if n != e.size {
            return Err("内容短于声明大小 / less data than declared".into());
        }
        Ok(n)
    }

    /// An entry's content in memory, refused above `cap` bytes.
    pub fn read(&mut self, name: &str, cap: u64) -> Result<Vec<u8>, String> {
        let size = self
            .entries
            .get(name)
            .map(|e| e.size)
            .ok_or_else(|| "不在压缩包中 / not in the archive".to_string())?;
        if size > cap {
            return Err(format!(
                "文件过大（{size} 字节，上限 {cap}）/ too large ({size} bytes, limit {cap})"
            ));
        }
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        self.stream(name, |b| out.extend_from_slice(b))?;
        Ok(out)
    }

    /// SHA-256 (hex) and length of an entry, streamed.
    pub fn sha256(&mut self, name: &str) -> Result<(String, u64), String> {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let n = self.stream(name, |b| ctx.update(b))?;
        Ok((crate::crypto::hex(ctx.finish().as_ref()), n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;

    fn zip_of(files: &[(&str, &[u8], CompressionMethod)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data, m) in files {
            w.start_file(*name, SimpleFileOptions::default().compression_method(*m))
                .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn names_that_escape_are_refused() {
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "C:/x",
            "a\\b",
            "a\u{0}b",
            "",
        ] {
            assert!(name_problem(bad).is_some(), "{bad:?} should be refused");
        }
        for good in [
            "manifest.json",
            "documents/确认书-1-v1.pdf",
            "recordings/hearing-1/seg-000001.ytr",
        ] {
            assert_eq!(name_problem(good), None, "{good}");
        }
    }

    #[test]
    fn bad_entries_are_named_and_left_out() {
        let bytes = zip_of(&[
            ("ok.txt", b"hello", CompressionMethod::Stored),
            ("../evil.txt", b"x", CompressionMethod::Stored),
            ("Ok.TXT", b"y", CompressionMethod::Stored),
        ]);
        let (mut z, problems) = open(Cursor::new(bytes)).unwrap();
        assert_eq!(z.entries.len(), 1);
        assert_eq!(problems.len(), 2);
        assert!(problems.iter().any(|p| p.name == "../evil.txt"));
        assert_eq!(z.read("ok.txt", 100).unwrap(), b"hello");
        assert!(z.read("ok.txt", 2).is_err());
    }

    #[test]
    fn a_zip_bomb_is_refused_before_reading() {
        let zeros = vec![0u8; 4 << 20];
        let bytes = zip_of(&[("bomb.bin", &zeros, CompressionMethod::Deflated)]);
        let (z, problems) = open(Cursor::new(bytes)).unwrap();
        assert!(z.entries.is_empty());
        assert!(problems[0].problem.contains("zip bomb"), "{problems:?}");
    }

    #[test]
    fn garbage_is_not_a_zip() {
        assert!(open(Cursor::new(b"not a zip at all".to_vec())).is_err());
        assert!(open(Cursor::new(Vec::new())).is_err());
    }
}
