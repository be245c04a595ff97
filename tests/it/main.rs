//! The integration tests, one binary: each module was its own test crate, and each of those
//! linked the whole server and its media, PDF and database stacks again (about 80 MB apiece in
//! a debug build), which filled the CI machine's disk. One binary links them once.

/// Counts allocations per thread: `media_sfu` checks the media loops' allocations per
/// forwarded packet.
#[global_allocator]
static ALLOCATOR: yunting::alloc_count::CountingAllocator = yunting::alloc_count::CountingAllocator;

mod common;

mod api_lifecycle;
mod audit_chain;
mod authz_matrix;
mod av_sync;
mod case_bundle;
mod case_closing;
mod case_timeline;
mod composite;
mod esign_api;
mod esign_render;
mod esign_room;
mod hearing_procedure;
mod media_sfu;
mod media_weak_network;
mod otp_delivery;
mod pades_oracles;
mod recording;
mod recording_access;
mod recording_disk;
mod remux;
mod search_stats;
mod serve_cli;
mod signaling_fuzz;
