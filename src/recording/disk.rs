//! Free space on the recordings filesystem (issue 5, item 7). Three parts:
//!
//! - [`probe`]: `statvfs` of the recordings directory (or its nearest existing parent);
//! - [`assess`]: the pure decision — given the free bytes, the rate the hearings write at
//!   and the configured thresholds, is space fine, low (with the minutes left), or below
//!   the floor where the writer stops so the database and the seal still have room;
//! - [`Monitor`]: what the writer thread and the hearing ticker share about one recordings
//!   root (thresholds, bytes offered/written/lost per hearing, why a hearing's writer is
//!   paused). The writer thread has no `App`, so the monitor is found by the root path.

use serde::Serialize;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const MB: u64 = 1024 * 1024;

/// When to warn and when to stop writing (bytes and minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    /// Warn the chair below this much free space.
    pub warn_free: u64,
    /// Stop writing media below this much free space (the database and the manifest
    /// keep room); `0` writes until the disk refuses.
    pub stop_free: u64,
    /// Also warn when, at the current write rate, fewer minutes than this are left.
    pub warn_minutes: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            warn_free: 2048 * MB,
            stop_free: 200 * MB,
            warn_minutes: 30,
        }
    }
}

impl Thresholds {
    pub fn from_config(c: &crate::config::Config) -> Self {
        Self {
            warn_free: c.recording_warn_free_mb.saturating_mul(MB),
            stop_free: c.recording_stop_free_mb.saturating_mul(MB),
            warn_minutes: c.recording_warn_minutes,
        }
    }

    /// Writing resumes (and the *critical* state clears) only this far above the floor, so
    /// a disk hovering at the floor does not start and stop the recording every second.
    pub fn resume_free(&self) -> u64 {
        self.stop_free + (self.stop_free / 10).max(MB)
    }

    /// The *low* state clears only this far above the warning threshold.
    pub fn clear_free(&self) -> u64 {
        self.warn_free + (self.warn_free / 20).max(16 * MB)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    Ok,
    /// Below the warning threshold, or less than `warn_minutes` left at the current rate.
    Low,
    /// Below the floor: the writer stops writing media.
    Critical,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Low => "low",
            Level::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub level: Level,
    pub free_bytes: u64,
    /// Minutes until the floor at `rate`; `None` while nothing is being written.
    pub minutes_left: Option<u64>,
}

/// Minutes of recording left above the floor at `rate_bps` bytes per second.
pub fn minutes_left(free: u64, rate_bps: f64, t: &Thresholds) -> Option<u64> {
    // No rate yet (or not a number): no estimate.
    if rate_bps.is_nan() || rate_bps < 1.0 {
        return None;
    }
    let usable = free.saturating_sub(t.stop_free) as f64;
    Some((usable / rate_bps / 60.0).floor() as u64)
}

/// The decision, from the previous level (for hysteresis), the free bytes, and the rate
/// all hearings on this filesystem write at (bytes per second).
pub fn assess(prev: Level, free: u64, rate_bps: f64, t: &Thresholds) -> Assessment {
    let minutes = minutes_left(free, rate_bps, t);
    let critical =
        free < t.stop_free || free == 0 || (prev == Level::Critical && free < t.resume_free());
    let low = free <= t.warn_free
        || minutes.is_some_and(|m| m < t.warn_minutes)
        || (prev != Level::Ok
            && (free <= t.clear_free() || minutes.is_some_and(|m| m < t.warn_minutes + 5)));
    let level = if critical {
        Level::Critical
    } else if low {
        Level::Low
    } else {
        Level::Ok
    };
    Assessment {
        level,
        free_bytes: free,
        minutes_left: minutes,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Space {
    pub free_bytes: u64,
    pub total_bytes: u64,
}

/// Free and total bytes of the filesystem holding `path` (its nearest existing ancestor
/// when the directory is not made yet). "Free" is what an unprivileged writer may use.
pub fn probe(path: &Path) -> io::Result<Space> {
    let mut p = path.to_path_buf();
    while !p.exists() {
        if !p.pop() || p.as_os_str().is_empty() {
            p = PathBuf::from(".");
            break;
        }
    }
    statvfs(&p)
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn statvfs(path: &Path) -> io::Result<Space> {
    use std::ffi::{CString, c_char, c_int};
    use std::os::unix::ffi::OsStrExt;
    // `struct statvfs` on 64-bit Linux (glibc and musl) starts with five 64-bit words:
    // f_bsize, f_frsize, f_blocks, f_bfree, f_bavail; the whole struct is 112 bytes. The
    // buffer is larger than that so nothing past what we read can overflow it.
    unsafe extern "C" {
        fn statvfs(path: *const c_char, buf: *mut u64) -> c_int;
    }
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    let mut buf = [0u64; 32];
    // SAFETY: `c` is a NUL-terminated path; `buf` is 256 bytes, 8-aligned, more than
    // `struct statvfs` needs; the call writes only into it.
    let rc = unsafe { statvfs(c.as_ptr(), buf.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let frsize = if buf[1] != 0 { buf[1] } else { buf[0] };
    Ok(Space {
        free_bytes: buf[4].saturating_mul(frsize),
        total_bytes: buf[2].saturating_mul(frsize),
    })
}

/// Elsewhere: POSIX `df -Pk` (1024-byte blocks: total, used, available).
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn statvfs(path: &Path) -> io::Result<Space> {
    let out = std::process::Command::new("df")
        .arg("-Pk")
        .arg(path)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .nth(1)
        .ok_or_else(|| io::Error::other("df printed nothing"))?;
    let cols: Vec<u64> = line
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .collect();
    match cols.as_slice() {
        [total, _used, avail, ..] => Ok(Space {
            free_bytes: avail * 1024,
            total_bytes: total * 1024,
        }),
        _ => Err(io::Error::other("cannot read df's output")),
    }
}

/// What the writer reports about one hearing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HearingDisk {
    /// Bytes of records handed to the writer.
    pub offered_bytes: u64,
    /// Of those, written into segments.
    pub written_bytes: u64,
    /// Dropped while writing was paused (marked as interruptions).
    pub lost_bytes: u64,
    /// Why the writer is not writing this hearing's records now.
    pub paused: Option<String>,
    pub interruptions: u32,
}

#[derive(Default)]
struct Inner {
    thresholds: Thresholds,
    hearings: HashMap<i64, HearingDisk>,
    rate_bps: f64,
    last_probe: Option<(Instant, Space)>,
}

/// Shared between the writer thread and the hearing ticker for one recordings root.
pub struct Monitor {
    root: PathBuf,
    inner: Mutex<Inner>,
}

impl Monitor {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn configure(&self, t: Thresholds) {
        self.lock().thresholds = t;
    }

    pub fn thresholds(&self) -> Thresholds {
        self.lock().thresholds
    }

    /// The free space, probed again when the last probe is older than `max_age`.
    pub fn space(&self, max_age: Duration) -> io::Result<Space> {
        if let Some((at, s)) = self.lock().last_probe
            && at.elapsed() < max_age
        {
            return Ok(s);
        }
        let s = probe(&self.root)?;
        self.lock().last_probe = Some((Instant::now(), s));
        Ok(s)
    }

    pub fn update(&self, hearing: i64, f: impl FnOnce(&mut HearingDisk)) {
        f(self.lock().hearings.entry(hearing).or_default());
    }

    pub fn hearing(&self, hearing: i64) -> Option<HearingDisk> {
        self.lock().hearings.get(&hearing).cloned()
    }

    pub fn hearings(&self) -> Vec<(i64, HearingDisk)> {
        self.lock()
            .hearings
            .iter()
            .map(|(h, d)| (*h, d.clone()))
            .collect()
    }

    /// The hearing's recording closed.
    pub fn forget(&self, hearing: i64) {
        self.lock().hearings.remove(&hearing);
    }

    /// The write rate of every hearing on this root together (set by the ticker).
    pub fn set_rate(&self, bps: f64) {
        self.lock().rate_bps = bps;
    }

    pub fn rate(&self) -> f64 {
        self.lock().rate_bps
    }
}

/// The monitor of the recordings root `root` (one per root per process).
pub fn monitor(root: &Path) -> Arc<Monitor> {
    static ALL: OnceLock<Mutex<HashMap<PathBuf, Arc<Monitor>>>> = OnceLock::new();
    let mut all = ALL
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    all.entry(root.to_path_buf())
        .or_insert_with(|| {
            Arc::new(Monitor {
                root: root.to_path_buf(),
                inner: Mutex::default(),
            })
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Thresholds {
        Thresholds {
            warn_free: 2048 * MB,
            stop_free: 200 * MB,
            warn_minutes: 30,
        }
    }

    #[test]
    fn plenty_of_space_is_ok() {
        let a = assess(Level::Ok, 50_000 * MB, 150_000.0, &t());
        assert_eq!(a.level, Level::Ok);
        // (50 000 − 200) MiB at 150 kB/s: 348 126 s.
        assert_eq!(a.minutes_left, Some(5802));
    }

    #[test]
    fn below_the_warning_threshold_is_low_with_the_minutes_left() {
        // 1 GiB free, 200 MB floor, 1 MB/s: 824 MB usable ≈ 13 minutes.
        let a = assess(Level::Ok, 1024 * MB, MB as f64, &t());
        assert_eq!(a.level, Level::Low);
        assert_eq!(a.minutes_left, Some(13));
        // Nothing written yet (before the hearing): low, minutes unknown.
        let a = assess(Level::Ok, 1024 * MB, 0.0, &t());
        assert_eq!((a.level, a.minutes_left), (Level::Low, None));
    }

    #[test]
    fn a_fast_writer_is_low_before_the_threshold() {
        // 10 GB free but 20 MB/s: (10 240 − 200) MB / 20 MB/s ≈ 8 minutes.
        let a = assess(Level::Ok, 10_240 * MB, 20.0 * MB as f64, &t());
        assert_eq!(a.level, Level::Low);
        assert_eq!(a.minutes_left, Some(8));
    }

    #[test]
    fn below_the_floor_is_critical_and_an_empty_disk_always() {
        assert_eq!(
            assess(Level::Low, 199 * MB, 0.0, &t()).level,
            Level::Critical
        );
        assert_eq!(
            assess(Level::Low, 150 * MB, MB as f64, &t()).minutes_left,
            Some(0)
        );
        let none = Thresholds {
            stop_free: 0,
            ..t()
        };
        assert_eq!(assess(Level::Ok, 0, 0.0, &none).level, Level::Critical);
        assert_eq!(assess(Level::Ok, 5 * MB, 0.0, &none).level, Level::Low);
    }

    #[test]
    fn levels_clear_only_with_a_margin() {
        let t = t();
        // Critical stays until the resume margin (floor + 10 %).
        assert_eq!(t.resume_free(), 220 * MB);
        assert_eq!(
            assess(Level::Critical, 210 * MB, 0.0, &t).level,
            Level::Critical
        );
        assert_eq!(assess(Level::Critical, 230 * MB, 0.0, &t).level, Level::Low);
        // Low stays until warn + 5 % (≥ 16 MB).
        assert_eq!(t.clear_free(), 2048 * MB + 102 * MB + MB * 2 / 5);
        assert_eq!(assess(Level::Low, 2100 * MB, 0.0, &t).level, Level::Low);
        assert_eq!(assess(Level::Ok, 2100 * MB, 0.0, &t).level, Level::Ok);
        assert_eq!(assess(Level::Low, 2200 * MB, 0.0, &t).level, Level::Ok);
        // ... and the minutes: 32 min left is fine from Ok, still low from Low.
        let rate = (3000 - 200) as f64 * MB as f64 / (32.5 * 60.0);
        assert_eq!(assess(Level::Ok, 3000 * MB, rate, &t).level, Level::Ok);
        assert_eq!(assess(Level::Low, 3000 * MB, rate, &t).level, Level::Low);
    }

    #[test]
    fn a_floor_of_zero_resumes_after_a_megabyte() {
        let t = Thresholds {
            warn_free: 0,
            stop_free: 0,
            warn_minutes: 0,
        };
        assert_eq!(t.resume_free(), MB);
        assert_eq!(assess(Level::Ok, 10, 0.0, &t).level, Level::Ok);
        assert_eq!(assess(Level::Critical, 10, 0.0, &t).level, Level::Critical);
    }

    #[test]
    fn the_probe_finds_the_nearest_existing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let s = probe(&dir.path().join("not/made/yet")).unwrap();
        assert!(s.total_bytes > 0 && s.free_bytes <= s.total_bytes, "{s:?}");
        let t = probe(dir.path()).unwrap();
        assert_eq!(s.total_bytes, t.total_bytes);
    }
}
