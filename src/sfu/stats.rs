//! Counters per participant and per track, for the staff stats endpoint and /metrics.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct TrackStats {
    pub track_id: String,
    pub kind: String,
    pub codec: String,
    pub packets: u64,
    pub bytes: u64,
    /// Over the last second or two.
    pub bitrate_bps: u32,
    /// For forwarded tracks: whose track it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// A simulcast publication's layers, lowest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerStats>,
    /// A forwarded video: the layer it gets now (0 = lowest; `None` while paused or
    /// waiting for a keyframe) and the layer chosen for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_layer: Option<usize>,
    /// A forwarded video: the height the subscriber shows it at (device pixels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_height: Option<u16>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerStats {
    pub rid: String,
    pub bitrate_bps: u32,
    pub height: u16,
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
    /// How much the server may send it (loss-based estimate), and what it sends now.
    pub estimate_bps: u32,
    pub sending_bps: u32,
    pub audio_only: bool,
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
    ) + &per_participant(all)
}

/// Per participant and per forwarded video: RTT, loss, the bandwidth estimate, and the
/// simulcast layer each subscriber gets.
fn per_participant(all: &[ParticipantStats]) -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "# HELP yunting_sfu_participant_rtt_ms Round-trip time to the participant.\n# TYPE yunting_sfu_participant_rtt_ms gauge\n\
         # HELP yunting_sfu_participant_loss_permille Loss its receiver reports describe, per mille.\n# TYPE yunting_sfu_participant_loss_permille gauge\n\
         # HELP yunting_sfu_participant_estimate_bps Bandwidth the server may use towards it.\n# TYPE yunting_sfu_participant_estimate_bps gauge\n\
         # HELP yunting_sfu_participant_sending_bps What the server sends it now.\n# TYPE yunting_sfu_participant_sending_bps gauge\n\
         # HELP yunting_sfu_forwarded_layer Simulcast layer forwarded (0 lowest, -1 paused).\n# TYPE yunting_sfu_forwarded_layer gauge\n",
    );
    for p in all {
        let l = format!(
            "hearing=\"{}\",participant=\"{}\"",
            p.hearing_id, p.participant_id
        );
        let _ = writeln!(
            out,
            "yunting_sfu_participant_rtt_ms{{{l}}} {}",
            p.rtt_ms.unwrap_or(0)
        );
        let _ = writeln!(
            out,
            "yunting_sfu_participant_loss_permille{{{l}}} {}",
            p.loss_permille.unwrap_or(0)
        );
        let _ = writeln!(
            out,
            "yunting_sfu_participant_estimate_bps{{{l}}} {}",
            p.estimate_bps
        );
        let _ = writeln!(
            out,
            "yunting_sfu_participant_sending_bps{{{l}}} {}",
            p.sending_bps
        );
        for t in p.subscribed.iter().filter(|t| t.kind == "video") {
            let _ = writeln!(
                out,
                "yunting_sfu_forwarded_layer{{{l},track=\"{}\"}} {}",
                t.track_id,
                t.layer.map_or(-1, |x| x as i64)
            );
        }
    }
    out
}
