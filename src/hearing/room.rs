//! One hearing room's procedure state and every rule that changes it. Each method checks
//! the request against the state and returns [`Effect`]s (messages, media commands,
//! records to write) instead of performing them, so the whole procedure — admission,
//! mutes, side rooms, phases, presence — is tested here without sockets or a database.
//! `registry` carries the effects out, and writes every `Record` to both the hearing's
//! timeline and the audit log.

use super::controls::{self, ControlCommand};
use super::messages::{
    CaucusView, DeviceCheckView, ExhibitView, HearingStateView, IdentityView, RECORDING_NOTICE,
    SeatView,
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
            C::Deny { seat, .. } | C::Reverify { seat } if self.seats.contains_key(seat) => {
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
            C::Deny { .. } | C::Reverify { .. } => {
                return Err(err("unknown_seat", "没有这个席位 / no such seat"));
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
