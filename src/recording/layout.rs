//! The pure part of the composite hearing file (`composite`): the gallery's tile
//! geometry, the tiles' labels, the burned-in clock's text and the chapters from the
//! hearing's phase events.

use crate::hearing::phase::Phase;
use serde_json::Value;

/// A rectangle in pixels; for YUV 4:2:0 all four values are even.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// Most tiles the gallery shows (4×4); participants beyond are left out (noted).
pub const MAX_TILES: usize = 16;

/// Columns and rows for `n` participants: 1×1, 2×2 up to 4, 3×3 up to 9, else 4×4.
pub fn grid(n: usize) -> (u32, u32) {
    match n {
        0 | 1 => (1, 1),
        2..=4 => (2, 2),
        5..=9 => (3, 3),
        _ => (4, 4),
    }
}

fn even(v: u32) -> u32 {
    v & !1
}

/// The tiles of the gallery for `n` participants on a `width`×`height` canvas, row by
/// row; at most [`MAX_TILES`].
pub fn tiles(n: usize, width: u32, height: u32) -> Vec<Rect> {
    let (cols, rows) = grid(n);
    let n = n.clamp(1, MAX_TILES);
    (0..n as u32)
        .map(|i| {
            let (c, r) = (i % cols, i / cols);
            let x = even(width * c / cols);
            let y = even(height * r / rows);
            let x2 = even(width * (c + 1) / cols);
            let y2 = even(height * (r + 1) / rows);
            Rect {
                x,
                y,
                w: x2 - x,
                h: y2 - y,
            }
        })
        .collect()
}

/// Where a `src_w`×`src_h` picture goes inside `tile`: as large as fits with its aspect
/// ratio kept, centred (even values, at least 2×2).
pub fn fit(src_w: u32, src_h: u32, tile: Rect) -> Rect {
    let (sw, sh) = (src_w.max(1) as u64, src_h.max(1) as u64);
    let (tw, th) = (tile.w as u64, tile.h as u64);
    let (w, h) = if sw * th >= sh * tw {
        (tw, tw * sh / sw)
    } else {
        (th * sw / sh, th)
    };
    let (w, h) = (even(w as u32).max(2), even(h as u32).max(2));
    Rect {
        x: tile.x + even((tile.w - w.min(tile.w)) / 2),
        y: tile.y + even((tile.h - h.min(tile.h)) / 2),
        w: w.min(tile.w),
        h: h.min(tile.h),
    }
}

/// The Chinese title of a hearing role (seat roles as the hearing assigns them).
pub fn role_zh(role: &str) -> &str {
    match role {
        "presiding_arbitrator" => "首席仲裁员",
        "arbitrator" => "仲裁员",
        "clerk" => "书记员",
        "mediator" => "调解员",
        "applicant" => "申请人",
        "respondent" => "被申请人",
        "agent" => "委托代理人",
        "witness" => "证人",
        "observer" => "旁听人员",
        "admin" => "管理员",
        other => other,
    }
}

/// A tile's label: role and name.
pub fn label(role: &str, name: &str) -> String {
    let role = role_zh(role);
    match (role.is_empty(), name.trim().is_empty()) {
        (true, _) => name.trim().to_string(),
        (_, true) => role.to_string(),
        _ => format!("{role}  {}", name.trim()),
    }
}

/// The server clock at `unix_us` as Beijing time (Asia/Shanghai: UTC+8, no daylight
/// saving since 1991), "YYYY-MM-DD HH:MM:SS".
pub fn clock_text(unix_us: i64) -> String {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset");
    chrono::DateTime::from_timestamp_micros(unix_us)
        .unwrap_or_default()
        .with_timezone(&offset)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// One chapter, in milliseconds from the start of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chapter {
    pub start_ms: i64,
    pub end_ms: i64,
    pub title: String,
}

/// How far a join may precede the first recorded packet (and the hearing's end follow the
/// last one) and still bound this sitting: setting up a connection takes a second or two,
/// while a join long before belongs to an earlier sitting of the same hearing.
const EDGE_US: u64 = 30_000_000;

/// The hearing on the wall clock, as the composite shows it: from the first participant
/// joining (when that is shortly before the first recorded packet) to the hearing's end
/// (when shortly after the last one); otherwise the recorded packets' own span.
pub fn hearing_span(events: &[Value], first_us: u64, last_us: u64) -> (u64, u64) {
    let at = |e: &Value| {
        e["at_ms"]
            .as_i64()
            .map(|ms| u64::try_from(ms).unwrap_or(0).saturating_mul(1000))
    };
    let start = events
        .iter()
        .filter(|e| e["kind"] == "hearing.join")
        .filter_map(at)
        .filter(|t| *t < first_us && first_us - *t <= EDGE_US)
        .min()
        .unwrap_or(first_us);
    let end = events
        .iter()
        .filter(|e| e["kind"] == "hearing.ended")
        .filter_map(at)
        .filter(|t| *t > last_us && *t - last_us <= EDGE_US)
        .max()
        .unwrap_or(last_us);
    (start, end)
}

/// Chapters from the manifest's `hearing.phase` events (titled with `detail.label`) over
/// a file covering wall-clock [first_us, last_us). The time before the first phase event
/// is a chapter titled with the phase it left (`detail.from`). Changes at or after the
/// end are left out; chapters are contiguous and cover the whole file.
pub fn chapters(events: &[Value], first_us: u64, last_us: u64) -> Vec<Chapter> {
    let span_ms = (last_us.saturating_sub(first_us) / 1000) as i64;
    let mut marks: Vec<(i64, String)> = Vec::new();
    let mut before: Option<String> = None;
    for e in events.iter().filter(|e| e["kind"] == "hearing.phase") {
        let Some(at_ms) = e["at_ms"].as_i64() else {
            continue;
        };
        let d = &e["detail"];
        let title = d["label"]
            .as_str()
            .map(str::to_string)
            .or_else(|| d["to"].as_str().map(str::to_string))
            .unwrap_or_else(|| "阶段".to_string());
        if marks.is_empty() && before.is_none() {
            before = d["from"]
                .as_str()
                .map(|f| Phase::parse(f).map_or(f.to_string(), |p| p.label_zh().to_string()));
        }
        let start = (at_ms - (first_us / 1000) as i64).max(0);
        if start >= span_ms {
            continue;
        }
        // Two changes at the same instant (or before the file): the later one wins.
        if marks.last().is_some_and(|(s, _)| *s == start) {
            marks.pop();
        }
        marks.push((start, title));
    }
    if marks.is_empty() {
        return Vec::new();
    }
    if marks[0].0 > 0 {
        marks.insert(0, (0, before.unwrap_or_else(|| "开庭".to_string())));
    }
    let ends: Vec<i64> = marks.iter().skip(1).map(|m| m.0).chain([span_ms]).collect();
    marks
        .into_iter()
        .zip(ends)
        .map(|((start_ms, title), end_ms)| Chapter {
            start_ms,
            end_ms,
            title,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn grids_and_tiles_cover_the_canvas_with_even_rectangles() {
        assert_eq!(grid(1), (1, 1));
        assert_eq!(grid(3), (2, 2));
        assert_eq!(grid(4), (2, 2));
        assert_eq!(grid(5), (3, 3));
        assert_eq!(grid(9), (3, 3));
        assert_eq!(grid(12), (4, 4));
        let t = tiles(3, 1280, 720);
        assert_eq!(
            t,
            vec![
                Rect {
                    x: 0,
                    y: 0,
                    w: 640,
                    h: 360
                },
                Rect {
                    x: 640,
                    y: 0,
                    w: 640,
                    h: 360
                },
                Rect {
                    x: 0,
                    y: 360,
                    w: 640,
                    h: 360
                },
            ]
        );
        let t = tiles(9, 1280, 720);
        assert_eq!(t.len(), 9);
        assert_eq!(
            t[4],
            Rect {
                x: 426,
                y: 240,
                w: 426,
                h: 240
            }
        );
        assert_eq!(t[8].x + t[8].w, 1280);
        assert_eq!(t[8].y + t[8].h, 720);
        assert!(
            t.iter()
                .all(|r| r.x % 2 == 0 && r.y % 2 == 0 && r.w % 2 == 0 && r.h % 2 == 0)
        );
        assert_eq!(tiles(20, 1280, 720).len(), MAX_TILES);
    }

    #[test]
    fn pictures_fit_their_tile_keeping_the_aspect_ratio() {
        let tile = Rect {
            x: 640,
            y: 360,
            w: 640,
            h: 360,
        };
        // 4:3 in 16:9: full height, centred horizontally.
        assert_eq!(
            fit(320, 240, tile),
            Rect {
                x: 720,
                y: 360,
                w: 480,
                h: 360
            }
        );
        // Portrait phone video.
        assert_eq!(
            fit(720, 1280, tile),
            Rect {
                x: 858,
                y: 360,
                w: 202,
                h: 360
            }
        );
        // Same aspect: the whole tile.
        assert_eq!(fit(1920, 1080, tile), tile);
        // Degenerate input does not panic.
        assert_eq!(fit(0, 0, tile).h, 360);
    }

    #[test]
    fn labels_name_the_role_in_chinese() {
        assert_eq!(
            label("presiding_arbitrator", "王仲裁"),
            "首席仲裁员  王仲裁"
        );
        assert_eq!(label("clerk", "李书记"), "书记员  李书记");
        assert_eq!(label("respondent", " 某公司 "), "被申请人  某公司");
        assert_eq!(label("agent", ""), "委托代理人");
        assert_eq!(label("", "张三"), "张三");
        assert_eq!(role_zh("witness"), "证人");
        assert_eq!(role_zh("mediator"), "调解员");
        assert_eq!(role_zh("something"), "something");
    }

    #[test]
    fn the_clock_is_beijing_time() {
        // 2023-11-14 22:13:20 UTC = 2023-11-15 06:13:20 in Shanghai.
        assert_eq!(clock_text(1_700_000_000_000_000), "2023-11-15 06:13:20");
        assert_eq!(clock_text(1_700_000_000_999_999), "2023-11-15 06:13:20");
    }

    fn phase(at_ms: i64, from: &str, to: &str, label: &str) -> Value {
        json!({"at_ms": at_ms, "kind": "hearing.phase", "detail": {"from": from, "to": to, "label": label}})
    }

    #[test]
    fn chapters_follow_the_phase_events() {
        let first_us = 1_000_000_000u64;
        let last_us = first_us + 10_000_000;
        let events = vec![
            json!({"at_ms": 1_000_500, "kind": "hearing.admit", "detail": {}}),
            phase(
                1_003_000,
                "check_attendance",
                "announce_discipline",
                "宣布庭审纪律",
            ),
            phase(1_006_000, "announce_discipline", "opening", "宣布开庭"),
            phase(1_010_000, "opening", "closed", "闭庭"), // at the end: left out
        ];
        let c = chapters(&events, first_us, last_us);
        let got: Vec<(i64, i64, &str)> = c
            .iter()
            .map(|c| (c.start_ms, c.end_ms, c.title.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 3000, "核对出庭人员"),
                (3000, 6000, "宣布庭审纪律"),
                (6000, 10_000, "宣布开庭"),
            ]
        );
        // A change before the recording started opens the first chapter.
        let c = chapters(
            &[phase(999_000, "a", "opening", "宣布开庭")],
            first_us,
            last_us,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(
            (c[0].start_ms, c[0].end_ms, c[0].title.as_str()),
            (0, 10_000, "宣布开庭")
        );
        assert!(chapters(&[], first_us, last_us).is_empty());
    }

    #[test]
    fn the_span_runs_from_the_first_join_to_the_end_of_the_hearing() {
        let ev = |kind: &str, at_ms: i64| json!({"kind": kind, "at_ms": at_ms});
        let (first, last) = (100_000_000u64, 160_000_000u64);
        // Joined 1.5 s before the first packet, ended 0.8 s after the last.
        let events = [
            ev("hearing.device_check", 10_000),
            ev("hearing.join", 98_500),
            ev("hearing.join", 99_700),
            ev("hearing.phase", 120_000),
            ev("hearing.ended", 160_800),
        ];
        assert_eq!(
            hearing_span(&events, first, last),
            (98_500_000, 160_800_000)
        );
        // A join of an earlier sitting (an hour before) and no end: the packets' span.
        let events = [
            ev("hearing.join", 96_400 - 3_600_000),
            ev("hearing.join", 200_000),
        ];
        assert_eq!(hearing_span(&events, first, last), (first, last));
        assert_eq!(hearing_span(&[], first, last), (first, last));
    }
}
