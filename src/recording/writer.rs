//! The recorder's disk side: one thread that owns every open segment file. The media
//! loop hands it a buffer of records every 500 ms per hearing (never a packet at
//! a time), so a `kill -9` loses less than the last second; the thread rotates segments
//! every 10 s, syncs each closed segment and appends it to the hash chain.
//!
//! A full disk (or any write error) never panics and never leaves a broken record: the
//! segment being written is cut back to its last whole chunk, synced and chained; the
//! interruption is noted (`interruptions.jsonl`, in the manifest); lines the disk refused
//! (chain entries, tracks, interruptions) wait in order in memory and are written first
//! when it accepts them again; records arriving meanwhile are dropped and counted. Before
//! each chunk the free space is checked against the floor (`disk::Thresholds::stop_free`)
//! so the database and the seal keep room; writing resumes in a new segment once space
//! returns. The hearing ticker reads the state from `disk::monitor` and warns the chair.

use super::chain::{ChainEntry, GENESIS};
use super::disk::{self, Monitor};
use super::manifest::{Interruption, TrackInfo};
use super::segment::MAGIC;
use ring::digest;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::time::{Duration, Instant};

pub const SEGMENT_SECONDS: u64 = 10;
/// Present while a hearing records; recovery looks for it.
pub const OPEN_MARKER: &str = "RECORDING";
pub const CHAIN_FILE: &str = "chain.jsonl";
pub const TRACKS_FILE: &str = "tracks.jsonl";
pub const INTERRUPTIONS_FILE: &str = "interruptions.jsonl";
/// One line per media-server run of the hearing: what it recorded of each track.
pub const COUNTS_FILE: &str = "counts.jsonl";

pub enum WriterMsg {
    Track {
        hearing: i64,
        case: i64,
        info: TrackInfo,
    },
    Chunk {
        hearing: i64,
        case: i64,
        data: Vec<u8>,
        first_us: u64,
        last_us: u64,
    },
    /// Close the current segment; answer when it is on disk and chained.
    /// What the media loop counted of each track (sent just before `Close`).
    Counts {
        hearing: i64,
        case: i64,
        counts: Vec<super::manifest::TrackCount>,
    },
    Close {
        hearing: i64,
        done: tokio::sync::oneshot::Sender<Option<PathBuf>>,
    },
}

pub fn hearing_dir(root: &Path, case: i64, hearing: i64) -> PathBuf {
    root.join(case.to_string()).join(hearing.to_string())
}

pub fn read_chain(dir: &Path) -> Vec<ChainEntry> {
    read_lines(&dir.join(CHAIN_FILE))
}

pub fn read_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    let Ok(f) = File::open(path) else {
        return Vec::new();
    };
    std::io::BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect()
}

pub fn append_line<T: serde::Serialize>(path: &Path, v: &T) -> std::io::Result<()> {
    append_bytes(path, &json_line(v)?)
}

fn json_line<T: serde::Serialize>(v: &T) -> std::io::Result<Vec<u8>> {
    let mut line = serde_json::to_vec(v)?;
    line.push(b'\n');
    Ok(line)
}

/// Append one whole line and sync it; if the disk refuses part of it, cut the file back
/// so no half line is left for the next one to be glued to.
fn append_bytes(path: &Path, line: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    let before = f.metadata()?.len();
    let res = f.write_all(line).and_then(|()| f.sync_data());
    if res.is_err() {
        let _ = f.set_len(before);
        let _ = f.sync_data();
    }
    res
}

/// Chain a segment file that is complete on disk (closing it, or found after a crash).
pub fn chain_segment(
    dir: &Path,
    last: Option<&ChainEntry>,
    name: &str,
    span: (u64, u64),
) -> std::io::Result<ChainEntry> {
    let bytes = std::fs::read(dir.join(name))?;
    let sha = crate::crypto::sha256_hex(&bytes);
    let entry = match last {
        Some(l) => ChainEntry::new(l, name, bytes.len() as u64, &sha, span),
        None => ChainEntry::after(GENESIS, 1, name, bytes.len() as u64, &sha, span),
    };
    append_line(&dir.join(CHAIN_FILE), &entry)?;
    Ok(entry)
}

struct Open {
    file: File,
    name: String,
    /// Bytes fully written (whole chunks); the file is cut back to this after an error.
    size: u64,
    digest: digest::Context,
    first_us: u64,
    last_us: u64,
    opened: Instant,
}

/// Why a hearing's writer is not writing, and when it may try again.
struct Paused {
    /// Below the floor or out of space: wait for space. Otherwise an I/O error: retry
    /// with back-off.
    for_space: bool,
    retry_at: Instant,
    backoff: Duration,
}

const FIRST_RETRY: Duration = Duration::from_secs(2);
const MAX_RETRY: Duration = Duration::from_secs(60);
/// How old a free-space reading the writer acts on may be.
const PROBE_AGE: Duration = Duration::from_secs(1);

struct HearingFiles {
    hearing: i64,
    dir: PathBuf,
    /// The directory and the open marker exist.
    ready: bool,
    last: Option<ChainEntry>,
    current: Option<Open>,
    /// Lines the disk refused, in order: (file name, line). Written before anything else.
    pending: Vec<(&'static str, Vec<u8>)>,
    paused: Option<Paused>,
    /// Time of the last record written (µs).
    last_us: u64,
    /// The wait before retrying after the next I/O error; doubles while errors repeat
    /// (so a failing disk adds an interruption a minute, not a second), reset once
    /// writing has gone well for `MAX_RETRY`.
    backoff: Duration,
    last_pause: Option<Instant>,
}

fn is_out_of_space(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || e.kind() == std::io::ErrorKind::QuotaExceeded
        || e.raw_os_error() == Some(28)
}

impl HearingFiles {
    fn new(root: &Path, case: i64, hearing: i64) -> Self {
        let dir = hearing_dir(root, case, hearing);
        let last = read_chain(&dir).pop();
        Self {
            hearing,
            last_us: last.as_ref().map_or(0, |l| l.last_us),
            last,
            dir,
            ready: false,
            current: None,
            pending: Vec::new(),
            paused: None,
            backoff: FIRST_RETRY,
            last_pause: None,
        }
    }

    fn ensure_ready(&mut self) -> std::io::Result<()> {
        if !self.ready {
            std::fs::create_dir_all(&self.dir)?;
            std::fs::write(
                self.dir.join(OPEN_MARKER),
                format!("pid {}\n", std::process::id()),
            )?;
            self.ready = true;
        }
        Ok(())
    }

    /// Write the lines the disk refused before; true when none is left.
    fn flush_pending(&mut self) -> bool {
        if self.pending.is_empty() {
            return true;
        }
        if self.ensure_ready().is_err() {
            return false;
        }
        while let Some((file, line)) = self.pending.first() {
            if append_bytes(&self.dir.join(file), line).is_err() {
                return false;
            }
            self.pending.remove(0);
        }
        true
    }

    /// Queue a line for `file` and write what is queued.
    fn add_line<T: serde::Serialize>(&mut self, file: &'static str, v: &T) {
        match json_line(v) {
            Ok(line) => self.pending.push((file, line)),
            Err(e) => tracing::error!(error = %e, hearing = self.hearing, "cannot encode a line"),
        }
        if !self.flush_pending() {
            tracing::warn!(
                hearing = self.hearing,
                file,
                waiting = self.pending.len(),
                "the disk refused a recording line; kept in memory until it accepts it"
            );
        }
    }

    fn open_segment(&mut self, first_us: u64) -> std::io::Result<()> {
        self.ensure_ready()?;
        let seq = self.last.as_ref().map_or(1, |l| l.seq + 1);
        let name = format!("seg-{seq:06}.ytr");
        let path = self.dir.join(&name);
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        if let Err(e) = file.write_all(MAGIC) {
            // Not a segment yet: leave no file that is neither chained nor complete.
            drop(file);
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        let mut d = digest::Context::new(&digest::SHA256);
        d.update(MAGIC);
        self.current = Some(Open {
            file,
            name,
            size: MAGIC.len() as u64,
            digest: d,
            first_us,
            last_us: first_us,
            opened: Instant::now(),
        });
        Ok(())
    }

    /// Append one chunk (whole records) to the current segment, opening one if needed.
    fn write(&mut self, data: &[u8], first_us: u64, last_us: u64) -> std::io::Result<()> {
        if self.current.is_none() {
            self.open_segment(first_us)?;
        }
        let cur = self.current.as_mut().expect("opened above");
        cur.file.write_all(data)?;
        cur.digest.update(data);
        cur.size += data.len() as u64;
        cur.last_us = last_us;
        self.last_us = last_us;
        if cur.opened.elapsed() >= Duration::from_secs(SEGMENT_SECONDS) {
            self.close_segment();
        }
        Ok(())
    }

    /// Close the current segment: cut it back to its last whole chunk (a no-op unless a
    /// write failed), sync it and chain it. A segment with no records is removed instead.
    /// The chain line waits in `pending` if the disk refuses it.
    fn close_segment(&mut self) {
        let Some(cur) = self.current.take() else {
            return;
        };
        let path = self.dir.join(&cur.name);
        if cur.size <= MAGIC.len() as u64 && std::fs::remove_file(&path).is_ok() {
            return;
        }
        if let Err(e) = cur.file.set_len(cur.size) {
            tracing::error!(error = %e, hearing = self.hearing, "cannot cut a segment back");
        }
        if let Err(e) = cur.file.sync_all() {
            tracing::error!(error = %e, hearing = self.hearing, segment = %cur.name, "syncing a segment failed");
        }
        let sha = crate::crypto::hex(cur.digest.finish().as_ref());
        let span = (cur.first_us, cur.last_us);
        let entry = match &self.last {
            Some(l) => ChainEntry::new(l, &cur.name, cur.size, &sha, span),
            None => ChainEntry::after(GENESIS, 1, &cur.name, cur.size, &sha, span),
        };
        self.last = Some(entry.clone());
        self.add_line(CHAIN_FILE, &entry);
    }

    /// Stop writing: close what was written and note the interruption.
    fn pause(&mut self, reason: String, for_space: bool, mon: &Monitor) {
        if self.paused.is_some() {
            return;
        }
        tracing::error!(hearing = self.hearing, %reason, "recording paused");
        self.close_segment();
        let backoff = if for_space { FIRST_RETRY } else { self.backoff };
        self.backoff = (self.backoff * 2).min(MAX_RETRY);
        self.last_pause = Some(Instant::now());
        self.paused = Some(Paused {
            for_space,
            retry_at: Instant::now() + backoff,
            backoff,
        });
        self.add_line(
            INTERRUPTIONS_FILE,
            &Interruption {
                after_us: self.last_us,
                reason: reason.clone(),
                detected_at_ms: crate::time::now_ms(),
            },
        );
        mon.update(self.hearing, |d| {
            d.paused = Some(reason);
            d.interruptions += 1;
        });
    }

    /// Paused: may writing start again (space back above the resume margin, or the retry
    /// time of an I/O error reached, and every waiting line written)?
    fn try_resume(&mut self, free: Option<u64>, t: &disk::Thresholds, mon: &Monitor) -> bool {
        let Some(p) = &self.paused else {
            return true;
        };
        let now = Instant::now();
        let space_back = free.is_none_or(|f| f >= t.resume_free());
        if now < p.retry_at || !space_back {
            return false;
        }
        let was_space = p.for_space;
        if !self.flush_pending() {
            let p = self.paused.as_mut().expect("paused");
            p.backoff = (p.backoff * 2).min(MAX_RETRY);
            p.retry_at = now + p.backoff;
            return false;
        }
        self.paused = None;
        tracing::warn!(hearing = self.hearing, was_space, "recording resumed");
        mon.update(self.hearing, |d| d.paused = None);
        true
    }

    /// One chunk from the media loop.
    fn chunk(
        &mut self,
        data: &[u8],
        (first_us, last_us): (u64, u64),
        free: Option<u64>,
        t: &disk::Thresholds,
        mon: &Monitor,
    ) {
        let len = data.len() as u64;
        mon.update(self.hearing, |d| d.offered_bytes += len);
        let hearing = self.hearing;
        let lost = |mon: &Monitor| mon.update(hearing, |d| d.lost_bytes += len);
        if !self.try_resume(free, t, mon) {
            lost(mon);
            return;
        }
        if let Some(f) = free
            && f < t.stop_free
        {
            self.pause(
                format!(
                    "录像存储空间低于下限（剩余 {} MB，下限 {} MB），录像暂停 / recording storage below the floor ({} MB free, floor {} MB): recording paused",
                    f / disk::MB,
                    t.stop_free / disk::MB,
                    f / disk::MB,
                    t.stop_free / disk::MB
                ),
                true,
                mon,
            );
            lost(mon);
            return;
        }
        let res = if self.flush_pending() {
            self.write(data, first_us, last_us)
        } else {
            Err(std::io::Error::other(
                "earlier recording lines are still not written",
            ))
        };
        match res {
            Ok(()) => {
                if self.last_pause.is_some_and(|at| at.elapsed() > MAX_RETRY) {
                    self.backoff = FIRST_RETRY;
                    self.last_pause = None;
                }
                mon.update(self.hearing, |d| d.written_bytes += len)
            }
            Err(e) => {
                let full = is_out_of_space(&e);
                let reason = if full {
                    format!(
                        "录像存储空间已满，录像暂停 / recording storage full: recording paused ({e})"
                    )
                } else {
                    format!(
                        "录像写入失败，录像暂停 / recording write failed: recording paused ({e})"
                    )
                };
                self.pause(reason, full, mon);
                lost(mon);
            }
        }
    }

    /// The hearing ended: close the segment and write what waits.
    fn close(&mut self) {
        self.close_segment();
        if !self.flush_pending() {
            tracing::error!(
                hearing = self.hearing,
                lines = self.pending.len(),
                "recording lines could not be written before the seal"
            );
        }
    }
}

/// Run the writer until every sender is gone. Written chunks' buffers go back through
/// `spare` (when the media loop has room for them) to be filled again.
pub fn run(root: PathBuf, rx: Receiver<WriterMsg>, spare: SyncSender<Vec<u8>>) {
    let mon = disk::monitor(&root);
    let mut open: HashMap<i64, HearingFiles> = HashMap::new();
    while let Ok(msg) = rx.recv() {
        match msg {
            WriterMsg::Track {
                hearing,
                case,
                info,
            } => {
                open.entry(hearing)
                    .or_insert_with(|| HearingFiles::new(&root, case, hearing))
                    .add_line(TRACKS_FILE, &info);
            }
            WriterMsg::Chunk {
                hearing,
                case,
                data,
                first_us,
                last_us,
            } => {
                let free = match mon.space(PROBE_AGE) {
                    Ok(s) => Some(s.free_bytes),
                    Err(e) => {
                        tracing::debug!(error = %e, "cannot read the recordings filesystem's free space");
                        None
                    }
                };
                let t = mon.thresholds();
                open.entry(hearing)
                    .or_insert_with(|| HearingFiles::new(&root, case, hearing))
                    .chunk(&data, (first_us, last_us), free, &t, &mon);
                let mut data = data;
                data.clear();
                let _ = spare.try_send(data);
            }
            WriterMsg::Counts {
                hearing,
                case,
                counts,
            } => {
                open.entry(hearing)
                    .or_insert_with(|| HearingFiles::new(&root, case, hearing))
                    .add_line(COUNTS_FILE, &counts);
            }
            WriterMsg::Close { hearing, done } => {
                let dir = open.remove(&hearing).map(|mut f| {
                    f.close();
                    f.dir
                });
                mon.forget(hearing);
                let _ = done.send(dir);
            }
        }
    }
    for (_, mut f) in open {
        f.close();
    }
}

/// Start the writer thread: its inbox, and the buffers it gives back.
pub fn spawn(root: PathBuf) -> (Sender<WriterMsg>, Receiver<Vec<u8>>) {
    let (tx, rx) = std::sync::mpsc::channel();
    // A few spare buffers are enough: the loop hands one over per hearing per 500 ms.
    let (spare_tx, spare_rx) = std::sync::mpsc::sync_channel(SPARE_BUFFERS);
    std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || run(root, rx, spare_tx))
        .expect("spawn the recorder thread");
    (tx, spare_rx)
}

const SPARE_BUFFERS: usize = 16;
