//! The hearing room's signaling protocol (WebSocket, JSON text frames), as values: parse
//! and validate what a client sends, and decide whether it is allowed in the session's
//! current state. The socket handler only moves bytes; every rule is here and is tested
//! (and fuzzed) without a socket. `docs/signaling.md` describes the protocol for client
//! authors.

use serde::{Deserialize, Serialize};

/// Largest text frame accepted from a client (an SDP offer with simulcast is ~10 KB).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// A long hearing adds an m-line per forwarded track (inactive ones are not yet reused);
/// Chrome repeats its codec list on each, about 2 KB per m-line.
pub const MAX_SDP_BYTES: usize = 60 * 1024;
pub const MAX_CANDIDATE_BYTES: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Audio,
    Video,
}

/// Client → server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// First message: take this session's seat in the hearing.
    Join {
        #[serde(default)]
        audio_only: bool,
    },
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    /// A trickled ICE candidate; an empty `candidate` means end of candidates.
    Candidate {
        candidate: String,
        #[serde(default)]
        sdp_mid: Option<String>,
        #[serde(default)]
        sdp_mline_index: Option<u16>,
    },
    Mute {
        kind: MediaKind,
        muted: bool,
    },
    /// How large the client shows another participant's video (0 hides it).
    ViewSize {
        participant_id: String,
        height: u16,
    },
    AudioOnly {
        enabled: bool,
    },
    Leave,
    Ping,
    /// Raise or lower a hand (shown to staff).
    RaiseHand {
        raised: bool,
    },
    /// Start or stop sharing the screen (desktop); the screen is the next video track.
    ScreenShare {
        active: bool,
    },
    /// A private message to the chair and the clerk.
    Help {
        text: String,
    },
    /// A chair/staff action (see [`crate::hearing::controls`]).
    Control {
        command: crate::hearing::controls::ControlCommand,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftReason {
    /// Pressed leave.
    Left,
    /// Removed by the chair.
    Removed,
    /// The network was lost and the seat's grace period ran out.
    Timeout,
    /// The same person joined again from a new connection (reload, new network).
    Rejoined,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityLevel {
    Good,
    Fair,
    Poor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    pub participant_id: String,
    /// `user:<id>` or `invitation:<id>`.
    #[serde(default)]
    pub seat: String,
    pub name: String,
    pub role: String,
    pub audio_muted: bool,
    pub video_muted: bool,
    pub reconnecting: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Server → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Joined {
        participant_id: String,
        participants: Vec<ParticipantInfo>,
        ice_servers: Vec<IceServer>,
    },
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Candidate {
        candidate: String,
        sdp_mid: Option<String>,
        sdp_mline_index: Option<u16>,
    },
    ParticipantJoined {
        participant: ParticipantInfo,
    },
    ParticipantReconnecting {
        participant_id: String,
    },
    ParticipantLeft {
        participant_id: String,
        reason: LeftReason,
    },
    TrackPublished {
        participant_id: String,
        track_id: String,
        kind: MediaKind,
        simulcast: bool,
    },
    TrackUnpublished {
        participant_id: String,
        track_id: String,
    },
    MuteState {
        participant_id: String,
        kind: MediaKind,
        muted: bool,
        by_chair: bool,
    },
    Quality {
        participant_id: String,
        level: QualityLevel,
        rtt_ms: u32,
        loss_permille: u16,
    },
    Error {
        code: String,
        message: String,
    },
    Pong,
    HearingState(Box<crate::hearing::messages::HearingStateView>),
    /// In the waiting room: `admission` (until staff admit) or `witness` (until called).
    Waiting {
        reason: String,
    },
    Admitted,
    Denied {
        reason: String,
    },
    ReverifyRequested,
    Removed {
        reason: String,
    },
    /// The chair muted (or released) this participant's audio or video.
    ChairMute {
        kind: MediaKind,
        muted: bool,
    },
    /// Staff only: every seat with its presence, identity and checks.
    Roster {
        seats: Vec<crate::hearing::messages::SeatView>,
    },
    /// Staff only (chair and clerk): a party's private request for help.
    HelpMessage {
        seat: String,
        name: String,
        text: String,
        at: i64,
    },
    /// A document sent to this participant's phone for signature during the hearing
    /// (当庭调解): the page opens it over the room.
    DocumentPush {
        document_id: i64,
        title: String,
        url: String,
    },
    /// Staff only: a signature, refusal or seal arrived on a document of this hearing.
    DocumentUpdate {
        update: serde_json::Value,
    },
    /// Staff only (chair and clerk): the recording storage is low, nearly full, paused,
    /// or back to normal (`hearing::messages::StorageNotice`).
    RecordingStorage {
        notice: serde_json::Value,
    },
    HearingEnded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalError {
    pub code: &'static str,
    pub message: String,
}

impl SignalError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn to_message(&self) -> ServerMessage {
        ServerMessage::Error {
            code: self.code.to_string(),
            message: self.message.clone(),
        }
    }
}

/// Parse and validate one text frame.
pub fn parse(frame: &str) -> Result<ClientMessage, SignalError> {
    if frame.len() > MAX_MESSAGE_BYTES {
        return Err(SignalError::new(
            "message_too_large",
            format!("消息过大 / message larger than {MAX_MESSAGE_BYTES} bytes"),
        ));
    }
    let msg: ClientMessage = serde_json::from_str(frame).map_err(|e| {
        if e.to_string().contains("unknown variant") {
            SignalError::new("unknown_message", "未知的消息类型 / unknown message type")
        } else {
            SignalError::new(
                "bad_message",
                format!("消息格式错误 / malformed message: {e}"),
            )
        }
    })?;
    validate(&msg)?;
    Ok(msg)
}

fn validate(msg: &ClientMessage) -> Result<(), SignalError> {
    match msg {
        ClientMessage::Offer { sdp } | ClientMessage::Answer { sdp } => {
            if sdp.len() > MAX_SDP_BYTES {
                return Err(SignalError::new("bad_sdp", "SDP 过大 / SDP too large"));
            }
            if !sdp.starts_with("v=0") || sdp.contains('\0') {
                return Err(SignalError::new(
                    "bad_sdp",
                    "不是有效的 SDP / not an SDP session description",
                ));
            }
        }
        ClientMessage::Candidate {
            candidate, sdp_mid, ..
        } => {
            if candidate.len() > MAX_CANDIDATE_BYTES
                || !(candidate.is_empty() || candidate.starts_with("candidate:"))
                || candidate.contains(['\r', '\n', '\0'])
            {
                return Err(SignalError::new(
                    "bad_candidate",
                    "不是有效的 ICE 候选 / not an ICE candidate",
                ));
            }
            if sdp_mid.as_ref().is_some_and(|m| m.len() > 32) {
                return Err(SignalError::new(
                    "bad_candidate",
                    "sdp_mid 过长 / sdp_mid too long",
                ));
            }
        }
        ClientMessage::ViewSize {
            participant_id,
            height,
        } if participant_id.is_empty() || participant_id.len() > 64 || *height > 4320 => {
            return Err(SignalError::new(
                "bad_message",
                "view_size 参数无效 / invalid view_size",
            ));
        }
        ClientMessage::Help { text }
            if text.trim().is_empty() || text.chars().count() > 500 || text.contains('\0') =>
        {
            return Err(SignalError::new(
                "bad_message",
                "求助内容须为 1–500 字 / help text must be 1–500 characters",
            ));
        }
        ClientMessage::Control { command } => {
            if let Err((code, message)) = command.validate() {
                return Err(SignalError::new(code, message));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Where a signaling session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Socket open, no seat yet.
    Connected,
    /// Seat taken; media may be negotiated.
    Joined,
    /// Left: nothing more is accepted.
    Closed,
}

/// May `msg` be sent now? Returns the state after it.
pub fn next_state(state: SessionState, msg: &ClientMessage) -> Result<SessionState, SignalError> {
    use ClientMessage as M;
    use SessionState as S;
    match (state, msg) {
        (S::Closed, _) => Err(SignalError::new(
            "closed",
            "会话已结束 / the session has ended",
        )),
        (_, M::Ping) => Ok(state),
        (S::Connected, M::Join { .. }) => Ok(S::Joined),
        (S::Connected, _) => Err(SignalError::new(
            "not_joined",
            "请先加入庭审 / send join first",
        )),
        (S::Joined, M::Join { .. }) => Err(SignalError::new(
            "already_joined",
            "已加入 / already joined",
        )),
        (S::Joined, M::Leave) => Ok(S::Closed),
        (S::Joined, _) => Ok(S::Joined),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_message() {
        assert_eq!(
            parse(r#"{"type":"join"}"#).unwrap(),
            ClientMessage::Join { audio_only: false }
        );
        assert_eq!(
            parse(r#"{"type":"offer","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}"#).unwrap(),
            ClientMessage::Offer {
                sdp: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n".into()
            }
        );
        assert!(matches!(parse(r#"{"type":"candidate","candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdp_mid":"0","sdp_mline_index":0}"#).unwrap(), ClientMessage::Candidate { .. }));
        assert!(matches!(
            parse(r#"{"type":"candidate","candidate":""}"#).unwrap(),
            ClientMessage::Candidate { .. }
        ));
        assert_eq!(
            parse(r#"{"type":"mute","kind":"audio","muted":true}"#).unwrap(),
            ClientMessage::Mute {
                kind: MediaKind::Audio,
                muted: true
            }
        );
        assert_eq!(parse(r#"{"type":"leave"}"#).unwrap(), ClientMessage::Leave);
    }

    #[test]
    fn refuses_bad_messages_with_codes() {
        assert_eq!(parse("{").unwrap_err().code, "bad_message");
        assert_eq!(
            parse(r#"{"type":"shout"}"#).unwrap_err().code,
            "unknown_message"
        );
        assert_eq!(
            parse(r#"{"type":"join","admin":true}"#).unwrap_err().code,
            "bad_message"
        );
        assert_eq!(
            parse(r#"{"type":"offer","sdp":"hello"}"#).unwrap_err().code,
            "bad_sdp"
        );
        assert_eq!(
            parse(r#"{"type":"candidate","candidate":"a=candidate:x"}"#)
                .unwrap_err()
                .code,
            "bad_candidate"
        );
        let big = format!(
            r#"{{"type":"offer","sdp":"v=0{}"}}"#,
            "x".repeat(MAX_SDP_BYTES)
        );
        assert_eq!(parse(&big).unwrap_err().code, "bad_sdp");
        let huge = format!(
            r#"{{"type":"ping","pad":"{}"}}"#,
            "x".repeat(MAX_MESSAGE_BYTES)
        );
        assert_eq!(parse(&huge).unwrap_err().code, "message_too_large");
    }

    #[test]
    fn state_machine() {
        let offer = ClientMessage::Offer { sdp: "v=0".into() };
        assert_eq!(
            next_state(SessionState::Connected, &offer)
                .unwrap_err()
                .code,
            "not_joined"
        );
        let s = next_state(
            SessionState::Connected,
            &ClientMessage::Join { audio_only: false },
        )
        .unwrap();
        assert_eq!(s, SessionState::Joined);
        assert_eq!(
            next_state(s, &ClientMessage::Join { audio_only: true })
                .unwrap_err()
                .code,
            "already_joined"
        );
        assert_eq!(next_state(s, &offer).unwrap(), SessionState::Joined);
        let closed = next_state(s, &ClientMessage::Leave).unwrap();
        assert_eq!(
            next_state(closed, &ClientMessage::Ping).unwrap_err().code,
            "closed"
        );
    }

    #[test]
    fn server_messages_serialise_with_type_tags() {
        let m = ServerMessage::ParticipantLeft {
            participant_id: "p1".into(),
            reason: LeftReason::Timeout,
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"type":"participant_left","participant_id":"p1","reason":"timeout"}"#
        );
    }
}
