//! A participant's seat in a hearing room and the server side of its connection.

use super::published_track::PublishedTrack;
use super::subscribed_track::SubscribedTrack;
use crate::media::signaling::{ParticipantInfo, ServerMessage};
use rtc::peer_connection::RTCPeerConnection;
use tokio::sync::mpsc::UnboundedSender;

/// Who sits in the seat (from the authenticated session).
#[derive(Debug, Clone)]
pub struct Seat {
    /// `user:<id>` or `invitation:<id>`: one seat per person per hearing.
    pub key: String,
    pub name: String,
    pub role: String,
}

pub struct Participant {
    pub id: u64,
    pub hearing: i64,
    pub case: i64,
    pub seat: Seat,
    pub pc: Option<RTCPeerConnection>,
    pub events: UnboundedSender<ServerMessage>,
    pub connected: bool,
    /// An offer we sent is awaiting the client's answer.
    pub offer_outstanding: bool,
    /// Tracks were added since the last offer.
    pub needs_offer: bool,
    pub published: Vec<PublishedTrack>,
    pub subscribed: Vec<SubscribedTrack>,
    pub audio_muted: bool,
    pub video_muted: bool,
    /// The signaling socket is gone; the seat is held until this instant.
    pub reconnecting_until: Option<std::time::Instant>,
    /// Receives no video (weak network, or the participant's choice); audio keeps flowing.
    pub audio_only: bool,
    /// RTP this participant may send per second; the excess is dropped.
    pub budget: crate::media::rate_limit::PacketBudget,
    pub dropped_packets: u64,
    /// Last measured round-trip time and loss of what we send it (from RTCP).
    pub rtt_ms: Option<u32>,
    pub loss_permille: Option<u16>,
    /// Side room and chair mutes: whom this participant's media reaches.
    pub route: crate::media::routing::Route,
    /// How much the server may send it (from the loss its receiver reports describe).
    pub estimate: crate::media::bandwidth::LossBasedEstimate,
    /// What the server sends it now.
    pub sent: crate::media::bitrate::BitrateMeter,
    /// The ICE username of its last offer (a new one means an ICE restart).
    pub remote_ufrag: Option<String>,
    /// It restarted ICE and the new path is not checked yet.
    pub ice_restarting: bool,
    /// The streams it publishes that we acknowledge in RTCP: not its simulcast layers
    /// (see [`super::peer_connection::HoldSimulcastAcks`]).
    pub ackable: super::peer_connection::AckableSsrcs,
}

impl Participant {
    pub fn public_id(id: u64) -> String {
        format!("p{id}")
    }

    pub fn info(&self) -> ParticipantInfo {
        ParticipantInfo {
            participant_id: Self::public_id(self.id),
            seat: self.seat.key.clone(),
            name: self.seat.name.clone(),
            role: self.seat.role.clone(),
            audio_muted: self.audio_muted || self.route.chair_muted_audio,
            video_muted: self.video_muted || self.route.chair_muted_video,
            reconnecting: self.reconnecting_until.is_some(),
        }
    }

    pub fn send(&self, msg: ServerMessage) {
        // A closed socket is handled by the disconnect path; nothing to do here.
        let _ = self.events.send(msg);
    }
}
