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

/// Staff only (chair and clerk): the recording storage is low, nearly full, or the
/// recording paused; `ok` clears the banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageNotice {
    /// `ok`, `low`, `critical` (below the floor: recording will pause) or `paused`.
    pub kind: String,
    pub free_mb: u64,
    pub minutes_left: Option<u64>,
    /// Why the recording paused (bilingual).
    pub reason: Option<String>,
    /// Bilingual text, `中文 / English`.
    pub text: String,
    pub at: i64,
}

fn halves(s: &str) -> (&str, &str) {
    s.split_once(" / ").unwrap_or((s, s))
}

impl StorageNotice {
    pub fn new(
        level: crate::recording::disk::Level,
        paused: Option<&str>,
        free_bytes: u64,
        minutes_left: Option<u64>,
        at: i64,
    ) -> Self {
        use crate::recording::disk::{Level, MB};
        let mb = free_bytes / MB;
        let (kind, text) = match (paused, level) {
            (Some(reason), _) => {
                let (zh, en) = halves(reason);
                (
                    "paused",
                    format!("{zh}。请立即清理录像存储空间 / {en}. Free up recording storage now"),
                )
            }
            (None, Level::Critical) => (
                "critical",
                format!(
                    "录像存储空间即将用尽（剩余 {mb} MB），录像将暂停 / Recording storage almost full ({mb} MB free): recording will pause"
                ),
            ),
            (None, Level::Low) => (
                "low",
                match minutes_left {
                    Some(n) => format!(
                        "录像存储空间不足：约 {n} 分钟 / Recording storage low: about {n} min left"
                    ),
                    None => format!(
                        "录像存储空间不足：剩余 {mb} MB / Recording storage low: {mb} MB free"
                    ),
                },
            ),
            (None, Level::Ok) => (
                "ok",
                "录像存储空间已恢复正常 / Recording storage back to normal".to_string(),
            ),
        };
        StorageNotice {
            kind: kind.into(),
            free_mb: mb,
            minutes_left,
            reason: paused.map(str::to_string),
            text,
            at,
        }
    }

    /// As the message that reaches the chair console.
    pub fn to_message(&self) -> crate::media::signaling::ServerMessage {
        crate::media::signaling::ServerMessage::RecordingStorage {
            notice: serde_json::to_value(self).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::disk::{Level, MB};

    #[test]
    fn storage_notices_say_how_long_is_left() {
        let n = StorageNotice::new(Level::Low, None, 900 * MB, Some(12), 1);
        assert_eq!(n.kind, "low");
        assert_eq!(
            n.text,
            "录像存储空间不足：约 12 分钟 / Recording storage low: about 12 min left"
        );
        let n = StorageNotice::new(Level::Low, None, 900 * MB, None, 1);
        assert!(n.text.contains("剩余 900 MB"), "{}", n.text);
        let n = StorageNotice::new(
            Level::Critical,
            Some("录像存储空间已满，录像暂停 / recording storage full: recording paused"),
            0,
            Some(0),
            1,
        );
        assert_eq!(n.kind, "paused");
        assert!(
            n.text.starts_with("录像存储空间已满，录像暂停。")
                && n.text.contains(" / recording storage full"),
            "{}",
            n.text
        );
        match n.to_message() {
            crate::media::signaling::ServerMessage::RecordingStorage { notice } => {
                assert_eq!(notice["kind"], "paused")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(StorageNotice::new(Level::Ok, None, 0, None, 1).kind, "ok");
    }
}
