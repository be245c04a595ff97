//! The recorder's disk side: one thread that owns every open segment file. The media
//! loop hands it a buffer of records about once a second per hearing (never a packet at
//! a time), so a `kill -9` loses at most that last second; the thread rotates segments
//! every 10 s, syncs each closed segment and appends it to the hash chain.

use super::chain::{ChainEntry, GENESIS};
use super::manifest::TrackInfo;
use super::segment::MAGIC;
use ring::digest;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

pub const SEGMENT_SECONDS: u64 = 10;
/// Present while a hearing records; recovery looks for it.
pub const OPEN_MARKER: &str = "RECORDING";
pub const CHAIN_FILE: &str = "chain.jsonl";
pub const TRACKS_FILE: &str = "tracks.jsonl";
pub const INTERRUPTIONS_FILE: &str = "interruptions.jsonl";

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
    Close {
        hearing: i64,
        done: tokio::sync::oneshot::Sender<Option<PathBuf>>,
    },
}

pub fn hearing_dir(root: &Path, case: i64, hearing: i64) -> PathBuf {
    root.join(case.to_string()).join(hearing.to_string())
}

struct Open {
    file: File,
    name: String,
    size: u64,
    digest: digest::Context,
    first_us: u64,
    last_us: u64,
    opened: Instant,
}

struct HearingFiles {
    dir: PathBuf,
    last: Option<ChainEntry>,
    current: Option<Open>,
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
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    let mut line = serde_json::to_vec(v)?;
    line.push(b'\n');
    f.write_all(&line)?;
    f.sync_data()
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

impl HearingFiles {
    fn open(root: &Path, case: i64, hearing: i64) -> std::io::Result<Self> {
        let dir = hearing_dir(root, case, hearing);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join(OPEN_MARKER),
            format!("pid {}\n", std::process::id()),
        )?;
        Ok(Self {
            last: read_chain(&dir).pop(),
            dir,
            current: None,
        })
    }

    fn write(&mut self, data: &[u8], first_us: u64, last_us: u64) -> std::io::Result<()> {
        if self.current.is_none() {
            let seq = self.last.as_ref().map_or(1, |l| l.seq + 1);
            let name = format!("seg-{seq:06}.ytr");
            let mut file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(self.dir.join(&name))?;
            file.write_all(MAGIC)?;
            let mut d = digest::Context::new(&digest::SHA256);
            d.update(MAGIC);
            self.current = Some(Open {
                file,
                name,
                size: MAGIC.len() as u64,
                digest: d,
                first_us,
                last_us,
                opened: Instant::now(),
            });
        }
        let cur = self.current.as_mut().expect("opened above");
        cur.file.write_all(data)?;
        cur.digest.update(data);
        cur.size += data.len() as u64;
        cur.last_us = last_us;
        if cur.opened.elapsed() >= Duration::from_secs(SEGMENT_SECONDS) {
            self.close_segment()?;
        }
        Ok(())
    }

    fn close_segment(&mut self) -> std::io::Result<()> {
        let Some(cur) = self.current.take() else {
            return Ok(());
        };
        cur.file.sync_all()?;
        let sha = crate::crypto::hex(cur.digest.finish().as_ref());
        let span = (cur.first_us, cur.last_us);
        let entry = match &self.last {
            Some(l) => ChainEntry::new(l, &cur.name, cur.size, &sha, span),
            None => ChainEntry::after(GENESIS, 1, &cur.name, cur.size, &sha, span),
        };
        append_line(&self.dir.join(CHAIN_FILE), &entry)?;
        self.last = Some(entry);
        Ok(())
    }
}

/// Run the writer until every sender is gone.
pub fn run(root: PathBuf, rx: Receiver<WriterMsg>) {
    let mut open: HashMap<i64, HearingFiles> = HashMap::new();
    let files = |open: &mut HashMap<i64, HearingFiles>, case: i64, hearing: i64| -> Option<()> {
        if let std::collections::hash_map::Entry::Vacant(v) = open.entry(hearing) {
            match HearingFiles::open(&root, case, hearing) {
                Ok(f) => {
                    v.insert(f);
                }
                Err(e) => {
                    tracing::error!(error = %e, hearing, "cannot open the recording directory");
                    return None;
                }
            }
        }
        Some(())
    };
    while let Ok(msg) = rx.recv() {
        match msg {
            WriterMsg::Track {
                hearing,
                case,
                info,
            } => {
                if files(&mut open, case, hearing).is_some() {
                    let dir = &open[&hearing].dir;
                    if let Err(e) = append_line(&dir.join(TRACKS_FILE), &info) {
                        tracing::error!(error = %e, hearing, "cannot record a track");
                    }
                }
            }
            WriterMsg::Chunk {
                hearing,
                case,
                data,
                first_us,
                last_us,
            } => {
                if files(&mut open, case, hearing).is_some()
                    && let Some(f) = open.get_mut(&hearing)
                    && let Err(e) = f.write(&data, first_us, last_us)
                {
                    // A full disk: keep serving the hearing; the chair is warned by the
                    // recording status, and what was written stays chained.
                    tracing::error!(error = %e, hearing, "recording write failed");
                }
            }
            WriterMsg::Close { hearing, done } => {
                let dir = open.remove(&hearing).map(|mut f| {
                    if let Err(e) = f.close_segment() {
                        tracing::error!(error = %e, hearing, "cannot close a segment");
                    }
                    f.dir
                });
                let _ = done.send(dir);
            }
        }
    }
    for (_, mut f) in open {
        let _ = f.close_segment();
    }
}

pub fn spawn(root: PathBuf) -> Sender<WriterMsg> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || run(root, rx))
        .expect("spawn the recorder thread");
    tx
}
