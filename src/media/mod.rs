//! The media core's decisions, kept apart from sockets and the WebRTC stack (as str0m
//! does): how a forwarded RTP header is rewritten for one subscriber, whether a packet
//! starts a keyframe, when a keyframe may be asked for again, which simulcast layer a
//! subscriber gets, and how sequence numbers, timestamps and VP8 picture ids stay
//! continuous across layer switches. Every function here works in place on borrowed buffers: these run once per
//! forwarded packet, so nothing allocates.
//!
//! Per subscriber, a little more: how much it can take (`bandwidth`, from the loss its
//! receiver reports describe), what each layer costs (`bitrate`), and how that budget is
//! shared among the videos it receives (`allocation`).

pub mod allocation;
pub mod bandwidth;
pub mod bitrate;
pub mod keyframe;
pub mod layer_select;
pub mod quality;
pub mod rate_limit;
pub mod routing;
pub mod rtp_header;
pub mod seq_map;
pub mod signaling;
pub mod vp8_ids;
