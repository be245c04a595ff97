//! The hearing procedure. The rules are plain state machines and tables: which phase may
//! follow which (`phase`), what a participant's presence is (`presence`), who may give
//! which command (`controls`), what a device check means (`device_check`), and what each
//! command does to the room (`room`, which returns effects instead of performing them).
//! Whether a party walked out or lost the network has legal consequences (a walk-out may
//! count as withdrawal; a network failure does not), so these are small, explicit and
//! tested on their own. `registry` keeps the live rooms and carries the effects out.

pub mod controls;
pub mod device_check;
pub mod messages;
pub mod phase;
pub mod presence;
pub mod registry;
pub mod room;
