//! Staff access to a hearing's recording after post-processing: the playable files in
//! `export/` (one per participant, and the composite `hearing.mp4` when there is one),
//! playback and download with HTTP range requests, and chapters from the hearing's phases.
//!
//! Parties never get recordings (403, and the attempt is on the record). Every listing,
//! every chapter read and every playback request (each range a player asks for) is
//! audit-logged in the same transaction as the access check.
//!
//! Only names that the export directory actually lists are served; a name with a path
//! separator or `..` is refused before the directory is looked at.
//!
//! Bodies: the dependency set has no byte-stream adapter (`tokio-util`'s `ReaderStream`,
//! tower-http's `fs`), so a range answer is read into memory and capped at
//! [`MAX_RANGE_BYTES`] (a shorter 206 than asked for; players ask for the rest). Only a
//! request without `Range` (a plain download) reads the whole file.

use super::extract::{ApiPath, Auth, Meta};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::Principal;
use crate::db::WriteTx;
use crate::error::{AppError, AppResult};
use crate::recording::manifest::Manifest;
use crate::recording::{jobs, layout, seal, writer};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// The most one range answer carries (players ask again for the rest); a request
/// without a range streams the whole file.
pub const MAX_RANGE_BYTES: u64 = 64 * 1024 * 1024;

/// The composite file another job may add to `export/`.
pub const COMPOSITE: &str = "hearing.mp4";

/// Staff who may read the hearing's case: the open transaction and the case. Parties get
/// 403 (recorded when they belong to the case); unknown hearings 404.
async fn staff_access(
    app: &App,
    who: &Principal,
    hearing: i64,
    what: &str,
) -> AppResult<(WriteTx, i64)> {
    let mut tx = app.db.write().await?;
    // Who may take part in the hearing at all (404 otherwise), as for the rest of the room.
    let case_id = super::hearing_room::hearing_case(&mut tx, who, hearing).await?;
    if who.staff().is_some() {
        return Ok((tx, case_id));
    }
    // A party of the case: recordings are not theirs to download; the attempt is recorded.
    tx.audit(
        AuditEntry::new(
            who,
            "recording.access_refused",
            format!("hearing:{hearing}"),
        )
        .case(case_id)
        .detail(json!({"what": what})),
    )
    .await?;
    tx.commit().await?;
    Err(AppError::forbidden())
}

// --- the files ----------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct ExportFile {
    pub name: String,
    pub size: u64,
    /// `participant` or `composite`.
    pub kind: &'static str,
    pub mime: &'static str,
    pub participant: Option<String>,
    pub participant_id: Option<String>,
    pub role: Option<String>,
}

fn mime_of(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "webm" => Some("video/webm"),
        "mkv" => Some("video/x-matroska"),
        "mp4" => Some("video/mp4"),
        _ => None,
    }
}

/// A plain file name: no separators, no `..`, no leading dot, no control characters.
pub fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.contains(['/', '\\'])
        && !name.contains("..")
        && !name.starts_with('.')
        && !name.chars().any(char::is_control)
}

use crate::recording::remux::sanitise;

/// Whose file `stem` is: `<participant>-<name>[-<n>]`, matched against the manifest's
/// tracks, else read from the name itself.
fn participant_of(
    stem: &str,
    tracks: &[Value],
) -> (Option<String>, Option<String>, Option<String>) {
    for t in tracks {
        let (Some(pid), Some(name)) = (t["participant_id"].as_str(), t["name"].as_str()) else {
            continue;
        };
        let base = format!("{}-{}", sanitise(pid), sanitise(name));
        let base = base.trim_end_matches('-');
        let rest = stem.strip_prefix(base);
        let matches = match rest {
            Some("") => true,
            Some(r) => r
                .strip_prefix('-')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
            None => false,
        };
        if matches {
            return (
                Some(name.to_string()),
                Some(pid.to_string()),
                t["role"].as_str().map(str::to_string),
            );
        }
    }
    let name = stem.split_once('-').map(|(_, n)| n).unwrap_or(stem);
    let name = match name.rsplit_once('-') {
        Some((n, k)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => name,
    };
    (Some(name.to_string()), None, None)
}

/// The playable files of the recording in `dir`: the composite first, then by name.
pub fn list_export(dir: &Path) -> Vec<ExportFile> {
    let Ok(entries) = std::fs::read_dir(dir.join(jobs::EXPORT_DIR)) else {
        return Vec::new();
    };
    let tracks: Vec<Value> = std::fs::read(dir.join(seal::MANIFEST))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|m| m["tracks"].as_array().cloned())
        .unwrap_or_default();
    let mut out: Vec<ExportFile> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            // Regular files only: no symlinks out of the directory, no subdirectories.
            let meta = e.path().symlink_metadata().ok()?;
            if !meta.is_file() || !safe_name(&name) {
                return None;
            }
            let mime = mime_of(&name)?;
            let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
            let composite = name == COMPOSITE || mime == "video/mp4";
            let (participant, participant_id, role) = if composite {
                (None, None, None)
            } else {
                participant_of(stem, &tracks)
            };
            Some(ExportFile {
                size: meta.len(),
                kind: if composite {
                    "composite"
                } else {
                    "participant"
                },
                mime,
                participant,
                participant_id,
                role,
                name,
            })
        })
        .collect();
    out.sort_by(|a, b| (a.kind != "composite", &a.name).cmp(&(b.kind != "composite", &b.name)));
    out
}

fn file_url(hearing: i64, name: &str) -> String {
    format!(
        "/api/hearings/{hearing}/recording/files/{}",
        percent_encode(name)
    )
}

/// RFC 3986 unreserved characters stay; every other byte is `%XX`.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn recording_dir(app: &App, case_id: i64, hearing: i64) -> PathBuf {
    writer::hearing_dir(&app.config.recordings_dir, case_id, hearing)
}

/// `GET /api/hearings/{id}/recording/files`
pub async fn list_files(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(hearing): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let (mut tx, case_id) = staff_access(&app, &who, hearing, "files").await?;
    let dir = recording_dir(&app, case_id, hearing);
    let (files, state) =
        tokio::task::spawn_blocking(move || (list_export(&dir), jobs::state(&dir)))
            .await
            .map_err(anyhow::Error::from)?;
    tx.audit(
        AuditEntry::new(&who, "recording.files_read", format!("hearing:{hearing}"))
            .case(case_id)
            .detail(json!({"files": files.len()})),
    )
    .await?;
    tx.commit().await?;
    let files: Vec<Value> = files
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
            v["url"] = Value::String(file_url(hearing, &f.name));
            v
        })
        .collect();
    Ok(Json(
        json!({ "hearing_id": hearing, "processing": state, "files": files }),
    ))
}

// --- ranges -------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// No usable `Range`: the whole file (200).
    Full,
    /// Inclusive first and last byte (206).
    Part(u64, u64),
    /// 416.
    Unsatisfiable,
}

/// One `bytes=` range of a `size`-byte file. Other units and several ranges are ignored
/// (the whole file is an allowed answer); a malformed or unsatisfiable range is 416.
pub fn parse_range(header: Option<&str>, size: u64) -> ByteRange {
    let Some(h) = header else {
        return ByteRange::Full;
    };
    let h = h.trim();
    let Some((unit, spec)) = h.split_once('=') else {
        return ByteRange::Unsatisfiable;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return ByteRange::Full;
    }
    if spec.contains(',') {
        return ByteRange::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return ByteRange::Unsatisfiable;
    };
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, true) => ByteRange::Unsatisfiable,
        // bytes=-n: the last n bytes.
        (true, false) => match num(b) {
            Some(n) if n > 0 && size > 0 => ByteRange::Part(size.saturating_sub(n), size - 1),
            _ => ByteRange::Unsatisfiable,
        },
        // bytes=a-
        (false, true) => match num(a) {
            Some(a) if a < size => ByteRange::Part(a, size - 1),
            _ => ByteRange::Unsatisfiable,
        },
        // bytes=a-b
        (false, false) => match (num(a), num(b)) {
            (Some(a), Some(b)) if a <= b && a < size => ByteRange::Part(a, b.min(size - 1)),
            _ => ByteRange::Unsatisfiable,
        },
    }
}

/// The bytes `start..start+len` of the file as a stream: nothing is buffered whole.
pub(crate) async fn stream_span(
    path: &Path,
    start: u64,
    len: u64,
) -> std::io::Result<axum::body::Body> {
    let mut f = tokio::fs::File::open(path).await?;
    f.seek(std::io::SeekFrom::Start(start)).await?;
    Ok(axum::body::Body::from_stream(
        tokio_util::io::ReaderStream::new(f.take(len)),
    ))
}

fn content_disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "inline; filename=\"{ascii}\"; filename*=UTF-8''{}",
        percent_encode(name)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("inline"))
}

/// `GET /api/hearings/{id}/recording/files/{name}`: the file, or the asked range of it.
pub async fn get_file(
    State(app): State<App>,
    Auth(who): Auth,
    Meta(meta): Meta,
    ApiPath((hearing, name)): ApiPath<(i64, String)>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let (mut tx, case_id) = staff_access(&app, &who, hearing, "file").await?;
    if !safe_name(&name) {
        return Err(AppError::bad_request(
            "invalid_name",
            "文件名无效 / invalid file name",
        ));
    }
    let dir = recording_dir(&app, case_id, hearing);
    let wanted = name.clone();
    let listed = tokio::task::spawn_blocking(move || {
        list_export(&dir)
            .into_iter()
            .find(|f| f.name == wanted)
            .map(|f| (f, dir.join(jobs::EXPORT_DIR).join(&wanted)))
    })
    .await
    .map_err(anyhow::Error::from)?;
    let Some((file, path)) = listed else {
        return Err(AppError::not_found("recording file"));
    };
    let size = tokio::fs::metadata(&path)
        .await
        .map_err(|_| AppError::not_found("recording file"))?
        .len();
    let range_header = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(100).collect::<String>());
    let range = parse_range(range_header.as_deref(), size);
    // A range answer carries at most MAX_RANGE_BYTES; the Content-Range says what came.
    let (status, span) = match range {
        ByteRange::Full => (StatusCode::OK, Some((0, size))),
        ByteRange::Part(a, b) => (
            StatusCode::PARTIAL_CONTENT,
            Some((a, (b - a + 1).min(MAX_RANGE_BYTES))),
        ),
        ByteRange::Unsatisfiable => (StatusCode::RANGE_NOT_SATISFIABLE, None),
    };
    tx.audit(
        AuditEntry::new(&who, "recording.played", format!("hearing:{hearing}"))
            .case(case_id)
            .detail(json!({
                "file": name,
                "kind": file.kind,
                "range": range_header,
                "status": status.as_u16(),
                "bytes": span.map(|(a, n)| json!([a, a + n])),
                "size": size,
            }))
            .ip(meta.ip.clone()),
    )
    .await?;
    tx.commit().await?;

    let mut resp = match span {
        None => {
            let mut r = AppError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                "请求的范围无效 / range not satisfiable",
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r
        }
        Some((start, len)) => {
            let body = stream_span(&path, start, len)
                .await
                .map_err(anyhow::Error::from)?;
            let mut r = (status, body).into_response();
            if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
                r.headers_mut().insert(header::CONTENT_LENGTH, v);
            }
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(file.mime));
            r.headers_mut()
                .insert(header::CONTENT_DISPOSITION, content_disposition(&name));
            if status == StatusCode::PARTIAL_CONTENT
                && let Ok(v) =
                    HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + len - 1))
            {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r
        }
    };
    let h = resp.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(resp)
}

// --- chapters -----------------------------------------------------------------------

/// `[{title, offset_s, end_s}]`: the chapters of `hearing.mp4` (the same computation
/// over the same wall-clock span), so the player jumps to where each phase begins.
pub fn chapters(m: &Manifest) -> Vec<Value> {
    let (first, last) = layout::hearing_span(&m.events, m.first_us, m.last_us);
    layout::chapters(&m.events, first, last)
        .into_iter()
        .map(|c| {
            json!({
                "title": c.title,
                "offset_s": c.start_ms as f64 / 1e3,
                "end_s": c.end_ms as f64 / 1e3,
            })
        })
        .collect()
}

/// `GET /api/hearings/{id}/recording/chapters`
pub async fn list_chapters(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(hearing): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let (mut tx, case_id) = staff_access(&app, &who, hearing, "chapters").await?;
    tx.audit(
        AuditEntry::new(
            &who,
            "recording.chapters_read",
            format!("hearing:{hearing}"),
        )
        .case(case_id),
    )
    .await?;
    tx.commit().await?;
    let dir = recording_dir(&app, case_id, hearing);
    let manifest: Option<Manifest> = tokio::fs::read(dir.join(seal::MANIFEST))
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let list = manifest.as_ref().map(chapters).unwrap_or_default();
    Ok(Json(
        json!({ "hearing_id": hearing, "sealed": manifest.is_some(), "chapters": list }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use ByteRange::*;
        assert_eq!(parse_range(None, 1000), Full);
        assert_eq!(parse_range(Some("bytes=0-99"), 1000), Part(0, 99));
        assert_eq!(parse_range(Some("bytes=900-"), 1000), Part(900, 999));
        assert_eq!(parse_range(Some("bytes=-10"), 1000), Part(990, 999));
        assert_eq!(parse_range(Some("bytes=-5000"), 1000), Part(0, 999));
        assert_eq!(parse_range(Some("bytes=990-5000"), 1000), Part(990, 999));
        assert_eq!(parse_range(Some("bytes=1000-"), 1000), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-4"), 1000), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 1000), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-"), 1000), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=x-1"), 1000), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-0"), 0), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 1000), Full);
        assert_eq!(parse_range(Some("items=0-1"), 1000), Full);
    }

    #[test]
    fn names() {
        assert!(safe_name("p1-张_三.webm"));
        for bad in [
            "",
            "../manifest.json",
            "a/b.webm",
            "a\\b.webm",
            "..",
            ".hidden",
            "a\0b",
        ] {
            assert!(!safe_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn participants_from_tracks_and_names() {
        let tracks = vec![json!({"participant_id": "user:3", "name": "张 三", "role": "clerk"})];
        assert_eq!(
            participant_of("user_3-张_三-2", &tracks),
            (
                Some("张 三".into()),
                Some("user:3".into()),
                Some("clerk".into())
            )
        );
        assert_eq!(
            participant_of("p9-李四", &tracks).0.as_deref(),
            Some("李四")
        );
        assert_eq!(participant_of("p9-李四-3", &[]).0.as_deref(), Some("李四"));
    }

    #[test]
    fn chapter_offsets() {
        let m: Manifest = serde_json::from_value(json!({
            "format": "yunting-recording/1", "hearing_id": 1, "case_id": 1,
            "case_numbers": [], "complete": true, "sealed_at_ms": 0,
            "first_us": 10_000_000u64, "last_us": 20_000_000u64, "segments": [],
            "chain_head": "", "tracks": [], "participants": [], "interruptions": [],
            "seal_public_key": "",
            "events": [
                {"kind": "hearing.join", "at_ms": 9_500},
                {"kind": "hearing.admit", "at_ms": 10_500},
                {"kind": "hearing.phase", "at_ms": 9_000, "detail": {"label": "开庭", "to": "opening"}},
                {"kind": "hearing.phase", "at_ms": 12_250, "detail": {"label": "宣布庭审纪律", "to": "announce_discipline"}},
            ]}))
        .unwrap();
        let c = chapters(&m);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0]["offset_s"], 0.0);
        assert_eq!(c[0]["title"], "开庭");
        assert_eq!(c[1]["title"], "宣布庭审纪律");
        // From the first join (9.5 s), not the first packet (10 s).
        assert_eq!(c[1]["offset_s"], 2.75);
        assert_eq!(c[1]["end_s"], 10.5);
    }
}
