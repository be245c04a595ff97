//! One hearing room's procedure state and every rule that changes it. Each method checks
//! the request against the state and returns [`Effect`]s (messages, media commands,
//! records to write) instead of performing them, so the whole procedure — admission,
//! mutes, side rooms, phases, presence — is tested here without sockets or a database.
//! `registry` carries the effects out, and writes every `Record` to both the hearing's
//! timeline and the audit log.

use super::controls::{self, ControlCommand};
use super::messages::{
    CaucusView, DeviceCheckView, ExhibitView, HearingStateView, IdentityView, RECORDING_NOTICE,
    ScreenShareView, SeatView,
};
use super::phase::{self, Phase, PhaseError};
use super::presence::{self, Presence, PresenceEvent};
use crate::domain::roles::Side;
use crate::media::routing::MAIN_ROOM;
use crate::media::signaling::{LeftReason, MediaKind, ServerMessage};
use crate::sfu::MediaControl;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub type ConnId = u64;

/// The side room's group id in the media core.
pub const SIDE_ROOM: u32 = 1;

/// Who sits in a seat, as verified when they connected.
#[derive(Debug, Clone, PartialEq)]
pub struct SeatInfo {
    pub key: String,
    pub name: String,
    pub role: String,
    pub side: Option<Side>,
    pub invitation_id: Option<i64>,
    pub identity: Option<IdentityView>,
    pub device_check: Option<DeviceCheckView>,
    pub discipline_ack_at: Option<i64>,
}

impl SeatInfo {
    pub fn is_staff(&self) -> bool {
        controls::is_staff_role(&self.role)
    }
}

#[derive(Debug, Clone)]
pub struct SeatState {
    pub info: SeatInfo,
    pub presence: Presence,
    pub presence_since: i64,
    pub conn: Option<ConnId>,
    pub participant: Option<u64>,
    /// Let into the room (and not since sent back): may come back after a reload or a
    /// network loss without waiting again, even into a locked room.
    pub admitted: bool,
    pub hand_raised: bool,
    pub chair_muted_audio: bool,
    pub chair_muted_video: bool,
    pub warnings: u32,
}

#[derive(Debug, Clone)]
pub struct Caucus {
    pub side: Side,
    pub members: Vec<String>,
    pub opened_at: i64,
}

/// The one who gives a command.
#[derive(Debug, Clone)]
pub struct Actor {
    pub seat: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send {
        conn: ConnId,
        msg: ServerMessage,
    },
    /// Close the signaling socket (after the messages queued before it).
    Close {
        conn: ConnId,
    },
    /// Give the connection its media seat in the SFU; `media_joined` follows.
    JoinMedia {
        conn: ConnId,
    },
    /// The signaling socket dropped: the SFU holds the media seat for the grace period.
    MediaDisconnected {
        participant: u64,
    },
    LeaveMedia {
        participant: u64,
        reason: LeftReason,
    },
    Media {
        participant: u64,
        control: MediaControl,
    },
    /// One entry on the hearing's timeline and in the audit log.
    Record {
        kind: String,
        target: Option<String>,
        detail: Value,
    },
    SavePhase {
        phase: Phase,
        at: i64,
    },
    SaveLock {
        locked: bool,
    },
    SaveRemoval {
        seat: String,
        reason: String,
    },
    /// Sign the invitation's sessions out, so the party must verify its identity again.
    EndSessions {
        invitation_id: i64,
    },
    /// The hearing ended: close and seal its recording.
    SealRecording,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomError {
    pub code: &'static str,
    pub message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> RoomError {
    RoomError {
        code,
        message: message.into(),
    }
}

fn record(kind: &str, target: Option<&str>, detail: Value) -> Effect {
    Effect::Record {
        kind: kind.to_string(),
        target: target.map(str::to_string),
        detail,
    }
}

pub fn public_id(participant: u64) -> String {
    crate::sfu::participant::Participant::public_id(participant)
}

#[derive(Debug, Clone)]
pub struct RoomState {
    pub hearing: i64,
    pub case_numbers: Vec<String>,
    pub phase: Phase,
    pub phase_since: i64,
    pub locked: bool,
    pub paused: Option<String>,
    pub ended: bool,
    /// Commission setting: are side rooms recorded (default no: concessions made in
    /// mediation may not be used against a party later).
    pub record_caucus: bool,
    pub caucus: Option<Caucus>,
    pub exhibit: Option<ExhibitView>,
    /// The seat sharing its screen, and since when.
    pub screen_share: Option<(String, i64)>,
    pub seats: BTreeMap<String, SeatState>,
    /// Seats the chair removed, with the reason: they may not come back.
    pub removed: BTreeMap<String, String>,
    pub grace_ms: i64,
}

impl RoomState {
    pub fn new(hearing: i64, case_numbers: Vec<String>, phase: Phase, phase_since: i64) -> Self {
        Self {
            hearing,
            case_numbers,
            phase,
            phase_since,
            locked: false,
            paused: None,
            ended: phase == Phase::Closed,
            record_caucus: false,
            caucus: None,
            exhibit: None,
            screen_share: None,
            seats: BTreeMap::new(),
            removed: BTreeMap::new(),
            grace_ms: presence::DEFAULT_GRACE_MS as i64,
        }
    }

    fn seat_by_conn(&self, conn: ConnId) -> Option<&SeatState> {
        self.seats.values().find(|s| s.conn == Some(conn))
    }

    fn seat_key_by_conn(&self, conn: ConnId) -> Option<String> {
        self.seat_by_conn(conn).map(|s| s.info.key.clone())
    }

    /// The SFU participant of a connection, once admitted.
    pub fn participant_of(&self, conn: ConnId) -> Option<u64> {
        self.seat_by_conn(conn).and_then(|s| s.participant)
    }

    /// A party may not unmute what the chair muted.
    pub fn mute_held(&self, conn: ConnId, kind: MediaKind) -> bool {
        self.seat_by_conn(conn).is_some_and(|s| match kind {
            MediaKind::Audio => s.chair_muted_audio,
            MediaKind::Video => s.chair_muted_video,
        })
    }

    /// A connection asks for its seat (`join` over the socket).
    pub fn join(
        &mut self,
        conn: ConnId,
        info: SeatInfo,
        now: i64,
    ) -> Result<Vec<Effect>, RoomError> {
        if self.ended {
            return Err(err("hearing_closed", "庭审已结束 / the hearing has ended"));
        }
        if let Some(reason) = self.removed.get(&info.key) {
            return Err(err(
                "removed",
                format!("您已被请出本次庭审（{reason}） / you were removed from this hearing"),
            ));
        }
        let staff = info.is_staff();
        // Observers only watch: no microphone or camera needed.
        if !staff && info.role != "observer" {
            match &info.device_check {
                None => {
                    return Err(err(
                        "device_check_required",
                        "请先完成设备和网络检测 / complete the device check first",
                    ));
                }
                Some(dc) if dc.verdict == "cannot_join" => {
                    return Err(err(
                        "device_check_required",
                        "设备检测未通过，请重新检测 / the device check failed; run it again",
                    ));
                }
                _ => {}
            }
        }
        if !staff && info.discipline_ack_at.is_none() {
            return Err(err(
                "discipline_required",
                "请先阅读并确认庭审纪律 / acknowledge the hearing discipline first",
            ));
        }
        let previous = self.seats.get(&info.key);
        let rejoin = previous.is_some_and(|s| {
            s.admitted
                && matches!(
                    s.presence,
                    Presence::Present | Presence::Reconnecting { .. }
                )
        });
        if self.locked && !staff && !rejoin {
            return Err(err(
                "room_locked",
                "庭审室已锁定，暂不能进入 / the room is locked",
            ));
        }
        let mut fx = Vec::new();
        if let Some(old) = previous.and_then(|s| s.conn)
            && old != conn
        {
            fx.push(Effect::Send {
                conn: old,
                msg: ServerMessage::Error {
                    code: "seat_taken_over".into(),
                    message: "您已在另一连接中加入 / you joined again from another connection"
                        .into(),
                },
            });
            fx.push(Effect::Close { conn: old });
        }
        let key = info.key.clone();
        let witness = info.role == "witness";
        let seat = self.seats.entry(key.clone()).or_insert_with(|| SeatState {
            info: info.clone(),
            presence: Presence::Waiting,
            presence_since: now,
            conn: None,
            participant: None,
            admitted: false,
            hand_raised: false,
            chair_muted_audio: false,
            chair_muted_video: false,
            warnings: 0,
        });
        seat.info = info;
        seat.conn = Some(conn);
        if staff || rejoin {
            let kind = if rejoin {
                "hearing.rejoin"
            } else {
                "hearing.join"
            };
            if seat.presence != Presence::Present {
                seat.presence = Presence::Present;
                seat.presence_since = now;
            }
            seat.admitted = true;
            fx.push(Effect::JoinMedia { conn });
            fx.push(record(kind, Some(&key), json!({"role": seat.info.role})));
        } else {
            seat.presence = Presence::Waiting;
            seat.presence_since = now;
            seat.admitted = false;
            seat.participant = None;
            fx.push(Effect::Send {
                conn,
                msg: ServerMessage::Waiting {
                    reason: if witness { "witness" } else { "admission" }.into(),
                },
            });
            fx.push(record(
                "hearing.waiting_room",
                Some(&key),
                json!({"role": seat.info.role}),
            ));
        }
        fx.extend(self.publish());
        Ok(fx)
    }

    /// The SFU gave the connection media seat `participant`: apply what the procedure
    /// already decided for that seat (chair mutes, side room, observer).
    pub fn media_joined(&mut self, conn: ConnId, participant: u64) -> Vec<Effect> {
        let in_caucus = |key: &str, c: &Option<Caucus>| {
            c.as_ref()
                .is_some_and(|c| c.members.iter().any(|m| m == key))
        };
        let caucus = self.caucus.clone();
        let Some(seat) = self.seats.values_mut().find(|s| s.conn == Some(conn)) else {
            // The socket went away meanwhile.
            return vec![Effect::LeaveMedia {
                participant,
                reason: LeftReason::Left,
            }];
        };
        seat.participant = Some(participant);
        let mut fx = Vec::new();
        let media = |control| Effect::Media {
            participant,
            control,
        };
        if seat.chair_muted_audio {
            fx.push(media(MediaControl::ChairMute {
                kind: MediaKind::Audio,
                muted: true,
            }));
        }
        if seat.chair_muted_video {
            fx.push(media(MediaControl::ChairMute {
                kind: MediaKind::Video,
                muted: true,
            }));
        }
        if seat.info.role == "observer" {
            fx.push(media(MediaControl::ReceiveOnly));
        }
        if in_caucus(&seat.info.key, &caucus) {
            fx.push(media(MediaControl::Group(SIDE_ROOM)));
            fx.push(media(MediaControl::SideRoomRecorded(self.record_caucus)));
        }
        fx.extend(self.publish());
        fx
    }

    /// The socket closed: `on_purpose` when the participant pressed leave.
    pub fn disconnect(&mut self, conn: ConnId, on_purpose: bool, now: i64) -> Vec<Effect> {
        let Some(key) = self.seat_key_by_conn(conn) else {
            return Vec::new();
        };
        let grace = self.grace_ms as u64;
        if self.screen_share.as_ref().is_some_and(|(k, _)| *k == key) {
            self.screen_share = None;
        }
        let seat = self.seats.get_mut(&key).expect("seat found by conn");
        seat.conn = None;
        let mut fx = Vec::new();
        let event = if on_purpose {
            PresenceEvent::Leave
        } else {
            PresenceEvent::ConnectionLost
        };
        let before = seat.presence;
        if let Ok(Some(next)) = presence::apply(before, event, now.max(0) as u64, grace) {
            seat.presence = next;
            seat.presence_since = now;
        }
        match (before, seat.presence) {
            (Presence::Waiting, _) => {
                seat.presence = Presence::Left { at_ms: now as u64 };
                seat.participant = None;
                fx.push(record("hearing.left_waiting_room", Some(&key), json!({})));
            }
            (_, Presence::Left { .. }) => {
                seat.admitted = false;
                if let Some(p) = seat.participant.take() {
                    fx.push(Effect::LeaveMedia {
                        participant: p,
                        reason: LeftReason::Left,
                    });
                }
                fx.push(record(
                    "hearing.leave",
                    Some(&key),
                    json!({"on_purpose": true}),
                ));
            }
            (_, Presence::Reconnecting { .. }) => {
                if let Some(p) = seat.participant {
                    fx.push(Effect::MediaDisconnected { participant: p });
                }
                fx.push(record(
                    "hearing.connection_lost",
                    Some(&key),
                    json!({"grace_ms": grace}),
                ));
            }
            _ => {}
        }
        fx.extend(self.publish());
        fx
    }

    /// Periodic: seats whose grace period ran out become *did not return*.
    pub fn tick(&mut self, now: i64) -> Vec<Effect> {
        let grace = self.grace_ms as u64;
        let mut fx = Vec::new();
        for seat in self.seats.values_mut() {
            if let Ok(Some(
                next @ Presence::DidNotReturn {
                    lost_at_ms,
                    expired_at_ms,
                },
            )) = presence::apply(seat.presence, PresenceEvent::Tick, now.max(0) as u64, grace)
            {
                seat.presence = next;
                seat.presence_since = expired_at_ms as i64;
                seat.admitted = false;
                if let Some(p) = seat.participant.take() {
                    fx.push(Effect::LeaveMedia {
                        participant: p,
                        reason: LeftReason::Timeout,
                    });
                }
                fx.push(record(
                    "hearing.did_not_return",
                    Some(&seat.info.key),
                    json!({"lost_at": lost_at_ms, "grace_expired_at": expired_at_ms}),
                ));
            }
        }
        if !fx.is_empty() {
            fx.extend(self.publish());
        }
        fx
    }

    pub fn raise_hand(&mut self, conn: ConnId, raised: bool) -> Result<Vec<Effect>, RoomError> {
        let key = self.admitted_seat(conn)?;
        let seat = self.seats.get_mut(&key).expect("admitted seat");
        seat.hand_raised = raised;
        let mut fx = vec![record(
            "hearing.hand",
            Some(&key),
            json!({"raised": raised}),
        )];
        fx.extend(self.publish());
        Ok(fx)
    }

    /// A participant turns its own microphone or camera off or on. Only the record
    /// changes here (the media core tells the others): the recording's timeline then says
    /// why a tile went dark or silent, and that it was the participant's own doing.
    pub fn self_mute(
        &self,
        conn: ConnId,
        kind: MediaKind,
        muted: bool,
    ) -> Result<Vec<Effect>, RoomError> {
        let key = self.admitted_seat(conn)?;
        Ok(vec![record(
            "hearing.self_mute",
            Some(&key),
            json!({"kind": kind, "muted": muted}),
        )])
    }

    /// A party's private message: only the chair and the clerk receive it.
    pub fn help(&mut self, conn: ConnId, text: &str, now: i64) -> Result<Vec<Effect>, RoomError> {
        let seat = self
            .seat_by_conn(conn)
            .ok_or_else(|| err("not_joined", "请先加入庭审 / send join first"))?;
        let (key, name) = (seat.info.key.clone(), seat.info.name.clone());
        let mut fx: Vec<Effect> = self
            .seats
            .values()
            .filter(|s| matches!(s.info.role.as_str(), "presiding_arbitrator" | "clerk"))
            .filter_map(|s| s.conn)
            .map(|c| Effect::Send {
                conn: c,
                msg: ServerMessage::HelpMessage {
                    seat: key.clone(),
                    name: name.clone(),
                    text: text.to_string(),
                    at: now,
                },
            })
            .collect();
        fx.push(record("hearing.help", Some(&key), json!({"text": text})));
        Ok(fx)
    }

    /// Staff seats see each signature, refusal or seal of a hearing document arrive.
    pub fn document_update(&self, update: &Value) -> Vec<Effect> {
        self.seats
            .values()
            .filter(|s| s.info.is_staff())
            .filter_map(|s| s.conn)
            .map(|c| Effect::Send {
                conn: c,
                msg: ServerMessage::DocumentUpdate {
                    update: update.clone(),
                },
            })
            .collect()
    }

    /// Send a document to the phones of the admitted participants holding the given
    /// party roles (the signers of a mediation agreement, say); the record names who
    /// received it.
    pub fn push_document(
        &mut self,
        roles: &[&str],
        document_id: i64,
        title: &str,
    ) -> Result<Vec<Effect>, RoomError> {
        let targets: Vec<(String, ConnId)> = self
            .seats
            .values()
            .filter(|s| roles.contains(&s.info.role.as_str()) && s.admitted)
            .filter_map(|s| s.conn.map(|c| (s.info.key.clone(), c)))
            .collect();
        if targets.is_empty() {
            return Err(err(
                "no_signer_present",
                "签署人不在庭审中 / none of the signers is in the hearing room",
            ));
        }
        let mut fx: Vec<Effect> = targets
            .iter()
            .map(|(_, c)| Effect::Send {
                conn: *c,
                msg: ServerMessage::DocumentPush {
                    document_id,
                    title: title.to_string(),
                    url: format!("/sign/{document_id}"),
                },
            })
            .collect();
        let seats: Vec<String> = targets.into_iter().map(|(k, _)| k).collect();
        fx.push(record(
            "hearing.document_pushed",
            None,
            json!({"document_id": document_id, "title": title, "seats": seats}),
        ));
        Ok(fx)
    }

    /// A participant starts or stops sharing its screen (shown to everyone as an exhibit
    /// and marked on the record). One at a time.
    pub fn screen_share(
        &mut self,
        conn: ConnId,
        active: bool,
        now: i64,
    ) -> Result<Vec<Effect>, RoomError> {
        let key = self.admitted_seat(conn)?;
        match (&self.screen_share, active) {
            (Some((other, _)), true) if *other != key => {
                return Err(err(
                    "screen_share_busy",
                    "已有人在共享屏幕 / someone else is sharing their screen",
                ));
            }
            (Some((other, _)), false) if *other != key => return Ok(Vec::new()),
            (None, false) => return Ok(Vec::new()),
            _ => {}
        }
        let kind = if active {
            self.screen_share = Some((key.clone(), now));
            "hearing.screen_share_started"
        } else {
            self.screen_share = None;
            "hearing.screen_share_stopped"
        };
        let mut fx = vec![record(kind, Some(&key), json!({"at": now}))];
        fx.extend(self.publish());
        Ok(fx)
    }

    fn admitted_seat(&self, conn: ConnId) -> Result<String, RoomError> {
        match self.seat_by_conn(conn) {
            Some(s) if s.presence == Presence::Present => Ok(s.info.key.clone()),
            Some(_) => Err(err("not_admitted", "尚未获准入庭 / not admitted yet")),
            None => Err(err("not_joined", "请先加入庭审 / send join first")),
        }
    }

    /// Refuse media negotiation before admission.
    pub fn check_admitted(&self, conn: ConnId) -> Result<(), RoomError> {
        self.admitted_seat(conn).map(|_| ())
    }

    /// A staff command. `exhibit` is the exhibit `show_exhibit` names, looked up by the
    /// caller (it lives in the database).
    pub fn control(
        &mut self,
        actor: &Actor,
        cmd: &ControlCommand,
        exhibit: Option<ExhibitView>,
        now: i64,
    ) -> Result<Vec<Effect>, RoomError> {
        if !controls::allowed(&actor.role, cmd) {
            return Err(err(
                "forbidden",
                "您无权进行此操作 / you may not do this in the hearing",
            ));
        }
        cmd.validate().map_err(|(code, m)| err(code, m))?;
        if self.ended {
            return Err(err("hearing_closed", "庭审已结束 / the hearing has ended"));
        }
        use ControlCommand as C;
        let mut fx = Vec::new();
        let action = format!("hearing.{}", cmd.action());
        match cmd {
            C::Admit { seat } | C::CallWitness { seat } => {
                let witness_call = matches!(cmd, C::CallWitness { .. });
                let s = self.seat_mut(seat)?;
                let conn = match (s.presence, s.conn) {
                    (Presence::Waiting, Some(c)) => c,
                    _ => {
                        return Err(err(
                            "not_waiting",
                            "此人不在候审室 / not in the waiting room",
                        ));
                    }
                };
                if (s.info.role == "witness") != witness_call {
                    return Err(if witness_call {
                        err("not_witness", "此人不是证人 / not a witness")
                    } else {
                        err(
                            "not_waiting",
                            "证人须由首席仲裁员传唤 / a witness is called, not admitted",
                        )
                    });
                }
                s.presence = Presence::Present;
                s.presence_since = now;
                s.admitted = true;
                fx.push(Effect::Send {
                    conn,
                    msg: ServerMessage::Admitted,
                });
                fx.push(Effect::JoinMedia { conn });
                fx.push(record(&action, Some(seat), json!({"by": actor.seat})));
            }
            // seat_mut answers unknown_seat itself.
            C::Deny { seat, .. } | C::Reverify { seat } => {
                let reason = match cmd {
                    C::Deny { reason, .. } => Some(reason.clone()),
                    _ => None,
                };
                let s = self.seat_mut(seat)?;
                let conn = match (s.presence, s.conn) {
                    (Presence::Waiting, Some(c)) => c,
                    _ => {
                        return Err(err(
                            "not_waiting",
                            "此人不在候审室 / not in the waiting room",
                        ));
                    }
                };
                s.presence = Presence::Left { at_ms: now as u64 };
                s.presence_since = now;
                s.conn = None;
                let msg = match &reason {
                    Some(r) => ServerMessage::Denied { reason: r.clone() },
                    None => ServerMessage::ReverifyRequested,
                };
                if reason.is_none()
                    && let Some(inv) = s.info.invitation_id
                {
                    fx.push(Effect::EndSessions { invitation_id: inv });
                }
                fx.push(Effect::Send { conn, msg });
                fx.push(Effect::Close { conn });
                fx.push(record(
                    &action,
                    Some(seat),
                    json!({"by": actor.seat, "reason": reason}),
                ));
            }
            C::Mute { seat, kind, muted } => {
                fx.extend(self.chair_mute(seat, *kind, *muted)?);
                fx.push(record(
                    &action,
                    Some(seat),
                    json!({"by": actor.seat, "kind": kind, "muted": muted}),
                ));
            }
            C::MuteParties { kind } => {
                let parties: Vec<String> = self
                    .seats
                    .values()
                    .filter(|s| controls::is_party_role(&s.info.role))
                    .map(|s| s.info.key.clone())
                    .collect();
                for seat in &parties {
                    fx.extend(self.chair_mute(seat, *kind, true)?);
                }
                fx.push(record(
                    &action,
                    None,
                    json!({"by": actor.seat, "kind": kind, "seats": parties}),
                ));
            }
            C::Remove { seat, reason } => {
                let s = self.seat_mut(seat)?;
                if s.info.is_staff() {
                    return Err(err(
                        "forbidden",
                        "不能请出庭审工作人员 / staff cannot be removed",
                    ));
                }
                s.presence = Presence::Removed { at_ms: now as u64 };
                s.presence_since = now;
                s.admitted = false;
                if let Some(conn) = s.conn.take() {
                    fx.push(Effect::Send {
                        conn,
                        msg: ServerMessage::Removed {
                            reason: reason.clone(),
                        },
                    });
                    fx.push(Effect::Close { conn });
                }
                if let Some(p) = s.participant.take() {
                    fx.push(Effect::LeaveMedia {
                        participant: p,
                        reason: LeftReason::Removed,
                    });
                }
                self.removed.insert(seat.clone(), reason.clone());
                fx.push(Effect::SaveRemoval {
                    seat: seat.clone(),
                    reason: reason.clone(),
                });
                fx.push(record(
                    &action,
                    Some(seat),
                    json!({"by": actor.seat, "reason": reason}),
                ));
            }
            C::Lock { locked } => {
                self.locked = *locked;
                fx.push(Effect::SaveLock { locked: *locked });
                fx.push(record(
                    &action,
                    None,
                    json!({"by": actor.seat, "locked": locked}),
                ));
            }
            C::DismissWitness { seat } => {
                let s = self.seat_mut(seat)?;
                if s.info.role != "witness" || s.presence != Presence::Present {
                    return Err(err(
                        "not_witness",
                        "此人不是在庭证人 / not a witness in the room",
                    ));
                }
                s.presence = Presence::Waiting;
                s.presence_since = now;
                s.admitted = false;
                if let Some(p) = s.participant.take() {
                    fx.push(Effect::LeaveMedia {
                        participant: p,
                        reason: LeftReason::Left,
                    });
                }
                if let Some(conn) = s.conn {
                    fx.push(Effect::Send {
                        conn,
                        msg: ServerMessage::Waiting {
                            reason: "witness".into(),
                        },
                    });
                }
                fx.push(record(&action, Some(seat), json!({"by": actor.seat})));
            }
            C::Pause { reason } => {
                self.paused = Some(reason.clone());
                fx.push(record(
                    &action,
                    None,
                    json!({"by": actor.seat, "reason": reason}),
                ));
            }
            C::Resume => {
                if self.paused.take().is_none() {
                    return Err(err("not_paused", "庭审未暂停 / the hearing is not paused"));
                }
                fx.push(record(&action, None, json!({"by": actor.seat})));
            }
            C::Phase { phase: to, reason } => {
                fx.extend(self.change_phase(actor, *to, reason.as_deref(), now)?);
            }
            C::End { reason } => {
                fx.extend(self.change_phase(actor, Phase::Closed, reason.as_deref(), now)?);
            }
            C::CaucusOpen { side } => {
                if self.caucus.is_some() {
                    return Err(err(
                        "caucus_open",
                        "已有背对背调解在进行 / a side room is already open",
                    ));
                }
                let mut members: Vec<String> = self
                    .seats
                    .values()
                    .filter(|s| s.info.side == Some(*side) && !s.info.is_staff())
                    .map(|s| s.info.key.clone())
                    .collect();
                if members.is_empty() {
                    return Err(err(
                        "unknown_seat",
                        "该方没有人在庭 / nobody of that side is here",
                    ));
                }
                if self.seats.contains_key(&actor.seat) {
                    members.push(actor.seat.clone());
                }
                for m in &members {
                    if let Some(p) = self.seats.get(m).and_then(|s| s.participant) {
                        fx.push(Effect::Media {
                            participant: p,
                            control: MediaControl::Group(SIDE_ROOM),
                        });
                        fx.push(Effect::Media {
                            participant: p,
                            control: MediaControl::SideRoomRecorded(self.record_caucus),
                        });
                    }
                }
                fx.push(record(
                    "hearing.caucus_opened",
                    None,
                    json!({"by": actor.seat, "side": side, "members": members, "recorded": self.record_caucus}),
                ));
                self.caucus = Some(Caucus {
                    side: *side,
                    members,
                    opened_at: now,
                });
            }
            C::CaucusClose => {
                let Some(c) = self.caucus.take() else {
                    return Err(err(
                        "no_caucus",
                        "没有进行中的背对背调解 / no side room is open",
                    ));
                };
                for m in &c.members {
                    if let Some(p) = self.seats.get(m).and_then(|s| s.participant) {
                        fx.push(Effect::Media {
                            participant: p,
                            control: MediaControl::Group(MAIN_ROOM),
                        });
                    }
                }
                fx.push(record(
                    "hearing.caucus_closed",
                    None,
                    json!({"by": actor.seat, "side": c.side, "opened_at": c.opened_at, "duration_ms": now - c.opened_at}),
                ));
            }
            C::Warn { seat, note } => {
                let s = self.seat_mut(seat)?;
                s.warnings += 1;
                let presence = s.presence.label();
                fx.push(record(
                    &action,
                    Some(seat),
                    json!({"by": actor.seat, "note": note, "presence": presence}),
                ));
            }
            C::ShowExhibit { exhibit_id } => {
                let Some(view) = exhibit.filter(|e| e.id == *exhibit_id) else {
                    return Err(err("unknown_exhibit", "没有这份证据 / no such exhibit"));
                };
                fx.push(record(
                    &action,
                    Some(&format!("exhibit:{exhibit_id}")),
                    json!({"by": actor.seat, "name": view.name}),
                ));
                self.exhibit = Some(view);
            }
            C::HideExhibit => {
                self.exhibit = None;
                fx.push(record(&action, None, json!({"by": actor.seat})));
            }
        }
        fx.extend(self.publish());
        Ok(fx)
    }

    fn seat_mut(&mut self, key: &str) -> Result<&mut SeatState, RoomError> {
        self.seats
            .get_mut(key)
            .ok_or_else(|| err("unknown_seat", "没有这个席位 / no such seat"))
    }

    fn chair_mute(
        &mut self,
        seat: &str,
        kind: MediaKind,
        muted: bool,
    ) -> Result<Vec<Effect>, RoomError> {
        let s = self.seat_mut(seat)?;
        if s.info.role == "presiding_arbitrator" {
            return Err(err(
                "forbidden",
                "不能静音首席仲裁员 / the chair cannot be muted",
            ));
        }
        match kind {
            MediaKind::Audio => s.chair_muted_audio = muted,
            MediaKind::Video => s.chair_muted_video = muted,
        }
        let mut fx = Vec::new();
        if let Some(p) = s.participant {
            fx.push(Effect::Media {
                participant: p,
                control: MediaControl::ChairMute { kind, muted },
            });
        }
        if let Some(conn) = s.conn {
            fx.push(Effect::Send {
                conn,
                msg: ServerMessage::ChairMute { kind, muted },
            });
        }
        Ok(fx)
    }

    fn change_phase(
        &mut self,
        actor: &Actor,
        to: Phase,
        reason: Option<&str>,
        now: i64,
    ) -> Result<Vec<Effect>, RoomError> {
        let from = self.phase;
        let how = phase::change(from, to, reason).map_err(|e| match e {
            PhaseError::HearingClosed => err("hearing_closed", e.to_string()),
            PhaseError::NoChange => err("bad_phase", e.to_string()),
            PhaseError::ReasonRequired { .. } => err("reason_required", e.to_string()),
        })?;
        self.phase = to;
        self.phase_since = now;
        let mut fx = vec![
            Effect::SavePhase { phase: to, at: now },
            record(
                "hearing.phase",
                None,
                json!({"by": actor.seat, "from": from, "to": to, "label": to.label_zh(), "move": format!("{how:?}").to_lowercase(), "reason": reason, "at": now}),
            ),
        ];
        if to == Phase::Closed {
            fx.extend(self.end(now));
        }
        Ok(fx)
    }

    /// 闭庭: everyone is told and leaves; nothing more is accepted.
    fn end(&mut self, now: i64) -> Vec<Effect> {
        self.ended = true;
        let mut fx = self.publish();
        for s in self.seats.values_mut() {
            if let Some(conn) = s.conn.take() {
                fx.push(Effect::Send {
                    conn,
                    msg: ServerMessage::HearingEnded,
                });
                fx.push(Effect::Close { conn });
            }
            if let Some(p) = s.participant.take() {
                fx.push(Effect::LeaveMedia {
                    participant: p,
                    reason: LeftReason::Left,
                });
            }
            if matches!(
                s.presence,
                Presence::Present | Presence::Waiting | Presence::Reconnecting { .. }
            ) {
                s.presence = Presence::Left { at_ms: now as u64 };
                s.presence_since = now;
            }
        }
        fx.push(record("hearing.ended", None, json!({"at": now})));
        fx.push(Effect::SealRecording);
        fx
    }

    fn state_for(&self, seat: &SeatState) -> HearingStateView {
        HearingStateView {
            phase: self.phase,
            phase_label: self.phase.label_zh().to_string(),
            phase_since: self.phase_since,
            case_numbers: self.case_numbers.clone(),
            locked: self.locked,
            paused: self.paused.is_some(),
            pause_reason: self.paused.clone(),
            ended: self.ended,
            recording_notice: RECORDING_NOTICE.to_string(),
            caucus: self.caucus.as_ref().map(|c| CaucusView {
                side: c.side,
                participant_ids: c
                    .members
                    .iter()
                    .filter_map(|m| self.seats.get(m).and_then(|s| s.participant))
                    .map(public_id)
                    .collect(),
                recorded: self.record_caucus,
                opened_at: c.opened_at,
            }),
            exhibit: self.exhibit.clone(),
            screen_share: self.screen_share.as_ref().and_then(|(key, since)| {
                let s = self.seats.get(key)?;
                Some(ScreenShareView {
                    participant_id: s.participant.map(public_id),
                    seat: key.clone(),
                    name: s.info.name.clone(),
                    since: *since,
                })
            }),
            my_seat: seat.info.key.clone(),
            my_role: seat.info.role.clone(),
        }
    }

    pub fn roster(&self) -> Vec<SeatView> {
        let mut seats: Vec<SeatView> = self
            .seats
            .values()
            .map(|s| SeatView {
                seat: s.info.key.clone(),
                participant_id: s.participant.map(public_id),
                name: s.info.name.clone(),
                role: s.info.role.clone(),
                side: s.info.side,
                presence: s.presence.label().to_string(),
                presence_since: s.presence_since,
                hand_raised: s.hand_raised,
                chair_muted_audio: s.chair_muted_audio,
                chair_muted_video: s.chair_muted_video,
                warnings: s.warnings,
                identity: s.info.identity.clone(),
                device_check: s.info.device_check.clone(),
                discipline_ack_at: s.info.discipline_ack_at,
            })
            .collect();
        // The chair first, then staff, then everyone else.
        let rank = |r: &str| match r {
            "presiding_arbitrator" => 0,
            r if controls::is_staff_role(r) => 1,
            _ => 2,
        };
        seats.sort_by_key(|s| rank(&s.role));
        seats
    }

    /// Tell everyone connected the hearing's state, and staff the roster.
    pub fn publish(&self) -> Vec<Effect> {
        let roster = self.roster();
        let mut fx = Vec::new();
        for s in self.seats.values() {
            let Some(conn) = s.conn else { continue };
            fx.push(Effect::Send {
                conn,
                msg: ServerMessage::HearingState(Box::new(self.state_for(s))),
            });
            if s.info.is_staff() {
                fx.push(Effect::Send {
                    conn,
                    msg: ServerMessage::Roster {
                        seats: roster.clone(),
                    },
                });
            }
        }
        fx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::signaling::ServerMessage as M;

    fn staff(id: i64, role: &str) -> SeatInfo {
        SeatInfo {
            key: format!("user:{id}"),
            name: format!("staff{id}"),
            role: role.into(),
            side: None,
            invitation_id: None,
            identity: None,
            device_check: None,
            discipline_ack_at: None,
        }
    }

    fn party(inv: i64, role: &str, side: Option<Side>) -> SeatInfo {
        SeatInfo {
            key: format!("invitation:{inv}"),
            name: format!("party{inv}"),
            role: role.into(),
            side,
            invitation_id: Some(inv),
            identity: None,
            device_check: Some(DeviceCheckView {
                verdict: "good".into(),
                camera: true,
                microphone: true,
                rtt_ms: 50,
                down_kbps: 5000,
                up_kbps: 2000,
                checked_at: 1,
            }),
            discipline_ack_at: Some(2),
        }
    }

    fn actor(id: i64, role: &str) -> Actor {
        Actor {
            seat: format!("user:{id}"),
            role: role.into(),
        }
    }

    fn sent_to(fx: &[Effect], conn: ConnId) -> Vec<&M> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Send { conn: c, msg } if *c == conn => Some(msg),
                _ => None,
            })
            .collect()
    }

    fn records(fx: &[Effect]) -> Vec<&str> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Record { kind, .. } => Some(kind.as_str()),
                _ => None,
            })
            .collect()
    }

    const CHAIR: ConnId = 1;
    const CLERK: ConnId = 2;
    const MEDIATOR: ConnId = 3;
    const APPLICANT: ConnId = 10;
    const AGENT: ConnId = 11;
    const RESPONDENT: ConnId = 12;

    /// Chair, clerk and mediator in the room (participants 1–3); applicant + agent and
    /// respondent admitted (participants 10–12).
    fn room_in_session() -> RoomState {
        let mut r = RoomState::new(
            7,
            vec!["穗劳人仲案〔2026〕1号".into()],
            Phase::CheckAttendance,
            0,
        );
        r.join(CHAIR, staff(1, "presiding_arbitrator"), 0).unwrap();
        r.media_joined(CHAIR, 1);
        r.join(CLERK, staff(2, "clerk"), 0).unwrap();
        r.media_joined(CLERK, 2);
        r.join(MEDIATOR, staff(3, "mediator"), 0).unwrap();
        r.media_joined(MEDIATOR, 3);
        for (conn, info) in [
            (APPLICANT, party(10, "applicant", Some(Side::Applicant))),
            (AGENT, party(11, "agent", Some(Side::Applicant))),
            (RESPONDENT, party(12, "respondent", Some(Side::Respondent))),
        ] {
            let key = info.key.clone();
            r.join(conn, info, 0).unwrap();
            r.control(
                &actor(2, "clerk"),
                &ControlCommand::Admit { seat: key },
                None,
                1,
            )
            .unwrap();
            r.media_joined(conn, conn);
        }
        r
    }

    #[test]
    fn staff_enter_directly_parties_wait_for_admission() {
        let mut r = RoomState::new(7, vec![], Phase::CheckAttendance, 0);
        let fx = r.join(CHAIR, staff(1, "presiding_arbitrator"), 5).unwrap();
        assert!(fx.contains(&Effect::JoinMedia { conn: CHAIR }));
        let fx = r
            .join(APPLICANT, party(10, "applicant", Some(Side::Applicant)), 6)
            .unwrap();
        assert!(!fx.iter().any(|e| matches!(e, Effect::JoinMedia { .. })));
        assert!(sent_to(&fx, APPLICANT).contains(&&M::Waiting {
            reason: "admission".into()
        }));
        // Staff see the waiting party, with its checks, in the roster.
        let roster = sent_to(&fx, CHAIR)
            .into_iter()
            .find_map(|m| match m {
                M::Roster { seats } => Some(seats.clone()),
                _ => None,
            })
            .unwrap();
        let waiting = roster.iter().find(|s| s.seat == "invitation:10").unwrap();
        assert_eq!(waiting.presence, "waiting");
        assert_eq!(waiting.device_check.as_ref().unwrap().verdict, "good");
        // The party cannot see the roster, nor negotiate media yet.
        assert!(
            !sent_to(&fx, APPLICANT)
                .iter()
                .any(|m| matches!(m, M::Roster { .. }))
        );
        assert_eq!(
            r.check_admitted(APPLICANT).unwrap_err().code,
            "not_admitted"
        );

        let admit = ControlCommand::Admit {
            seat: "invitation:10".into(),
        };
        // A party cannot admit itself.
        let e = r
            .control(
                &Actor {
                    seat: "invitation:10".into(),
                    role: "applicant".into(),
                },
                &admit,
                None,
                7,
            )
            .unwrap_err();
        assert_eq!(e.code, "forbidden");
        let fx = r
            .control(&actor(1, "presiding_arbitrator"), &admit, None, 8)
            .unwrap();
        assert_eq!(sent_to(&fx, APPLICANT)[0], &M::Admitted);
        assert!(fx.contains(&Effect::JoinMedia { conn: APPLICANT }));
        assert_eq!(records(&fx), vec!["hearing.admit"]);
        assert!(r.check_admitted(APPLICANT).is_ok());
        // Admitting twice is refused.
        assert_eq!(
            r.control(&actor(1, "presiding_arbitrator"), &admit, None, 9)
                .unwrap_err()
                .code,
            "not_waiting"
        );
    }

    #[test]
    fn checks_are_required_before_the_waiting_room() {
        let mut r = RoomState::new(7, vec![], Phase::CheckAttendance, 0);
        let mut p = party(10, "applicant", None);
        p.discipline_ack_at = None;
        assert_eq!(
            r.join(APPLICANT, p.clone(), 0).unwrap_err().code,
            "discipline_required"
        );
        p.device_check = None;
        assert_eq!(
            r.join(APPLICANT, p.clone(), 0).unwrap_err().code,
            "device_check_required"
        );
        let mut bad = party(10, "applicant", None);
        bad.device_check.as_mut().unwrap().verdict = "cannot_join".into();
        assert_eq!(
            r.join(APPLICANT, bad, 0).unwrap_err().code,
            "device_check_required"
        );
        // Observers need no devices, but do acknowledge the discipline.
        let mut obs = party(20, "observer", None);
        obs.device_check = None;
        assert!(r.join(20, obs, 0).is_ok());
        assert!(r.seats.contains_key("invitation:20"));
    }

    #[test]
    fn the_chair_moves_through_every_phase_and_everyone_sees_it() {
        let mut r = room_in_session();
        let chair = actor(1, "presiding_arbitrator");
        // Only the chair moves phases.
        let next = ControlCommand::Phase {
            phase: Phase::AnnounceDiscipline,
            reason: None,
        };
        assert_eq!(
            r.control(&actor(2, "clerk"), &next, None, 2)
                .unwrap_err()
                .code,
            "forbidden"
        );
        let mut p = Phase::CheckAttendance;
        let mut t = 10;
        while let Some(n) = p.next().filter(|n| *n != Phase::Closed) {
            let fx = r
                .control(
                    &chair,
                    &ControlCommand::Phase {
                        phase: n,
                        reason: None,
                    },
                    None,
                    t,
                )
                .unwrap();
            assert!(fx.contains(&Effect::SavePhase { phase: n, at: t }));
            assert_eq!(records(&fx), vec!["hearing.phase"]);
            for conn in [CHAIR, CLERK, APPLICANT, RESPONDENT] {
                assert!(sent_to(&fx, conn).iter().any(|m| matches!(m, M::HearingState(s) if s.phase == n && s.phase_since == t && s.phase_label == n.label_zh())));
            }
            p = n;
            t += 10;
        }
        assert_eq!(r.phase, Phase::Mediation);
        // Back needs a reason.
        let back = ControlCommand::Phase {
            phase: Phase::Debate,
            reason: None,
        };
        assert_eq!(
            r.control(&chair, &back, None, t).unwrap_err().code,
            "reason_required"
        );
        let back = ControlCommand::Phase {
            phase: Phase::Debate,
            reason: Some("补充辩论".into()),
        };
        let fx = r.control(&chair, &back, None, t).unwrap();
        assert!(fx.iter().any(|e| matches!(e, Effect::Record { detail, .. } if detail["move"] == "back" && detail["reason"] == "补充辩论")));
        // Ending from debate skips ahead: a reason again.
        assert_eq!(
            r.control(&chair, &ControlCommand::End { reason: None }, None, t)
                .unwrap_err()
                .code,
            "reason_required"
        );
        let fx = r
            .control(
                &chair,
                &ControlCommand::End {
                    reason: Some("不同意调解".into()),
                },
                None,
                t + 1,
            )
            .unwrap();
        for conn in [CHAIR, APPLICANT, RESPONDENT] {
            assert!(sent_to(&fx, conn).contains(&&M::HearingEnded));
            assert!(fx.contains(&Effect::Close { conn }));
        }
        assert!(records(&fx).contains(&"hearing.ended"));
        assert!(r.ended);
        assert_eq!(
            r.join(APPLICANT, party(10, "applicant", None), t + 2)
                .unwrap_err()
                .code,
            "hearing_closed"
        );
    }

    #[test]
    fn a_caucus_separates_one_side_with_the_mediator() {
        let mut r = room_in_session();
        let mediator = actor(3, "mediator");
        let open = ControlCommand::CaucusOpen {
            side: Side::Applicant,
        };
        assert_eq!(
            r.control(&actor(2, "clerk"), &open, None, 5)
                .unwrap_err()
                .code,
            "forbidden"
        );
        let fx = r.control(&mediator, &open, None, 5).unwrap();
        let grouped: Vec<(u64, u32)> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::Media {
                    participant,
                    control: MediaControl::Group(g),
                } => Some((*participant, *g)),
                _ => None,
            })
            .collect();
        // Applicant and its agent, and the mediator; not the respondent, chair or clerk.
        assert_eq!(
            grouped,
            vec![(10, SIDE_ROOM), (11, SIDE_ROOM), (3, SIDE_ROOM)]
        );
        let state = sent_to(&fx, RESPONDENT)
            .into_iter()
            .find_map(|m| match m {
                M::HearingState(s) => s.caucus.clone(),
                _ => None,
            })
            .unwrap();
        assert_eq!(state.participant_ids, vec!["p10", "p11", "p3"]);
        assert!(!state.recorded);
        assert_eq!(records(&fx), vec!["hearing.caucus_opened"]);
        assert_eq!(
            r.control(&mediator, &open, None, 6).unwrap_err().code,
            "caucus_open"
        );
        // Someone of that side who reconnects goes straight back into the side room.
        let fx = r.media_joined(AGENT, 21);
        assert!(fx.contains(&Effect::Media {
            participant: 21,
            control: MediaControl::Group(SIDE_ROOM)
        }));
        let fx = r
            .control(&mediator, &ControlCommand::CaucusClose, None, 9)
            .unwrap();
        assert_eq!(records(&fx), vec!["hearing.caucus_closed"]);
        assert!(fx.contains(&Effect::Media {
            participant: 10,
            control: MediaControl::Group(MAIN_ROOM)
        }));
        assert_eq!(
            r.control(&mediator, &ControlCommand::CaucusClose, None, 9)
                .unwrap_err()
                .code,
            "no_caucus"
        );
    }

    #[test]
    fn chair_mutes_hold_until_released() {
        let mut r = room_in_session();
        let chair = actor(1, "presiding_arbitrator");
        let mute = ControlCommand::Mute {
            seat: "invitation:12".into(),
            kind: MediaKind::Audio,
            muted: true,
        };
        let fx = r.control(&chair, &mute, None, 5).unwrap();
        assert!(fx.contains(&Effect::Media {
            participant: 12,
            control: MediaControl::ChairMute {
                kind: MediaKind::Audio,
                muted: true
            }
        }));
        assert!(sent_to(&fx, RESPONDENT).contains(&&M::ChairMute {
            kind: MediaKind::Audio,
            muted: true
        }));
        assert!(r.mute_held(RESPONDENT, MediaKind::Audio));
        assert!(!r.mute_held(RESPONDENT, MediaKind::Video));
        // Held across a reconnect.
        let fx = r.media_joined(RESPONDENT, 40);
        assert!(fx.contains(&Effect::Media {
            participant: 40,
            control: MediaControl::ChairMute {
                kind: MediaKind::Audio,
                muted: true
            }
        }));
        // Mute all parties reaches parties and agents, not staff.
        let fx = r
            .control(
                &chair,
                &ControlCommand::MuteParties {
                    kind: MediaKind::Video,
                },
                None,
                6,
            )
            .unwrap();
        let muted: Vec<u64> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::Media { participant, .. } => Some(*participant),
                _ => None,
            })
            .collect();
        assert_eq!(muted, vec![10, 11, 40]);
        let chair_mute = ControlCommand::Mute {
            seat: "user:1".into(),
            kind: MediaKind::Audio,
            muted: true,
        };
        assert_eq!(
            r.control(&chair, &chair_mute, None, 7).unwrap_err().code,
            "forbidden"
        );
    }

    #[test]
    fn removal_is_final_and_lock_keeps_newcomers_out() {
        let mut r = room_in_session();
        let chair = actor(1, "presiding_arbitrator");
        let remove = ControlCommand::Remove {
            seat: "invitation:12".into(),
            reason: "多次扰乱庭审秩序".into(),
        };
        assert_eq!(
            r.control(&actor(2, "clerk"), &remove, None, 5)
                .unwrap_err()
                .code,
            "forbidden"
        );
        let fx = r.control(&chair, &remove, None, 5).unwrap();
        assert!(sent_to(&fx, RESPONDENT).contains(&&M::Removed {
            reason: "多次扰乱庭审秩序".into()
        }));
        assert!(fx.contains(&Effect::LeaveMedia {
            participant: 12,
            reason: LeftReason::Removed
        }));
        assert!(fx.contains(&Effect::SaveRemoval {
            seat: "invitation:12".into(),
            reason: "多次扰乱庭审秩序".into()
        }));
        assert_eq!(
            r.join(99, party(12, "respondent", None), 6)
                .unwrap_err()
                .code,
            "removed"
        );

        let fx = r
            .control(&chair, &ControlCommand::Lock { locked: true }, None, 7)
            .unwrap();
        assert!(fx.contains(&Effect::SaveLock { locked: true }));
        assert_eq!(
            r.join(50, party(50, "witness", None), 8).unwrap_err().code,
            "room_locked"
        );
        // An admitted party whose page reloads comes straight back, lock or not.
        let fx = r
            .join(60, party(10, "applicant", Some(Side::Applicant)), 9)
            .unwrap();
        assert!(fx.contains(&Effect::JoinMedia { conn: 60 }));
        assert!(fx.contains(&Effect::Close { conn: APPLICANT }));
        // Staff still enter.
        assert!(r.join(70, staff(4, "arbitrator"), 9).is_ok());
    }

    #[test]
    fn presence_tells_leaving_from_losing_the_network() {
        let mut r = room_in_session();
        r.grace_ms = 1000;
        let fx = r.disconnect(RESPONDENT, false, 100);
        assert!(fx.contains(&Effect::MediaDisconnected { participant: 12 }));
        assert_eq!(records(&fx), vec!["hearing.connection_lost"]);
        assert_eq!(
            r.seats["invitation:12"].presence,
            Presence::Reconnecting { since_ms: 100 }
        );
        assert!(r.tick(900).is_empty());
        let fx = r.tick(1100);
        assert_eq!(records(&fx), vec!["hearing.did_not_return"]);
        assert!(fx.contains(&Effect::LeaveMedia {
            participant: 12,
            reason: LeftReason::Timeout
        }));
        assert_eq!(
            r.roster()
                .iter()
                .find(|s| s.seat == "invitation:12")
                .unwrap()
                .presence,
            "did_not_return"
        );

        let fx = r.disconnect(APPLICANT, true, 200);
        assert_eq!(records(&fx), vec!["hearing.leave"]);
        assert!(fx.contains(&Effect::LeaveMedia {
            participant: 10,
            reason: LeftReason::Left
        }));
        assert_eq!(r.seats["invitation:10"].presence.label(), "left");
        // Leaving is on purpose: coming back means waiting again.
        let fx = r
            .join(80, party(10, "applicant", Some(Side::Applicant)), 300)
            .unwrap();
        assert!(sent_to(&fx, 80).contains(&&M::Waiting {
            reason: "admission".into()
        }));
        // Warnings go on the record with the seat's presence.
        let fx = r
            .control(
                &actor(2, "clerk"),
                &ControlCommand::Warn {
                    seat: "invitation:12".into(),
                    note: "未按时返回".into(),
                },
                None,
                400,
            )
            .unwrap();
        assert!(fx.iter().any(|e| matches!(e, Effect::Record { kind, detail, .. } if kind == "hearing.warn" && detail["presence"] == "did_not_return")));
    }

    #[test]
    fn witnesses_wait_until_called_and_go_back_after() {
        let mut r = room_in_session();
        let chair = actor(1, "presiding_arbitrator");
        let fx = r.join(30, party(30, "witness", None), 5).unwrap();
        assert!(sent_to(&fx, 30).contains(&&M::Waiting {
            reason: "witness".into()
        }));
        let seat = "invitation:30".to_string();
        assert_eq!(
            r.control(
                &chair,
                &ControlCommand::Admit { seat: seat.clone() },
                None,
                6
            )
            .unwrap_err()
            .code,
            "not_waiting"
        );
        let fx = r
            .control(
                &chair,
                &ControlCommand::CallWitness { seat: seat.clone() },
                None,
                6,
            )
            .unwrap();
        assert!(fx.contains(&Effect::JoinMedia { conn: 30 }));
        r.media_joined(30, 30);
        let fx = r
            .control(&chair, &ControlCommand::DismissWitness { seat }, None, 7)
            .unwrap();
        assert!(fx.contains(&Effect::LeaveMedia {
            participant: 30,
            reason: LeftReason::Left
        }));
        assert!(sent_to(&fx, 30).contains(&&M::Waiting {
            reason: "witness".into()
        }));
    }

    #[test]
    fn one_screen_share_at_a_time_and_it_ends_with_the_sharer() {
        let mut r = room_in_session();
        let fx = r.screen_share(CHAIR, true, 5).unwrap();
        assert_eq!(records(&fx), vec!["hearing.screen_share_started"]);
        let shown = sent_to(&fx, APPLICANT)
            .into_iter()
            .find_map(|m| match m {
                M::HearingState(s) => s.screen_share.clone(),
                _ => None,
            })
            .unwrap();
        assert_eq!(shown.participant_id.as_deref(), Some("p1"));
        assert_eq!(
            r.screen_share(APPLICANT, true, 6).unwrap_err().code,
            "screen_share_busy"
        );
        // Someone else's stop changes nothing.
        assert!(r.screen_share(APPLICANT, false, 6).unwrap().is_empty());
        r.disconnect(CHAIR, false, 7);
        assert!(r.screen_share.is_none());
        // Not admitted: refused.
        r.join(90, party(90, "applicant", None), 8).unwrap();
        assert_eq!(
            r.screen_share(90, true, 9).unwrap_err().code,
            "not_admitted"
        );
    }

    #[test]
    fn help_reaches_only_the_chair_and_the_clerk() {
        let mut r = room_in_session();
        let fx = r.help(APPLICANT, "听不清楚", 5).unwrap();
        let to: Vec<ConnId> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::Send { conn, .. } => Some(*conn),
                _ => None,
            })
            .collect();
        assert_eq!(to, vec![CHAIR, CLERK]);
        let fx = r.raise_hand(RESPONDENT, true).unwrap();
        assert!(!fx.iter().any(|e| matches!(
            e,
            Effect::Send {
                conn: APPLICANT,
                msg: M::Roster { .. }
            }
        )));
        assert!(
            r.roster()
                .iter()
                .any(|s| s.seat == "invitation:12" && s.hand_raised)
        );
    }
}
