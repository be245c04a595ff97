//! The hearing procedure as plain state machines: which phase may follow which, and what
//! a participant's presence is (left on purpose, network lost, did not return). Whether a
//! party walked out or lost the network has legal consequences (a walk-out may count as
//! withdrawal; a network failure does not), so these rules are kept small, explicit and
//! tested on their own. The room (issue 4) applies them and records each change.

pub mod phase;
pub mod presence;
