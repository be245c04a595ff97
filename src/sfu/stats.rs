//! Counters per participant and per track, for the staff stats endpoint and /metrics.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct TrackStats {
    pub track_id: String,
    pub kind: String,
    pub codec: String,
    pub packets: u64,
    pub bytes: u64,
    /// For forwarded tracks: whose track it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParticipantStats {
    pub participant_id: String,
    pub hearing_id: i64,
    pub name: String,
    pub role: String,
    pub connected: bool,
    pub reconnecting: bool,
    /// RTP packets dropped for exceeding the participant's budget (flood protection).
    pub dropped_packets: u64,
    /// Round-trip time to the participant (ICE), ms.
    pub rtt_ms: Option<u32>,
    /// Share of what we send it that its receiver reports as lost, per mille.
    pub loss_permille: Option<u16>,
    /// Tracks it sends to the server.
    pub published: Vec<TrackStats>,
    /// Tracks the server forwards to it.
    pub subscribed: Vec<TrackStats>,
}

/// Prometheus text exposition of the totals.
pub fn prometheus(all: &[ParticipantStats]) -> String {
    let sum = |f: &dyn Fn(&ParticipantStats) -> u64| all.iter().map(f).sum::<u64>();
    let packets_in = sum(&|p| p.published.iter().map(|t| t.packets).sum());
    let bytes_in = sum(&|p| p.published.iter().map(|t| t.bytes).sum());
    let packets_out = sum(&|p| p.subscribed.iter().map(|t| t.packets).sum());
    let bytes_out = sum(&|p| p.subscribed.iter().map(|t| t.bytes).sum());
    let dropped: u64 = all.iter().map(|p| p.dropped_packets).sum();
    let connected = all.iter().filter(|p| p.connected).count();
    let reconnecting = all.iter().filter(|p| p.reconnecting).count();
    let mut hearings: Vec<i64> = all.iter().map(|p| p.hearing_id).collect();
    hearings.sort_unstable();
    hearings.dedup();
    format!(
        "# HELP yunting_sfu_participants Participants holding a seat.\n# TYPE yunting_sfu_participants gauge\nyunting_sfu_participants {}\n\
         # HELP yunting_sfu_participants_connected Participants whose media connection is up.\n# TYPE yunting_sfu_participants_connected gauge\nyunting_sfu_participants_connected {connected}\n\
         # HELP yunting_sfu_participants_reconnecting Participants within their reconnection grace period.\n# TYPE yunting_sfu_participants_reconnecting gauge\nyunting_sfu_participants_reconnecting {reconnecting}\n\
         # HELP yunting_sfu_rooms Hearings with at least one participant.\n# TYPE yunting_sfu_rooms gauge\nyunting_sfu_rooms {}\n\
         # HELP yunting_sfu_rtp_packets_received RTP packets received from publishers (current participants).\n# TYPE yunting_sfu_rtp_packets_received counter\nyunting_sfu_rtp_packets_received {packets_in}\n\
         # HELP yunting_sfu_rtp_bytes_received RTP payload bytes received.\n# TYPE yunting_sfu_rtp_bytes_received counter\nyunting_sfu_rtp_bytes_received {bytes_in}\n\
         # HELP yunting_sfu_rtp_packets_forwarded RTP packets forwarded to subscribers.\n# TYPE yunting_sfu_rtp_packets_forwarded counter\nyunting_sfu_rtp_packets_forwarded {packets_out}\n\
         # HELP yunting_sfu_rtp_bytes_forwarded RTP payload bytes forwarded.\n# TYPE yunting_sfu_rtp_bytes_forwarded counter\nyunting_sfu_rtp_bytes_forwarded {bytes_out}\n\
         # HELP yunting_sfu_rtp_packets_dropped RTP packets dropped by flood protection.\n# TYPE yunting_sfu_rtp_packets_dropped counter\nyunting_sfu_rtp_packets_dropped {dropped}\n",
        all.len(),
        hearings.len()
    )
}
