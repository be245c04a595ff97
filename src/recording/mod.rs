//! Server-side recording of every hearing (issue 5). The media loop taps each packet it
//! forwards into a per-hearing buffer (`segment` format, raw RTP + sender reports with
//! arrival time); `writer` puts the buffers into 10-second segment files and chains their
//! hashes (`disk` watches the free space: the chair is warned when it runs low, and a full
//! disk pauses the recording cleanly instead of breaking it); `seal` signs the manifest
//! with the commission's seal key when the hearing ends or, after a crash, at the next
//! start; `verify` checks a recording offline. After the seal, `jobs` runs `remux`
//! (ffmpeg-next, no re-encoding; `depacketize` is its pure part) into one playable file
//! per participant, then `composite` (decode, gallery, labels, clock, chapters; `layout`
//! is its pure part) into one `hearing.mp4`.

pub mod chain;
pub mod composite;
pub mod depacketize;
pub mod disk;
pub mod jobs;
pub mod layout;
pub mod manifest;
pub mod remux;
pub mod seal;
pub mod segment;
pub mod verify;
pub mod writer;
