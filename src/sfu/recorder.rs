//! The media loop's side of recording: each hearing's records accumulate in one reusable
//! buffer (no per-packet allocation, no lock, no I/O), handed to the writer thread about
//! every 500 ms. Which packets are recorded is `media::routing::Route::recorded`.

use crate::recording::manifest::{TrackCount, TrackInfo};
use crate::recording::segment::{self, SenderReportRecord};
use crate::recording::writer::{self, WriterMsg};
use rtc::rtp::Packet;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};

/// About a second of a busy hearing's media; buffers come back from the writer once
/// written and are filled again.
const BUFFER_BYTES: usize = 512 * 1024;

struct RoomRec {
    case: i64,
    buf: Vec<u8>,
    first_us: u64,
    last_us: u64,
    next_track: u16,
    /// What this run recorded of each track (indexed by track index less `first_track`),
    /// counted here on the live path so post-processing can be held to it.
    counts: Vec<(bool, TrackCount)>,
    first_track: u16,
}

pub struct Recorders {
    root: PathBuf,
    writer: Option<Sender<WriterMsg>>,
    /// Buffers the writer has written out, ready to be filled again.
    spare: Option<Receiver<Vec<u8>>>,
    rooms: HashMap<i64, RoomRec>,
}

impl Recorders {
    pub fn new(root: Option<PathBuf>) -> Self {
        let (writer, spare) = root.clone().map(writer::spawn).unzip();
        Self {
            root: root.unwrap_or_default(),
            writer,
            spare,
            rooms: HashMap::new(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.writer.is_some()
    }

    fn room(&mut self, hearing: i64, case: i64) -> &mut RoomRec {
        let root = &self.root;
        self.rooms.entry(hearing).or_insert_with(|| {
            // A hearing resumed after a restart keeps numbering its tracks where it left off.
            let known: Vec<TrackInfo> = writer::read_lines(
                &writer::hearing_dir(root, case, hearing).join(writer::TRACKS_FILE),
            );
            let next_track = known.iter().map(|t| t.index + 1).max().unwrap_or(0);
            RoomRec {
                case,
                buf: Vec::with_capacity(BUFFER_BYTES),
                first_us: 0,
                last_us: 0,
                next_track,
                counts: Vec::new(),
                first_track: next_track,
            }
        })
    }

    /// A new published track: give it a recording index and describe it to the writer.
    pub fn track(&mut self, hearing: i64, case: i64, mut info: TrackInfo) -> Option<u16> {
        let writer = self.writer.clone()?;
        let room = self.room(hearing, case);
        info.index = room.next_track;
        room.next_track = room.next_track.wrapping_add(1);
        let index = info.index;
        room.counts.push((
            info.kind == "video",
            TrackCount {
                track: index,
                ..Default::default()
            },
        ));
        let _ = writer.send(WriterMsg::Track {
            hearing,
            case,
            info,
        });
        Some(index)
    }

    /// Widen the buffer's time span to `now_us` (a sender report held until its track
    /// opened carries its earlier arrival time).
    fn stamp(room: &mut RoomRec, now_us: u64) {
        if room.buf.is_empty() {
            room.first_us = now_us;
            room.last_us = now_us;
        } else {
            room.first_us = room.first_us.min(now_us);
            room.last_us = room.last_us.max(now_us);
        }
    }

    pub fn rtp(&mut self, hearing: i64, track: u16, now_us: u64, pkt: &Packet) {
        if let Some(room) = self.rooms.get_mut(&hearing) {
            Self::stamp(room, now_us);
            segment::push_rtp(&mut room.buf, track, now_us, pkt);
            let slot = track.wrapping_sub(room.first_track) as usize;
            if let Some((video, c)) = room.counts.get_mut(slot) {
                c.packets += 1;
                if !*video || pkt.header.marker {
                    c.frames += 1;
                }
            }
        }
    }

    pub fn sender_report(
        &mut self,
        hearing: i64,
        track: u16,
        now_us: u64,
        sr: &SenderReportRecord,
    ) {
        if let Some(room) = self.rooms.get_mut(&hearing) {
            Self::stamp(room, now_us);
            segment::push_sender_report(&mut room.buf, track, now_us, sr);
        }
    }

    fn hand_over(
        writer: &Sender<WriterMsg>,
        spare: Option<&Receiver<Vec<u8>>>,
        hearing: i64,
        room: &mut RoomRec,
    ) {
        if room.buf.is_empty() {
            return;
        }
        let next = spare
            .and_then(|s| s.try_recv().ok())
            .unwrap_or_else(|| Vec::with_capacity(BUFFER_BYTES));
        let data = std::mem::replace(&mut room.buf, next);
        let _ = writer.send(WriterMsg::Chunk {
            hearing,
            case: room.case,
            data,
            first_us: room.first_us,
            last_us: room.last_us,
        });
    }

    /// Hand every hearing's buffered records to the writer (every 500 ms).
    pub fn flush(&mut self) {
        let Some(writer) = &self.writer else { return };
        for (hearing, room) in self.rooms.iter_mut() {
            Self::hand_over(writer, self.spare.as_ref(), *hearing, room);
        }
    }

    /// The hearing ended: write what is buffered and close its segment.
    pub fn close(&mut self, hearing: i64, done: tokio::sync::oneshot::Sender<Option<PathBuf>>) {
        let Some(writer) = &self.writer else {
            let _ = done.send(None);
            return;
        };
        if let Some(mut room) = self.rooms.remove(&hearing) {
            Self::hand_over(writer, self.spare.as_ref(), hearing, &mut room);
            let _ = writer.send(WriterMsg::Counts {
                hearing,
                case: room.case,
                counts: room.counts.iter().map(|(_, c)| *c).collect(),
            });
        }
        let _ = writer.send(WriterMsg::Close { hearing, done });
    }
}
