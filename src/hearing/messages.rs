//! What the room tells its participants about the procedure (as opposed to media):
//! the hearing's state for everyone, and the roster for staff only. Typed so the
//! protocol in `docs/signaling.md` is checked by the compiler.

use crate::domain::roles::Side;
use crate::hearing::phase::Phase;
use serde::{Deserialize, Serialize};

pub const RECORDING_NOTICE: &str = "本庭审全程录音录像";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HearingStateView {
    pub phase: Phase,
    pub phase_label: String,
    pub phase_since: i64,
    pub case_numbers: Vec<String>,
    pub locked: bool,
    pub paused: bool,
    pub pause_reason: Option<String>,
    pub ended: bool,
    pub recording_notice: String,
    pub caucus: Option<CaucusView>,
    pub exhibit: Option<ExhibitView>,
    /// Who is sharing their screen (their second video track is the screen).
    pub screen_share: Option<ScreenShareView>,
    pub my_seat: String,
    pub my_role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaucusView {
    pub side: Side,
    pub participant_ids: Vec<String>,
    pub recorded: bool,
    pub opened_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenShareView {
    pub participant_id: Option<String>,
    pub seat: String,
    pub name: String,
    pub since: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExhibitView {
    pub id: i64,
    pub name: String,
    pub mime: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityView {
    pub name: String,
    pub id_masked: String,
    pub phone_masked: String,
    pub verified_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCheckView {
    pub verdict: String,
    pub camera: bool,
    pub microphone: bool,
    pub rtt_ms: u32,
    pub down_kbps: u32,
    pub up_kbps: u32,
    pub checked_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatView {
    pub seat: String,
    pub participant_id: Option<String>,
    pub name: String,
    pub role: String,
    pub side: Option<Side>,
    pub presence: String,
    pub presence_since: i64,
    pub hand_raised: bool,
    pub chair_muted_audio: bool,
    pub chair_muted_video: bool,
    pub warnings: u32,
    pub identity: Option<IdentityView>,
    pub device_check: Option<DeviceCheckView>,
    pub discipline_ack_at: Option<i64>,
}
